import type { ConformanceFaults } from '@strata/core/conformance';
import { conformanceCases } from '../src/conformance/cases.js';
import { ConnectionError, describeSubject, type ErrorSubject, StrataError, type StrataStore } from '../src/index.js';
import { type BrokenAdapter, describeBrokenAdapters } from './broken.js';

// What a failing database does to a store (`faults.*`). The memory store has no connection, so a
// wrapper plays one: cut, every call fails as a lost connection would (for good, or for the next two
// calls where the loss is transient); while another "connection" holds the write lock, writes wait a
// moment and time out, and reads go on. Each broken adapter below gets one of those rules wrong.

type Part = 'events' | 'queue' | 'snapshots' | 'checkpoints' | 'transfer';
const parts: Part[] = ['events', 'queue', 'snapshots', 'checkpoints', 'transfer'];

/** The methods that write (and so wait for the write lock); reads do not. */
const writes = new Set([
  'events.append',
  'queue.send',
  'queue.receive',
  'queue.ack',
  'queue.ackMany',
  'queue.nack',
  'queue.extendVisibility',
  'queue.redrive',
  'queue.purge',
  'snapshots.save',
  'snapshots.delete',
  'checkpoints.set',
  'checkpoints.acquireLease',
  'checkpoints.releaseLease',
  'transfer.import',
]);

/** The methods that return an iterator rather than a promise. */
const iterators = new Set(['events.readStream', 'events.readAll', 'transfer.export']);

/** What a call is about, from its name and arguments: its stream, queue or consumer, as the adapters' errors name them. */
function subjectOf(operation: string, args: unknown[]): ErrorSubject {
  const first = typeof args[0] === 'string' ? args[0] : undefined;
  if (first === undefined || /^queue\.(ack|ackMany|nack|extendVisibility)$/.test(operation)) return { operation };
  if (operation.startsWith('events.') || operation.startsWith('snapshots.')) return { operation, streamId: first };
  if (operation.startsWith('queue.')) return { operation, queue: first };
  if (operation.startsWith('checkpoints.')) return { operation, consumer: first };
  return { operation };
}

/** The state of a wrapped store's pretend connection. */
interface Connection {
  /** How it was lost, if it was. */
  lost: 'no' | 'permanent' | 'transient';
  /** Calls that still fail after a transient loss. */
  failuresLeft: number;
  /** Whether another connection holds the write lock. */
  locked: boolean;
  /** Calls that fail after a transient loss, from the wrapper's behaviour. */
  transientFailures: number;
}

/** How a wrapper behaves; the intact one by default, each broken adapter changing one part. */
interface Behaviour {
  /** The error of a call after a loss. */
  lost(subject: ErrorSubject, args: unknown[], retryable: boolean): unknown;
  /** The error of a write while the lock is held. */
  locked(subject: ErrorSubject, args: unknown[]): unknown;
  /** Calls that fail after a transient loss before the connection is back. */
  failuresAfterTransientLoss: number;
  /** Whether a write under the lock is applied before it fails. */
  writesUnderLock: boolean;
  /** Whether reads are refused while the lock is held. */
  readsRefusedUnderLock: boolean;
  /** Whether a write after a transient loss is applied before it fails. */
  writesBeforeTransientFailure: boolean;
  /** Operations that go on working after a loss. */
  forgotten: ReadonlySet<string>;
  /** How long `close()` takes after a loss. */
  closeDelayMs: number;
  /** How long a call takes to fail after a permanent loss. */
  lostDelayMs: number;
}

const intact: Behaviour = {
  lost: (subject, _args, retryable) => new ConnectionError(`${describeSubject(subject)}: the connection to the database was lost`, { retryable }),
  locked: (subject) => new StrataError('TIMEOUT', `${describeSubject(subject)}: the database stayed locked by another connection`, { retryable: true }),
  failuresAfterTransientLoss: 2,
  writesUnderLock: false,
  readsRefusedUnderLock: false,
  writesBeforeTransientFailure: false,
  forgotten: new Set(),
  closeDelayMs: 0,
  lostDelayMs: 0,
};

const connections = new WeakMap<StrataStore, Connection>();

