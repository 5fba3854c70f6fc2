/**
 * The PostgreSQL transfer: export in keyset pages, and an import that plans a batch against what is
 * stored under its keys (as the memory adapter does) and then writes each kind in one statement.
 *
 * Imported events keep their positions, which breaks the rule the gap-safe reads rest on (position
 * order is transaction order). Three things restore it: new positions must be below (oldest running
 * transaction id) × 2^20, where every append still to come begins; the import locks appends out
 * (waiting for those in flight) so that nothing commits a larger position meanwhile; and imported rows
 * carry a transaction id older than every running transaction, so that readers see them as soon as
 * they commit — a reader can never have passed them.
 *
 * @module
 */
import {
  assertNoProblems,
  type CheckpointRecord,
  type EventRecord,
  type ExportPosition,
  exportCursorAfter,
  exportPositionOf,
  inspectJsonText,
  type JsonValue,
  MAX_PAYLOAD_BYTES,
  type MessageRecord,
  planImport,
  type RecordBatch,
  type RecordCounts,
  type RecordKind,
  type RecordProblem,
  type RecordTransfer,
  recordProblem,
  recordProblems,
  remainingKinds,
  type SnapshotRecord,
  type StoredRecords,
  type StrataRecord,
  type StreamRecord,
  ValidationError,
  validateExportOptions,
} from '@strata/core';
import { type SQL, sql } from 'drizzle-orm';
import { exactEpochMsText, type PgContext, timestampOfMsText } from './context.js';
import { textArray } from './events.js';
import { jsonbLowerBound, utf8Length } from './limits.js';

/**
 * Positions are (transaction id) × 2^20 + n (see the append function): every transaction that can
 * still commit, or starts later, appends above (oldest running transaction id) × 2^20.
 */
const POSITIONS_PER_TRANSACTION = 1_048_576n;

/**
 * The earliest instant `timestamptz` holds, in epoch milliseconds: 4714-11-24 00:00:00 UTC BC (Julian
 * day 0). The latest, in the year 294276, is beyond every `Date`.
 */
export const MIN_PG_TIME_MS = -210_866_803_200_000;

/**
 * The largest decimal exponent of a JSON number `jsonb` takes (it stores numbers as `numeric`, which
 * holds up to 131072 digits before the decimal point): `1e131071` is stored, `1e131072` refused.
 */
export const MAX_PG_JSON_EXPONENT = 131_071;

/**
 * The most digits after the decimal point a JSON number may have as written, once its exponent is
 * applied (`numeric`'s display scale): `1e-16383` and `1.` followed by 16383 zeros are stored,
 * `1e-16384`, `1.5e-16383` and `0e-16384` refused.
 */
export const MAX_PG_JSON_SCALE = 16_383;

/** An exponent of five digits or more. */
const LONG_EXPONENT = /[eE][+-]?0*[1-9][0-9]{4}/;
const NUMBER = /-?[0-9]+(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?/y;

/**
 * The largest display scale of the numbers of valid JSON `text` as PostgreSQL reads them: digits after
 * the point as written (trailing zeros count), minus the exponent.
 */
function maxWrittenScale(text: string): number {
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Skip a string, escapes included (the text is valid JSON).
      for (i++; text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) continue;
      const fraction = m[1]?.length ?? 0;
      const exponent = m[2] === undefined ? 0 : Math.max(-1e15, Math.min(1e15, Number(m[2])));
      max = Math.max(max, fraction - exponent);
      i = NUMBER.lastIndex - 1;
    }
  }
  return max;
}

