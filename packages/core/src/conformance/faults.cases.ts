import type { Capabilities } from '../capabilities.js';
import { isStrataError, type StrataError, type StrataErrorCode } from '../errors.js';
import type { StrataStore } from '../store.js';
import { assert, collect, defineCases, evt, evts, fingerprint, leaksOf, show, sleep } from './helpers.js';
import { tableCases } from './lifecycle.cases.js';
import type { CaseContext, RunFeatures } from './types.js';

// What a failing database does to a store (ConformanceOptions.faults): after a lost connection and
// while another connection holds the write lock, every call settles within a bound, with a typed error
// that names the operation and its stream, queue or consumer and holds no payload value, and nothing of
// a failed call is written. These run only when the run offers the hook.

/** The stream, queue and consumer the cases use: names distinctive enough to find in a message. */
const STREAM = 'faults-stream-4b1';
const QUEUE = 'faults-queue-4b1';
const CONSUMER = 'faults-consumer-4b1';
const OWNER = 'faults-owner';

/** A value put in every payload (data, metadata, body, state): it must show in no error. */
const MARKER = 'payload-marker-7c3e91';

/** The longest a call may take to fail under a fault: the store's own bounded wait, with room for a loaded machine. */
const FAIL_WITHIN_MS = 5_000;

/** What calls need from the store while it is still healthy: a live receipt. */
interface FaultArguments {
  /** The receipt of a delivery still in flight (empty without a queue). */
  receipt: string;
}

/** Gives the store something for every call to act on, before the fault. */
async function prepare(store: StrataStore): Promise<FaultArguments> {
  const caps = store.capabilities;
  await store.events.append(STREAM, evts(2));
  let receipt = '';
  if (caps.queue) {
    await store.queue.send(QUEUE, [{ body: 1 }, { body: 2 }]);
    receipt = (await store.queue.receive(QUEUE, { max: 1, visibilityTimeoutMs: 60_000 }))[0]?.receipt ?? '';
  }
  if (caps.snapshots) await store.snapshots.save(STREAM, { version: 1, state: { n: 1 } });
  if (caps.checkpoints) {
    await store.checkpoints.set(CONSUMER, 1n);
    await store.checkpoints.acquireLease(CONSUMER, { owner: OWNER, ttlMs: 60_000 });
  }
  return { receipt };
}

/** One call of a contract, made while the database fails. */
interface FaultCall {
  /** The operation its error must name (any of them, for a transaction, whose error may name the call that failed inside it). */
  operations: readonly string[];
  /** The stream, queue or consumer its error must name; none for calls given no such name (a receipt, every stream). */
  subject?: string;
  /** The capability it needs. */
  requires?: (caps: Readonly<Capabilities>) => boolean;
  /** Makes the call (iterators read to the end); payloads carry {@link MARKER}. */
  call(store: StrataStore, args: FaultArguments): Promise<unknown>;
}

const queue = (c: Readonly<Capabilities>) => c.queue;
const snapshots = (c: Readonly<Capabilities>) => c.snapshots;
const checkpoints = (c: Readonly<Capabilities>) => c.checkpoints;
const transactions = (c: Readonly<Capabilities>) => c.transactions;
const transfer = (c: Readonly<Capabilities>) => c.transfer;

const marked = () => evt('Marked', { secret: MARKER }, { metadata: { note: MARKER } });

const append: FaultCall = { operations: ['events.append'], subject: STREAM, call: (s) => s.events.append(STREAM, [marked()]) };
const send: FaultCall = {
  operations: ['queue.send'],
  subject: QUEUE,
  requires: queue,
  call: (s) => s.queue.send(QUEUE, { body: { secret: MARKER }, headers: { note: MARKER } }),
};
const save: FaultCall = {
  operations: ['snapshots.save'],
  subject: STREAM,
  requires: snapshots,
  call: (s) => s.snapshots.save(STREAM, { version: 2, state: { secret: MARKER } }),
};
const commit: FaultCall = { operations: ['checkpoints.set'], subject: CONSUMER, requires: checkpoints, call: (s) => s.checkpoints.set(CONSUMER, 2n) };
const transaction: FaultCall = {
  operations: ['transaction', 'events.append'],
  requires: transactions,
  call: (s) => s.transaction((tx) => tx.events.append(STREAM, [marked()])),
};

