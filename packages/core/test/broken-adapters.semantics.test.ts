import {
  type Delivery,
  type EventStore,
  type MessageQueue,
  type OutgoingMessage,
  type ReadAllOptions,
  StaleReceiptError,
  type StoredEvent,
} from '../src/index.js';
import { type Breakage, type BrokenAdapter, describeBrokenAdapters } from './broken.js';

// Timestamps, ages, filters, order, dedup and receipts: each adapter here is the memory adapter with
// exactly one of those rules broken, and the cases guarding that rule must fail against it.

const HOUR = 3_600_000;

/** The messages of a send call, as a list. */
const listOf = (m: OutgoingMessage | readonly OutgoingMessage[]): OutgoingMessage[] => (Array.isArray(m) ? [...m] : [m as OutgoingMessage]);

/** Replaces some of the queue's methods. */
const breakQueue =
  (change: (q: MessageQueue) => Partial<MessageQueue>): Breakage =>
  (s) => ({ ...s, queue: { ...s.queue, ...change(s.queue) } });

/** Replaces some of the event store's methods. */
const breakEvents =
  (change: (e: EventStore) => Partial<EventStore>): Breakage =>
  (s) => ({ ...s, events: { ...s.events, ...change(s.events) } });

/** Collects an async iterable. */
async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A readAll that filters by `types` and `correlationId` itself, with `matches`, then applies after and limit in `order`. */
function readAllFilteredBy(
  events: EventStore,
  matches: (e: StoredEvent, o: ReadAllOptions) => boolean,
  order: (a: StoredEvent, b: StoredEvent) => number = (a, b) => (a.position < b.position ? -1 : 1),
): EventStore['readAll'] {
  return async function* (o = {}) {
    if (o.types === undefined && o.correlationId === undefined) {
      yield* events.readAll(o);
      return;
    }
    const { types: _t, correlationId: _c, after, limit, ...rest } = o;
    const found = (await all(events.readAll(rest))).filter((e) => matches(e, o)).sort(order);
    yield* found.filter((e) => after === undefined || e.position > after).slice(0, limit);
  };
}

/**
 * A queue that deduplicates by itself (the memory queue never sees a dedup id): a dedup id answers
 * with its message's id until that message is acked, or purged when `releaseOnPurge`, or redriven when
 * `releaseOnRedrive` (a bug).
 */
function ownDedup(rules: { releaseOnPurge: boolean; releaseOnRedrive: boolean }): Breakage {
  return (s) => {
    const held = new Map<string, { queue: string; id: string }>();
    const byReceipt = new Map<string, string>();
    const release = (test: (v: { queue: string; id: string }) => boolean) => {
      for (const [k, v] of held) if (test(v)) held.delete(k);
    };
    const queue: MessageQueue = {
      ...s.queue,
      async send(q, m, o) {
        const ids: string[] = [];
        for (const { dedupId, ...message } of listOf(m)) {
          const key = `${q}\u0000${dedupId}`;
          const known = dedupId === undefined ? undefined : held.get(key);
          if (known !== undefined) {
            ids.push(known.id);
            continue;
          }
          const [id] = await s.queue.send(q, message, o);
          if (dedupId !== undefined) held.set(key, { queue: q, id: id ?? '' });
          ids.push(id ?? '');
        }
        return ids;
      },
      async receive(q, o) {
        const ds: Delivery[] = await s.queue.receive(q, o);
        for (const d of ds) byReceipt.set(d.receipt, d.id);
        return ds;
      },
      async ack(receipt) {
        await s.queue.ack(receipt);
        release((v) => v.id === byReceipt.get(receipt));
      },
      async purge(q) {
        const n = await s.queue.purge(q);
        if (rules.releaseOnPurge) release((v) => v.queue === q);
        return n;
      },
      async redrive(q, ids) {
        const n = await s.queue.redrive(q, ids);
        if (rules.releaseOnRedrive) release((v) => v.queue === q && (ids === undefined || ids.includes(v.id)));
        return n;
      },
    };
    return { ...s, queue };
  };
}

