import { isStrataError } from '../errors.js';
import { backoffDelay, Doorbell, sleep } from '../internal/timing.js';
import type { StrataStore } from '../store.js';
import { validateInteger, validateQueueName } from '../validation.js';
import type { Delivery } from './types.js';

/** What a message handler receives besides the delivery. */
export interface ConsumeContext {
  /** Aborted when the consumer is asked to stop; long handlers may finish early. */
  signal: AbortSignal;
}

/** Handles one delivery; resolving acks it, throwing nacks it for a later retry. */
export type MessageHandler = (delivery: Delivery, context: ConsumeContext) => void | Promise<void>;

/** Options of {@link consume}. */
export interface ConsumeOptions {
  /** Handlers running at once. @defaultValue 1 */
  concurrency?: number;
  /** Visibility timeout of each delivery; extended every half of it while the handler runs. @defaultValue 30000 */
  visibilityTimeoutMs?: number;
  /** Stop taking work when aborted; `consume` resolves once handlers in flight finish. */
  signal?: AbortSignal;
  /**
   * Longest wait between receives when the queue looks empty. @defaultValue 5000 when the store has
   * wake-ups, 1000 otherwise
   */
  pollIntervalMs?: number;
  /** Retry delay after the first failure, doubled each attempt, with jitter. @defaultValue 1000 */
  retryBaseMs?: number;
  /** Cap on the retry delay. @defaultValue 60000 */
  retryMaxMs?: number;
  /** Told about handler failures and failed acks (the loop goes on). */
  onError?: (error: unknown, delivery: Delivery | undefined) => void;
}

/**
 * Runs a worker loop over any adapter's queue: receives up to `concurrency` messages at a time, runs
 * `handler` for each, acks on success, and on a throw nacks with capped exponential backoff and jitter
 * (the queue dead-letters it after its last attempt). While a handler runs, its visibility is extended
 * so that nobody else gets the message. It wakes on the store's wake-ups where there are any, and polls
 * otherwise. On abort it stops taking work and resolves once the handlers in flight have finished.
 *
 * @example
 * ```ts
 * const stop = new AbortController()
 * const worker = consume(store, 'emails', async (d) => sendEmail(d.body), { concurrency: 4, signal: stop.signal })
 * stop.abort(); await worker
 * ```
 * @throws `VALIDATION` on bad options; `CLOSED` when the store is closed under it
 */
export async function consume(
  store: StrataStore,
  queue: string,
  handler: MessageHandler,
  options: ConsumeOptions = {},
): Promise<void> {
  const name = validateQueueName(queue);
  const concurrency = validateInteger(options.concurrency ?? 1, 'options.concurrency', 1, 1000);
  const visibilityTimeoutMs = validateInteger(options.visibilityTimeoutMs ?? 30_000, 'options.visibilityTimeoutMs', 10);
  const pollMs = validateInteger(options.pollIntervalMs ?? (store.capabilities.wakeUps ? 5000 : 1000), 'options.pollIntervalMs', 1);
  const retryBaseMs = validateInteger(options.retryBaseMs ?? 1000, 'options.retryBaseMs', 0);
  const retryMaxMs = validateInteger(options.retryMaxMs ?? 60_000, 'options.retryMaxMs', 0);
  const signal = options.signal ?? new AbortController().signal;
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
    if (n.kind === 'queue' && n.queue === name) bell.ring();
  });

  const run = (d: Delivery): Promise<void> => {
    const extend = setInterval(() => {
      store.queue.extendVisibility(d.receipt, visibilityTimeoutMs).catch((e: unknown) => report(e, d));
    }, Math.max(5, Math.floor(visibilityTimeoutMs / 2)));
    return (async () => {
      try {
        await handler(d, { signal });
      } catch (error) {
        clearInterval(extend);
        report(error, d);
        const reason = error instanceof Error ? error.message : String(error);
        await store.queue
          .nack(d.receipt, { delayMs: backoffDelay(d.attempt, retryBaseMs, retryMaxMs), reason })
          .catch((e: unknown) => report(e, d));
        return;
      }
      clearInterval(extend);
      await store.queue.ack(d.receipt).catch((e: unknown) => report(e, d));
    })();
  };

  let failures = 0;
  try {
    while (!signal.aborted) {
      const free = concurrency - inFlight.size;
      let received = 0;
      if (free > 0) {
        let deliveries: Delivery[];
        try {
          deliveries = await store.queue.receive(name, { max: free, visibilityTimeoutMs });
          failures = 0;
        } catch (error) {
          if (!isStrataError(error) || error.code === 'CLOSED' || error.code === 'VALIDATION' || error.code === 'NOT_SUPPORTED') {
            throw error;
          }
          report(error, undefined);
          await sleep(backoffDelay(++failures, 100, 5000), signal);
          continue;
        }
        received = deliveries.length;
        for (const d of deliveries) {
          const p = run(d).finally(() => {
            inFlight.delete(p);
            bell.ring();
          });
          inFlight.add(p);
        }
        if (received === free && !signal.aborted) continue;
      }
      await bell.wait(pollMs, signal);
    }
  } finally {
    unlisten();
    await Promise.allSettled([...inFlight]);
  }
}
