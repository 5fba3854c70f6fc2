import { inspect } from 'node:util';
import { type ConnectionError, isStrataError, MAX_PAYLOAD_BYTES, type StrataError } from '@strata/core';
import { recordingLogger, sleep, startChaosProxy, terminateBackends } from '@strata/testing/server';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { type AnyPgDatabase, createPostgresStore, type PostgresStore, rowsOf } from '../src/index.js';
import { safeCause } from '../src/map-pg-error.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();
const admin = inject('strataPostgresUrl');
const database = new URL(fx.url).pathname.slice(1);

interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}
const poolOf = (store: PostgresStore) => (store.db as unknown as { $client: PoolCounts }).$client;
const codeOf = (e: unknown) => (isStrataError(e) ? e.code : `not a StrataError: ${String(e)}`);

async function open(url: string, options: Parameters<typeof createPostgresStore>[1] = {}) {
  const store = await createPostgresStore(url, { schema: fx.schemaName(), ...options });
  onTestFinished(() => store.close());
  return store;
}

async function openThroughProxy(options: Parameters<typeof createPostgresStore>[1] = {}) {
  const proxy = await startChaosProxy(fx.url);
  onTestFinished(() => proxy.close());
  const store = await open(proxy.url, options);
  return { proxy, store };
}

/** Rows of a table of the store's schema, read behind its back. */
async function count(store: PostgresStore, table: string, where = 'true'): Promise<number> {
  const [row] = rowsOf<{ n: number }>(await fx.db.execute(sql.raw(`select count(*)::int as n from "${store.schema}".${table} where ${where}`)));
  return row?.n ?? -1;
}

