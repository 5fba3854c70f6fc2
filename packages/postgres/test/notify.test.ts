import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresStore,
  listenerRegistrationSql,
  listenerUnregistrationSql,
  notificationChannels,
  type PostgresStore,
  parseEventsNotification,
  parseQueueNotification,
} from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

function withoutReadable<T extends { readable?: boolean }>(n: T | undefined): Omit<T, 'readable'> | undefined {
  if (n === undefined) return undefined;
  const { readable: _, ...rest } = n;
  return rest;
}

/** A dedicated listening connection that records every notification of a schema's two channels. */
async function listenTo(schema: string) {
  const client = new pg.Client({ connectionString: fx.url });
  await client.connect();
  const seen: { channel: string; payload: string }[] = [];
  client.on('notification', (n) => seen.push({ channel: n.channel, payload: n.payload ?? '' }));
  const channels = notificationChannels(schema);
  await client.query(`listen "${channels.events}"`);
  await client.query(`listen "${channels.queue}"`);
  // Registered, as a @strata/realtime listener does: stores in the default mode notify only then.
  const id = randomUUID();
  await client.query(listenerRegistrationSql(schema, id));
  return {
    channels,
    seen,
    /** Waits until a marker notification sent after the writes arrives: everything before it has too. */
    async settle() {
      const marker = `marker-${Math.random()}`;
      await fx.pool.query(`select pg_notify($1, $2)`, [channels.events, marker]);
      const deadline = Date.now() + 5000;
      while (!seen.some((n) => n.payload === marker)) {
        if (Date.now() > deadline) throw new Error('the marker notification did not arrive');
        await new Promise((r) => setTimeout(r, 5));
      }
      const out = seen.splice(0).filter((n) => n.payload !== marker);
      return {
        // `readable` depends on transactions elsewhere on the server (other test files): checked on its own.
        events: out
          .filter((n) => n.channel === channels.events)
          .map((n) => ({
            raw: n.payload,
            readable: parseEventsNotification(n.payload)?.readable,
            parsed: withoutReadable(parseEventsNotification(n.payload)),
          })),
        queue: out.filter((n) => n.channel === channels.queue).map((n) => ({ raw: n.payload, parsed: parseQueueNotification(n.payload) })),
      };
    },
    unregister: () => client.query(listenerUnregistrationSql(schema, id)),
    close: () => client.end(),
  };
}

describe('channel names', () => {
  it('are fixed per schema: lowercase, at most 63 bytes, distinct for schemas that differ only in case', () => {
    expect(notificationChannels('strata')).toEqual({ events: 'strata_events', queue: 'strata_queue' });
    const long = `s${'x'.repeat(62)}`;
    const upper = notificationChannels('Billing');
    for (const c of [...Object.values(notificationChannels(long)), ...Object.values(upper)]) {
      expect(c).toBe(c.toLowerCase());
      expect(Buffer.byteLength(c)).toBeLessThanOrEqual(63);
    }
    expect(upper.events).not.toBe(notificationChannels('billing').events);
    expect(notificationChannels(long).events).not.toBe(notificationChannels(`${long.slice(0, 62)}y`).events);
  });
});

