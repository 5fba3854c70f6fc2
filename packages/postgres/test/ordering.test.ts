import { compareNames, type NewEvent, type StoredEvent } from '@strata/core';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresStore, type PostgresStore } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase(24);
const open: PostgresStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function store(): Promise<PostgresStore> {
  const s = await createPostgresStore(fx.db, { schema: fx.schemaName() });
  open.push(s);
  return s;
}
const evt = (type: string): NewEvent => ({ type, data: {} });
async function collect(it: AsyncIterable<StoredEvent>) {
  const out: StoredEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}
function latch<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('readAll is gap-safe on PostgreSQL', () => {
  it('does not pass an open transaction’s position until it commits, then returns it in order', async () => {
    const s = await store();
    await s.events.append('before', [evt('Before')]);
    const head = await s.events.headPosition();

    const appended = latch<bigint>();
    const gate = latch();
    const a = s.transaction(async (tx) => {
      const r = await tx.events.append('a', [evt('A')]);
      appended.resolve(r.firstPosition);
      await gate.promise;
    });
    const p = await appended.promise; // A holds position p, uncommitted
    const b = await s.events.append('b', [evt('B')]); // B commits after it
    expect(b.firstPosition).toBeGreaterThan(p);

    expect(await collect(s.events.readAll({ after: head }))).toEqual([]);
    expect(await s.events.headPosition()).toBe(head);

    gate.resolve();
    await a;
    const seen = await collect(s.events.readAll({ after: head }));
    expect(seen.map((e) => [e.streamId, e.position])).toEqual([
      ['a', p],
      ['b', b.firstPosition],
    ]);
  });

  it('holds back a later commit even when the open transaction appends after it (its id came first)', async () => {
    // The case a plain sequence gets wrong: A takes its transaction id (here by sending a message),
    // B appends and commits, and only then does A append. A's events must still come first.
    const s = await store();
    const head = await s.events.headPosition();
    const started = latch();
    const bDone = latch();
    const aAppended = latch<bigint>();
    const gate = latch();
    const a = s.transaction(async (tx) => {
      await tx.queue.send('q', { body: 'first write of A' });
      started.resolve();
      await bDone.promise;
      const r = await tx.events.append('a', [evt('A')]);
      aAppended.resolve(r.firstPosition);
      await gate.promise;
    });
    await started.promise;
    const b = await s.events.append('b', [evt('B')]);
    bDone.resolve();
    const pa = await aAppended.promise;
    expect(pa).toBeLessThan(b.firstPosition);
    expect(await collect(s.events.readAll({ after: head }))).toEqual([]);
    gate.resolve();
    await a;
    expect((await collect(s.events.readAll({ after: head }))).map((e) => e.streamId)).toEqual(['a', 'b']);
  });

  it('8 concurrent writers, 20,000 events: a tailing reader sees each exactly once, in position order', { timeout: 180_000 }, async () => {
    const s = await store();
    const writers = 8;
    const perWriter = 2500;
    let writing = true;
    const seen: bigint[] = [];
    let after = 0n;
    let reads = 0;
    const reader = (async () => {
      for (;;) {
        const stillWriting = writing;
        for await (const e of s.events.readAll({ after })) {
          seen.push(e.position);
          after = e.position;
        }
        reads++;
        if (!stillWriting) return;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) await s.events.append(`writer-${w}`, [{ type: 'Written', data: { w, i } }]);
      }),
    );
    writing = false;
    await reader;
    expect(seen.length).toBe(writers * perWriter);
    expect(new Set(seen).size).toBe(seen.length);
    for (let i = 1; i < seen.length; i++) expect(seen[i]! > seen[i - 1]!).toBe(true);
    expect(reads).toBeGreaterThan(10); // the reader really tailed while writes went on
    for (let w = 0; w < writers; w++) expect((await s.events.streamInfo(`writer-${w}`))?.version).toBe(perWriter);
  });
});

describe('concurrency on PostgreSQL', () => {
  it('16 concurrent appends with the same expected version: exactly one succeeds', async () => {
    const s = await store();
    await s.events.append('contended', [evt('Start')]);
    const tries = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => s.events.append('contended', [{ type: 'Try', data: { i } }], { expectedVersion: 1 })),
    );
    expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(1);
    for (const t of tries) if (t.status === 'rejected') expect(t.reason).toMatchObject({ code: 'CONCURRENCY', actualVersion: 2 });
    expect((await s.events.streamInfo('contended'))?.version).toBe(2);
  });

  it('4 connections receiving from one queue of 10,000 messages: each delivered once, none lost', { timeout: 120_000 }, async () => {
    const s = await store();
    const total = 10_000;
    for (let i = 0; i < total; i += 1000) {
      await s.queue.send(
        'work',
        Array.from({ length: 1000 }, (_, k) => ({ body: i + k })),
      );
    }
    const consumers = await Promise.all(Array.from({ length: 4 }, () => createPostgresStore(fx.url, { schema: s.schema, migrate: false, poolSize: 1 })));
    open.push(...consumers);
    const got = await Promise.all(
      consumers.map(async (c) => {
        const mine: number[] = [];
        for (;;) {
          const batch = await c.queue.receive('work', { max: 50, visibilityTimeoutMs: 60_000 });
          if (batch.length === 0) return mine;
          for (const d of batch) {
            mine.push(d.body as number);
            await c.queue.ack(d.receipt);
          }
        }
      }),
    );
    const all = got.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    for (const mine of got) expect(mine.length).toBeGreaterThan(0); // the work was really shared
    expect(await s.queue.stats('work')).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, deadLettered: 0 });
  });
});

describe('checkpoints.list orders bytewise on PostgreSQL', () => {
  it('whatever the collation of the consumer column (a linguistic ICU one here; the test server is C)', async () => {
    const schema = fx.schemaName();
    const s = await createPostgresStore(fx.db, { schema });
    open.push(s);
    await fx.db.execute(sql.raw(`alter table "${schema}".checkpoints alter column consumer type text collate "und-x-icu"`));
    const names = ['b', 'B', 'a_b', 'a-b', 'ab', 'é', 'z', '\uff21', '\u{1f600}'];
    for (const [i, name] of names.entries()) await s.checkpoints.set(name, BigInt(i));
    const listed = (await s.checkpoints.list()).map((c) => c.consumer);
    expect(listed).toEqual(['B', 'a-b', 'a_b', 'ab', 'b', 'z', 'é', '\uff21', '\u{1f600}']);
    expect(listed).toEqual([...names].sort(compareNames));
  });
});
