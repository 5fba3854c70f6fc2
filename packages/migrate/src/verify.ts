import { createHash } from 'node:crypto';
import {
  canonicalJson,
  canonicalRecord,
  compareNames,
  describeRecord,
  MigrationError,
  RECORD_KINDS,
  type RecordKind,
  type StrataRecord,
  type StrataStore,
  validateInteger,
} from '@strata/core';
import { sql } from 'drizzle-orm';
import { type MigrationSource, type MigrationTarget, openSource, openTarget } from './endpoints.js';
import { readState, run } from './state.js';

/** One record that differs between source and target. */
export interface RecordMismatch {
  /** The record's kind. */
  readonly kind: RecordKind;
  /** The record's key for people (`event at position 5 (stream "a" version 2)`); never data. */
  readonly key: string;
  /** How it differs. */
  readonly issue: 'missing-in-target' | 'only-in-target' | 'differs';
}

/** Records of one kind on each side. */
export interface SideCounts {
  /** In the source. */
  readonly source: number;
  /** In the target. */
  readonly target: number;
}

/** What {@link verifyMigration} found. */
export interface VerificationReport {
  /** Whether both sides hold the same records, stream hashes included. */
  readonly ok: boolean;
  /** Records of each kind on each side. */
  readonly counts: Record<RecordKind, SideCounts>;
  /** Streams whose hashes were compared. */
  readonly streamsCompared: number;
  /** Streams whose hashes differ, at most 20 (see `streamMismatchCount`). */
  readonly streamMismatches: readonly string[];
  /** How many streams' hashes differ. */
  readonly streamMismatchCount: number;
  /** Records that differ, at most 50 (see `mismatchCount`). */
  readonly mismatches: readonly RecordMismatch[];
  /** How many records differ. */
  readonly mismatchCount: number;
  /** Source records the target lacks because they were left out on purpose (see `exclude`). */
  readonly excluded: number;
  /**
   * From {@link verifyMigration}: whether the target holds a `finished` migration, an `interrupted` one
   * (differences are expected until it is resumed), or `none` (no migration wrote it).
   */
  readonly migration?: 'finished' | 'interrupted' | 'none';
  /** How long the comparison took. */
  readonly durationMs: number;
}

/** Options of {@link verifyStores}. */
export interface VerifyStoresOptions {
  /** Records read per batch on each side. @defaultValue 2000 */
  batchSize?: number;
  /** Stops the comparison between batches. */
  signal?: AbortSignal | undefined;
  /** Called after each batch with the source records compared so far, and how many the source holds. */
  onProgress?: (compared: number, total: number) => void;
  /**
   * Records left out on purpose (a migration's skipped ones): a source record it matches that the
   * target lacks is counted in `excluded`, not as a mismatch, and its stream's hash is not compared.
   */
  exclude?: (record: StrataRecord) => boolean;
}

/** Options of {@link verifyMigration}. */
export interface VerifyMigrationOptions extends VerifyStoresOptions {
  /** The SQLite source: a path or a better-sqlite3 connection. */
  from: MigrationSource;
  /** The PostgreSQL target: a connection string, a pg Pool or a Drizzle database. */
  to: MigrationTarget;
  /** The target's schema. @defaultValue `'strata'` */
  schema?: string;
}

const KIND_ORDER = new Map(RECORD_KINDS.map((k, i) => [k, i]));

/** Orders records as an export does: by kind, then by the kind's key. */
function compareRecords(a: StrataRecord, b: StrataRecord): number {
  const byKind = (KIND_ORDER.get(a.kind) ?? 0) - (KIND_ORDER.get(b.kind) ?? 0);
  if (byKind !== 0) return byKind;
  switch (a.kind) {
    case 'stream':
      return compareNames(a.streamId, (b as typeof a).streamId);
    case 'event': {
      const p = (b as typeof a).position;
      return a.position < p ? -1 : a.position > p ? 1 : 0;
    }
    case 'snapshot':
      return compareNames(a.streamId, (b as typeof a).streamId) || a.version - (b as typeof a).version;
    case 'message':
      return a.seq - (b as typeof a).seq;
    case 'checkpoint':
      return compareNames(a.consumer, (b as typeof a).consumer);
  }
}

async function* records(store: StrataStore, batchSize: number, signal: AbortSignal | undefined, onBatch: (n: number) => void): AsyncGenerator<StrataRecord> {
  for await (const batch of store.transfer.export({ batchSize })) {
    signal?.throwIfAborted();
    onBatch(batch.records.length);
    yield* batch.records;
  }
}

/**
 * The hash of an event's share of its stream: its id, version, type, schema version, data and metadata
 * (JSON compared by value). A stream's hash combines its events' shares; versions are inside, so order
 * and gaps count.
 */
function eventShare(e: Extract<StrataRecord, { kind: 'event' }>): Buffer {
  return createHash('sha256')
    .update(JSON.stringify([e.id, e.version, e.type, e.schemaVersion, canonicalJson(e.data) ?? e.data, canonicalJson(e.metadata) ?? e.metadata]))
    .digest();
}

function fold(hashes: Map<string, Buffer>, e: StrataRecord): void {
  if (e.kind !== 'event') return;
  const share = eventShare(e);
  const h = hashes.get(e.streamId);
  if (h === undefined) hashes.set(e.streamId, share);
  else for (let i = 0; i < h.length; i++) h[i] = (h[i] as number) ^ (share[i] as number);
}

