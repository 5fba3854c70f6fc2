import { assertWithin } from './clock.js';
import { assert, defineCases, fingerprint, rejects, sleep } from './helpers.js';

const on = { requires: (c: { snapshots: boolean }) => c.snapshots };

export const snapshotCases = defineCases('snapshots', {
  'save-load.round-trip': {
    ...on,
    async run({ store }) {
      const state = { balance: 10, owner: 'ann 🎉', items: [1, { a: null }] };
      await store.snapshots.save('s', { version: 3, state, schemaVersion: 2 });
      const snap = await store.snapshots.load('s');
      assert.ok(snap);
      assert.deepEqual(
        { streamId: snap.streamId, version: snap.version, state: snap.state, schemaVersion: snap.schemaVersion },
        { streamId: 's', version: 3, state, schemaVersion: 2 },
      );
      assert.ok(snap.createdAt instanceof Date && !Number.isNaN(snap.createdAt.getTime()));
    },
  },
  'load.missing-is-null': {
    ...on,
    async run({ store }) {
      assert.equal(await store.snapshots.load('nope'), null);
    },
  },
  'save.schema-version-defaults-to-1': {
    ...on,
    async run({ store }) {
      await store.snapshots.save('s', { version: 1, state: 'x' });
      assert.equal((await store.snapshots.load('s'))?.schemaVersion, 1);
    },
  },
  'load.newest': {
    ...on,
    async run({ store }) {
      for (const v of [5, 10, 15]) await store.snapshots.save('s', { version: v, state: { v } });
      assert.deepEqual((await store.snapshots.load('s'))?.state, { v: 15 });
    },
  },
  'load.max-version-at-or-below': {
    ...on,
    async run({ store }) {
      for (const v of [5, 10, 15]) await store.snapshots.save('s', { version: v, state: { v } });
      assert.equal((await store.snapshots.load('s', { maxVersion: 10 }))?.version, 10);
      assert.equal((await store.snapshots.load('s', { maxVersion: 14 }))?.version, 10);
      assert.equal((await store.snapshots.load('s', { maxVersion: 100 }))?.version, 15);
    },
  },
  'load.max-version-below-all-is-null': {
    ...on,
    async run({ store }) {
      await store.snapshots.save('s', { version: 5, state: {} });
      assert.equal(await store.snapshots.load('s', { maxVersion: 4 }), null);
    },
  },
  'save.same-version-replaces': {
    ...on,
    async run({ store }) {
      await store.snapshots.save('s', { version: 5, state: { a: 1 } });
      await store.snapshots.save('s', { version: 5, state: { a: 2 }, schemaVersion: 3 });
      const snap = await store.snapshots.load('s');
      assert.deepEqual([snap?.state, snap?.schemaVersion], [{ a: 2 }, 3]);
      assert.equal(await store.snapshots.load('s', { maxVersion: 4 }), null);
    },
  },
  'save.created-at-is-when-saved': {
    ...on,
    async run({ store, ms }) {
      const before = Date.now();
      await store.snapshots.save('s', { version: 5, state: { a: 1 } });
      const after = Date.now();
      const first = await store.snapshots.load('s');
      assertWithin(first?.createdAt, before, after, 'createdAt of a snapshot');
      await sleep(ms(30));
      const beforeNewer = Date.now();
      await store.snapshots.save('s', { version: 6, state: { a: 2 } });
      const afterNewer = Date.now();
      assertWithin((await store.snapshots.load('s'))?.createdAt, beforeNewer, afterNewer, 'createdAt of a newer snapshot');
      assert.equal(
        (await store.snapshots.load('s', { maxVersion: 5 }))?.createdAt.getTime(),
        first?.createdAt.getTime(),
        'a newer snapshot leaves the older one',
      );
      await sleep(ms(30));
      const beforeReplace = Date.now();
      await store.snapshots.save('s', { version: 5, state: { a: 3 } });
      const afterReplace = Date.now();
      const replaced = await store.snapshots.load('s', { maxVersion: 5 });
      assertWithin(replaced?.createdAt, beforeReplace, afterReplace, 'createdAt of a replaced snapshot');
      assert.ok((replaced?.createdAt.getTime() ?? 0) > (first?.createdAt.getTime() ?? 0), 'a snapshot saved again at its version has a new createdAt');
    },
  },
  'retention.keeps-newest-k': {
    ...on,
    async run({ store, settings, probes }) {
      const k = settings.snapshotsToKeep;
      for (let v = 1; v <= k + 3; v++) await store.snapshots.save('s', { version: v * 10, state: { v } });
      // The newest k remain: the k-th newest is loadable, the one below it is gone.
      const oldestKept = (3 + 1) * 10;
      assert.equal((await store.snapshots.load('s', { maxVersion: oldestKept }))?.version, oldestKept);
      assert.equal(await store.snapshots.load('s', { maxVersion: oldestKept - 1 }), null);
      if (probes) assert.equal((await probes.counts()).snapshots, k);
    },
  },
  'retention.by-version-not-save-order': {
    ...on,
    async run({ store, settings }) {
      const k = settings.snapshotsToKeep;
      for (let v = k + 3; v >= 1; v--) await store.snapshots.save('s', { version: v, state: { v } });
      assert.equal((await store.snapshots.load('s'))?.version, k + 3);
      assert.equal(await store.snapshots.load('s', { maxVersion: 3 }), null);
      assert.equal((await store.snapshots.load('s', { maxVersion: 4 }))?.version, 4);
    },
  },
  'retention.per-stream': {
    ...on,
    async run({ store, settings }) {
      for (let v = 1; v <= settings.snapshotsToKeep + 2; v++) await store.snapshots.save('a', { version: v, state: v });
      await store.snapshots.save('b', { version: 1, state: 'b1' });
      assert.deepEqual((await store.snapshots.load('b'))?.state, 'b1');
    },
  },
  'delete.removes-all-of-stream': {
    ...on,
    async run({ store }) {
      await store.snapshots.save('a', { version: 1, state: 1 });
      await store.snapshots.save('a', { version: 2, state: 2 });
      await store.snapshots.save('b', { version: 1, state: 1 });
      await store.snapshots.delete('a');
      assert.equal(await store.snapshots.load('a'), null);
      assert.equal((await store.snapshots.load('b'))?.version, 1);
    },
  },
  'delete.missing-is-fine': {
    ...on,
    async run({ store }) {
      await store.snapshots.delete('nope');
      assert.equal(await store.snapshots.load('nope'), null);
    },
  },
  'load.returns-copies': {
    ...on,
    async run({ store }) {
      const state = { list: [1] };
      await store.snapshots.save('s', { version: 1, state });
      state.list.push(2);
      const snap = await store.snapshots.load('s');
      assert.deepEqual(snap?.state, { list: [1] });
      assert.ok(snap !== null);
      (snap.state as { list: number[] }).list.push(3);
      assert.deepEqual((await store.snapshots.load('s'))?.state, { list: [1] });
    },
  },
  'independent-of-events': {
    ...on,
    async run({ store }) {
      await store.snapshots.save('s', { version: 7, state: {} });
      assert.equal(await store.events.streamInfo('s'), null);
      assert.equal(await store.events.headPosition(), 0n);
    },
  },
  'not-supported': {
    requires: (c) => !c.snapshots,
    async run(ctx) {
      const before = await fingerprint(ctx);
      await rejects(ctx.store.snapshots.save('s', { version: 1, state: {} }), 'NOT_SUPPORTED');
      await rejects(ctx.store.snapshots.load('s'), 'NOT_SUPPORTED');
      await rejects(ctx.store.snapshots.delete('s'), 'NOT_SUPPORTED');
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
});
