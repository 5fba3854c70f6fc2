import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import {
  describeRecord,
  type EventRecord,
  isStrataError,
  MigrationError,
  RECORD_KINDS,
  type RecordCounts,
  type RecordKind,
  type RecordProblem,
  type StrataRecord,
  type StrataStore,
  validateInteger,
} from '@strata/core';
import { migrate as migrateSchema, type PostgresStore } from '@strata/postgres';
import type Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { type MigrationSource, type MigrationTarget, openSource, openTarget } from './endpoints.js';
import { claim, ensureStateTable, type MigrationState, readState, run, type SkipKeys, saveState, ZERO } from './state.js';
import { type VerificationReport, verifyStores } from './verify.js';

/** Where a migration stands, handed to {@link MigrateOptions.onProgress} after every batch. */
export interface MigrationProgress {
  /** `scanning` while the source is read through the target's checks (every run does it first); `copying` while writing. */
  readonly phase: 'scanning' | 'copying';
  /** The kind of the last batch. */
  readonly kind: RecordKind;
  /** Records handled so far (written, skipped, or found already written by an earlier run). */
  readonly done: number;
  /** Records the source holds. */
  readonly total: number;
  /** Time since this run started. */
  readonly elapsedMs: number;
  /** Records handled per second by this run. */
  readonly recordsPerSecond: number;
  /** Estimated time to the end, when a rate is known. */
  readonly etaMs: number | undefined;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The SQLite source: the path of an existing Strata database, or a better-sqlite3 connection. */
  from: MigrationSource;
  /** The PostgreSQL target: a connection string, a pg Pool or a Drizzle database (node-postgres, PGlite). */
  to: MigrationTarget;
  /** The target's schema; created with Strata's tables when missing. @defaultValue `'strata'` */
  schema?: string;
  /** Records per batch; each batch is one transaction on the target. 1 to 100,000. @defaultValue 2000 */
  batchSize?: number;
  /** Stops the run between batches; what was written stays, and a later run with `resume` continues. */
  signal?: AbortSignal;
  /** Called after every batch. */
  onProgress?: (progress: MigrationProgress) => void;
  /**
   * Reads the whole source and reports what a run would do and every record the target could not
   * store, writing nothing anywhere (the target's schema is not even created). @defaultValue false
   */
  dryRun?: boolean;
  /**
   * Continues a run that was interrupted (a crash, a kill, an abort). Without it such a run is refused,
   * so that two sources are never mixed by mistake. A finished run is never repeated either way.
   * @defaultValue false
   */
  resume?: boolean;
  /**
   * A file to write unstorable records to instead of stopping: every record the target refuses is
   * left out and written there in full, one JSON object per line with its problems, and a stream with
   * one such record is left out whole (its row, events and snapshots), so that no stream arrives with
   * a hole in it. Without it such a record stops the run before anything is written (the source is
   * read through the target's checks first).
   */
  skipUnstorableTo?: string;
  /** Compares source and target after the run (see `verifyMigration`). @defaultValue false */
  verify?: boolean;
}

/** What {@link migrate} did. */
export interface MigrationReport {
  /**
   * `migrated`: this run wrote (or finished writing) the target. `already-migrated`: an earlier run of
   * the same source finished, nothing was written. `dry-run`: nothing was written.
   */
  readonly outcome: 'migrated' | 'already-migrated' | 'dry-run';
  /** Whether this run continued an interrupted one. */
  readonly resumed: boolean;
  /** Records of each kind in the source. */
  readonly source: RecordCounts;
  /** Records of each kind written to the target, over every run of this migration. */
  readonly written: RecordCounts;
  /** Records of each kind left out as unstorable (with `skipUnstorableTo`). */
  readonly skipped: RecordCounts;
  /** Problems found: every one in a dry run, the skipped records' otherwise (at most 1000). */
  readonly problems: readonly RecordProblem[];
  /** How many problems there are in all. */
  readonly problemCount: number;
  /** This run's duration. */
  readonly durationMs: number;
  /** Records handled per second by this run. */
  readonly recordsPerSecond: number;
  /** The comparison of source and target, with `verify`. */
  readonly verification?: VerificationReport;
}

const sum = (c: RecordCounts) => RECORD_KINDS.reduce((n, k) => n + c[k], 0);

