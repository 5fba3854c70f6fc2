import { StoreClosedError, StrataError, type StrataStore } from '@strata/core';
import { onClose } from './schema-pool.js';
import type { AdapterName, TestStores } from './stores.js';

/** The longest a store's reset may take after its test; past it, the store's data is abandoned. */
export const RELEASE_TIMEOUT_MS = 10_000;

/** `work`, or a rejection once `ms` have passed: the work itself goes on, unawaited. */
export function bounded(work: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** What an adapter's source does; {@link leasedStores} adds the bookkeeping every source shares. */
export interface StoreMaker<S extends StrataStore, O, H> {
  adapter: AdapterName;
  /** The expensive part, once (later calls return the same promise). */
  prepare?(): Promise<unknown>;
  /** A new store and the handle its siblings and its release need (a schema, a file…). */
  open(options: O | undefined): Promise<{ store: S; handle: H }>;
  /** A second store on the handle's data; absent where data cannot be shared. */
  sibling?(handle: H, options: O | undefined): Promise<S>;
  /** Why there are no siblings, and what to do instead: the end of the `NOT_SUPPORTED` message. */
  noSiblings?: string;
  /** Called once every store on the handle is closed: make its data reusable, or delete it. */
  release?(handle: H): Promise<void>;
  /**
   * Called instead when `release` failed or did not finish within {@link RELEASE_TIMEOUT_MS} (a test left
   * a transaction open, holding the locks the reset needs): never hand the handle's data out again.
   */
  abandon?(handle: H): void;
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
        if (maker.release === undefined) return;
        try {
          await bounded(maker.release(handle), RELEASE_TIMEOUT_MS);
        } catch {
          maker.abandon?.(handle);
        }
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
      if (lease === undefined) throw new StrataError('CLOSED', 'testStores.sibling: the store is closed, or was not made by this source');
      if (maker.sibling === undefined)
        throw new StrataError(
          'NOT_SUPPORTED',
          `testStores.sibling: ${maker.adapter} stores cannot share their data with a second store${maker.noSiblings ?? ''}`,
        );
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