describe('a backend killed while a transaction holds its connection', () => {
  it('rejects the transaction with CONNECTION instead of crashing the process, and the pool recovers', async () => {
    const store = await open(fx.url, { poolSize: 2 });
    const error = await store
      .transaction(async (tx) => {
        await tx.events.append('account-1', [{ type: 'Opened', data: {} }]);
        expect(await terminateBackends(admin, database)).toBeGreaterThan(0);
        await sleep(200); // the dead connection's 'error' event arrives while the application awaits
        await tx.events.append('account-1', [{ type: 'Deposited', data: { amount: 5 } }]);
      })
      .catch((e: unknown) => e);
    expect(codeOf(error)).toBe('CONNECTION');
    expect((error as StrataError).retryable).toBe(true);
    expect(await store.events.streamInfo('account-1')).toBeNull();
    // The broken client was destroyed, not pooled: the next calls get live connections.
    await store.events.append('account-1', [{ type: 'Opened', data: {} }]);
    await store.transaction(async (tx) => tx.events.append('account-1', [{ type: 'Deposited', data: { amount: 5 } }]));
    expect((await store.events.streamInfo('account-1'))?.version).toBe(2);
  });

  it('under a storm of backend kills, every transaction commits whole or rejects with CONNECTION', { timeout: 60_000 }, async () => {
    const store = await open(fx.url, { poolSize: 4 });
    const stopAt = Date.now() + 3000;
    const outcomes: { stream: string; ok: boolean; code?: string; outcomeUnknown?: boolean }[] = [];
    let kills = 0;
    const worker = async (w: number) => {
      for (let i = 0; Date.now() < stopAt; i++) {
        const stream = `w${w}-${i}`;
        try {
          await store.transaction(async (tx) => {
            await tx.events.append(stream, [{ type: 'First', data: { i } }], { expectedVersion: 'no_stream' });
            await sleep(Math.random() * 4);
            await tx.queue.send('outbox', { body: { stream } });
            await tx.events.append(stream, [{ type: 'Second', data: { i } }], { expectedVersion: 1 });
          });
          outcomes.push({ stream, ok: true });
        } catch (error) {
          outcomes.push({ stream, ok: false, code: codeOf(error), outcomeUnknown: (error as ConnectionError).outcomeUnknown });
        }
      }
    };
    const killer = async () => {
      while (Date.now() < stopAt) {
        await sleep(15 + Math.random() * 30);
        kills += await terminateBackends(admin, database);
      }
    };
    await Promise.all([...Array.from({ length: 6 }, (_, w) => worker(w)), killer()]);

    const failed = outcomes.filter((o) => !o.ok);
    expect(kills).toBeGreaterThan(10);
    expect(failed.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThan(0);
    expect(new Set(failed.map((o) => o.code))).toEqual(new Set(['CONNECTION']));
    for (const o of outcomes) {
      const version = (await store.events.streamInfo(o.stream))?.version ?? 0;
      const sent = await count(store, 'queue_messages', `body->>'stream' = '${o.stream}'`);
      // All or nothing: both events and the message, or none of them.
      expect([version, sent]).toEqual(version === 0 ? [0, 0] : [2, 1]);
      // What resolved is committed; what was rejected without an unknown outcome is not.
      if (o.ok) expect(version).toBe(2);
      else if (o.outcomeUnknown !== true) expect(version).toBe(0);
    }
    const pool = poolOf(store);
    expect(pool.totalCount).toBeLessThanOrEqual(4);
    expect(pool.waitingCount).toBe(0);
    await store.events.append('after-the-storm', [{ type: 'Calm', data: {} }]);
  });
});

describe('BEGIN on a connection that has just died', () => {
  it('leaks no client: 40 rounds with a pool of 2, then the pool is whole and idle and a call answers', { timeout: 60_000 }, async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 2 });
    const pool = poolOf(store);
    let failures = 0;
    let committed = 0;
    for (let round = 0; round < 40; round++) {
      // Two live idle connections, then the wire dies under both: the next thing each sends is BEGIN.
      await Promise.all([store.events.streamInfo('warm-a'), store.events.streamInfo('warm-b')]);
      proxy.cutOnNextWrite();
      // Every other round the server is down too, so the BEGIN cannot be repeated on a fresh connection.
      const down = round % 2 === 1;
      proxy.refuse(down);
      const results = await Promise.allSettled(
        [0, 1].map((k) => store.transaction(async (tx) => tx.events.append(`begin-${round}-${k}`, [{ type: 'A', data: {} }]))),
      );
      proxy.refuse(false);
      for (const r of results) {
        if (r.status === 'fulfilled') committed++;
        else {
          failures++;
          expect(codeOf(r.reason)).toBe('CONNECTION');
          expect((r.reason as ConnectionError).outcomeUnknown).toBe(false);
        }
      }
      // A BEGIN lost with a connection that died while idle is repeated once on a fresh one.
      expect(results.map((r) => r.status)).toEqual(down ? ['rejected', 'rejected'] : ['fulfilled', 'fulfilled']);
    }
    expect([committed, failures]).toEqual([40, 40]);
    expect(await count(store, 'events')).toBe(40);
    expect(pool.totalCount).toBeLessThanOrEqual(2);
    expect(pool.idleCount).toBe(pool.totalCount);
    expect(pool.waitingCount).toBe(0);
    await store.transaction(async (tx) => tx.events.append('answered', [{ type: 'A', data: {} }]));
    expect((await store.events.streamInfo('answered'))?.version).toBe(1);
  });

  it('leaks no client when backends are killed around checkouts and BEGINs, again and again', { timeout: 60_000 }, async () => {
    const store = await open(fx.url, { poolSize: 2 });
    const pool = poolOf(store);
    const codes: string[] = [];
    let kills = 0;
    for (let round = 0; round < 40; round++) {
      await Promise.all([store.events.streamInfo('warm-a'), store.events.streamInfo('warm-b')]);
      // The kill races the checkouts: it lands before, during or after each BEGIN, or mid-transaction.
      const kill = terminateBackends(admin, database);
      const results = await Promise.allSettled(
        [0, 1].map(async (k) => {
          await sleep(Math.random() * 3);
          await store.transaction(async (tx) => {
            await tx.events.append(`kill-${round}-${k}`, [{ type: 'A', data: {} }]);
            await sleep(Math.random() * 3);
            await tx.events.append(`kill-${round}-${k}`, [{ type: 'B', data: {} }]);
          });
        }),
      );
      kills += await kill;
      for (const r of results) if (r.status === 'rejected') codes.push(codeOf(r.reason));
    }
    // Whether a kill failed a transaction or only cost a repeated BEGIN is up to the race; what must
    // hold either way: only CONNECTION errors, and no client lost.
    expect(kills).toBeGreaterThan(0);
    expect(codes.filter((c) => c !== 'CONNECTION')).toEqual([]);
    expect(pool.totalCount).toBeLessThanOrEqual(2);
    expect(pool.idleCount).toBe(pool.totalCount);
    expect(pool.waitingCount).toBe(0);
    // The last kill has ended its backends, but an idle client's socket may not have been read yet: an
    // append sent down that dead wire would fail, rightly, with an unknown outcome. Reads first: one that
    // meets a connection that died idle is tried again on a new one, so these clear the pool.
    await Promise.all([store.events.streamInfo('clear-a'), store.events.streamInfo('clear-b')]);
    await store.events.append('answered', [{ type: 'A', data: {} }]);
  });
});