describe('notifications sent by the database at commit', () => {
  let store: PostgresStore;
  let listener: Awaited<ReturnType<typeof listenTo>>;
  beforeAll(async () => {
    store = await createPostgresStore(fx.url, { schema: fx.schemaName() });
    listener = await listenTo(store.schema);
  });
  afterAll(async () => {
    await listener.close();
    await store.close();
  });

  it('one per committing transaction and channel, carrying the last position, stream and type, and every queue', async () => {
    let last = 0n;
    await store.transaction(async (tx) => {
      await tx.events.append('a', [{ type: 'A1', data: {} }]);
      await tx.events.append('b', [
        { type: 'B1', data: {} },
        { type: 'B2', data: {} },
      ]);
      last = (await tx.events.append('c', [{ type: 'C1', data: {} }])).lastPosition;
      await tx.queue.send('q1', [{ body: 1 }, { body: 2 }]);
      await tx.queue.send('q2', { body: 3 });
      await tx.queue.send('q1', { body: 4 });
    });
    const got = await listener.settle();
    expect(got.events.map((n) => n.parsed)).toEqual([{ position: last, streamId: 'c', type: 'C1' }]);
    expect(got.queue.map((n) => n.parsed)).toEqual([{ queues: ['q1', 'q2'] }]);
  });

  it('one per plain append and send (each its own transaction); none for reads, receives, acks or failed appends', async () => {
    const { lastPosition } = await store.events.append('d', [
      { type: 'D1', data: {} },
      { type: 'D2', data: {} },
    ]);
    await store.queue.send('q3', { body: 1 });
    await store.queue.send('q3', [{ body: 2, delayMs: 60_000 }, { body: 3 }]);
    let got = await listener.settle();
    expect(got.events.map((n) => n.parsed)).toEqual([{ position: lastPosition, streamId: 'd', type: 'D2' }]);
    expect(got.queue.map((n) => n.parsed)).toEqual([{ queues: ['q3'] }, { queues: ['q3'] }]);

    const [m] = await store.queue.receive('q3', { max: 1 });
    await store.queue.ack(m?.receipt ?? '');
    for await (const _ of store.events.readAll()) void _;
    await expect(store.events.append('d', [{ type: 'D3', data: {} }], { expectedVersion: 0 })).rejects.toThrow();
    got = await listener.settle();
    expect(got).toEqual({ events: [], queue: [] });
  });

  it('none when the transaction rolls back; a rolled-back savepoint takes its note with it', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.events.append('e', [{ type: 'E1', data: {} }]);
        await tx.queue.send('q4', { body: 1 });
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await listener.settle()).toEqual({ events: [], queue: [] });

    const db = store.db;
    let kept = 0n;
    await db.transaction(async (tx) => {
      const joined = store.join(tx);
      await tx
        .transaction(async (inner) => {
          await store.join(inner).events.append('f', [{ type: 'Gone', data: {} }]);
          await store.join(inner).queue.send('gone', { body: 1 });
          throw new Error('roll back the savepoint');
        })
        .catch(() => undefined);
      kept = (await joined.events.append('g', [{ type: 'Kept', data: {} }])).lastPosition;
      await joined.queue.send('kept', { body: 1 });
    });
    const got = await listener.settle();
    expect(got.events.map((n) => n.parsed)).toEqual([{ position: kept, streamId: 'g', type: 'Kept' }]);
    expect(got.queue.map((n) => n.parsed)).toEqual([{ queues: ['kept'] }]);
  });

  it('writes through join(tx) notify when the application commits, not before', async () => {
    const client = await fx.pool.connect();
    try {
      const { drizzle } = await import('drizzle-orm/node-postgres');
      const db = drizzle(client);
      let position = 0n;
      await db.transaction(async (tx) => {
        position = (await store.join(tx as never).events.append('h', [{ type: 'H1', data: {} }])).lastPosition;
        await store.join(tx as never).queue.send('jq', { body: 1 });
        expect(await listener.settle()).toEqual({ events: [], queue: [] });
      });
      const got = await listener.settle();
      expect(got.events.map((n) => n.parsed)).toEqual([{ position, streamId: 'h', type: 'H1' }]);
      expect(got.queue.map((n) => n.parsed)).toEqual([{ queues: ['jq'] }]);
    } finally {
      client.release();
    }
  });

  it('says whether the events are readable at once: not while an older transaction still runs', async () => {
    const older = await fx.pool.connect();
    try {
      await older.query('begin');
      await older.query('select pg_current_xact_id()');
      await store.events.append('held', [{ type: 'H', data: {} }]);
      const got = await listener.settle();
      expect(got.events.map((n) => n.readable)).toEqual([false]);
    } finally {
      await older.query('rollback');
      older.release();
    }
    await store.events.append('free', [{ type: 'F', data: {} }]);
    expect((await listener.settle()).events.map((n) => typeof n.readable)).toEqual(['boolean']);
  });

  it('a transaction that sets its constraints IMMEDIATE is still announced (with a bare "read again")', async () => {
    const db = store.db;
    await db.transaction(async (tx) => {
      await tx.execute(sql`set constraints all immediate`);
      await store.join(tx).events.append('imm-a', [{ type: 'A', data: {} }]);
      await store.join(tx).events.append('imm-b', [{ type: 'B', data: {} }]);
      await store.join(tx).queue.send('imm', { body: 1 });
    });
    const got = await listener.settle();
    expect(got.events).toHaveLength(1);
    expect(got.events[0]?.parsed).toBeUndefined(); // no position: readers read again from where they are
    expect(got.queue.map((n) => n.parsed)).toEqual([{ queues: ['imm'] }]);
  });

  it('nacks, redrives and sends with dedup ids notify their queue', async () => {
    await store.queue.send('rq', [{ body: 1, dedupId: 'x' }, { body: 2 }]);
    await store.queue.send('rq', { body: 1, dedupId: 'x' });
    expect((await listener.settle()).queue.map((n) => n.parsed)).toEqual([{ queues: ['rq'] }, { queues: ['rq'] }]);
    const [m] = await store.queue.receive('rq', { max: 1 });
    await store.queue.nack(m?.receipt ?? '', { delayMs: 0 });
    expect((await listener.settle()).queue.map((n) => n.parsed)).toEqual([{ queues: ['rq'] }]);
    const [again] = await store.queue.receive('rq', { max: 1 });
    await store.queue.nack(again?.receipt ?? '', { deadLetter: true });
    expect((await listener.settle()).queue).toEqual([]);
    expect(await store.queue.redrive('rq')).toBe(1);
    expect((await listener.settle()).queue.map((n) => n.parsed)).toEqual([{ queues: ['rq'] }]);
  });

  it('hostile stream ids, types and queue names travel intact, never in a channel name, under 8000 bytes', async () => {
    const hostile = [
      `x'); drop table "${store.schema}".events; --`,
      `"; notify strata_events, 'pwned`,
      '🙂'.repeat(255),
      '\u0001\u001f\\"\''.repeat(51),
      'é'.repeat(255),
      'a'.repeat(255),
    ];
    for (const name of hostile) {
      const { lastPosition } = await store.events.append(name, [{ type: name, data: { name } }]);
      await store.queue.send(name, { body: name });
      const got = await listener.settle();
      expect(got.events.map((n) => n.parsed)).toEqual([{ position: lastPosition, streamId: name, type: name }]);
      expect(got.queue.map((n) => n.parsed)).toEqual([{ queues: [name] }]);
      for (const n of [...got.events, ...got.queue]) expect(Buffer.byteLength(n.raw)).toBeLessThan(8000);
    }
    // Many long queue names in one transaction: the note says "every queue" rather than grow.
    const names = Array.from({ length: 40 }, (_, i) => `${String.fromCharCode(65 + i)}${'🙂'.repeat(254)}`);
    await store.transaction(async (tx) => {
      for (const name of names) await tx.queue.send(name, { body: 1 });
    });
    const got = await listener.settle();
    expect(got.queue.map((n) => n.parsed)).toEqual([{ queues: null }]);
  });
});

