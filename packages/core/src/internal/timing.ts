/**
 * Resolves after `ms`, or at once when `signal` aborts. For packages built on Strata's contracts (the
 * realtime listener's reconnection loop uses it).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Resolves once the event loop has had a turn (timers, I/O, signal handlers). Loops over a store call
 * it between batches, so that no adapter — however broken, however synchronous underneath — can keep
 * them in microtasks for ever, starving every timer (and so every timeout) of the process.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * Capped exponential backoff with jitter: a random delay in `[c/2, c]` where `c = min(maxMs, base·2^(n−1))`.
 * What `subscribe()`, `consume()` and the realtime listener wait between attempts.
 *
 * @param attempt - the failed attempt's number, from 1
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * A doorbell for polling loops: `ring()` ends the current `wait()` early, and a ring that comes while
 * nobody waits makes the next `wait()` return at once, so no wake-up is lost between a read and a wait.
 */
export class Doorbell {
  #rung = false;
  #resolve: (() => void) | undefined;

  /** Wakes the waiter, or the next one. */
  ring(): void {
    this.#rung = true;
    this.#resolve?.();
  }

  /** Waits until rung, `ms` passed or `signal` aborted. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#rung || signal?.aborted) {
      this.#rung = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.#resolve = done;
    });
    this.#rung = false;
  }
}
