import type { StrataStore } from '../store.js';
import { canonicalRecord } from '../transfer/records.js';
import type { CheckpointRecord, EventRecord, MessageRecord, RecordBatch, RecordKind, SnapshotRecord, StrataRecord, StreamRecord } from '../transfer/types.js';
import { assert, collect, defineCases, fingerprint, rejects, uuid } from './helpers.js';
import type { CaseContext } from './types.js';

const on = { requires: (c: { transfer: boolean }) => c.transfer };
const full = {
  requires: (c: { transfer: boolean; queue: boolean; snapshots: boolean; checkpoints: boolean }) => c.transfer && c.queue && c.snapshots && c.checkpoints,
};

/** Every record of an export, flattened. */
async function exportAll(store: StrataStore, batchSize = 1000): Promise<StrataRecord[]> {
  const batches = await collect(store.transfer.export({ batchSize }));
  return batches.flatMap((b) => [...b.records]);
}

/** Records by value, for comparing two exports. */
const canon = (records: readonly StrataRecord[]) => records.map(canonicalRecord);

/** Imports every batch of `from` into `to`, batch by batch as a migration tool does. */
async function copy(from: StrataStore, to: StrataStore, batchSize = 3): Promise<number> {
  let written = 0;
  for await (const batch of from.transfer.export({ batchSize })) written += (await to.transfer.import(batch.records)).written;
  return written;
}

/**
 * Fills a store with every kind of record in every state: two streams (one with a correlation id and
 * unicode data), snapshots, messages ready, delayed, in flight, dead-lettered, with a dedup id, priority
 * and headers, and two checkpoints. Returns the receipt of the message in flight.
 */
async function populate({ store, ms }: CaseContext): Promise<{ inFlightReceipt: string }> {
  await store.events.append('order-1', [
    { type: 'Placed', data: { total: 42.5, items: [{ sku: 'a', qty: 2 }], note: 'caf\u00e9 \u{1f600}' }, metadata: { correlationId: 'c-1', userId: 'u' } },
    { type: 'Paid', data: { amount: 42.5 }, schemaVersion: 2 },
  ]);
  await store.events.append('order-2', [{ type: 'Placed', data: [1, 'two', null, true, { deep: { er: [0.1] } }] }]);
  await store.events.append('order-1', [{ type: 'Shipped', data: null }]);
  await store.snapshots.save('order-1', { version: 2, state: { total: 42.5, paid: true }, schemaVersion: 3 });
  await store.snapshots.save('order-1', { version: 3, state: { shipped: true } });
  await store.queue.send('mail', [
    { body: { to: 'first' }, headers: { trace: 't-1' } },
    { body: { to: 'second' }, priority: 5 },
  ]);
  await store.queue.send('mail', { body: { to: 'later' }, dedupId: 'd-1' }, { delayMs: ms(3_600_000) });
  await store.queue.send('jobs', [{ body: 'in flight' }, { body: 'dead' }]);
  const deliveries = await store.queue.receive('jobs', { max: 2, visibilityTimeoutMs: ms(600_000) });
  const dead = deliveries.find((d) => d.body === 'dead');
  const inFlight = deliveries.find((d) => d.body === 'in flight');
  assert.ok(dead !== undefined && inFlight !== undefined, 'both jobs were received');
  await store.queue.nack(dead.receipt, { deadLetter: true, reason: 'cannot parse' });
  await store.checkpoints.set('projector', 2n);
  await store.checkpoints.set('mailer', 0n);
  return { inFlightReceipt: inFlight.receipt };
}

const eventRecord = (over: Partial<EventRecord> = {}): EventRecord => ({
  kind: 'event',
  position: 10n,
  streamId: 's',
  version: 1,
  id: uuid(),
  type: 'Imported',
  schemaVersion: 1,
  data: '{"n":1}',
  metadata: '{}',
  recordedAt: Date.UTC(2020, 0, 1),
  ...over,
});

const streamRecord = (over: Partial<StreamRecord> = {}): StreamRecord => ({
  kind: 'stream',
  streamId: 's',
  version: 3,
  createdAt: Date.UTC(2020, 0, 1),
  updatedAt: Date.UTC(2020, 0, 2),
  ...over,
});

const messageRecord = (over: Partial<MessageRecord> = {}): MessageRecord => ({
  kind: 'message',
  id: uuid(),
  queue: 'q',
  seq: 7,
  body: '{"b":1}',
  headers: '{}',
  priority: 0,
  maxAttempts: 5,
  dedupId: null,
  attempt: 0,
  visibleAt: Date.UTC(2020, 0, 1),
  receipt: null,
  dead: false,
  reason: null,
  enqueuedAt: Date.UTC(2020, 0, 1),
  deadLetteredAt: null,
  ...over,
});

const snapshotRecord = (over: Partial<SnapshotRecord> = {}): SnapshotRecord => ({
  kind: 'snapshot',
  streamId: 's',
  version: 1,
  state: '{"v":1}',
  schemaVersion: 1,
  createdAt: Date.UTC(2020, 0, 3),
  ...over,
});