/**
 * Compares everything two stores hold, record by record in export order (both exports are read in
 * step, so memory holds a batch per side plus a 32-byte hash per stream): counts per kind, every
 * record by value, and a hash per stream over its events' ids, versions, types, data and metadata.
 * Works between any two adapters that offer `transfer`.
 */
export async function verifyStores(source: StrataStore, target: StrataStore, options: VerifyStoresOptions = {}): Promise<VerificationReport> {
  const started = performance.now();
  const batchSize = validateInteger(options.batchSize ?? 2000, 'options.batchSize', 1, 100_000);
  const counts = Object.fromEntries(RECORD_KINDS.map((k) => [k, { source: 0, target: 0 }])) as Record<RecordKind, { source: number; target: number }>;
  const mismatches: RecordMismatch[] = [];
  let mismatchCount = 0;
  const note = (r: StrataRecord, issue: RecordMismatch['issue']) => {
    mismatchCount++;
    if (mismatches.length < 50) mismatches.push({ kind: r.kind, key: describeRecord(r), issue });
  };
  let excluded = 0;
  const excludedStreams = new Set<string>();
  const sourceHashes = new Map<string, Buffer>();
  const targetHashes = new Map<string, Buffer>();
  let compared = 0;
  const sourceCounts = options.onProgress === undefined ? undefined : await source.transfer.counts();
  const total = sourceCounts === undefined ? 0 : RECORD_KINDS.reduce((n, k) => n + sourceCounts[k], 0);
  const progress = (n: number) => {
    compared += n;
    options.onProgress?.(compared, total);
  };
  const a = records(source, batchSize, options.signal, progress);
  const b = records(target, batchSize, options.signal, () => undefined);
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareRecords(x.value, y.value);
    if (order <= 0 && !x.done) {
      counts[x.value.kind].source++;
      fold(sourceHashes, x.value);
    }
    if (order >= 0 && !y.done) {
      counts[y.value.kind].target++;
      fold(targetHashes, y.value);
    }
    if (order < 0 && !x.done) {
      if (options.exclude?.(x.value) === true) {
        excluded++;
        if ('streamId' in x.value) excludedStreams.add(x.value.streamId);
      } else note(x.value, 'missing-in-target');
    } else if (order > 0 && !y.done) note(y.value, 'only-in-target');
    else if (!x.done && !y.done && canonicalRecord(x.value) !== canonicalRecord(y.value)) note(x.value, 'differs');
    if (order <= 0) x = await a.next();
    if (order >= 0) y = await b.next();
  }
  const streams = new Set([...sourceHashes.keys(), ...targetHashes.keys()]);
  const streamMismatches: string[] = [];
  let streamMismatchCount = 0;
  for (const id of excludedStreams) streams.delete(id);
  for (const id of [...streams].sort(compareNames)) {
    const s = sourceHashes.get(id);
    const t = targetHashes.get(id);
    if (s === undefined || t === undefined || !s.equals(t)) {
      streamMismatchCount++;
      if (streamMismatches.length < 20) streamMismatches.push(id);
    }
  }
  return {
    ok: mismatchCount === 0 && streamMismatchCount === 0,
    counts,
    streamsCompared: streams.size,
    streamMismatches,
    streamMismatchCount,
    mismatches,
    mismatchCount,
    excluded,
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Checks an existing migration: opens the SQLite source (read-only) and the PostgreSQL target (writing
 * nothing: the target's schema is not migrated) and compares them with {@link verifyStores}. Records the
 * migration left out on purpose (`skipUnstorableTo`) are counted in `excluded`, not as mismatches.
 *
 * @example
 * ```ts
 * import { verifyMigration } from '@strata/migrate'
 *
 * const report = await verifyMigration({ from: './app.db', to: 'postgres://localhost/app' })
 * if (!report.ok) console.error(report.mismatches)
 * ```
 * @throws `MIGRATION` when the source is not a Strata SQLite database; `CONNECTION` when the target
 *   cannot be reached
 */
export async function verifyMigration(options: VerifyMigrationOptions): Promise<VerificationReport> {
  const source = await openSource(options.from);
  try {
    const schema = options.schema ?? 'strata';
    const target = await openTarget(options.to, schema, false);
    try {
      const [tables] = await run<{ t: string | null }>(
        target.store.db,
        'migrate.verify',
        sql`select to_regclass(${`"${schema.replaceAll('"', '""')}".events`})::text as t`,
      );
      if (tables?.t == null) throw new MigrationError(`schema ${JSON.stringify(schema)} holds no Strata tables: nothing to verify (no migration wrote it)`);
      const state = await readState(target.store.db, schema).catch(() => undefined);
      const skip = state?.skip;
      const left =
        skip === undefined ? undefined : { streams: new Set(skip.streams), messages: new Set(skip.messages), checkpoints: new Set(skip.checkpoints) };
      const exclude =
        left === undefined
          ? undefined
          : (r: StrataRecord) =>
              r.kind === 'message' ? left.messages.has(r.id) : r.kind === 'checkpoint' ? left.checkpoints.has(r.consumer) : left.streams.has(r.streamId);
      const report = await verifyStores(source.store, target.store, { ...options, ...(exclude === undefined ? {} : { exclude }) });
      return { ...report, migration: state === undefined ? 'none' : state.done ? 'finished' : 'interrupted' };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
