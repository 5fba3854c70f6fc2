import { isPermanentLoss, isStrataError, ValidationError } from '../errors.js';
import type { StoredEvent } from '../events/types.js';
import type { Upcasters } from '../events/upcasters.js';
import { backoffDelay, Doorbell, sleep, yieldToEventLoop } from '../internal/timing.js';
import { type StrataLogger, safeLogger } from '../logger.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import { throughTelemetry } from '../telemetry.js';
import { randomId, validateConsumerName, validateInteger, validatePosition, validateReadAll } from '../validation.js';

/** Where a subscription starts. */
export type SubscriptionStart = 'start' | 'end' | bigint | ConsumerStart;

/** Start after a named consumer's checkpoint, and advance it. */
export interface ConsumerStart {
  /** The consumer's name: its checkpoint and lease live in the store. */
  consumer: string;
}

/**
 * What a subscription handler receives besides the event.
 *
 * @typeParam TDb - the store's database handle, as {@link StoreTransaction.db}
 */
export interface SubscriptionContext<TDb = unknown> {
  /**
   * For a named consumer on a store with transactions: the transaction in which the consumer's
   * checkpoint is advanced past this event (and the other events of its batch). Write through it —
   * Strata's contracts, or the application's own tables through `tx.db`, the adapter's database
   * transaction (Drizzle on the SQL adapters) — and the writes commit together with the checkpoint:
   * exactly-once projections inside one database. `undefined` for other subscriptions.
   */
  tx: StoreTransaction<TDb> | undefined;
  /** Aborted when the subscription stops. */
  signal: AbortSignal;
}

/** What to do after a handler throws: try the event again, skip it, or stop the subscription. */
export type SubscriptionErrorAction = 'retry' | 'skip' | 'stop';

/** What {@link SubscribeOptions.onReadError} is told besides the error. */
export interface ReadErrorInfo {
  /** Consecutive failures so far, this one included. */
  attempt: number;
  /** How long the subscription waits before it tries again, unless told to stop. */
  retryInMs: number;
}

/**
 * Options of {@link subscribe}.
 *
 * @typeParam E - the events the handler expects, such as `StoredEventOf<OrderEvent>` for a union of
 *   event shapes; Strata trusts this type (it does not check the data against it)
 * @typeParam TDb - the store's database handle, as {@link StoreTransaction.db}
 */
export interface SubscribeOptions<E extends AnyStoredEvent = StoredEvent, TDb = unknown> {
  /**
   * Where to start: the beginning, the current end, after a position, or after a named consumer's
   * checkpoint (which the subscription then advances). @defaultValue `'start'`
   */
  from?: SubscriptionStart;
  /** Only events of this stream. */
  streamId?: string;
  /** Only events whose stream id starts with this prefix. */
  streamPrefix?: string;
  /** Only events of these types. */
  types?: readonly string[];
  /** Called once per event, in global order; the next event waits for it. */
  handler: (event: E, context: SubscriptionContext<TDb>) => void | Promise<void>;
  /**
   * Events read per batch. A named consumer on a store with transactions handles a batch in one
   * transaction with one checkpoint update (committing early, after at least one event, once the
   * batch's handlers have run for 250 ms). @defaultValue 100
   */
  batchSize?: number;
  /**
   * Longest wait between reads when nothing announces a change. @defaultValue 5000 when the store
   * announces commits of other processes too (`capabilities.crossProcessWakeUps`), 500 otherwise
   */
  pollIntervalMs?: number;
  /**
   * Decides what happens after the handler throws. Not asked when the handler's error is a `CONNECTION`
   * or `TIMEOUT` error (the database, not the handler, failed): the event is retried as after a failed
   * read. @defaultValue `() => 'stop'`
   */
  onError?: (error: unknown, event: E) => SubscriptionErrorAction | Promise<SubscriptionErrorAction>;
  /**
   * Told about each failure of the store under the subscription — a read, a checkpoint or lease call, a
   * transaction that could not commit, a handler failing with `CONNECTION` or `TIMEOUT` — before the
   * subscription retries with capped backoff from its last delivered position. Return `'stop'` to end
   * the subscription with that error instead. `CLOSED`, `VALIDATION` and a `CONNECTION` error that is not
   * retryable (the application closed the database handle) always stop it. @defaultValue retry
   */
  onReadError?: (error: unknown, info: ReadErrorInfo) => void | 'stop' | Promise<void | 'stop'>;
  /**
   * Where retries, lost and taken-over leases are reported. Never given an event's data.
   * @defaultValue the store's logger, else silent
   */
  logger?: StrataLogger;
  /** Upcasters applied before the handler sees an event. */
  upcasters?: Upcasters;
  /** Stops the subscription when aborted. */
  signal?: AbortSignal;
  /** Lease of a named consumer: only the holder runs; another takes over once it expires. @defaultValue 10000 */
  leaseTtlMs?: number;
}

