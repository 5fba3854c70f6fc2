import { checkConformance } from '@strata/core/conformance';
import { describe, expect, it } from 'vitest';
import { type CheckpointStore, createMemoryStore, type OutgoingMessage, type RecordBatch, type StoredEvent, silentWakeUps } from '../src/index.js';
import { type Breakage, type BrokenAdapter, describeBrokenAdapters } from './broken.js';

// The suite must be able to fail: each adapter here is the memory adapter with exactly one rule broken,
// and the cases guarding that rule must fail against it. Other tables live in broken-adapters.*.test.ts.

/** Replaces `checkpoints.list` on the store and on every transaction it runs. */
const breakList =
  (list: (original: CheckpointStore) => CheckpointStore['list']): Breakage =>
  (s) => ({
    ...s,
    checkpoints: { ...s.checkpoints, list: list(s.checkpoints) },
    transaction: (fn) => s.transaction((tx) => fn({ ...tx, checkpoints: { ...tx.checkpoints, list: list(tx.checkpoints) } })),
  });

const broken: Record<string, BrokenAdapter> = {
  'ignores the expected version': {
    breakage: (s) => ({ ...s, events: { ...s.events, append: (id, events) => s.events.append(id, events) } }),
    mustFail: [
      'events.append.expected-version.no-stream-conflict',
      'events.append.expected-version.exact-too-low',
      'events.append.concurrent.same-expected-version-one-wins',
    ],
  },
  'regenerates event ids (no idempotent retry)': {
    breakage: (s) => ({
      ...s,
      events: {
        ...s.events,
        append: (id, events, o) =>
          s.events.append(
            id,
            events.map((e) => ({ ...e, id: crypto.randomUUID() })),
            o,
          ),
      },
    }),
    mustFail: ['events.append.idempotent.retry-returns-original-result', 'events.append.keeps-given-ids-lowercase'],
  },
  'drops every fifth event from readAll': {
    breakage: (s) => ({
      ...s,
      events: {
        ...s.events,
        async *readAll(o) {
          for await (const e of s.events.readAll(o)) if (e.position % 5n !== 0n) yield e;
        },
      },
    }),
    mustFail: [
      'events.read-all.global-order',
      'events.read-all.tail-sees-every-event-once-under-concurrent-appends',
      'subscriptions.no-gaps-under-concurrent-appends',
    ],
  },
  'loads the whole stream before yielding': {
    breakage: (s) => ({
      ...s,
      events: {
        ...s.events,
        async *readStream(id, o) {
          const all: StoredEvent[] = [];
          for await (const e of s.events.readStream(id, o)) all.push(e);
          yield* all;
        },
      },
    }),
    mustFail: ['events.read-stream.large-stream-bounded-memory'],
  },
  'sanitizes bad JSON instead of rejecting it': {
    breakage: (s) => ({
      ...s,
      events: {
        ...s.events,
        append: (id, events, o) =>
          s.events.append(
            id,
            events.map((e) => ({ ...e, data: JSON.parse(JSON.stringify(e.data ?? null)) })),
            o,
          ),
      },
    }),
    mustFail: ['validation.append.data-nan', 'validation.append.data-date', 'validation.append.data-undefined-property'],
  },
  'accepts stale receipts': {
    breakage: (s) => ({
      ...s,
      queue: {
        ...s.queue,
        ack: (r) => s.queue.ack(r).catch((e: { code?: string }) => (e.code === 'STALE_RECEIPT' ? undefined : Promise.reject(e))),
      },
    }),
    mustFail: ['queue.ack.stale-after-visibility-expired', 'queue.ack.twice-is-stale', 'queue.concurrent-acks-of-one-receipt-one-wins'],
  },
  'ignores priority': {
    breakage: (s) => ({
      ...s,
      queue: {
        ...s.queue,
        send: (q, m, o) => {
          const drop = <T extends { priority?: number }>({ priority: _p, ...rest }: T) => rest;
          const list: OutgoingMessage[] = Array.isArray(m) ? [...(m as OutgoingMessage[])] : [m as OutgoingMessage];
          return s.queue.send(q, list.map(drop), o === undefined ? o : drop(o));
        },
      },
    }),
    mustFail: ['queue.receive.priority-first', 'queue.receive.priority-then-fifo'],
  },
  'ignores the visibility timeout': {
    breakage: (s) => ({ ...s, queue: { ...s.queue, receive: (q, o) => s.queue.receive(q, { ...o, visibilityTimeoutMs: 1 }) } }),
    mustFail: ['queue.visibility.hidden-while-in-flight', 'queue.concurrent-receivers-never-share'],
  },
  'ignores maxVersion when loading snapshots': {
    breakage: (s) => ({ ...s, snapshots: { ...s.snapshots, load: (id) => s.snapshots.load(id) } }),
    mustFail: ['snapshots.load.max-version-at-or-below'],
  },
  'ignores the expected checkpoint': {
    breakage: (s) => ({ ...s, checkpoints: { ...s.checkpoints, set: (c, p) => s.checkpoints.set(c, p) } }),
    mustFail: ['checkpoints.set.expected-mismatch-conflicts', 'checkpoints.set.concurrent-one-wins'],
  },
  'lists checkpoints in JavaScript string order (UTF-16 code units), not UTF-8 byte order': {
    breakage: breakList((c) => async () => (await c.list()).sort((a, b) => (a.consumer < b.consumer ? -1 : a.consumer > b.consumer ? 1 : 0))),
    mustFail: ['checkpoints.list.ordered'],
  },
  'lists checkpoints in insertion order': {
    breakage: breakList((c) => async () => {
      const all = await c.list();
      return all.length < 2 ? all : [...all.slice(1), all[0] as (typeof all)[number]];
    }),
    mustFail: ['checkpoints.list.ordered', 'checkpoints.list.in-transaction'],
  },
  'lists no checkpoints': {
    breakage: breakList(() => async () => []),
    mustFail: ['checkpoints.list.ordered', 'checkpoints.list.in-transaction', 'checkpoints.list.leases-are-not-checkpoints'],
  },
  'lists a phantom checkpoint': {
    breakage: breakList((c) => async () => [{ consumer: '', position: 0n, updatedAt: new Date() }, ...(await c.list())]),
    mustFail: ['checkpoints.list.empty', 'checkpoints.list.ordered', 'checkpoints.list.leases-are-not-checkpoints', 'checkpoints.list.in-transaction'],
  },
  "lists the store's committed checkpoints inside a transaction": {
    breakage: (s) => ({
      ...s,
      // What was committed when the transaction began (read before it: the store itself refuses calls inside it).
      transaction: async (fn) => {
        const committed = await s.checkpoints.list();
        return s.transaction((tx) => fn({ ...tx, checkpoints: { ...tx.checkpoints, list: async () => committed } }));
      },
    }),
    mustFail: ['checkpoints.list.in-transaction'],
  },
  'lists nothing instead of rejecting once closed': {
    breakage: breakList((c) => () => c.list().catch(() => [])),
    mustFail: ['checkpoints.list.after-close', 'checkpoints.list.after-transaction-settled', 'lifecycle.close.checkpoints-reject'],
  },
  "reads only committed events in a transaction's readAll": {
    breakage: (s) => ({
      ...s,
      // What was committed when the transaction began (read before it: the store itself refuses calls inside it).
      transaction: async (fn) => {
        const committed: StoredEvent[] = [];
        for await (const e of s.events.readAll()) committed.push(e);
        return s.transaction((tx) =>
          fn({
            ...tx,
            events: {
              ...tx.events,
              async *readAll(o) {
                for (const e of committed) if (o?.after === undefined || e.position > o.after) yield e;
              },
            },
          }),
        );
      },
    }),
    mustFail: ['transactions.reads-own-appends-after-committed-events'],
  },
  'does not roll back transactions': {
    breakage: (s) => ({ ...s, transaction: (fn) => fn(s) }),
    mustFail: ['transactions.rollback.on-throw-leaves-nothing', 'transactions.rollback.on-concurrency-error-inside'],
  },
  'keeps working after close': {
    breakage: (s) => ({ ...s, close: async () => undefined }),
    mustFail: ['lifecycle.close.events-reject', 'lifecycle.close.queue-rejects'],
  },
  'exports from the start whatever the cursor says': {
    breakage: (s) => ({ ...s, transfer: { ...s.transfer, export: (o) => s.transfer.export(o?.batchSize === undefined ? {} : { batchSize: o.batchSize }) } }),
    mustFail: ['transfer.export.resumes-after-a-cursor'],
  },
  'drops the last batch of an export': {
    breakage: (s) => ({
      ...s,
      transfer: {
        ...s.transfer,
        async *export(o) {
          let held: RecordBatch | undefined;
          for await (const b of s.transfer.export(o)) {
            if (held !== undefined) yield held;
            held = b;
          }
        },
      },
    }),
    mustFail: ['transfer.round-trip.export-import-export-is-identical', 'transfer.export.kinds-in-order-keys-ascending'],
  },
  'imports record by record (a refusal keeps what came before it)': {
    breakage: (s) => ({
      ...s,
      transfer: {
        ...s.transfer,
        async import(records) {
          let written = 0;
          let skipped = 0;
          for (const r of records) {
            const one = await s.transfer.import([r]);
            written += one.written;
            skipped += one.skipped;
          }
          return { written, skipped };
        },
      },
    }),
    mustFail: ['transfer.import.refuses-a-conflict-and-writes-nothing', 'transfer.check.reports-unstorable-records-without-their-data'],
  },
  'imports outside the transaction it is given': {
    breakage: (s) => ({ ...s, transaction: (fn) => s.transaction((tx) => fn({ ...tx, transfer: s.transfer })) }),
    mustFail: ['transfer.import.in-a-transaction-rolls-back'],
  },
  'finds no problem in any record': {
    breakage: (s) => ({ ...s, transfer: { ...s.transfer, check: async () => [] } }),
    mustFail: ['transfer.check.reports-unstorable-records-without-their-data'],
  },
  'declares wake-ups but never sends one': {
    breakage: (s) => ({ ...s, wakeUps: silentWakeUps }),
    mustFail: ['lifecycle.wake-ups.announce-commits', 'subscriptions.wake-up.delivers-without-polling'],
  },
};

describeBrokenAdapters('the conformance suite catches broken adapters', broken);

describe('the conformance suite never hangs on a broken adapter', () => {
  it('fails, over the whole suite and without hanging, an adapter whose readAll treats `after` as inclusive', async () => {
    // This bug once made subscribe() re-read the same rows in microtasks for ever: no timer, so no
    // timeout, could fire, and the run printed nothing. subscribe() now never delivers a row twice and
    // yields to the event loop between batches, so the run ends and names the failing cases.
    const outcomes = await checkConformance({
      name: 'inclusive after',
      factory: (settings) => {
        const s = createMemoryStore(settings);
        return { ...s, events: { ...s.events, readAll: (o) => s.events.readAll(o?.after !== undefined && o.after > 0n ? { ...o, after: o.after - 1n } : o) } };
      },
      teardown: () => undefined,
      timeoutMs: 5000,
    });
    const failed = outcomes.filter((o) => !o.passed).map((o) => o.id);
    expect(failed).toContain('events.read-all.after-is-exclusive');
    expect(failed.filter((id) => id.startsWith('subscriptions.'))).toEqual([]);
  }, 120_000);
});
