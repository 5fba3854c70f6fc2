/**
 * Tells a store's own methods apart from the same methods called inside that store's `transaction()`
 * callback, where they must not be used: on a store with one connection or one lock (memory, SQLite,
 * PGlite) such a call waits for the transaction to end while the transaction waits for the call, and
 * on a pool it would run outside the transaction or deadlock on its row locks.
 *
 * @module
 */
import { StrataError, ValidationError } from './errors.js';

/** The part of Node's `AsyncLocalStorage` that the scope uses. */
interface AsyncContext<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
}

/** One running transaction callback, and the ones it runs inside (of other stores). */
interface Frame {
  readonly scope: TransactionScope;
  /** False once the transaction settled: work it left behind may then use the store again. */
  active: boolean;
  readonly outer: Frame | undefined;
}

/**
 * One async context for every scope: Node's `AsyncLocalStorage`, reached through
 * `process.getBuiltinModule` so that no import of `node:async_hooks` reaches a browser bundle. Absent
 * where the runtime has neither (browsers).
 */
let context: AsyncContext<Frame> | null | undefined;
function asyncContext(): AsyncContext<Frame> | null {
  if (context !== undefined) return context;
  context = null;
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const hooks = proc?.getBuiltinModule?.('node:async_hooks') as { AsyncLocalStorage?: new () => AsyncContext<Frame> } | undefined;
    if (typeof hooks?.AsyncLocalStorage === 'function') context = new hooks.AsyncLocalStorage();
  } catch {
    // No async context in this runtime: the bounded wait below takes over.
  }
  return context;
}

/** Options of {@link TransactionScope}. */
export interface TransactionScopeOptions {
  /**
   * Where the runtime has no async context (browsers), a call on the store cannot be told apart from
   * one made inside its transaction's callback: it waits for running transactions to end, at most this
   * long, then rejects with `TIMEOUT` and runs nothing. @defaultValue 10000
   */
  fallbackWaitMs?: number;
  /**
   * `false` behaves as in a runtime without an async context (to test the fallback). @defaultValue true
   */
  trackAsyncContext?: boolean;
}

/**
 * The guard every adapter puts between its store's methods and its transactions, so that calling the
 * store itself inside `store.transaction(async (tx) => …)` — instead of `tx` — fails at once with a
 * `VALIDATION` error that says to use `tx`, writes nothing, and leaves the store usable, the same on
 * every adapter. Calls from unrelated async work (not started by the callback) are not affected: they
 * wait their turn as before.
 *
 * Run each transaction's callback with {@link TransactionScope.run}, and start each method of the
 * store's own contracts (not the transaction's) with {@link TransactionScope.check} or
 * {@link TransactionScope.admit}, and `transaction()` itself too (transactions do not nest).
 *
 * It tracks the callback with Node's `AsyncLocalStorage` (also in Deno and Bun). In runtimes without one
 * (browsers) it cannot tell the callers apart; there a call made while a transaction of the store runs
 * waits for it at most {@link TransactionScopeOptions.fallbackWaitMs}, then rejects with `TIMEOUT`, so
 * that the misuse fails within a bound instead of hanging.
 *
 * @example
 * ```ts
 * const scope = new TransactionScope()
 * const store = {
 *   events: { append: (id, events, o) => scope.admit('events.append', () => lock.run(() => append(id, events, o))) },
 *   transaction: (fn) => scope.admit('transaction', () => lock.run(() => scope.run(() => fn(tx)))),
 * }
 * ```
 */
export class TransactionScope {
  /** Whether this runtime lets the scope recognise calls made inside a transaction's callback. */
  static get tracksAsyncContext(): boolean {
    return asyncContext() !== null;
  }

  readonly #fallbackWaitMs: number;
  readonly #als: AsyncContext<Frame> | null;
  /** Transactions running now, and who waits for them to end (only used without an async context). */
  #running = 0;
  #idle: (() => void)[] = [];

  /** @param options - the bounded wait of runtimes without an async context */
  constructor(options: TransactionScopeOptions = {}) {
    this.#fallbackWaitMs = options.fallbackWaitMs ?? 10_000;
    this.#als = options.trackAsyncContext === false ? null : asyncContext();
  }

  /**
   * Runs a transaction's callback: calls on the store made from inside it — awaited or started by it
   * while the transaction runs — are rejected by {@link TransactionScope.check}.
   *
   * @param fn - calls the application's callback with the transaction's contracts
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const als = this.#als;
    const frame: Frame = { scope: this, active: true, outer: als?.getStore() };
    this.#running++;
    try {
      return await (als === null ? fn() : als.run(frame, fn));
    } finally {
      frame.active = false;
      if (--this.#running === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Whether the caller runs inside a transaction callback of this scope that has not settled yet. */
  inside(): boolean {
    for (let f = this.#als?.getStore(); f !== undefined; f = f.outer) {
      if (f.scope === this && f.active) return true;
    }
    return false;
  }

  /**
   * Throws when called inside this store's running transaction callback. A no-op without an async
   * context (see {@link TransactionScope.admit}).
   *
   * @param operation - the store method called, such as `events.append` or `transaction`
   * @throws {@link ValidationError} (`VALIDATION`) naming the method and saying to use `tx`
   */
  check(operation: string): void {
    if (!this.inside()) return;
    const hint =
      operation === 'transaction'
        ? 'transactions do not nest: make every write of the callback through its tx argument'
        : `use the callback's tx argument instead (tx.${operation})`;
    throw new ValidationError(
      `store.${operation}`,
      `was called inside the same store's transaction() callback: ${hint}. A call on the store itself waits for the transaction to end (or runs outside it), so it would never finish; nothing was written`,
    );
  }

  /**
   * Runs `fn` — one call of a store method, including its wait for the store's lock or connection —
   * unless {@link TransactionScope.check} rejects it. Without an async context, while a transaction
   * of this scope runs, it first waits for every one to end, at most `fallbackWaitMs`, and rejects with
   * `TIMEOUT` without calling `fn` past that.
   *
   * @param operation - the store method called, such as `events.append`
   * @param fn - the call
   * @throws `VALIDATION` inside a transaction callback; `TIMEOUT` after the fallback's wait
   */
  async admit<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.check(operation);
    if (this.#running > 0 && this.#als === null) await this.#waitIdle(operation);
    return fn();
  }

  async #waitIdle(operation: string): Promise<void> {
    const until = Date.now() + this.#fallbackWaitMs;
    while (this.#running > 0) {
      const left = until - Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let wake: (() => void) | undefined;
      const idle = await new Promise<boolean>((resolve) => {
        wake = () => resolve(true);
        this.#idle.push(wake);
        timer = setTimeout(() => resolve(false), Math.max(0, left));
      });
      clearTimeout(timer);
      if (!idle) {
        this.#idle = this.#idle.filter((w) => w !== wake);
        throw new StrataError(
          'TIMEOUT',
          `${operation} waited ${this.#fallbackWaitMs} ms for a transaction of the store to end; if it was called inside that transaction's callback, use the callback's tx argument instead (this runtime cannot tell)`,
        );
      }
    }
  }
}
