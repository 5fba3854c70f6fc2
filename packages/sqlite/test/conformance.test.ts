import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConformanceFaults } from '@strata/core/conformance';
import { runConformance, runFaultConformance } from '@strata/core/conformance';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../src/index.js';

const probes = (store: unknown) => ({ counts: () => (store as SqliteStore).rowCounts() });

/** Closes the store's better-sqlite3 handle under it, as an application closing it by mistake would: no retry can help. */
const closeTheHandle: NonNullable<ConformanceFaults['loseConnection']> = {
  kind: 'permanent',
  cut: async (store) => {
    (store as SqliteStore).client.close();
  },
};

// In memory: a fresh database per case.
runConformance({
  name: 'sqlite :memory:',
  factory: (settings) => createSqliteStore(':memory:', settings),
  probes,
  // A private in-memory database has no second connection to hold its lock.
  faults: { loseConnection: closeTheHandle },
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: true, transfer: true },
});

// File-backed, in WAL mode: a fresh file per case. A sibling is a second store on the same file (its
// own connection, as another process would open it, finding the migrations applied), so the cases
// between two stores run too.
const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-conformance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const files = new WeakMap<object, string>();
runConformance({
  name: 'sqlite file',
  factory: async (settings) => {
    const file = join(dir, `case-${++n}.db`);
    const store = await createSqliteStore(file, { ...settings, synchronous: 'normal' });
    files.set(store, file);
    return store;
  },
  sibling: (store, settings) => {
    const file = files.get(store);
    if (file === undefined) throw new Error('not a store of this run');
    return createSqliteStore(file, { ...settings, synchronous: 'normal' });
  },
  probes,
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: true, transfer: true },
});

// The faults again on files, with a short busy timeout, so that a write waiting on the lock another
// connection holds (BEGIN IMMEDIATE) gives up fast. Only the faults: the other cases keep the default wait.
const holdWriteLock: ConformanceFaults['holdWriteLock'] = async (store) => {
  const file = files.get(store);
  if (file === undefined) throw new Error('not a store of this run');
  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE');
  return async () => {
    other.exec('ROLLBACK');
    other.close();
  };
};
runFaultConformance({
  name: 'sqlite file, busy timeout 150 ms',
  factory: async (settings) => {
    const file = join(dir, `faults-${++n}.db`);
    const store = await createSqliteStore(file, { ...settings, synchronous: 'normal', busyTimeoutMs: 150 });
    files.set(store, file);
    return store;
  },
  probes,
  faults: { loseConnection: closeTheHandle, holdWriteLock },
});