/** The memory store `s` behind a pretend connection that the table's hooks can cut or lock. */
function faulty(s: StrataStore, change: Partial<Behaviour> = {}): StrataStore {
  const b = { ...intact, ...change };
  const connection: Connection = { lost: 'no', failuresLeft: 0, locked: false, transientFailures: b.failuresAfterTransientLoss };
  /** Runs `call` as the connection allows, or throws what it must. */
  const guard = async <T>(operation: string, args: unknown[], call: () => Promise<T>): Promise<T> => {
    const subject = subjectOf(operation, args);
    if (connection.lost !== 'no' && !b.forgotten.has(operation)) {
      if (connection.lost === 'permanent') {
        if (b.lostDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, b.lostDelayMs));
        throw b.lost(subject, args, false);
      }
      if (connection.failuresLeft > 0) {
        connection.failuresLeft--;
        if (b.writesBeforeTransientFailure && writes.has(operation)) await call();
        throw b.lost(subject, args, true);
      }
    }
    if (connection.locked && (writes.has(operation) || operation === 'transaction' || b.readsRefusedUnderLock)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (b.writesUnderLock && operation !== 'transaction') await call();
      throw b.locked(subject, args);
    }
    return call();
  };
  const wrapped: Record<string, unknown> = { ...s };
  for (const part of parts) {
    const methods: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(s[part])) {
      if (typeof method !== 'function') {
        methods[name] = method;
        continue;
      }
      const operation = `${part}.${name}`;
      const invoke = (args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(s[part], args);
      methods[name] = iterators.has(operation)
        ? (...args: unknown[]) =>
            (async function* () {
              yield* await guard(operation, args, async () => invoke(args) as AsyncIterable<unknown>);
            })()
        : (...args: unknown[]) => guard(operation, args, async () => invoke(args));
    }
    wrapped[part] = methods;
  }
  wrapped.transaction = (fn: Parameters<StrataStore['transaction']>[0]) => guard('transaction', [], () => s.transaction(fn));
  wrapped.close = async () => {
    if (connection.lost !== 'no') await new Promise((resolve) => setTimeout(resolve, b.closeDelayMs));
    await s.close();
  };
  const store = wrapped as unknown as StrataStore;
  connections.set(store, connection);
  return store;
}

const connectionOf = (store: StrataStore): Connection => {
  const connection = connections.get(store);
  if (connection === undefined) throw new Error('not a store of this table');
  return connection;
};

const holdWriteLock: ConformanceFaults['holdWriteLock'] = async (store) => {
  const connection = connectionOf(store);
  connection.locked = true;
  return async () => {
    connection.locked = false;
  };
};

/** The table's hooks, with a loss of `kind`. */
const faultsOf = (kind: 'permanent' | 'transient'): ConformanceFaults => ({
  loseConnection: {
    kind,
    cut: async (store) => {
      const connection = connectionOf(store);
      connection.lost = kind;
      connection.failuresLeft = kind === 'transient' ? connection.transientFailures : 0;
    },
  },
  holdWriteLock,
});

/** The suite's case ids of `area.table.<call><suffix>`, as the calls' names: the tables below follow the suite as it grows. */
const callsOf = (prefix: string, suffix = '') =>
  conformanceCases
    .map((c) => c.id)
    .filter((id) => id.startsWith(prefix) && id.endsWith(suffix))
    .map((id) => id.slice(prefix.length, id.length - suffix.length));
/** Every call of the lost-connection table (not its two cases about the store as a whole). */
const everyCall = callsOf('faults.lost-connection.').filter((id) => id !== 'close-resolves' && id !== 'transient-recovers');
/** Every write the write-lock cases make. */
const allLockedWrites = callsOf('faults.write-lock.', '-times-out');
// Lists read from the suite must not come back empty, which would leave the tables below checking nothing.
if (everyCall.length < 20 || allLockedWrites.length < 10) throw new Error('the faults cases were not found in conformanceCases');
const lost = (ids: string[]) => ids.map((id) => `faults.lost-connection.${id}`);
const locked = (ids: string[]) => ids.map((id) => `faults.write-lock.${id}-times-out`);
/** The calls given a stream, queue or consumer name, which their errors must repeat. */
const named = everyCall.filter(
  (id) =>
    !/^(events-read-all|events-head-position|queue-ack|queue-ack-many|queue-nack|queue-extend-visibility|checkpoints-list|transfer-export|transfer-counts|transfer-import|transaction)$/.test(
      id,
    ),
);
/** The calls carrying a payload. */
const carrying = ['events-append', 'queue-send', 'snapshots-save'];

