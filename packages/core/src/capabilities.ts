/**
 * Optional features an adapter declares. The conformance suite picks its cases from these flags,
 * never from the adapter's name; where a flag is false, the matching operations must reject with
 * `NOT_SUPPORTED`.
 */
export interface Capabilities {
  /** `store.transaction()` commits writes to every contract atomically. */
  transactions: boolean;
  /** `store.snapshots` works. */
  snapshots: boolean;
  /** `store.queue` works. */
  queue: boolean;
  /** `store.checkpoints` works (and so named subscriptions). */
  checkpoints: boolean;
  /** `store.wakeUps` announces commits made through this store instance. */
  wakeUps: boolean;
  /** `store.wakeUps` also announces commits made by other processes (LISTEN/NOTIFY, polling). */
  crossProcessWakeUps: boolean;
  /** `store.transfer` exports and imports canonical records (moving a deployment between adapters). */
  transfer: boolean;
}

/**
 * Fills every capability the adapter does not mention with `false`, so that adding a flag to
 * {@link Capabilities} breaks no adapter.
 *
 * @example
 * ```ts
 * const capabilities = defineCapabilities({ transactions: true, queue: true })
 * ```
 */
export function defineCapabilities(declared: Partial<Capabilities>): Readonly<Capabilities> {
  return Object.freeze({
    transactions: false,
    snapshots: false,
    queue: false,
    checkpoints: false,
    wakeUps: false,
    crossProcessWakeUps: false,
    transfer: false,
    ...declared,
  });
}
