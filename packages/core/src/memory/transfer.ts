import { ValidationError } from '../errors.js';
import type { EventMetadata } from '../events/types.js';
import type { JsonValue } from '../json.js';
import { compareNames } from '../names.js';
import type { MessageHeaders } from '../queue/types.js';
import { inspectJsonText } from '../transfer/json-text.js';
import { planImport, type StoredRecords } from '../transfer/plan.js';
import {
  assertNoProblems,
  type ExportPosition,
  exportCursorAfter,
  exportPositionOf,
  recordProblem,
  recordProblems,
  remainingKinds,
  validateExportOptions,
} from '../transfer/records.js';
import type {
  CheckpointRecord,
  EventRecord,
  MessageRecord,
  RecordBatch,
  RecordCounts,
  RecordKind,
  RecordProblem,
  RecordTransfer,
  SnapshotRecord,
  StrataRecord,
  StreamRecord,
} from '../transfer/types.js';
import type { TablesAccess } from './access.js';
import type { EventRow, MessageRow, StreamRow, Tables } from './tables.js';

/** Index of the first event of `t` whose position is greater than `after` (positions only grow). */
export function firstEventAfter(t: Tables, after: bigint): number {
  let lo = 0;
  let hi = t.eventCount;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((t.eventAt(mid) as EventRow).position <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The position of the last event of `t`, 0 when there is none. */
export function lastPosition(t: Tables): bigint {
  return t.eventAt(t.eventCount - 1)?.position ?? 0n;
}

/** The events of a stream that are committed in `t`: leftovers of a rolled-back draft are cut off. */
function storedEvents(t: Tables, stream: StreamRow): EventRow[] {
  const events = stream.events;
  while (events.length > 0) {
    const last = events[events.length - 1] as EventRow;
    if (t.eventIds.get(last.id) === last) break;
    events.pop();
  }
  return events;
}

function streamRecord(streamId: string, s: StreamRow): StreamRecord {
  return { kind: 'stream', streamId, version: s.version, createdAt: s.createdAt, updatedAt: s.updatedAt };
}

function eventRecord(e: EventRow): EventRecord {
  return {
    kind: 'event',
    position: e.position,
    streamId: e.streamId,
    version: e.version,
    id: e.id,
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: JSON.stringify(e.data),
    metadata: JSON.stringify(e.metadata),
    recordedAt: e.recordedAt,
  };
}

function messageRecord(m: MessageRow): MessageRecord {
  return {
    kind: 'message',
    id: m.id,
    queue: m.queue,
    seq: m.seq,
    body: JSON.stringify(m.body),
    headers: JSON.stringify(m.headers),
    priority: m.priority,
    maxAttempts: m.maxAttempts,
    dedupId: m.dedupId ?? null,
    attempt: m.attempt,
    visibleAt: m.visibleAt,
    receipt: m.receipt,
    dead: m.dead,
    reason: m.reason,
    enqueuedAt: m.enqueuedAt,
    deadLetteredAt: m.deadLetteredAt,
  };
}

/** Up to `n` records of `kind` after `after`, in export order. */
function page(t: Tables, kind: RecordKind, after: ExportPosition | undefined, n: number): StrataRecord[] {
  switch (kind) {
    case 'stream': {
      const from = after?.kind === 'stream' ? after.streamId : undefined;
      const ids = [...t.streams.keys()].filter((id) => from === undefined || compareNames(id, from) > 0).sort(compareNames);
      return ids.slice(0, n).map((id) => streamRecord(id, t.streams.get(id) as StreamRow));
    }
    case 'event': {
      const out: StrataRecord[] = [];
      const end = t.eventCount;
      for (let i = firstEventAfter(t, after?.kind === 'event' ? after.position : 0n); i < end && out.length < n; i++) {
        out.push(eventRecord(t.eventAt(i) as EventRow));
      }
      return out;
    }
    case 'snapshot': {
      const all: SnapshotRecord[] = [];
      for (const [streamId, rows] of t.snapshots) {
        for (const s of rows) {
          all.push({ kind: 'snapshot', streamId, version: s.version, state: JSON.stringify(s.state), schemaVersion: s.schemaVersion, createdAt: s.createdAt });
        }
      }
      const by = (a: { streamId: string; version: number }, b: { streamId: string; version: number }) =>
        compareNames(a.streamId, b.streamId) || a.version - b.version;
      return all
        .filter((s) => after?.kind !== 'snapshot' || by(s, after) > 0)
        .sort(by)
        .slice(0, n);
    }
    case 'message': {
      const from = after?.kind === 'message' ? after.seq : 0;
      const all: MessageRow[] = [];
      for (const q of t.queues.values()) for (const m of q.values()) if (m.seq > from) all.push(m);
      return all
        .sort((a, b) => a.seq - b.seq)
        .slice(0, n)
        .map(messageRecord);
    }
    case 'checkpoint': {
      const from = after?.kind === 'checkpoint' ? after.consumer : undefined;
      const names = [...t.checkpoints.keys()].filter((c) => from === undefined || compareNames(c, from) > 0).sort(compareNames);
      return names.slice(0, n).map((consumer): CheckpointRecord => {
        const c = t.checkpoints.get(consumer) as { position: bigint; updatedAt: number };
        return { kind: 'checkpoint', consumer, position: c.position, updatedAt: c.updatedAt };
      });
    }
  }
}

/** Problems the memory adapter adds: it holds JSON as JavaScript values, so numbers must be doubles. */
function memoryProblems(record: StrataRecord): RecordProblem[] {
  const fields: [string, string][] =
    record.kind === 'event'
      ? [
          ['data', record.data],
          ['metadata', record.metadata],
        ]
      : record.kind === 'snapshot'
        ? [['state', record.state]]
        : record.kind === 'message'
          ? [
              ['body', record.body],
              ['headers', record.headers],
            ]
          : [];
  const found: RecordProblem[] = [];
  for (const [field, text] of fields) {
    const info = inspectJsonText(text);
    if (info.valid && !info.numbersExact) found.push(recordProblem(record, field, 'holds a number a double cannot hold exactly'));
    else if (info.valid && info.hasNegativeZero) found.push(recordProblem(record, field, 'holds -0, which JSON.stringify writes as 0'));
  }
  return found;
}

function findMessage(t: Tables, id: string): MessageRow | undefined {
  for (const q of t.queues.values()) {
    const m = q.get(id);
    if (m !== undefined) return m;
  }
  return undefined;
}

/** What the memory tables hold under the keys of `records`, for {@link planImport}. */
function lookUp(t: Tables, records: readonly StrataRecord[]): StoredRecords {
  const streams = new Map<string, { record: StreamRecord | undefined; lastVersion: number }>();
  const eventsAt = new Map<bigint, EventRecord>();
  const eventIds = new Set<string>();
  const snapshots: SnapshotRecord[] = [];
  const messages = new Map<string, MessageRecord>();
  const checkpoints: CheckpointRecord[] = [];
  let maxSeq = 0;
  for (const q of t.queues.values()) for (const m of q.values()) maxSeq = Math.max(maxSeq, m.seq);
  for (const r of records) {
    if (r.kind === 'stream' || r.kind === 'event') {
      const row = t.streams.get(r.streamId);
      if (row !== undefined && !streams.has(r.streamId)) {
        streams.set(r.streamId, { record: streamRecord(r.streamId, row), lastVersion: storedEvents(t, row).length });
      }
    }
    if (r.kind === 'event') {
      const stored = t.eventAt(firstEventAfter(t, r.position - 1n));
      if (stored !== undefined && stored.position === r.position) eventsAt.set(r.position, eventRecord(stored));
      if (t.eventIds.has(r.id)) eventIds.add(r.id);
    } else if (r.kind === 'snapshot') {
      const s = (t.snapshots.get(r.streamId) ?? []).find((x) => x.version === r.version);
      if (s !== undefined) snapshots.push({ ...r, state: JSON.stringify(s.state), schemaVersion: s.schemaVersion, createdAt: s.createdAt });
    } else if (r.kind === 'message') {
      const found = [findMessage(t, r.id)];
      const owner = r.receipt === null ? undefined : t.receipts.get(r.receipt);
      if (owner !== undefined) found.push(t.queues.get(owner.queue)?.get(owner.id));
      if (r.dedupId !== null) found.push([...(t.queues.get(r.queue)?.values() ?? [])].find((x) => x.dedupId === r.dedupId));
      for (const m of found) if (m !== undefined) messages.set(m.id, messageRecord(m));
    } else if (r.kind === 'checkpoint') {
      const c = t.checkpoints.get(r.consumer);
      if (c !== undefined) checkpoints.push({ kind: 'checkpoint', consumer: r.consumer, position: c.position, updatedAt: c.updatedAt });
    }
  }
  return { head: lastPosition(t), maxSeq, streams, eventsAt, eventIds, snapshots, messages: [...messages.values()], checkpoints };
}

function apply(t: Tables, r: StrataRecord): void {
  switch (r.kind) {
    case 'stream':
      t.streams.set(r.streamId, { version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt, events: [] });
      return;
    case 'event': {
      const stream = t.streams.get(r.streamId) as StreamRow;
      const row: EventRow = {
        id: r.id,
        streamId: r.streamId,
        version: r.version,
        position: r.position,
        type: r.type,
        data: JSON.parse(r.data) as JsonValue,
        metadata: JSON.parse(r.metadata) as EventMetadata,
        schemaVersion: r.schemaVersion,
        recordedAt: r.recordedAt,
      };
      storedEvents(t, stream).push(row);
      t.pushEvent(row);
      t.eventIds.set(row.id, row);
      return;
    }
    case 'snapshot': {
      const rows = [...(t.snapshots.get(r.streamId) ?? [])];
      rows.push({ version: r.version, state: JSON.parse(r.state) as JsonValue, schemaVersion: r.schemaVersion, createdAt: r.createdAt });
      rows.sort((a, b) => b.version - a.version);
      t.snapshots.set(r.streamId, rows);
      return;
    }
    case 'message':
      t.seq = Math.max(t.seq, r.seq);
      t.putMessage(undefined, {
        id: r.id,
        queue: r.queue,
        seq: r.seq,
        body: JSON.parse(r.body) as JsonValue,
        headers: JSON.parse(r.headers) as MessageHeaders,
        priority: r.priority,
        maxAttempts: r.maxAttempts,
        dedupId: r.dedupId ?? undefined,
        attempt: r.attempt,
        visibleAt: r.visibleAt,
        receipt: r.receipt,
        dead: r.dead,
        reason: r.reason,
        enqueuedAt: r.enqueuedAt,
        deadLetteredAt: r.deadLetteredAt,
      });
      return;
    case 'checkpoint':
      t.checkpoints.set(r.consumer, { position: r.position, updatedAt: r.updatedAt });
      return;
  }
}

function problemsOf(records: readonly StrataRecord[]): RecordProblem[] {
  if (!Array.isArray(records)) throw new ValidationError('records', 'must be an array of records');
  return records.flatMap((r) => {
    const generic = recordProblems(r);
    return generic.length > 0 ? generic : memoryProblems(r);
  });
}

/** The memory adapter's {@link RecordTransfer} over some tables. */
export function memoryTransfer(access: TablesAccess): RecordTransfer {
  return {
    async *export(options): AsyncGenerator<RecordBatch> {
      access.read('transfer.export');
      const o = validateExportOptions(options);
      for (const step of remainingKinds(o.after)) {
        let after = step.after;
        for (;;) {
          const records = page(access.read('transfer.export'), step.kind, after, o.batchSize);
          const last = records[records.length - 1];
          if (last === undefined) break;
          yield { kind: step.kind, records, cursor: exportCursorAfter(last) };
          if (records.length < o.batchSize) break;
          after = exportPositionOf(last);
        }
      }
    },

    async counts(): Promise<RecordCounts> {
      const t = access.read('transfer.counts');
      let snapshots = 0;
      for (const rows of t.snapshots.values()) snapshots += rows.length;
      let messages = 0;
      for (const q of t.queues.values()) messages += q.size;
      return { stream: t.streams.size, event: t.eventCount, snapshot: snapshots, message: messages, checkpoint: t.checkpoints.size };
    },

    async check(records) {
      access.read('transfer.check');
      return problemsOf(records);
    },

    async import(records) {
      access.read('transfer.import');
      assertNoProblems(problemsOf(records));
      return access.write('transfer.import', (t) => {
        const writes = planImport(records, lookUp(t, records));
        for (const r of writes) apply(t, r);
        return { written: writes.length, skipped: records.length - writes.length };
      });
    },
  };
}
