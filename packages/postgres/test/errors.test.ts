import { type AddressInfo, createServer } from 'node:net';
import { isStrataError } from '@strata/core';
import { leaksOf } from '@strata/core/conformance/check';
import { sql } from 'drizzle-orm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPostgresStore } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

describe('errors that used to mislead', () => {
  it('a connection that is no PostgreSQL URL (an unset variable, an empty or scheme-less string, another scheme) is VALIDATION, saying what to pass, without the string', async () => {
    const cases: [unknown, string][] = [
      [undefined, 'connection must be a PostgreSQL connection URL or a Drizzle database, got undefined (is the environment variable'],
      [null, 'got null'],
      [42, 'got number'],
      [{ not: 'a database' }, 'got object'],
      ['', 'connection is an empty string'],
      ['   ', 'connection is an empty string'],
      ['hello', 'connection has no postgres:// scheme'],
      ['secret-user:hunter2@localhost:5432/app', 'connection has no postgres:// scheme'],
      ['mysql://secret-user:hunter2@localhost/app', 'connection is a mysql: URL, not a postgres:// or postgresql:// one'],
    ];
    for (const [connection, message] of cases) {
      const error = await createPostgresStore(connection as string).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'VALIDATION', field: 'connection' });
      expect((error as Error).message).toContain(message);
      expect((error as Error).message).not.toContain('hunter2');
      expect((error as Error).message).not.toContain('secret-user');
    }
    // The forms node-postgres reads are accepted: both URL schemes, and a socket directory.
    for (const scheme of ['postgres', 'postgresql', 'POSTGRES']) {
      const store = await createPostgresStore(fx.url.replace(/^postgres(ql)?:/, `${scheme}:`), { schema: fx.schemaName() });
      await store.close();
    }
  });

  it('a server that refuses the connection is CONNECTION naming the address and port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await createPostgresStore(`postgres://strata@127.0.0.1:${port}/none`, { connectionTimeoutMs: 5000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'CONNECTION' });
    expect((error as Error).message).toContain(`(ECONNREFUSED connecting to 127.0.0.1:${port})`);
  });

  it('a database that does not exist is CONNECTION, not retryable, saying so', async () => {
    const url = new URL(fx.url);
    url.pathname = '/no_such_database_here';
    const error = await createPostgresStore(url.toString()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'CONNECTION', retryable: false });
    expect((error as Error).message).toContain('does not exist (SQLSTATE 3D000)');
  });

  it('migrate: false on a schema never migrated fails with MIGRATION, saying to run migrate()', async () => {
    for (const prepare of [async () => undefined, async (schema: string) => fx.db.execute(sql.raw(`create schema "${schema}"`))]) {
      const schema = fx.schemaName();
      await prepare(schema);
      const store = await createPostgresStore(fx.url, { schema, migrate: false });
      onTestFinished(() => store.close());
      for (const call of [
        () => store.events.append('s', [{ type: 'A', data: {} }]),
        () => store.events.streamInfo('s'),
        () => store.queue.send('q', { body: 1 }),
        () => store.snapshots.load('s'),
        () => store.transaction((tx) => tx.checkpoints.get('c')),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(isStrataError(error, 'MIGRATION'), String(error)).toBe(true);
        expect((error as Error).message).toMatch(/run migrate\(\) on it first, or open the store with migrate: true/);
      }
    }
  });

  it('a write the server refuses with a message that quotes its data never shows the data in the error, its causes, String() or inspect()', async () => {
    const store = await createPostgresStore(fx.db, { schema: fx.schemaName() });
    const secret = '4111111111111111';
    await fx.db.execute(
      sql.raw(`create function "${store.schema}".refuse() returns trigger language plpgsql as $$ begin raise exception 'refused: %', row_to_json(new); end $$;
        create trigger refuse before insert on "${store.schema}".events for each row execute function "${store.schema}".refuse();
        create trigger refuse before insert on "${store.schema}".queue_messages for each row execute function "${store.schema}".refuse();
        create trigger refuse before insert on "${store.schema}".snapshots for each row execute function "${store.schema}".refuse();`),
    );
    const errors = [
      await store.events.append('s', [{ type: 'Paid', data: { pan: secret }, metadata: { userId: secret } }]).catch((e: unknown) => e),
      await store.transaction((tx) => tx.events.append('s', [{ type: 'Paid', data: { pan: secret } }])).catch((e: unknown) => e),
      await store.queue.send('q', { body: { pan: secret }, headers: { pan: secret } }).catch((e: unknown) => e),
      await store.snapshots.save('s', { version: 1, state: { pan: secret } }).catch((e: unknown) => e),
    ];
    for (const error of errors) {
      expect(isStrataError(error), String(error)).toBe(true);
      expect(leaksOf(error, secret)).toEqual([]);
      expect((error as { cause?: { code?: string } }).cause?.code).toBe('P0001');
    }
  });
});
