import type { Capabilities } from '../capabilities.js';
import type { ValidationError } from '../errors.js';
import type { StoreTransaction } from '../store.js';
import type { StrataRecord } from '../transfer/types.js';
import { MAX_DELAY_MS, MAX_INT32, MAX_LEASE_MS, MAX_NAME_LENGTH, MAX_VISIBILITY_TIMEOUT_MS } from '../validation.js';
import { assert, collect, evt, fingerprint, rejects, uuid } from './helpers.js';
import type { ConformanceCase } from './types.js';

// The rules of every kind of name and bounded argument, applied on every method that takes one: a table
// of arguments (method × argument) crossed with a table of bad values, so that a rule checked on one
// method is checked on all of them. Each generated case rejects with `VALIDATION`, names the argument in
// the error's `field` (and message), does not echo the rejected value, and writes nothing.

// biome-ignore lint: deliberately untyped inputs
type Any = any;

/** What a call runs on: the store itself, or a transaction of it. */
type Target = StoreTransaction;

/** A rule every name-like argument follows, with a value that breaks it. */
export type NameRule = 'empty' | 'too-long' | 'too-long-in-code-points' | 'nul' | 'lone-surrogate' | 'not-string';

/** A bad value for each rule: the empty string, 256 characters, 256 code points (512 UTF-16 units), U+0000, a lone surrogate, a number. */
const BAD_NAMES: Record<NameRule, unknown> = {
  empty: '',
  'too-long': 'n'.repeat(MAX_NAME_LENGTH + 1),
  'too-long-in-code-points': '🎉'.repeat(MAX_NAME_LENGTH + 1),
  nul: 'na\u0000me',
  'lone-surrogate': 'na\uD800me',
  'not-string': 42,
};

/** The longest name allowed, in code points: 255 characters outside the BMP (510 UTF-16 units, 1020 UTF-8 bytes). */
const LONGEST_NAME = '🎉'.repeat(MAX_NAME_LENGTH);

/** Every rule of a name: stream ids, event types, queue names, consumer names, lease owners, dedup ids, header keys, message ids, receipts. */
const NAME_RULES: readonly NameRule[] = ['empty', 'too-long', 'too-long-in-code-points', 'nul', 'lone-surrogate', 'not-string'];
/** The rules of free text that still has to be a storable string: correlation ids, header values, metadata strings, nack reasons. */
const TEXT_RULES: readonly NameRule[] = ['not-string', 'nul', 'lone-surrogate'];

const queueOn = (c: Readonly<Capabilities>) => c.queue;
const snapOn = (c: Readonly<Capabilities>) => c.snapshots;
const cpOn = (c: Readonly<Capabilities>) => c.checkpoints;
const transferOn = (c: Readonly<Capabilities>) => c.transfer;

/** A delivery's receipt, for calls that need one. */
const received = async (s: Target): Promise<string> => {
  await s.queue.send('q', { body: 1 });
  const [d] = await s.queue.receive('q', { visibilityTimeoutMs: 60_000 });
  assert.ok(d, 'the message sent is received');
  return d.receipt;
};

/** One argument of one method that follows the rules of names (or of text). */
interface RuledArgument {
  /** The case ids' stem: `<area>.<method>.<argument>` (events methods without their area, as in the hand-written table). */
  id: string;
  /** The `field` the error must carry. */
  field: string;
  /** The call with `value` in the argument's place. */
  call: (s: Target, value: Any, prior: unknown) => Promise<unknown>;
  /** What the call needs first (run on the store, outside any transaction). */
  setup?: (s: Target) => Promise<unknown>;
  requires?: (caps: Readonly<Capabilities>) => boolean;
  /** The rules that apply: {@link NAME_RULES} unless said. */
  rules?: readonly NameRule[];
  /** Whether a name of {@link MAX_NAME_LENGTH} code points must be accepted. @defaultValue true for names */
  longestAccepted?: boolean;
  /** Rules already covered by a hand-written case of `validation.cases.ts`: rule → that case's id (without `validation.`). */
  covered?: Partial<Record<NameRule, string>>;
}

