import { runConformance } from '@strata/core/conformance';
import { createMemoryStore } from '../src/index.js';

// The reference run: every case against the memory adapter with every capability on.
runConformance({
  name: 'memory',
  factory: (settings) => createMemoryStore(settings),
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
});

// The same adapter with its optional features switched off: the NOT_SUPPORTED cases run here.
runConformance({
  name: 'memory without optional features',
  factory: (settings) => createMemoryStore({ ...settings, disable: ['transactions', 'snapshots', 'queue', 'checkpoints', 'wakeUps', 'transfer'] }),
  capabilities: { transactions: false, snapshots: false, queue: false, checkpoints: false, wakeUps: false, crossProcessWakeUps: false, transfer: false },
});
