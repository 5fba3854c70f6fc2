import type { Capabilities } from '../capabilities.js';
import { isStrataError } from '../errors.js';
import { MAX_PAYLOAD_BYTES } from '../json.js';
import type { StrataStore } from '../store.js';
import { MAX_EVENTS_PER_APPEND } from '../validation.js';
import { assert, collect, evt, fingerprint, leaksOf, rejects } from './helpers.js';
import type { ConformanceCase } from './types.js';
import { validationRuleCases } from './validation-rules.cases.js';

/** One row of the validation table: a call that must reject with `VALIDATION` naming `field`, writing nothing. */
interface BadInput {
  /** What the rejected call needs to exist first. */
  setup?: (store: StrataStore) => Promise<unknown>;
  /** The bad call. Arguments are deliberately cast: they are what a JavaScript caller could pass. */
  call: (store: StrataStore, prior: unknown) => Promise<unknown>;
  /** The field the message must name. */
  field: string;
  requires?: (caps: Readonly<Capabilities>) => boolean;
}

// biome-ignore lint: deliberately untyped inputs
type Any = any;

const nest = (depth: number): unknown => {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { d: v };
  return v;
};
const cyclic = () => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};
const cyclicArray = () => {
  const a: unknown[] = [1];
  a.push({ back: a });
  return a;
};
class Money {
  constructor(readonly cents: number) {}
}
const sparse = () => {
  const a: unknown[] = [1];
  a[2] = 3;
  return a;
};

/** Half the payload limit plus one code unit: two references to it make a payload one unit too large. */
const half = () => 'x'.repeat(Math.floor(MAX_PAYLOAD_BYTES / 2) + 1);

const append =
  (data: unknown, extra: object = {}) =>
  (s: StrataStore) =>
    s.events.append('s', [{ type: 'T', data, ...extra } as Any]);
const queueOn = (c: Readonly<Capabilities>) => c.queue;
const snapOn = (c: Readonly<Capabilities>) => c.snapshots;
const cpOn = (c: Readonly<Capabilities>) => c.checkpoints;
const received = async (s: StrataStore) => {
  await s.queue.send('q', { body: 1 });
  const [d] = await s.queue.receive('q', { visibilityTimeoutMs: 60_000 });
  return d?.receipt;
};

