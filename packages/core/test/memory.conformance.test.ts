import { runConformance } from '@strata/core/conformance';
import { createMemoryStore } from '../src/index.js';

// The reference run: every case against the memory adapter with every capability on.
runConformance({
  name: 'memory',
  factory: (settings) => createMemoryStore(settings),
});

// The same adapter with its optional features switched off: the NOT_SUPPORTED cases run here.
runConformance({
  name: 'memory without optional features',
  factory: (settings) => createMemoryStore({ ...settings, disable: ['transactions', 'snapshots', 'queue', 'checkpoints', 'wakeUps'] }),
});