describe('a connection that dies in the same read that completes its checkout', () => {
  it('is caught, not an uncaught error event: the call fails or is repeated, and the process survives', async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 2 });
    await store.events.append('s', [{ type: 'A', data: {} }]);
    proxy.cutAll();
    proxy.fatalOnConnect(true);
    // Every new connection is told it is ready and that it is terminated, in one TCP read.
    for (const call of [
      () => store.events.streamInfo('s'),
      () => store.events.append('s', [{ type: 'B', data: {} }]),
      () => store.transaction(async (tx) => tx.events.append('s', [{ type: 'C', data: {} }])),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(codeOf(error)).toBe('CONNECTION');
      expect((error as ConnectionError).outcomeUnknown).toBe(false);
    }
    proxy.fatalOnConnect(false);
    expect((await store.events.streamInfo('s'))?.version).toBe(1);
    await store.events.append('s', [{ type: 'B', data: {} }]);
  });
});

describe('many stores on one pool the application owns', () => {
  it('add no listeners to the pool, and one at most to a client while they hold it', async () => {
    const pool = new pg.Pool({ connectionString: fx.url, max: 2 });
    pool.on('error', () => undefined);
    onTestFinished(() => pool.end());
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    onTestFinished(() => void process.off('warning', onWarning));
    const db = drizzle(pool) as unknown as AnyPgDatabase;
    const stores = await Promise.all(Array.from({ length: 12 }, () => createPostgresStore(db, { schema: fx.schemaName() })));
    for (const store of stores) await store.transaction(async (tx) => tx.events.append('s', [{ type: 'A', data: {} }]));
    await Promise.all(stores.map((store) => store.events.streamInfo('s')));
    for (const event of ['acquire', 'release', 'connect', 'remove']) expect(pool.listenerCount(event)).toBe(0);
    const client = await pool.connect();
    expect(client.listenerCount('error')).toBeLessThanOrEqual(1);
    client.release();
    await Promise.all(stores.map((store) => store.close()));
    await sleep(10);
    expect(warnings).toEqual([]);
  });
});

describe('closing the store', () => {
  it('returns even while a transaction is held open by code that never finishes; its connection is dropped', { timeout: 20_000 }, async () => {
    const store = await createPostgresStore(fx.url, { schema: fx.schemaName(), poolSize: 1 });
    let inside = false;
    void store
      .transaction(async (tx) => {
        await tx.events.append('held', [{ type: 'A', data: {} }]);
        inside = true;
        await new Promise(() => undefined); // an application bug: never settles
      })
      .catch(() => undefined);
    while (!inside) await sleep(5);
    await store.close(); // waits out its grace, then drops the connection
    expect(await count(store, 'events', "stream_id = 'held'")).toBe(0);
  });
});