/** Every name-like argument of every method, and the free-text ones. */
const ARGUMENTS: readonly RuledArgument[] = [
  // events
  {
    id: 'append.stream-id',
    field: 'streamId',
    call: (s, v) => s.events.append(v, [evt()]),
    covered: {
      empty: 'append.stream-id-empty',
      'too-long': 'append.stream-id-too-long',
      'too-long-in-code-points': 'append.stream-id-too-long-in-code-points',
      nul: 'append.stream-id-nul',
      'lone-surrogate': 'append.stream-id-lone-surrogate',
      'not-string': 'append.stream-id-not-string',
    },
  },
  {
    id: 'append.type',
    field: 'events[0].type',
    call: (s, v) => s.events.append('s', [{ type: v, data: {} }]),
    covered: { empty: 'append.type-empty', 'too-long': 'append.type-too-long', nul: 'append.type-nul', 'not-string': 'append.type-not-string' },
  },
  {
    id: 'append.metadata-correlation-id',
    field: 'events[0].metadata.correlationId',
    rules: TEXT_RULES,
    call: (s, v) => s.events.append('s', [evt('T', {}, { metadata: { correlationId: v } })]),
    covered: { 'not-string': 'append.metadata-correlation-id-not-string' },
  },
  {
    id: 'append.metadata-causation-id',
    field: 'events[0].metadata.causationId',
    rules: TEXT_RULES,
    call: (s, v) => s.events.append('s', [evt('T', {}, { metadata: { causationId: v } })]),
  },
  {
    id: 'append.metadata-user-id',
    field: 'events[0].metadata.userId',
    rules: TEXT_RULES,
    call: (s, v) => s.events.append('s', [evt('T', {}, { metadata: { userId: v } })]),
  },
  {
    id: 'read-stream.stream-id',
    field: 'streamId',
    call: (s, v) => collect(s.events.readStream(v)),
    covered: { empty: 'read-stream.stream-id-empty' },
  },
  { id: 'stream-info.stream-id', field: 'streamId', call: (s, v) => s.events.streamInfo(v), covered: { empty: 'stream-info.stream-id-empty' } },
  { id: 'read-all.stream-id', field: 'options.streamId', call: (s, v) => collect(s.events.readAll({ streamId: v })) },
  {
    id: 'read-all.stream-prefix',
    field: 'options.streamPrefix',
    call: (s, v) => collect(s.events.readAll({ streamPrefix: v })),
    covered: { empty: 'read-all.stream-prefix-empty' },
  },
  {
    id: 'read-all.type',
    field: 'options.types[0]',
    call: (s, v) => collect(s.events.readAll({ types: [v] })),
    covered: { empty: 'read-all.type-entry-empty' },
  },
  {
    id: 'read-all.correlation-id',
    field: 'options.correlationId',
    rules: TEXT_RULES,
    call: (s, v) => collect(s.events.readAll({ correlationId: v })),
    covered: { 'not-string': 'read-all.correlation-id-not-string' },
  },

  // snapshots
  {
    id: 'snapshots.save.stream-id',
    field: 'streamId',
    requires: snapOn,
    call: (s, v) => s.snapshots.save(v, { version: 1, state: {} }),
    covered: { empty: 'snapshots.stream-id-empty' },
  },
  { id: 'snapshots.load.stream-id', field: 'streamId', requires: snapOn, call: (s, v) => s.snapshots.load(v) },
  {
    id: 'snapshots.delete.stream-id',
    field: 'streamId',
    requires: snapOn,
    call: (s, v) => s.snapshots.delete(v),
    covered: { empty: 'snapshots.delete-stream-id-empty' },
  },

  // queue
  {
    id: 'queue.send.name',
    field: 'queue',
    requires: queueOn,
    call: (s, v) => s.queue.send(v, { body: 1 }),
    covered: { empty: 'queue.send.name-empty', 'too-long': 'queue.send.name-too-long', nul: 'queue.send.name-nul' },
  },
  {
    id: 'queue.send.dedup-id',
    field: 'message.dedupId',
    requires: queueOn,
    call: (s, v) => s.queue.send('q', { body: 1, dedupId: v }),
    covered: { empty: 'queue.send.dedup-id-empty' },
  },
  {
    id: 'queue.send.header-key',
    field: 'message.headers key',
    requires: queueOn,
    // An object's keys are strings: there is no key of another type to send.
    rules: NAME_RULES.filter((r) => r !== 'not-string'),
    call: (s, v) => s.queue.send('q', { body: 1, headers: { [v]: 'v' } }),
  },
  {
    id: 'queue.send.header-value',
    field: 'message.headers.h',
    requires: queueOn,
    rules: TEXT_RULES,
    call: (s, v) => s.queue.send('q', { body: 1, headers: { h: v } }),
    covered: { 'not-string': 'queue.send.header-not-string' },
  },
  {
    id: 'queue.receive.name',
    field: 'queue',
    requires: queueOn,
    call: (s, v) => s.queue.receive(v),
    covered: { empty: 'queue.receive.name-empty' },
  },
  { id: 'queue.stats.name', field: 'queue', requires: queueOn, call: (s, v) => s.queue.stats(v), covered: { empty: 'queue.stats.name-empty' } },
  { id: 'queue.next-visible-in-ms.name', field: 'queue', requires: queueOn, call: (s, v) => s.queue.nextVisibleInMs(v) },
  { id: 'queue.dead-letters.name', field: 'queue', requires: queueOn, call: (s, v) => s.queue.deadLetters(v) },
  { id: 'queue.redrive.name', field: 'queue', requires: queueOn, call: (s, v) => s.queue.redrive(v) },
  { id: 'queue.redrive.id', field: 'ids[0]', requires: queueOn, call: (s, v) => s.queue.redrive('q', [v]) },
  { id: 'queue.purge.name', field: 'queue', requires: queueOn, call: (s, v) => s.queue.purge(v), covered: { empty: 'queue.purge.name-empty' } },
  {
    id: 'queue.ack.receipt',
    field: 'receipt',
    requires: queueOn,
    setup: received,
    longestAccepted: false,
    call: (s, v) => s.queue.ack(v),
    covered: { empty: 'queue.ack.receipt-empty', 'not-string': 'queue.ack.receipt-not-string' },
  },
  { id: 'queue.nack.receipt', field: 'receipt', requires: queueOn, setup: received, longestAccepted: false, call: (s, v) => s.queue.nack(v) },
  {
    id: 'queue.extend.receipt',
    field: 'receipt',
    requires: queueOn,
    setup: received,
    longestAccepted: false,
    call: (s, v) => s.queue.extendVisibility(v, 1000),
  },
  {
    id: 'queue.ack-many.receipt',
    field: 'receipts[0]',
    requires: queueOn,
    setup: received,
    call: (s, v) => s.queue.ackMany([v]),
    covered: { empty: 'queue.ack-many.entry-empty' },
  },
  {
    id: 'queue.nack.reason',
    field: 'options.reason',
    requires: queueOn,
    setup: received,
    rules: TEXT_RULES,
    call: (s, v, r) => s.queue.nack(r as string, { reason: v }),
    covered: { 'not-string': 'queue.nack.reason-not-string' },
  },

  // checkpoints
  {
    id: 'checkpoints.get.consumer',
    field: 'consumer',
    requires: cpOn,
    call: (s, v) => s.checkpoints.get(v),
    covered: { empty: 'checkpoints.get-consumer-empty' },
  },
  {
    id: 'checkpoints.set.consumer',
    field: 'consumer',
    requires: cpOn,
    call: (s, v) => s.checkpoints.set(v, 1n),
    covered: { empty: 'checkpoints.consumer-empty' },
  },
  {
    id: 'checkpoints.acquire-lease.consumer',
    field: 'consumer',
    requires: cpOn,
    call: (s, v) => s.checkpoints.acquireLease(v, { owner: 'o', ttlMs: 60_000 }),
  },
  {
    id: 'checkpoints.acquire-lease.owner',
    field: 'options.owner',
    requires: cpOn,
    call: (s, v) => s.checkpoints.acquireLease('c', { owner: v, ttlMs: 60_000 }),
    covered: { empty: 'checkpoints.lease-owner-empty' },
  },
  { id: 'checkpoints.release-lease.consumer', field: 'consumer', requires: cpOn, call: (s, v) => s.checkpoints.releaseLease(v, 'o') },
  { id: 'checkpoints.release-lease.owner', field: 'owner', requires: cpOn, call: (s, v) => s.checkpoints.releaseLease('c', v) },
];

