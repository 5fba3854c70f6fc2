import { MigrationError, type RecordCounts } from '@strata/core';
import { type AnyPgDatabase, mapPgError, rowsOf } from '@strata/postgres';
import { type SQL, sql } from 'drizzle-orm';

/** The keys of the records a run leaves out (with the skip option): whole streams, single messages and checkpoints. */
export interface SkipKeys {
  readonly streams: readonly string[];
  readonly messages: readonly string[];
  readonly checkpoints: readonly string[];
}

/** What the target remembers of a migration into it: one row per schema. */
export interface MigrationState {
  /** The hash of everything the source held when the run started. */
  readonly fingerprint: string;
  /** The export cursor of the last batch written, `null` before the first. */
  readonly cursor: string | null;
  /** Whether the run finished. */
  readonly done: boolean;
  /** Records written so far, per kind. */
  readonly written: RecordCounts;
  /** Records skipped so far (unstorable, with the skip option), per kind. */
  readonly skipped: RecordCounts;
  /** The keys the run leaves out. */
  readonly skip: SkipKeys;
}

/** The zero count of every kind. */
export const ZERO: RecordCounts = Object.freeze({ stream: 0, event: 0, snapshot: 0, message: 0, checkpoint: 0 });

const NO_KEYS: SkipKeys = Object.freeze({ streams: [], messages: [], checkpoints: [] });

const table = (schema: string) => sql`${sql.identifier(schema)}.${sql.identifier('migrate_state')}`;

/** Runs a statement on the target, with the adapter's error mapping (no SQL, no values in messages). */
export async function run<T>(db: AnyPgDatabase, operation: string, query: SQL): Promise<T[]> {
  try {
    return rowsOf<T>(await db.execute(query));
  } catch (error) {
    throw mapPgError(error, { operation });
  }
}

/**
 * Claims the schema for this run for the rest of the current transaction, without waiting: two runs
 * into one schema never write at once.
 *
 * @throws `MIGRATION` when another run holds it
 */
export async function claim(db: AnyPgDatabase, schema: string): Promise<void> {
  const [row] = await run<{ ok: boolean }>(db, 'migrate.state', sql`select pg_try_advisory_xact_lock(hashtext(${`strata-migrate:${schema}`})) as ok`);
  if (row?.ok !== true) throw new MigrationError(`another migration into schema ${JSON.stringify(schema)} is running; this one stopped`);
}

/** Creates the state table in the target schema (idempotent); run it in a transaction that {@link claim}ed the schema. */
export async function ensureStateTable(db: AnyPgDatabase, schema: string): Promise<void> {
  await run(
    db,
    'migrate.state',
    sql`create table if not exists ${table(schema)} (
      id integer primary key check (id = 1),
      fingerprint text not null,
      cursor text,
      done boolean not null default false,
      written jsonb not null,
      skipped jsonb not null,
      skip jsonb not null,
      started_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
  );
}

/** Reads the state, `undefined` when no migration wrote into the schema (or its table does not exist). */
export async function readState(db: AnyPgDatabase, schema: string): Promise<MigrationState | undefined> {
  const [exists] = await run<{ t: string | null }>(
    db,
    'migrate.state',
    sql`select to_regclass(${`"${schema.replaceAll('"', '""')}".migrate_state`})::text as t`,
  );
  if (exists?.t == null) return undefined;
  const [row] = await run<{ fingerprint: string; cursor: string | null; done: boolean; written: RecordCounts; skipped: RecordCounts; skip: SkipKeys }>(
    db,
    'migrate.state',
    sql`select fingerprint, cursor, done, written, skipped, skip from ${table(schema)} where id = 1`,
  );
  return row === undefined
    ? undefined
    : { ...row, written: { ...ZERO, ...row.written }, skipped: { ...ZERO, ...row.skipped }, skip: { ...NO_KEYS, ...row.skip } };
}

/**
 * Records how far the run got; run it in the batch's transaction, so that the batch and the record of
 * it commit together. A compare-and-set: the row must still say what this run last wrote (`previous`,
 * `undefined` when the run has written no row yet), so that two runs into one schema at once cannot
 * both go on.
 *
 * @throws `MIGRATION` when another run moved the state meanwhile
 */
export async function saveState(db: AnyPgDatabase, schema: string, state: MigrationState, previous: string | null | undefined): Promise<void> {
  const values = sql`${state.fingerprint}, ${state.cursor}, ${state.done}, ${JSON.stringify(state.written)}::jsonb, ${JSON.stringify(state.skipped)}::jsonb, ${JSON.stringify(state.skip)}::jsonb`;
  const rows =
    previous === undefined
      ? await run(
          db,
          'migrate.state',
          sql`insert into ${table(schema)} (id, fingerprint, cursor, done, written, skipped, skip) values (1, ${values}) on conflict (id) do nothing returning 1`,
        )
      : await run(
          db,
          'migrate.state',
          sql`update ${table(schema)} set cursor = ${state.cursor}, done = ${state.done}, written = ${JSON.stringify(state.written)}::jsonb,
                skipped = ${JSON.stringify(state.skipped)}::jsonb, skip = ${JSON.stringify(state.skip)}::jsonb, updated_at = now()
              where id = 1 and fingerprint = ${state.fingerprint} and cursor is not distinct from ${previous} and not done
              returning 1`,
        );
  if (rows.length === 0) {
    throw new MigrationError(
      `another migration into schema ${JSON.stringify(schema)} is running, or ran meanwhile; this one stopped (its last batch was not written)`,
    );
  }
}
