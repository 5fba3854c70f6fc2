import type { RecordCounts } from '@strata/core';
import { type AnyPgDatabase, rowsOf } from '@strata/postgres';
import { sql } from 'drizzle-orm';

/** What the target remembers of a migration into it: one row per schema. */
export interface MigrationState {
  /** The source's fingerprint when the run started. */
  readonly fingerprint: string;
  /** The export cursor of the last batch written, `null` before the first. */
  readonly cursor: string | null;
  /** Whether the run finished. */
  readonly done: boolean;
  /** Records written so far, per kind. */
  readonly written: RecordCounts;
  /** Records skipped so far (unstorable, with the skip option), per kind. */
  readonly skipped: RecordCounts;
}

/** The zero count of every kind. */
export const ZERO: RecordCounts = Object.freeze({ stream: 0, event: 0, snapshot: 0, message: 0, checkpoint: 0 });

const table = (schema: string) => sql`${sql.identifier(schema)}.${sql.identifier('migrate_state')}`;

/** Creates the state table in the target schema (idempotent). */
export async function ensureStateTable(db: AnyPgDatabase, schema: string): Promise<void> {
  await db.execute(sql`create table if not exists ${table(schema)} (
    id integer primary key check (id = 1),
    fingerprint text not null,
    cursor text,
    done boolean not null default false,
    written jsonb not null,
    skipped jsonb not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz
  )`);
}

/** Reads the state, `undefined` when no migration ran into the schema (or its table does not exist). */
export async function readState(db: AnyPgDatabase, schema: string): Promise<MigrationState | undefined> {
  const [exists] = rowsOf<{ t: string | null }>(await db.execute(sql`select to_regclass(${`"${schema.replaceAll('"', '""')}".migrate_state`})::text as t`));
  if (exists?.t == null) return undefined;
  const [row] = rowsOf<{ fingerprint: string; cursor: string | null; done: boolean; written: RecordCounts; skipped: RecordCounts }>(
    await db.execute(sql`select fingerprint, cursor, done, written, skipped from ${table(schema)} where id = 1`),
  );
  return row === undefined ? undefined : { ...row, written: { ...ZERO, ...row.written }, skipped: { ...ZERO, ...row.skipped } };
}

/** Records the start of a run. */
export async function startState(db: AnyPgDatabase, schema: string, fingerprint: string): Promise<void> {
  await db.execute(
    sql`insert into ${table(schema)} (id, fingerprint, cursor, done, written, skipped) values (1, ${fingerprint}, null, false, ${JSON.stringify(ZERO)}::jsonb, ${JSON.stringify(ZERO)}::jsonb)`,
  );
}

/** Moves the state past a batch; run it in the batch's transaction. */
export async function advanceState(db: AnyPgDatabase, schema: string, cursor: string, written: RecordCounts, skipped: RecordCounts): Promise<void> {
  await db.execute(
    sql`update ${table(schema)} set cursor = ${cursor}, written = ${JSON.stringify(written)}::jsonb, skipped = ${JSON.stringify(skipped)}::jsonb where id = 1`,
  );
}

/** Marks the run finished. */
export async function finishState(db: AnyPgDatabase, schema: string): Promise<void> {
  await db.execute(sql`update ${table(schema)} set done = true, finished_at = now() where id = 1`);
}