/** A running subscription. */
export interface Subscription {
  /** The position of the last event handled (or the start position). */
  readonly position: bigint;
  /** For a named consumer: whether this instance holds the lease and is delivering. Always true otherwise. */
  readonly active: boolean;
  /** Settles when the subscription ends: resolves after `stop()`, rejects when it stopped on an error. */
  readonly done: Promise<void>;
  /** Stops after the event in hand, releases the lease, and resolves when stopped. */
  stop(): Promise<void>;
}

/** Any stored event, whatever its type and data: the bound of {@link SubscribeOptions}' event type. */
export type AnyStoredEvent = StoredEvent<string, unknown>;

/**
 * How long a named consumer's transaction keeps handling the events of its batch before it commits what
 * it has (at least one event): fast handlers commit a whole batch at once, slow ones do not hold locks.
 */
const BATCH_TIME_BUDGET_MS = 250;

/** Errors that say the store failed (a lost connection, a timeout), not the handler's logic. */
function isInfrastructureError(error: unknown): boolean {
  // Also when wrapped: an ORM rethrows the store's error of a statement run through `tx.db` as its cause.
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isStrataError(e) && (e.code === 'CONNECTION' || e.code === 'TIMEOUT')) return true;
  }
  return false;
}

class HandlerFailure {
  constructor(readonly error: unknown) {}
}

class StopWith {
  constructor(readonly error: unknown) {}
}

/**
 * Delivers events to `handler` in global order, never skipping one, at least once (a named consumer on a
 * store with transactions commits each event's writes through `context.tx` exactly once; see below):
 * events always come from `readAll` after the last delivered position, and wake-ups (or a poll timer)
 * only say when to read again, so a lost notification or a restart loses nothing.
 *
 * With `from: { consumer }` the position is the consumer's checkpoint; on a store with transactions
 * the handler runs inside a transaction that also advances the checkpoint, so a projection written
 * through `context.tx` (its `db` included) is applied exactly once. Events are handled in batches of up
 * to `batchSize`, one transaction per batch; when a handler throws, the batch's transaction rolls back
 * and its events are handled again one per transaction, so that the events before the failing one
 * commit and `onError` decides about that one alone. Only one instance of a named consumer delivers at
 * a time (a lease in the checkpoint store); the others wait and take over when it stops or dies.
 *
 * The event type is the handler's to declare (annotate its parameter, or pass it as the first type
 * argument); Strata does not check stored data against it.
 *
 * @example
 * ```ts
 * const sub = subscribe(store, {
 *   from: { consumer: 'order-totals' },
 *   types: ['OrderPlaced'],
 *   handler: async (event: StoredEventOf<OrderPlaced>, { tx }) => { await tx?.snapshots.save('totals', …) },
 * })
 * await sub.stop()
 * ```
 * @throws `VALIDATION` synchronously on bad options
 */
