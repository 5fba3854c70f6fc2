import { isPermanentLoss, isStrataError, StaleReceiptError } from '../errors.js';
import { backoffDelay, Doorbell, sleep, yieldToEventLoop } from '../internal/timing.js';
import type { JsonValue } from '../json.js';
import { type StrataLogger, safeLogger } from '../logger.js';
import type { StrataStore } from '../store.js';
import { throughTelemetry } from '../telemetry.js';
import { validateInteger, validateQueueName } from '../validation.js';
import type { Delivery } from './types.js';

/** What a message handler receives besides the delivery. */
export interface ConsumeContext {
  /** Aborted when the consumer is asked to stop; long handlers may finish early. */
  signal: AbortSignal;
}

/**
 * Handles one delivery; resolving acks it, throwing nacks it for a later retry.
 *
 * @typeParam TBody - the message bodies the handler expects; Strata trusts this type (it does not
 *   check bodies against it)
 */
export type MessageHandler<TBody = JsonValue> = (delivery: Delivery<TBody>, context: ConsumeContext) => void | Promise<void>;

/** Options of {@link consume}. */
export interface ConsumeOptions {
  /** Handlers running at once. @defaultValue 1 */
  concurrency?: number;
  /** Visibility timeout of each delivery; extended every half of it while the handler runs. @defaultValue 30000 */
  visibilityTimeoutMs?: number;
  /** Stop taking work when aborted; `consume` resolves once handlers in flight finish. */
  signal?: AbortSignal;
  /**
   * Longest wait between receives when the queue looks empty. Messages this store knows of wake the
   * worker sooner: a send or nack through this store instance at once, a delay or visibility timeout
   * when it ends (the worker asks the queue when its next message becomes visible). The poll is for
   * what nothing announces: messages sent by other processes to a store without cross-process
   * wake-ups. @defaultValue 5000 when the store announces other processes' commits
   * (`capabilities.crossProcessWakeUps`), 500 otherwise
   */
  pollIntervalMs?: number;
  /** Retry delay after the first failure, doubled each attempt, with jitter. @defaultValue 1000 */
  retryBaseMs?: number;
  /** Cap on the retry delay. @defaultValue 60000 */
  retryMaxMs?: number;
  /**
   * Told about every failure, and the loop goes on: a handler's error, a failed `receive` (with
   * `delivery` undefined; the loop retries with capped backoff), a failed `ack`, `nack` or visibility
   * extension (a failed `ack` or `nack` is retried while the delivery's receipt is still valid).
   */
  onError?: (error: unknown, delivery: Delivery | undefined) => void;
  /**
   * Where retries and dead-lettered messages are reported. Never given a message body or headers.
   * @defaultValue the store's logger, else silent
   */
  logger?: StrataLogger;
}

/** Shortest sleep of an idle worker, so that a message that looks ready but cannot be taken yet (a
 * receive of another worker still holds it) does not make the loop spin. */
const MIN_WAIT_MS = 5;

/**
 * The next turn of the event loop, unclamped: `setImmediate` in Node.js, a `MessageChannel` message in
 * browsers (where a nested `setTimeout(0)` waits at least 4 ms, and far longer in a background tab).
 */
function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return yieldToEventLoop();
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      const port = channel.port1 as unknown as { onmessage: (() => void) | null; close(): void };
      port.onmessage = () => {
        port.close();
        resolve();
      };
      channel.port2.postMessage(undefined);
    });
  }
  return yieldToEventLoop();
}

/** Codes of a failed `ack` or `nack` that a retry may fix. */
const SETTLE_RETRYABLE = new Set(['CONNECTION', 'TIMEOUT']);

/**
 * Runs a worker loop over any adapter's queue: receives up to `concurrency` messages at a time, runs
 * `handler` for each, acks on success, and on a throw nacks with capped exponential backoff and jitter
 * (the queue dead-letters it after its last attempt). While a handler runs, its visibility is extended
 * so that nobody else gets the message. It wakes on the store's wake-ups, when the queue's next delayed
 * or in-flight message becomes visible, and at the latest after `pollIntervalMs`. On abort it stops taking work and resolves once the handlers in flight have finished.
 *
 * Failures of the store do not stop it: a failed `receive` is retried with capped backoff, and an `ack`
 * or `nack` that fails with `CONNECTION` or `TIMEOUT` is retried while the delivery's receipt is still
 * valid, so that a connection blip after the work is done does not cause a redelivery. Delivery stays
 * at least once: a handler must tolerate seeing a message again (see the failures-and-retries guide).
 *
 * @example
 * ```ts
 * const stop = new AbortController()
 * const worker = consume(store, 'emails', async (d) => sendEmail(d.body), { concurrency: 4, signal: stop.signal })
 * stop.abort(); await worker
 * ```
 * @throws `VALIDATION` on bad options; `CLOSED` when the store is closed under it
 */
