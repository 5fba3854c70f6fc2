import {
  backoffDelay,
  type ChangeNotice,
  ConnectionError,
  type ListenClient,
  type PgListenClient,
  type PgliteListenClient,
  type StrataLogger,
  type StrataStore,
  safeLogger,
  sleep,
  ValidationError,
  validateInteger,
  type WakeUpSource,
  withWakeUps,
} from '@strata/core';
import {
  checkConnectionString,
  LISTENER_TTL_MS,
  listenerRegistrationSql,
  listenerUnregistrationSql,
  notificationChannels,
  parseEventsNotification,
  parseQueueNotification,
} from '@strata/postgres';
import { aborted, quoteIdent, withDeadline } from './util.js';

/**
 * Where the listener stands: `connecting` (first attempt), `connected` (LISTEN is active; wake-ups are
 * pushed), `reconnecting` (the connection was lost; polling meanwhile), `polling` (no LISTEN: no
 * connection was configured, or notifications do not arrive through it, as behind a
 * transaction-pooling proxy), `closed`.
 */
export type ListenerState = 'connecting' | 'connected' | 'reconnecting' | 'polling' | 'closed';

/** A change of {@link ListenerState}. */
export interface StateTransition {
  /** The state left. */
  from: ListenerState;
  /** The state entered. */
  to: ListenerState;
  /** When. */
  at: Date;
  /** Why, in words (an error code, "backend terminated", "LISTEN unavailable"); never a payload. */
  reason?: string;
}

/** Options of {@link createListener}. */
export interface ListenerOptions {
  /**
   * The PostgreSQL server to listen on: the listener opens one dedicated node-postgres connection of its
   * own (needs the `pg` package). Give this, `client`, or neither (polling only, as for SQLite).
   */
  connectionString?: string;
  /**
   * Makes the connection to listen on — called again for every reconnection: `() => new pg.Client(url)`,
   * or a PGlite instance (`() => store.pglite`), or anything that satisfies {@link ListenClient}.
   */
  client?: () => ListenClient | Promise<ListenClient>;
  /** How often attached subscriptions and workers are woken to read while nothing is pushed (not listening). @defaultValue 1000 */
  pollIntervalMs?: number;
  /** How often they are woken anyway while listening: the backstop for a notification lost on the way. @defaultValue 5000 */
  backstopIntervalMs?: number;
  /** First reconnection delay; it doubles per failed attempt, with jitter, up to `reconnectMaxMs`. @defaultValue 100 */
  reconnectBaseMs?: number;
  /** Longest reconnection delay. The listener reconnects for as long as it is open. @defaultValue 10000 */
  reconnectMaxMs?: number;
  /**
   * Longest wait for connecting, for LISTEN, for the probe notification that proves notifications arrive,
   * and for a health query; past it the connection counts as lost. @defaultValue 5000
   */
  timeoutMs?: number;
  /**
   * How long the oldest running transaction may hold delivery back (PostgreSQL shows readers only the
   * rows of transactions older than every transaction still running) before the health report names it
   * and the logger is warned. @defaultValue 10000
   */
  heldBackThresholdMs?: number;
  /** Where reconnections, the polling fallback and held-back delivery are reported. @defaultValue the first attached store's logger, else silent */
  logger?: StrataLogger;
}

/** A named consumer's distance from the head of the store. */
export interface ConsumerLag {
  /** The PostgreSQL schema of the store it belongs to (`undefined` for stores without one, such as SQLite). */
  schema: string | undefined;
  /** The consumer. */
  consumer: string;
  /** Its checkpoint. */
  checkpoint: bigint;
  /** The store's head position. */
  head: bigint;
  /**
   * `head - checkpoint`, over what readers can see: zero when caught up with it. Positions are not dense
   * on PostgreSQL, and events held back by an older running transaction (see `heldBackBy`) are not in
   * `head` yet; `eventsBehind` counts both.
   */
  lag: bigint;
  /** Events committed after the checkpoint, held back ones included, counted up to 10,000 (PostgreSQL and PGlite, while connected). */
  eventsBehind?: number;
  /** When the checkpoint last moved. */
  updatedAt: Date;
}

