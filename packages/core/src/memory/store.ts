import { type Capabilities, defineCapabilities } from '../capabilities.js';
import { NotSupportedError, StoreClosedError } from '../errors.js';
import { ChangeEmitter, silentWakeUps } from '../internal/emitter.js';
import { Mutex } from '../internal/mutex.js';
import { type StrataLogger, safeLogger } from '../logger.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import { TransactionScope } from '../transaction-scope.js';
import { unsupportedCheckpoints, unsupportedQueue, unsupportedSnapshots, unsupportedTransfer } from '../unsupported.js';
import { validateInteger, validateMaxPayloadBytes } from '../validation.js';
import type { MemorySettings, TablesAccess } from './access.js';
import { memoryCheckpoints } from './checkpoints.js';
import { memoryEvents } from './events.js';
import { memoryQueue } from './queue.js';
import { memorySnapshots } from './snapshots.js';
import { Tables } from './tables.js';
import { memoryTransfer } from './transfer.js';

/** A capability of the memory store that can be switched off. */
export type MemoryFeature = 'transactions' | 'snapshots' | 'queue' | 'checkpoints' | 'wakeUps' | 'transfer';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Events fetched per internal page by `readStream` and `readAll`. @defaultValue 500 */
  readPageSize?: number;
  /** Snapshots kept per stream; older ones are deleted on save. @defaultValue 3 */
  snapshotsToKeep?: number;
  /** Default deliveries before a message is dead-lettered. @defaultValue 5 */
  maxAttempts?: number;
  /**
   * Largest payload accepted, in bytes of UTF-8 JSON (as `JSON.stringify` writes it): per event (its
   * data and metadata), per message (its body and headers) and per snapshot (its state). A larger one
   * is refused with `VALIDATION` before anything is written. At most `MAX_PAYLOAD_BYTES`.
   * @defaultValue 1048576 (1 MiB, `DEFAULT_MAX_PAYLOAD_BYTES`)
   */
  maxPayloadBytes?: number;
  /**
   * Capabilities to switch off, so that code meant for leaner adapters can be tested: their
   * operations then reject with `NOT_SUPPORTED`. @defaultValue `[]`
   */
  disable?: readonly MemoryFeature[];
  /**
   * Where `subscribe()` and `consume()` over this store report retries, lost leases and dead letters
   * when they are not given a logger of their own. @defaultValue silent
   */
  logger?: StrataLogger;
}

/**
 * Creates the in-memory reference adapter. It implements every contract and capability in process:
 * transactions (a private copy of the tables, swapped in at commit; writes outside a transaction wait
 * for it, and calls on the store itself inside the transaction's function reject with `VALIDATION`),
 * and wake-ups from an in-process emitter. Nothing survives the process. Use it in unit tests and as
 * the template for new adapters.
 *
 * @example
 * ```ts
 * const store = createMemoryStore()
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * ```
 * @throws `VALIDATION` when an option is out of range
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): StrataStore<undefined> {
  const settings: MemorySettings = {
    readPageSize: validateInteger(options.readPageSize ?? 500, 'options.readPageSize', 1, 100_000),
    snapshotsToKeep: validateInteger(options.snapshotsToKeep ?? 3, 'options.snapshotsToKeep', 1, 1000),
    maxAttempts: validateInteger(options.maxAttempts ?? 5, 'options.maxAttempts', 1, 1000),
    maxPayloadBytes: validateMaxPayloadBytes(options.maxPayloadBytes),
  };
  const logger = safeLogger(options.logger);
  const off = new Set(options.disable ?? []);
  const capabilities: Readonly<Capabilities> = defineCapabilities({
    transactions: !off.has('transactions'),
    snapshots: !off.has('snapshots'),
    queue: !off.has('queue'),
    checkpoints: !off.has('checkpoints'),
    wakeUps: !off.has('wakeUps'),
    crossProcessWakeUps: false,
    transfer: !off.has('transfer'),
  });

  let tables = Tables.empty();
  let closed = false;
  const lock = new Mutex();
  const scope = new TransactionScope();
  const emitter = new ChangeEmitter();

  const announce = (t: Tables) => {
    const notices = t.notices.splice(0);
    if (capabilities.wakeUps) for (const n of notices) emitter.emit(n);
  };

  const contracts = (access: TablesAccess): StoreTransaction<undefined> => ({
    db: undefined,
    events: memoryEvents(access),
    queue: capabilities.queue ? memoryQueue(access) : unsupportedQueue(),
    snapshots: capabilities.snapshots ? memorySnapshots(access) : unsupportedSnapshots(),
    checkpoints: capabilities.checkpoints ? memoryCheckpoints(access) : unsupportedCheckpoints(),
    transfer: capabilities.transfer ? memoryTransfer(access) : unsupportedTransfer(),
  });

  const committed: TablesAccess = {
    settings,
    read(operation) {
      if (closed) throw new StoreClosedError(operation);
      scope.check(operation);
      return tables;
    },
    write(operation, op) {
      return scope.admit(operation, () =>
        lock.run(() => {
          if (closed) throw new StoreClosedError(operation);
          try {
            return op(tables);
          } finally {
            announce(tables);
          }
        }),
      );
    },
  };

  return {
    capabilities,
    wakeUps: capabilities.wakeUps ? emitter : silentWakeUps,
    logger,
    ...contracts(committed),

    async transaction<T>(fn: (tx: StoreTransaction<undefined>) => Promise<T>): Promise<T> {
      if (closed) throw new StoreClosedError('transaction');
      if (!capabilities.transactions) throw new NotSupportedError('transaction', 'transactions');
      return scope.admit('transaction', () =>
        lock.run(async () => {
          if (closed) throw new StoreClosedError('transaction');
          const draft = tables.fork();
          let active = true;
          const access: TablesAccess = {
            settings,
            read(operation) {
              if (!active) throw new StoreClosedError(operation, 'transaction');
              return draft;
            },
            async write(operation, op) {
              return op(access.read(operation));
            },
          };
          try {
            const result = await scope.run(() => fn(contracts(access)));
            active = false;
            tables = draft.commit();
            announce(draft);
            return result;
          } finally {
            active = false;
          }
        }),
      );
    },

    async close() {
      scope.check('close');
      closed = true;
      emitter.close();
      await scope.admit('close', () => lock.run(() => undefined));
    },
  };
}
