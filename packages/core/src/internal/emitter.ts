import type { ChangeNotice, WakeUpSource } from '../subscriptions/types.js';

/** An in-process {@link WakeUpSource}: listeners are called synchronously; their errors are swallowed. */
export class ChangeEmitter implements WakeUpSource {
  readonly #listeners = new Set<(notice: ChangeNotice) => void>();

  /** Registers a listener; returns a function that removes it. */
  onChange(listener: (notice: ChangeNotice) => void): () => void {
    const wrapped = (notice: ChangeNotice) => listener(notice);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
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