const table: Record<string, BadInput> = {
  'append.stream-id-empty': { call: (s) => s.events.append('', [evt()]), field: 'streamId' },
  'append.stream-id-too-long': { call: (s) => s.events.append('x'.repeat(256), [evt()]), field: 'streamId' },
  'append.stream-id-too-long-in-code-points': { call: (s) => s.events.append('🎉'.repeat(256), [evt()]), field: 'streamId' },
  'append.stream-id-nul': { call: (s) => s.events.append('a\u0000b', [evt()]), field: 'streamId' },
  'append.stream-id-lone-surrogate': { call: (s) => s.events.append('a\uD800b', [evt()]), field: 'streamId' },
  'append.stream-id-not-string': { call: (s) => s.events.append(42 as Any, [evt()]), field: 'streamId' },
  'append.events-empty': { call: (s) => s.events.append('s', []), field: 'events' },
  'append.events-not-array': { call: (s) => s.events.append('s', evt() as Any), field: 'events' },
  'append.event-not-object': { call: (s) => s.events.append('s', [null as Any]), field: 'events[0]' },
  'append.type-empty': { call: (s) => s.events.append('s', [evt('')]), field: 'events[0].type' },
  'append.type-too-long': { call: (s) => s.events.append('s', [evt('T'.repeat(256))]), field: 'events[0].type' },
  'append.type-nul': { call: (s) => s.events.append('s', [evt('A\u0000')]), field: 'events[0].type' },
  'append.type-not-string': { call: (s) => s.events.append('s', [{ type: 7, data: {} } as Any]), field: 'events[0].type' },
  'append.data-missing': { call: (s) => s.events.append('s', [{ type: 'T' } as Any]), field: 'events[0].data' },
  'append.data-undefined': { call: append(undefined), field: 'events[0].data' },
  'append.data-function': { call: append(() => 1), field: 'events[0].data' },
  'append.data-symbol': { call: append({ s: Symbol('x') }), field: 'events[0].data.s' },
  'append.data-bigint': { call: append({ amount: 10n }), field: 'events[0].data.amount' },
  'append.data-cycle': { call: append(cyclic()), field: 'events[0].data.self' },
  'append.data-cycle-through-array': { call: append(cyclicArray()), field: 'events[0].data[1].back' },
  'append.data-nan': { call: append({ n: Number.NaN }), field: 'events[0].data.n' },
  'append.data-infinity': { call: append([Number.POSITIVE_INFINITY]), field: 'events[0].data[0]' },
  'append.data-negative-infinity': { call: append(Number.NEGATIVE_INFINITY), field: 'events[0].data' },
  'append.data-nul-in-string': { call: append({ a: ['ok', 'x\u0000y'] }), field: 'events[0].data.a[1]' },
  'append.data-nul-in-key': { call: append({ 'k\u0000': 1 }), field: 'events[0].data' },
  'append.data-lone-surrogate': { call: append({ t: 'broken \uDC00' }), field: 'events[0].data.t' },
  'append.data-undefined-property': { call: append({ a: 1, b: undefined }), field: 'events[0].data.b' },
  'append.data-sparse-array': { call: append(sparse()), field: 'events[0].data[1]' },
  'append.data-date': { call: append({ at: new Date() }), field: 'events[0].data.at' },
  'append.data-map': { call: append(new Map([['a', 1]])), field: 'events[0].data' },
  'append.data-class-instance': { call: append({ price: new Money(5) }), field: 'events[0].data.price' },
  'append.data-too-deep': { call: append(nest(600)), field: 'events[0].data' },
  'append.second-event-bad': { call: (s) => s.events.append('s', [evt('A'), evt('B', { x: Number.NaN })]), field: 'events[1].data.x' },
  'append.too-many-events': { call: (s) => s.events.append('s', new Array(MAX_EVENTS_PER_APPEND + 1).fill(evt())), field: 'events' },
  'append.payload-too-large': {
    call: (s) => {
      const big = half();
      return s.events.append('s', [evt('A', { big }), evt('B', { big })]);
    },
    field: 'events',
  },
  'append.metadata-not-object': { call: append({}, { metadata: 'meta' }), field: 'events[0].metadata' },
  'append.metadata-correlation-id-not-string': { call: append({}, { metadata: { correlationId: 5 } }), field: 'events[0].metadata.correlationId' },
  'append.metadata-undefined-value': { call: append({}, { metadata: { userId: undefined } }), field: 'events[0].metadata.userId' },
  'append.metadata-nul': { call: append({}, { metadata: { note: '\u0000' } }), field: 'events[0].metadata.note' },
  'append.id-not-uuid': { call: append({}, { id: 'event-1' }), field: 'events[0].id' },
  'append.id-repeated-in-batch': {
    call: (s) => {
      const id = globalThis.crypto.randomUUID();
      return s.events.append('s', [evt('A', {}, { id }), evt('B', {}, { id })]);
    },
    field: 'events[1].id',
  },
  'append.schema-version-zero': { call: append({}, { schemaVersion: 0 }), field: 'events[0].schemaVersion' },
  'append.schema-version-fraction': { call: append({}, { schemaVersion: 1.5 }), field: 'events[0].schemaVersion' },
  'append.expected-version-negative': { call: (s) => s.events.append('s', [evt()], { expectedVersion: -1 }), field: 'expectedVersion' },
  'append.expected-version-fraction': { call: (s) => s.events.append('s', [evt()], { expectedVersion: 1.5 }), field: 'expectedVersion' },
  'append.expected-version-nan': { call: (s) => s.events.append('s', [evt()], { expectedVersion: Number.NaN }), field: 'expectedVersion' },
  'append.expected-version-unknown-word': { call: (s) => s.events.append('s', [evt()], { expectedVersion: 'latest' as Any }), field: 'expectedVersion' },
  'append.bad-input-on-existing-stream': {
    setup: (s) => s.events.append('s', [evt()]),
    call: (s) => s.events.append('s', [evt('B', { when: new Date() } as Any)], { expectedVersion: 1 }),
    field: 'events[0].data.when',
  },

  'read-stream.stream-id-empty': { call: (s) => collect(s.events.readStream('')), field: 'streamId' },
  'read-stream.limit-zero': { call: (s) => collect(s.events.readStream('s', { limit: 0 })), field: 'limit' },
  'read-stream.limit-negative': { call: (s) => collect(s.events.readStream('s', { limit: -5 })), field: 'limit' },
  'read-stream.limit-fraction': { call: (s) => collect(s.events.readStream('s', { limit: 2.5 })), field: 'limit' },
  'read-stream.from-version-negative': { call: (s) => collect(s.events.readStream('s', { fromVersion: -1 })), field: 'fromVersion' },
  'read-stream.to-version-fraction': { call: (s) => collect(s.events.readStream('s', { toVersion: 0.5 })), field: 'toVersion' },
  'read-stream.direction-unknown': { call: (s) => collect(s.events.readStream('s', { direction: 'sideways' as Any })), field: 'direction' },
  'read-stream.as-of-invalid-date': { call: (s) => collect(s.events.readStream('s', { asOf: new Date('nope') })), field: 'asOf' },
  'read-stream.as-of-not-date': { call: (s) => collect(s.events.readStream('s', { asOf: '2026-01-01' as Any })), field: 'asOf' },
  'read-all.after-negative': { call: (s) => collect(s.events.readAll({ after: -1n })), field: 'after' },
  'read-all.after-string': { call: (s) => collect(s.events.readAll({ after: '5' as Any })), field: 'after' },
  'read-all.types-empty': { call: (s) => collect(s.events.readAll({ types: [] })), field: 'types' },
  'read-all.type-entry-empty': { call: (s) => collect(s.events.readAll({ types: ['A', ''] })), field: 'types[1]' },
  'read-all.limit-zero': { call: (s) => collect(s.events.readAll({ limit: 0 })), field: 'limit' },
  'read-all.stream-prefix-empty': { call: (s) => collect(s.events.readAll({ streamPrefix: '' })), field: 'streamPrefix' },
  'read-all.correlation-id-not-string': { call: (s) => collect(s.events.readAll({ correlationId: 9 as Any })), field: 'correlationId' },
  'stream-info.stream-id-empty': { call: (s) => s.events.streamInfo(''), field: 'streamId' },

  'snapshots.stream-id-empty': { requires: snapOn, call: (s) => s.snapshots.save('', { version: 1, state: {} }), field: 'streamId' },
  'snapshots.version-zero': { requires: snapOn, call: (s) => s.snapshots.save('s', { version: 0, state: {} }), field: 'snapshot.version' },
  'snapshots.version-fraction': { requires: snapOn, call: (s) => s.snapshots.save('s', { version: 1.5, state: {} }), field: 'snapshot.version' },
  'snapshots.state-missing': { requires: snapOn, call: (s) => s.snapshots.save('s', { version: 1 } as Any), field: 'snapshot.state' },
  'snapshots.state-nan': { requires: snapOn, call: (s) => s.snapshots.save('s', { version: 1, state: { n: Number.NaN } }), field: 'snapshot.state.n' },
  'snapshots.state-nul': { requires: snapOn, call: (s) => s.snapshots.save('s', { version: 1, state: 'a\u0000' }), field: 'snapshot.state' },
  'snapshots.state-too-large': {
    requires: snapOn,
    call: (s) => s.snapshots.save('s', { version: 1, state: 'x'.repeat(MAX_PAYLOAD_BYTES + 1) }),
    field: 'snapshot.state',
  },
  'snapshots.schema-version-zero': {
    requires: snapOn,
    call: (s) => s.snapshots.save('s', { version: 1, state: 1, schemaVersion: 0 }),
    field: 'snapshot.schemaVersion',
  },
  'snapshots.load-max-version-negative': { requires: snapOn, call: (s) => s.snapshots.load('s', { maxVersion: -1 }), field: 'maxVersion' },
  'snapshots.delete-stream-id-empty': { requires: snapOn, call: (s) => s.snapshots.delete(''), field: 'streamId' },

  'queue.send.name-empty': { requires: queueOn, call: (s) => s.queue.send('', { body: 1 }), field: 'queue' },
  'queue.send.name-too-long': { requires: queueOn, call: (s) => s.queue.send('q'.repeat(256), { body: 1 }), field: 'queue' },
  'queue.send.name-nul': { requires: queueOn, call: (s) => s.queue.send('q\u0000', { body: 1 }), field: 'queue' },
  'queue.send.messages-empty': { requires: queueOn, call: (s) => s.queue.send('q', []), field: 'messages' },
  'queue.send.body-missing': { requires: queueOn, call: (s) => s.queue.send('q', {} as Any), field: 'message.body' },
  'queue.send.body-undefined': { requires: queueOn, call: (s) => s.queue.send('q', { body: undefined as Any }), field: 'message.body' },
  'queue.send.body-function': { requires: queueOn, call: (s) => s.queue.send('q', { body: (() => 1) as Any }), field: 'message.body' },
  'queue.send.body-bigint': { requires: queueOn, call: (s) => s.queue.send('q', { body: { n: 1n } as Any }), field: 'message.body.n' },
  'queue.send.body-nul': { requires: queueOn, call: (s) => s.queue.send('q', { body: 'x\u0000' }), field: 'message.body' },
  'queue.send.payload-too-large': {
    requires: queueOn,
    call: (s) => s.queue.send('q', [{ body: 1 }, { body: { big: 'x'.repeat(MAX_PAYLOAD_BYTES) } }]),
    field: 'messages',
  },
  'queue.send.second-message-bad': { requires: queueOn, call: (s) => s.queue.send('q', [{ body: 1 }, { body: Number.NaN }]), field: 'messages[1].body' },
  'queue.send.delay-negative': { requires: queueOn, call: (s) => s.queue.send('q', { body: 1, delayMs: -1 }), field: 'message.delayMs' },
  'queue.send.delay-fraction': { requires: queueOn, call: (s) => s.queue.send('q', { body: 1 }, { delayMs: 0.5 }), field: 'options.delayMs' },
  'queue.send.priority-fraction': { requires: queueOn, call: (s) => s.queue.send('q', { body: 1, priority: 1.5 }), field: 'message.priority' },
  'queue.send.max-attempts-zero': { requires: queueOn, call: (s) => s.queue.send('q', { body: 1, maxAttempts: 0 }), field: 'message.maxAttempts' },
  'queue.send.dedup-id-empty': { requires: queueOn, call: (s) => s.queue.send('q', { body: 1, dedupId: '' }), field: 'message.dedupId' },
  'queue.send.header-not-string': { requires: queueOn, call: (s) => s.queue.send('q', { body: 1, headers: { n: 1 as Any } }), field: 'message.headers.n' },
  'queue.send.headers-not-object': { requires: queueOn, call: (s) => s.queue.send('q', { body: 1, headers: 'h' as Any }), field: 'message.headers' },
  'queue.receive.name-empty': { requires: queueOn, call: (s) => s.queue.receive(''), field: 'queue' },
  'queue.receive.max-zero': { requires: queueOn, call: (s) => s.queue.receive('q', { max: 0 }), field: 'max' },
  'queue.receive.max-too-large': { requires: queueOn, call: (s) => s.queue.receive('q', { max: 1_000_000 }), field: 'max' },
  'queue.receive.visibility-zero': { requires: queueOn, call: (s) => s.queue.receive('q', { visibilityTimeoutMs: 0 }), field: 'visibilityTimeoutMs' },
  'queue.receive.visibility-too-long': {
    requires: queueOn,
    call: (s) => s.queue.receive('q', { visibilityTimeoutMs: 13 * 3_600_000 }),
    field: 'visibilityTimeoutMs',
  },
  'queue.receive.visibility-fraction': { requires: queueOn, call: (s) => s.queue.receive('q', { visibilityTimeoutMs: 10.5 }), field: 'visibilityTimeoutMs' },
  'queue.ack.receipt-empty': { requires: queueOn, setup: received, call: (s) => s.queue.ack(''), field: 'receipt' },
  'queue.ack.receipt-malformed': { requires: queueOn, setup: received, call: (s) => s.queue.ack('not-a-receipt'), field: 'receipt' },
  'queue.nack.receipt-malformed': { requires: queueOn, setup: received, call: (s) => s.queue.nack('not-a-receipt'), field: 'receipt' },
  'queue.extend.receipt-malformed': { requires: queueOn, setup: received, call: (s) => s.queue.extendVisibility('not-a-receipt', 1000), field: 'receipt' },
  'queue.ack.receipt-not-string': { requires: queueOn, setup: received, call: (s) => s.queue.ack(7 as Any), field: 'receipt' },
  'queue.ack-many.not-an-array': { requires: queueOn, setup: received, call: (s, r) => s.queue.ackMany(r as Any), field: 'receipts' },
  'queue.ack-many.entry-empty': { requires: queueOn, setup: received, call: (s, r) => s.queue.ackMany([r as string, '']), field: 'receipts[1]' },
  'queue.nack.delay-negative': { requires: queueOn, setup: received, call: (s, r) => s.queue.nack(r as string, { delayMs: -5 }), field: 'delayMs' },
  'queue.nack.reason-not-string': { requires: queueOn, setup: received, call: (s, r) => s.queue.nack(r as string, { reason: 5 as Any }), field: 'reason' },
  'queue.nack.dead-letter-not-boolean': {
    requires: queueOn,
    setup: received,
    call: (s, r) => s.queue.nack(r as string, { deadLetter: 'yes' as Any }),
    field: 'deadLetter',
  },
  'queue.extend.negative': { requires: queueOn, setup: received, call: (s, r) => s.queue.extendVisibility(r as string, -1), field: 'ms' },
  'queue.extend.fraction': { requires: queueOn, setup: received, call: (s, r) => s.queue.extendVisibility(r as string, 0.5), field: 'ms' },
  'queue.redrive.ids-not-array': { requires: queueOn, call: (s) => s.queue.redrive('q', 'id' as Any), field: 'ids' },
  'queue.dead-letters.limit-zero': { requires: queueOn, call: (s) => s.queue.deadLetters('q', { limit: 0 }), field: 'limit' },
  'queue.stats.name-empty': { requires: queueOn, call: (s) => s.queue.stats(''), field: 'queue' },
  'queue.purge.name-empty': { requires: queueOn, call: (s) => s.queue.purge(''), field: 'queue' },

  'checkpoints.consumer-empty': { requires: cpOn, call: (s) => s.checkpoints.set('', 1n), field: 'consumer' },
  'checkpoints.position-negative': { requires: cpOn, call: (s) => s.checkpoints.set('c', -1n), field: 'position' },
  'checkpoints.position-fraction': { requires: cpOn, call: (s) => s.checkpoints.set('c', 1.5 as Any), field: 'position' },
  'checkpoints.position-string': { requires: cpOn, call: (s) => s.checkpoints.set('c', '5' as Any), field: 'position' },
  'checkpoints.expected-negative': { requires: cpOn, call: (s) => s.checkpoints.set('c', 5n, { expected: -2n }), field: 'expected' },
  'checkpoints.get-consumer-empty': { requires: cpOn, call: (s) => s.checkpoints.get(''), field: 'consumer' },
  'checkpoints.lease-ttl-zero': { requires: cpOn, call: (s) => s.checkpoints.acquireLease('c', { owner: 'o', ttlMs: 0 }), field: 'ttlMs' },
  'checkpoints.lease-owner-empty': { requires: cpOn, call: (s) => s.checkpoints.acquireLease('c', { owner: '', ttlMs: 1000 }), field: 'owner' },
};