const checkpointRecord = (over: Partial<CheckpointRecord> = {}): CheckpointRecord => ({
  kind: 'checkpoint',
  consumer: 'c',
  position: 1n,
  updatedAt: Date.UTC(2020, 0, 4),
  ...over,
});

/** The messages of an export, in export order. */
const messagesOf = (records: readonly StrataRecord[]) => records.filter((r): r is MessageRecord => r.kind === 'message');

/**
 * Several records of every kind, each kind imported out of its key order where the rules allow it
 * (streams, snapshots, checkpoints), with the order an export must give them back in. Stream ids and
 * consumers sort differently as text and as numbers; one stream has three snapshots.
 */
function manyOfEachKind(): { imported: StrataRecord[]; exported: StrataRecord[] } {
  const ids = ['s-10', 's-9', 's-2', 's-1', 's-30'];
  const streams = ids.map((streamId) => streamRecord({ streamId, version: streamId === 's-2' ? 3 : 1 }));
  const events: EventRecord[] = [];
  for (const s of streams) {
    for (let v = 1; v <= s.version; v++) events.push(eventRecord({ streamId: s.streamId, version: v, position: BigInt(events.length * 3 + 1) }));
  }
  const snapshots = [
    snapshotRecord({ streamId: 's-2', version: 2, state: '{"at":2}' }),
    snapshotRecord({ streamId: 's-9', version: 1 }),
    snapshotRecord({ streamId: 's-2', version: 3, state: '{"at":3}' }),
    snapshotRecord({ streamId: 's-10', version: 1 }),
    snapshotRecord({ streamId: 's-2', version: 1, state: '{"at":1}' }),
  ];
  const messages = [2, 5, 9].map((seq) => messageRecord({ seq, queue: seq === 5 ? 'a' : 'q' }));
  const checkpoints = ['c-b', 'c-a', 'c-10', 'c-9'].map((consumer, i) => checkpointRecord({ consumer, position: BigInt(i + 1) }));
  const byName =
    <T>(key: (x: T) => string) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  const exported: StrataRecord[] = [
    ...[...streams].sort(byName((s: StreamRecord) => s.streamId)),
    ...events,
    ...[...snapshots].sort((a, b) => byName((s: SnapshotRecord) => s.streamId)(a, b) || a.version - b.version),
    ...messages,
    ...[...checkpoints].sort(byName((c: CheckpointRecord) => c.consumer)),
  ];
  return { imported: [...streams, ...events, ...snapshots, ...messages, ...checkpoints], exported };
}

/** Three events of stream `s` at sparse positions, after its stream record. */
const sparse = (): StrataRecord[] => [
  streamRecord(),
  eventRecord({ position: 10n, version: 1 }),
  eventRecord({ position: 20n, version: 2, data: '{"n":2}' }),
  eventRecord({ position: 1000n, version: 3, data: '{"n":3}' }),
];

