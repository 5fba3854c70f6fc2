import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', pkg), 'utf8');
const migrations = readdirSync(new URL('drizzle/', pkg))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => readFileSync(new URL(`drizzle/${f}`, pkg), 'utf8'))
  .join('\n');

describe('the README says what the adapter does', () => {
  it('names only indexes and operator classes that the shipped migrations create', () => {
    const indexes = [...readme.matchAll(/`(\w+_(?:idx|pkey))`/g)].map((m) => m[1] as string);
    expect(indexes.length).toBeGreaterThan(5);
    for (const name of indexes) {
      // The primary key's index takes PostgreSQL's default name, <table>_pkey.
      const created = name.endsWith('_pkey') ? new RegExp(`CREATE TABLE "strata"\\."${name.slice(0, -5)}" \\([^;]*PRIMARY KEY`) : `"${name}"`;
      expect(migrations, `the README names ${name}`).toMatch(created);
    }
    for (const opclass of new Set([...readme.matchAll(/\b(\w+_ops)\b/g)].map((m) => m[1] as string))) {
      expect(migrations, `the README names the operator class ${opclass}`).toContain(opclass);
    }
  });

  it('documents its notifications: one NOTIFY per transaction from the database, the channels, the notify option', () => {
    expect(migrations).toMatch(/pg_notify\(/);
    expect(readme).toMatch(/strata_events/);
    expect(readme).toMatch(/strata_queue/);
    expect(readme).toMatch(/`notify`/);
    // The adapter's TypeScript never sends a notification itself: the database does, at commit.
    for (const f of readdirSync(new URL('src/', pkg)).filter((n) => n.endsWith('.ts') && n !== 'migrations.generated.ts')) {
      expect(readFileSync(new URL(`src/${f}`, pkg), 'utf8'), f).not.toMatch(/pg_notify\(/);
    }
  });
});