/** Every method of every contract that reaches the database (`transfer.check` only validates records: it may answer without a connection), and `transaction()`. */
const everyCall: Readonly<Record<string, FaultCall>> = {
  'events-append': append,
  'events-read-stream': { operations: ['events.readStream'], subject: STREAM, call: (s) => collect(s.events.readStream(STREAM)) },
  'events-read-all': { operations: ['events.readAll'], call: (s) => collect(s.events.readAll()) },
  'events-stream-info': { operations: ['events.streamInfo'], subject: STREAM, call: (s) => s.events.streamInfo(STREAM) },
  'events-head-position': { operations: ['events.headPosition'], call: (s) => s.events.headPosition() },
  'queue-send': send,
  'queue-receive': { operations: ['queue.receive'], subject: QUEUE, requires: queue, call: (s) => s.queue.receive(QUEUE) },
  'queue-ack': { operations: ['queue.ack'], requires: queue, call: (s, a) => s.queue.ack(a.receipt) },
  'queue-nack': { operations: ['queue.nack'], requires: queue, call: (s, a) => s.queue.nack(a.receipt) },
  'queue-extend-visibility': { operations: ['queue.extendVisibility'], requires: queue, call: (s, a) => s.queue.extendVisibility(a.receipt, 1_000) },
  'queue-stats': { operations: ['queue.stats'], subject: QUEUE, requires: queue, call: (s) => s.queue.stats(QUEUE) },
  'queue-dead-letters': { operations: ['queue.deadLetters'], subject: QUEUE, requires: queue, call: (s) => s.queue.deadLetters(QUEUE) },
  'queue-purge': { operations: ['queue.purge'], subject: QUEUE, requires: queue, call: (s) => s.queue.purge(QUEUE) },
  'snapshots-save': save,
  'snapshots-load': { operations: ['snapshots.load'], subject: STREAM, requires: snapshots, call: (s) => s.snapshots.load(STREAM) },
  'checkpoints-get': { operations: ['checkpoints.get'], subject: CONSUMER, requires: checkpoints, call: (s) => s.checkpoints.get(CONSUMER) },
  'checkpoints-set': commit,
  'checkpoints-acquire-lease': {
    operations: ['checkpoints.acquireLease'],
    subject: CONSUMER,
    requires: checkpoints,
    call: (s) => s.checkpoints.acquireLease(CONSUMER, { owner: OWNER, ttlMs: 60_000 }),
  },
  'queue-ack-many': { operations: ['queue.ackMany'], requires: queue, call: (s, a) => s.queue.ackMany([a.receipt]) },
  'queue-next-visible-in-ms': { operations: ['queue.nextVisibleInMs'], subject: QUEUE, requires: queue, call: (s) => s.queue.nextVisibleInMs(QUEUE) },
  'queue-redrive': { operations: ['queue.redrive'], subject: QUEUE, requires: queue, call: (s) => s.queue.redrive(QUEUE) },
  'snapshots-delete': { operations: ['snapshots.delete'], subject: STREAM, requires: snapshots, call: (s) => s.snapshots.delete(STREAM) },
  'checkpoints-list': { operations: ['checkpoints.list'], requires: checkpoints, call: (s) => s.checkpoints.list() },
  'checkpoints-release-lease': {
    operations: ['checkpoints.releaseLease'],
    subject: CONSUMER,
    requires: checkpoints,
    call: (s) => s.checkpoints.releaseLease(CONSUMER, OWNER),
  },
  'transfer-export': { operations: ['transfer.export'], requires: transfer, call: (s) => collect(s.transfer.export()) },
  'transfer-counts': { operations: ['transfer.counts'], requires: transfer, call: (s) => s.transfer.counts() },
  'transfer-import': {
    operations: ['transfer.import'],
    requires: transfer,
    call: (s) => s.transfer.import([{ kind: 'checkpoint', consumer: `${CONSUMER}-imported`, position: 1n, updatedAt: Date.now() }]),
  },
  transaction,
};

/** The writes that must time out while another connection holds the write lock. */
const lockedWrites: Readonly<Record<string, FaultCall>> = {
  'events-append': append,
  'queue-send': send,
  'snapshots-save': save,
  'checkpoints-set': commit,
  transaction,
};

/** Every other write: they must time out under the lock the same way (their state is not compared after the release). */
const otherLockedWrites: Readonly<Record<string, FaultCall>> = Object.fromEntries(
  [
    'queue-receive',
    'queue-ack',
    'queue-ack-many',
    'queue-nack',
    'queue-extend-visibility',
    'queue-redrive',
    'queue-purge',
    'snapshots-delete',
    'checkpoints-acquire-lease',
    'checkpoints-release-lease',
    'transfer-import',
  ].map((id) => [id, everyCall[id] as FaultCall]),
);

