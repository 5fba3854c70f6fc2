import { NotSupportedError } from './errors.js';
import type { MessageQueue } from './queue/types.js';
import type { SnapshotStore } from './snapshots/types.js';
import type { CheckpointStore } from './subscriptions/types.js';
import type { RecordBatch, RecordTransfer } from './transfer/types.js';

function reject(operation: string, capability: string): Promise<never> {
  return Promise.reject(new NotSupportedError(operation, capability));
}

/**
 * A {@link MessageQueue} whose every method rejects with `NOT_SUPPORTED`, for adapters that declare
 * `capabilities.queue: false`.
 */
export function unsupportedQueue(): MessageQueue {
  const r = (op: string) => () => reject(`queue.${op}`, 'queue');
  return {
    send: r('send'),
    receive: r('receive'),
    ack: r('ack'),
    ackMany: r('ackMany'),
    nack: r('nack'),
    extendVisibility: r('extendVisibility'),
    stats: r('stats'),
    nextVisibleInMs: r('nextVisibleInMs'),
    deadLetters: r('deadLetters'),
    redrive: r('redrive'),
    purge: r('purge'),
  };
}

/** A {@link SnapshotStore} whose every method rejects with `NOT_SUPPORTED`. */
export function unsupportedSnapshots(): SnapshotStore {
  const r = (op: string) => () => reject(`snapshots.${op}`, 'snapshots');
  return { save: r('save'), load: r('load'), delete: r('delete') };
}

/** A {@link CheckpointStore} whose every method rejects with `NOT_SUPPORTED`. */
export function unsupportedCheckpoints(): CheckpointStore {
  const r = (op: string) => () => reject(`checkpoints.${op}`, 'checkpoints');
  return { get: r('get'), list: r('list'), set: r('set'), acquireLease: r('acquireLease'), releaseLease: r('releaseLease') };
}

/** A {@link RecordTransfer} whose every method rejects with `NOT_SUPPORTED` (`capabilities.transfer: false`). */
export function unsupportedTransfer(): RecordTransfer {
  const r = (op: string) => () => reject(`transfer.${op}`, 'transfer');
  return {
    // biome-ignore lint/correctness/useYield: it rejects before yielding anything
    async *export(): AsyncGenerator<RecordBatch> {
      await reject('transfer.export', 'transfer');
    },
    counts: r('counts'),
    check: r('check'),
    import: r('import'),
  };
}

/** A `transaction` implementation that rejects with `NOT_SUPPORTED`. */
export function unsupportedTransaction<T>(): Promise<T> {
  return reject('transaction', 'transactions');
}
