import { describe, expect, it } from 'vitest';
import { eventually, sleep } from '../src/conformance/helpers.js';
import { consume, createMemoryStore, createUpcasters, type StoredEvent, subscribe } from '../src/index.js';

const until = (check: () => boolean | Promise<boolean>, ms = 5000) => eventually(check, ms, 'the condition');

describe('subscribe', () => {
  it('applies upcasters before the handler', async () => {
    const store = createMemoryStore();
    await store.events.append('s', [{ type: 'Renamed', data: { old: 1 }, schemaVersion: 1 }]);
    const upcasters = createUpcasters([
      { type: 'Renamed', fromSchemaVersion: 1, upcast: (e) => ({ type: 'Named', data: { name: (e.data as { old: number }).old } }) },
    ]);
    const got: StoredEvent[] = [];
    const sub = subscribe(store, { handler: (e) => void got.push(e), upcasters });
    await until(() => got.length === 1);
    await sub.stop();
    expect([got[0]?.type, got[0]?.data, got[0]?.schemaVersion]).toEqual(['Named', { name: 1 }, 2]);
  });

  it('takes over a named consumer whose holder died without releasing its lease', async () => {
    const store = createMemoryStore();
    await store.events.append('s', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    // A crashed instance: it holds the lease and checkpointed the first event, then vanished.
    await store.checkpoints.acquireLease('proj', { owner: 'dead-instance', ttlMs: 150 });
    const [first] = await (async () => {
      const out: StoredEvent[] = [];
      for await (const e of store.events.readAll({ limit: 1 })) out.push(e);
      return out;
    })();
    await store.checkpoints.set('proj', first?.position ?? 0n);
    const got: string[] = [];
    const sub = subscribe(store, { from: { consumer: 'proj' }, handler: (e) => void got.push(e.type), leaseTtlMs: 90 });
    await sleep(60);
    expect(sub.active).toBe(false);
    await until(() => got.length === 1, 3000);
    await sub.stop();
    expect(got).toEqual(['B']);
  });

  it('gives no transaction to anonymous subscriptions, and one to named consumers', async () => {
    const store = createMemoryStore();
    await store.events.append('s', [{ type: 'A', data: {} }]);
    const seen: boolean[] = [];
    const a = subscribe(store, { handler: (_e, ctx) => void seen.push(ctx.tx !== undefined) });
    const b = subscribe(store, { from: { consumer: 'c' }, handler: (_e, ctx) => void seen.push(ctx.tx !== undefined) });
    await until(() => seen.length === 2);
    await Promise.all([a.stop(), b.stop()]);
    expect(seen.sort()).toEqual([false, true]);
  });

  it('checkpoints without transactions when the store has none (at-least-once)', async () => {
    const store = createMemoryStore({ disable: ['transactions'] });
    await store.events.append('s', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    const got: string[] = [];
    const sub = subscribe(store, { from: { consumer: 'c' }, handler: (e, ctx) => void got.push(`${e.type}:${ctx.tx === undefined}`) });
    await until(() => got.length === 2);
    await sub.stop();
    expect(got).toEqual(['A:true', 'B:true']);
    expect((await store.checkpoints.get('c'))?.position).toBe(2n);
  });

  it('without transactions, a failure checkpoints the events handled before it, and stops there', async () => {
    const store = createMemoryStore({ disable: ['transactions'] });
    await store.events.append(
      's',
      [1, 2, 3, 4].map((n) => ({ type: 'N', data: { n } })),
    );
    const seen: number[] = [];
    const sub = subscribe(store, {
      from: { consumer: 'c' },
      handler: (e) => {
        if ((e.data as { n: number }).n === 3) throw new Error('no');
        seen.push((e.data as { n: number }).n);
      },
    });
    await expect(sub.done).rejects.toThrow('no');
    expect(seen).toEqual([1, 2]);
    expect((await store.checkpoints.get('c'))?.position).toBe(2n);
  });

  it('a batch of slow handlers commits early instead of holding its transaction for the whole batch', async () => {
    const store = createMemoryStore();
    await store.events.append(
      's',
      [1, 2, 3, 4, 5, 6].map((n) => ({ type: 'N', data: { n } })),
    );
    const txs: unknown[] = [];
    const sub = subscribe(store, {
      from: { consumer: 'slow' },
      handler: async (_e, { tx }) => {
        txs.push(tx);
        await sleep(120);
      },
    });
    await until(async () => (await store.checkpoints.get('slow'))?.position === 6n, 10_000);
    await sub.stop();
    expect(txs).toHaveLength(6);
    // 6 × 120 ms is well past the 250 ms a batch's transaction may run: at least two commits.
    expect(new Set(txs).size).toBeGreaterThanOrEqual(2);
    expect(new Set(txs).size).toBeLessThan(6);
  });

  it('stop() during a batch stops after the event in hand and commits what was handled', async () => {
    const store = createMemoryStore();
    await store.events.append(
      's',
      Array.from({ length: 100 }, (_, n) => ({ type: 'N', data: { n } })),
    );
    let handled = 0;
    const sub = subscribe(store, {
      from: { consumer: 'c' },
      handler: async () => {
        handled++;
        await sleep(2);
      },
    });
    await until(() => handled >= 5);
    await sub.stop();
    const at = handled;
    expect(at).toBeLessThan(20);
    expect((await store.checkpoints.get('c'))?.position).toBe(BigInt(at));
    await sleep(30);
    expect(handled).toBe(at);
  });

  it('an upcaster that throws never lets the checkpoint pass its event (store without transactions)', async () => {
    const store = createMemoryStore({ disable: ['transactions'] });
    await store.events.append(
      's',
      [1, 2, 3, 4].map((n) => ({ type: n === 3 ? 'Broken' : 'N', data: { n } })),
    );
    const upcasters = createUpcasters([
      {
        type: 'Broken',
        fromSchemaVersion: 1,
        upcast: () => {
          throw new Error('cannot upcast');
        },
      },
    ]);
    const sub = subscribe(store, { from: { consumer: 'c' }, upcasters, handler: () => undefined });
    await expect(sub.done).rejects.toThrow('cannot upcast');
    expect((await store.checkpoints.get('c'))?.position).toBe(2n);
  });

  it('close() stops a waiting worker and subscription at once, not at their next poll', async () => {
    const store = createMemoryStore();
    const worker = consume(store, 'q', () => undefined, { pollIntervalMs: 60_000 });
    const sub = subscribe(store, { handler: () => undefined, pollIntervalMs: 60_000 });
    await sleep(50);
    const started = Date.now();
    await store.close();
    await expect(worker).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(sub.done).rejects.toMatchObject({ code: 'CLOSED' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects bad options at once', () => {
    const store = createMemoryStore();
    expect(() => subscribe(store, { handler: () => undefined, types: [] })).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => subscribe(store, { handler: () => undefined, from: 'middle' as never })).toThrow(/options\.from/);
    expect(() => subscribe(store, { handler: () => undefined, from: -1n })).toThrow(/options\.from/);
  });
});
