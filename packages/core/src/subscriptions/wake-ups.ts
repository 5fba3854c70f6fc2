import type { Capabilities } from '../capabilities.js';
import type { StrataStore } from '../store.js';
import type { ChangeNotice, WakeUpSource } from './types.js';

/** Options of {@link withWakeUps}. */
export interface WithWakeUpsOptions {
  /**
   * Whether `source` announces commits made by other processes too (LISTEN/NOTIFY does): the returned
   * store then says so in `capabilities.crossProcessWakeUps`, and `subscribe()` and `consume()` over it
   * fall back to their long poll interval. A function is asked each time the capability is read (a
   * listener that closed no longer announces anything). @defaultValue true
   */
  crossProcess?: boolean | (() => boolean);
}

/**
 * The same store, with a second wake-up source: `subscribe()` and `consume()` over the returned store wake
 * on the store's own notices and on `source`'s. This is how a package such as `@strata/realtime` plugs
 * LISTEN/NOTIFY into a store made by any adapter without the adapter knowing about it. The returned
 * store is a view of the store: every method and property (its `close()` included) is the store's own,
 * read live; only `wakeUps` and `capabilities` differ.
 *
 * @example
 * ```ts
 * const live = withWakeUps(store, listenerSource)
 * subscribe(live, { from: 'start', handler })
 * ```
 */
export function withWakeUps<S extends StrataStore<TDb>, TDb = unknown>(store: S, source: WakeUpSource, options: WithWakeUpsOptions = {}): S {
  const own = store.wakeUps;
  const merged: WakeUpSource = {
    onChange(listener: (notice: ChangeNotice) => void) {
      const stops = [own.onChange(listener), source.onChange(listener)];
      return () => {
        for (const stop of stops) stop();
      };
    },
    ...(own.onClose === undefined ? {} : { onClose: (listener: () => void) => (own.onClose as (l: () => void) => () => void)(listener) }),
  };
  const crossProcess = options.crossProcess ?? true;
  const base = store.capabilities;
  const fixed: Readonly<Capabilities> = Object.freeze({ ...base, wakeUps: true, crossProcessWakeUps: base.crossProcessWakeUps || crossProcess === true });
  const capabilities = (): Readonly<Capabilities> =>
    typeof crossProcess !== 'function' || base.crossProcessWakeUps ? fixed : Object.freeze({ ...base, wakeUps: true, crossProcessWakeUps: crossProcess() });
  // A view of the store, not a copy: getters (such as `db`, which refuses use inside the store's own
  // transaction callback) run on the store itself, and its methods are bound to it, so that an adapter
  // written as a class with private fields works through the view too.
  const bound = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'wakeUps') return merged;
      if (prop === 'capabilities') return capabilities();
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(value);
      if (fn === undefined) {
        fn = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(value, fn);
      }
      return fn;
    },
    // Writes and checks reach the store itself (a setter that uses a class's private fields included).
    set(target, prop, value) {
      return Reflect.set(target, prop, value, target);
    },
    has(target, prop) {
      return prop === 'wakeUps' || prop === 'capabilities' || Reflect.has(target, prop);
    },
  });
}

/** A notification as node-postgres's `Client` reports it. */
export interface PgNotification {
  /** The channel. */
  channel: string;
  /** The payload, if any. */
  payload?: string | undefined;
}

/**
 * The part of node-postgres's `Client` a LISTEN/NOTIFY listener uses: `new pg.Client(url)` satisfies it.
 * The listener connects it (when it has `connect`), issues `LISTEN`, and ends it when done.
 */
export interface PgListenClient {
  /** Opens the connection. */
  connect?(): Promise<unknown>;
  /** Runs one statement of plain text (no bound values). */
  query(text: string): Promise<unknown>;
  /** Reports each notification. */
  on(event: 'notification', listener: (notification: PgNotification) => void): unknown;
  /** Reports the connection's errors (a killed backend, a dropped socket). */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Reports the connection's end. */
  on(event: 'end', listener: () => void): unknown;
  /** Closes the connection. */
  end?(): Promise<unknown>;
}

/** The part of a PGlite instance a LISTEN/NOTIFY listener uses: a `PGlite` satisfies it. */
export interface PgliteListenClient {
  /** Runs one statement of plain text (no bound values). */
  query(text: string): Promise<unknown>;
  /** Listens on `channel`; resolves to a function that stops listening. */
  listen(channel: string, callback: (payload: string) => void): Promise<(() => Promise<void>) | unknown>;
}

/**
 * A connection a LISTEN/NOTIFY listener can use: node-postgres's `Client` or a PGlite instance, or
 * anything shaped like one of them (a user's adapter for another driver).
 */
export type ListenClient = PgListenClient | PgliteListenClient;
