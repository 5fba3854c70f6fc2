/**
 * Helpers every adapter's transfer shares: the export order and cursor, the checks every adapter makes
 * on a record before importing it, and the canonical form two adapters' records are compared in.
 *
 * @module
 */
import { isStrataError, ValidationError } from '../errors.js';
import { isUuid, MAX_INT32, validateInteger, validateName } from '../validation.js';
import { inspectJsonText } from './json-text.js';
import type { JsonText, RecordExportOptions, RecordKind, RecordProblem, StrataRecord } from './types.js';

/** The kinds of record in export order. */
export const RECORD_KINDS: readonly RecordKind[] = Object.freeze(['stream', 'event', 'snapshot', 'message', 'checkpoint']);

/** Largest epoch-millisecond timestamp a record may carry: the range of a JavaScript `Date`. */
export const MAX_RECORD_TIME_MS = 8_640_000_000_000_000;

const MAX_BIGINT = 9_223_372_036_854_775_807n;
const CURSOR_TAG = 'strata-export-1';

/** Where an export stands: the last record handed out, by its kind's sort key. */
export type ExportPosition =
  | {
      /** Streams: after this stream id. */
      readonly kind: 'stream';
      /** The last stream id handed out. */
      readonly streamId: string;
    }
  | {
      /** Events: after this position. */
      readonly kind: 'event';
      /** The last position handed out. */
      readonly position: bigint;
    }
  | {
      /** Snapshots: after this stream and version. */
      readonly kind: 'snapshot';
      /** The stream of the last snapshot handed out. */
      readonly streamId: string;
      /** Its version. */
      readonly version: number;
    }
  | {
      /** Messages: after this sequence number. */
      readonly kind: 'message';
      /** The last `seq` handed out. */
      readonly seq: number;
    }
  | {
      /** Checkpoints: after this consumer. */
      readonly kind: 'checkpoint';
      /** The last consumer handed out. */
      readonly consumer: string;
    };

/** One kind an export still has to read, and where to start in it. */
export interface ExportStep {
  /** The kind. */
  readonly kind: RecordKind;
  /** Resume after this record of the kind; `undefined` from its start. */
  readonly after: ExportPosition | undefined;
}

/** An export's options after defaults and checks. */
export interface ValidatedExportOptions {
  /** Resume after this record; absent at the start. */
  readonly after: ExportPosition | undefined;
  /** Records per batch. */
  readonly batchSize: number;
}

/** The position of `record` in an export. */
export function exportPositionOf(record: StrataRecord): ExportPosition {
  switch (record.kind) {
    case 'stream':
      return { kind: 'stream', streamId: record.streamId };
    case 'event':
      return { kind: 'event', position: record.position };
    case 'snapshot':
      return { kind: 'snapshot', streamId: record.streamId, version: record.version };
    case 'message':
      return { kind: 'message', seq: record.seq };
    case 'checkpoint':
      return { kind: 'checkpoint', consumer: record.consumer };
  }
}

/** The opaque cursor of an export standing after `record`; the same on every adapter. */
export function exportCursorAfter(record: StrataRecord): string {
  const p = exportPositionOf(record);
  switch (p.kind) {
    case 'stream':
      return JSON.stringify([CURSOR_TAG, p.kind, p.streamId]);
    case 'event':
      return JSON.stringify([CURSOR_TAG, p.kind, p.position.toString()]);
    case 'snapshot':
      return JSON.stringify([CURSOR_TAG, p.kind, p.streamId, p.version]);
    case 'message':
      return JSON.stringify([CURSOR_TAG, p.kind, p.seq]);
    case 'checkpoint':
      return JSON.stringify([CURSOR_TAG, p.kind, p.consumer]);
  }
}

function decodeCursor(cursor: unknown): ExportPosition {
  const bad = () => new ValidationError('options.after', 'must be a cursor of an earlier export batch');
  if (typeof cursor !== 'string') throw bad();
  let parts: unknown;
  try {
    parts = JSON.parse(cursor);
  } catch {
    throw bad();
  }
  if (!Array.isArray(parts) || parts[0] !== CURSOR_TAG) throw bad();
  const [, kind, a, b] = parts as unknown[];
  const name = typeof a === 'string' && a.length > 0;
  if (kind === 'stream' && name && parts.length === 3) return { kind, streamId: a as string };
  if (kind === 'event' && typeof a === 'string' && /^[0-9]{1,19}$/.test(a) && parts.length === 3) return { kind, position: BigInt(a) };
  if (kind === 'snapshot' && name && Number.isSafeInteger(b) && parts.length === 4) return { kind, streamId: a as string, version: b as number };
  if (kind === 'message' && Number.isSafeInteger(a) && parts.length === 3) return { kind, seq: a as number };
  if (kind === 'checkpoint' && name && parts.length === 3) return { kind, consumer: a as string };
  throw bad();
}