/** Requires what the run offers (`more`) and, for a call, its capability. */
const needs = (more: (run: Readonly<RunFeatures>) => boolean, call?: FaultCall) => (caps: Readonly<Capabilities>, run?: Readonly<RunFeatures>) =>
  run !== undefined && more(run) && (call?.requires?.(caps) ?? true);
const lostConnection = (run: Readonly<RunFeatures>) => run.connectionLoss !== undefined;
const transientLoss = (run: Readonly<RunFeatures>) => run.connectionLoss === 'transient';
const writeLock = (run: Readonly<RunFeatures>) => run.writeLock === true;

/**
 * Makes `call` and returns how it settled, with the time it took: the error it rejected with, or
 * `undefined` when it resolved. Fails when it takes longer than {@link FAIL_WITHIN_MS} (scaled).
 */
async function settle(ctx: CaseContext, call: FaultCall, args: FaultArguments, what: string): Promise<unknown> {
  const started = Date.now();
  let error: unknown;
  try {
    await call.call(ctx.store, args);
  } catch (e) {
    error = e ?? new Error(`${call.operations[0]} rejected with ${show(e)}`);
  }
  const took = Date.now() - started;
  assert.ok(took <= ctx.ms(FAIL_WITHIN_MS), `${call.operations[0]} ${what} settled within ${ctx.ms(FAIL_WITHIN_MS)} ms (took ${took} ms)`);
  return error;
}

/**
 * Asserts that `error` is a StrataError of one of `codes` with `retryable`, whose message names the
 * call's operation and subject, and in which no payload value shows (message, cause chain, anything).
 */
function assertFault(error: unknown, call: FaultCall, codes: readonly StrataErrorCode[], retryable: boolean, what: string): StrataError {
  const name = call.operations[0];
  assert.ok(isStrataError(error), `${name} ${what} rejects with a StrataError, but it rejected with ${show(error)}`);
  assert.ok(codes.includes(error.code), `${name} ${what} rejects with ${codes.join(' or ')}, but with ${error.code}: ${show(error.message)}`);
  assert.equal(error.retryable, retryable, `${name} ${what} rejects with retryable ${retryable}: ${show(error.message)}`);
  assert.ok(
    call.operations.some((o) => error.message.includes(o)),
    `the ${error.code} error of ${name} ${what} names the operation (${call.operations.join(' or ')}): ${show(error.message)}`,
  );
  if (call.subject !== undefined) {
    assert.ok(error.message.includes(call.subject), `the ${error.code} error of ${name} ${what} names ${show(call.subject)}: ${show(error.message)}`);
  }
  assert.deepEqual(leaksOf(error, MARKER), [], `the ${error.code} error of ${name} ${what} holds no payload value`);
  return error;
}

/** Retries `attempt` (up to 50 times, 100 ms apart, scaled) while it fails with a retryable CONNECTION or TIMEOUT. */
async function retried<T>(ctx: CaseContext, what: string, attempt: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await attempt();
    } catch (error) {
      assert.ok(
        isStrataError(error) && (error.code === 'CONNECTION' || error.code === 'TIMEOUT') && error.retryable,
        `${what} after a transient loss of the connection fails only with a retryable CONNECTION or TIMEOUT, but it rejected with ${show(error)}`,
      );
      last = error;
      await sleep(ctx.ms(100));
    }
  }
  assert.fail(`${what} still failed after 50 retries over 5 s since a transient loss of the connection: ${show(last)}`);
}

/** The read-back the write-lock cases compare: what the stream, queue, snapshot and checkpoint hold. */
const state = (ctx: CaseContext) => fingerprint(ctx, { streamId: STREAM, queue: QUEUE, consumer: CONSUMER });