describe('node-postgres’ own query_timeout on a pool the application configured', () => {
  it('is a lost connection with an unknown outcome at COMMIT, not a TIMEOUT that invites a blind retry', async () => {
    const pool = new pg.Pool({ connectionString: fx.url, max: 2, query_timeout: 300 });
    pool.on('error', () => undefined);
    onTestFinished(() => pool.end());
    const store = await createPostgresStore(drizzle(pool) as unknown as AnyPgDatabase, { schema: fx.schemaName() });
    // A deferred trigger makes COMMIT itself slow: it runs at commit time, past the client's timeout.
    await fx.db.execute(
      sql.raw(`create function "${store.schema}".slow() returns trigger language plpgsql as $$ begin perform pg_sleep(0.6); return null; end $$;
               create constraint trigger slow after insert on "${store.schema}".events deferrable initially deferred
               for each row execute function "${store.schema}".slow()`),
    );
    const error = await store.transaction(async (tx) => tx.events.append('late', [{ type: 'A', data: {} }])).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('CONNECTION');
    expect((error as ConnectionError).outcomeUnknown).toBe(true);
    // The same outside a transaction: the statement's own commit is what runs late.
    const single = await store.events.append('late-too', [{ type: 'A', data: {} }]).catch((e: unknown) => e);
    expect(codeOf(single)).toBe('CONNECTION');
    expect((single as ConnectionError).outcomeUnknown).toBe(true);
    expect((single as Error).message).toMatch(/no answer from the database in time \(query_timeout\)/);
    await sleep(700);
    // Both did commit: exactly the case a blind retry without event ids would have doubled.
    expect(await count(store, 'events', "stream_id in ('late', 'late-too')")).toBe(2);
  });
});