export const transferCases = defineCases('transfer', {
  'export.empty-store-yields-nothing': {
    ...on,
    async run({ store }) {
      assert.deepEqual(await collect(store.transfer.export()), []);
      assert.deepEqual(await store.transfer.counts(), { stream: 0, event: 0, snapshot: 0, message: 0, checkpoint: 0 });
    },
  },
  'export.kinds-in-order-keys-ascending': {
    ...full,
    async run(ctx) {
      await populate(ctx);
      const batches: RecordBatch[] = await collect(ctx.store.transfer.export({ batchSize: 2 }));
      const kinds: RecordKind[] = [];
      for (const b of batches) {
        assert.ok(b.records.length > 0 && b.records.length <= 2, 'batches hold 1 to batchSize records');
        assert.ok(
          b.records.every((r) => r.kind === b.kind),
          'a batch holds records of its kind only',
        );
        if (kinds[kinds.length - 1] !== b.kind) kinds.push(b.kind);
      }
      assert.deepEqual(kinds, ['stream', 'event', 'snapshot', 'message', 'checkpoint']);
      const records = batches.flatMap((b) => [...b.records]);
      const events = records.filter((r): r is EventRecord => r.kind === 'event');
      assert.deepEqual(
        events.map((e) => e.position),
        [...events.map((e) => e.position)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
        'events come in position order',
      );
      const streams = records.filter((r): r is StreamRecord => r.kind === 'stream').map((s) => s.streamId);
      assert.deepEqual(streams, ['order-1', 'order-2']);
      const messages = records.filter((r): r is MessageRecord => r.kind === 'message');
      assert.deepEqual(
        messages.map((m) => JSON.parse(m.body)),
        [{ to: 'first' }, { to: 'second' }, { to: 'later' }, 'in flight', 'dead'],
        'messages come in send order',
      );
      const counts = await ctx.store.transfer.counts();
      assert.deepEqual(counts, { stream: 2, event: 4, snapshot: 2, message: 5, checkpoint: 2 });
    },
  },
  'export.records-hold-what-the-contracts-read': {
    ...full,
    async run(ctx) {
      const { store } = ctx;
      await populate(ctx);
      const records = await exportAll(store);
      const events = records.filter((r): r is EventRecord => r.kind === 'event');
      const read = await collect(store.events.readAll());
      assert.deepEqual(
        events.map((e) => [e.position, e.streamId, e.version, e.id, e.type, e.schemaVersion, JSON.parse(e.data), JSON.parse(e.metadata), e.recordedAt]),
        read.map((e) => [e.position, e.streamId, e.version, e.id, e.type, e.schemaVersion, e.data, e.metadata, e.recordedAt.getTime()]),
      );
      const stream = records.find((r): r is StreamRecord => r.kind === 'stream' && r.streamId === 'order-1');
      const info = await store.events.streamInfo('order-1');
      assert.deepEqual([stream?.version, stream?.createdAt, stream?.updatedAt], [info?.version, info?.createdAt.getTime(), info?.updatedAt.getTime()]);
      const messages = records.filter((r): r is MessageRecord => r.kind === 'message');
      const dead = messages.find((m) => JSON.parse(m.body) === 'dead');
      assert.equal(dead?.dead, true);
      assert.equal(dead?.reason, 'cannot parse');
      assert.equal(dead?.receipt, null);
      assert.equal(typeof dead?.deadLetteredAt, 'number');
      const inFlight = messages.find((m) => JSON.parse(m.body) === 'in flight');
      assert.equal(inFlight?.attempt, 1);
      assert.ok(inFlight?.receipt !== null && (inFlight?.visibleAt ?? 0) > Date.now(), 'in flight: a receipt and a visibility ahead');
      const delayed = messages.find((m) => m.dedupId === 'd-1');
      assert.ok((delayed?.visibleAt ?? 0) > Date.now() + 60_000 && delayed?.receipt === null, 'delayed: visible later, no receipt');
      const first = messages.find((m) => JSON.parse(m.body).to === 'first');
      assert.deepEqual(JSON.parse(first?.headers ?? 'null'), { trace: 't-1' });
      assert.equal(messages.find((m) => JSON.parse(m.body).to === 'second')?.priority, 5);
      const checkpoint = records.find((r) => r.kind === 'checkpoint' && r.consumer === 'projector');
      assert.equal(checkpoint?.kind === 'checkpoint' ? checkpoint.position : undefined, 2n);
    },
  },
  'round-trip.export-import-export-is-identical': {
    ...full,
    async run(ctx) {
      await populate(ctx);
      const target = await ctx.another();
      const before = await exportAll(ctx.store);
      const written = await copy(ctx.store, target);
      assert.equal(written, before.length);
      assert.deepEqual(canon(await exportAll(target)), canon(before));
      assert.deepEqual(await target.transfer.counts(), await ctx.store.transfer.counts());
    },
  },
  'round-trip.target-reads-as-the-source': {
    ...full,
    async run(ctx) {
      const { inFlightReceipt } = await populate(ctx);
      const source = ctx.store;
      const target = await ctx.another();
      await copy(source, target);
      const strip = (e: { recordedAt: Date }) => ({ ...e, recordedAt: e.recordedAt.getTime() });
      assert.deepEqual((await collect(target.events.readAll())).map(strip), (await collect(source.events.readAll())).map(strip));
      assert.deepEqual(
        (await collect(target.events.readStream('order-1', { direction: 'backward' }))).map((e) => e.id),
        (await collect(source.events.readStream('order-1', { direction: 'backward' }))).map((e) => e.id),
      );
      assert.deepEqual(await target.events.streamInfo('order-1'), await source.events.streamInfo('order-1'));
      assert.equal(await target.events.headPosition(), await source.events.headPosition());
      assert.deepEqual(await target.snapshots.load('order-1', { maxVersion: 2 }), await source.snapshots.load('order-1', { maxVersion: 2 }));
      assert.deepEqual(await target.checkpoints.list(), await source.checkpoints.list());
      const stats = async (s: StrataStore, q: string) => ({ ...(await s.queue.stats(q)), oldestReadyAgeMs: null });
      assert.deepEqual(await stats(target, 'mail'), await stats(source, 'mail'));
      assert.deepEqual(await stats(target, 'jobs'), await stats(source, 'jobs'));
      const strip2 = (d: { enqueuedAt: Date; deadLetteredAt: Date }) => ({
        ...d,
        enqueuedAt: d.enqueuedAt.getTime(),
        deadLetteredAt: d.deadLetteredAt.getTime(),
      });
      assert.deepEqual((await target.queue.deadLetters('jobs')).map(strip2), (await source.queue.deadLetters('jobs')).map(strip2));
      // The ready messages come out of the target in the source's order, with their ids and attempts.
      const got = await target.queue.receive('mail', { max: 10, visibilityTimeoutMs: ctx.ms(60_000) });
      assert.deepEqual(
        got.map((d) => [d.body, d.attempt, d.headers]),
        [
          [{ to: 'second' }, 1, {}],
          [{ to: 'first' }, 1, { trace: 't-1' }],
        ],
      );
      // The delivery in flight on the source can be acknowledged on the target with its receipt.
      await target.queue.ack(inFlightReceipt);
      assert.equal((await target.queue.stats('jobs')).inFlight, 0);
    },
  },
  'round-trip.later-writes-come-after-imported-ones': {
    ...full,
    async run(ctx) {
      await populate(ctx);
      const target = await ctx.another();
      await copy(ctx.store, target);
      const head = await ctx.store.events.headPosition();
      const appended = await target.events.append('order-2', [{ type: 'After', data: {} }], { expectedVersion: 1 });
      assert.ok(appended.firstPosition > head, `a new event's position ${appended.firstPosition} is after the imported head ${head}`);
      assert.equal(appended.version, 2);
      const tail = await collect(target.events.readAll({ after: head }));
      assert.deepEqual(
        tail.map((e) => e.type),
        ['After'],
      );
      // A message sent after the import comes after the imported ones of equal priority.
      await target.queue.send('mail', { body: { to: 'new' } });
      const got = await target.queue.receive('mail', { max: 10, visibilityTimeoutMs: ctx.ms(60_000) });
      assert.deepEqual(
        got.map((d) => (d.body as { to: string }).to),
        ['second', 'first', 'new'],
      );
      // The dedup id of the imported delayed message still holds.
      const [again] = await target.queue.send('mail', { body: { to: 'later' }, dedupId: 'd-1' });
      const delayed = (await exportAll(ctx.store)).find((r) => r.kind === 'message' && r.dedupId === 'd-1');
      assert.equal(again, delayed?.kind === 'message' ? delayed.id : undefined);
    },
  },
  'export.resumes-after-a-cursor': {
    ...full,
    async run(ctx) {
      await populate(ctx);
      const batches = await collect(ctx.store.transfer.export({ batchSize: 2 }));
      const all = batches.flatMap((b) => [...b.records]);
      for (const [i, b] of batches.entries()) {
        const rest = await collect(ctx.store.transfer.export({ batchSize: 3, after: b.cursor }));
        const expected = batches.slice(i + 1).flatMap((x) => [...x.records]);
        assert.deepEqual(canon(rest.flatMap((x) => [...x.records])), canon(expected), `resuming after batch ${i} of ${batches.length}`);
      }
      assert.equal(all.length, 15);
    },
  },
  'export.rejects-bad-options': {
    ...on,
    async run({ store }) {
      await rejects(collect(store.transfer.export({ batchSize: 0 })), 'VALIDATION');
      await rejects(collect(store.transfer.export({ batchSize: 1.5 })), 'VALIDATION');
      await rejects(collect(store.transfer.export({ after: 'not a cursor' })), 'VALIDATION');
      await rejects(collect(store.transfer.export({ after: '["strata-export-1","nothing",1]' })), 'VALIDATION');
      await rejects(collect(store.transfer.export({ batch: 5 } as never)), 'VALIDATION');
    },
  },
  'import.again-skips-everything': {
    ...full,
    async run(ctx) {
      await populate(ctx);
      const target = await ctx.another();
      await copy(ctx.store, target);
      const first = await exportAll(target);
      const records = await exportAll(ctx.store);
      const again = await target.transfer.import(records);
      assert.deepEqual(again, { written: 0, skipped: records.length });
      assert.deepEqual(canon(await exportAll(target)), canon(first));
    },
  },
  'import.keeps-sparse-positions': {
    ...on,
    async run({ store }) {
      const result = await store.transfer.import(sparse());
      assert.deepEqual(result, { written: 4, skipped: 0 });
      const read = await collect(store.events.readAll());
      assert.deepEqual(
        read.map((e) => [e.position, e.version, e.data]),
        [
          [10n, 1, { n: 1 }],
          [20n, 2, { n: 2 }],
          [1000n, 3, { n: 3 }],
        ],
      );
      assert.deepEqual(
        (await collect(store.events.readAll({ after: 15n }))).map((e) => e.position),
        [20n, 1000n],
      );
      assert.equal(await store.events.headPosition(), 1000n);
      assert.equal(read[0]?.recordedAt.getTime(), Date.UTC(2020, 0, 1));
      assert.deepEqual(
        (await collect(store.events.readStream('s', { fromVersion: 2 }))).map((e) => e.position),
        [20n, 1000n],
      );
      const info = await store.events.streamInfo('s');
      assert.deepEqual([info?.version, info?.createdAt.getTime(), info?.updatedAt.getTime()], [3, Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2)]);
      const next = await store.events.append('s', [{ type: 'After', data: {} }], { expectedVersion: 3 });
      assert.ok(next.firstPosition > 1000n, `the next position ${next.firstPosition} is after 1000`);
      assert.equal(next.version, 4);
    },
  },
  'import.finds-correlation-ids-spelled-with-escapes': {
    // Found by mutation testing: imported metadata is JSON text, which may spell the key `correlationId`
    // (or its value) with `\u` escapes; the imported event is found by its correlation id all the same.
    ...on,
    async run({ store }) {
      await store.transfer.import([
        streamRecord({ version: 3 }),
        eventRecord({ position: 1n, version: 1, type: 'EscapedKey', metadata: '{"correlation\\u0049d":"c-1"}' }),
        eventRecord({ position: 2n, version: 2, type: 'EscapedValue', metadata: '{"correlationId":"c\\u002d1"}' }),
        eventRecord({ position: 3n, version: 3, type: 'Other', metadata: '{"note":"caf\\u00e9","causationId":"c-1"}' }),
      ]);
      assert.deepEqual(
        (await collect(store.events.readAll({ correlationId: 'c-1' }))).map((e) => [e.type, e.metadata.correlationId]),
        [
          ['EscapedKey', 'c-1'],
          ['EscapedValue', 'c-1'],
        ],
      );
    },
  },
  'export.orders-positions-and-seqs-as-numbers': {
    ...full,
    async run({ store }) {
      // 9 < 10 < 100 as numbers, though not as text: an adapter sorting their text form stops early.
      const records: StrataRecord[] = [
        streamRecord({ version: 4 }),
        ...[9n, 10n, 100n, 1000n].map((position, i) => eventRecord({ position, version: i + 1 })),
        ...[9, 10, 100].map((seq) => messageRecord({ seq })),
      ];
      await store.transfer.import(records);
      const batches = await collect(store.transfer.export({ batchSize: 2 }));
      const out = batches.flatMap((b) => [...b.records]);
      assert.deepEqual(
        out.filter((r): r is EventRecord => r.kind === 'event').map((e) => e.position),
        [9n, 10n, 100n, 1000n],
      );
      assert.deepEqual(
        out.filter((r): r is MessageRecord => r.kind === 'message').map((m) => m.seq),
        [9, 10, 100],
      );
      const rest = await collect(store.transfer.export({ batchSize: 2, after: batches[1]?.cursor ?? '' }));
      assert.deepEqual(
        rest
          .flatMap((b) => [...b.records])
          .filter((r): r is EventRecord => r.kind === 'event')
          .map((e) => e.position),
        [100n, 1000n],
      );
    },
  },
  'import.large-batches': {
    ...full,
    async run({ store, another }) {
      // Hundreds of records per call, in several streams and queues: adapters that split a batch into
      // several statements must keep it one transaction, in order.
      const records: StrataRecord[] = [];
      for (let s = 0; s < 3; s++) records.push(streamRecord({ streamId: `s${s}`, version: 150 }));
      for (let v = 1; v <= 150; v++) {
        for (let s = 0; s < 3; s++) {
          records.push(
            eventRecord({ streamId: `s${s}`, version: v, position: BigInt(v * 10 + s), data: `{"v":${v},"s":${s}}`, metadata: `{"correlationId":"c${s}"}` }),
          );
        }
      }
      for (let m = 1; m <= 250; m++) records.push(messageRecord({ seq: m * 2, queue: m % 2 === 0 ? 'even' : 'odd', priority: m % 3 }));
      const result = await store.transfer.import(records);
      assert.deepEqual(result, { written: records.length, skipped: 0 });
      assert.deepEqual(canon(await exportAll(store, 97)), canon(records));
      assert.equal((await collect(store.events.readAll({ correlationId: 'c1' }))).length, 150);
      assert.equal((await store.queue.stats('even')).ready, 125);
      const target = await another();
      await copy(store, target, 200);
      assert.deepEqual(canon(await exportAll(target)), canon(await exportAll(store)));
      assert.deepEqual(await store.transfer.import(records), { written: 0, skipped: records.length });
    },
  },
  'import.refuses-a-conflict-and-writes-nothing': {
    ...on,
    async run(ctx) {
      const { store } = ctx;
      await store.transfer.import(sparse());
      const before = await fingerprint(ctx, { streamId: 's' });
      const other = streamRecord({ streamId: 'other', version: 1 });
      // A new stream first, then an event at a stored position with other data: the whole call is refused.
      const clash = eventRecord({ position: 20n, version: 2, data: '{"n":"changed"}' });
      const e = await rejects(store.transfer.import([other, eventRecord({ streamId: 'other', position: 2000n }), clash]), 'VALIDATION');
      assert.match(e.message, /position 20/);
      assert.doesNotMatch(e.message, /changed/, 'the data stays out of the error');
      assert.deepEqual(await fingerprint(ctx, { streamId: 's' }), before);
      assert.equal(await store.events.streamInfo('other'), null);
    },
  },
  'import.refuses-what-breaks-the-rules': {
    ...on,
    async run(ctx) {
      const { store } = ctx;
      await store.transfer.import(sparse());
      const before = await fingerprint(ctx, { streamId: 's' });
      const cases: [string, StrataRecord[]][] = [
        ['a position behind the head', [eventRecord({ position: 500n, version: 4 })]],
        ['a version gap', [eventRecord({ position: 2000n, version: 5 })]],
        ['a stream not imported first', [eventRecord({ streamId: 'nowhere', position: 2000n, version: 1 })]],
        ['a stream version below its event', [streamRecord({ streamId: 't', version: 0 }), eventRecord({ streamId: 't', position: 2000n, version: 1 })]],
        ['a stored event id at a new position', [eventRecord({ position: 2000n, version: 4, id: (await collect(store.events.readAll()))[0]?.id ?? '' })]],
        ['a stream stored with another version', [streamRecord({ version: 9 })]],
      ];
      for (const [what, records] of cases) {
        await rejects(store.transfer.import(records), 'VALIDATION').catch((error: unknown) => {
          throw new Error(`${what}: ${String(error)}`);
        });
      }
      assert.deepEqual(await fingerprint(ctx, { streamId: 's' }), before);
    },
  },
  'check.reports-unstorable-records-without-their-data': {
    ...on,
    async run(ctx) {
      const { store } = ctx;
      const secret = 'secret-4111';
      const records: StrataRecord[] = [
        streamRecord({ streamId: '' }),
        eventRecord({ data: `{"x":"${secret}"` }),
        eventRecord({ data: `{"x":"${secret}\\u0000"}` }),
        eventRecord({ metadata: `["${secret}"]` }),
        eventRecord({ id: 'not-a-uuid' }),
        eventRecord({ recordedAt: 1e300 }),
        messageRecord({ headers: `{"h":1}` }),
        messageRecord({ dead: true, receipt: uuid() }),
      ];
      const problems = await store.transfer.check(records);
      const fields = problems.map((p) => `${p.kind}.${p.field}`);
      for (const f of ['stream.streamId', 'event.data', 'event.metadata', 'event.id', 'event.recordedAt', 'message.headers', 'message.receipt']) {
        assert.ok(fields.includes(f), `check reports ${f} (got ${fields.join(', ')})`);
      }
      assert.equal(fields.filter((f) => f === 'event.data').length, 2, 'invalid JSON and U+0000 are both reported');
      assert.ok(!JSON.stringify(problems, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes(secret), 'problems never carry data');
      const data = problems.find((p) => p.field === 'data');
      assert.equal(data?.streamId, 's');
      assert.equal(data?.version, 1);
      assert.deepEqual(await store.transfer.check([streamRecord(), eventRecord()]), [], 'good records have no problem');
      const before = await fingerprint(ctx, { streamId: 's' });
      for (const bad of records) {
        const e = await rejects(store.transfer.import([streamRecord(), eventRecord({ position: 1n }), bad]), 'VALIDATION');
        assert.ok(!e.message.includes(secret), 'the error never carries data');
      }
      assert.deepEqual(await fingerprint(ctx, { streamId: 's' }), before);
    },
  },
  'import.in-a-transaction-rolls-back': {
    requires: (c) => c.transfer && c.transactions,
    async run(ctx) {
      const { store } = ctx;
      const before = await fingerprint(ctx, { streamId: 's' });
      const records = sparse();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.transfer.import(records);
          assert.equal((await collect(tx.events.readAll())).length, 3, 'the transaction sees its import');
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.deepEqual(await fingerprint(ctx, { streamId: 's' }), before);
      await store.transaction(async (tx) => {
        await tx.transfer.import(records);
      });
      assert.equal((await collect(store.events.readAll())).length, 3);
      assert.deepEqual(await store.transfer.import(records), { written: 0, skipped: 4 });
    },
  },
  'export.pages-each-kind-by-key': {
    ...full,
    async run({ store }) {
      const { imported, exported } = manyOfEachKind();
      await store.transfer.import(imported);
      for (const batchSize of [1, 2, 3, 1000]) {
        const batches = await collect(store.transfer.export({ batchSize }));
        for (const b of batches) {
          assert.ok(b.records.length > 0 && b.records.length <= batchSize, `batches of ${batchSize} hold 1 to ${batchSize} records (got ${b.records.length})`);
          assert.ok(
            b.records.every((r) => r.kind === b.kind),
            'a batch holds records of its kind only',
          );
        }
        assert.deepEqual(canon(batches.flatMap((b) => [...b.records])), canon(exported), `every record once, in key order, in batches of ${batchSize}`);
        if (batchSize === 1 || batchSize === 1000) continue;
        // Resuming in the middle of every kind gives the rest of that kind, then the next kinds.
        for (const [i, b] of batches.entries()) {
          const rest = await collect(store.transfer.export({ batchSize, after: b.cursor }));
          assert.deepEqual(
            canon(rest.flatMap((x) => [...x.records])),
            canon(exported.slice(batches.slice(0, i + 1).reduce((n, x) => n + x.records.length, 0))),
            `resuming after batch ${i} (${b.kind}) of ${batchSize}`,
          );
        }
      }
    },
  },
  'check.reports-or-keeps-each-json-field': {
    ...full,
    async run({ store }) {
      // Each JSON field holding a value some databases cannot keep exactly: -0, an integer a double
      // cannot hold, a number beyond a double's range, a lone surrogate. An adapter either reports the
      // record, naming it and the field and never the data, or stores the value exactly as given.
      const secret = 'secret-5500';
      const values = ['-0', '9007199254740993', '1e400', '"\\ud800"'];
      let n = 0;
      const candidates: { field: string; records: StrataRecord[]; value: string }[] = [];
      for (const value of values) {
        const text = `{"note":"${secret}","v":${value}}`;
        for (const field of ['data', 'metadata'] as const) {
          n++;
          const streamId = `s-${n}`;
          candidates.push({
            field,
            value,
            records: [streamRecord({ streamId, version: 1 }), eventRecord({ streamId, position: BigInt(n), [field]: text })],
          });
        }
        n++;
        candidates.push({ field: 'state', value, records: [snapshotRecord({ streamId: `s-${n}`, state: text })] });
        n++;
        candidates.push({ field: 'body', value, records: [messageRecord({ seq: n, body: text })] });
        n++;
        candidates.push({ field: 'headers', value, records: [messageRecord({ seq: n, headers: text })] });
      }
      for (const { field, value, records } of candidates) {
        const record = records[records.length - 1] as StrataRecord;
        const what = `${record.kind}.${field} holding ${value}`;
        const problems = await store.transfer.check(records);
        const shown = JSON.stringify(problems, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
        assert.ok(!shown.includes(secret) && !shown.includes('9007199254740993'), `the report of ${what} carries no data`);
        if (problems.length > 0 || value.startsWith('"')) {
          assert.equal(problems.length, 1, `${what}: one problem (got ${shown})`);
          const [p] = problems;
          assert.equal(p?.kind, record.kind, `${what}: the problem names the record's kind`);
          assert.equal(p?.field, field, `${what}: the problem names the field`);
          assert.ok(typeof p?.reason === 'string' && p.reason.length > 0, `${what}: the problem gives a reason`);
          assert.ok(typeof p?.key === 'string' && p.key.length > 0, `${what}: the problem names the record`);
          if (record.kind === 'event') assert.deepEqual([p?.streamId, p?.version, p?.position], [record.streamId, record.version, record.position], what);
          if (record.kind === 'snapshot') assert.deepEqual([p?.streamId, p?.version], [record.streamId, record.version], what);
          const e = await rejects(store.transfer.import(records), 'VALIDATION');
          assert.ok(!e.message.includes(secret), `the refusal of ${what} carries no data`);
        } else {
          await store.transfer.import(records);
          const stored = (await exportAll(store)).filter((r) => canonicalRecord(r) === canonicalRecord(record));
          assert.equal(stored.length, 1, `${what}: not reported, so stored exactly as given`);
        }
      }
    },
  },
  'import.rejects-what-is-not-an-array': {
    ...on,
    async run(ctx) {
      const { store } = ctx;
      const before = await fingerprint(ctx);
      for (const value of ['records', { length: 1, 0: streamRecord() }, null, 42, streamRecord()]) {
        for (const call of [() => store.transfer.check(value as never), () => store.transfer.import(value as never)]) {
          const e = await rejects(call, 'VALIDATION');
          assert.ok(e.message.startsWith('records '), `the error names the argument first: ${JSON.stringify(e.message)}`);
          assert.ok(e.message.length > 'records '.length, 'the error says what is wrong');
        }
      }
      assert.deepEqual(await fingerprint(ctx), before);
      assert.deepEqual(await store.transfer.counts(), { stream: 0, event: 0, snapshot: 0, message: 0, checkpoint: 0 });
    },
  },
  'import.messages-keep-seq-and-dedup-ids': {
    requires: (c) => c.transfer && c.queue,
    async run({ store }) {
      const imported = [
        messageRecord({ seq: 3 }),
        messageRecord({ seq: 5, dedupId: 'd-1' }),
        messageRecord({ seq: 8, dedupId: 'd-2' }),
        messageRecord({ seq: 9 }),
        messageRecord({ seq: 12, queue: 'other', dedupId: 'd-1' }),
      ];
      assert.deepEqual(await store.transfer.import(imported), { written: 5, skipped: 0 });
      // The dedup ids hold after the import, each for its own message and queue.
      assert.deepEqual(await store.queue.send('q', { body: 'again', dedupId: 'd-1' }), [imported[1]?.id]);
      assert.deepEqual(await store.queue.send('q', { body: 'again', dedupId: 'd-2' }), [imported[2]?.id]);
      assert.deepEqual(await store.queue.send('other', { body: 'again', dedupId: 'd-1' }), [imported[4]?.id]);
      // A message sent afterwards gets a larger seq than every imported one.
      const [sent] = await store.queue.send('q', { body: 'after' });
      const messages = messagesOf(await exportAll(store));
      assert.deepEqual(
        messages.map((m) => m.id),
        [...imported.map((m) => m.id), sent],
        'the message sent after the import comes last',
      );
      const top = messages[messages.length - 1]?.seq ?? 0;
      assert.ok(top > 12, `the seq of the message sent after the import (${top}) is after 12`);
      const counts = await store.transfer.counts();
      // A seq not after the stored ones, and a dedup id stored on another message of the queue, are refused.
      for (const [what, record] of [
        ['a seq between stored ones', messageRecord({ seq: 10 })],
        ['a seq below the stored ones', messageRecord({ seq: 1 })],
        ['the dedup id of another message of its queue', messageRecord({ seq: top + 10, dedupId: 'd-2' })],
      ] as const) {
        await rejects(store.transfer.import([record]), 'VALIDATION').catch((error: unknown) => {
          throw new Error(`${what}: ${String(error)}`);
        });
      }
      assert.deepEqual(await store.transfer.counts(), counts, 'a refused import writes nothing');
      // A new dedup id, another queue's dedup id, and none are all fine.
      const more = [
        messageRecord({ seq: top + 1, dedupId: 'd-3' }),
        messageRecord({ seq: top + 2, queue: 'third', dedupId: 'd-2' }),
        messageRecord({ seq: top + 3 }),
      ];
      assert.deepEqual(await store.transfer.import(more), { written: 3, skipped: 0 });
      assert.deepEqual(await store.transfer.import([...imported, ...more]), { written: 0, skipped: 8 });
      assert.deepEqual(await store.queue.send('q', { body: 'again', dedupId: 'd-3' }), [more[0]?.id]);
    },
  },
  'import.snapshots-load-latest-first': {
    requires: (c) => c.transfer && c.snapshots,
    async run({ store }) {
      await store.transfer.import([...sparse(), snapshotRecord({ version: 2, state: '{"at":2}' })]);
      await store.transfer.import([snapshotRecord({ version: 3, state: '{"at":3}' }), snapshotRecord({ version: 1, state: '{"at":1}' })]);
      assert.deepEqual((await store.snapshots.load('s'))?.state, { at: 3 }, 'the latest snapshot loads');
      assert.deepEqual((await store.snapshots.load('s', { maxVersion: 2 }))?.state, { at: 2 });
      assert.deepEqual((await store.snapshots.load('s', { maxVersion: 1 }))?.state, { at: 1 });
      const snapshots = (await exportAll(store)).filter((r): r is SnapshotRecord => r.kind === 'snapshot');
      assert.deepEqual(
        snapshots.map((x) => x.version),
        [1, 2, 3],
      );
    },
  },
  'import.after-a-rolled-back-import': {
    requires: (c) => c.transfer && c.transactions,
    async run({ store }) {
      // Stream s at version 3 holds two events; an import of its third rolls back, another one follows.
      const [stream, first, second] = sparse();
      await store.transfer.import([stream as StrataRecord, first as StrataRecord, second as StrataRecord]);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.transfer.import([eventRecord({ position: 30n, version: 3, type: 'Draft' })]);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.deepEqual(await store.transfer.import([eventRecord({ position: 40n, version: 3, type: 'Kept' })]), { written: 1, skipped: 0 });
      const read = await collect(store.events.readStream('s'));
      assert.deepEqual(
        read.map((e) => [e.version, e.position, e.type]),
        [
          [1, 10n, 'Imported'],
          [2, 20n, 'Imported'],
          [3, 40n, 'Kept'],
        ],
      );
      assert.deepEqual(
        (await collect(store.events.readAll())).map((e) => e.position),
        [10n, 20n, 40n],
      );
    },
  },
  'import.refuses-a-stored-event-at-another-position': {
    ...on,
    async run(ctx) {
      const { store } = ctx;
      const records = sparse();
      await store.transfer.import(records);
      const before = await fingerprint(ctx);
      const second = records[2] as EventRecord;
      // The same event, moved to a free position below or above the head: a conflict, not a skip.
      for (const position of [15n, 2000n]) {
        const e = await rejects(store.transfer.import([{ ...second, position }]), 'VALIDATION');
        assert.match(e.message, new RegExp(`position ${position}`));
      }
      assert.deepEqual(await fingerprint(ctx), before);
      assert.deepEqual(await store.transfer.import(records), { written: 0, skipped: 4 });
    },
  },
  'export.close-mid-export-rejects-the-next-batch': {
    ...on,
    async run({ store }) {
      // Batches are read when asked for: the one asked for after close() is refused, naming the export.
      await store.transfer.import(sparse());
      const batches = store.transfer.export({ batchSize: 1 })[Symbol.asyncIterator]();
      const first = await batches.next();
      assert.equal(first.done, false);
      await store.close();
      const e = await rejects(batches.next(), 'CLOSED');
      assert.ok(e.message.startsWith('transfer.export'), `the error names the operation: ${JSON.stringify(e.message)}`);
    },
  },
  'closed-store-rejects': {
    ...on,
    async run({ store }) {
      await store.close();
      await rejects(collect(store.transfer.export()), 'CLOSED');
      await rejects(store.transfer.counts(), 'CLOSED');
      await rejects(store.transfer.import([]), 'CLOSED');
      await rejects(store.transfer.check([]), 'CLOSED');
    },
  },
});
