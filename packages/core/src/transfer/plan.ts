/**
 * The import rules, once for every adapter: given what the store holds under a batch's keys, which
 * records to write and which to skip, or the conflict that refuses the batch.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import { canonicalRecord, describeRecord } from './records.js';
import type { CheckpointRecord, EventRecord, MessageRecord, SnapshotRecord, StrataRecord, StreamRecord } from './types.js';

/** A stored stream, as {@link planImport} needs it. */
export interface StoredStream {
  /** Its row, if the stream has one. */
  readonly record: StreamRecord | undefined;
  /** The version of its last stored event, 0 for none. */
  readonly lastVersion: number;
}

/** What a store holds under the keys of a batch, as an adapter looked it up for {@link planImport}. */
export interface StoredRecords {
  /** The largest stored position, 0 without events. */
  readonly head: bigint;
  /** The largest stored `seq` (0 without messages), or any value at least that. */
  readonly maxSeq: number;
  /** The batch's streams (of stream records and events) that are stored: their row, if any, and the version of their last stored event (0 for none). */
  readonly streams: ReadonlyMap<string, StoredStream>;
  /** Stored events at the batch's positions. */
  readonly eventsAt: ReadonlyMap<bigint, EventRecord>;
  /** The batch's event ids that are stored (at any position). */
  readonly eventIds: ReadonlySet<string>;
  /** Stored snapshots at the batch's stream and version pairs. */
  readonly snapshots: readonly SnapshotRecord[];
  /** Stored messages with the batch's ids, receipts, or queue and dedup ids. */
  readonly messages: readonly MessageRecord[];
  /** Stored checkpoints of the batch's consumers. */
  readonly checkpoints: readonly CheckpointRecord[];
}

/** Options of {@link planImport}. */
export interface PlanImportOptions {
  /** An adapter's own rule for a new event (PostgreSQL's position ceiling): the reason it is refused, or `undefined`. */
  readonly newEvent?: (record: EventRecord) => string | undefined;
}

const pair = (a: string, b: string | number) => JSON.stringify([a, b]);

function conflict(record: StrataRecord, what: string): ValidationError {
  return new ValidationError('records', `cannot import ${describeRecord(record)}: ${what}`);
}

/**
 * Decides, by the rules of {@link RecordTransfer.import}, what to do with each record against what is
 * stored and the records before it in the batch: the records to write, in order (the others are
 * stored exactly as given). Writes nothing.
 *
 * @throws `VALIDATION` naming the first record that conflicts or breaks a rule, never its data
 */
export function planImport(records: readonly StrataRecord[], stored: StoredRecords, options: PlanImportOptions = {}): StrataRecord[] {
  const writes: StrataRecord[] = [];
  const same = (a: StrataRecord, b: StrataRecord) => canonicalRecord(a) === canonicalRecord(b);
  const snapshotsAt = new Map(stored.snapshots.map((s) => [pair(s.streamId, s.version), s]));
  const messagesById = new Map(stored.messages.map((m) => [m.id, m]));
  const checkpointsOf = new Map(stored.checkpoints.map((c) => [c.consumer, c]));
  const receipts = new Set(stored.messages.flatMap((m) => (m.receipt === null ? [] : [m.receipt])));
  const dedups = new Set(stored.messages.flatMap((m) => (m.dedupId === null ? [] : [pair(m.queue, m.dedupId)])));
  const streams = new Map<string, number>(); // stream id → version of its pending row
  const lastVersions = new Map<string, number>(); // stream id → version of its last event, stored or pending
  const eventIds = new Set<string>();
  const messageIds = new Set<string>();
  const snapshots = new Set<string>();
  const checkpoints = new Set<string>();
  let maxPosition = stored.head;
  let maxSeq = stored.maxSeq;

  for (const r of records) {
    switch (r.kind) {
      case 'stream': {
        const s = stored.streams.get(r.streamId)?.record;
        if (s !== undefined) {
          if (!same(s, r)) throw conflict(r, 'the stream is stored with another version or other timestamps');
          continue;
        }
        if (streams.has(r.streamId)) throw conflict(r, 'it appears twice');
        streams.set(r.streamId, r.version);
        break;
      }
      case 'event': {
        const at = stored.eventsAt.get(r.position);
        if (at !== undefined) {
          if (!same(at, r)) throw conflict(r, 'another event is stored at that position');
          continue;
        }
        if (r.position <= maxPosition) throw conflict(r, `its position is not after the last stored event's (${maxPosition})`);
        const own = options.newEvent?.(r);
        if (own !== undefined) throw conflict(r, own);
        if (stored.eventIds.has(r.id) || eventIds.has(r.id)) throw conflict(r, 'its id is stored at another position');
        const row = stored.streams.get(r.streamId);
        const streamVersion = streams.get(r.streamId) ?? row?.record?.version;
        if (streamVersion === undefined || streamVersion < r.version) {
          throw conflict(r, 'its stream must be imported first, with a version at least the event’s');
        }
        const last = lastVersions.get(r.streamId) ?? row?.lastVersion ?? 0;
        if (r.version !== last + 1) throw conflict(r, `its version must follow the stream's last stored event (version ${last})`);
        lastVersions.set(r.streamId, r.version);
        eventIds.add(r.id);
        maxPosition = r.position;
        break;
      }
      case 'snapshot': {
        const key = pair(r.streamId, r.version);
        const s = snapshotsAt.get(key);
        if (s !== undefined) {
          if (!same(s, r)) throw conflict(r, 'another snapshot is stored at that version');
          continue;
        }
        if (snapshots.has(key)) throw conflict(r, 'it appears twice');
        snapshots.add(key);
        break;
      }
      case 'message': {
        const m = messagesById.get(r.id);
        if (m !== undefined) {
          if (!same(m, r)) throw conflict(r, 'the message is stored in another state');
          continue;
        }
        if (messageIds.has(r.id)) throw conflict(r, 'it appears twice');
        if (r.seq <= maxSeq) throw conflict(r, `its seq is not after the last stored message's (${maxSeq})`);
        if (r.receipt !== null) {
          if (receipts.has(r.receipt)) throw conflict(r, 'its receipt belongs to another message');
          receipts.add(r.receipt);
        }
        if (r.dedupId !== null) {
          const key = pair(r.queue, r.dedupId);
          if (dedups.has(key)) throw conflict(r, 'another message of its queue holds its dedup id');
          dedups.add(key);
        }
        messageIds.add(r.id);
        maxSeq = r.seq;
        break;
      }
      case 'checkpoint': {
        const c = checkpointsOf.get(r.consumer);
        if (c !== undefined) {
          if (c.position !== r.position || c.updatedAt !== r.updatedAt) throw conflict(r, 'the checkpoint is stored at another position or time');
          continue;
        }
        if (checkpoints.has(r.consumer)) throw conflict(r, 'it appears twice');
        checkpoints.add(r.consumer);
        break;
      }
    }
    writes.push(r);
  }
  return writes;
}
