/**
 * The transfer contract: every adapter exports what it holds as canonical records and imports them as
 * they are, so that one tool can move a deployment between adapters (SQLite to PostgreSQL, one schema to
 * another) without new ids, versions, positions or timestamps.
 *
 * @module
 */

/**
 * JSON exactly as an adapter holds it: the text of a SQLite column, the output of PostgreSQL's `jsonb`,
 * `JSON.stringify` of the memory adapter's value. Records carry text rather than parsed values so that
 * nothing is lost on the way (a number with more digits than a double holds, a duplicate key) and so
 * that rows no JSON parser accepts can still be reported precisely.
 */
export type JsonText = string;

/** A stream's row: its version and timestamps (epoch milliseconds). */
export interface StreamRecord {
  /** Discriminant. */
  readonly kind: 'stream';
  /** The stream id. */
  readonly streamId: string;
  /** Its version: the number of events appended to it. */
  readonly version: number;
  /** When its first event was appended, in epoch milliseconds. */
  readonly createdAt: number;
  /** When its last event was appended, in epoch milliseconds. */
  readonly updatedAt: number;
}

/** One stored event, with its global position. */
export interface EventRecord {
  /** Discriminant. */
  readonly kind: 'event';
  /** Global position. */
  readonly position: bigint;
  /** The stream it belongs to. */
  readonly streamId: string;
  /** Its version in the stream (1 for the first event). */
  readonly version: number;
  /** Event id (a UUID on every official adapter). */
  readonly id: string;
  /** Event type. */
  readonly type: string;
  /** Schema version of `data`. */
  readonly schemaVersion: number;
  /** The event's data, as JSON text. */
  readonly data: JsonText;
  /** The event's metadata (a JSON object), as JSON text. */
  readonly metadata: JsonText;
  /** When it was appended, in epoch milliseconds. */
  readonly recordedAt: number;
}

/** One snapshot. */
export interface SnapshotRecord {
  /** Discriminant. */
  readonly kind: 'snapshot';
  /** The stream it summarizes. */
  readonly streamId: string;
  /** The stream version it was taken at. */
  readonly version: number;
  /** The state, as JSON text. */
  readonly state: JsonText;
  /** Schema version of `state`. */
  readonly schemaVersion: number;
  /** When it was saved, in epoch milliseconds. */
  readonly createdAt: number;
}

/**
 * One queue message in any state: ready (`visibleAt` reached, no receipt), delayed (`visibleAt` ahead,
 * no receipt), in flight (`visibleAt` ahead, a receipt) or dead-lettered (`dead`).
 */
export interface MessageRecord {
  /** Discriminant. */
  readonly kind: 'message';
  /** Message id (a UUID on every official adapter). */
  readonly id: string;
  /** Queue name. */
  readonly queue: string;
  /** Enqueue order: larger is later. First in, first out among equal priorities follows it. */
  readonly seq: number;
  /** The body, as JSON text. */
  readonly body: JsonText;
  /** The headers (a JSON object of strings), as JSON text. */
  readonly headers: JsonText;
  /** Priority; higher is received first. */
  readonly priority: number;
  /** Deliveries before the message is dead-lettered. */
  readonly maxAttempts: number;
  /** Deduplication id, if it was sent with one. */
  readonly dedupId: string | null;
  /** Deliveries so far. */
  readonly attempt: number;
  /** When it can next be received, in epoch milliseconds. */
  readonly visibleAt: number;
  /** The receipt of the delivery in flight, if any. */
  readonly receipt: string | null;
  /** Whether it is dead-lettered. */
  readonly dead: boolean;
  /** The last failure's reason, if any. */
  readonly reason: string | null;
  /** When it was sent, in epoch milliseconds. */
  readonly enqueuedAt: number;
  /** When it was dead-lettered, in epoch milliseconds; `null` while it is not. */
  readonly deadLetteredAt: number | null;
}

/** One named consumer's checkpoint. */
export interface CheckpointRecord {
  /** Discriminant. */
  readonly kind: 'checkpoint';
  /** Consumer name. */
  readonly consumer: string;
  /** Last handled position. */
  readonly position: bigint;
  /** When it was last set, in epoch milliseconds. */
  readonly updatedAt: number;
}

/**
 * Everything a store holds, as canonical records. Consumer leases are not records: they belong to
 * running processes, and a consumer takes a new one where it runs next.
 */
export type StrataRecord = StreamRecord | EventRecord | SnapshotRecord | MessageRecord | CheckpointRecord;