/** A string of `bytes` bytes of UTF-8 JSON (quotes included), with multi-byte characters in it. */
const jsonString = (bytes: number): string => `é🎉${'x'.repeat(bytes - 2 - 2 - 4)}`;

/**
 * The store's `maxPayloadBytes`: a payload at the limit is stored, one a byte over is refused with
 * `VALIDATION` naming the item, and nothing is written.
 */
const payloadLimitCases: ConformanceCase[] = [
  {
    id: 'validation.payload-limit.event',
    area: 'validation',
    async run(ctx) {
      const limit = ctx.settings.maxPayloadBytes;
      // data "…" plus metadata {"k":"v"} (9 bytes)
      const metadata = { k: 'v' };
      const before = await fingerprint(ctx);
      const over = await rejects(ctx.store.events.append('s', [evt(), { type: 'T', data: jsonString(limit - 9 + 1), metadata }]), 'VALIDATION');
      assert.ok(over.message.includes('events[1]'), `the message names the event: ${over.message}`);
      assert.ok(over.message.includes(String(limit)), `the message states the limit: ${over.message}`);
      assert.deepEqual(await fingerprint(ctx), before, 'nothing was written');
      await ctx.store.events.append('s', [{ type: 'T', data: jsonString(limit - 9), metadata }]);
      const [stored] = await collect(ctx.store.events.readStream('s'));
      assert.equal(stored?.data, jsonString(limit - 9));
    },
  },
  {
    id: 'validation.payload-limit.message',
    area: 'validation',
    requires: queueOn,
    async run(ctx) {
      const limit = ctx.settings.maxPayloadBytes;
      // body "…" plus headers {"h":"v"} (9 bytes)
      const headers = { h: 'v' };
      const before = await fingerprint(ctx);
      const over = await rejects(ctx.store.queue.send('q', [{ body: 1 }, { body: jsonString(limit - 9 + 1), headers }]), 'VALIDATION');
      assert.ok(over.message.includes('messages[1]'), `the message names the message: ${over.message}`);
      assert.deepEqual(await fingerprint(ctx), before, 'nothing was written');
      await ctx.store.queue.send('q', { body: jsonString(limit - 9), headers });
      const [d] = await ctx.store.queue.receive('q');
      assert.equal(d?.body, jsonString(limit - 9));
    },
  },
  {
    id: 'validation.payload-limit.snapshot',
    area: 'validation',
    requires: snapOn,
    async run(ctx) {
      const limit = ctx.settings.maxPayloadBytes;
      const before = await fingerprint(ctx);
      const over = await rejects(ctx.store.snapshots.save('s', { version: 1, state: { s: jsonString(limit - 6 + 1) } }), 'VALIDATION');
      assert.ok(over.message.includes('snapshot.state'), over.message);
      assert.deepEqual(await fingerprint(ctx), before, 'nothing was written');
      await ctx.store.snapshots.save('s', { version: 1, state: { s: jsonString(limit - 6) } });
      assert.deepEqual((await ctx.store.snapshots.load('s'))?.state, { s: jsonString(limit - 6) });
    },
  },
];

