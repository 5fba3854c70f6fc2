import type { ChangeNotice, WakeUpSource } from '../subscriptions/types.js';

/** An in-process {@link WakeUpSource}: listeners are called synchronously; their errors are swallowed. */
export class ChangeEmitter implements WakeUpSource {
  readonly #listeners = new Set<(notice: ChangeNotice) => void>();
  readonly #closeListeners = new Set<() => void>();
  #closed = false;

  /** Registers a listener; returns a function that removes it. */
  onChange(listener: (notice: ChangeNotice) => void): () => void {
    const wrapped = (notice: ChangeNotice) => listener(notice);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  /** Registers a listener of the store's close; called at once when the store is already closed. */
  onClose(listener: () => void): () => void {
    if (this.#closed) {
      listener();
      return () => undefined;
    }
    const wrapped = () => listener();
    this.#closeListeners.add(wrapped);
    return () => {
      this.#closeListeners.delete(wrapped);
    };
  }

  /** Tells every close listener, once: the adapter's `close()` calls it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of [...this.#closeListeners]) {
      try {
        listener();
      } catch {
        // A listener's failure must not fail close().
      }
    }
    this.#closeListeners.clear();
  }

  /** Calls every listener with `notice`. */
  emit(notice: ChangeNotice): void {
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch {
        // A listener's failure must not fail the write that already committed.
      }
    }
  }
}

/** A source that never announces anything, for adapters without wake-ups. */
export const silentWakeUps: WakeUpSource = Object.freeze({
  onChange: () => () => undefined,
});
