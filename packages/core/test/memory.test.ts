import { describe, expect, it } from 'vitest';
import { createMemoryStore, isStrataError } from '../src/index.js';

describe('createMemoryStore', () => {
  it('dead-letters after 5 deliveries by default', async () => {
    const store = createMemoryStore();
    await store.queue.send('q', { body: 1 });
    for (let i = 1; i <= 5; i++) {
      const [d] = await store.queue.receive('q');
      expect(d?.attempt).toBe(i);
      await store.queue.nack(d?.receipt ?? '');
    }
    expect((await store.queue.stats('q')).deadLettered).toBe(1);
  });

  it('keeps 3 snapshots per stream by default', async () => {
    const store = createMemoryStore();
    for (let v = 1; v <= 5; v++) await store.snapshots.save('s', { version: v, state: v });
    expect((await store.snapshots.load('s', { maxVersion: 3 }))?.version).toBe(3);
    expect(await store.snapshots.load('s', { maxVersion: 2 })).toBeNull();
  });

  it('rejects out-of-range options', () => {
    for (const bad of [{ readPageSize: 0 }, { snapshotsToKeep: 1.5 }, { maxAttempts: -1 }]) {
      expect(() => createMemoryStore(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    }
  });

  it('lets writes outside a transaction wait for it instead of interleaving', async () => {
    const store = createMemoryStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = store.transaction(async (t) => {
      await t.events.append('s', [{ type: 'InTx', data: {} }]);
      await gate;
    });
    const outside = store.events.append('s', [{ type: 'Outside', data: {} }], { expectedVersion: 1 });
    await new Promise((r) => setTimeout(r, 20));
    release();
    await tx;
    expect((await outside).version).toBe(2);
  });

  it('switches capabilities off on request', async () => {
    const store = createMemoryStore({ disable: ['queue'] });
    expect(store.capabilities.queue).toBe(false);
    expect(store.capabilities.transactions).toBe(true);
    await expect(store.queue.send('q', { body: 1 })).rejects.toSatisfy((e) => isStrataError(e, 'NOT_SUPPORTED'));
  });
});
