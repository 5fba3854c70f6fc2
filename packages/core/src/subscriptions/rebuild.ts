import { ValidationError } from '../errors.js';
import type { StoredEvent } from '../events/types.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import { validateConsumerName } from '../validation.js';
import { type AnyStoredEvent, type SubscribeOptions, type Subscription, subscribe } from './subscribe.js';

/** Options of {@link rebuildProjection}: those of {@link subscribe}, with the consumer named apart. */
export interface RebuildOptions<E extends AnyStoredEvent = StoredEvent, TDb = unknown> extends Omit<SubscribeOptions<E, TDb>, 'from'> {
  /** The projection's named consumer: its checkpoint is reset, then advanced again by the replay. */
  consumer: string;
  /**
   * Empties the read model, in the transaction that resets the checkpoint (on a store with
   * transactions), typically `tx.db.delete(table)`: the old rows and the old checkpoint go together.
   */
  clear: (tx: StoreTransaction<TDb>) => Promise<void>;
}

/**
 * Rebuilds a projection from the first event: clears its read model and resets its checkpoint in one
 * transaction, then subscribes as the named consumer, which replays every event into the emptied read
 * model. Use it after fixing a projection's code or changing its table.
 *
 * Other running instances of the same consumer notice: their next checkpoint update fails its
 * compare-and-set, and they resume from the reset checkpoint instead of going on where they were.
 * On a store without transactions the clear and the reset run one after the other.
 *
 * @example
 * ```ts
 * const sub = await rebuildProjection(store, {
 *   consumer: 'balances',
 *   clear: async (tx) => { await tx.db.delete(balances) },
 *   handler: async (e, { tx }) => { await tx?.db.insert(balances).values(…) },
 * })
 * ```
 * @throws `VALIDATION` on bad options; `NOT_SUPPORTED` when the store has no checkpoints
 */
export async function rebuildProjection<E extends AnyStoredEvent = StoredEvent, TDb = unknown>(
  store: StrataStore<TDb>,
  options: RebuildOptions<E, TDb>,
): Promise<Subscription> {
  const consumer = validateConsumerName(options.consumer, 'options.consumer');
  if (typeof options.clear !== 'function') throw new ValidationError('options.clear', 'must be a function');
  const { consumer: _consumer, clear, ...rest } = options;
  const subscribeOptions = { ...rest, from: { consumer } } as SubscribeOptions<E, TDb>;
  // Every option is checked before anything is reset: a subscription that is stopped before it starts
  // only validates them.
  const validated = new AbortController();
  validated.abort();
  await subscribe(store, { ...subscribeOptions, signal: validated.signal }).done;
  const reset = async (tx: StoreTransaction<TDb>) => {
    // The checkpoint first: its row lock waits for a batch another instance is committing, so that the
    // clear below sees (and removes) that batch's rows. Positions start at 1: 0 replays everything.
    await tx.checkpoints.set(consumer, 0n);
    await clear(tx);
  };
  if (store.capabilities.transactions) await store.transaction(reset);
  else await reset(store);
  return subscribe(store, subscribeOptions);
}
