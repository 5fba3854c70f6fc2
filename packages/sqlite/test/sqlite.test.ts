import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteStore, MIGRATIONS, migrate, migrationHash } from '../src/index.js';

describe('createSqliteStore', () => {
  it('opens in WAL mode with a busy timeout, and migrates once', async () => {
    const client = new Database(':memory:');
    const store = await createSqliteStore(client);
    expect(client.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(migrate(client).applied).toEqual([]);
    await store.close();
    expect(client.open).toBe(true); // not ours to close
    client.close();
  });

  it('uses WAL on files', async () => {
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/strata-wal-`);
    const store = await createSqliteStore(`${dir}/wal.db`);
    expect(store.client.pragma('journal_mode', { simple: true })).toBe('wal');
    await store.close();
  });

  it('reads positions beyond 2^53 without precision loss', async () => {
    const store = await createSqliteStore();
    const big = 2n ** 62n;
    store.client.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('strata_events', ?)").run(big);
    const r = await store.events.append('s', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    expect(r.firstPosition).toBe(big + 1n);
    expect(r.lastPosition).toBe(big + 2n);
    const all: bigint[] = [];
    for await (const e of store.events.readAll({ after: big })) all.push(e.position);
    expect(all).toEqual([big + 1n, big + 2n]);
    expect(await store.events.headPosition()).toBe(big + 2n);
    await store.checkpoints.set('c', big + 2n);
    expect((await store.checkpoints.get('c'))?.position).toBe(big + 2n);
    await store.close();
  });

  it('stores JSON text exactly as appended', async () => {
    const store = await createSqliteStore();
    const data = { z: 1, a: [1.5, -0.25, 1e21, 'é\n"q"'], nested: { b: null, a: true } };
    await store.events.append('s', [{ type: 'A', data }]);
    const row = store.client.prepare('SELECT data FROM strata_events').get() as { data: string };
    expect(row.data).toBe(JSON.stringify(data));
    await store.close();
  });

  it('rejects U+0000 like the other adapters, although SQLite would store it', async () => {
    const store = await createSqliteStore();
    await expect(store.events.append('s', [{ type: 'A', data: { t: 'a\u0000b' } }])).rejects.toMatchObject({ code: 'VALIDATION' });
    expect((await store.rowCounts()).events).toBe(0);
    await store.close();
  });

  it('maps a database locked past the busy timeout to TIMEOUT', async () => {
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/strata-busy-`);
    const file = `${dir}/busy.db`;
    const store = await createSqliteStore(file, { busyTimeoutMs: 50 });
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const error = await store.events.append('s', [{ type: 'A', data: {} }]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect((error as Error).message).toContain('events.append on stream "s"');
    other.exec('ROLLBACK');
    other.close();
    expect((await store.events.append('s', [{ type: 'A', data: {} }])).version).toBe(1);
    await store.close();
  });

  it('accepts a Drizzle database and exposes one', async () => {
    const db = drizzle(new Database(':memory:'));
    const store = await createSqliteStore(db);
    expect(store.db).toBe(db);
    await store.events.append('s', [{ type: 'A', data: {} }]);
    expect(db.$client.prepare('SELECT count(*) AS n FROM strata_events').get()).toEqual({ n: 1 });
    await store.close();
  });

  it('ships exactly the SQL drizzle-kit generated in drizzle/', () => {
    const root = new URL('../', import.meta.url);
    const journal = JSON.parse(readFileSync(new URL('drizzle/meta/_journal.json', root), 'utf8')) as { entries: { idx: number; tag: string }[] };
    expect(MIGRATIONS.map((m) => [m.idx, m.tag])).toEqual(journal.entries.map((e) => [e.idx, e.tag]));
    for (const m of MIGRATIONS) expect(migrationHash(m.sql)).toBe(migrationHash(readFileSync(new URL(`drizzle/${m.tag}.sql`, root), 'utf8')));
  });

  it('declares in src/schema.ts exactly what the shipped migrations create (drizzle-kit finds nothing to generate)', { timeout: 60_000 }, async () => {
    const pkg = fileURLToPath(new URL('../', import.meta.url));
    // A copy of drizzle/, so that a drift would write its new migration there, not into the package.
    const scratch = mkdtempSync(join(pkg, '.drizzle-check-'));
    try {
      cpSync(join(pkg, 'drizzle'), join(scratch, 'drizzle'), { recursive: true });
      const out = relative(pkg, join(scratch, 'drizzle')); // drizzle-kit resolves --out against the working directory
      const { stdout, stderr } = await promisify(execFile)(
        'pnpm',
        ['exec', 'drizzle-kit', 'generate', '--dialect', 'sqlite', '--schema', 'src/schema.ts', '--out', out],
        {
          cwd: pkg,
        },
      );
      expect(`${stdout}${stderr}`).toMatch(/No schema changes/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('refuses to go on when an applied migration was edited', async () => {
    const client = new Database(':memory:');
    migrate(client);
    client.exec("UPDATE __strata_migrations SET hash = 'deadbeef'");
    await expect(createSqliteStore(client)).rejects.toMatchObject({ code: 'MIGRATION' });
    client.close();
  });
});