describe('acquiring a connection is bounded', () => {
  it('fails with TIMEOUT after connectionTimeoutMs when every connection of the store’s pool is held', async () => {
    const store = await open(fx.url, { poolSize: 1, connectionTimeoutMs: 300 });
    let finish!: () => void;
    const held = store.transaction(async (tx) => {
      await tx.events.append('held', [{ type: 'A', data: {} }]);
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    await sleep(50);
    const error = await store.events.append('waiting', [{ type: 'A', data: {} }]).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('TIMEOUT');
    expect((error as StrataError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/no database connection within 300 ms/);
    finish();
    await held;
    await store.events.append('waiting', [{ type: 'A', data: {} }]);
    expect(poolOf(store).waitingCount).toBe(0);
  });

  it('also bounds the wait on a pool the application owns and configured without a timeout', async () => {
    const pool = new pg.Pool({ connectionString: fx.url, max: 1 });
    pool.on('error', () => undefined);
    onTestFinished(() => pool.end());
    const store = await createPostgresStore(drizzle(pool) as unknown as AnyPgDatabase, { schema: fx.schemaName(), connectionTimeoutMs: 200 });
    const client = await pool.connect(); // the application holds the only connection
    const error = await store.events.streamInfo('s').catch((e: unknown) => e);
    expect(codeOf(error)).toBe('TIMEOUT');
    client.release();
    expect(await store.events.streamInfo('s')).toBeNull();
    await sleep(20);
    expect(pool.idleCount).toBe(pool.totalCount); // the late checkout was handed straight back
  });
});

describe('sockets cut by the network', () => {
  it('fail calls in flight with CONNECTION, retryable, and retries with the same ids store each event once', async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 8 });
    const batches = Array.from({ length: 48 }, (_, i) => ({
      stream: `cut-${i}`,
      events: [{ id: crypto.randomUUID(), type: 'Placed', data: { i } }],
    }));
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.events.streamInfo(`warm-${i}`)));
    const before = proxy.bytesUp;
    const first = batches.map((b) => store.events.append(b.stream, b.events));
    // Cut the moment the first statements reach the wire, while they are in flight.
    while (proxy.bytesUp === before) await new Promise((resolve) => setImmediate(resolve));
    proxy.cutAll();
    const results = await Promise.allSettled(first);
    const failed = batches.filter((_, i) => results[i]?.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(codeOf(r.reason)).toBe('CONNECTION');
        expect((r.reason as StrataError).retryable).toBe(true);
      }
    }
    // What a writer following the rule does: retry CONNECTION with the same event ids.
    for (const b of failed) await store.events.append(b.stream, b.events);
    for (const b of batches) expect((await store.events.streamInfo(b.stream))?.version).toBe(1);
    expect(await count(store, 'events')).toBe(48);
  });

  it('while the server cannot be reached, calls fail with CONNECTION and nothing applied, and work again once it is back', async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 2 });
    await store.events.append('down', [{ type: 'A', data: {} }]);
    proxy.refuse(true);
    proxy.cutAll();
    await sleep(50);
    for (const call of [
      () => store.events.append('down', [{ type: 'B', data: {} }]),
      () => store.events.streamInfo('down'),
      () => store.transaction(async (tx) => tx.queue.send('q', { body: 1 })),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(codeOf(error)).toBe('CONNECTION');
      expect((error as ConnectionError).outcomeUnknown).toBe(false);
    }
    proxy.refuse(false);
    await store.events.append('down', [{ type: 'B', data: {} }]);
    expect((await store.events.streamInfo('down'))?.version).toBe(2);
  });

  it('a read cut on the wire is repeated on a fresh connection; a write is not, and says its outcome is unknown', async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 1 });
    await store.events.append('seen', [{ type: 'A', data: {} }]);
    proxy.cutOnNextWrite();
    expect((await store.events.streamInfo('seen'))?.version).toBe(1);
    proxy.cutOnNextWrite();
    const error = await store.queue.send('q', { body: 1 }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('CONNECTION');
    expect((error as ConnectionError).outcomeUnknown).toBe(true);
  });

  it('a statement cut on the wire is CONNECTION with an unknown outcome; retrying it with the same ids is safe', async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 2 });
    await store.events.streamInfo('warm');
    const events = [{ id: crypto.randomUUID(), type: 'Placed', data: { total: 3 } }];
    proxy.cutOnNextWrite();
    const error = await store.events.append('order-9', events).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('CONNECTION');
    expect((error as ConnectionError).outcomeUnknown).toBe(true);
    const result = await store.events.append('order-9', events);
    expect(await store.events.append('order-9', events)).toEqual(result);
    expect((await store.events.streamInfo('order-9'))?.version).toBe(1);
  });

  it('a connection lost during COMMIT says the outcome is unknown; lost before COMMIT says nothing was committed', async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 2 });
    const during = await store
      .transaction(async (tx) => {
        await tx.events.append('c-1', [{ type: 'A', data: {} }]);
        proxy.cutOnNextWrite(); // the next thing sent is COMMIT
      })
      .catch((e: unknown) => e);
    expect(codeOf(during)).toBe('CONNECTION');
    expect((during as ConnectionError).outcomeUnknown).toBe(true);
    expect((during as Error).message).toMatch(/during COMMIT; the transaction may or may not have committed/);

    const before = await store
      .transaction(async (tx) => {
        await tx.events.append('c-2', [{ type: 'A', data: {} }]);
        proxy.cutAll();
        await sleep(50);
      })
      .catch((e: unknown) => e);
    expect(codeOf(before)).toBe('CONNECTION');
    expect((before as ConnectionError).outcomeUnknown).toBe(false);
    expect((before as Error).message).toMatch(/nothing was committed/);
    expect(await store.events.streamInfo('c-2')).toBeNull();
  });

  it('the statement’s own error, or the application’s, wins over the failing ROLLBACK', async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 2 });
    const statement = await store
      .transaction(async (tx) => {
        await tx.events.append('r-1', [{ type: 'A', data: {} }]);
        proxy.cutOnNextWrite();
        await tx.events.append('r-1', [{ type: 'B', data: {} }]);
      })
      .catch((e: unknown) => e);
    expect(codeOf(statement)).toBe('CONNECTION');
    expect((statement as Error).message).toMatch(/^events\.append on stream "r-1"/);

    const mine = new Error('payment declined');
    const app = await store
      .transaction(async (tx) => {
        await tx.events.append('r-2', [{ type: 'A', data: {} }]);
        proxy.cutOnNextWrite(); // the ROLLBACK that follows the throw fails on the wire
        throw mine;
      })
      .catch((e: unknown) => e);
    expect(app).toBe(mine);
    expect(poolOf(store).waitingCount).toBe(0);
    await store.events.append('r-3', [{ type: 'A', data: {} }]);
  });
});

