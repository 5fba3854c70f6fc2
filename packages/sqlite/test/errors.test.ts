import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStrataError } from '@strata/core';
import { leaksOf } from '@strata/core/conformance/check';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore, migrate } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('errors that used to mislead', () => {
  it('a store opened with migrate: false on a database never migrated fails with MIGRATION, saying to run migrate()', async () => {
    const store = await createSqliteStore(':memory:', { migrate: false });
    const calls = [
      () => store.events.append('s', [{ type: 'A', data: {} }]),
      () => store.events.streamInfo('s'),
      () => store.queue.send('q', { body: 1 }),
      () => store.snapshots.load('s'),
      () => store.checkpoints.get('c'),
    ];
    for (const call of calls) {
      const error = await call().catch((e: unknown) => e);
      expect(isStrataError(error, 'MIGRATION'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/run migrate\(\) on it first, or open the store with migrate: true/);
    }
    migrate(store.client);
    await store.events.append('s', [{ type: 'A', data: {} }]);
    await store.close();
  });

  it('a file in a directory that does not exist is CONNECTION, naming the path', async () => {
    const path = join(dir, 'missing', 'app.db');
    const error = await createSqliteStore(path).catch((e: unknown) => e);
    expect(isStrataError(error, 'CONNECTION'), String(error)).toBe(true);
    expect((error as Error).message).toContain(JSON.stringify(path));
    expect((error as Error).message).toMatch(/directory does not exist/);
  });

  it('the maxPayloadBytes option is validated', async () => {
    for (const bad of [0, 1.5, 2 ** 28, '1']) {
      const error = await createSqliteStore(':memory:', { maxPayloadBytes: bad as number }).catch((e: unknown) => e);
      expect(isStrataError(error, 'VALIDATION'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/^options\.maxPayloadBytes/);
    }
  });

  it('a write the database refuses never shows its bound values in the error, its causes, String() or inspect()', async () => {
    const secret = '4111111111111111';
    const file = join(dir, 'refusing.db');
    const store = await createSqliteStore(file);
    const raw = new Database(file);
    raw.exec(`CREATE TRIGGER refuse_events BEFORE INSERT ON strata_events BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;
      CREATE TRIGGER refuse_messages BEFORE INSERT ON strata_queue_messages BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;
      CREATE TRIGGER refuse_snapshots BEFORE INSERT ON strata_snapshots BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;`);
    raw.close();
    const errors = [
      await store.events.append('s', [{ type: 'Paid', data: { pan: secret }, metadata: { userId: secret } }]).catch((e: unknown) => e),
      await store.transaction((tx) => tx.events.append('s', [{ type: 'Paid', data: { pan: secret } }])).catch((e: unknown) => e),
      await store.queue.send('q', { body: { pan: secret }, headers: { pan: secret } }).catch((e: unknown) => e),
      await store.snapshots.save('s', { version: 1, state: { pan: secret } }).catch((e: unknown) => e),
    ];
    for (const error of errors) {
      expect(isStrataError(error), String(error)).toBe(true);
      expect(leaksOf(error, secret)).toEqual([]);
    }
    await store.close();
  });

  it('stored JSON that no longer parses (a corrupted file) is SERIALIZATION, naming the row but none of its text', async () => {
    const client = new Database(':memory:');
    const store = await createSqliteStore(client);
    await store.events.append('order-1', [{ type: 'Placed', data: { secret: 'payload-text' } }]);
    await store.queue.send('mail', { body: { secret: 'payload-text' } });
    await store.snapshots.save('order-1', { version: 1, state: { secret: 'payload-text' } });
    // V8 quotes the start of text that does not begin like JSON in its SyntaxError: the cause must not carry it.
    client.exec("UPDATE strata_events SET data = 'payload-text}'");
    client.exec('UPDATE strata_queue_messages SET headers = \'{"secret": "payload-text"\'');
    client.exec('UPDATE strata_snapshots SET state = \'{"secret": "payload-text"\'');
    const failures: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        failures.push(undefined);
      } catch (error) {
        failures.push(error);
      }
    };
    await attempt(async () => {
      for await (const _ of store.events.readStream('order-1'));
    });
    await attempt(() => store.queue.receive('mail'));
    await attempt(() => store.snapshots.load('order-1'));
    const messages = failures.map((e) => (isStrataError(e) ? [e.code, e.message] : ['not a StrataError', String(e)]));
    expect(messages).toEqual([
      ['SERIALIZATION', expect.stringMatching(/^event [0-9a-f-]{36} of stream "order-1": stored JSON cannot be parsed( \(at character \d+\))?$/)],
      ['SERIALIZATION', expect.stringMatching(/^message [0-9a-f-]{36} of queue "mail": stored JSON cannot be parsed( \(at character \d+\))?$/)],
      ['SERIALIZATION', expect.stringMatching(/^snapshot of stream "order-1": stored JSON cannot be parsed( \(at character \d+\))?$/)],
    ]);
    for (const e of failures) expect(leaksOf(e, 'payload-text')).toEqual([]);
    await store.close();
    client.close();
  });
});