describe('the default mode: only while a listener is registered', () => {
  it('sends nothing while nobody is registered (or registrations expired); notify: true sends all the same', async () => {
    const schema = fx.schemaName();
    const store = await createPostgresStore(fx.db, { schema });
    const always = await createPostgresStore(fx.db, { schema, notify: true, migrate: false });
    const listener = await listenTo(schema);
    await store.events.append('a', [{ type: 'T', data: {} }]);
    await store.queue.send('q', { body: 1 });
    expect((await listener.settle()).events).toHaveLength(1);
    await listener.unregister();
    await store.events.append('a', [{ type: 'T', data: {} }]);
    await store.queue.send('q', { body: 1 });
    await store.transaction(async (tx) => {
      await tx.events.append('a', [{ type: 'T', data: {} }]);
      await tx.queue.send('q', [{ body: 1 }, { body: 2 }]);
    });
    expect(await listener.settle()).toEqual({ events: [], queue: [] });
    await always.events.append('a', [{ type: 'Always', data: {} }]);
    await always.queue.send('q', { body: 1 });
    const got = await listener.settle();
    expect(got.events.map((n) => n.parsed?.type)).toEqual(['Always']);
    expect(got.queue).toHaveLength(1);
    // An expired registration counts for nothing.
    await fx.db.execute(sql.raw(`insert into "${schema}".listeners (id, expires_at) values ('${randomUUID()}', now() - interval '1 second')`));
    await store.events.append('a', [{ type: 'T', data: {} }]);
    expect(await listener.settle()).toEqual({ events: [], queue: [] });
    await listener.close();
    await store.close();
    await always.close();
  });
});

describe('notify: false', () => {
  it('sends nothing for the store’s writes, in or out of a transaction', async () => {
    const schema = fx.schemaName();
    const loud = await createPostgresStore(fx.db, { schema });
    const quiet = await createPostgresStore(fx.db, { schema, notify: false, migrate: false });
    const listener = await listenTo(schema);
    await quiet.events.append('s', [{ type: 'T', data: {} }]);
    await quiet.queue.send('q', { body: 1 });
    await quiet.transaction(async (tx) => {
      await tx.events.append('s', [{ type: 'T', data: {} }]);
      await tx.queue.send('q', [{ body: 1 }, { body: 2 }]);
    });
    // Not even a queued trigger: with constraints IMMEDIATE one would fire (and announce) at once.
    await quiet.db.transaction(async (tx) => {
      await tx.execute(sql`set constraints all immediate`);
      await quiet.join(tx).events.append('s', [{ type: 'T', data: {} }]);
    });
    expect(await listener.settle()).toEqual({ events: [], queue: [] });
    await loud.events.append('s', [{ type: 'Loud', data: {} }]);
    expect((await listener.settle()).events).toHaveLength(1);
    await expect(createPostgresStore(fx.db, { schema, notify: 'yes' as never })).rejects.toMatchObject({ code: 'VALIDATION' });
    expect((await createPostgresStore(fx.db, { schema, notify: 'auto', migrate: false })).schema).toBe(schema);
    await listener.close();
    await loud.close();
    await quiet.close();
  });
});