/** Why PostgreSQL's `jsonb` would refuse valid JSON `text`, if it would. */
function jsonbProblem(text: string): string | undefined {
  if (text.includes('-0') && inspectJsonText(text).hasNegativeZero) return "holds -0, which PostgreSQL's numeric stores as 0";
  // Past either limit, a number is written with a 5-digit exponent, or with over 6383 digits and an
  // exponent of at most 4: most texts have neither, and need no second reading.
  if (text.length < MAX_PG_JSON_SCALE - 9_999 && !LONG_EXPONENT.test(text)) return undefined;
  const info = inspectJsonText(text);
  if (!info.valid) return undefined; // the generic checks report it
  if (info.maxExponent > MAX_PG_JSON_EXPONENT) {
    return `holds a number beyond PostgreSQL's numeric range (more than ${MAX_PG_JSON_EXPONENT + 1} digits before the decimal point)`;
  }
  // inspectJsonText drops trailing zeros; numeric keeps them in its scale.
  if (Math.max(info.maxFractionDigits, maxWrittenScale(text)) > MAX_PG_JSON_SCALE) {
    return `holds a number with more than ${MAX_PG_JSON_SCALE} digits after the decimal point, beyond PostgreSQL's numeric`;
  }
  // As appends do (limits.ts): a text of n UTF-16 units holds at most 3n bytes of strings and keys.
  if (text.length > MAX_PAYLOAD_BYTES / 3) {
    const bytes = jsonbLowerBound(JSON.parse(text) as JsonValue);
    if (bytes > MAX_PAYLOAD_BYTES) return `needs at least ${bytes} bytes as jsonb, beyond PostgreSQL's limit of ${MAX_PAYLOAD_BYTES} for one jsonb value`;
  }
  return undefined;
}

/** How long an import that holds events waits for the appends in flight before it gives up (`TIMEOUT`). */
export const IMPORT_LOCK_TIMEOUT_MS = 5000;

/** A `correlationId` longer than this (UTF-8) may not fit the btree index on correlation ids. */
const MAX_CORRELATION_ID_BYTES = 2600;

function correlationProblem(metadata: string): string | undefined {
  if (metadata.length * 3 <= MAX_CORRELATION_ID_BYTES || !metadata.includes('correlationId')) return undefined;
  let id: unknown;
  try {
    id = (JSON.parse(metadata) as { correlationId?: unknown }).correlationId;
  } catch {
    return undefined; // the generic checks report it
  }
  if (typeof id !== 'string' || utf8Length(id) <= MAX_CORRELATION_ID_BYTES) return undefined;
  return `has a correlationId of more than ${MAX_CORRELATION_ID_BYTES} bytes, which PostgreSQL's index on correlation ids may not hold`;
}

function timeProblem(ms: number): string | undefined {
  return ms < MIN_PG_TIME_MS ? `is before 4714-11-24 BC (${MIN_PG_TIME_MS}), the earliest instant PostgreSQL's timestamptz holds` : undefined;
}

/**
 * What PostgreSQL cannot store exactly of a record that passes the generic checks: numbers beyond
 * `numeric`, instants before `timestamptz`'s range, a `jsonb` value over its size limit.
 */
export function pgRecordProblems(record: StrataRecord): RecordProblem[] {
  const found: RecordProblem[] = [];
  const add = (field: string, reason: string | undefined) => {
    if (reason !== undefined) found.push(recordProblem(record, field, reason));
  };
  switch (record.kind) {
    case 'stream':
      add('createdAt', timeProblem(record.createdAt));
      add('updatedAt', timeProblem(record.updatedAt));
      break;
    case 'event':
      add('data', jsonbProblem(record.data));
      add('metadata', jsonbProblem(record.metadata) ?? correlationProblem(record.metadata));
      add('recordedAt', timeProblem(record.recordedAt));
      break;
    case 'snapshot':
      add('state', jsonbProblem(record.state));
      add('createdAt', timeProblem(record.createdAt));
      break;
    case 'message':
      add('body', jsonbProblem(record.body));
      add('headers', jsonbProblem(record.headers));
      add('visibleAt', timeProblem(record.visibleAt));
      add('enqueuedAt', timeProblem(record.enqueuedAt));
      if (record.deadLetteredAt !== null) add('deadLetteredAt', timeProblem(record.deadLetteredAt));
      break;
    case 'checkpoint':
      add('updatedAt', timeProblem(record.updatedAt));
      break;
  }
  return found;
}

function problemsOf(records: readonly StrataRecord[]): RecordProblem[] {
  if (!Array.isArray(records)) throw new ValidationError('records', 'must be an array of records');
  return records.flatMap((r) => {
    const generic = recordProblems(r);
    return generic.length > 0 ? generic : pgRecordProblems(r);
  });
}

/** Runs `fn` in one transaction: a new one on the store, the running one inside a transaction. */
export type PgAtomic = <T>(operation: string, fn: (ctx: PgContext) => Promise<T>) => Promise<T>;

const ms = (column: string) => sql.raw(exactEpochMsText(column));
const at = (field: string) => sql.raw(timestampOfMsText(`x.${field}`));
/** A jsonb field of the recordset: `jsonb_to_recordset` reads a JSON `null` as SQL NULL. */
const json_ = (field: string) => sql.raw(`coalesce(x.${field}, 'null'::jsonb)`);
const uuids = (values: readonly string[]) => `{${values.join(',')}}`;