/** The kinds of {@link StrataRecord}, in the order an export yields them. */
export type RecordKind = StrataRecord['kind'];

/** Records of each kind. */
export type RecordCounts = Record<RecordKind, number>;

/** Options of {@link RecordTransfer.export}. */
export interface RecordExportOptions {
  /**
   * Where to resume: the `cursor` of the last batch already handled. Without it the export starts at
   * the beginning. A cursor from another adapter or a malformed one is refused with `VALIDATION`.
   */
  after?: string;
  /** Records per batch, 1 to 100,000. @defaultValue 1000 */
  batchSize?: number;
}

/** One batch of an export: records of one kind, in export order. */
export interface RecordBatch {
  /** The kind of every record in the batch. */
  readonly kind: RecordKind;
  /** The records, never empty. */
  readonly records: readonly StrataRecord[];
  /** Resume point: pass it as `after` to continue with the next batch. Opaque. */
  readonly cursor: string;
}

/** A record an adapter cannot store exactly as it is, reported by {@link RecordTransfer.check}. */
export interface RecordProblem {
  /** The record's kind. */
  readonly kind: RecordKind;
  /**
   * Which record, for people: `stream "order-1" version 3`, `message 0b6…`, `checkpoint "projector"`.
   * Names and ids only, never data.
   */
  readonly key: string;
  /** The record's stream, for events, streams and snapshots. */
  readonly streamId?: string;
  /** The record's version, for events, streams and snapshots. */
  readonly version?: number;
  /** The record's position, for events and checkpoints. */
  readonly position?: bigint;
  /** Which field (`data`, `metadata`, `id`, …). */
  readonly field: string;
  /** Why it cannot be stored (`contains U+0000`, `is not valid JSON`, …). Never the value itself. */
  readonly reason: string;
}

/** What {@link RecordTransfer.import} did. */
export interface ImportResult {
  /** Records written. */
  readonly written: number;
  /** Records already stored exactly as given, so left alone. */
  readonly skipped: number;
}

/**
 * Export and import of everything a store holds, as canonical records: the seam that migration tools
 * use, the same on every adapter. `capabilities.transfer` says whether the adapter offers it; where
 * it does not, every method rejects with `NOT_SUPPORTED`.
 *
 * Import writes records as they are (ids, versions, positions, sequence numbers, timestamps, states),
 * and is idempotent: a record already stored exactly as given is skipped, so a batch can be imported
 * again after a crash. It is meant for a store that is empty or holds only earlier imports of the same
 * source; the rules below keep every contract true afterwards:
 *
 * - a new event's position is greater than every stored event's, and its version is one more than the
 *   highest stored version of its stream: import events in export order;
 * - a new message's `seq` is greater than every stored message's;
 * - events the adapter appends afterwards get larger positions than every imported one, messages sent
 *   afterwards larger `seq`s;
 * - a record whose key (a stream id; an event's position, id, or stream and version; a snapshot's stream
 *   and version; a message's id, receipt, or queue and dedup id; a consumer) is stored with other
 *   content is refused.
 *
 * A refused import throws `VALIDATION`, naming the record by its key (never its data), and writes
 * nothing: one call is one transaction. Inside `store.transaction()`, `tx.transfer.import` commits with
 * the transaction's other writes.
 */
export interface RecordTransfer {
  /**
   * Yields everything the store holds in batches of one kind, in this order: streams (by stream id,
   * bytewise), events (by position), snapshots (by stream id, then version), messages (by `seq`),
   * checkpoints (by consumer, bytewise). Each batch is read when the iterator asks for it, so memory
   * stays bounded by the batch size; records written meanwhile may or may not appear. Stop writers
   * first when the export must be one consistent picture.
   */
  export(options?: RecordExportOptions): AsyncIterable<RecordBatch>;
  /** Counts the records of each kind an export would yield now. */
  counts(): Promise<RecordCounts>;
  /**
   * The records this adapter could not store exactly as given, each with the reason — invalid JSON, a
   * character or number the database refuses, a name over a limit, a malformed id — without writing
   * anything. Conflicts with stored records are not checked here; {@link RecordTransfer.import} refuses
   * them.
   */
  check(records: readonly StrataRecord[]): Promise<RecordProblem[]>;
  /**
   * Writes `records` as they are, in one transaction, skipping those already stored exactly as given.
   *
   * @throws `VALIDATION` when {@link RecordTransfer.check} reports a problem, or a record breaks an
   *   import rule; nothing is written then
   */
  import(records: readonly StrataRecord[]): Promise<ImportResult>;
}