async function targetHasTables(target: PostgresStore): Promise<boolean> {
  const [row] = await run<{ t: string | null }>(target.db, 'migrate', sql`select to_regclass(${`"${target.schema.replaceAll('"', '""')}".events`})::text as t`);
  return row?.t != null;
}

async function assertPositionsFit(source: StrataStore, target: PostgresStore): Promise<void> {
  const head = await source.events.headPosition();
  const ceiling = await target.positionCeiling();
  if (head < ceiling) return;
  let first: { position: bigint; streamId: string; version: number } | undefined;
  for await (const e of source.events.readAll({ after: ceiling - 1n, limit: 1 })) first = e;
  const which = first === undefined ? `position ${head}` : `position ${first.position} (stream ${JSON.stringify(first.streamId)} version ${first.version})`;
  throw new MigrationError(
    `cannot keep ${which}: PostgreSQL positions are (transaction id × 2^20 + n), and this database's next positions start at ${ceiling}, so events appended after the migration could sort before it. ` +
      `The target database must have used about ${(head / 1_048_576n + 1n).toString()} transaction ids first (a fresh cluster uses a few hundred). Nothing was written.`,
  );
}

function describeCounts(c: RecordCounts): string {
  return RECORD_KINDS.filter((k) => c[k] > 0)
    .map((k) => `${c[k]} ${k}${c[k] === 1 ? '' : 's'}`)
    .join(', ');
}

/** The refusal of a source holding records the target cannot store: which, and why; never data. */
function unstorable(problems: readonly RecordProblem[], count: number): MigrationError {
  const lines = problems.slice(0, 20).map((p) => `  - ${p.key}: ${p.field} ${p.reason}`);
  const more = count > lines.length ? `\n  … and ${count - lines.length} more (a dry run lists up to 1000)` : '';
  return new MigrationError(
    `the target cannot store ${count} record${count === 1 ? '' : 's'} as the source holds ${count === 1 ? 'it' : 'them'}; nothing was written. ` +
      `Fix the source, or skip such records (with their streams) into a report file:\n${lines.join('\n')}${more}`,
  );
}

/** Keys of the records left out when skipping: whole streams, and single messages and checkpoints. */
interface SkipSet {
  readonly streams: Set<string>;
  readonly messages: Set<string>;
  readonly checkpoints: Set<string>;
}

const keysOf = (skip: SkipSet): SkipKeys => ({ streams: [...skip.streams], messages: [...skip.messages], checkpoints: [...skip.checkpoints] });

function skipped(skip: SkipSet, r: StrataRecord): boolean {
  switch (r.kind) {
    case 'stream':
    case 'event':
    case 'snapshot':
      return skip.streams.has(r.streamId);
    case 'message':
      return skip.messages.has(r.id);
    case 'checkpoint':
      return skip.checkpoints.has(r.consumer);
  }
}

/** Whether problem `p` is about record `r` (problems name records by their key). */
function problemOf(p: RecordProblem, r: StrataRecord): boolean {
  return p.kind === r.kind && p.key === describeRecord(r);
}

const jsonLine = (value: unknown) => `${JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;

/** A problem about an event, built from its key alone. */
function eventProblem(streamId: string, version: number, position: bigint, field: string, reason: string): RecordProblem {
  const key = describeRecord({ kind: 'event', streamId, version, position } as EventRecord);
  return { kind: 'event', key, streamId, version, position, field, reason };
}

/**
 * What the target would refuse because of how records relate, which no record shows alone: an event
 * whose version does not follow its stream's previous one, or whose position is not after it; a stream
 * row missing, or below its last event. Asked of the SQLite source directly (indexed, nothing held in
 * memory), at most 1000 of each.
 */
function consistencyProblems(client: Database.Database): RecordProblem[] {
  const found: RecordProblem[] = [];
  const order = client
    .prepare(
      `select stream_id as s, version as v, position as p, prev_v, prev_p from (
         select stream_id, version, position, lag(version) over w as prev_v, lag(position) over w as prev_p
         from strata_events window w as (partition by stream_id order by version))
       where version <> coalesce(prev_v, 0) + 1 or position <= coalesce(prev_p, 0) limit 1000`,
    )
    .safeIntegers(true)
    .all() as { s: string; v: bigint; p: bigint; prev_v: bigint | null; prev_p: bigint | null }[];
  for (const r of order) {
    const reason =
      r.v !== (r.prev_v ?? 0n) + 1n
        ? `does not follow the stream's previous version (${r.prev_v ?? 0n}): events are missing`
        : `is not after the stream's previous event (position ${r.prev_p})`;
    found.push(eventProblem(r.s, Number(r.v), r.p, r.v !== (r.prev_v ?? 0n) + 1n ? 'version' : 'position', reason));
  }
  const rows = client
    .prepare(
      `select e.stream_id as s, max(e.version) as v, max(e.position) as p, s.version as sv
       from strata_events e left join strata_streams s on s.stream_id = e.stream_id
       group by e.stream_id having s.version is null or s.version < max(e.version) limit 1000`,
    )
    .safeIntegers(true)
    .all() as { s: string; v: bigint; p: bigint; sv: bigint | null }[];
  for (const r of rows) {
    found.push(eventProblem(r.s, Number(r.v), r.p, 'streamId', r.sv === null ? 'has no stream row' : `is past its stream row's version (${r.sv})`));
  }
  return found;
}

