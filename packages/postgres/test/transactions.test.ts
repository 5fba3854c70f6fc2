import { isStrataError } from '@strata/core';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createPostgresStore, rowsOf } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

describe('joining a transaction the application opened with Drizzle', () => {
  it('commits the application’s writes and Strata’s together, or neither', async () => {
    const store = await createPostgresStore(fx.db, { schema: fx.schemaName() });
    const table = `"${store.schema}".orders`;
    await fx.db.execute(sql.raw(`create table ${table} (id text primary key)`));

    await expect(
      fx.db.transaction(async (tx) => {
        await tx.execute(sql.raw(`insert into ${table} values ('o-1')`));
        const strata = store.join(tx);
        await strata.events.append('order-o-1', [{ type: 'OrderPlaced', data: { id: 'o-1' } }]);
        await strata.queue.send('emails', { body: { order: 'o-1' } });
        throw new Error('payment declined');
      }),
    ).rejects.toThrow('payment declined');
    expect(rowsOf(await fx.db.execute(sql.raw(`select * from ${table}`)))).toEqual([]);
    expect(await store.events.streamInfo('order-o-1')).toBeNull();
    expect((await store.queue.stats('emails')).ready).toBe(0);

    await fx.db.transaction(async (tx) => {
      await tx.execute(sql.raw(`insert into ${table} values ('o-2')`));
      await store.join(tx).events.append('order-o-2', [{ type: 'OrderPlaced', data: { id: 'o-2' } }]);
      await store.join(tx).queue.send('emails', { body: { order: 'o-2' } });
    });
    expect(rowsOf(await fx.db.execute(sql.raw(`select id from ${table}`)))).toEqual([{ id: 'o-2' }]);
    expect((await store.events.streamInfo('order-o-2'))?.version).toBe(1);
    expect((await store.queue.stats('emails')).ready).toBe(1);
    await store.close();
  });

  it('announces nothing for joined writes (the store cannot see the commit); reads see them', async () => {
    const store = await createPostgresStore(fx.db, { schema: fx.schemaName() });
    const notices: unknown[] = [];
    const off = store.wakeUps.onChange((n) => notices.push(n));
    await fx.db.transaction(async (tx) => {
      await store.join(tx).events.append('joined', [{ type: 'A', data: {} }]);
      await store.join(tx).queue.send('q', { body: 1 });
    });
    await store.events.append('direct', [{ type: 'A', data: {} }]);
    off();
    expect(notices).toEqual([expect.objectContaining({ kind: 'events', streamId: 'direct' })]);
    expect((await store.events.streamInfo('joined'))?.version).toBe(1);
    await store.close();
  });
});

describe('errors', () => {
  it('an unreachable server is a CONNECTION error naming the operation', async () => {
    const error = await createPostgresStore('postgres://postgres@127.0.0.1:1/nothing', { poolSize: 1 }).catch((e: unknown) => e);
    expect(isStrataError(error, 'CONNECTION')).toBe(true);
    expect((error as Error).message).toMatch(/^migrate/);
    expect((error as Error).cause).toBeDefined();
  });

  it('the store opened from a connection string owns its pool and closes it', async () => {
    const store = await createPostgresStore(fx.url, { schema: fx.schemaName(), poolSize: 2 });
    await store.events.append('s', [{ type: 'A', data: {} }]);
    await store.close();
    await expect(store.events.streamInfo('s')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a transaction that fails at commit is mapped; the function’s own error is rethrown as is', async () => {
    const store = await createPostgresStore(fx.db, { schema: fx.schemaName() });
    const mine = new Error('mine');
    await expect(store.transaction(async () => Promise.reject(mine))).rejects.toBe(mine);
    await store.close();
  });
});