describe('a server or network path that stalls without closing the socket', () => {
  it('fails calls with CONNECTION after statementTimeoutMs instead of hanging them, and close() returns', { timeout: 30_000 }, async () => {
    const { proxy, store } = await openThroughProxy({ poolSize: 2, statementTimeoutMs: 300, connectionTimeoutMs: 500 });
    await Promise.all([store.events.append('s', [{ type: 'A', data: {} }]), store.events.streamInfo('warm')]);
    proxy.stall(true);
    // Both pooled connections are open: the statements are sent and never answered.
    const [read, write] = await Promise.all([
      store.events.streamInfo('s').catch((e: unknown) => e),
      store.events.append('s', [{ type: 'B', data: {} }]).catch((e: unknown) => e),
    ]);
    expect(codeOf(read)).toBe('CONNECTION');
    expect((read as Error).message).toMatch(/no answer from the database within 300 ms \(statementTimeoutMs\); the connection was dropped$/);
    expect((read as ConnectionError).outcomeUnknown).toBe(false);
    expect(codeOf(write)).toBe('CONNECTION');
    expect((write as ConnectionError).outcomeUnknown).toBe(true);
    // A new connection through the stalled path never completes its handshake: TIMEOUT.
    const tx = await store.transaction(async (t) => t.events.append('t', [{ type: 'A', data: {} }])).catch((e: unknown) => e);
    expect(codeOf(tx)).toBe('TIMEOUT');
    proxy.stall(false);
    await store.events.append('s', [{ type: 'C', data: {} }]);
    expect(poolOf(store).waitingCount).toBe(0);

    // A call stalled when the application closes the store: close() waits for it only until its deadline.
    await Promise.all([store.events.streamInfo('a'), store.events.streamInfo('b')]);
    proxy.stall(true);
    const stalled = store.events.streamInfo('s').catch((e: unknown) => e);
    await sleep(20);
    await store.close();
    expect(codeOf(await stalled)).toBe('CONNECTION');
  });
});

describe('errors keep no payload', () => {
  it('a cause never carries Drizzle’s parameters, nor a server message or detail that quotes data', async () => {
    const store = await open(fx.url);
    const card = '4111111111111111';
    // A transaction the application opened with Drizzle, already aborted: Strata's statement fails in it.
    const joined = await fx.db
      .transaction(async (tx) => {
        await tx.execute(sql`select 1/0`).catch(() => undefined);
        await store.join(tx).events.append('pay', [{ type: 'Paid', data: { card } }]);
      })
      .catch((e: unknown) => e);
    expect(codeOf(joined)).toBe('INTERNAL');
    expect(inspect(joined, { depth: 10 })).not.toContain(card);
    expect((joined as Error & { cause: { code?: string } }).cause.code).toBe('25P02');

    // A server error whose message, detail and "where" quote the data sent.
    const raw = await fx.pool.query('select $1::jsonb', [`{"card": "${card}`]).catch((e: unknown) => e);
    expect(inspect(raw, { depth: 10 })).toContain(card);
    const summary = safeCause(raw);
    expect(inspect(summary, { depth: 10 })).not.toContain(card);
    expect(summary).toMatchObject({ code: '22P02', message: 'driver error (SQLSTATE 22P02)' });
  });
});

describe('a statement that fails inside a transaction', () => {
  it('fails the transaction even when the function catches it, instead of PostgreSQL rolling back silently at COMMIT', async () => {
    const store = await open(fx.url);
    // Break what send needs behind the store's back, so that the statement fails on the server.
    await fx.db.execute(sql.raw(`alter table "${store.schema}".queue_messages rename to queue_messages_away`));
    const error = await store
      .transaction(async (tx) => {
        await tx.events.append('kept?', [{ type: 'A', data: {} }]);
        await tx.queue.send('q', { body: 1 }).catch(() => undefined); // swallowed by the application
        return 'looks committed';
      })
      .catch((e: unknown) => e);
    // The transaction rejects with the error of the statement that doomed it (a missing table: MIGRATION).
    expect(codeOf(error)).toBe('MIGRATION');
    expect((error as Error).message).toMatch(
      /^queue\.send on queue "q": Strata's schema, tables or functions do not exist in this database \(SQLSTATE 42P01\)/,
    );
    expect(await store.events.streamInfo('kept?')).toBeNull();
    await fx.db.execute(sql.raw(`alter table "${store.schema}".queue_messages_away rename to queue_messages`));
    await store.transaction(async (tx) => tx.queue.send('q', { body: 1 }));
  });
});

