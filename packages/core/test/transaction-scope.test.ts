import { describe, expect, it } from 'vitest';
import { createMemoryStore, isStrataError, TransactionScope } from '../src/index.js';

const evts = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'T', data: { i } }));

describe('TransactionScope', () => {
  it('tracks the async context in Node', () => {
    expect(TransactionScope.tracksAsyncContext).toBe(true);
  });

  it('refuses calls from inside a running callback, and allows what the callback left behind once it settled', async () => {
    const scope = new TransactionScope();
    let later: Promise<void> | undefined;
    await scope.run(async () => {
      expect(() => scope.check('events.append')).toThrow(/store\.events\.append was called inside/);
      later = new Promise((resolve, reject) =>
        setTimeout(() => {
          try {
            scope.check('events.append');
            resolve();
          } catch (error) {
            reject(error);
          }
        }, 20),
      );
    });
    await later;
    expect(() => scope.check('events.append')).not.toThrow();
  });

  it('without an async context, bounds the wait of a call made while a transaction runs', async () => {
    const scope = new TransactionScope({ trackAsyncContext: false, fallbackWaitMs: 50 });
    let called = false;
    const started = Date.now();
    const error = await scope.run(() => scope.admit('events.append', async () => (called = true))).catch((e: unknown) => e);
    expect(isStrataError(error, 'TIMEOUT')).toBe(true);
    expect(String(error)).toContain('tx argument');
    expect(called).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    // Unrelated calls wait for the transaction to end, then run.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = scope.run(() => gate);
    const waiting = scope.admit('events.append', async () => 'ran');
    release();
    await tx;
    expect(await waiting).toBe('ran');
  });

  it("refuses a store's own calls from a nested transaction of another store, and allows the other store", async () => {
    const a = createMemoryStore();
    const b = createMemoryStore();
    await a.transaction(async (txA) => {
      await txA.events.append('a', evts(1));
      await b.events.append('b', evts(1));
      await b.transaction(async (txB) => {
        await txB.events.append('b', evts(1));
        const error = await a.events.append('a', evts(1)).catch((e: unknown) => e);
        expect(isStrataError(error, 'VALIDATION')).toBe(true);
      });
    });
    expect((await a.events.streamInfo('a'))?.version).toBe(1);
    expect((await b.events.streamInfo('b'))?.version).toBe(2);
  });

  it('refuses close() inside the transaction, and the store still closes afterwards', async () => {
    const store = createMemoryStore();
    const error = await store.transaction(() => store.close()).catch((e: unknown) => e);
    expect(isStrataError(error, 'VALIDATION')).toBe(true);
    await store.events.append('s', evts(1));
    await store.close();
    expect(isStrataError(await store.events.streamInfo('s').catch((e: unknown) => e), 'CLOSED')).toBe(true);
  });
});