export async function consume<TBody = JsonValue>(
  store: StrataStore,
  queue: string,
  handler: MessageHandler<TBody>,
  options: ConsumeOptions = {},
): Promise<void> {
  const name = validateQueueName(queue);
  const concurrency = validateInteger(options.concurrency ?? 1, 'options.concurrency', 1, 1000);
  const visibilityTimeoutMs = validateInteger(options.visibilityTimeoutMs ?? 30_000, 'options.visibilityTimeoutMs', 10);
  const pollMs = validateInteger(options.pollIntervalMs ?? (store.capabilities.crossProcessWakeUps ? 5000 : 500), 'options.pollIntervalMs', 1);
  const retryBaseMs = validateInteger(options.retryBaseMs ?? 1000, 'options.retryBaseMs', 0);
  const retryMaxMs = validateInteger(options.retryMaxMs ?? 60_000, 'options.retryMaxMs', 0);
  const signal = options.signal ?? new AbortController().signal;
  const logger = safeLogger(options.logger ?? store.logger);
  const telemetry = store.telemetry;
  const report = (error: unknown, delivery?: Delivery) => {
    try {
      options.onError?.(error, delivery);
    } catch {
      // A failing error hook must not stop the worker.
    }
  };

  const inFlight = new Set<Promise<void>>();
  const bell = new Doorbell();
  const unlisten = store.wakeUps.onChange((n) => {
    if ((n.kind === 'queue' && n.queue === name) || n.kind === 'resync') bell.ring();
  });
  // A close wakes the loop, whose next receive then stops it with CLOSED.
  const unclose = store.wakeUps.onClose?.(() => bell.ring()) ?? (() => undefined);

  /** What an ack or nack that went through, gave up or will be retried says (shared by `settle` and grouped acks). */
  const said = {
    succeededAfter: (what: string, d: Delivery, attempt: number) =>
      logger.info(`strata: ${what} on queue ${JSON.stringify(name)} succeeded after ${attempt} attempts`, { queue: name, messageId: d.id, attempt }),
    wentThrough: (what: string, d: Delivery, attempt: number) =>
      logger.info(`strata: ${what} on queue ${JSON.stringify(name)}: an earlier attempt that lost its connection went through`, {
        queue: name,
        messageId: d.id,
        attempt,
      }),
    gaveUp: (what: string, d: Delivery, code: string | undefined) =>
      logger.warn(
        `strata: ${what} on queue ${JSON.stringify(name)} failed (${code ?? 'error'}); the message will be delivered again once its visibility timeout passes`,
        { queue: name, messageId: d.id, code },
      ),
    retrying: (what: string, d: Delivery, code: string | undefined, wait: number, attempt: number) =>
      logger.warn(`strata: ${what} on queue ${JSON.stringify(name)} failed (${code}); retrying in ${wait} ms while the receipt is valid`, {
        queue: name,
        messageId: d.id,
        code,
        attempt,
      }),
  };

  /**
   * Acks or nacks `d`, retrying a `CONNECTION` or `TIMEOUT` failure with backoff while the receipt is
   * valid (`validUntil`, by this process's clock, measured from before the receive or last extension).
   */
  const settle = async (d: Delivery, what: 'ack' | 'nack', call: () => Promise<void>, validUntil: () => number): Promise<boolean> => {
    let mayHaveApplied = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await call();
        if (attempt > 1) said.succeededAfter(what, d, attempt);
        return true;
      } catch (error) {
        const code = isStrataError(error) ? error.code : undefined;
        if (code === 'STALE_RECEIPT' && mayHaveApplied) {
          // An earlier attempt lost its connection after reaching the database, and did settle it.
          said.wentThrough(what, d, attempt);
          return true;
        }
        report(error, d);
        if (isStrataError(error, 'CONNECTION') && error.outcomeUnknown) mayHaveApplied = true;
        const wait = backoffDelay(attempt, 50, 2000);
        if (code === undefined || !SETTLE_RETRYABLE.has(code) || isPermanentLoss(error) || Date.now() + wait >= validUntil()) {
          said.gaveUp(what, d, code);
          return false;
        }
        said.retrying(what, d, code, wait, attempt);
        await sleep(wait);
      }
    }
  };

  /**
   * Acks of handlers that finish close together go to the queue as one `ackMany` (one round trip and
   * one transaction instead of one per message): an ack waits for the end of the current turn of the
   * event loop, then every ack pending by then is sent. A batch that fails with `CONNECTION` or
   * `TIMEOUT` is retried, as a single ack is, for the receipts still valid; a receipt the queue reports
   * stale fails its own ack only. Under telemetry each message is acked on its own, so that its ack stays
   * a child of its handler's span; and so is a batch whose adapter has no `ackMany` or refuses the batch
   * (`VALIDATION`, `NOT_SUPPORTED`).
   */
  let pendingAcks: { d: Delivery; validUntil: () => number; done: (acked: boolean) => void }[] = [];
  const ackOne = (d: Delivery, validUntil: () => number) => settle(d, 'ack', () => store.queue.ack(d.receipt), validUntil);
  const flushAcks = async (batch: typeof pendingAcks): Promise<void> => {
    let left = batch;
    let mayHaveApplied = false;
    for (let attempt = 1; left.length > 0; attempt++) {
      try {
        const { stale } = await store.queue.ackMany(left.map((a) => a.d.receipt));
        const staleSet = new Set(stale);
        for (const a of left) {
          if (!staleSet.has(a.d.receipt)) {
            if (attempt > 1) said.succeededAfter('ack', a.d, attempt);
            a.done(true);
          } else if (mayHaveApplied) {
            // An earlier attempt lost its connection after reaching the database, and did ack it.
            said.wentThrough('ack', a.d, attempt);
            a.done(true);
          } else {
            report(new StaleReceiptError('queue.ackMany'), a.d);
            said.gaveUp('ack', a.d, 'STALE_RECEIPT');
            a.done(false);
          }
        }
        return;
      } catch (error) {
        const code = isStrataError(error) ? error.code : undefined;
        if (attempt === 1 && (code === 'VALIDATION' || code === 'NOT_SUPPORTED')) {
          // The adapter refuses the batch (a lower limit of its own): ack each message on its own.
          await Promise.all(left.map(async (a) => a.done(await ackOne(a.d, a.validUntil))));
          return;
        }
        for (const a of left) report(error, a.d);
        if (isStrataError(error, 'CONNECTION') && error.outcomeUnknown) mayHaveApplied = true;
        const wait = backoffDelay(attempt, 50, 2000);
        const retryable = code !== undefined && SETTLE_RETRYABLE.has(code) && !isPermanentLoss(error);
        const still = new Set(retryable ? left.filter((a) => Date.now() + wait < a.validUntil()) : []);
        for (const a of left) {
          if (still.has(a)) continue;
          said.gaveUp('ack', a.d, code);
          a.done(false);
        }
        left = [...still];
        if (left.length === 0) return;
        for (const a of left) said.retrying('ack', a.d, code, wait, attempt);
        await sleep(wait);
      }
    }
  };
  const grouped = telemetry === undefined && typeof (store.queue as Partial<typeof store.queue>).ackMany === 'function';
  const ack = (d: Delivery, validUntil: () => number): Promise<boolean> => {
    if (!grouped) return ackOne(d, validUntil);
    return new Promise<boolean>((resolve) => {
      pendingAcks.push({ d, validUntil, done: resolve });
      if (pendingAcks.length === 1) {
        void nextTurn().then(() => {
          const batch = pendingAcks;
          pendingAcks = [];
          return flushAcks(batch).catch((error: unknown) => {
            // Not expected (every failure is handled above): the acks not settled yet fail, and their
            // messages come back once their visibility timeouts pass.
            for (const a of batch) {
              report(error, a.d);
              said.gaveUp('ack', a.d, isStrataError(error) ? error.code : undefined);
              a.done(false);
            }
          });
        });
      }
    });
  };

  const run = (d: Delivery, receivedAt: number): Promise<void> => {
    let validUntil = receivedAt + visibilityTimeoutMs;
    const extend = setInterval(
      () => {
        const asked = Date.now();
        store.queue.extendVisibility(d.receipt, visibilityTimeoutMs).then(
          () => {
            validUntil = Math.max(validUntil, asked + visibilityTimeoutMs);
          },
          (e: unknown) => report(e, d),
        );
      },
      Math.max(5, Math.floor(visibilityTimeoutMs / 2)),
    );
    let handlerFailed = false;
    const process = async (): Promise<void> => {
      try {
        await handler(d as Delivery<TBody>, { signal });
      } catch (error) {
        handlerFailed = true;
        clearInterval(extend);
        report(error, d);
        const reason = error instanceof Error ? error.message : String(error);
        const last = d.attempt >= d.maxAttempts;
        const nacked = await settle(
          d,
          'nack',
          () => store.queue.nack(d.receipt, { delayMs: backoffDelay(d.attempt, retryBaseMs, retryMaxMs), reason }),
          () => validUntil,
        );
        if (nacked && last) {
          logger.warn(`strata: message dead-lettered on queue ${JSON.stringify(name)} after ${d.attempt} failed attempts`, {
            queue: name,
            messageId: d.id,
            attempt: d.attempt,
          });
        }
        // Rethrown for the telemetry's span and metrics; the call below swallows it.
        throw error;
      }
      clearInterval(extend);
      await ack(d, () => validUntil);
    };
    return (async () => {
      try {
        if (telemetry === undefined) await process();
        else
          await throughTelemetry(
            (fn) =>
              telemetry.handle(
                { kind: 'consumer', name, carrier: d.headers, attributes: { 'messaging.message.id': d.id, 'strata.message.attempt': d.attempt } },
                fn,
              ),
            process,
          );
      } catch (error) {
        if (!handlerFailed) throw error;
      }
    })();
  };

  const work = async (): Promise<void> => {
    let failures = 0;
    let lookedReady = 0;
    try {
      while (!signal.aborted) {
        const free = concurrency - inFlight.size;
        let received = 0;
        if (free > 0) {
          let deliveries: Delivery[];
          const receivedAt = Date.now();
          try {
            deliveries = await store.queue.receive(name, { max: free, visibilityTimeoutMs });
            if (failures > 0) logger.info(`strata: receive on queue ${JSON.stringify(name)} works again after ${failures} failures`, { queue: name, failures });
            failures = 0;
          } catch (error) {
            if (!isStrataError(error) || error.code === 'CLOSED' || error.code === 'VALIDATION' || error.code === 'NOT_SUPPORTED' || isPermanentLoss(error)) {
              logger.error(
                `strata: worker on queue ${JSON.stringify(name)} stops: receive failed with ${isStrataError(error) ? error.code : 'an error'} that no retry can fix`,
                {
                  queue: name,
                  code: isStrataError(error) ? error.code : undefined,
                },
              );
              throw error;
            }
            report(error, undefined);
            const wait = backoffDelay(++failures, 100, 5000);
            logger.warn(`strata: receive on queue ${JSON.stringify(name)} failed (${error.code}); retrying in ${wait} ms`, {
              queue: name,
              code: error.code,
              attempt: failures,
            });
            await sleep(wait, signal);
            continue;
          }
          received = deliveries.length;
          if (received > 0) lookedReady = 0;
          for (const d of deliveries) {
            const p = run(d, receivedAt).finally(() => {
              inFlight.delete(p);
              bell.ring();
            });
            inFlight.add(p);
          }
          if (received === free && !signal.aborted) {
            // Receiving on at once: give timers and I/O their turn first.
            await yieldToEventLoop();
            continue;
          }
          if (!signal.aborted) {
            // Sleep until the queue's next message becomes visible (a delay or a visibility timeout
            // ending), or a wake-up, or the poll interval, whichever comes first.
            let next: number | null = null;
            try {
              next = await store.queue.nextVisibleInMs(name);
            } catch (error) {
              // Only a hint: the poll interval bounds the wait anyway, and the next receive reports it.
              report(error, undefined);
            }
            // A message that looks ready but was not received (another transaction holds it) backs off
            // from MIN_WAIT_MS towards the poll interval instead of spinning.
            lookedReady = next === 0 ? lookedReady + 1 : 0;
            const wait = next === null ? pollMs : next === 0 ? MIN_WAIT_MS * 2 ** Math.min(lookedReady - 1, 16) : next;
            await bell.wait(Math.min(pollMs, Math.max(MIN_WAIT_MS, wait)), signal);
            continue;
          }
        }
        await bell.wait(pollMs, signal);
      }
    } finally {
      unlisten();
      unclose();
      await Promise.allSettled([...inFlight]);
    }
  };
  return telemetry === undefined ? work() : throughTelemetry((fn) => telemetry.loop({ kind: 'consumer', name }, fn), work);
}
