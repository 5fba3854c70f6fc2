import type { StoredEvent } from '@strata/core';
import { recordingLogger } from '@strata/testing/server';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type AnyPgDatabase, createPostgresStore, rowsOf } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

async function collect(it: AsyncIterable<StoredEvent>) {
  const out: StoredEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** The text of every node of an EXPLAIN (FORMAT JSON) plan: node types and index names. */
function planNodes(plan: unknown): string[] {
  const out: string[] = [];
  const walk = (n: Record<string, unknown>) => {
    out.push(`${String(n['Node Type'])}${n['Index Name'] ? `:${String(n['Index Name'])}` : ''}`);
    for (const child of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((plan as [{ Plan: Record<string, unknown> }])[0].Plan);
  return out;
}

describe('query plans', () => {
  it('use the indexes for readAll by position, stream reads, type and correlation filters, and queue claims', { timeout: 120_000 }, async () => {
    // Capture the statements the adapter really sends, then EXPLAIN them with their parameters.
    // Strata runs its statements on the pool's clients itself, so they are captured at the client.
    const captured: { query: string; params: unknown[] }[] = [];
    class CapturingClient extends pg.Client {
      override query(...args: unknown[]): never {
        const [config, second] = args as [string | { text: string; values?: unknown[] }, unknown];
        const values = Array.isArray(second) ? second : typeof config === 'string' ? [] : (config.values ?? []);
        captured.push({ query: typeof config === 'string' ? config : config.text, params: values });
        return (super.query as (...a: unknown[]) => never)(...args);
      }
    }
    const pool = new pg.Pool({ connectionString: fx.url, max: 4, Client: CapturingClient });
    pool.on('error', () => undefined);
    onTestFinished(() => pool.end());
    const db = drizzle(pool) as unknown as AnyPgDatabase;
    const schema = fx.schemaName();
    const store = await createPostgresStore(db, { schema });
    for (let s = 0; s < 200; s++) {
      await store.events.append(
        `order-${s}`,
        Array.from({ length: 100 }, (_, i) => ({
          type: i % 50 === 0 ? 'Rare' : 'Common',
          data: { i },
          metadata: { correlationId: `c-${s}-${i % 10}` },
        })),
      );
    }
    await store.queue.send(
      'q',
      Array.from({ length: 2000 }, (_, i) => ({ body: i })),
    );
    await fx.pool.query(`analyze "${schema}".events; analyze "${schema}".queue_messages`);

    const plan = async (run: () => Promise<unknown>, match: RegExp) => {
      captured.length = 0;
      await run();
      const q = captured.find((c) => match.test(c.query));
      if (q === undefined) throw new Error(`no statement matched ${match}`);
      const res = await fx.pool.query(`explain (format json) ${q.query}`, q.params);
      return planNodes(res.rows[0]['QUERY PLAN']);
    };

    expect(await plan(() => collect(store.events.readAll({ after: 5000n, limit: 100 })), /order by position/)).toContain('Index Scan:events_pkey');
    expect((await plan(() => collect(store.events.readStream('order-7', { fromVersion: 20 })), /order by version/)).join()).toMatch(
      /Index Scan:events_stream_version_idx/,
    );
    expect((await plan(() => collect(store.events.readAll({ types: ['Rare'] })), /type = /)).join()).toMatch(/events_type_position_idx/);
    expect((await plan(() => collect(store.events.readAll({ types: ['Rare', 'Scarce'] })), /type = any/)).join()).toMatch(/events_type_position_idx/);
    expect((await plan(() => collect(store.events.readAll({ correlationId: 'c-3-4' })), /correlationId/)).join()).toMatch(/events_correlation_idx/);
    // stream_id is COLLATE "C": the (stream_id, version) index serves LIKE prefixes under any database collation.
    const prefix = (await plan(() => collect(store.events.readAll({ streamPrefix: 'order-19' })), /like/)).join();
    expect(prefix).toMatch(/events_stream_version_idx/);
    expect(prefix).not.toMatch(/Seq Scan/);
    // The claim runs inside claim_messages(), whose attached settings keep the planner on the ready
    // index in order even when statistics are stale: check both the settings and the plan under them.
    const config = rowsOf<{ c: string[] }>(
      await fx.db.execute(
        sql.raw(
          `select proconfig as c from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = '${schema}' and proname = 'claim_messages'`,
        ),
      ),
    )[0]?.c;
    expect(config).toEqual(['enable_bitmapscan=off', 'enable_sort=off']);
    const statsConfig = rowsOf<{ c: string[] }>(
      await fx.db.execute(
        sql.raw(`select proconfig as c from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = '${schema}' and proname = 'queue_stats'`),
      ),
    )[0]?.c;
    expect(statsConfig).toEqual(['enable_seqscan=off']);
    const client = await fx.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local enable_bitmapscan = off');
      await client.query('set local enable_sort = off');
      await client.query(`delete from pg_statistic where starelid = '"${schema}".queue_messages'::regclass`); // as stale as it gets
      const res = await client.query(
        `explain (format json) select q.id from "${schema}".queue_messages q where q.queue = $1 and not q.dead and q.visible_at <= now()
         order by q.priority desc nulls last, q.seq limit 100 for update skip locked`,
        ['q'],
      );
      const claim = planNodes(res.rows[0]['QUERY PLAN']).join();
      expect(claim).toMatch(/Index Scan:queue_ready_idx/);
      expect(claim).not.toMatch(/Sort|Bitmap/);
      // stats() reads one queue through its own indexes (queue_stats() prices sequential scans out),
      // never the rows of every queue.
      await client.query('set local enable_seqscan = off');
      const body = rowsOf<{ src: string }>(
        await fx.db.execute(
          sql.raw(
            `select prosrc as src from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = '${schema}' and proname = 'queue_stats'`,
          ),
        ),
      )[0]?.src;
      const statsPlan = await client.query(
        `explain (format json) ${String(body)
          .replace(/p_queue/g, '$1')
          .replace(/;\s*$/, '')}`,
        ['q'],
      );
      const stats = planNodes(statsPlan.rows[0]['QUERY PLAN']).join();
      expect(stats).toMatch(/queue_ready_idx/);
      expect(stats).toMatch(/queue_dead_idx/);
      expect(stats).not.toMatch(/Seq Scan/);
    } finally {
      await client.query('rollback');
      client.release();
    }
    await store.close();
  });
});

describe('names round-trip exactly', () => {
  const names = [
    `'); drop table strata.events; --`,
    `"double" and 'single' quotes`,
    'emoji 🎉🚀 and 日本語',
    'x'.repeat(255),
    `${'ü'.repeat(254)}🎉`,
    'back\\slash %_ like',
  ];

  it('as stream ids, queue names, consumer names and dedup ids, also in the database itself', async () => {
    const store = await createPostgresStore(fx.db, { schema: fx.schemaName() });
    for (const name of names) {
      await store.events.append(name, [{ type: name, data: { name } }]);
      await store.queue.send(name, { body: name, dedupId: name, headers: { [name.slice(0, 50)]: name } });
      await store.checkpoints.set(name, 1n);
      await store.snapshots.save(name, { version: 1, state: name });
    }
    for (const name of names) {
      const [e] = await collect(store.events.readStream(name));
      expect([e?.streamId, e?.type, e?.data]).toEqual([name, name, { name }]);
      const [d] = await store.queue.receive(name);
      expect([d?.queue, d?.body, d?.headers]).toEqual([name, name, { [name.slice(0, 50)]: name }]);
      expect((await store.queue.send(name, { body: 'again', dedupId: name }))[0]).toBe(d?.id);
      expect((await store.checkpoints.get(name))?.consumer).toBe(name);
      expect((await store.snapshots.load(name))?.state).toBe(name);
    }
    const stored = rowsOf<{ stream_id: string }>(await fx.db.execute(sql.raw(`select stream_id from "${store.schema}".streams order by stream_id`)));
    expect(stored.map((r) => r.stream_id).sort()).toEqual([...names].sort());
    expect(await store.rowCounts()).toMatchObject({ events: names.length, streams: names.length, messages: names.length, checkpoints: names.length });
    await store.close();
  });
});

describe('prepared statements', () => {
  /** The statements prepared on the store's one connection, read on that connection. */
  const prepared = async (store: Awaited<ReturnType<typeof createPostgresStore>>) =>
    store.transaction(async (tx) =>
      rowsOf<{ name: string; statement: string; plans: number }>(
        await tx.db.execute(sql`select name, statement, (generic_plans + custom_plans)::int as plans from pg_prepared_statements`),
      ),
    );
  const work = async (store: Awaited<ReturnType<typeof createPostgresStore>>, round: number) => {
    await store.events.append('s', [{ type: 'A', data: { round } }], { expectedVersion: round });
    await store.queue.send('q', { body: round });
    await store.queue.send('q', [{ body: round }, { body: round + 0.5 }]);
    const got = await store.queue.receive('q', { max: 10 });
    await store.queue.ackMany(got.map((d) => d.receipt));
  };

  it("Strata's hot statements are prepared once per connection and then only executed", async () => {
    const store = await createPostgresStore(fx.url, { schema: fx.schemaName(), poolSize: 1 });
    onTestFinished(() => store.close());
    for (let round = 0; round < 3; round++) await work(store, round);
    const rows = await prepared(store);
    const texts = rows.map((r) => r.statement).join('\n');
    for (const part of ['append_events', 'claim_messages', 'rows from (unnest', 'receipt = any']) expect(texts).toContain(part);
    // readAll pages are planned for their filter's values each time: a generic plan could scan everything.
    await collect(store.events.readAll({ types: ['A'] }));
    expect((await prepared(store)).some((r) => r.statement.includes('order by position'))).toBe(false);
    expect(rows.every((r) => r.name.startsWith('strata_'))).toBe(true);
    // Each text was parsed once and then executed again (one name per text, three rounds).
    expect(new Set(rows.map((r) => r.statement)).size).toBe(rows.length);
    expect(rows.find((r) => r.statement.includes('append_events'))?.plans).toBe(3);
  });

  it('prepareStatements: false prepares nothing', async () => {
    const store = await createPostgresStore(fx.url, { schema: fx.schemaName(), poolSize: 1, prepareStatements: false });
    onTestFinished(() => store.close());
    await work(store, 0);
    expect(await prepared(store)).toEqual([]);
    await expect(createPostgresStore(fx.url, { schema: fx.schemaName(), prepareStatements: 'yes' as never })).rejects.toMatchObject({
      code: 'VALIDATION',
      field: 'options.prepareStatements',
    });
  });

  it('a statement the server no longer has (DEALLOCATE ALL, a pooler) is run again on a new connection, and nothing is lost', async () => {
    const store = await createPostgresStore(fx.url, { schema: fx.schemaName(), poolSize: 1 });
    onTestFinished(() => store.close());
    await work(store, 0);
    await store.transaction(async (tx) => {
      await tx.db.execute(sql`deallocate all`);
    });
    await work(store, 1);
    // Inside a transaction too, once the application's DEALLOCATE ran there.
    await store.transaction(async (tx) => {
      await tx.db.execute(sql`deallocate all`);
      await tx.events.append('s', [{ type: 'A', data: { round: 2 } }], { expectedVersion: 2 });
    });
    const events = await collect(store.events.readStream('s'));
    expect(events.map((e) => e.data)).toEqual([{ round: 0 }, { round: 1 }, { round: 2 }]);
    expect(await store.queue.stats('q')).toMatchObject({ ready: 0, inFlight: 0 });
  });

  /** A pool of one connection the application owns, and a store on it. */
  const ownPool = async (options: { logger?: ReturnType<typeof recordingLogger>; schema?: string } = {}) => {
    // No idle timeout: the one connection stays the same between the test's steps, however slow the host.
    const pool = new pg.Pool({ connectionString: fx.url, max: 1, idleTimeoutMillis: 0 });
    pool.on('error', () => undefined);
    onTestFinished(() => pool.end());
    /** The SQLSTATE of every statement that failed on the pool's connections, as the driver answered it. */
    const codes: string[] = [];
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const callback = args.at(-1);
        if (typeof callback === 'function') {
          args[args.length - 1] = (error: { code?: string } | null, result: unknown) => {
            if (typeof error?.code === 'string') codes.push(error.code);
            callback(error, result);
          };
        }
        return query(...args);
      };
    });
    const db = drizzle(pool) as unknown as AnyPgDatabase;
    const store = await createPostgresStore(db, { schema: options.schema ?? fx.schemaName(), ...(options.logger ? { logger: options.logger } : {}) });
    onTestFinished(() => store.close());
    /** Runs `text` on the pool's connection, as another part of the application would. */
    const raw = async (text: string, edit?: (client: pg.PoolClient) => void) => {
      const client = await pool.connect();
      try {
        edit?.(client);
        return (await client.query(text)).rows as Record<string, unknown>[];
      } finally {
        client.release();
      }
    };
    return { pool, db, store, raw, codes };
  };

  it("statements lost behind the store's back (another user of the pool ran DEALLOCATE ALL) are run again; after three such losses the store stops preparing and warns once", async () => {
    const logger = recordingLogger();
    const { store, raw, codes } = await ownPool({ logger });
    await work(store, 0);
    const count = async () => (await raw('select count(*)::int as n from pg_prepared_statements'))[0]?.n;
    const perRound = await count();
    expect(perRound).toBeGreaterThanOrEqual(5);
    const pids = new Set<unknown>();
    for (let round = 1; round <= 4; round++) {
      pids.add((await raw('select pg_backend_pid() as pid'))[0]?.pid);
      expect(await count()).toBe(round <= 3 ? perRound : 0);
      await raw('deallocate all');
      // Nothing fails: the first statement meets 26000, its connection is replaced and it runs again.
      await work(store, round);
    }
    // Three losses replaced the connection three times; the fourth round had nothing prepared to lose.
    expect(pids.size).toBe(4);
    expect(codes).toEqual(['26000', '26000', '26000']);
    const warnings = logger.lines.filter((l) => l.level === 'warn' && l.message.includes('prepared statements keep failing'));
    expect(warnings.map((w) => w.fields)).toEqual([{ code: '26000' }]);
    expect(await count()).toBe(0);
    expect((await collect(store.events.readStream('s'))).map((e) => e.data)).toEqual([0, 1, 2, 3, 4].map((round) => ({ round })));
    expect(await store.queue.stats('q')).toMatchObject({ ready: 0, inFlight: 0 });
  });

  it('a name the server already holds on a connection the driver thinks is fresh (42P05, a pooler) is run again on a new connection', async () => {
    const { store, raw, codes } = await ownPool();
    await work(store, 0);
    const before = (await raw('select pg_backend_pid() as pid'))[0]?.pid;
    // The driver forgets what it parsed on this connection; the server still holds the names.
    await raw('select 1', (client) => {
      (client as unknown as { connection: { parsedStatements: object } }).connection.parsedStatements = {};
    });
    await work(store, 1);
    expect(codes).toEqual(['42P05']);
    expect((await raw('select pg_backend_pid() as pid'))[0]?.pid).not.toBe(before);
    expect((await collect(store.events.readStream('s'))).map((e) => e.data)).toEqual([{ round: 0 }, { round: 1 }]);
  });

  it('one connection holds at most 100 of the prepared statements of the stores sharing it; the rest run unprepared', { timeout: 60_000 }, async () => {
    const { db, raw } = await ownPool();
    const stores = [];
    for (let i = 0; i < 15; i++) {
      const store = await createPostgresStore(db, { schema: fx.schemaName() });
      onTestFinished(() => store.close());
      stores.push(store);
    }
    for (const store of stores) {
      for (let round = 0; round < 2; round++) await work(store, round);
      await store.snapshots.save('s', { version: 2, state: { n: 2 } });
      expect((await store.snapshots.load('s'))?.state).toEqual({ n: 2 });
      expect((await store.events.streamInfo('s'))?.version).toBe(2);
    }
    // Eight statements a store: 120 texts in all, 100 of them prepared.
    expect((await raw('select count(*)::int as n from pg_prepared_statements'))[0]?.n).toBe(100);
    for (const store of stores) expect((await collect(store.events.readStream('s'))).length).toBe(2);
  });

  it('a prepared statement whose result type changed (a migration elsewhere) is run again on a new connection', async () => {
    const schema = fx.schemaName();
    const store = await createPostgresStore(fx.url, { schema, poolSize: 1 });
    onTestFinished(() => store.close());
    await store.events.append('s', [{ type: 'A', data: {} }]);
    await store.snapshots.save('s', { version: 1, state: { n: 1 } });
    expect((await store.snapshots.load('s'))?.state).toEqual({ n: 1 });
    await fx.pool.query(`alter table "${schema}".snapshots alter column schema_version type bigint`);
    expect((await store.snapshots.load('s'))?.state).toEqual({ n: 1 });
    expect((await collect(store.events.readStream('s'))).length).toBe(1);
  });
});