/**
 * Checks the options of {@link RecordTransfer.export}.
 *
 * @throws `VALIDATION` for an unknown option, a batch size out of range or a malformed cursor
 */
export function validateExportOptions(options: RecordExportOptions | undefined): ValidatedExportOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new ValidationError('options', 'must be an object');
  for (const key of Object.keys(options ?? {})) {
    if (key !== 'after' && key !== 'batchSize') throw new ValidationError(`options.${key}`, 'is not an option of export');
  }
  const batchSize = validateInteger(options?.batchSize ?? 1000, 'options.batchSize', 1, 100_000);
  return { after: options?.after === undefined ? undefined : decodeCursor(options.after), batchSize };
}

/** Which kinds an export resuming at `after` still has to read, each with where to start in it. */
export function remainingKinds(after: ExportPosition | undefined): ExportStep[] {
  const from = after === undefined ? 0 : RECORD_KINDS.indexOf(after.kind);
  return RECORD_KINDS.slice(from).map((kind, i) => ({ kind, after: i === 0 ? after : undefined }));
}

/** The record's key for people: names and ids only, never data. */
export function describeRecord(record: StrataRecord): string {
  switch (record.kind) {
    case 'stream':
      return `stream ${JSON.stringify(record.streamId)}`;
    case 'event':
      return `event at position ${record.position} (stream ${JSON.stringify(record.streamId)} version ${record.version})`;
    case 'snapshot':
      return `snapshot of stream ${JSON.stringify(record.streamId)} at version ${record.version}`;
    case 'message':
      return `message ${record.id} of queue ${JSON.stringify(record.queue)}`;
    case 'checkpoint':
      return `checkpoint ${JSON.stringify(record.consumer)}`;
  }
}

/** A {@link RecordProblem} about `record`'s `field`. */
export function recordProblem(record: StrataRecord, field: string, reason: string): RecordProblem {
  const base = { kind: record.kind, key: describeRecord(record), field, reason };
  switch (record.kind) {
    case 'stream':
    case 'snapshot':
      return { ...base, streamId: record.streamId, version: record.version };
    case 'event':
      return { ...base, streamId: record.streamId, version: record.version, position: record.position };
    case 'checkpoint':
      return { ...base, position: record.position };
    case 'message':
      return base;
  }
}

/** What is wrong with a JSON text field by the rules of every adapter, or `undefined`. */
export function jsonTextProblem(text: unknown, shape: 'any' | 'object' | 'headers'): string | undefined {
  if (typeof text !== 'string') return 'is not JSON text';
  const info = inspectJsonText(text);
  if (!info.valid) return `is not valid JSON (${info.error})`;
  if (info.hasNul) return 'contains U+0000';
  if (info.hasLoneSurrogate) return 'contains a lone UTF-16 surrogate';
  if (shape !== 'any') {
    const first = text.trimStart()[0];
    if (first !== '{') return 'is not a JSON object';
    if (shape === 'headers') {
      const value = JSON.parse(text) as Record<string, unknown>;
      if (Object.values(value).some((v) => typeof v !== 'string')) return 'is not an object of strings';
    }
  }
  return undefined;
}

function nameProblem(value: unknown): string | undefined {
  try {
    validateName(value, 'name');
    return undefined;
  } catch (e) {
    if (isStrataError(e, 'VALIDATION')) return e.message.replace(/^.*?name /, '');
    throw e;
  }
}

function integerProblem(value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return 'is not an integer';
  if (value < min || value > max) return `is out of range (${min} to ${max})`;
  return undefined;
}

function timeProblem(value: unknown): string | undefined {
  return integerProblem(value, -MAX_RECORD_TIME_MS, MAX_RECORD_TIME_MS);
}

function positionProblem(value: unknown, min: bigint): string | undefined {
  if (typeof value !== 'bigint') return 'is not a bigint';
  if (value < min || value > MAX_BIGINT) return `is out of range (${min} to ${MAX_BIGINT})`;
  return undefined;
}

function uuidProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !isUuid(value)) return 'is not a UUID';
  if (value !== value.toLowerCase()) return 'is not a lowercase UUID';
  return undefined;
}

/**
 * The problems of `record` by the rules every adapter shares: the contracts' names and ids (stream ids,
 * queue and consumer names of 1 to 255 characters without U+0000; lowercase UUIDs for event ids, message
 * ids and receipts), integer ranges, timestamps a `Date` can hold, and JSON text that is valid, free of
 * U+0000 and lone surrogates, and of the right shape (metadata an object, headers an object of strings).
 * Adapters add their own database's limits on top.
 */