/** The transaction that holds delivery back. */
export interface HeldBackBy {
  /** Its backend's process id (`pg_terminate_backend(pid)` ends it). */
  pid: number;
  /** How long its transaction has been open, in ms; `null` when the listener's role may not see it. */
  transactionAgeMs: number | null;
  /** How long it has been seen holding delivery back, in ms. */
  heldForMs: number;
  /** `idle in transaction`, `active`, …; `null` when the role may not see it. */
  state: string | null;
  /** Its `application_name`. */
  applicationName: string | null;
  /** The database it is connected to (it may be another one than Strata's). */
  database: string | null;
}

/** What {@link Listener.health} reports. */
export interface ListenerHealth {
  /** The current state. */
  state: ListenerState;
  /** Since when. */
  since: Date;
  /** Why the listener is in this state, when it is not `connected`. */
  reason: string | undefined;
  /** The latest transitions, oldest first (at most 50). */
  transitions: StateTransition[];
  /** Connections lost so far (after they had been established). */
  reconnects: number;
  /** Connection attempts that failed since the last one that succeeded (0 while connected). */
  failedAttempts: number;
  /** When the last notification arrived, if any. */
  lastNotificationAt: Date | null;
  /** `pg_notification_queue_usage()`: the fraction of the server's notification queue in use (0–1); `null` when not connected. */
  notificationQueueUsage: number | null;
  /** The transaction holding delivery back for longer than `heldBackThresholdMs`, if any. */
  heldBackBy: HeldBackBy | null;
  /** Every named consumer of every attached store. */
  consumers: ConsumerLag[];
}

/** One LISTEN/NOTIFY listener: attach stores to it; it wakes their subscriptions and workers. */
export interface Listener {
  /** The current state. */
  readonly state: ListenerState;
  /**
   * The same store, whose `subscribe()` and `consume()` wake on this listener's notifications (and its
   * backstop polls) as well as on the store's own. The store's schema (`store.schema`, on the PostgreSQL
   * and PGlite adapters) picks the channels; a store without one (SQLite, memory) is woken by polling.
   */
  attach<S extends StrataStore<TDb>, TDb = unknown>(store: S): S;
  /** State, transitions, notifications, held-back delivery and the lag of every named consumer. */
  health(): Promise<ListenerHealth>;
  /** Calls `listener` on each state change; returns a function that stops it. */
  onStateChange(listener: (transition: StateTransition) => void): () => void;
  /** Stops listening and polling; attached stores fall back to their own wake-ups. Idempotent. */
  close(): Promise<void>;
}

interface Attached {
  store: StrataStore<unknown>;
  schema: string | undefined;
  listeners: Set<(notice: ChangeNotice) => void>;
}

interface Connection {
  client: ListenClient;
  /** Resolves (with a reason) when the connection is lost. */
  lost: Promise<string>;
  /** Closes it. */
  drop(): Promise<void>;
  /** LISTENs on a channel. */
  listen(channel: string): Promise<void>;
  /** Runs a query; rows. */
  query<T>(text: string): Promise<T[]>;
  /** Counts the connection as lost (a health query that failed or did not answer in time). */
  fail(why: string): void;
  /** The channels LISTENed to on it. */
  readonly listened: Set<string>;
}

/** Runs calls one after another: a pg connection must not be given a query while one is running. */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(call: () => Promise<T>): Promise<T> => {
    const next = tail.then(call, call);
    tail = next.catch(() => undefined);
    return next;
  };
}

const importPg = () => import('pg');

const KNOWN_OPTIONS = new Set([
  'connectionString',
  'client',
  'pollIntervalMs',
  'backstopIntervalMs',
  'reconnectBaseMs',
  'reconnectMaxMs',
  'timeoutMs',
  'heldBackThresholdMs',
  'logger',
]);

const isPglite = (client: ListenClient): client is PgliteListenClient => typeof (client as PgliteListenClient).listen === 'function';

/**
 * Creates a listener: one dedicated connection per process that LISTENs on the channels of every
 * attached store and wakes their subscriptions and workers when another transaction commits, with a
 * polling backstop. On an error, a killed backend or a network drop it reconnects for as long as it is
 * open (capped exponential backoff with jitter), LISTENs again, and wakes every subscription to catch up
 * from its own position, polling meanwhile. Where notifications do not arrive (a transaction-pooling
 * proxy) it polls and says so in its state. Resolves after the first connection attempt, whatever its
 * outcome.
 *
 * @example
 * ```ts
 * const listener = await createListener({ connectionString: process.env.DATABASE_URL! })
 * const live = listener.attach(store)
 * subscribe(live, { from: { consumer: 'orders' }, handler })
 * consume(live, 'emails', sendEmail)
 * ```
 * @throws `VALIDATION` on bad options
 */
