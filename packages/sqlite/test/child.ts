// Worker processes for multiprocess.test.ts: each mode works on one SQLite file shared with siblings.
import { isStrataError, subscribe } from '@strata/core';
import { createSqliteStore } from '@strata/sqlite';

const [mode, file, ...args] = process.argv.slice(2);
const store = await createSqliteStore(file ?? '', { synchronous: 'normal', changePollIntervalMs: 20 });
const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);

if (mode === 'append-expected') {
  // Appends `count` events one at a time, each expecting the version it just read.
  const count = Number(args[0]);
  const me = Number(args[1]);
  const startAt = Number(args[2] ?? 0);
  // Start together with the siblings, so that the appends really contend.
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
  let appended = 0;
  let conflicts = 0;
  while (appended < count) {
    const version = (await store.events.streamInfo('shared'))?.version ?? 0;
    try {
      await store.events.append('shared', [{ type: 'Appended', data: { by: me, n: appended } }], { expectedVersion: version });
      appended++;
    } catch (error) {
      if (!isStrataError(error, 'CONCURRENCY')) throw error;
      conflicts++;
    }
  }
  out({ appended, conflicts });
} else if (mode === 'receive') {
  const startAt = Number(args[0] ?? 0);
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
  const got: unknown[] = [];
  for (let idle = 0; idle < 20; ) {
    const batch = await store.queue.receive('work', { max: 10, visibilityTimeoutMs: 600_000 });
    if (batch.length === 0) {
      idle++;
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    idle = 0;
    for (const d of batch) {
      got.push(d.body);
      await store.queue.ack(d.receipt);
    }
  }
  out(got);
} else if (mode === 'subscribe') {
  // Prints every event's position as it arrives, until `count` have come.
  const count = Number(args[0]);
  let seen = 0;
  await new Promise<void>((resolve) => {
    const sub = subscribe(store, {
      pollIntervalMs: 60_000, // only cross-process change detection may wake it
      handler: (e) => {
        out({ position: e.position, streamId: e.streamId, version: e.version });
        if (++seen === count) void sub.stop().then(resolve);
      },
    });
    out('ready');
  });
} else if (mode === 'append-many') {
  const count = Number(args[0]);
  for (let i = 0; i < count; i++) {
    const r = await store.events.append(`s-${i % 3}`, [{ type: 'Appended', data: { i } }]);
    out({ position: r.firstPosition });
    if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
} else if (mode === 'big-batch') {
  const count = Number(args[0]);
  const events = Array.from({ length: count }, (_, i) => ({ type: 'Big', data: { i, pad: 'x'.repeat(64) } }));
  out('begin');
  await store.events.append('big', events);
  out('done');
}
await store.close();
