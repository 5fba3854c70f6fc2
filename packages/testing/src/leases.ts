import { NotSupportedError, StoreClosedError, type StrataStore } from '@strata/core';
import { onClose } from './schema-pool.js';
import type { AdapterName, TestStores } from './stores.js';

/** What an adapter's source does; {@link leasedStores} adds the bookkeeping every source shares. */
export interface StoreMaker<S extends StrataStore, O, H> {
  adapter: AdapterName;
  /** The expensive part, once (later calls return the same promise). */
  prepare?(): Promise<unknown>;
  /** A new store and the handle its siblings and its release need (a schema, a file…). */
  open(options: O | undefined): Promise<{ store: S; handle: H }>;
  /** A second store on the handle's data; absent where data cannot be shared. */
  sibling?(handle: H, options: O | undefined): Promise<S>;
  /** Called once every store on the handle is closed: make its data reusable, or delete it. */
  release?(handle: H): Promise<void>;
  /** Stops what the source started, after every store is closed. */
  shutdown?(): Promise<void>;
}

/**
 * Turns a {@link StoreMaker} into {@link TestStores}: closing a store closes its siblings, then releases
 * its handle; closing the source closes every open store, then shuts down.
 */
export function leasedStores<S extends StrataStore, O, H>(maker: StoreMaker<S, O, H>): TestStores<S, O> {
  const open = new Map<S, { handle: H; siblings: Set<S> }>();
  let closing: Promise<void> | undefined;
  const check = (operation: string) => {
    if (closing !== undefined) throw new StoreClosedError(`testStores.${operation}`, 'test store source');
  };
  return {
    adapter: maker.adapter,
    async ready() {
      check('ready');
      await maker.prepare?.();
    },
    async fresh(options) {
      check('fresh');
      const { store, handle } = await maker.open(options);
      const lease = { handle, siblings: new Set<S>() };
      const leased = onClose(store, async () => {
        open.delete(store);
        await Promise.all([...lease.siblings].map((s) => s.close()));
        await maker.release?.(handle);
      });
      if (closing !== undefined) {
        // The source was closed while this store was being opened: it must not outlive the source.
        await leased.close().catch(() => undefined);
        check('fresh');
      }
      open.set(store, lease);
      return leased;
    },
    async sibling(store, options) {
      check('sibling');
      const lease = open.get(store);
      if (lease === undefined) throw new StoreClosedError('testStores.sibling', 'store (or it is not one of this source)');
      if (maker.sibling === undefined) throw new NotSupportedError('testStores.sibling', 'sibling');
      const sibling = onClose(await maker.sibling(lease.handle, options), async () => {
        lease.siblings.delete(sibling);
      });
      if (!open.has(store)) {
        // Its store was closed meanwhile: a sibling must not outlive it.
        await sibling.close().catch(() => undefined);
        throw new StoreClosedError('testStores.sibling', 'store');
      }
      lease.siblings.add(sibling);
      return sibling;
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...open.keys()].map((s) => s.close()));
        await maker.shutdown?.();
      })();
      return closing;
    },
  };
}
