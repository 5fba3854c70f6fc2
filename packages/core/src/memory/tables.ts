import type { EventMetadata } from '../events/types.js';
import type { JsonValue } from '../json.js';
import type { MessageHeaders } from '../queue/types.js';
import type { ChangeNotice } from '../subscriptions/types.js';

/** A stored event. Rows are never mutated once written. */
export interface EventRow {
  readonly id: string;
  readonly streamId: string;
  readonly version: number;
  readonly position: bigint;
  readonly type: string;
  readonly data: JsonValue;
  readonly metadata: EventMetadata;
  readonly schemaVersion: number;
  readonly recordedAt: number;
}

/**
 * A stream. `events` is shared between the committed tables and drafts and only ever appended to;
 * entries past `version` are leftovers of a rolled-back draft and are cut off before the next append.
 */
export interface StreamRow {
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly events: EventRow[];
}

/** A queue message; replaced, never mutated. */
export interface MessageRow {
  readonly id: string;
  readonly queue: string;
  readonly seq: number;
  readonly body: JsonValue;
  readonly headers: MessageHeaders;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly dedupId: string | undefined;
  readonly attempt: number;
  readonly visibleAt: number;
  readonly receipt: string | null;
  readonly dead: boolean;
  readonly reason: string | null;
  readonly enqueuedAt: number;
  readonly deadLetteredAt: number | null;
}

/** A snapshot. */
export interface SnapshotRow {
  readonly version: number;
  readonly state: JsonValue;
  readonly schemaVersion: number;
  readonly createdAt: number;
}

/** A checkpoint. */
export interface CheckpointRow {
  readonly position: bigint;
  readonly updatedAt: number;
}

/** A consumer lease. */
export interface LeaseRow {
  readonly owner: string;
  readonly expiresAt: number;
}

/**
 * Everything a memory store holds. A transaction works on a {@link Tables.fork | fork} (copies of the
 * maps, sharing immutable rows) and replaces the committed tables when it commits, so nobody outside
 * sees its writes before then.
 */
export class Tables {
  /** Events appended in this draft, not yet in the shared `log`. */
  readonly extra: EventRow[] = [];
  /** Notices to announce once these writes are committed. */
  readonly notices: ChangeNotice[] = [];

  constructor(
    /** Committed events in position order (position = index + 1); shared and append-only. */
    readonly log: EventRow[],
    readonly streams: Map<string, StreamRow>,
    readonly eventIds: Map<string, EventRow>,
    readonly queues: Map<string, Map<string, MessageRow>>,
    readonly receipts: Map<string, { readonly queue: string; readonly id: string }>,
    readonly snapshots: Map<string, readonly SnapshotRow[]>,
    readonly checkpoints: Map<string, CheckpointRow>,
    readonly leases: Map<string, LeaseRow>,
    public seq: number,
    readonly draft: boolean,
  ) {}

  static empty(): Tables {
    return new Tables([], new Map(), new Map(), new Map(), new Map(), new Map(), new Map(), new Map(), 0, false);
  }

  /** Number of events visible in these tables. */
  get eventCount(): number {
    return this.log.length + this.extra.length;
  }

  /** The event at global `index` (position − 1). */
  eventAt(index: number): EventRow | undefined {
    return index < this.log.length ? this.log[index] : this.extra[index - this.log.length];
  }

  pushEvent(row: EventRow): void {
    if (this.draft) this.extra.push(row);
    else this.log.push(row);
  }

  /** The queue's message map, created on first write. */
  queue(name: string): Map<string, MessageRow> {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = new Map();
      this.queues.set(name, q);
    }
    return q;
  }

  /** Replaces (or deletes, with `null`) a message, keeping the receipt index in step. */
  putMessage(old: MessageRow | undefined, row: MessageRow | null): void {
    if (old?.receipt != null && old.receipt !== row?.receipt) this.receipts.delete(old.receipt);
    const target = row ?? old;
    if (target === undefined) return;
    const q = this.queue(target.queue);
    if (row === null) q.delete(target.id);
    else {
      q.set(row.id, row);
      if (row.receipt !== null) this.receipts.set(row.receipt, { queue: row.queue, id: row.id });
    }
  }

  /** A private copy for a transaction. */
  fork(): Tables {
    const queues = new Map<string, Map<string, MessageRow>>();
    for (const [name, q] of this.queues) queues.set(name, new Map(q));
    return new Tables(
      this.log,
      new Map(this.streams),
      new Map(this.eventIds),
      queues,
      new Map(this.receipts),
      new Map(this.snapshots),
      new Map(this.checkpoints),
      new Map(this.leases),
      this.seq,
      true,
    );
  }

  /** The committed tables after this draft commits. */
  commit(): Tables {
    for (const e of this.extra) this.log.push(e);
    return new Tables(this.log, this.streams, this.eventIds, this.queues, this.receipts, this.snapshots, this.checkpoints, this.leases, this.seq, false);
  }
}