/** What a scan of the source found. */
interface Scan {
  /** A hash of every record, in export order: the source's identity. */
  readonly fingerprint: string;
  readonly problems: RecordProblem[];
  readonly count: number;
  readonly skip: SkipSet;
  /** Problems of records that no record shows alone, by record key (for the skip report). */
  readonly related: Map<string, RecordProblem[]>;
}

/**
 * Reads the whole source through the target's `check` and the source's consistency checks: every
 * problem, the keys to leave out when skipping, and a hash of everything. Writes nothing.
 */
async function scan(
  source: StrataStore,
  client: Database.Database,
  target: StrataStore,
  batchSize: number,
  tick: (kind: RecordKind, n: number) => void,
  signal: AbortSignal | undefined,
): Promise<Scan> {
  const problems: RecordProblem[] = [];
  let count = 0;
  const note = (p: RecordProblem) => {
    count++;
    if (problems.length < 1000) problems.push(p);
  };
  const skip: SkipSet = { streams: new Set(), messages: new Set(), checkpoints: new Set() };
  const related = new Map<string, RecordProblem[]>();
  for (const p of consistencyProblems(client)) {
    note(p);
    if (p.streamId !== undefined) skip.streams.add(p.streamId);
    related.set(p.key, [...(related.get(p.key) ?? []), p]);
  }
  const hash = createHash('sha256');
  for await (const batch of source.transfer.export({ batchSize })) {
    // Reading SQLite and checking are synchronous underneath: let signals (Ctrl-C) in between batches.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted === true) throw new MigrationError('the migration was aborted while reading the source; nothing was written', { cause: signal.reason });
    for (const r of batch.records) hash.update(jsonLine(r));
    const found = await target.transfer.check(batch.records);
    for (const p of found) note(p);
    for (const r of batch.records) {
      if (!found.some((p) => problemOf(p, r))) continue;
      if (r.kind === 'message') skip.messages.add(r.id);
      else if (r.kind === 'checkpoint') skip.checkpoints.add(r.consumer);
      else skip.streams.add(r.streamId);
    }
    tick(batch.kind, batch.records.length);
  }
  return { fingerprint: hash.digest('hex'), problems, count, skip, related };
}