/** A bounded or typed argument given a value outside what it allows. */
interface BadBound {
  /** The field the error must carry. */
  field: string;
  /** The bad call. */
  call: (s: Target, prior: unknown) => Promise<unknown>;
  setup?: (s: Target) => Promise<unknown>;
  requires?: (caps: Readonly<Capabilities>) => boolean;
}

const INT64_OVER = 2n ** 63n;

/** Limits, ranges, integer-ness and types of the other arguments, where no hand-written case covers them. */
const BOUNDS: Record<string, BadBound> = {
  'append.options-not-object': { field: 'options', call: (s) => s.events.append('s', [evt()], 'options' as Any) },
  'append.id-not-string': { field: 'events[0].id', call: (s) => s.events.append('s', [evt('T', {}, { id: 5 as Any })]) },
  'append.schema-version-too-large': { field: 'events[0].schemaVersion', call: (s) => s.events.append('s', [evt('T', {}, { schemaVersion: MAX_INT32 + 1 })]) },
  'append.schema-version-not-number': { field: 'events[0].schemaVersion', call: (s) => s.events.append('s', [evt('T', {}, { schemaVersion: '2' as Any })]) },
  'read-stream.options-not-object': { field: 'options', call: (s) => collect(s.events.readStream('s', 5 as Any)) },
  'read-stream.from-version-fraction': { field: 'options.fromVersion', call: (s) => collect(s.events.readStream('s', { fromVersion: 1.5 })) },
  'read-stream.to-version-negative': { field: 'options.toVersion', call: (s) => collect(s.events.readStream('s', { toVersion: -1 })) },
  'read-stream.limit-not-number': { field: 'options.limit', call: (s) => collect(s.events.readStream('s', { limit: '5' as Any })) },
  'read-all.options-not-object': { field: 'options', call: (s) => collect(s.events.readAll('all' as Any)) },
  'read-all.types-not-array': { field: 'options.types', call: (s) => collect(s.events.readAll({ types: 'A' as Any })) },
  'read-all.limit-negative': { field: 'options.limit', call: (s) => collect(s.events.readAll({ limit: -1 })) },
  'read-all.limit-fraction': { field: 'options.limit', call: (s) => collect(s.events.readAll({ limit: 1.5 })) },
  'read-all.after-fraction': { field: 'options.after', call: (s) => collect(s.events.readAll({ after: 1.5 as Any })) },
  'read-all.after-beyond-int64': { field: 'options.after', call: (s) => collect(s.events.readAll({ after: INT64_OVER })) },

  'snapshots.save.snapshot-not-object': { requires: snapOn, field: 'snapshot', call: (s) => s.snapshots.save('s', null as Any) },
  'snapshots.save.version-negative': { requires: snapOn, field: 'snapshot.version', call: (s) => s.snapshots.save('s', { version: -1, state: {} }) },
  'snapshots.save.version-not-number': { requires: snapOn, field: 'snapshot.version', call: (s) => s.snapshots.save('s', { version: '1' as Any, state: {} }) },
  'snapshots.save.schema-version-fraction': {
    requires: snapOn,
    field: 'snapshot.schemaVersion',
    call: (s) => s.snapshots.save('s', { version: 1, state: {}, schemaVersion: 1.5 }),
  },
  'snapshots.save.schema-version-too-large': {
    requires: snapOn,
    field: 'snapshot.schemaVersion',
    call: (s) => s.snapshots.save('s', { version: 1, state: {}, schemaVersion: MAX_INT32 + 1 }),
  },
  'snapshots.load.max-version-fraction': { requires: snapOn, field: 'options.maxVersion', call: (s) => s.snapshots.load('s', { maxVersion: 1.5 }) },
  'snapshots.load.options-not-object': { requires: snapOn, field: 'options', call: (s) => s.snapshots.load('s', 1 as Any) },

  'queue.send.message-not-object': { requires: queueOn, field: 'messages[0]', call: (s) => s.queue.send('q', [null as Any]) },
  'queue.send.delay-too-long': { requires: queueOn, field: 'message.delayMs', call: (s) => s.queue.send('q', { body: 1, delayMs: MAX_DELAY_MS + 1 }) },
  'queue.send.options-delay-too-long': {
    requires: queueOn,
    field: 'options.delayMs',
    call: (s) => s.queue.send('q', { body: 1 }, { delayMs: MAX_DELAY_MS + 1 }),
  },
  'queue.send.priority-too-large': { requires: queueOn, field: 'message.priority', call: (s) => s.queue.send('q', { body: 1, priority: MAX_INT32 + 1 }) },
  'queue.send.priority-too-small': { requires: queueOn, field: 'message.priority', call: (s) => s.queue.send('q', { body: 1, priority: -MAX_INT32 - 1 }) },
  'queue.send.options-priority-fraction': { requires: queueOn, field: 'options.priority', call: (s) => s.queue.send('q', { body: 1 }, { priority: 0.5 }) },
  'queue.send.max-attempts-too-large': { requires: queueOn, field: 'message.maxAttempts', call: (s) => s.queue.send('q', { body: 1, maxAttempts: 1001 }) },
  'queue.send.options-max-attempts-zero': { requires: queueOn, field: 'options.maxAttempts', call: (s) => s.queue.send('q', { body: 1 }, { maxAttempts: 0 }) },
  'queue.send.options-not-object': { requires: queueOn, field: 'options', call: (s) => s.queue.send('q', { body: 1 }, 'fast' as Any) },
  'queue.receive.options-not-object': { requires: queueOn, field: 'options', call: (s) => s.queue.receive('q', 10 as Any) },
  'queue.receive.max-fraction': { requires: queueOn, field: 'options.max', call: (s) => s.queue.receive('q', { max: 1.5 }) },
  'queue.receive.max-not-number': { requires: queueOn, field: 'options.max', call: (s) => s.queue.receive('q', { max: '10' as Any }) },
  'queue.receive.visibility-negative': {
    requires: queueOn,
    field: 'options.visibilityTimeoutMs',
    call: (s) => s.queue.receive('q', { visibilityTimeoutMs: -1 }),
  },
  'queue.nack.delay-too-long': {
    requires: queueOn,
    setup: received,
    field: 'options.delayMs',
    call: (s, r) => s.queue.nack(r as string, { delayMs: MAX_DELAY_MS + 1 }),
  },
  'queue.nack.delay-fraction': { requires: queueOn, setup: received, field: 'options.delayMs', call: (s, r) => s.queue.nack(r as string, { delayMs: 0.5 }) },
  'queue.nack.options-not-object': { requires: queueOn, setup: received, field: 'options', call: (s, r) => s.queue.nack(r as string, 'later' as Any) },
  'queue.extend.too-long': {
    requires: queueOn,
    setup: received,
    field: 'ms',
    call: (s, r) => s.queue.extendVisibility(r as string, MAX_VISIBILITY_TIMEOUT_MS + 1),
  },
  'queue.extend.not-number': { requires: queueOn, setup: received, field: 'ms', call: (s, r) => s.queue.extendVisibility(r as string, '1000' as Any) },
  'queue.ack-many.too-many': {
    requires: queueOn,
    setup: received,
    field: 'receipts',
    call: (s, r) => s.queue.ackMany(new Array<string>(10_001).fill(r as string)),
  },
  'queue.dead-letters.limit-fraction': { requires: queueOn, field: 'options.limit', call: (s) => s.queue.deadLetters('q', { limit: 1.5 }) },
  'queue.dead-letters.limit-negative': { requires: queueOn, field: 'options.limit', call: (s) => s.queue.deadLetters('q', { limit: -1 }) },

  'transfer.import.records-not-array': { requires: transferOn, field: 'records', call: (s) => s.transfer.import('records' as Any) },
  'transfer.check.records-not-array': { requires: transferOn, field: 'records', call: (s) => s.transfer.check({ kind: 'stream' } as Any) },
  'transfer.export.options-not-object': { requires: transferOn, field: 'options', call: (s) => collect(s.transfer.export('all' as Any)) },
  'transfer.export.batch-size-too-large': {
    requires: transferOn,
    field: 'options.batchSize',
    call: (s) => collect(s.transfer.export({ batchSize: 100_001 })),
  },

  'checkpoints.set.position-beyond-int64': { requires: cpOn, field: 'position', call: (s) => s.checkpoints.set('c', INT64_OVER) },
  'checkpoints.set.expected-fraction': { requires: cpOn, field: 'options.expected', call: (s) => s.checkpoints.set('c', 5n, { expected: 1.5 as Any }) },
  'checkpoints.set.expected-string': { requires: cpOn, field: 'options.expected', call: (s) => s.checkpoints.set('c', 5n, { expected: '1' as Any }) },
  'checkpoints.set.options-not-object': { requires: cpOn, field: 'options', call: (s) => s.checkpoints.set('c', 5n, 'x' as Any) },
  'checkpoints.acquire-lease.options-missing': { requires: cpOn, field: 'options', call: (s) => s.checkpoints.acquireLease('c', undefined as Any) },
  'checkpoints.acquire-lease.owner-missing': { requires: cpOn, field: 'options.owner', call: (s) => s.checkpoints.acquireLease('c', { ttlMs: 1000 } as Any) },
  'checkpoints.acquire-lease.ttl-missing': { requires: cpOn, field: 'options.ttlMs', call: (s) => s.checkpoints.acquireLease('c', { owner: 'o' } as Any) },
  'checkpoints.acquire-lease.ttl-too-long': {
    requires: cpOn,
    field: 'options.ttlMs',
    call: (s) => s.checkpoints.acquireLease('c', { owner: 'o', ttlMs: MAX_LEASE_MS + 1 }),
  },
  'checkpoints.acquire-lease.ttl-fraction': {
    requires: cpOn,
    field: 'options.ttlMs',
    call: (s) => s.checkpoints.acquireLease('c', { owner: 'o', ttlMs: 0.5 }),
  },
};

