import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConformance } from '@strata/core/conformance';
import { afterAll } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../src/index.js';

const probes = (store: unknown) => ({ counts: () => (store as SqliteStore).rowCounts() });

// In memory: a fresh database per case.
runConformance({
  name: 'sqlite :memory:',
  factory: (settings) => createSqliteStore(':memory:', settings),
  probes,
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