export async function createListener(options: ListenerOptions = {}): Promise<Listener> {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new ValidationError(`options.${key}`, `is not an option of createListener (${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const pollMs = validateInteger(options.pollIntervalMs ?? 1000, 'options.pollIntervalMs', 1);
  const backstopMs = validateInteger(options.backstopIntervalMs ?? 5000, 'options.backstopIntervalMs', 1);
  const baseMs = validateInteger(options.reconnectBaseMs ?? 100, 'options.reconnectBaseMs', 1);
  const maxMs = validateInteger(options.reconnectMaxMs ?? 10_000, 'options.reconnectMaxMs', 1);
  const timeoutMs = validateInteger(options.timeoutMs ?? 5000, 'options.timeoutMs', 1);
  const heldBackMs = validateInteger(options.heldBackThresholdMs ?? 10_000, 'options.heldBackThresholdMs', 1);
  if (options.connectionString !== undefined && options.client !== undefined) {
    throw new ValidationError('options', 'give connectionString or client, not both');
  }
  if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || options.connectionString.trim().length === 0)) {
    throw new ValidationError('options.connectionString', 'must be a non-empty string');
  }
  // A string node-postgres would read as a host named after it would make a listener that reconnects for ever.
  const connectionString = options.connectionString === undefined ? undefined : checkConnectionString(options.connectionString, 'options.connectionString');
  if (options.client !== undefined && typeof options.client !== 'function') {
    throw new ValidationError('options.client', 'must be a function that returns a connection (a pg Client or a PGlite instance)');
  }
  let logger = safeLogger(options.logger);
  // node-postgres is an optional peer: fail now, clearly, rather than retry for ever without it.
  let pgModule: ReturnType<typeof importPg> | undefined;
  const loadPg = () => {
    pgModule ??= importPg();
    return pgModule;
  };
  if (options.connectionString !== undefined) {
    try {
      await loadPg();
    } catch (error) {
      throw new ValidationError('options.connectionString', 'needs the pg package (npm install pg), or pass options.client', { cause: error });
    }
  }
  const factory: (() => ListenClient | Promise<ListenClient>) | undefined =
    options.client ??
    (connectionString === undefined
      ? undefined
      : async () => {
          const { default: pg } = await loadPg();
          return new pg.Client({
            connectionString,
            keepAlive: true,
            connectionTimeoutMillis: timeoutMs,
            application_name: 'strata-listener',
          }) as unknown as PgListenClient;
        });

  const attached: Attached[] = [];
  const views = new WeakMap<object, unknown>();
  const channels = new Map<string, { kind: 'events' | 'queue'; schema: string }>();
  const stateListeners = new Set<(t: StateTransition) => void>();
  const transitions: StateTransition[] = [];
  let state: ListenerState = factory === undefined ? 'polling' : 'connecting';
  let since = new Date();
  let reason: string | undefined = factory === undefined ? 'no connection to listen on: polling' : undefined;
  let reconnects = 0;
  let failedAttempts = 0;
  let lastNotificationAt: Date | null = null;
  let connection: Connection | undefined;
  let closed = false;
  const stop = new AbortController();
  const whenClosed = aborted(stop.signal).then(() => 'closed');
  const heldSince = new Map<number, number>();
  let heldBackBy: HeldBackBy | null = null;
  let warnedPid: number | undefined;

  const setState = (to: ListenerState, why?: string) => {
    if (state === 'closed') return; // closed is final
    if (to === state) {
      reason = why; // the same state for another reason (a refused connection, then a timeout): not a transition
      return;
    }
    const t: StateTransition = { from: state, to, at: new Date(), ...(why === undefined ? {} : { reason: why }) };
    state = to;
    since = t.at;
    reason = why;
    transitions.push(t);
    if (transitions.length > 50) transitions.shift();
    for (const l of [...stateListeners]) {
      try {
        l(t);
      } catch {
        // A failing observer must not stop the listener.
      }
    }
  };

  const notify = (target: Iterable<Attached>, notice: ChangeNotice) => {
    for (const a of target) {
      for (const l of [...a.listeners]) {
        try {
          l(notice);
        } catch {
          // A subscriber's failure must not stop the others.
        }
      }
    }
  };
  const resyncAll = () => notify(attached, { kind: 'resync' });

  const dispatch = (channel: string, payload: string | undefined) => {
    const target = channels.get(channel);
    if (target === undefined) return;
    lastNotificationAt = new Date();
    const stores = attached.filter((a) => a.schema === target.schema);
    if (target.kind === 'events') {
      const n = parseEventsNotification(payload);
      notify(stores, n === undefined ? { kind: 'resync' } : { kind: 'events', streamId: n.streamId, type: n.type, position: n.position });
      // Not readable at once (an older transaction runs): wake the readers again when it is.
      if (n !== undefined && n.readable !== true) watchVisibility(target.schema, n.position, n.readable === false);
      return;
    }
    const n = parseQueueNotification(payload);
    if (n === undefined || n.queues === null) notify(stores, { kind: 'resync' });
    else for (const queue of n.queues) notify(stores, { kind: 'queue', queue });
  };

  /**
   * A commit is announced at once, but PostgreSQL readers see its rows only once every older transaction
   * has ended (that is what keeps reads gap-free). When a notified position is not readable yet, the
   * listener watches until it is and wakes the store's readers again then, instead of leaving them to the
   * backstop: a concurrent transaction anywhere delays delivery by its own length only.
   */
  const unreadable = new Map<string, { position: bigint; wakeAnyway: boolean }>();
  let watching = false;
  /**
   * Watches until `position` of `schema` is readable, then wakes the schema's readers. `wakeAnyway`: the
   * notification said it was not readable at commit, so wake them once it is even if the first look
   * finds it readable already (they may have read in between); otherwise (not said) only if it was not.
   */
  const watchVisibility = (schema: string, position: bigint, wakeAnyway: boolean) => {
    const c = connection;
    if (c === undefined || isPglite(c.client)) return; // PGlite runs one transaction at a time
    const before = unreadable.get(schema);
    if (before === undefined || before.position < position) unreadable.set(schema, { position, wakeAnyway: wakeAnyway || (before?.wakeAnyway ?? false) });
    if (watching) return;
    watching = true;
    void (async () => {
      try {
        for (let attempt = 0; unreadable.size > 0 && !closed; attempt++) {
          const conn = connection;
          if (conn === undefined) break; // a reconnection wakes everyone anyway
          const [row] = await conn.query<{ from: string }>(`select (pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576)::text as "from"`);
          const readableBelow = BigInt(row?.from ?? '0');
          for (const [schema, w] of [...unreadable]) {
            if (w.position >= readableBelow) {
              w.wakeAnyway = true; // it was not readable: whoever read meanwhile missed it
              continue;
            }
            unreadable.delete(schema);
            if (w.wakeAnyway || attempt > 0)
              notify(
                attached.filter((a) => a.schema === schema),
                { kind: 'resync' },
              );
          }
          if (unreadable.size > 0) await sleep(Math.min(500, 5 * 2 ** Math.min(attempt, 7)), stop.signal);
        }
      } catch {
        // The backstop covers it.
      } finally {
        unreadable.clear();
        watching = false;
      }
    })();
  };

  // Probe notifications prove that what this connection LISTENs to does arrive.
  const probeChannel = `strata_probe_${Math.random().toString(36).slice(2, 10)}`;
  const probes = new Map<string, () => void>();

  const open = async (): Promise<Connection> => {
    if (factory === undefined) throw new Error('no connection');
    const client = await withDeadline(Promise.resolve(factory()), timeoutMs, 'the client factory');
    if (client === null || typeof client !== 'object' || typeof (client as { query?: unknown }).query !== 'function') {
      throw new ValidationError('options.client', 'must return a pg Client or a PGlite instance (an object with query())');
    }
    if (!isPglite(client) && typeof (client as PgListenClient).on !== 'function') {
      throw new ValidationError('options.client', 'must return a pg Client (with on()) or a PGlite instance (with listen())');
    }
    let markLost: (why: string) => void = () => undefined;
    const lost = new Promise<string>((resolve) => {
      markLost = resolve;
    });
    const onPayload = (channel: string, payload: string | undefined) => {
      if (channel === probeChannel) {
        probes.get(payload ?? '')?.();
        return;
      }
      dispatch(channel, payload);
    };
    if (isPglite(client)) {
      const unlisten: (() => Promise<void>)[] = [];
      const listened = new Set<string>();
      const listen = async (channel: string) => {
        const stopIt = await client.listen(channel, (payload) => onPayload(channel, payload));
        listened.add(channel);
        if (typeof stopIt === 'function') unlisten.push(stopIt as () => Promise<void>);
      };
      return {
        client,
        lost,
        listen,
        listened,
        fail: markLost,
        async drop() {
          markLost('closed');
          await Promise.allSettled(unlisten.map((u) => u()));
        },
        async query<T>(text: string) {
          // Bounded too: PGlite runs one statement at a time, and an application's long transaction holds it.
          return ((await withDeadline(client.query(text), timeoutMs, 'query')) as { rows?: T[] }).rows ?? [];
        },
      };
    }
    client.on('notification', (n) => onPayload(n.channel, n.payload));
    client.on('error', (error: Error & { code?: string }) =>
      markLost(error.code === '57P01' ? 'backend terminated (57P01)' : `connection error${error.code ? ` (${error.code})` : ''}`),
    );
    client.on('end', () => markLost('connection ended'));
    const drop = async () => {
      markLost('closed');
      await withDeadline(Promise.resolve(client.end?.()), timeoutMs, 'end').catch(() => {
        // A connection that does not end in time is abandoned; its socket is closed with it.
        (client as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
      });
    };
    try {
      if (client.connect !== undefined) await withDeadline(client.connect(), timeoutMs, 'connect');
    } catch (error) {
      await drop().catch(() => undefined);
      throw error;
    }
    const one = serial();
    const listened = new Set<string>();
    return {
      client,
      lost,
      drop,
      listened,
      fail: markLost,
      async listen(channel) {
        await one(() => withDeadline(client.query(`LISTEN ${quoteIdent(channel)}`), timeoutMs, 'LISTEN'));
        listened.add(channel);
      },
      async query<T>(text: string) {
        return ((await one(() => withDeadline(client.query(text), timeoutMs, 'query'))) as { rows?: T[] }).rows ?? [];
      },
    };
  };

  /** Sends a probe on the connection's own probe channel and waits for it to come back. */
  const probe = async (c: Connection): Promise<boolean> => {
    const id = Math.random().toString(36).slice(2);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      probes.set(id, () => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
      void whenClosed.then(() => resolve(false));
    });
    try {
      await c.query(`select pg_notify('${probeChannel}', '${id}')`);
      return await arrived;
    } finally {
      clearTimeout(timer);
      probes.delete(id);
    }
  };

  /**
   * Why a connection attempt failed, in words: the server's or the socket's message (the listener's own
   * statements carry no bound values, so nothing of the application's data can be in it) and its code.
   */
  const errorText = (error: unknown): string => {
    if (error instanceof ValidationError) return error.message;
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message.split('\n')[0]?.slice(0, 200) : undefined;
    if (error instanceof Error && error.name === 'TimeoutError') return error.message;
    if (typeof code === 'string') return message ? `${message} (${code})` : `error ${code}`;
    return message ?? 'connection failed';
  };

  /**
   * Registers this listener on every attached schema, so that stores in the default notify mode announce
   * their commits (they do not while nobody listens: a NOTIFY serializes commits). A role that may not
   * write the registration still listens, and says so: only stores with `notify: true` then notify.
   */
  const id = globalThis.crypto.randomUUID();
  let warnedRegistration = false;
  const registerAll = async (c: Connection): Promise<void> => {
    for (const schema of new Set(attached.map((a) => a.schema).filter((x): x is string => x !== undefined))) {
      try {
        await c.query(listenerRegistrationSql(schema, id));
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        // Only a refusal of this statement is tolerated; a lost connection is one.
        if (typeof code !== 'string' || !/^(42|25)/.test(code)) throw error;
        if (!warnedRegistration) {
          warnedRegistration = true;
          logger.warn(
            `strata: the listener cannot register on schema ${JSON.stringify(schema)} (error ${code}): stores there notify only with notify: true; the backstop delivers the rest`,
            { schema, code },
          );
        }
      }
    }
  };

  /** LISTENs on every channel of the attached stores not yet listened to on `c` (attach() may add some at any time). */
  const listenAll = async (c: Connection): Promise<void> => {
    for (let missing = [...channels.keys()].filter((ch) => !c.listened.has(ch)); missing.length > 0; ) {
      for (const channel of missing) await c.listen(channel);
      missing = [...channels.keys()].filter((ch) => !c.listened.has(ch));
    }
  };

  /** How long a connection must have lasted for the reconnection backoff to start again from its base. */
  const STABLE_MS = 1000;

  /**
   * The connection loop, until closed: connect, LISTEN, probe, wait for a loss, back off, again. Where
   * notifications do not arrive it polls, and keeps trying at the capped backoff in case they come back.
   */
  const run = async (firstAttempt: (error?: unknown) => void): Promise<void> => {
    let attempt = 0;
    let first = true;
    while (!closed) {
      let c: Connection | undefined;
      try {
        c = await open();
        await c.listen(probeChannel);
        await listenAll(c);
        await registerAll(c);
        lastRegistered = Date.now();
        const works = await probe(c);
        if (closed) {
          // close() was called while connecting: it could not drop this connection, so do it here.
          await c.drop();
          return;
        }
        if (!works) {
          await c.drop();
          c = undefined;
          if (state !== 'polling') {
            logger.warn(
              `strata: notifications do not arrive on the listener's connection (a transaction-pooling proxy?); polling every ${pollMs} ms, and trying again`,
              {},
            );
          }
          setState('polling', 'LISTEN is unavailable: notifications do not arrive on this connection (a transaction-pooling proxy?); polling');
          firstAttempt();
        } else {
          connection = c;
          // Channels of stores attached while this connection was being set up.
          await listenAll(c);
          await registerAll(c);
          if (attempt > 0)
            logger.info(`strata: the listener is connected again after ${attempt} attempt${attempt === 1 ? '' : 's'}; subscriptions catch up`, { attempt });
          failedAttempts = 0;
          setState('connected');
          firstAttempt();
          // Whatever was committed while not listening is read now.
          resyncAll();
          const connectedAt = Date.now();
          const why = await Promise.race([c.lost, whenClosed]);
          connection = undefined;
          await c.drop().catch(() => undefined);
          if (closed) return;
          reconnects++;
          // A connection that keeps dying at once backs off further; one that lasted starts again from the base.
          if (Date.now() - connectedAt >= STABLE_MS) attempt = 0;
          setState('reconnecting', why);
          logger.warn(`strata: the listener lost its connection (${why}); polling while it reconnects`, { reason: why });
        }
      } catch (error) {
        connection = undefined;
        if (c !== undefined) await c.drop().catch(() => undefined);
        if (closed) return;
        const why = errorText(error);
        failedAttempts++;
        const code = (error as { code?: unknown } | null)?.code;
        if (first && typeof code === 'string' && (code.startsWith('28') || code === '3D000')) {
          // A wrong role, password or database at start is a mistake to fix, not an outage to wait out.
          firstAttempt(new ConnectionError(`listener: the server refused the connection: ${why}`, { cause: error, retryable: false }));
          return;
        }
        if (code === '0A000') {
          // LISTEN refused as unsupported (a proxy that says so).
          if (state !== 'polling') logger.warn(`strata: LISTEN is not supported on the listener's connection; polling every ${pollMs} ms instead`, {});
          setState('polling', 'LISTEN is not supported on this connection; polling');
        } else {
          if (state !== 'reconnecting' || attempt === 0) {
            logger.warn(`strata: the listener cannot connect (${why}); polling every ${pollMs} ms while it retries`, { reason: why });
          }
          setState('reconnecting', why);
        }
        firstAttempt();
      }
      first = false;
      attempt++;
      const wait = backoffDelay(attempt, baseMs, maxMs);
      logger.debug(`strata: the listener tries again in ${wait} ms (attempt ${attempt})`, { attempt, wait });
      await sleep(wait, stop.signal);
    }
  };

  /** Held-back delivery on one schema: the oldest transaction still running, if rows committed after it wait behind it. */
  const checkHeldBack = async (c: Connection): Promise<void> => {
    const schemas = [...new Set(attached.map((a) => a.schema).filter((s): s is string => s !== undefined))];
    if (schemas.length === 0) return;
    const waiting = schemas
      .map((s) => `exists (select 1 from ${quoteIdent(s)}."events" where position >= (pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576))`)
      .join(' or ');
    const rows = await c.query<{ pid: number; age_ms: number | null; state: string | null; app: string | null; db: string | null }>(
      `select a.pid, round(extract(epoch from (clock_timestamp() - a.xact_start)) * 1000)::float8 as age_ms, a.state, a.application_name as app, a.datname as db
         from pg_stat_activity a
        where a.backend_xid is not null and a.pid <> pg_backend_pid() and (${waiting})
        order by age(a.backend_xid) desc limit 1`,
    );
    const row = rows[0];
    const now = Date.now();
    if (row === undefined) {
      if (warnedPid !== undefined)
        logger.info(`strata: delivery to subscriptions is no longer held back (backend ${warnedPid} ended its transaction)`, { pid: warnedPid });
      heldSince.clear();
      heldBackBy = null;
      warnedPid = undefined;
      return;
    }
    const first = heldSince.get(row.pid) ?? now;
    heldSince.clear();
    heldSince.set(row.pid, first);
    const heldForMs = now - first;
    if (heldForMs < heldBackMs) {
      heldBackBy = null;
      return;
    }
    heldBackBy = {
      pid: row.pid,
      transactionAgeMs: row.age_ms,
      heldForMs: Math.max(heldForMs, 0),
      state: row.state,
      applicationName: row.app,
      database: row.db,
    };
    if (warnedPid !== row.pid) {
      warnedPid = row.pid;
      logger.warn(
        `strata: delivery to subscriptions is held back by the transaction of backend ${row.pid} (${row.state ?? 'state hidden'}, application ${JSON.stringify(row.app ?? '')}, database ${JSON.stringify(row.db ?? '')}), for ${Math.round(heldForMs / 1000)} s so far: readers only see rows of transactions older than every one still running. End it, and set idle_in_transaction_session_timeout`,
        { pid: row.pid, state: row.state, applicationName: row.app, database: row.db, heldForMs },
      );
    }
  };

  // The backstop: wake everyone at `pollMs` while not listening, at `backstopMs` while listening; and
  // look for held-back delivery while connected.
  let lastWake = Date.now();
  let lastHeldCheck = 0;
  let lastRegistered = 0;
  let ticking = false;
  const tick = async () => {
    if (closed || ticking) return;
    ticking = true;
    try {
      const now = Date.now();
      if (now - lastWake >= (state === 'connected' ? backstopMs : pollMs)) {
        lastWake = now;
        resyncAll();
      }
      const c = connection;
      if (c !== undefined && now - lastRegistered >= LISTENER_TTL_MS / 3) {
        lastRegistered = now;
        await registerAll(c).catch((error: unknown) => {
          // PGlite cannot lose its connection: a registration that waited on the application's transaction is retried next time.
          if (!isPglite(c.client)) c.fail(`registration failed (${errorText(error)})`);
          else lastRegistered = 0;
        });
      }
      if (c !== undefined && !isPglite(c.client) && now - lastHeldCheck >= Math.min(backstopMs, Math.max(250, heldBackMs / 4))) {
        lastHeldCheck = now;
        // Also the listener's heartbeat: a connection that does not answer in time (a network path that
        // dropped without closing the socket) is replaced rather than trusted.
        await checkHeldBack(c).catch((error: unknown) => c.fail(`health query failed (${errorText(error)})`));
      }
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(1, Math.min(pollMs, backstopMs, 250)));
  timer.unref?.();

  if (factory !== undefined) {
    const failure = await new Promise<unknown>((resolve) => {
      void run(resolve);
    });
    if (failure !== undefined) {
      closed = true;
      clearInterval(timer);
      stop.abort();
      throw failure;
    }
  } else {
    transitions.push({ from: 'connecting', to: 'polling', at: since, reason: reason as string });
  }

  const detach = (entry: Attached) => {
    const i = attached.indexOf(entry);
    if (i >= 0) attached.splice(i, 1);
    views.delete(entry.store);
  };

  /** Every named consumer of one attached store, with `eventsBehind` counted in one query per schema. */
  const lagOf = async (a: Attached, c: Connection | undefined): Promise<ConsumerLag[]> => {
    const [list, head] = await Promise.all([a.store.checkpoints.list(), a.store.events.headPosition()]);
    const behind = new Map<string, number>();
    if (c !== undefined && a.schema !== undefined && list.length > 0) {
      try {
        const rows = await c.query<{ consumer: string; n: number }>(
          `select c.consumer, (select count(*)::int from (select 1 from ${quoteIdent(a.schema)}."events" e where e.position > c.position limit 10000) x) as n
             from ${quoteIdent(a.schema)}."checkpoints" c`,
        );
        for (const r of rows) behind.set(r.consumer, r.n);
      } catch {
        // Reported without it.
      }
    }
    return list.map((cp) => ({
      schema: a.schema,
      consumer: cp.consumer,
      checkpoint: cp.position,
      head,
      lag: head > cp.position ? head - cp.position : 0n,
      ...(behind.has(cp.consumer) ? { eventsBehind: behind.get(cp.consumer) as number } : {}),
      updatedAt: cp.updatedAt,
    }));
  };

  const listener: Listener = {
    get state() {
      return state;
    },

    attach<S extends StrataStore<TDb>, TDb = unknown>(store: S): S {
      if (closed) throw new ValidationError('listener', 'is closed');
      if (store === null || typeof store !== 'object' || typeof store.wakeUps?.onChange !== 'function') {
        throw new ValidationError('store', 'must be a Strata store');
      }
      const known = views.get(store);
      if (known !== undefined) return known as S;
      const schema = (store as { schema?: unknown }).schema;
      const entry: Attached = {
        store: store as unknown as StrataStore<unknown>,
        schema: typeof schema === 'string' ? schema : undefined,
        listeners: new Set(),
      };
      attached.push(entry);
      // A store that closes leaves the listener (its channels stay: another store may share the schema).
      store.wakeUps.onClose?.(() => detach(entry));
      if (options.logger === undefined && attached.length === 1 && store.logger !== undefined) logger = safeLogger(store.logger);
      if (entry.schema !== undefined) {
        const names = notificationChannels(entry.schema);
        const fresh = [names.events, names.queue].filter((ch) => !channels.has(ch));
        channels.set(names.events, { kind: 'events', schema: entry.schema });
        channels.set(names.queue, { kind: 'queue', schema: entry.schema });
        const c = connection;
        if (c !== undefined && fresh.length > 0) {
          // Listening from now on; then a read catches up with whatever committed before. A connection
          // that cannot LISTEN is replaced (the next one LISTENs on every channel).
          void listenAll(c)
            .then(() => registerAll(c))
            .then(() => notify([entry], { kind: 'resync' }))
            .catch((error: unknown) => c.fail(`LISTEN failed (${errorText(error)})`));
        }
      }
      const source: WakeUpSource = {
        onChange(l) {
          entry.listeners.add(l);
          return () => {
            entry.listeners.delete(l);
          };
        },
      };
      // Polling alone (no LISTEN) announces other processes' commits within pollIntervalMs too; once the
      // listener is closed, the view says what the store alone offers.
      const view = withWakeUps<S, TDb>(store, source, { crossProcess: () => !closed });
      views.set(store, view);
      return view;
    },

    async health() {
      const c = connection;
      let usage: number | null = null;
      if (c !== undefined) {
        try {
          const [row] = await c.query<{ u: number }>('select pg_notification_queue_usage()::float8 as u');
          usage = row?.u ?? null;
          if (!isPglite(c.client)) await checkHeldBack(c);
        } catch {
          usage = null;
        }
      }
      const consumers: ConsumerLag[] = [];
      const seen = new Set<string | Attached>();
      for (const a of [...attached]) {
        const key = a.schema ?? a;
        if (seen.has(key)) continue;
        seen.add(key);
        try {
          consumers.push(...(await withDeadline(lagOf(a, c), timeoutMs, 'the lag of its consumers')));
        } catch (error) {
          // A store closed without telling (no onClose) leaves; one that does not answer is left out this time.
          if ((error as { code?: unknown } | null)?.code === 'CLOSED') detach(a);
          else seen.delete(key);
        }
      }
      return {
        state,
        since,
        reason,
        transitions: [...transitions],
        reconnects,
        failedAttempts,
        lastNotificationAt,
        notificationQueueUsage: usage,
        heldBackBy: c === undefined ? null : heldBackBy,
        consumers,
      };
    },

    onStateChange(l) {
      stateListeners.add(l);
      return () => {
        stateListeners.delete(l);
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      stop.abort();
      const c = connection;
      connection = undefined;
      if (c !== undefined) {
        // Writers in the default mode stop notifying once no listener remains registered.
        const schemas = [...new Set(attached.map((a) => a.schema).filter((x): x is string => x !== undefined))];
        await withDeadline(
          Promise.all(schemas.map((schema) => c.query(listenerUnregistrationSql(schema, id)))),
          Math.min(timeoutMs, 1000),
          'unregistering',
        ).catch(() => undefined); // unanswered, the registrations expire on their own

        await c.drop().catch(() => undefined);
      }
      setState('closed');
    },
  };
  return listener;
}