export const faultCases = defineCases('faults', {
  // After a loss, every call fails typed and bounded (permanent: CONNECTION, not retryable), or, where the
  // adapter recovers, succeeds or fails retryably.
  ...tableCases(
    Object.entries(everyCall).map(([id, call]) => ({ id, call, requires: needs(lostConnection, call) })),
    (row) => `lost-connection.${row.id}`,
    ({ call }) =>
      async function run(ctx) {
        const args = await prepare(ctx.store);
        const permanent = (await ctx.loseConnection()) === 'permanent';
        for (const attempt of ['after the connection was lost', 'called again after the connection was lost']) {
          const error = await settle(ctx, call, args, attempt);
          if (permanent) {
            assert.ok(error !== undefined, `${call.operations[0]} ${attempt} (permanently) rejects, but it resolved`);
            assertFault(error, call, ['CONNECTION'], false, attempt);
          } else if (error === undefined)
            break; // recovered: a second call would act on what the first did (an acked receipt)
          else assertFault(error, call, ['CONNECTION', 'TIMEOUT'], true, attempt);
        }
      },
  ),
  'lost-connection.close-resolves': {
    requires: needs(lostConnection),
    async run(ctx) {
      await prepare(ctx.store);
      await ctx.loseConnection();
      await ctx.store.events.headPosition().catch(() => undefined);
      const started = Date.now();
      await ctx.store.close();
      const took = Date.now() - started;
      assert.ok(took <= ctx.ms(FAIL_WITHIN_MS), `close() after a lost connection resolved within ${ctx.ms(FAIL_WITHIN_MS)} ms (took ${took} ms)`);
    },
  },
  'lost-connection.transient-recovers': {
    // A pool reconnects: within a few retries the store works again, and holds exactly what it acknowledged.
    requires: needs(transientLoss),
    async run(ctx) {
      const { store, caps } = ctx;
      await prepare(store);
      await ctx.loseConnection();
      const appended = await retried(ctx, 'events.append', () => store.events.append(STREAM, evts(1, 'Tested', 2), { expectedVersion: 2 }));
      assert.equal(appended.version, 3, 'the append that succeeded after the loss wrote one event, after the two of before');
      const stream = await retried(ctx, 'events.readStream', () => collect(store.events.readStream(STREAM)));
      assert.deepEqual(
        stream.map((e) => [e.version, e.data]),
        [
          [1, { n: 0 }],
          [2, { n: 1 }],
          [3, { n: 2 }],
        ],
        'the stream holds exactly the appends that were acknowledged',
      );
      if (caps.queue) {
        await retried(ctx, 'queue.send', () => store.queue.send(QUEUE, { body: 3 }));
        const stats = await retried(ctx, 'queue.stats', () => store.queue.stats(QUEUE));
        assert.equal(stats.ready + stats.inFlight, 3, 'the queue holds the two messages of before and the one acknowledged after the loss');
      }
    },
  },
  // While another connection holds the write lock, writes time out (retryable), naming what they wrote to.
  ...tableCases(
    Object.entries({ ...lockedWrites, ...otherLockedWrites }).map(([id, call]) => ({ id, call, requires: needs(writeLock, call) })),
    (row) => `write-lock.${row.id}-times-out`,
    ({ call }) =>
      async function run(ctx) {
        const args = await prepare(ctx.store);
        await ctx.holdWriteLock();
        const error = await settle(ctx, call, args, 'while another connection holds the write lock');
        assert.ok(error !== undefined, `${call.operations[0]} while another connection holds the write lock rejects, but it resolved`);
        assertFault(error, call, ['TIMEOUT'], true, 'while another connection holds the write lock');
      },
  ),
  'write-lock.reads-work': {
    requires: needs(writeLock),
    async run(ctx) {
      await prepare(ctx.store);
      const before = await state(ctx);
      await ctx.holdWriteLock();
      assert.deepEqual(
        await state(ctx),
        before,
        'every read (stream, head, stream info, queue stats, snapshot, checkpoint) works while the write lock is held',
      );
    },
  },
  'write-lock.failed-writes-leave-nothing': {
    // The writes that timed out wrote nothing; once the lock is released, the same writes succeed.
    requires: needs(writeLock),
    async run(ctx) {
      const { store, caps } = ctx;
      const args = await prepare(store);
      const before = await state(ctx);
      const release = await ctx.holdWriteLock();
      const calls = Object.values(lockedWrites).filter((c) => c.requires?.(caps) ?? true);
      for (const call of calls) await settle(ctx, call, args, 'while another connection holds the write lock');
      await release();
      assert.deepEqual(await state(ctx), before, 'nothing of the writes that failed under the write lock was written');
      for (const call of calls) {
        const error = await settle(ctx, call, args, 'after the write lock was released');
        assert.equal(error, undefined, `${call.operations[0]} succeeds once the write lock is released: ${show(error)}`);
      }
      const stream = await collect(store.events.readStream(STREAM));
      assert.deepEqual(
        stream.map((e) => e.version),
        [1, 2, 3, ...(caps.transactions ? [4] : [])],
        'the appends after the release wrote one event each, after the two of before',
      );
      if (caps.queue) assert.equal((await store.queue.stats(QUEUE)).ready, 2, 'the send after the release added one message');
      if (caps.snapshots) assert.equal((await store.snapshots.load(STREAM))?.version, 2, 'the snapshot saved after the release is the latest');
      if (caps.checkpoints) assert.equal((await store.checkpoints.get(CONSUMER))?.position, 2n, 'the checkpoint committed after the release holds');
    },
  },
});
