import { describe, expect, it } from 'vitest';
import { aggregateStream, createMemoryStore, createRepository, createUpcasters, type EventStore, type StoredEvent, type StrataStore } from '../src/index.js';

type Counter = { total: number; count: number };
const evolve = (s: Counter, e: StoredEvent): Counter => ({ total: s.total + ((e.data as { n: number }).n ?? 0), count: s.count + 1 });
const initialState = (): Counter => ({ total: 0, count: 0 });
const add = (n: number) => () => [{ type: 'Added', data: { n } }];

/** A store whose event reads are counted, to see how much a load replays. */
function counting(store: StrataStore): { store: StrataStore; read: () => number } {
  let read = 0;
  const events: EventStore = {
    ...store.events,
    async *readStream(id, o) {
      for await (const e of store.events.readStream(id, o)) {
        read++;
        yield e;
      }
    },
  };
  return { store: { ...store, events }, read: () => read };
}

describe('aggregate repository', () => {
  it('snapshots every 50 events by default and loads from the newest snapshot', async () => {
    const base = createMemoryStore();
    const repo = createRepository(base, { initialState, evolve });
    for (let i = 1; i <= 120; i++) await repo.update('c', add(i));
    expect((await base.snapshots.load('c'))?.version).toBe(100);
    expect((await base.snapshots.load('c', { maxVersion: 99 }))?.version).toBe(50);

    const { store, read } = counting(base);
    const loaded = await createRepository(store, { initialState, evolve }).load('c');
    expect(loaded).toEqual({ state: { total: (120 * 121) / 2, count: 120 }, version: 120 });
    expect(read()).toBe(20);
  });

  it('snapshots when one append crosses a multiple of snapshotEvery', async () => {
    const store = createMemoryStore();
    const repo = createRepository(store, { initialState, evolve, snapshotEvery: 10 });
    await repo.append(
      'c',
      Array.from({ length: 25 }, (_, i) => ({ type: 'Added', data: { n: i } })),
      { expectedVersion: 'no_stream' },
    );
    expect((await store.snapshots.load('c'))?.version).toBe(25);
  });

  it('ignores snapshots of another state schema version', async () => {
    const base = createMemoryStore();
    for (let i = 1; i <= 10; i++) await createRepository(base, { initialState, evolve, snapshotEvery: 5 }).update('c', add(1));
    const { store, read } = counting(base);
    const v2 = createRepository(store, { initialState, evolve, snapshotEvery: 5, snapshotSchemaVersion: 2 });
    expect((await v2.load('c')).state).toEqual({ total: 10, count: 10 });
    expect(read()).toBe(10);
  });

  it('retries a decision after a concurrency conflict', async () => {
    const store = createMemoryStore();
    const repo = createRepository(store, { initialState, evolve });
    let decisions = 0;
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        repo.update(
          'c',
          (s) => {
            decisions++;
            return [{ type: 'Added', data: { n: s.count + 1 } }];
          },
          { retries: 10 },
        ),
      ),
    );
    expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3, 4, 5]);
    expect((await repo.load('c')).state).toEqual({ total: 15, count: 5 });
    expect(decisions).toBeGreaterThanOrEqual(5);
  });

  it('gives up after the allowed retries', async () => {
    const store = createMemoryStore();
    const repo = createRepository(store, { initialState, evolve });
    await expect(
      repo.update(
        'c',
        async () => {
          await store.events.append('c', [{ type: 'Added', data: { n: 1 } }]); // someone always gets in first
          return [{ type: 'Added', data: { n: 1 } }];
        },
        { retries: 2 },
      ),
    ).rejects.toMatchObject({ code: 'CONCURRENCY' });
  });

  it('loads as of a time or a version (temporal queries)', async () => {
    const store = createMemoryStore();
    const repo = createRepository(store, { initialState, evolve, snapshotEvery: 2 });
    await repo.update('c', add(1));
    await repo.update('c', add(2));
    const [second] = await (async () => {
      const out: StoredEvent[] = [];
      for await (const e of store.events.readStream('c', { direction: 'backward', limit: 1 })) out.push(e);
      return out;
    })();
    await new Promise((r) => setTimeout(r, 5));
    await repo.update('c', add(4));
    expect((await repo.load('c', { asOf: second?.recordedAt ?? new Date() })).state.total).toBe(3);
    expect((await repo.load('c', { toVersion: 1 })).state.total).toBe(1);
    expect((await aggregateStream(store, 'c', { initialState, evolve, toVersion: 2 })).state.total).toBe(3);
  });

  it('applies upcasters before evolve', async () => {
    const store = createMemoryStore();
    await store.events.append('c', [
      { type: 'AddedOld', data: { value: '5' }, schemaVersion: 1 },
      { type: 'Added', data: { n: 1 } },
    ]);
    const upcasters = createUpcasters([
      { type: 'AddedOld', fromSchemaVersion: 1, upcast: (e) => ({ data: { value: Number((e.data as { value: string }).value) } }) },
      { type: 'AddedOld', fromSchemaVersion: 2, upcast: (e) => ({ type: 'Added', data: { n: (e.data as { value: number }).value } }) },
    ]);
    const { state } = await aggregateStream(store, 'c', { initialState, evolve, upcasters });
    expect(state).toEqual({ total: 6, count: 2 });
  });

  it('refuses ambiguous or endless upcaster chains', () => {
    const same = { type: 'A', fromSchemaVersion: 1, upcast: () => ({ data: 1 }) };
    expect(() => createUpcasters([same, same])).toThrow(/twice/);
    const loop = createUpcasters([{ type: 'A', fromSchemaVersion: 1, upcast: () => ({ data: 1, schemaVersion: 1 }) }]);
    const e = { id: 'x', streamId: 's', version: 1, position: 1n, type: 'A', data: 0, metadata: {}, schemaVersion: 1, recordedAt: new Date() };
    expect(() => loop.apply(e)).toThrow(/does not end/);
  });
});
