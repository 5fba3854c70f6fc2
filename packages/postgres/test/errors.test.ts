import { type AddressInfo, createServer } from 'node:net';
import { isStrataError } from '@strata/core';
import { leaksOf } from '@strata/core/conformance/check';
import { sql } from 'drizzle-orm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createDrizzleStore, createPostgresStore } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

describe('errors that used to mislead', () => {
  it('a connection that is no PostgreSQL URL (an unset variable, a scheme-less string, another scheme) is VALIDATION, saying what to pass, without the string', async () => {
    const cases: [unknown, string][] = [
      [undefined, 'connection must be a PostgreSQL connection URL or a Drizzle database, got undefined (is the environment variable'],
      [null, 'got null'],
      [42, 'got number'],
      [{ not: 'a database' }, 'got object'],
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
    // createDrizzleStore takes only a database, and says so.
    await expect(createDrizzleStore(undefined as never)).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('connection must be a Drizzle database, got undefined'),
    });
    // What node-postgres reads is accepted: both URL schemes in any case, with spaces around (passed on trimmed).
    for (const connection of [fx.url, fx.url.replace(/^postgres(ql)?:/, 'postgresql:'), fx.url.replace(/^postgres(ql)?:/, 'POSTGRES:'), `  ${fx.url}\n`]) {
      const store = await createPostgresStore(connection, { schema: fx.schemaName() });
      expect(await store.events.headPosition()).toBe(0n);
      await store.close();
    }
    // The socket forms and the empty string (node-postgres then reads the PG* environment variables) are
    // tried, not refused: here they find no server, so they fail as connections do.
    const noServer = { PGHOST: '/nonexistent-strata-socket-dir', PGPORT: '5', PGCONNECT_TIMEOUT: '2' };
    const saved = Object.fromEntries(Object.keys(noServer).map((k) => [k, process.env[k]]));
    Object.assign(process.env, noServer);
    onTestFinished(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    for (const connection of [
      '/nonexistent-strata-socket-dir app',
      'socket:/nonexistent-strata-socket-dir?db=app',
      'postgres:///app?host=/nonexistent-strata-socket-dir',
      '',
    ]) {
      const error = await createPostgresStore(connection, { connectionTimeoutMs: 3000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(connection)).toMatchObject({ code: 'CONNECTION' });
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