const broken: Record<string, BrokenAdapter> = {
  'reports delivery times an hour off (a time-zone slip)': {
    breakage: breakQueue((q) => ({
      receive: async (name, o) =>
        (await q.receive(name, o)).map((d) => ({
          ...d,
          enqueuedAt: new Date(d.enqueuedAt.getTime() + HOUR),
          visibleUntil: new Date(d.visibleUntil.getTime() + HOUR),
        })),
    })),
    mustFail: ['queue.timestamps.receive-sets-enqueued-at-and-visible-until'],
  },
  'stamps enqueuedAt at each delivery': {
    breakage: breakQueue((q) => ({
      receive: async (name, o) => (await q.receive(name, o)).map((d) => ({ ...d, enqueuedAt: new Date() })),
    })),
    mustFail: ['queue.timestamps.redelivery-keeps-enqueued-at'],
  },
  'extends visibility from the old deadline instead of from now': {
    breakage: (s) => {
      const until = new Map<string, number>();
      return breakQueue((q) => ({
        async receive(name, o) {
          const ds = await q.receive(name, o);
          for (const d of ds) until.set(d.receipt, d.visibleUntil.getTime());
          return ds;
        },
        async extendVisibility(receipt, ms) {
          const now = Date.now();
          const from = Math.max(now, until.get(receipt) ?? now);
          await q.extendVisibility(receipt, from - now + ms);
          until.set(receipt, from + ms);
        },
      }))(s);
    },
    mustFail: ['queue.timestamps.extend-visibility-counts-from-now'],
  },
  'reports when a dead letter was sent as when it was dead-lettered': {
    breakage: breakQueue((q) => ({
      deadLetters: async (name, o) => (await q.deadLetters(name, o)).map((d) => ({ ...d, deadLetteredAt: d.enqueuedAt })),
    })),
    mustFail: ['queue.timestamps.dead-lettered-at-is-when-dead-lettered'],
  },
  'ages the oldest message in any state, not the oldest ready one': {
    breakage: (s) => {
      const first = new Map<string, number>();
      return breakQueue((q) => ({
        async send(name, m, o) {
          if (!first.has(name)) first.set(name, Date.now());
          return q.send(name, m, o);
        },
        async stats(name) {
          const st = await q.stats(name);
          const since = first.get(name);
          return { ...st, oldestReadyAgeMs: st.ready > 0 && since !== undefined ? Date.now() - since : st.oldestReadyAgeMs };
        },
      }))(s);
    },
    mustFail: ['queue.stats.oldest-ready-age-of-ready-messages-only'],
  },
  'receives in the order messages became visible, not in send order': {
    breakage: (s) => {
      const due = new Map<string, number>();
      return breakQueue((q) => ({
        async send(name, m, o) {
          const now = Date.now();
          const list = listOf(m);
          const ids = await q.send(name, list, o);
          ids.forEach((id, i) => {
            due.set(id, now + (list[i]?.delayMs ?? o?.delayMs ?? 0));
          });
          return ids;
        },
        receive: async (name, o) => (await q.receive(name, o)).sort((a, b) => (due.get(a.id) ?? 0) - (due.get(b.id) ?? 0)),
      }))(s);
    },
    mustFail: ['queue.receive.send-order-across-delays'],
  },
  'ages a delayed message from when it became ready, not from its send': {
    breakage: (s) => {
      const due = new Map<string, number>();
      return breakQueue((q) => ({
        async send(name, m, o) {
          const now = Date.now();
          const list = listOf(m);
          const ids = await q.send(name, list, o);
          ids.forEach((id, i) => {
            due.set(id, now + (list[i]?.delayMs ?? o?.delayMs ?? 0));
          });
          return ids;
        },
        async stats(name) {
          const st = await q.stats(name);
          const now = Date.now();
          const ready = [...due.values()].filter((t) => t <= now);
          return { ...st, oldestReadyAgeMs: st.ready > 0 && ready.length > 0 ? now - Math.min(...ready) : st.oldestReadyAgeMs };
        },
      }))(s);
    },
    mustFail: ['queue.stats.oldest-ready-age-counts-from-send'],
  },
  'receives fresh messages before redeliveries': {
    breakage: breakQueue((q) => ({
      receive: async (name, o) => (await q.receive(name, { ...o, max: 1000 })).sort((a, b) => a.attempt - b.attempt).slice(0, o?.max ?? 1),
    })),
    mustFail: ['queue.receive.redelivery-keeps-its-place'],
  },
  'applies the limit of deadLetters in send order': {
    breakage: (s) => {
      const sent: string[] = [];
      return breakQueue((q) => ({
        async send(name, m, o) {
          const ids = await q.send(name, m, o);
          sent.push(...ids);
          return ids;
        },
        async deadLetters(name, o) {
          const dead = await q.deadLetters(name);
          const first = new Set(
            [...dead]
              .sort((a, b) => sent.indexOf(a.id) - sent.indexOf(b.id))
              .slice(0, o?.limit ?? 100)
              .map((d) => d.id),
          );
          return dead.filter((d) => first.has(d.id));
        },
      }))(s);
    },
    mustFail: ['queue.dead-letters.limit-takes-the-first-dead-lettered'],
  },
  'names no operation in stale-receipt errors': {
    breakage: breakQueue((q) => {
      const vague = (e: { code?: string }) => Promise.reject(e.code === 'STALE_RECEIPT' ? new StaleReceiptError('queue') : e);
      return {
        ack: (r) => q.ack(r).catch(vague),
        nack: (r, o) => q.nack(r, o).catch(vague),
        extendVisibility: (r, ms) => q.extendVisibility(r, ms).catch(vague),
      };
    }),
    mustFail: ['queue.receipt.stale-error-names-operation'],
  },
  'forgets the reason of a nack that retries': {
    breakage: breakQueue((q) => ({
      nack: (r, o) => {
        if (o?.deadLetter === true) return q.nack(r, o);
        const { reason: _dropped, ...rest } = o ?? {};
        return q.nack(r, rest);
      },
    })),
    mustFail: ['queue.nack.reason-kept-to-dead-letter'],
  },
  'keeps dedup ids of purged messages': {
    breakage: ownDedup({ releaseOnPurge: false, releaseOnRedrive: false }),
    mustFail: ['queue.dedup.free-after-purge'],
  },
  'forgets the dedup ids of redriven messages': {
    breakage: ownDedup({ releaseOnPurge: true, releaseOnRedrive: true }),
    mustFail: ['queue.dedup.held-through-redrive'],
  },
  'keeps the first updatedAt of a checkpoint': {
    breakage: (s) => {
      const first = new Map<string, Date>();
      const pin = <T extends { consumer: string; updatedAt: Date }>(c: T): T => {
        if (!first.has(c.consumer)) first.set(c.consumer, c.updatedAt);
        return { ...c, updatedAt: first.get(c.consumer) as Date };
      };
      return {
        ...s,
        checkpoints: {
          ...s.checkpoints,
          get: async (c) => {
            const cp = await s.checkpoints.get(c);
            return cp === null ? null : pin(cp);
          },
          list: async () => (await s.checkpoints.list()).map(pin),
        },
      };
    },
    mustFail: ['checkpoints.set.updated-at-is-when-set'],
  },
  'never shortens a lease when its owner renews it': {
    breakage: (s) => {
      const leases = new Map<string, { owner: string; until: number }>();
      return {
        ...s,
        checkpoints: {
          ...s.checkpoints,
          async acquireLease(consumer, o) {
            const now = Date.now();
            const held = leases.get(consumer);
            const ttlMs = held !== undefined && held.owner === o.owner && held.until > now + o.ttlMs ? held.until - now : o.ttlMs;
            const got = await s.checkpoints.acquireLease(consumer, { ...o, ttlMs });
            if (got) leases.set(consumer, { owner: o.owner, until: now + ttlMs });
            return got;
          },
        },
      };
    },
    mustFail: ['checkpoints.lease.renewal-counts-from-now'],
  },
  'keeps the first createdAt of a replaced snapshot': {
    breakage: (s) => {
      const first = new Map<string, Date>();
      return {
        ...s,
        snapshots: {
          ...s.snapshots,
          async load(id, o) {
            const snap = await s.snapshots.load(id, o);
            if (snap === null) return null;
            const key = `${snap.streamId}\u0000${snap.version}`;
            if (!first.has(key)) first.set(key, snap.createdAt);
            return { ...snap, createdAt: first.get(key) as Date };
          },
        },
      };
    },
    mustFail: ['snapshots.save.created-at-is-when-saved'],
  },
  'reports recordedAt an hour off (a time-zone slip)': {
    breakage: breakEvents((e) => ({
      async *readStream(id, o) {
        for await (const x of e.readStream(id, o)) yield { ...x, recordedAt: new Date(x.recordedAt.getTime() + HOUR) };
      },
    })),
    mustFail: ['events.append.recorded-at-within-call'],
  },
  'reads backward from toVersion down to the first version (ignores fromVersion)': {
    breakage: breakEvents((e) => ({
      readStream: (id, o) => {
        if (o?.direction !== 'backward') return e.readStream(id, o);
        const { fromVersion: _ignored, ...rest } = o;
        return e.readStream(id, rest);
      },
    })),
    mustFail: ['events.read-stream.bounds-across-pages-both-directions'],
  },
  'matches event types by prefix': {
    breakage: breakEvents((e) => ({
      readAll: readAllFilteredBy(
        e,
        (x, o) =>
          (o.types === undefined || o.types.some((t) => x.type.startsWith(t))) &&
          (o.correlationId === undefined || x.metadata.correlationId === o.correlationId),
      ),
    })),
    mustFail: ['events.read-all.type-filter-is-exact', 'subscriptions.filter.types-exact-across-pages'],
  },
  'matches correlation ids case-insensitively': {
    breakage: breakEvents((e) => ({
      readAll: readAllFilteredBy(
        e,
        (x, o) =>
          (o.types === undefined || o.types.includes(x.type)) &&
          (o.correlationId === undefined || String(x.metadata.correlationId).toLowerCase() === o.correlationId.toLowerCase()),
      ),
    })),
    mustFail: ['events.read-all.correlation-filter-is-exact'],
  },
  'returns filtered reads grouped by stream, not in position order': {
    breakage: breakEvents((e) => ({
      readAll: readAllFilteredBy(
        e,
        (x, o) => (o.types === undefined || o.types.includes(x.type)) && (o.correlationId === undefined || x.metadata.correlationId === o.correlationId),
        (a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.version - b.version),
      ),
    })),
    mustFail: ['events.read-all.filtered-pages-in-position-order'],
  },
};

describeBrokenAdapters('broken adapters: timestamps, ages, filters, order, dedup, receipts', broken);