interface StreamRow {
  s: string;
  v: string;
  c: number;
  u: number;
}
interface EventRow {
  p: string;
  s: string;
  v: string;
  id: string;
  type: string;
  sv: number;
  d: string;
  m: string;
  at: number;
}
interface SnapshotRow {
  s: string;
  v: string;
  state: string;
  sv: number;
  c: number;
}
interface MessageRow {
  id: string;
  queue: string;
  sq: string;
  body: string;
  headers: string;
  priority: number;
  ma: number;
  dedup: string | null;
  attempt: number;
  vis: number;
  receipt: string | null;
  dead: boolean;
  reason: string | null;
  enq: number;
  dla: number | null;
}
interface CheckpointRow {
  c: string;
  p: string;
  u: number;
}

const STREAM_COLUMNS = sql`stream_id as s, version::text as v, ${ms('created_at')} as c, ${ms('updated_at')} as u`;
const EVENT_COLUMNS = sql`position::text as p, stream_id as s, version::text as v, event_id::text as id, type, schema_version as sv,
  data::text as d, metadata::text as m, ${ms('recorded_at')} as at`;
const SNAPSHOT_COLUMNS = sql`stream_id as s, version::text as v, state::text as state, schema_version as sv, ${ms('created_at')} as c`;
// Output names differ from the columns: ORDER BY would otherwise sort by the text alias ("10" < "9").
const MESSAGE_COLUMNS = sql`id::text as id, queue, seq::text as sq, body::text as body, headers::text as headers, priority,
  max_attempts as ma, dedup_id as dedup, attempt, ${ms('visible_at')} as vis, receipt::text as receipt, dead, reason,
  ${ms('enqueued_at')} as enq, ${ms('dead_lettered_at')} as dla`;
const CHECKPOINT_COLUMNS = sql`consumer as c, position::text as p, ${ms('updated_at')} as u`;

const toStream = (r: StreamRow): StreamRecord => ({ kind: 'stream', streamId: r.s, version: Number(r.v), createdAt: Number(r.c), updatedAt: Number(r.u) });
const toEvent = (r: EventRow): EventRecord => ({
  kind: 'event',
  position: BigInt(r.p),
  streamId: r.s,
  version: Number(r.v),
  id: r.id,
  type: r.type,
  schemaVersion: r.sv,
  data: r.d,
  metadata: r.m,
  recordedAt: Number(r.at),
});
const toSnapshot = (r: SnapshotRow): SnapshotRecord => ({
  kind: 'snapshot',
  streamId: r.s,
  version: Number(r.v),
  state: r.state,
  schemaVersion: r.sv,
  createdAt: Number(r.c),
});
const toMessage = (r: MessageRow): MessageRecord => ({
  kind: 'message',
  id: r.id,
  queue: r.queue,
  seq: Number(r.sq),
  body: r.body,
  headers: r.headers,
  priority: r.priority,
  maxAttempts: r.ma,
  dedupId: r.dedup,
  attempt: r.attempt,
  visibleAt: Number(r.vis),
  receipt: r.receipt,
  dead: r.dead,
  reason: r.reason,
  enqueuedAt: Number(r.enq),
  deadLetteredAt: r.dla === null ? null : Number(r.dla),
});
const toCheckpoint = (r: CheckpointRow): CheckpointRecord => ({ kind: 'checkpoint', consumer: r.c, position: BigInt(r.p), updatedAt: Number(r.u) });

/** What is stored under the keys of a batch, read before planning it. */
interface Stored {
  /** Exclusive bound of new positions: (oldest running transaction id) × 2^20. */
  ceiling: bigint;
  /** The `transaction_id` imported events get: older than every transaction running now. */
  transactionId: string;
  /** The largest stored position, 0 without events. */
  head: bigint;
  /** The largest stored `seq`, or a value above it no smaller than any new message's. */
  lastSeq: number;
  streams: Map<string, { record: StreamRecord; lastEvent: number }>;
  eventsAt: Map<bigint, EventRecord>;
  eventIds: Set<string>;
  snapshots: Map<string, SnapshotRecord>;
  messages: MessageRecord[];
  checkpoints: Map<string, CheckpointRecord>;
}

const snapshotKey = (streamId: string, version: number) => JSON.stringify([streamId, version]);

