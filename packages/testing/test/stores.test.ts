import type { StrataStore } from '@strata/core';
import { isStrataError } from '@strata/core';
import type { PgliteStore } from '@strata/pglite';
import type { PostgresStore } from '@strata/postgres';
import { testStores } from '@strata/testing';
import { pgliteStores } from '@strata/testing/pglite';
import { postgresStores } from '@strata/testing/postgres';
import { sqliteStores } from '@strata/testing/sqlite';
import { describeStores, storeTest } from '@strata/testing/vitest';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { RELEASE_TIMEOUT_MS } from '../src/leases.js';

/** Everything a store can hold, written in one test and looked for in the next. */
async function writeEverything(store: StrataStore): Promise<void> {
  await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }]);
  await store.queue.send('emails', { body: { to: 'ada' }, dedupId: 'once' });
  await store.snapshots.save('order-1', { version: 1, state: { total: 42 } });
  await store.checkpoints.set('projector', 1n);
}

async function expectEmpty(store: StrataStore): Promise<void> {
  expect(await store.events.headPosition()).toBe(0n);
  expect(await store.events.streamInfo('order-1')).toBeNull();
  expect((await store.queue.stats('emails')).ready).toBe(0);
  expect(await store.snapshots.load('order-1')).toBeNull();
  expect(await store.checkpoints.get('projector')).toBeNull();
  // The same dedup id is accepted as new: nothing of the last test's queue survives.
  await store.queue.send('emails', { body: { to: 'ada' }, dedupId: 'once' });
  expect((await store.queue.stats('emails')).ready).toBe(1);
  const appended = await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 1 } }], { expectedVersion: 'no_stream' });
  expect(appended.version).toBe(1);
}

// The one-line form: the same tests against every adapter. Tests in a block run in order, so the second
// test's store comes after the first one's was closed (and, on PGlite and PostgreSQL, reuses its schema).
describeStores(['memory', 'sqlite', 'pglite', 'postgres'], (test, adapter) => {
  let firstSchema: string | undefined;
  test('a test writes to every part of its store', async ({ store }) => {
    await writeEverything(store);
    firstSchema = (store as Partial<PostgresStore>).schema;
  });
  test('the next test finds its store empty', async ({ store }) => {
    await expectEmpty(store);
    if (adapter === 'pglite' || adapter === 'postgres') {
      // The check above is only worth something if the store reuses the schema the last test wrote to.
      expect((store as PostgresStore).schema).toBe(firstSchema);
    }
  });
  test('stores open in the same test are isolated from each other', async ({ store, stores }) => {
    const other = await stores.fresh();
    await store.events.append('order-1', [{ type: 'OrderPlaced', data: {} }]);
    expect(await other.events.streamInfo('order-1')).toBeNull();
  });
});

describe('pglite', () => {
  const test = storeTest(() => pgliteStores());
  test('a sibling sees what its store writes, and a store options reach the store', async ({ stores }) => {
    const store = await stores.fresh({ readPageSize: 1 });
    const sibling = await stores.sibling(store);
    await store.events.append('s', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    const read: string[] = [];
    for await (const e of sibling.events.readStream('s')) read.push(e.type);
    expect(read).toEqual(['A', 'B']);
  });
  let instance: PgliteStore['pglite'] | undefined;
  test('a test that closes the PGlite instance itself', async ({ store }) => {
    instance = store.pglite;
    await store.pglite.close();
  });
  test('does not break the next one: it gets a new instance', async ({ store }) => {
    expect(store.pglite).not.toBe(instance);
    await expectEmpty(store);
  });
  test('a schema a test added to (a table, a function, a trigger, a column) is dropped, not reused', async ({ stores }) => {
    const first = await stores.fresh();
    const s = `"${first.schema}"`;
    await first.pglite.exec(`
      create table ${s}.read_model (id text primary key);
      create function ${s}.refuse() returns trigger language plpgsql as $$ begin raise exception 'no'; end $$;
      create trigger refuse before insert on ${s}.snapshots for each row execute function ${s}.refuse();
      alter table ${s}.checkpoints add column note text;`);
    await first.close();
    const second = await stores.fresh();
    expect(second.schema).not.toBe(first.schema);
    const dropped = await second.pglite.query(`select 1 from pg_namespace where nspname = $1`, [first.schema]);
    expect(dropped.rows).toHaveLength(0);
    await second.snapshots.save('s', { version: 1, state: {} });
    await second.pglite.exec(`create table "${second.schema}".read_model (id text primary key)`);
  });
  test('a data-only test leaves its schema for the next one', async ({ stores }) => {
    const first = await stores.fresh();
    await writeEverything(first);
    await first.close();
    const second = await stores.fresh();
    expect(second.schema).toBe(first.schema);
    await expectEmpty(second);
  });
  test('a reset that cannot finish (a transaction left open) is bounded, and the next store comes from a new instance', async ({ stores }) => {
    const store = await stores.fresh();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A test that leaves a transaction open on PGlite's one connection (here through PGlite itself).
    let begun: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => {
      begun = resolve;
    });
    const open = store.pglite.transaction(async (tx) => {
      await tx.query(`insert into "${store.schema}".checkpoints (consumer, position, updated_at) values ('x', 1, now())`);
      begun();
      await held;
    });
    await inside;
    const started = Date.now();
    await store.close().catch(() => undefined);
    expect(Date.now() - started).toBeLessThan(RELEASE_TIMEOUT_MS + 5_000);
    const next = await stores.fresh();
    expect(next.pglite).not.toBe(store.pglite);
    await expectEmpty(next);
    release();
    await open.catch(() => undefined);
  }, 60_000);
});