/** A generated row: a bad call, the field it must be refused for, and the value that must stay out of the message. */
interface Row {
  id: string;
  field: string;
  call: (s: Target, prior: unknown) => Promise<unknown>;
  setup?: ((s: Target) => Promise<unknown>) | undefined;
  requires?: ((caps: Readonly<Capabilities>) => boolean) | undefined;
  /** The rejected value, when it is a string long enough to be recognized in a message. */
  value?: string | undefined;
}

/** The hand-written cases of `validation.cases.ts` that the argument table counts as covering a rule. */
export const coveredByHand: readonly string[] = ARGUMENTS.flatMap((a) => Object.values(a.covered ?? {}));

/** Every (argument, rule) pair not covered by a hand-written case, then the bounds. */
const rows: Row[] = [
  ...ARGUMENTS.flatMap((a) =>
    (a.rules ?? NAME_RULES)
      .filter((rule) => a.covered?.[rule] === undefined)
      .map((rule): Row => {
        const value = BAD_NAMES[rule];
        return {
          id: `${a.id}-${rule}`,
          field: a.field,
          call: (s, prior) => a.call(s, value, prior),
          setup: a.setup,
          requires: a.requires,
          value: typeof value === 'string' && value.length >= 3 ? value : undefined,
        };
      }),
  ),
  ...Object.entries(BOUNDS).map(([id, b]): Row => ({ id, ...b })),
];

