import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { isStrataError } from '@strata/core';
import { leaksOf } from '@strata/core/conformance/check';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-pglite-errors-'));
afterAll(() => {
  chmodSync(join(dir, 'locked'), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

describe('errors that used to mislead', () => {
  it('a dataDir that cannot be used is a StrataError before PGlite boots', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'locked'));
    chmodSync(join(dir, 'locked'), 0o555);
    const cases: [unknown, string, RegExp][] = [
      [join(dir, 'missing', 'data'), 'CONNECTION', /does not exist, nor does the directory/],
      [join(dir, 'a-file'), 'CONNECTION', /it is not a directory/],
      [42, 'VALIDATION', /^options\.dataDir must be a non-empty string/],
      ['', 'VALIDATION', /^options\.dataDir must be a non-empty string/],
    ];
    // Root ignores permissions: the unwritable directory is only checked for other users.
    if (process.getuid?.() !== 0) cases.push([join(dir, 'locked', 'data'), 'CONNECTION', /is not writable/]);
    for (const [dataDir, code, message] of cases) {
      const started = Date.now();
      const error = await createPgliteStore({ dataDir: dataDir as string }).catch((e: unknown) => e);
      expect(isStrataError(error, code as 'CONNECTION'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      if (typeof dataDir === 'string' && dataDir !== '') expect((error as Error).message).toContain(JSON.stringify(dataDir));
      expect(Date.now() - started, 'refused before PGlite boots').toBeLessThan(1000);
    }
  });

  it('memory:// and file:// data directories keep working', async () => {
    const store = await createPgliteStore({ dataDir: 'memory://' });
    await store.events.append('s', [{ type: 'A', data: {} }]);
    await store.close();
    const onDisk = await createPgliteStore({ dataDir: `file://${join(dir, 'data')}` });
    await onDisk.events.append('s', [{ type: 'A', data: {} }]);
    await onDisk.close();
  }, 120_000);

  it('migrate: false on a database never migrated fails with MIGRATION, saying to run migrate(); and bound values never show in errors', async () => {
    const pglite = await PGlite.create();
    const store = await createPgliteStore({ pglite, migrate: false });
    for (const call of [
      () => store.events.append('s', [{ type: 'A', data: {} }]),
      () => store.events.streamInfo('s'),
      () => store.queue.send('q', { body: 1 }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(isStrataError(error, 'MIGRATION'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/run migrate\(\) on it first, or open the store with migrate: true/);
    }
    // Migrated, but a trigger of the application's refuses the write and quotes its data.
    const migrated = await createPgliteStore({ pglite });
    const secret = '4111111111111111';
    await pglite.exec(`create function "${migrated.schema}".refuse() returns trigger language plpgsql as $$ begin raise exception 'refused: %', row_to_json(new); end $$;
      create trigger refuse before insert on "${migrated.schema}".events for each row execute function "${migrated.schema}".refuse();
      create trigger refuse before insert on "${migrated.schema}".queue_messages for each row execute function "${migrated.schema}".refuse();`);
    const errors = [
      await migrated.events.append('s', [{ type: 'Paid', data: { pan: secret } }]).catch((e: unknown) => e),
      await migrated.transaction((tx) => tx.queue.send('q', { body: { pan: secret } })).catch((e: unknown) => e),
    ];
    for (const error of errors) {
      expect(isStrataError(error), String(error)).toBe(true);
      expect(leaksOf(error, secret)).toEqual([]);
    }
    await migrated.close();
    await pglite.close();
  }, 120_000);
});
