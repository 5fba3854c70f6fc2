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
});

// File-backed, in WAL mode: a fresh file per case.
const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-conformance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
runConformance({
  name: 'sqlite file',
  factory: (settings) => createSqliteStore(join(dir, `case-${++n}.db`), { ...settings, synchronous: 'normal' }),
  probes,
});