/** The PostgreSQL {@link RecordTransfer}; `atomic` gives `import` its one transaction. */
export function pgTransfer(ctx: PgContext, atomic: PgAtomic): RecordTransfer {
  const { names } = ctx;
  const table = `"${names.schema}"."queue_messages"`;
  const lastSeq = sql`coalesce(pg_sequence_last_value(pg_get_serial_sequence(${table}, 'seq')::regclass), 0)`;

  const page = async (kind: RecordKind, after: ExportPosition | undefined, n: number): Promise<StrataRecord[]> => {
    const subject = { operation: 'transfer.export' };
    switch (kind) {
      case 'stream': {
        const from = after?.kind === 'stream' ? sql`where stream_id > ${after.streamId}` : sql``;
        const rows = await ctx.run<StreamRow>(subject, sql`select ${STREAM_COLUMNS} from ${names.streams} ${from} order by stream_id limit ${n}`);
        return rows.map(toStream);
      }
      case 'event': {
        // Gap-safe, as readAll: a cursor never passes a transaction that may still commit smaller positions.
        const from = after?.kind === 'event' ? after.position : 0n;
        const rows = await ctx.run<EventRow>(
          subject,
          sql`select ${EVENT_COLUMNS} from ${names.events}
              where position > ${from.toString()}::bigint
                and (transaction_id < pg_snapshot_xmin(pg_current_snapshot()) or transaction_id = pg_current_xact_id_if_assigned())
              order by position limit ${n}`,
        );
        return rows.map(toEvent);
      }
      case 'snapshot': {
        // snapshots.stream_id has the database's collation: order bytewise explicitly.
        const from = after?.kind === 'snapshot' ? sql`where (stream_id collate "C", version) > (${after.streamId}, ${after.version})` : sql``;
        const rows = await ctx.run<SnapshotRow>(
          subject,
          sql`select ${SNAPSHOT_COLUMNS} from ${names.snapshots} ${from} order by stream_id collate "C", version limit ${n}`,
        );
        return rows.map(toSnapshot);
      }
      case 'message': {
        const from = after?.kind === 'message' ? after.seq : 0;
        const rows = await ctx.run<MessageRow>(subject, sql`select ${MESSAGE_COLUMNS} from ${names.messages} where seq > ${from} order by seq limit ${n}`);
        return rows.map(toMessage);
      }
      case 'checkpoint': {
        const from = after?.kind === 'checkpoint' ? sql`where consumer collate "C" > ${after.consumer}` : sql``;
        const rows = await ctx.run<CheckpointRow>(
          subject,
          sql`select ${CHECKPOINT_COLUMNS} from ${names.checkpoints} ${from} order by consumer collate "C" limit ${n}`,
        );
        return rows.map(toCheckpoint);
      }
    }
  };

  /** Reads what is stored under the keys of `records`: a few indexed lookups, one per kind present. */
  const lookUp = async (c: PgContext, records: readonly StrataRecord[]): Promise<Stored> => {
    const subject = { operation: 'transfer.import' };
    const of = <K extends RecordKind>(kind: K) => records.filter((r): r is Extract<StrataRecord, { kind: K }> => r.kind === kind);
    const events = of('event');
    const snapshots = of('snapshot');
    const messages = of('message');
    const consumers = of('checkpoint').map((r) => r.consumer);
    const streamIds = [...new Set([...of('stream').map((r) => r.streamId), ...events.map((r) => r.streamId)])];
    const stored: Stored = {
      ceiling: 0n,
      transactionId: '0',
      head: 0n,
      lastSeq: 0,
      streams: new Map(),
      eventsAt: new Map(),
      eventIds: new Set(),
      snapshots: new Map(),
      messages: [],
      checkpoints: new Map(),
    };
    if (events.length > 0) {
      // Appends wait until this transaction ends, and it waits for those in flight: see `write`. Not
      // for ever: appends queue behind the lock request, so it gives up after IMPORT_LOCK_TIMEOUT_MS
      // (the setting is put back for the rest of an enclosing transaction).
      const [prev] = await c.run<{ t: string }>(
        subject,
        sql`select current_setting('lock_timeout') as t, set_config('lock_timeout', ${String(IMPORT_LOCK_TIMEOUT_MS)}, true)`,
      );
      await c.run(subject, sql`lock table ${names.events} in share row exclusive mode`);
      await c.run(subject, sql`select set_config('lock_timeout', ${prev?.t ?? '0'}, true)`);
    }
    const [head] = await c.run<{ xmin: string; head: string | null; seq: string | null }>(
      subject,
      sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin,
                 ${events.length > 0 ? sql`(select max(position) from ${names.events})::text` : sql`null`} as head,
                 ${messages.length > 0 ? sql`${lastSeq}::text` : sql`null`} as seq`,
    );
    const xmin = BigInt(head?.xmin ?? '0');
    stored.ceiling = xmin * POSITIONS_PER_TRANSACTION;
    stored.transactionId = (xmin - 1n).toString();
    stored.head = BigInt(head?.head ?? '0');
    stored.lastSeq = Number(head?.seq ?? '0');
    if (streamIds.length > 0) {
      const rows = await c.run<StreamRow & { last: string }>(
        subject,
        sql`select ${STREAM_COLUMNS}, (select coalesce(max(e.version), 0) from ${names.events} e where e.stream_id = s.stream_id)::text as last
            from ${names.streams} s where stream_id = any(${textArray(streamIds)}::text[])`,
      );
      for (const r of rows) stored.streams.set(r.s, { record: toStream(r), lastEvent: Number(r.last) });
    }
    if (events.length > 0) {
      const rows = await c.run<EventRow>(
        subject,
        sql`select ${EVENT_COLUMNS} from ${names.events}
            where position = any(${`{${events.map((e) => e.position).join(',')}}`}::bigint[])
               or event_id = any(${uuids(events.map((e) => e.id))}::uuid[])`,
      );
      for (const r of rows) {
        stored.eventsAt.set(BigInt(r.p), toEvent(r));
        stored.eventIds.add(r.id);
      }
    }
    if (snapshots.length > 0) {
      const keys = JSON.stringify(snapshots.map((s) => ({ s: s.streamId, v: s.version })));
      const rows = await c.run<SnapshotRow>(
        subject,
        sql`select ${SNAPSHOT_COLUMNS} from ${names.snapshots}
            where (stream_id, version) in (select x.s, x.v from jsonb_to_recordset(${keys}::jsonb) as x(s text, v bigint))`,
      );
      for (const r of rows) stored.snapshots.set(snapshotKey(r.s, Number(r.v)), toSnapshot(r));
    }
    if (messages.length > 0) {
      const receipts = messages.flatMap((m) => (m.receipt === null ? [] : [m.receipt]));
      const dedups = JSON.stringify(messages.flatMap((m) => (m.dedupId === null ? [] : [{ q: m.queue, d: m.dedupId }])));
      const rows = await c.run<MessageRow>(
        subject,
        sql`select ${MESSAGE_COLUMNS} from ${names.messages}
            where id = any(${uuids(messages.map((m) => m.id))}::uuid[])
               or receipt = any(${uuids(receipts)}::uuid[])
               or (dedup_id is not null and (queue, dedup_id) in (select x.q, x.d from jsonb_to_recordset(${dedups}::jsonb) as x(q text, d text)))`,
      );
      stored.messages = rows.map(toMessage);
      // The sequence's last value is at least every stored seq, and usually just that. When a new
      // message is not past it (a sparse source, or a retry after a rollback, which does not take back
      // the sequence), the stored seqs themselves decide: a scan, as no index leads with seq.
      const storedIds = new Set(stored.messages.map((m) => m.id));
      if (messages.some((m) => !storedIds.has(m.id) && m.seq <= stored.lastSeq)) {
        const [max] = await c.run<{ m: string }>(subject, sql`select coalesce(max(seq), 0)::text as m from ${names.messages}`);
        stored.lastSeq = Number(max?.m ?? '0');
      }
    }
    if (consumers.length > 0) {
      const rows = await c.run<CheckpointRow>(
        subject,
        sql`select ${CHECKPOINT_COLUMNS} from ${names.checkpoints} where consumer = any(${textArray(consumers)}::text[])`,
      );
      for (const r of rows) stored.checkpoints.set(r.c, toCheckpoint(r));
    }
    return stored;
  };

  return {
    async *export(options): AsyncGenerator<RecordBatch> {
      ctx.check('transfer.export');
      const o = validateExportOptions(options);
      for (const step of remainingKinds(o.after)) {
        let after = step.after;
        for (;;) {
          const records = await page(step.kind, after, o.batchSize);
          const last = records[records.length - 1];
          if (last === undefined) break;
          yield { kind: step.kind, records, cursor: exportCursorAfter(last) };
          if (records.length < o.batchSize) break;
          after = exportPositionOf(last);
        }
      }
    },

    async counts(): Promise<RecordCounts> {
      const [row] = await ctx.run<RecordCounts>(
        { operation: 'transfer.counts' },
        sql`select
          (select count(*) from ${names.streams})::float8 as stream,
          (select count(*) from ${names.events}
            where transaction_id < pg_snapshot_xmin(pg_current_snapshot()) or transaction_id = pg_current_xact_id_if_assigned())::float8 as event,
          (select count(*) from ${names.snapshots})::float8 as snapshot,
          (select count(*) from ${names.messages})::float8 as message,
          (select count(*) from ${names.checkpoints})::float8 as checkpoint`,
      );
      return {
        stream: Number(row?.stream ?? 0),
        event: Number(row?.event ?? 0),
        snapshot: Number(row?.snapshot ?? 0),
        message: Number(row?.message ?? 0),
        checkpoint: Number(row?.checkpoint ?? 0),
      };
    },

    async check(records) {
      ctx.check('transfer.check');
      return problemsOf(records);
    },

    async import(records) {
      ctx.check('transfer.import');
      assertNoProblems(problemsOf(records));
      if (records.length === 0) return { written: 0, skipped: 0 };
      return atomic('transfer.import', async (c) => {
        const stored = await lookUp(c, records);
        const writes = plan(stored, records);
        await write(c, writes, stored.transactionId);
        return { written: writes.length, skipped: records.length - writes.length };
      });
    },
  };
}

/** Decides by core's import rules, plus PostgreSQL's own: a new position below the ceiling. */
function plan(stored: Stored, records: readonly StrataRecord[]): StrataRecord[] {
  const view: StoredRecords = {
    head: stored.head,
    maxSeq: stored.lastSeq,
    streams: new Map([...stored.streams].map(([id, s]) => [id, { record: s.record, lastVersion: s.lastEvent }])),
    eventsAt: stored.eventsAt,
    eventIds: stored.eventIds,
    snapshots: [...stored.snapshots.values()],
    messages: stored.messages,
    checkpoints: [...stored.checkpoints.values()],
  };
  return planImport(records, view, {
    newEvent: (r) =>
      r.position < stored.ceiling
        ? undefined
        : `its position is not below ${stored.ceiling}, where positions of transactions still running or yet to start begin ` +
          `(PostgreSQL positions are transaction id × 2^20), so a later append could take a smaller position than it; ` +
          `positions this high can be imported once the server's transaction ids pass ${r.position / POSITIONS_PER_TRANSACTION + 1n}`,
  });
}