const withRequires = (requires: Row['requires'], extra?: (caps: Readonly<Capabilities>) => boolean): Pick<ConformanceCase, 'requires'> => {
  if (requires === undefined && extra === undefined) return {};
  return { requires: (caps) => (requires?.(caps) ?? true) && (extra?.(caps) ?? true) };
};

/** Checks what every refusal must be: `VALIDATION`, the field named in `field` and in the message, the value not shown. */
function assertRefusal(error: Error, row: Row): void {
  assert.equal((error as ValidationError).field, row.field, `the error's field names the argument (message: ${JSON.stringify(error.message)})`);
  assert.ok(error.message.includes(row.field), `the message ${JSON.stringify(error.message)} names ${row.field}`);
  if (row.value !== undefined) assert.ok(!error.message.includes(row.value), 'the message does not repeat the rejected value');
}

const refusals: ConformanceCase[] = rows.map((row) => ({
  id: `validation.${row.id}`,
  area: 'validation',
  ...withRequires(row.requires),
  async run(ctx) {
    const prior = row.setup === undefined ? undefined : await row.setup(ctx.store);
    const before = await fingerprint(ctx);
    const error = await rejects(() => row.call(ctx.store, prior), 'VALIDATION');
    assertRefusal(error, row);
    assert.deepEqual(await fingerprint(ctx), before, 'nothing was written');
  },
}));

