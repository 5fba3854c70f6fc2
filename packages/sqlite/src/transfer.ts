import {
  assertNoProblems,
  type CheckpointRecord,
  type EventRecord,
  type ExportPosition,
  exportCursorAfter,
  exportPositionOf,
  type MessageRecord,
  planImport,
  type RecordBatch,
  type RecordCounts,
  type RecordKind,
  type RecordProblem,
  type RecordTransfer,
  recordProblems,
  remainingKinds,
  type SnapshotRecord,
  type StoredRecords,
  type StrataRecord,
  type StreamRecord,
  ValidationError,
  validateExportOptions,
} from '@strata/core';
import type { SqliteContext, Statements } from './connection.js';

// JSON columns are selected as they are: records carry the stored text, never a parsed and re-written copy.
// Positions are cast to text so that values beyond 2^53 come back exact, under another name: ORDER BY
// would take the alias `position` for the text and sort 10 before 9.
const COLUMNS: Record<RecordKind, string> = {
  stream: 'stream_id, version, created_at, updated_at',
  event: 'CAST(position AS TEXT) AS position_text, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at',
  snapshot: 'stream_id, version, state, schema_version, created_at',
  message: 'seq, id, queue, body, headers, priority, max_attempts, dedup_id, attempt, visible_at, receipt, dead, reason, enqueued_at, dead_lettered_at',
  checkpoint: 'consumer, CAST(position AS TEXT) AS position_text, updated_at',
};

const TABLES: Record<RecordKind, string> = {
  stream: 'strata_streams',
  event: 'strata_events',
  snapshot: 'strata_snapshots',
  message: 'strata_queue_messages',
  checkpoint: 'strata_checkpoints',
};

/** Each kind's export order and the keyset condition that resumes after a record (BINARY: UTF-8 byte order). */
const ORDER: Record<RecordKind, { by: string; after: string }> = {
  stream: { by: 'stream_id', after: 'stream_id > ?' },
  event: { by: 'position', after: 'position > ?' },
  snapshot: { by: 'stream_id, version', after: '(stream_id, version) > (?, ?)' },
  message: { by: 'seq', after: 'seq > ?' },
  checkpoint: { by: 'consumer', after: 'consumer > ?' },
};

/** The columns an import writes, in the order {@link rowOf} gives their values. */
const INSERT_COLUMNS: Record<RecordKind, string> = {
  stream: 'stream_id, version, created_at, updated_at',
  event: 'position, stream_id, version, event_id, type, schema_version, data, metadata, correlation_id, recorded_at',
  snapshot: 'stream_id, version, state, schema_version, created_at',
  message: 'seq, id, queue, body, headers, priority, max_attempts, dedup_id, attempt, visible_at, receipt, dead, reason, enqueued_at, dead_lettered_at',
  checkpoint: 'consumer, position, updated_at',
};

/** Rows per multi-row INSERT: large enough to amortize the calls into SQLite, far below its 32766 bound values. */
const ROWS_PER_INSERT = 64;

const SQL = {
  count: (kind: RecordKind) => `SELECT count(*) AS n FROM ${TABLES[kind]}`,
  page: (kind: RecordKind, resume: boolean) =>
    `SELECT ${COLUMNS[kind]} FROM ${TABLES[kind]}${resume ? ` WHERE ${ORDER[kind].after}` : ''} ORDER BY ${ORDER[kind].by} LIMIT ?`,
  insert: (kind: RecordKind, rows: number) => {
    const one = `(${INSERT_COLUMNS[kind].replace(/[a-z_]+/g, '?')})`;
    return `INSERT INTO ${TABLES[kind]} (${INSERT_COLUMNS[kind]}) VALUES ${Array(rows).fill(one).join(', ')}`;
  },
  // Every stream named by the batch, stored or not, with its stored row and the version of its last stored event.
  streams: `SELECT j.value AS stream_id, s.version, s.created_at, s.updated_at,
              (SELECT max(e.version) FROM strata_events e WHERE e.stream_id = j.value) AS last_version
            FROM json_each(?) j LEFT JOIN strata_streams s ON s.stream_id = j.value`,
  head: 'SELECT CAST(coalesce(max(position), 0) AS TEXT) AS h FROM strata_events',
  events: `SELECT ${COLUMNS.event} FROM strata_events WHERE position IN (SELECT value FROM json_each(?))
           UNION ALL SELECT ${COLUMNS.event} FROM strata_events WHERE event_id IN (SELECT value FROM json_each(?))`,
  snapshots: `SELECT s.stream_id, s.version, s.state, s.schema_version, s.created_at FROM json_each(?) j
              JOIN strata_snapshots s ON s.stream_id = json_extract(j.value, '$[0]') AND s.version = json_extract(j.value, '$[1]')`,
  maxSeq: 'SELECT coalesce(max(seq), 0) AS m FROM strata_queue_messages',
  messages: `SELECT ${COLUMNS.message} FROM strata_queue_messages WHERE id IN (SELECT value FROM json_each(?))
             UNION ALL SELECT ${COLUMNS.message} FROM strata_queue_messages WHERE receipt IN (SELECT value FROM json_each(?))
             UNION ALL SELECT ${COLUMNS.message.replace(/(^|, )/g, '$1m.')} FROM json_each(?) j
               JOIN strata_queue_messages m ON m.queue = json_extract(j.value, '$[0]') AND m.dedup_id = json_extract(j.value, '$[1]')`,
  checkpoints: `SELECT ${COLUMNS.checkpoint} FROM strata_checkpoints WHERE consumer IN (SELECT value FROM json_each(?))`,
};

