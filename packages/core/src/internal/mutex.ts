/**
 * A FIFO async mutex: `run` calls wait for every earlier call to settle. Adapters over a synchronous
 * single connection (better-sqlite3) use it so that two callers' transactions never interleave.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every earlier `run` has settled; resolves or rejects as `fn` does. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