/**
 * Inside a transaction every name argument is checked the same way (one rule per argument, the one a
 * database column would accept silently), and the refusal rolls back what the transaction wrote.
 */
const insideTransactions: ConformanceCase[] = ARGUMENTS.filter((a) => (a.rules ?? NAME_RULES).includes('too-long')).map((a) => {
  const row: Row = {
    id: `${a.id}-too-long`,
    field: a.field,
    call: (s, prior) => a.call(s, BAD_NAMES['too-long'], prior),
    value: BAD_NAMES['too-long'] as string,
  };
  return {
    id: `validation.tx.${row.id}`,
    area: 'validation',
    ...withRequires(a.requires, (c) => c.transactions),
    async run(ctx) {
      const prior = a.setup === undefined ? undefined : await a.setup(ctx.store);
      const before = await fingerprint(ctx);
      const error = await rejects(
        ctx.store.transaction(async (tx) => {
          await tx.events.append('s', [evt()]);
          await row.call(tx, prior);
        }),
        'VALIDATION',
      );
      assertRefusal(error, row);
      assert.deepEqual(await fingerprint(ctx), before, 'the transaction rolled back');
    },
  };
});

/**
 * The longest name is accepted wherever a name is: 255 code points, counted as characters, not UTF-16
 * units (510 here) nor UTF-8 bytes (1020).
 */