/** Writes every left-out record, in full, with its problems, to the report file. */
async function writeSkipReport(path: string, source: StrataStore, target: StrataStore, found: Scan, batchSize: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for await (const batch of source.transfer.export({ batchSize })) {
      const out = batch.records.filter((r) => skipped(found.skip, r));
      if (out.length === 0) continue;
      const checked = await target.transfer.check(out);
      let text = '';
      for (const r of out) {
        const own = [...checked.filter((p) => problemOf(p, r)), ...(found.related.get(describeRecord(r)) ?? [])].map((p) => ({
          field: p.field,
          reason: p.reason,
        }));
        text += jsonLine({ record: r, problems: own.length > 0 ? own : [{ field: 'streamId', reason: 'another record of its stream cannot be stored' }] });
      }
      await file.write(text);
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * Moves everything a Strata SQLite database holds into PostgreSQL (or PGlite): events with their ids,
 * versions, positions and timestamps; stream rows; snapshots; queue messages in every state; and
 * checkpoints, so each named consumer resumes where it stopped. It reads the source (read-only) through
 * the SQLite adapter's export and writes through the PostgreSQL adapter's import, batch by batch: each
 * batch is one transaction that also records how far the run got, so a run killed at any moment
 * continues with `resume` and ends with the same target as an uninterrupted one, and a run after
 * success changes nothing.
 *
 * Before the first write it reads the whole source through the target's checks, and refuses, writing
 * nothing (not even the target's schema): a target schema holding Strata data that no run of this
 * source wrote; a source that changed since an interrupted run; a source position PostgreSQL could not
 * keep below its own future positions; records the target cannot store as the source holds them
 * (invalid JSON, U+0000, a number out of range, a stream with missing versions…), naming each by stream
 * and version — unless `skipUnstorableTo` names a report file.
 *
 * Stop the application's writers first: a source that changes during a run is refused by the next one.
 *
 * @example
 * ```ts
 * import { migrate } from '@strata/migrate'
 *
 * const report = await migrate({ from: './app.db', to: 'postgres://localhost/app', verify: true })
 * console.log(report.written, report.verification?.ok)
 * ```
 * @throws `MIGRATION` for every refusal above, and when the run is aborted; `VALIDATION` for bad
 *   options; `CONNECTION` when the target cannot be reached
 */
export async function migrate(options: MigrateOptions): Promise<MigrationReport> {
  const started = performance.now();
  const schema = options.schema ?? 'strata';
  const batchSize = validateInteger(options.batchSize ?? 2000, 'options.batchSize', 1, 100_000);
  const dryRun = options.dryRun === true;
  const { signal } = options;
  const source = await openSource(options.from);
  try {
    // Opened without applying the schema: nothing is written before every check passed.
    const target = await openTarget(options.to, schema, false);
    try {
      const counts = await source.store.transfer.counts();
      const total = sum(counts);
      let done = 0;
      // The rate (and so the ETA) is of the current phase and of this run only.
      let phase: { name: MigrationProgress['phase']; at: number; from: number } | undefined;
      const tick = (name: MigrationProgress['phase'], kind: RecordKind, n: number) => {
        if (phase?.name !== name) phase = { name, at: performance.now(), from: done };
        done += n;
        if (options.onProgress === undefined) return;
        const elapsedMs = performance.now() - started;
        const phaseMs = performance.now() - phase.at;
        const rate = phaseMs > 0 ? ((done - phase.from) / phaseMs) * 1000 : 0;
        options.onProgress({
          phase: name,
          kind,
          done,
          total,
          elapsedMs,
          recordsPerSecond: rate,
          etaMs: rate > 0 && name === 'copying' ? ((total - done) / rate) * 1000 : undefined,
        });
      };
      const finish = async (
        outcome: MigrationReport['outcome'],
        resumed: boolean,
        state: Pick<MigrationState, 'written' | 'skipped'>,
        problems: RecordProblem[],
        problemCount: number,
        exclude?: SkipSet,
      ): Promise<MigrationReport> => {
        const durationMs = Math.round(performance.now() - started);
        const report: MigrationReport = {
          outcome,
          resumed,
          source: counts,
          written: state.written,
          skipped: state.skipped,
          problems,
          problemCount,
          durationMs,
          recordsPerSecond: durationMs > 0 ? Math.round((done / durationMs) * 1000) : 0,
        };
        if (options.verify !== true || outcome === 'dry-run') return report;
        const verification = await verifyStores(source.store, target.store, {
          batchSize,
          signal,
          ...(exclude === undefined ? {} : { exclude: (r: StrataRecord) => skipped(exclude, r) }),
        });
        return { ...report, verification };
      };

      const hasTables = await targetHasTables(target.store);
      const state = hasTables ? await readState(target.store.db, schema) : undefined;
      if (state === undefined && hasTables) {
        const present = await target.store.transfer.counts();
        if (sum(present) > 0) {
          throw new MigrationError(
            `schema ${JSON.stringify(schema)} already holds Strata data (${describeCounts(present)}) that no migration of this source wrote; nothing was written. Migrate into an empty schema.`,
          );
        }
      }
      if (state !== undefined && !state.done && options.resume !== true && !dryRun) {
        throw new MigrationError(
          `schema ${JSON.stringify(schema)} holds an interrupted migration (${describeCounts(state.written) || 'no records'} written); run it again with --resume (resume: true) to continue it. Nothing was written.`,
        );
      }
      if (state?.done !== true) await assertPositionsFit(source.store, target.store);

      // Every record goes through the target's check before the first write, so a source holding one
      // the target cannot store is refused whole (or, when skipping, its streams are left out whole).
      // The same read hashes the source: a resumed or repeated run must be of the same content.
      const found = await scan(source.store, source.client, target.store, batchSize, (kind, n) => tick('scanning', kind, n), signal);
      done = 0;
      if (state !== undefined && state.fingerprint !== found.fingerprint) {
        throw new MigrationError(
          `schema ${JSON.stringify(schema)} holds a migration of another source, or of this source before it changed; nothing was written. ` +
            'Migrate into an empty schema (stop the writers of the source first).',
        );
      }
      const skipping = options.skipUnstorableTo;
      const exclude = state?.done === true ? toSet(state.skip) : skipping === undefined ? undefined : found.skip;
      if (state?.done === true) return await finish('already-migrated', false, state, [], 0, exclude);
      if (dryRun) return await finish('dry-run', false, { written: ZERO, skipped: ZERO }, found.problems, found.count);
      if (found.count > 0 && skipping === undefined) throw unstorable(found.problems, found.count);

      const db = target.store.db;
      await migrateSchema(db, { schema });
      await target.store.transaction(async (tx) => {
        await claim(tx.db, schema);
        await ensureStateTable(tx.db, schema);
      });
      if (skipping !== undefined) await writeSkipReport(skipping, source.store, target.store, found, batchSize);
      const skip = skipping === undefined ? undefined : found.skip;
      const written = { ...(state?.written ?? ZERO) };
      const left = { ...(state?.skipped ?? ZERO) };
      const current = (cursor: string | null, finished: boolean): MigrationState => ({
        fingerprint: found.fingerprint,
        cursor,
        done: finished,
        written,
        skipped: left,
        skip: keysOf(skip ?? { streams: new Set(), messages: new Set(), checkpoints: new Set() }),
      });
      done = sum(written) + sum(left);
      const before = done;
      phase = { name: 'copying', at: performance.now(), from: done };
      let cursor = state?.cursor ?? null;
      let previous: string | null | undefined = state === undefined ? undefined : state.cursor;
      for await (const batch of source.store.transfer.export({ batchSize, ...(cursor === null ? {} : { after: cursor }) })) {
        if (signal?.aborted === true) {
          const next = previous === undefined ? 'nothing was written; run it again to start over' : 'run it again with --resume (resume: true) to continue';
          throw new MigrationError(`the migration was aborted after ${done} of ${total} records; ${next}`, { cause: signal.reason });
        }
        const records = skip === undefined ? batch.records : batch.records.filter((r) => !skipped(skip, r));
        try {
          await target.store.transaction(async (tx) => {
            await claim(tx.db, schema);
            const result = await tx.transfer.import(records);
            written[batch.kind] += result.written + result.skipped;
            left[batch.kind] += batch.records.length - records.length;
            await saveState(tx.db, schema, current(batch.cursor, false), previous);
          });
          previous = batch.cursor;
        } catch (error) {
          // The scan passed, so this is something only the database could tell: say which batch.
          if (isStrataError(error, 'VALIDATION') || isStrataError(error, 'CONCURRENCY')) {
            throw new MigrationError(
              `the target refused a batch of ${batch.kind}s after ${done} of ${total} records (earlier batches are written; fix the cause, then migrate into an empty schema): ${error.message}`,
              { cause: error },
            );
          }
          throw error;
        }
        cursor = batch.cursor;
        tick('copying', batch.kind, batch.records.length);
      }
      await saveState(db, schema, current(cursor, true), previous);
      done -= before; // the rate is this run's
      return await finish(
        'migrated',
        state !== undefined,
        { written, skipped: left },
        skip === undefined ? [] : found.problems,
        skip === undefined ? 0 : found.count,
        exclude,
      );
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

function toSet(keys: SkipKeys): SkipSet {
  return { streams: new Set(keys.streams), messages: new Set(keys.messages), checkpoints: new Set(keys.checkpoints) };
}