const broken = (change: Partial<Behaviour>, mustFail: string[]): BrokenAdapter => ({ breakage: (s) => faulty(s, change), mustFail });
const json = (args: unknown[]) => JSON.stringify(args, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

describeBrokenAdapters(
  'broken adapters: a lost connection for good, a held write lock',
  {
    'throws a plain Error after a lost connection': broken({ lost: () => new Error('connection lost') }, lost(everyCall)),
    'fails a call only after seconds once the connection is lost': broken({ lostDelayMs: 6_000 }, lost(['events-append'])),
    'throws a plain Error while another connection holds the write lock': broken({ locked: () => new Error('database is locked') }, locked(allLockedWrites)),
    'says a connection closed for good is retryable': broken(
      { lost: (subject) => new ConnectionError(`${describeSubject(subject)}: the connection to the database was lost`) },
      lost(everyCall),
    ),
    'says a lock timeout is not retryable': broken(
      { locked: (subject) => new StrataError('TIMEOUT', `${describeSubject(subject)}: the database stayed locked`, { retryable: false }) },
      locked(allLockedWrites),
    ),
    'names the operation but not its stream, queue or consumer': broken(
      {
        lost: (subject, _a, retryable) => new ConnectionError(`${subject.operation}: the connection was lost`, { retryable }),
        locked: (subject) => new StrataError('TIMEOUT', `${subject.operation}: the database stayed locked`),
      },
      [...lost(named), ...locked(allLockedWrites.filter((id) => named.includes(id)))],
    ),
    'puts the payload in the message': broken(
      {
        lost: (subject, args, retryable) =>
          new ConnectionError(`${describeSubject(subject)}: the connection was lost while writing ${json(args)}`, { retryable }),
        locked: (subject, args) => new StrataError('TIMEOUT', `${describeSubject(subject)}: locked while writing ${json(args)}`),
      },
      [...lost(carrying), ...locked(carrying)],
    ),
    "puts the payload in the cause's message": broken(
      {
        lost: (subject, args, retryable) =>
          new ConnectionError(`${describeSubject(subject)}: the connection was lost`, { retryable, cause: new Error(`write of ${json(args)} failed`) }),
        locked: (subject, args) => new StrataError('TIMEOUT', `${describeSubject(subject)}: locked`, { cause: new Error(`write of ${json(args)} failed`) }),
      },
      [...lost(carrying), ...locked(carrying)],
    ),
    'writes under the lock before it times out': broken({ writesUnderLock: true }, ['faults.write-lock.failed-writes-leave-nothing']),
    'refuses reads while another connection holds the write lock': broken({ readsRefusedUnderLock: true }, ['faults.write-lock.reads-work']),
    'forgets queue.stats, which goes on answering after the connection is lost for good': broken(
      { forgotten: new Set(['queue.stats']) },
      lost(['queue-stats']),
    ),
    'forgets transaction(), which goes on committing after the connection is lost for good': broken(
      { forgotten: new Set(['transaction']) },
      lost(['transaction']),
    ),
    'takes seconds to close() after a lost connection': broken({ closeDelayMs: 1_500 }, ['faults.lost-connection.close-resolves']),
  },
  { faults: faultsOf('permanent'), intact: (s) => faulty(s), timeScale: 0.2 },
);

describeBrokenAdapters(
  'broken adapters: a transient loss of the connection',
  {
    'never recovers after a transient loss': broken({ failuresAfterTransientLoss: Number.POSITIVE_INFINITY }, ['faults.lost-connection.transient-recovers']),
    'says a transient loss is not retryable': broken(
      { lost: (subject) => new ConnectionError(`${describeSubject(subject)}: the connection was lost`, { retryable: false }) },
      [...lost(everyCall), 'faults.lost-connection.transient-recovers'],
    ),
    'applies a write before failing with a transient loss': broken({ writesBeforeTransientFailure: true }, ['faults.lost-connection.transient-recovers']),
  },
  { faults: faultsOf('transient'), intact: (s) => faulty(s), timeScale: 0.2 },
);
