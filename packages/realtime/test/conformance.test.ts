import { type ConformanceOptions, conformanceCases, runCase } from '@strata/core/conformance';
import { createPostgresStore, type PostgresStore } from '@strata/postgres';
import { afterAll, describe, it } from 'vitest';
import { createListener } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

// The conformance cases between two stores on the same data, and those of subscriptions, against a
// PostgreSQL store attached to a listener: it declares cross-process wake-ups, so a commit through the
// sibling (another pool, not attached: another process) must wake the first store — by its NOTIFY
// alone, as the listener neither polls nor runs its backstop here — and subscriptions over it, which
// then poll only every 5 s, must be woken by notifications; and the lifecycle area's wake-up cases (an
// attached store hears its own commits twice, in process and over NOTIFY: notices are hints, so that
// passes).

const fx = await fileDatabase();
const NEVER = 600_000;
const listener = await createListener({ connectionString: fx.url, backstopIntervalMs: NEVER, pollIntervalMs: NEVER });
afterAll(() => listener.close());

const options: ConformanceOptions = {
  name: 'postgres + realtime listener',
  factory: async (settings) => {
    const store = await createPostgresStore(fx.url, { ...settings, schema: fx.schemaName(), poolSize: 4 });
    const live = listener.attach(store);
    // Attached to a fresh schema, the listener LISTENs, registers (so that stores there notify) and then
    // wakes the store with a resync: the store is ready once that resync came.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the listener did not start listening on the new schema within 10 s')), 10_000);
      const stop = live.wakeUps.onChange((notice) => {
        if (notice.kind !== 'resync') return;
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
    return live;
  },
  teardown: async (store) => {
    await store.close();
    await fx.pool.query(`drop schema if exists "${(store as PostgresStore).schema}" cascade`);
  },
  probes: (store) => ({ counts: () => (store as PostgresStore).rowCounts() }),
  sibling: (store, settings) => createPostgresStore(fx.url, { ...settings, schema: (store as PostgresStore).schema, migrate: false, poolSize: 2 }),
};

// The capabilities pick the cases, as runConformance does.
const probe = await options.factory({ readPageSize: 10, snapshotsToKeep: 3, maxAttempts: 3, maxPayloadBytes: 65_536 });
const caps = probe.capabilities;
await options.teardown?.(probe);

const selected = conformanceCases.filter(
  (c) =>
    (c.id.includes('.sibling.') || c.area === 'subscriptions' || c.id.startsWith('lifecycle.wake-ups.')) &&
    (c.requires === undefined || c.requires(caps, { sibling: true, expectsCapabilities: false })),
);

describe(`${options.name} conformance (sibling, subscription and wake-up cases)`, () => {
  it('declares cross-process wake-ups, so the wake-up case between two stores runs', () => {
    if (!caps.crossProcessWakeUps) throw new Error('the attached store does not declare cross-process wake-ups');
    if (!selected.some((c) => c.id === 'lifecycle.sibling.cross-process-wake-ups')) throw new Error('the cross-process wake-up case was not selected');
  });
  for (const c of selected) it(c.id, () => runCase(c, options), (c.timeoutMs ?? 20_000) + 12_000);
});