describe('plain functions, for other runners', () => {
  it('fresh stores, then close: every open store is closed and fresh() is refused', async () => {
    const stores = pgliteStores();
    await stores.ready();
    const a = await stores.fresh();
    const b = await stores.fresh();
    expect(a.schema).not.toBe(b.schema);
    await stores.close();
    await expect(a.events.headPosition()).rejects.toSatisfy((e) => isStrataError(e, 'CLOSED'));
    await expect(stores.fresh()).rejects.toSatisfy((e) => isStrataError(e, 'CLOSED'));
    expect(a.pglite.closed).toBe(true);
  });

  it('siblings need a database that can be shared', async () => {
    const memory = testStores('memory');
    const store = await memory.fresh();
    await expect(memory.sibling(store)).rejects.toSatisfy((e) => isStrataError(e, 'NOT_SUPPORTED'));
    await memory.close();
    const inMemory = sqliteStores();
    await expect(inMemory.sibling(await inMemory.fresh())).rejects.toSatisfy((e) => isStrataError(e, 'NOT_SUPPORTED'));
    await inMemory.close();
    const files = sqliteStores({ files: true });
    const onFile = await files.fresh();
    const sibling = await files.sibling(onFile);
    await onFile.events.append('s', [{ type: 'A', data: {} }]);
    expect((await sibling.events.streamInfo('s'))?.version).toBe(1);
    await files.close();
  });

  it('a source by name refuses fresh() once closed, even before it loaded its adapter', async () => {
    const stores = testStores('memory');
    await stores.close();
    await expect(stores.fresh()).rejects.toSatisfy((e) => isStrataError(e, 'CLOSED'));
  });

  it('an unknown adapter name is refused at once', () => {
    expect(() => testStores('mongo' as never)).toThrow(/adapter must be one of memory, sqlite, pglite, postgres/);
  });
});

describe('postgres', () => {
  it('a source given a server URL makes a database of its own and drops it on close', async () => {
    const stores = postgresStores({ url: inject('strataPostgresUrl') });
    onTestFinished(() => stores.close());
    const store = await stores.fresh();
    const sibling = await stores.sibling(store);
    await store.events.append('s', [{ type: 'A', data: {} }]);
    expect((await sibling.events.streamInfo('s'))?.version).toBe(1);
    const database = (await store.db.execute<{ d: string }>('select current_database() as d' as never)) as unknown as { rows: { d: string }[] };
    expect(database.rows[0]?.d).toMatch(/^strata_test_/);
    await stores.close();
    const pg = await import('pg');
    const admin = new pg.default.Client({ connectionString: inject('strataPostgresUrl') });
    await admin.connect();
    const left = await admin.query('select 1 from pg_database where datname = $1', [database.rows[0]?.d]);
    await admin.end();
    expect(left.rowCount).toBe(0);
  });
});

describe('storeTest by name has the adapter store type', () => {
  const test = storeTest('pglite');
  test('store.pglite and store.schema are there without a cast', async ({ store }) => {
    const { rows } = await store.pglite.query<{ n: number }>(`select count(*)::int as n from "${store.schema}".events`);
    expect(rows[0]?.n).toBe(0);
  });
});
