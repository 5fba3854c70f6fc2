import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createPostgresStore, MIGRATIONS, migrate, migrationHash, rowsOf } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();
const here = fileURLToPath(new URL('.', import.meta.url));

async function schemaObjects(schema: string) {
  const tables = rowsOf<{ t: string }>(
    await fx.db.execute(sql`select table_name as t from information_schema.tables where table_schema = ${schema} order by 1`),
  ).map((r) => r.t);
  const indexes = rowsOf<{ i: string }>(await fx.db.execute(sql`select indexname as i from pg_indexes where schemaname = ${schema} order by 1`)).map(
    (r) => r.i,
  );
  const functions = rowsOf<{ f: string }>(
    await fx.db.execute(sql`select p.proname as f from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = ${schema}`),
  ).map((r) => r.f);
  const applied = rowsOf<{ tag: string }>(await fx.db.execute(sql.raw(`select tag from "${schema}"."__strata_migrations" order by id`))).map((r) => r.tag);
  return { tables, indexes, functions, applied };
}

const EXPECTED_TABLES = ['__strata_migrations', 'checkpoints', 'consumer_leases', 'events', 'listeners', 'queue_messages', 'snapshots', 'streams'];

describe('migrate', () => {
  it('applies every shipped migration once; a second run applies nothing', async () => {
    const schema = fx.schemaName();
    const first = await migrate(fx.db, { schema });
    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.tag));
    const before = await schemaObjects(schema);
    expect((await migrate(fx.db, { schema })).applied).toEqual([]);
    expect(await schemaObjects(schema)).toEqual(before);
    expect(before.tables).toEqual(EXPECTED_TABLES);
    expect(before.functions.sort()).toEqual(['append_events', 'claim_messages', 'listened', 'note_queue', 'notify_events', 'notify_queue', 'queue_stats']);
    expect(before.applied).toEqual(MIGRATIONS.map((m) => m.tag));
    expect(before.indexes).toEqual(
      expect.arrayContaining(['events_correlation_idx', 'events_stream_version_idx', 'events_type_position_idx', 'queue_ready_idx', 'queue_dedup_idx']),
    );
  });

  it('is safe when two processes migrate the same schema at once', { timeout: 60_000 }, async () => {
    const schema = fx.schemaName();
    const script = `${here}migrate-child.ts`;
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const runChild = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--conditions=@strata/source', '--import', tsx, script, fx.url, schema], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => resolve({ code, out }));
      });
    const results = await Promise.all([runChild(), runChild()]);
    for (const r of results) expect(r.code, r.out).toBe(0);
    const applied = results.map((r) => JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { applied: string[] });
    // One process applied everything, the other waited for the lock and found nothing to do.
    expect(applied.map((a) => a.applied.length).sort()).toEqual([0, MIGRATIONS.length]);
    const objects = await schemaObjects(schema);
    expect(objects.tables).toEqual(EXPECTED_TABLES);
    expect(objects.applied).toEqual(MIGRATIONS.map((m) => m.tag));
  });

  it('refuses to go on when an applied migration was edited', async () => {
    const schema = fx.schemaName();
    await migrate(fx.db, { schema });
    await fx.db.execute(sql.raw(`update "${schema}"."__strata_migrations" set hash = 'deadbeef' where id = 0`));
    await expect(migrate(fx.db, { schema })).rejects.toMatchObject({ code: 'MIGRATION' });
  });

  it('rejects schema names that are not plain identifiers', async () => {
    for (const bad of ['', 'with space', 'quote"d', '1starts_with_digit', 'x'.repeat(64), 'dollar$sign']) {
      await expect(migrate(fx.db, { schema: bad })).rejects.toMatchObject({ code: 'VALIDATION' });
    }
  });

  it('ships exactly the SQL drizzle-kit generated in drizzle/', () => {
    const root = new URL('../', import.meta.url);
    const journal = JSON.parse(readFileSync(new URL('drizzle/meta/_journal.json', root), 'utf8')) as { entries: { idx: number; tag: string }[] };
    expect(MIGRATIONS.map((m) => [m.idx, m.tag])).toEqual(journal.entries.map((e) => [e.idx, e.tag]));
    for (const m of MIGRATIONS) {
      const file = readFileSync(new URL(`drizzle/${m.tag}.sql`, root), 'utf8');
      expect(migrationHash(m.sql), `${m.tag} is embedded as generated (run pnpm db:generate)`).toBe(migrationHash(file));
    }
  });

  it('works in any schema, side by side', async () => {
    const a = await createPostgresStore(fx.db, { schema: fx.schemaName() });
    const b = await createPostgresStore(fx.db, { schema: fx.schemaName() });
    await a.events.append('s', [{ type: 'A', data: {} }]);
    expect(await b.events.streamInfo('s')).toBeNull();
    await a.close();
    await b.close();
  });
});