export function recordProblems(record: StrataRecord): RecordProblem[] {
  const found: RecordProblem[] = [];
  const add = (field: string, reason: string | undefined) => {
    if (reason !== undefined) found.push(recordProblem(record, field, reason));
  };
  if (typeof record !== 'object' || record === null || !RECORD_KINDS.includes((record as { kind: RecordKind }).kind)) {
    throw new ValidationError('records', 'must be records of a known kind');
  }
  switch (record.kind) {
    case 'stream':
      add('streamId', nameProblem(record.streamId));
      add('version', integerProblem(record.version, 0));
      add('createdAt', timeProblem(record.createdAt));
      add('updatedAt', timeProblem(record.updatedAt));
      break;
    case 'event':
      add('position', positionProblem(record.position, 1n));
      add('streamId', nameProblem(record.streamId));
      add('version', integerProblem(record.version, 1));
      add('id', uuidProblem(record.id));
      add('type', nameProblem(record.type));
      add('schemaVersion', integerProblem(record.schemaVersion, 1, MAX_INT32));
      add('data', jsonTextProblem(record.data, 'any'));
      add('metadata', jsonTextProblem(record.metadata, 'object'));
      add('recordedAt', timeProblem(record.recordedAt));
      break;
    case 'snapshot':
      add('streamId', nameProblem(record.streamId));
      add('version', integerProblem(record.version, 0));
      add('state', jsonTextProblem(record.state, 'any'));
      add('schemaVersion', integerProblem(record.schemaVersion, 1, MAX_INT32));
      add('createdAt', timeProblem(record.createdAt));
      break;
    case 'message':
      add('id', uuidProblem(record.id));
      add('queue', nameProblem(record.queue));
      add('seq', integerProblem(record.seq, 1));
      add('body', jsonTextProblem(record.body, 'any'));
      add('headers', jsonTextProblem(record.headers, 'headers'));
      add('priority', integerProblem(record.priority, -MAX_INT32, MAX_INT32));
      add('maxAttempts', integerProblem(record.maxAttempts, 1, MAX_INT32));
      add('dedupId', record.dedupId === null ? undefined : nameProblem(record.dedupId));
      add('attempt', integerProblem(record.attempt, 0, MAX_INT32));
      add('visibleAt', timeProblem(record.visibleAt));
      add('receipt', record.receipt === null ? undefined : uuidProblem(record.receipt));
      add('dead', typeof record.dead === 'boolean' ? undefined : 'is not a boolean');
      add(
        'reason',
        record.reason === null || (typeof record.reason === 'string' && !record.reason.includes('\u0000') && record.reason.isWellFormed())
          ? undefined
          : 'is not text without U+0000',
      );
      add('enqueuedAt', timeProblem(record.enqueuedAt));
      add('deadLetteredAt', record.deadLetteredAt === null ? undefined : timeProblem(record.deadLetteredAt));
      if (record.dead === true && record.receipt !== null) add('receipt', 'is set on a dead-lettered message');
      break;
    case 'checkpoint':
      add('consumer', nameProblem(record.consumer));
      add('position', positionProblem(record.position, 0n));
      add('updatedAt', timeProblem(record.updatedAt));
      break;
  }
  return found;
}

/**
 * Throws `VALIDATION` naming the first problem of `problems`, if any: what `import` does with what
 * `check` found. The message names the record by its key and the reason, never the data.
 */
export function assertNoProblems(problems: readonly RecordProblem[]): void {
  const first = problems[0];
  if (first === undefined) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new ValidationError('records', `cannot import ${first.key}: ${first.field} ${first.reason}${more}`);
}

function canonical(text: JsonText): string {
  return inspectJsonText(text, { canonical: true }).canonical ?? `invalid:${text}`;
}

/**
 * A string that is equal for two records exactly when they hold the same values: JSON text fields
 * compared by value ({@link canonicalJson}), everything else as is. What an import compares a stored
 * record with, and what verification hashes.
 */
export function canonicalRecord(record: StrataRecord): string {
  switch (record.kind) {
    case 'stream':
      return JSON.stringify([record.kind, record.streamId, record.version, record.createdAt, record.updatedAt]);
    case 'event':
      return JSON.stringify([
        record.kind,
        record.position.toString(),
        record.streamId,
        record.version,
        record.id,
        record.type,
        record.schemaVersion,
        canonical(record.data),
        canonical(record.metadata),
        record.recordedAt,
      ]);
    case 'snapshot':
      return JSON.stringify([record.kind, record.streamId, record.version, canonical(record.state), record.schemaVersion, record.createdAt]);
    case 'message':
      return JSON.stringify([
        record.kind,
        record.id,
        record.queue,
        record.seq,
        canonical(record.body),
        canonical(record.headers),
        record.priority,
        record.maxAttempts,
        record.dedupId,
        record.attempt,
        record.visibleAt,
        record.receipt,
        record.dead,
        record.reason,
        record.enqueuedAt,
        record.deadLetteredAt,
      ]);
    case 'checkpoint':
      return JSON.stringify([record.kind, record.consumer, record.position.toString(), record.updatedAt]);
  }
}