interface StreamRow {
  stream_id: string;
  version: number;
  created_at: number;
  updated_at: number;
}

interface EventRow {
  position_text: string;
  stream_id: string;
  version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
  recorded_at: number;
}

interface SnapshotRow {
  stream_id: string;
  version: number;
  state: string;
  schema_version: number;
  created_at: number;
}

interface MessageRow {
  seq: number;
  id: string;
  queue: string;
  body: string;
  headers: string;
  priority: number;
  max_attempts: number;
  dedup_id: string | null;
  attempt: number;
  visible_at: number;
  receipt: string | null;
  dead: number;
  reason: string | null;
  enqueued_at: number;
  dead_lettered_at: number | null;
}

interface CheckpointRow {
  consumer: string;
  position_text: string;
  updated_at: number;
}

const streamRecord = (r: StreamRow): StreamRecord => ({
  kind: 'stream',
  streamId: r.stream_id,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const eventRecord = (r: EventRow): EventRecord => ({
  kind: 'event',
  position: BigInt(r.position_text),
  streamId: r.stream_id,
  version: r.version,
  id: r.event_id,
  type: r.type,
  schemaVersion: r.schema_version,
  data: r.data,
  metadata: r.metadata,
  recordedAt: r.recorded_at,
});

const snapshotRecord = (r: SnapshotRow): SnapshotRecord => ({
  kind: 'snapshot',
  streamId: r.stream_id,
  version: r.version,
  state: r.state,
  schemaVersion: r.schema_version,
  createdAt: r.created_at,
});

const messageRecord = (r: MessageRow): MessageRecord => ({
  kind: 'message',
  id: r.id,
  queue: r.queue,
  seq: r.seq,
  body: r.body,
  headers: r.headers,
  priority: r.priority,
  maxAttempts: r.max_attempts,
  dedupId: r.dedup_id,
  attempt: r.attempt,
  visibleAt: r.visible_at,
  receipt: r.receipt,
  dead: r.dead !== 0,
  reason: r.reason,
  enqueuedAt: r.enqueued_at,
  deadLetteredAt: r.dead_lettered_at,
});

const checkpointRecord = (r: CheckpointRow): CheckpointRecord => ({
  kind: 'checkpoint',
  consumer: r.consumer,
  position: BigInt(r.position_text),
  updatedAt: r.updated_at,
});

// biome-ignore lint/suspicious/noExplicitAny: one converter per kind, chosen by the kind of the rows
const TO_RECORD: Record<RecordKind, (row: any) => StrataRecord> = {
  stream: streamRecord,
  event: eventRecord,
  snapshot: snapshotRecord,
  message: messageRecord,
  checkpoint: checkpointRecord,
};

/** The keyset values that resume an export after `p`. */
function resumeValues(p: ExportPosition): unknown[] {
  switch (p.kind) {
    case 'stream':
      return [p.streamId];
    case 'event':
      return [p.position];
    case 'snapshot':
      return [p.streamId, p.version];
    case 'message':
      return [p.seq];
    case 'checkpoint':
      return [p.consumer];
  }
}

/**
 * The correlation id append would index for `metadata`: its `correlationId` when that is a string. Only
 * text that names the key (or escapes a character, which could spell it) is parsed.
 */
function correlationOf(metadata: string): string | null {
  if (!metadata.includes('correlationId') && !metadata.includes('\\u')) return null;
  const id = (JSON.parse(metadata) as { correlationId?: unknown }).correlationId;
  return typeof id === 'string' ? id : null;
}

/** The values {@link INSERT_COLUMNS} lists for `r`. */
function rowOf(r: StrataRecord): unknown[] {
  switch (r.kind) {
    case 'stream':
      return [r.streamId, r.version, r.createdAt, r.updatedAt];
    case 'event':
      return [r.position, r.streamId, r.version, r.id, r.type, r.schemaVersion, r.data, r.metadata, correlationOf(r.metadata), r.recordedAt];
    case 'snapshot':
      return [r.streamId, r.version, r.state, r.schemaVersion, r.createdAt];
    case 'message':
      return [
        r.seq,
        r.id,
        r.queue,
        r.body,
        r.headers,
        r.priority,
        r.maxAttempts,
        r.dedupId,
        r.attempt,
        r.visibleAt,
        r.receipt,
        r.dead ? 1 : 0,
        r.reason,
        r.enqueuedAt,
        r.deadLetteredAt,
      ];
    case 'checkpoint':
      return [r.consumer, r.position, r.updatedAt];
  }
}

/** Writes `records` of one kind with multi-row INSERTs: full statements of {@link ROWS_PER_INSERT} rows, then the rest in powers of two (a few statements to prepare, all cached). */
function insertAll(S: Statements, kind: RecordKind, records: readonly StrataRecord[]): void {
  let i = 0;
  for (let size = ROWS_PER_INSERT; size >= 1; size >>= 1) {
    const stmt = records.length - i >= size ? S.get(SQL.insert(kind, size)) : undefined;
    for (; stmt !== undefined && records.length - i >= size; i += size) {
      const values: unknown[] = [];
      for (let k = i; k < i + size; k++) for (const v of rowOf(records[k] as StrataRecord)) values.push(v);
      stmt.run(values);
    }
  }
}

/** What the database holds under the keys a batch names: everything {@link plan} decides on. */
interface Stored {
  /** Stream id → its stored row (if any) and the version of its last stored event (0 for none). */
  streams: Map<string, { record: StreamRecord | undefined; lastVersion: number }>;
  /** The largest stored position, 0 when there is no event. */
  head: bigint;
  /** Stored events at the batch's positions, or with its event ids. */
  events: EventRecord[];
  /** Stored snapshots at the batch's stream and version pairs. */
  snapshots: Map<string, SnapshotRecord>;
  /** The largest stored `seq`, 0 when there is no message. */
  maxSeq: number;
  /** Stored messages with the batch's ids, receipts, or queue and dedup ids. */
  messages: MessageRecord[];
  /** Stored checkpoints of the batch's consumers. */
  checkpoints: Map<string, CheckpointRecord>;
}

const snapshotKey = (streamId: string, version: number) => JSON.stringify([streamId, version]);

/** Reads what {@link plan} needs about `records`: one query per kind (two for events and messages). */
function lookUp(S: Statements, records: readonly StrataRecord[]): Stored {
  const by = { stream: [], event: [], snapshot: [], message: [], checkpoint: [] } as {
    stream: StreamRecord[];
    event: EventRecord[];
    snapshot: SnapshotRecord[];
    message: MessageRecord[];
    checkpoint: CheckpointRecord[];
  };
  for (const r of records) (by[r.kind] as StrataRecord[]).push(r);
  // One look-up per kind, even for a kind the batch lacks: an empty list finds nothing at the cost of an
  // indexed query, which is cheaper to reason about than a guard per kind.
  const streamIds = new Set([...by.stream.map((r) => r.streamId), ...by.event.map((r) => r.streamId)]);
  const streamRows = S.get(SQL.streams).all(JSON.stringify([...streamIds])) as (Omit<StreamRow, 'version'> & {
    version: number | null;
    last_version: number | null;
  })[];
  const head = BigInt((S.get(SQL.head).get() as { h: string }).h);
  // Only positions up to the head can be stored; the rest of a fresh import looks up event ids alone.
  const positions = by.event.filter((r) => r.position <= head).map((r) => r.position.toString());
  const eventRows = S.get(SQL.events).all(`[${positions.join(',')}]`, JSON.stringify(by.event.map((r) => r.id))) as EventRow[];
  const snapshotRows = S.get(SQL.snapshots).all(JSON.stringify(by.snapshot.map((r) => [r.streamId, r.version]))) as SnapshotRow[];
  const messageRows = S.get(SQL.messages).all(
    JSON.stringify(by.message.map((r) => r.id)),
    JSON.stringify(by.message.flatMap((r) => (r.receipt === null ? [] : [r.receipt]))),
    JSON.stringify(by.message.flatMap((r) => (r.dedupId === null ? [] : [[r.queue, r.dedupId]]))),
  ) as MessageRow[];
  const checkpointRows = S.get(SQL.checkpoints).all(JSON.stringify(by.checkpoint.map((r) => r.consumer))) as CheckpointRow[];
  return {
    streams: new Map(
      streamRows.map((r) => [r.stream_id, { record: r.version === null ? undefined : streamRecord(r as StreamRow), lastVersion: r.last_version ?? 0 }]),
    ),
    head,
    events: eventRows.map(eventRecord),
    snapshots: new Map(snapshotRows.map((r) => [snapshotKey(r.stream_id, r.version), snapshotRecord(r)])),
    maxSeq: (S.get(SQL.maxSeq).get() as { m: number }).m,
    messages: messageRows.map(messageRecord),
    checkpoints: new Map(checkpointRows.map((r) => [r.consumer, checkpointRecord(r)])),
  };
}

/** The look-up in the shape core's {@link planImport} decides on. */
function storedRecords(stored: Stored): StoredRecords {
  return {
    head: stored.head,
    maxSeq: stored.maxSeq,
    streams: stored.streams,
    eventsAt: new Map(stored.events.map((e) => [e.position, e])),
    eventIds: new Set(stored.events.map((e) => e.id)),
    snapshots: [...stored.snapshots.values()],
    messages: stored.messages,
    checkpoints: [...stored.checkpoints.values()],
  };
}

/** The problems of `records`: the rules every adapter shares. SQLite stores any text and integers to 2^63 − 1, so it adds none. */
function problemsOf(records: readonly StrataRecord[]): RecordProblem[] {
  if (!Array.isArray(records)) throw new ValidationError('records', 'must be an array of records');
  return records.flatMap(recordProblems);
}

/**
 * The SQLite {@link RecordTransfer}. Export reads each batch with a keyset query when the iterator asks
 * for it, and hands JSON columns out as the stored text. Import looks up what a batch's keys already
 * hold (a few queries per batch), decides by the shared rules, then writes with multi-row INSERTs in
 * one transaction, or in a savepoint of the caller's transaction. Positions and `seq`s are inserted as
 * given; AUTOINCREMENT moves `sqlite_sequence` past them, so later appends and sends come after.
 */
export function sqliteTransfer(ctx: SqliteContext): RecordTransfer {
  const S = ctx.sql;
  return {
    async *export(options): AsyncGenerator<RecordBatch> {
      ctx.check('transfer.export');
      const o = validateExportOptions(options);
      for (const step of remainingKinds(o.after)) {
        let after = step.after;
        for (;;) {
          const from = after;
          const rows = await ctx.read({ operation: 'transfer.export' }, () =>
            from === undefined
              ? (S.get(SQL.page(step.kind, false)).all(o.batchSize) as unknown[])
              : (S.get(SQL.page(step.kind, true)).all(...resumeValues(from), o.batchSize) as unknown[]),
          );
          const records = rows.map(TO_RECORD[step.kind]);
          const last = records[records.length - 1];
          if (last === undefined) break;
          yield { kind: step.kind, records, cursor: exportCursorAfter(last) };
          if (records.length < o.batchSize) break;
          after = exportPositionOf(last);
        }
      }
    },

    async counts(): Promise<RecordCounts> {
      ctx.check('transfer.counts');
      return ctx.read({ operation: 'transfer.counts' }, () => {
        const count = (kind: RecordKind) => (S.get(SQL.count(kind)).get() as { n: number }).n;
        return { stream: count('stream'), event: count('event'), snapshot: count('snapshot'), message: count('message'), checkpoint: count('checkpoint') };
      });
    },

    async check(records) {
      ctx.check('transfer.check');
      return problemsOf(records);
    },

    async import(records) {
      ctx.check('transfer.import');
      assertNoProblems(problemsOf(records));
      return ctx.write({ operation: 'transfer.import' }, () => {
        const writes = planImport(records, storedRecords(lookUp(S, records)));
        const byKind = new Map<RecordKind, StrataRecord[]>();
        for (const r of writes) {
          const list = byKind.get(r.kind);
          if (list === undefined) byKind.set(r.kind, [r]);
          else list.push(r);
        }
        for (const [kind, list] of byKind) insertAll(S, kind, list);
        return { written: writes.length, skipped: records.length - writes.length };
      });
    },
  };
}