describe('the logger', () => {
  it('hears of the loss and the recovery, once each, and never of a payload', async () => {
    const logger = recordingLogger();
    const { proxy, store } = await openThroughProxy({ poolSize: 2, logger });
    await store.events.append('secret', [{ type: 'A', data: { card: '4111111111111111' } }]);
    proxy.cutOnNextWrite();
    for (let i = 0; i < 3; i++) {
      await store.events.append('secret', [{ type: 'A', data: { card: '4111111111111111' } }]).catch(() => undefined);
    }
    await store.events.append('secret', [{ type: 'A', data: { card: '4111111111111111' } }]);
    const text = JSON.stringify(logger.lines);
    expect(text).not.toContain('4111111111111111');
    expect(logger.lines.filter((l) => l.level === 'warn' && /connection lost during events\.append/.test(l.message))).toHaveLength(1);
    expect(logger.lines.filter((l) => l.level === 'info' && /connection recovered, \d+ ms after the first failure/.test(l.message))).toHaveLength(1);
  });

  it('hears of idle pooled connections that die, instead of the process crashing', async () => {
    const logger = recordingLogger();
    const store = await open(fx.url, { poolSize: 2, logger });
    await Promise.all([store.events.streamInfo('a'), store.events.streamInfo('b')]);
    expect(await terminateBackends(admin, database, { idleOnly: true })).toBeGreaterThan(0);
    await sleep(200);
    expect(logger.lines.some((l) => l.level === 'debug' && /idle pooled connection was lost/.test(l.message))).toBe(true);
    expect(await store.events.streamInfo('a')).toBeNull();
  });
});

describe('limits', () => {
  it('the per-transaction event limit is VALIDATION with the reason in the message, and writes nothing', async () => {
    const store = await open(fx.url);
    const error = await fx.db
      .transaction(async (tx) => {
        // As if this transaction had already appended 1,048,570 events.
        await tx.execute(sql`select set_config('strata.positions_used', '1048570', true)`);
        await store.join(tx).events.append(
          'bulk',
          Array.from({ length: 10 }, (_, i) => ({ type: 'Row', data: { i } })),
        );
      })
      .catch((e: unknown) => e);
    expect(codeOf(error)).toBe('VALIDATION');
    expect((error as Error).message).toMatch(/more than 1048576 events appended in one transaction/);
    expect(await store.events.streamInfo('bulk')).toBeNull();
  });

  it('a batch beyond that limit, and a payload beyond jsonb’s, are refused before anything is sent', { timeout: 60_000 }, async () => {
    // The store's own limit raised to the most PostgreSQL can take.
    const { proxy, store } = await openThroughProxy({ poolSize: 2, maxPayloadBytes: MAX_PAYLOAD_BYTES });
    await store.events.streamInfo('warm');
    const sentBefore = proxy.bytesUp;
    const many = await store.events
      .append(
        'many',
        Array.from({ length: 1_048_577 }, () => ({ type: 'Row', data: {} })),
      )
      .catch((e: unknown) => e);
    expect(codeOf(many)).toBe('VALIDATION');
    expect((many as Error).message).toMatch(/one append may hold at most 1048576/);
    const blob = 'x'.repeat(270_000_000);
    const huge = await store.events.append('huge', [{ type: 'Upload', data: { blob } }]).catch((e: unknown) => e);
    expect(codeOf(huge)).toBe('VALIDATION');
    expect((huge as Error).message).toMatch(/more than 268435455 characters of strings and keys/);
    const message = await store.queue.send('uploads', { body: { blob } }).catch((e: unknown) => e);
    expect(codeOf(message)).toBe('VALIDATION');
    // Under the limit in characters, over it in UTF-8 bytes: measured before sending, on PostgreSQL.
    const euros = await store.events.append('euros', [{ type: 'Upload', data: { text: '€'.repeat(90_000_000) } }]).catch((e: unknown) => e);
    expect(codeOf(euros)).toBe('VALIDATION');
    expect((euros as Error).message).toMatch(/is \d+ bytes of JSON \(data and metadata\), over this store's limit of 268435455 bytes/);
    expect(proxy.bytesUp - sentBefore).toBeLessThan(10_000);
    expect(await count(store, 'events')).toBe(0);
  });
});