const longestAccepted: ConformanceCase[] = ARGUMENTS.filter((a) => (a.rules ?? NAME_RULES).includes('too-long') && a.longestAccepted !== false).map((a) => ({
  id: `validation.${a.id}-longest-accepted`,
  area: 'validation',
  ...withRequires(a.requires),
  async run(ctx) {
    const prior = a.setup === undefined ? undefined : await a.setup(ctx.store);
    await a.call(ctx.store, LONGEST_NAME, prior);
  },
}));

const AT = Date.UTC(2020, 0, 1);

/** One record of each kind, valid and importable together into an empty store, with `name` in every name field. */
const records = (name: string): Record<StrataRecord['kind'], StrataRecord> => ({
  stream: { kind: 'stream', streamId: name, version: 1, createdAt: AT, updatedAt: AT },
  event: {
    kind: 'event',
    position: 1n,
    streamId: name,
    version: 1,
    id: uuid(),
    type: name,
    schemaVersion: 1,
    data: '{}',
    metadata: '{}',
    recordedAt: AT,
  },
  snapshot: { kind: 'snapshot', streamId: name, version: 1, state: '{}', schemaVersion: 1, createdAt: AT },
  message: {
    kind: 'message',
    id: uuid(),
    queue: name,
    seq: 1,
    body: '{}',
    headers: '{}',
    priority: 0,
    maxAttempts: 5,
    dedupId: name,
    attempt: 0,
    visibleAt: AT,
    receipt: null,
    dead: false,
    reason: null,
    enqueuedAt: AT,
    deadLetteredAt: null,
  },
  checkpoint: { kind: 'checkpoint', consumer: name, position: 1n, updatedAt: AT },
});