/** Characters of JSON per statement: far below jsonb's 256 MiB limit for the batch's array. */
const CHUNK_CHARS = 16_000_000;

/** Splits `rows` (JSON texts of objects) into JSON arrays of at most about {@link CHUNK_CHARS}. */
function* chunks(rows: readonly string[]): Generator<string> {
  let start = 0;
  let size = 0;
  for (let i = 0; i < rows.length; i++) {
    size += (rows[i] as string).length + 1;
    if (size > CHUNK_CHARS && i > start) {
      yield `[${rows.slice(start, i).join(',')}]`;
      start = i;
      size = (rows[i] as string).length + 1;
    }
  }
  if (start < rows.length) yield `[${rows.slice(start).join(',')}]`;
}

const str = JSON.stringify;

/**
 * Writes planned records, each kind as JSON arrays expanded by `jsonb_to_recordset` in one statement
 * per chunk. JSON fields are spliced into the array as they are, so that `jsonb` reads each once,
 * exactly (a number wider than a double keeps its digits). Imported events get `transactionId`, older
 * than every transaction running: with appends locked out meanwhile (see `lookUp`) and their positions
 * below every later append's, readers see them in position order as soon as they commit.
 */
async function write(c: PgContext, writes: readonly StrataRecord[], transactionId: string): Promise<void> {
  const subject = { operation: 'transfer.import' };
  const { names } = c;
  const rows: Record<RecordKind, string[]> = { stream: [], event: [], snapshot: [], message: [], checkpoint: [] };
  for (const r of writes) {
    switch (r.kind) {
      case 'stream':
        rows.stream.push(`{"s":${str(r.streamId)},"v":${r.version},"c":${r.createdAt},"u":${r.updatedAt}}`);
        break;
      case 'event':
        rows.event.push(
          `{"p":"${r.position}","s":${str(r.streamId)},"v":${r.version},"i":"${r.id}","t":${str(r.type)},"sv":${r.schemaVersion},"d":${r.data},"m":${r.metadata},"at":${r.recordedAt}}`,
        );
        break;
      case 'snapshot':
        rows.snapshot.push(`{"s":${str(r.streamId)},"v":${r.version},"st":${r.state},"sv":${r.schemaVersion},"c":${r.createdAt}}`);
        break;
      case 'message':
        rows.message.push(
          `{"i":"${r.id}","q":${str(r.queue)},"seq":${r.seq},"b":${r.body},"h":${r.headers},"pr":${r.priority},"ma":${r.maxAttempts},` +
            `"dd":${str(r.dedupId)},"a":${r.attempt},"vis":${r.visibleAt},"rc":${str(r.receipt)},"dead":${r.dead},"rs":${str(r.reason)},` +
            `"enq":${r.enqueuedAt},"dla":${str(r.deadLetteredAt)}}`,
        );
        break;
      case 'checkpoint':
        rows.checkpoint.push(`{"c":${str(r.consumer)},"p":"${r.position}","u":${r.updatedAt}}`);
        break;
    }
  }
  const statements: [string[], (json: string) => SQL][] = [
    [
      rows.stream,
      (json) => sql`insert into ${names.streams} (stream_id, version, created_at, updated_at)
        select x.s, x.v, ${at('c')}, ${at('u')} from jsonb_to_recordset(${json}::jsonb) as x(s text, v bigint, c bigint, u bigint)`,
    ],
    [
      rows.event,
      (json) => sql`insert into ${names.events} (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
        select x.p, ${transactionId}::xid8, x.s, x.v, x.i, x.t, x.sv, ${json_('d')}, ${json_('m')}, ${at('at')}
        from jsonb_to_recordset(${json}::jsonb) as x(p bigint, s text, v bigint, i uuid, t text, sv integer, d jsonb, m jsonb, at bigint)`,
    ],
    [
      rows.snapshot,
      (json) => sql`insert into ${names.snapshots} (stream_id, version, state, schema_version, created_at)
        select x.s, x.v, ${json_('st')}, x.sv, ${at('c')} from jsonb_to_recordset(${json}::jsonb) as x(s text, v bigint, st jsonb, sv integer, c bigint)`,
    ],
    [
      rows.message,
      // seq is kept, and the identity sequence moved past it so that later sends come after.
      (json) => sql`with ins as (
          insert into ${names.messages} (id, queue, seq, body, headers, priority, max_attempts, dedup_id, attempt, visible_at, receipt, dead,
            reason, enqueued_at, dead_lettered_at)
          overriding system value
          select x.i, x.q, x.seq, ${json_('b')}, ${json_('h')}, x.pr, x.ma, x.dd, x.a, ${at('vis')}, x.rc, x.dead, x.rs, ${at('enq')}, ${at('dla')}
          from jsonb_to_recordset(${json}::jsonb) as x(i uuid, q text, seq bigint, b jsonb, h jsonb, pr integer, ma integer, dd text, a integer,
            vis bigint, rc uuid, dead boolean, rs text, enq bigint, dla bigint)
          returning seq
        )
        select setval(q.s, greatest((select max(seq) from ins), coalesce(pg_sequence_last_value(q.s), 0)))
        from (select pg_get_serial_sequence(${`"${names.schema}"."queue_messages"`}, 'seq')::regclass as s) q`,
    ],
    [
      rows.checkpoint,
      (json) => sql`insert into ${names.checkpoints} (consumer, position, updated_at)
        select x.c, x.p, ${at('u')} from jsonb_to_recordset(${json}::jsonb) as x(c text, p bigint, u bigint)`,
    ],
  ];
  for (const [list, statement] of statements) {
    for (const json of chunks(list)) await c.run(subject, statement(json));
  }
}

/**
 * SQL answering `c`, the current bound of imported positions as text: (oldest running transaction id)
 * × 2^20. See `PostgresStore.positionCeiling`.
 */
export const positionCeilingSql = sql`select (pg_snapshot_xmin(pg_current_snapshot())::text::numeric * ${POSITIONS_PER_TRANSACTION.toString()}::numeric)::text as c`;