export function subscribe<E extends AnyStoredEvent = StoredEvent, TDb = unknown>(store: StrataStore<TDb>, options: SubscribeOptions<E, TDb>): Subscription {
  const filters = validateReadAll({
    ...(options.streamId === undefined ? {} : { streamId: options.streamId }),
    ...(options.streamPrefix === undefined ? {} : { streamPrefix: options.streamPrefix }),
    ...(options.types === undefined ? {} : { types: options.types }),
  });
  const from = options.from ?? 'start';
  const consumer = typeof from === 'object' && from !== null ? validateConsumerName(from.consumer, 'options.from.consumer') : undefined;
  const startAfter = typeof from === 'bigint' || typeof from === 'number' ? validatePosition(from, 'options.from') : undefined;
  if (consumer === undefined && startAfter === undefined && from !== 'start' && from !== 'end') {
    throw new ValidationError('options.from', "must be 'start', 'end', a position or { consumer }");
  }
  if (typeof options.handler !== 'function') throw new ValidationError('options.handler', 'must be a function');
  const batchSize = validateInteger(options.batchSize ?? 100, 'options.batchSize', 1, 10_000);
  const pollMs = validateInteger(options.pollIntervalMs ?? (store.capabilities.crossProcessWakeUps ? 5000 : 500), 'options.pollIntervalMs', 1);
  const leaseTtlMs = validateInteger(options.leaseTtlMs ?? 10_000, 'options.leaseTtlMs', 10);
  if (options.onReadError !== undefined && typeof options.onReadError !== 'function') throw new ValidationError('options.onReadError', 'must be a function');
  const logger = safeLogger(options.logger ?? store.logger);
  const telemetry = store.telemetry;
  const label = consumer === undefined ? 'subscription' : `consumer ${JSON.stringify(consumer)}`;
  const transactional = consumer !== undefined && store.capabilities.transactions;
  const owner = randomId();

  const stopper = new AbortController();
  const signal = stopper.signal;
  if (options.signal?.aborted) stopper.abort();
  else options.signal?.addEventListener('abort', () => stopper.abort(), { once: true });

  let position = 0n;
  let active = consumer === undefined;
  const bell = new Doorbell();
  const unlisten = store.wakeUps.onChange((n) => {
    if (n.kind === 'events' || n.kind === 'resync') bell.ring();
  });
  // A close wakes the loop, whose next read then stops it with CLOSED.
  const unclose = store.wakeUps.onClose?.(() => bell.ring()) ?? (() => undefined);

  let checkpoint: bigint | null = null;
  let leaseRenewedAt = 0;

  const holdLease = async (): Promise<boolean> => {
    if (consumer === undefined) return true;
    if (active && Date.now() - leaseRenewedAt < leaseTtlMs / 3) return true;
    const held = await store.checkpoints.acquireLease(consumer, { owner, ttlMs: leaseTtlMs });
    if (held) {
      if (!active) {
        // Taking over: whatever the last holder committed is where we resume.
        checkpoint = (await store.checkpoints.get(consumer))?.position ?? null;
        position = checkpoint ?? 0n;
        logger.info(`strata: ${label} holds its lease and resumes after position ${position}`, { consumer, position: position.toString() });
      }
      leaseRenewedAt = Date.now();
    } else if (active) {
      logger.warn(`strata: ${label} lost its lease to another instance; standing by`, { consumer });
    }
    active = held;
    return held;
  };

  /**
   * Delivers a run of events: the handler once per event, then one checkpoint for the run (at least
   * once). In transactional mode the handlers' writes and the checkpoint share one transaction, so that
   * a failure rolls back the whole run (nothing delivered; the loop replays it one event per transaction).
   * Returns how many were delivered and checkpointed and, when the handler threw, its error.
   */
  const deliverRun = async (run: StoredEvent[]): Promise<{ delivered: number; error?: HandlerFailure }> => {
    let failedAt = -1;
    /** Runs the handler over `run[0..upTo)`, or fewer once `until` passed (in a transaction); returns how many. */
    const handle = async (tx: StoreTransaction<TDb> | undefined, upTo: number, until = Number.POSITIVE_INFINITY): Promise<number> => {
      for (let k = 0; k < upTo; k++) {
        // Stopped, or a transaction that ran long enough: deliver what was handled (at least one event).
        if (k > 0 && (signal.aborted || Date.now() > until)) return k;
        const event = run[k] as StoredEvent;
        try {
          // An upcaster that throws fails the event like its handler (never a checkpoint past it).
          const seen = (options.upcasters === undefined ? event : options.upcasters.apply(event)) as E;
          if (telemetry === undefined) await options.handler(seen, { tx, signal });
          else
            await throughTelemetry(
              (fn) =>
                telemetry.handle(
                  {
                    kind: 'subscription',
                    name: consumer,
                    carrier: event.metadata,
                    attributes: {
                      'strata.event.type': event.type,
                      'strata.event.position': event.position.toString(),
                      'strata.stream.id': event.streamId,
                      'strata.event.recorded_at': event.recordedAt.getTime(),
                    },
                  },
                  fn,
                ),
              async () => options.handler(seen, { tx, signal }),
            );
        } catch (error) {
          failedAt = k;
          throw new HandlerFailure(error);
        }
      }
      return upTo;
    };
    /** Delivers `run[0..upTo)` (a transaction may stop short); returns how many were delivered. */
    const commit = async (upTo: number): Promise<number> => {
      let last = run[upTo - 1] as StoredEvent;
      if (consumer === undefined) return handle(undefined, upTo);
      if (transactional) {
        await store.transaction(async (tx) => {
          // The compare-and-set first: if a commit whose outcome was unknown did go through (or another
          // instance moved on), it fails before the handler runs again, and the transaction rolls back.
          await tx.checkpoints.set(consumer, last.position, { expected: checkpoint });
          // A batch of slow handlers commits early, so that its transaction does not hold the
          // database's write lock (SQLite) or the checkpoint's row for long.
          const handled = await handle(tx, upTo, Date.now() + BATCH_TIME_BUDGET_MS);
          if (handled < upTo) {
            last = run[handled - 1] as StoredEvent;
            await tx.checkpoints.set(consumer, last.position);
          }
        });
      } else {
        let handled = 0;
        try {
          handled = await handle(undefined, upTo);
          last = run[handled - 1] as StoredEvent;
        } finally {
          // At least once: record what was handled, even when a later event failed.
          const done = failedAt >= 0 ? failedAt : handled;
          if (done > 0) {
            const through = (run[done - 1] as StoredEvent).position;
            await store.checkpoints.set(consumer, through, { expected: checkpoint });
            checkpoint = through;
          }
        }
      }
      checkpoint = last.position;
      return run.indexOf(last) + 1;
    };
    try {
      return { delivered: await commit(run.length) };
    } catch (error) {
      if (!(error instanceof HandlerFailure)) throw error;
      // A transaction rolled back everything it handled.
      return { delivered: transactional ? 0 : failedAt, error };
    }
  };

  /** Moves a named consumer's checkpoint past an event the handler gave up on. */
  const skip = async (event: StoredEvent): Promise<void> => {
    if (consumer !== undefined) {
      await store.checkpoints.set(consumer, event.position, { expected: checkpoint });
      checkpoint = event.position;
    }
  };

  const run = async (): Promise<void> => {
    if (startAfter !== undefined) position = startAfter;
    let started = from !== 'end';
    let failures = 0;
    let storeFailures = 0;
    let warnedStale = false;
    while (!signal.aborted) {
      try {
        if (!started) {
          // Inside the retry loop, so that a subscription opened while the database is down waits for it.
          position = await store.events.headPosition();
          started = true;
        }
        if (!(await holdLease())) {
          await sleep(Math.max(10, Math.floor(leaseTtlMs / 3)), signal);
          continue;
        }
        const batch: StoredEvent[] = [];
        const read = store.events.readAll({
          after: position,
          limit: batchSize,
          ...(filters.types === undefined ? {} : { types: filters.types }),
          ...(filters.streamId === undefined ? {} : { streamId: filters.streamId }),
          ...(filters.streamPrefix === undefined ? {} : { streamPrefix: filters.streamPrefix }),
        });
        // Never deliver again what was delivered: an adapter whose readAll returns rows at or before
        // `after` (a conformance failure) would otherwise repeat them for ever.
        let stale = 0;
        for await (const e of read) {
          if (e.position > position) batch.push(e);
          else stale++;
        }
        if (stale > 0 && !warnedStale) {
          warnedStale = true;
          logger.warn(
            `strata: ${label}: the store's readAll returned events at or before the position it was asked to read after; they are not delivered again`,
            {
              consumer,
              position: position.toString(),
            },
          );
        }
        if (storeFailures > 0) {
          logger.info(`strata: ${label} reads again after ${storeFailures} failed attempts`, { consumer, failures: storeFailures });
          storeFailures = 0;
        }
        // After a handler failed in a transaction of several events, the rest of the batch goes one event
        // per transaction: what precedes the failing event commits, and onError decides about it alone.
        let oneByOne = false;
        for (let i = 0; i < batch.length; ) {
          if (signal.aborted || !(await holdLease())) break;
          const run = oneByOne ? batch.slice(i, i + 1) : batch.slice(i);
          const { delivered, error } =
            telemetry === undefined
              ? await deliverRun(run)
              : await throughTelemetry(
                  (fn) =>
                    telemetry.batch(
                      { consumer, size: run.length, first: (run[0] as StoredEvent).position, last: (run[run.length - 1] as StoredEvent).position },
                      fn,
                    ),
                  () => deliverRun(run),
                );
          if (delivered > 0) {
            failures = 0;
            position = (batch[i + delivered - 1] as StoredEvent).position;
            i += delivered;
          }
          if (error === undefined) continue;
          // The database failed under the handler, not the handler: retry as after a failed read.
          if (isInfrastructureError(error.error)) throw error.error;
          if (transactional && run.length > 1) {
            oneByOne = true;
            continue;
          }
          const failed = batch[i] as StoredEvent;
          const action = options.onError === undefined ? 'stop' : await options.onError(error.error, failed as E);
          if (action === 'stop') throw new StopWith(error.error);
          if (action === 'skip') {
            await skip(failed);
            position = failed.position;
            i++;
            continue;
          }
          await sleep(backoffDelay(++failures, 100, 30_000), signal);
          if (signal.aborted) return;
        }
        if (batch.length + stale < batchSize || batch.length === 0) await bell.wait(consumer === undefined ? pollMs : Math.min(pollMs, leaseTtlMs / 3), signal);
        // Reading on at once after a full batch: give timers and I/O their turn first.
        else await yieldToEventLoop();
      } catch (error) {
        if (error instanceof StopWith || error instanceof HandlerFailure) throw error.error;
        if (!isStrataError(error) || error.code === 'CLOSED' || error.code === 'VALIDATION') throw error;
        if (isPermanentLoss(error)) {
          logger.error(`strata: ${label} stops: the store's database connection was closed, and no retry can fix that`, { consumer, code: error.code });
          throw error;
        }
        if (isStrataError(error, 'CONCURRENCY') && consumer !== undefined) {
          // Another instance moved the checkpoint (or a commit we could not confirm did go through):
          // re-read it under the lease and resume from there, after a pause should it happen again and again.
          logger.warn(`strata: the checkpoint of ${label} moved under it; resuming from the stored checkpoint`, { consumer });
          active = false;
          await sleep(backoffDelay(++failures, 10, 5_000), signal);
          continue;
        }
        // A named consumer re-reads its checkpoint before going on: a commit whose outcome was unknown
        // may have moved it.
        if (consumer !== undefined) active = false;
        const wait = backoffDelay(++failures, 100, 5_000);
        storeFailures++;
        if (options.onReadError !== undefined) {
          let verdict: void | 'stop';
          try {
            verdict = await options.onReadError(error, { attempt: failures, retryInMs: wait });
          } catch {
            verdict = undefined; // a failing hook must not change what happens
          }
          if (verdict === 'stop') throw error;
        }
        logger.warn(`strata: ${label} failed to read or commit (${error.code}); retrying in ${wait} ms from position ${position}`, {
          consumer,
          code: error.code,
          attempt: failures,
          position: position.toString(),
        });
        await sleep(wait, signal);
      }
    }
  };

  const done = (telemetry === undefined ? run() : throughTelemetry((fn) => telemetry.loop({ kind: 'subscription', name: consumer, filters }, fn), run)).finally(
    async () => {
      unlisten();
      unclose();
      if (consumer !== undefined && active) {
        active = false;
        await store.checkpoints.releaseLease(consumer, owner).catch(() => undefined);
      }
    },
  );
  done.catch(() => undefined);

  return {
    get position() {
      return position;
    },
    get active() {
      return active;
    },
    done,
    async stop() {
      stopper.abort();
      await done.catch(() => undefined);
    },
  };
}