/** The name fields of each kind of record. */
const RECORD_NAMES: readonly [StrataRecord['kind'], string][] = [
  ['stream', 'streamId'],
  ['event', 'streamId'],
  ['event', 'type'],
  ['snapshot', 'streamId'],
  ['message', 'queue'],
  ['message', 'dedupId'],
  ['checkpoint', 'consumer'],
];

/** Kebab case of a camel-case field name. */
const kebab = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The same rules on the names inside transfer records: `check` reports the record's field, and `import`
 * refuses the batch with `VALIDATION` (field `records`, the message naming the record's field) and
 * writes nothing. Record messages may name the record by its (bad) name: names are not payloads.
 */
const transferRefusals: ConformanceCase[] = RECORD_NAMES.flatMap(([kind, field]) =>
  NAME_RULES.map(
    (rule): ConformanceCase => ({
      id: `validation.transfer.${kind}.${kebab(field)}-${rule}`,
      area: 'validation',
      requires: transferOn,
      async run(ctx) {
        const { store } = ctx;
        const record = { ...records('n')[kind], [field]: BAD_NAMES[rule] } as StrataRecord;
        const problems = await store.transfer.check([record]);
        assert.ok(
          problems.some((p) => p.kind === kind && p.field === field),
          `check reports ${kind}.${field} (got ${problems.map((p) => `${p.kind}.${p.field}`).join(', ') || 'nothing'})`,
        );
        const before = await fingerprint(ctx);
        const error = await rejects(() => store.transfer.import([record]), 'VALIDATION');
        assert.equal((error as ValidationError).field, 'records');
        assert.ok(error.message.includes(` ${field} `), `the message ${JSON.stringify(error.message.slice(0, 300))} names the record's ${field}`);
        assert.deepEqual(await fingerprint(ctx), before, 'nothing was written');
      },
    }),
  ),
);

/** Records whose names are all of the longest length are reported by no check and imported as they are. */
const transferLongest: ConformanceCase = {
  id: 'validation.transfer.names-longest-accepted',
  area: 'validation',
  requires: (c) => c.transfer && c.queue && c.snapshots && c.checkpoints,
  async run({ store }) {
    const all = Object.values(records(LONGEST_NAME));
    assert.deepEqual(await store.transfer.check(all), [], 'no problem reported');
    assert.deepEqual(await store.transfer.import(all), { written: all.length, skipped: 0 });
    const stored = await collect(store.events.readAll());
    assert.equal(stored[0]?.streamId, LONGEST_NAME);
    assert.equal(stored[0]?.type, LONGEST_NAME);
  },
};

/** Every case generated from the argument and bound tables. */
export const validationRuleCases: ConformanceCase[] = [...refusals, ...insideTransactions, ...longestAccepted, ...transferRefusals, transferLongest];