const SECRET = '4111111111111111';

/** Errors of writes whose payload holds a secret never show it: not in the message, the cause chain, `String()` or `inspect()`. */
const noPayloadCase: ConformanceCase = {
  id: 'validation.errors-never-show-payloads',
  area: 'validation',
  async run(ctx) {
    const { store } = ctx;
    const data = { pan: SECRET };
    const errors: [string, unknown][] = [];
    const failed = async (what: string, call: () => Promise<unknown>) => {
      const error = await call().then(
        () => assert.fail(`${what} was accepted`),
        (e: unknown) => e,
      );
      errors.push([what, error]);
    };
    await failed('bad data', () => store.events.append('s', [{ type: 'T', data: { pan: SECRET, bad: `${SECRET}\u0000` } }]));
    await failed('too large', () => store.events.append('s', [{ type: 'T', data: { pan: SECRET, pad: 'x'.repeat(ctx.settings.maxPayloadBytes) } }]));
    const id = '5e0b0a1e-0000-4000-8000-00000000cafe';
    await store.events.append('s', [{ type: 'T', data, id }]);
    await failed('event id conflict', () => store.events.append('s', [{ type: 'T', data: { pan: `${SECRET}-2` }, id }]));
    await failed('expected version', () => store.events.append('s', [{ type: 'T', data }], { expectedVersion: 7 }));
    const race = await Promise.allSettled(
      Array.from({ length: 6 }, () => store.events.append('race', [{ type: 'T', data }], { expectedVersion: 'no_stream' })),
    );
    for (const r of race) if (r.status === 'rejected') errors.push(['concurrent append', r.reason]);
    if (ctx.caps.queue) await failed('bad message', () => store.queue.send('q', { body: { pan: SECRET, n: Number.NaN } }));
    if (ctx.caps.snapshots) await failed('bad snapshot', () => store.snapshots.save('s', { version: 0, state: data }));
    for (const [what, error] of errors) {
      assert.ok(isStrataError(error), `${what}: expected a StrataError, got ${String(error)}`);
      assert.deepEqual(leaksOf(error, SECRET), [], `${what}: the payload shows in the error`);
    }
  },
};

/** The validation table as cases: each bad input rejects with `VALIDATION`, names its field, and writes nothing. */
const tableCases: ConformanceCase[] = Object.entries(table).map(([id, row]) => ({
  id: `validation.${id}`,
  area: 'validation',
  ...(row.requires === undefined ? {} : { requires: row.requires }),
  async run(ctx) {
    const prior = row.setup === undefined ? undefined : await row.setup(ctx.store);
    const before = await fingerprint(ctx);
    const error = await rejects(row.call(ctx.store, prior), 'VALIDATION');
    assert.ok(error.message.includes(row.field), `the message ${JSON.stringify(error.message)} names ${row.field}`);
    assert.deepEqual(await fingerprint(ctx), before, 'nothing was written');
  },
}));

/** Every validation case. */
export const validationCases: ConformanceCase[] = [...tableCases, ...validationRuleCases, ...payloadLimitCases, noPayloadCase];
