import type { ConcurrencyError, EventIdConflictError } from '../errors.js';
import type { StoredEvent } from '../events/types.js';
import { assertWithin } from './clock.js';
import { assert, collect, collectGarbage, defineCases, evt, evts, fingerprint, rejects, seed, sleep, uuid } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const RICH_DATA = {
  text: 'héllo wörld — 日本語 🎉 "quoted" \\ back\nslash',
  int: 42,
  negative: -7,
  float: Math.PI,
  tiny: 5e-324,
  big: 1.7976931348623157e308,
  maxSafe: Number.MAX_SAFE_INTEGER,
  zero: 0,
  yes: true,
  no: false,
  nothing: null,
  empty: '',
  list: [1, 'two', [3, [4]], { five: 5 }, null],
  nested: { a: { b: { c: { d: ['deep'] } } } },
  'key with spaces': 1,
  'ключ': 'значение',
  '': 'empty key',
  emptyObject: {},
  emptyArray: [],
};

/** Positions yielded by `readAll`, to compare order. */
const positions = (events: StoredEvent[]) => events.map((e) => e.position);

export const eventCases = defineCases('events', {
  'append.new-stream-starts-at-version-1': {
    async run({ store }) {
      const r = await store.events.append('s', [evt()]);
      assert.equal(r.version, 1);
      const [e] = await collect(store.events.readStream('s'));
      assert.equal(e?.version, 1);
    },
  },
  'append.returns-version-and-positions': {
    async run({ store }) {
      const r = await store.events.append('s', evts(3));
      assert.equal(r.version, 3);
      assert.equal(typeof r.firstPosition, 'bigint');
      assert.equal(typeof r.lastPosition, 'bigint');
      const read = await collect(store.events.readStream('s'));
      assert.equal(read[0]?.position, r.firstPosition);
      assert.equal(read[2]?.position, r.lastPosition);
    },
  },
  'append.consecutive-versions': {
    async run({ store }) {
      await store.events.append('s', evts(2));
      await store.events.append('s', evts(3));
      const read = await collect(store.events.readStream('s'));
      assert.deepEqual(
        read.map((e) => e.version),
        [1, 2, 3, 4, 5],
      );
    },
  },
  'append.positions-increase-across-streams': {
    async run({ store }) {
      const a = await store.events.append('a', evts(2));
      const b = await store.events.append('b', evts(2));
      const c = await store.events.append('a', evts(1));
      assert.ok(a.firstPosition > 0n, 'positions start above 0');
      assert.ok(a.firstPosition < a.lastPosition && a.lastPosition < b.firstPosition);
      assert.ok(b.lastPosition < c.firstPosition);
    },
  },
  'append.generates-uuid-ids': {
    async run({ store }) {
      await store.events.append('s', evts(2));
      const read = await collect(store.events.readStream('s'));
      for (const e of read) assert.match(e.id, UUID);
      assert.notEqual(read[0]?.id, read[1]?.id);
    },
  },
  'append.keeps-given-ids-lowercase': {
    async run({ store }) {
      const id = uuid().toUpperCase();
      await store.events.append('s', [evt('Tested', {}, { id })]);
      const [e] = await collect(store.events.readStream('s'));
      assert.equal(e?.id, id.toLowerCase());
    },
  },
  'append.schema-version-defaults-to-1': {
    async run({ store }) {
      await store.events.append('s', [evt(), evt('Tested', {}, { schemaVersion: 4 })]);
      const read = await collect(store.events.readStream('s'));
      assert.deepEqual(
        read.map((e) => e.schemaVersion),
        [1, 4],
      );
    },
  },
  'append.metadata-defaults-to-empty-object': {
    async run({ store }) {
      await store.events.append('s', [evt()]);
      const [e] = await collect(store.events.readStream('s'));
      assert.deepEqual(e?.metadata, {});
    },
  },
  'append.round-trips-data-exactly': {
    async run({ store }) {
      await store.events.append('s', [evt('Rich', RICH_DATA), evt('Str', 'just a string'), evt('Num', 12.5), evt('Null', null), evt('Arr', [1, 2])]);
      const read = await collect(store.events.readStream('s'));
      assert.deepEqual(
        read.map((e) => e.data),
        [RICH_DATA, 'just a string', 12.5, null, [1, 2]],
      );
    },
  },
  'append.round-trips-metadata': {
    async run({ store }) {
      const metadata = { correlationId: 'corr-1', causationId: 'cause-1', userId: 'user-1', tenant: { id: 7 }, tags: ['a'] };
      await store.events.append('s', [evt('Tested', {}, { metadata })]);
      const [e] = await collect(store.events.readStream('s'));
      assert.deepEqual(e?.metadata, metadata);
    },
  },
  'append.round-trips-type-and-fields': {
    async run({ store }) {
      const id = uuid();
      const r = await store.events.append('stream-x', [{ id, type: 'Order.Placed/v2 ✓', data: { a: 1 }, schemaVersion: 2 }]);
      const [e] = await collect(store.events.readStream('stream-x'));
      assert.ok(e);
      assert.deepEqual(
        { id: e.id, streamId: e.streamId, version: e.version, position: e.position, type: e.type, schemaVersion: e.schemaVersion },
        { id, streamId: 'stream-x', version: 1, position: r.firstPosition, type: 'Order.Placed/v2 ✓', schemaVersion: 2 },
      );
      assert.ok(e.recordedAt instanceof Date && !Number.isNaN(e.recordedAt.getTime()));
    },
  },
  'append.recorded-at-is-now': {
    async run({ store }) {
      const before = Date.now();
      await store.events.append('s', [evt()]);
      const after = Date.now();
      const [e] = await collect(store.events.readStream('s'));
      const t = e?.recordedAt.getTime() ?? 0;
      // Database clocks may differ from ours a little; a minute is generous.
      assert.ok(t >= before - 60_000 && t <= after + 60_000, `recordedAt ${e?.recordedAt.toISOString()} is not now`);
    },
  },
  'append.recorded-at-within-call': {
    // Tighter than recorded-at-is-now: every timestamp of an append lies within the call's window (± CLOCK_SKEW_MS).
    async run({ store, ms }) {
      const before = Date.now();
      await store.events.append('s', evts(2));
      const after = Date.now();
      await sleep(ms(30));
      const beforeNext = Date.now();
      await store.events.append('s', evts(1));
      const afterNext = Date.now();
      const read = await collect(store.events.readStream('s'));
      assertWithin(read[0]?.recordedAt, before, after, 'recordedAt of the first event');
      assertWithin(read[1]?.recordedAt, before, after, 'recordedAt of the second event');
      assertWithin(read[2]?.recordedAt, beforeNext, afterNext, 'recordedAt of an event of a later append');
      assert.deepEqual(
        (await collect(store.events.readAll())).map((e) => e.recordedAt.getTime()),
        read.map((e) => e.recordedAt.getTime()),
        'readAll and readStream agree on recordedAt',
      );
      const info = await store.events.streamInfo('s');
      assertWithin(info?.createdAt, before, after, 'createdAt of the stream');
      assertWithin(info?.updatedAt, beforeNext, afterNext, 'updatedAt of the stream');
    },
  },
  'append.expected-version.any-on-new-stream': {
    async run({ store }) {
      assert.equal((await store.events.append('s', [evt()], { expectedVersion: 'any' })).version, 1);
    },
  },
  'append.expected-version.any-on-existing-stream': {
    async run({ store }) {
      await store.events.append('s', evts(2));
      assert.equal((await store.events.append('s', [evt()], { expectedVersion: 'any' })).version, 3);
    },
  },
  'append.expected-version.no-stream-on-new-stream': {
    async run({ store }) {
      assert.equal((await store.events.append('s', [evt()], { expectedVersion: 'no_stream' })).version, 1);
    },
  },
  'append.expected-version.no-stream-conflict': {
    async run({ store }) {
      await store.events.append('s', evts(2));
      const e = (await rejects(store.events.append('s', [evt()], { expectedVersion: 'no_stream' }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.actualVersion, 2);
    },
  },
  'append.expected-version.stream-exists-on-existing': {
    async run({ store }) {
      await store.events.append('s', [evt()]);
      assert.equal((await store.events.append('s', [evt()], { expectedVersion: 'stream_exists' })).version, 2);
    },
  },
  'append.expected-version.stream-exists-conflict': {
    async run({ store }) {
      const e = (await rejects(store.events.append('s', [evt()], { expectedVersion: 'stream_exists' }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.actualVersion, 0);
      assert.equal(await store.events.streamInfo('s'), null);
    },
  },
  'append.expected-version.exact-match': {
    async run({ store }) {
      await store.events.append('s', evts(3));
      assert.equal((await store.events.append('s', evts(2), { expectedVersion: 3 })).version, 5);
    },
  },
  'append.expected-version.exact-too-low': {
    async run({ store }) {
      await store.events.append('s', evts(3));
      const e = (await rejects(store.events.append('s', [evt()], { expectedVersion: 2 }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.actualVersion, 3);
      assert.equal(e.expectedVersion, 2);
    },
  },
  'append.expected-version.exact-too-high': {
    async run({ store }) {
      await store.events.append('s', evts(3));
      const e = (await rejects(store.events.append('s', [evt()], { expectedVersion: 4 }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.actualVersion, 3);
    },
  },
  'append.expected-version.exact-on-missing-stream': {
    async run({ store }) {
      const e = (await rejects(store.events.append('s', [evt()], { expectedVersion: 1 }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.actualVersion, 0);
    },
  },
  'append.expected-version.zero-means-no-stream': {
    async run({ store }) {
      assert.equal((await store.events.append('s', [evt()], { expectedVersion: 0 })).version, 1);
      await rejects(store.events.append('s', [evt()], { expectedVersion: 0 }), 'CONCURRENCY');
    },
  },
  'append.expected-version.conflict-writes-nothing': {
    async run(ctx) {
      await ctx.store.events.append('s', evts(2));
      const before = await fingerprint(ctx);
      await rejects(ctx.store.events.append('s', evts(3), { expectedVersion: 1 }), 'CONCURRENCY');
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
  'append.expected-version.error-carries-details': {
    async run({ store }) {
      await store.events.append('order-9', evts(1));
      const e = (await rejects(store.events.append('order-9', [evt()], { expectedVersion: 5 }), 'CONCURRENCY')) as ConcurrencyError;
      assert.equal(e.streamId, 'order-9');
      assert.equal(e.expectedVersion, 5);
      assert.equal(e.actualVersion, 1);
      assert.equal(e.retryable, true);
      assert.ok(e.message.includes('order-9'), 'the message names the stream');
    },
  },
  'append.concurrent.same-expected-version-one-wins': {
    async run({ store }) {
      await store.events.append('s', [evt()]);
      const tries = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.events.append('s', [evt('Try', { i })], { expectedVersion: 1 })));
      const won = tries.filter((t) => t.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one append wins');
      for (const t of tries) {
        if (t.status === 'rejected') {
          const e = t.reason as ConcurrencyError;
          assert.equal(e.code, 'CONCURRENCY');
          assert.equal(e.actualVersion, 2);
        }
      }
      assert.equal((await store.events.streamInfo('s'))?.version, 2);
      assert.equal((await collect(store.events.readStream('s'))).length, 2);
    },
  },
  'append.concurrent.no-stream-one-wins': {
    async run({ store }) {
      const tries = await Promise.allSettled(Array.from({ length: 12 }, () => store.events.append('s', evts(2), { expectedVersion: 'no_stream' })));
      assert.equal(tries.filter((t) => t.status === 'fulfilled').length, 1);
      assert.equal((await collect(store.events.readStream('s'))).length, 2);
    },
  },
  'append.concurrent.any-no-duplicate-versions': {
    async run({ store }) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.events.append('s', evts(2, 'T', i * 2))));
      const read = await collect(store.events.readStream('s'));
      assert.deepEqual(
        read.map((e) => e.version),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      const all = await collect(store.events.readAll());
      assert.equal(new Set(all.map((e) => e.position)).size, 40);
    },
  },
  'append.concurrent.distinct-streams-all-succeed': {
    async run({ store }) {
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => store.events.append(`s-${i}`, evts(3), { expectedVersion: 'no_stream' })));
      for (const r of results) assert.equal(r.version, 3);
      assert.equal((await collect(store.events.readAll())).length, 48);
    },
  },
  'append.idempotent.retry-returns-original-result': {
    async run({ store }) {
      const batch = [evt('A', { a: 1 }, { id: uuid() }), evt('B', { b: 2 }, { id: uuid(), metadata: { correlationId: 'c' } })];
      await store.events.append('s', [evt()]);
      const first = await store.events.append('s', batch, { expectedVersion: 1 });
      const again = await store.events.append('s', batch, { expectedVersion: 1 });
      assert.deepEqual(again, first);
    },
  },
  'append.idempotent.retry-writes-nothing': {
    async run(ctx) {
      const batch = [evt('A', { a: 1 }, { id: uuid() }), evt('B', { b: 2 }, { id: uuid() })];
      await ctx.store.events.append('s', batch);
      const before = await fingerprint(ctx);
      await ctx.store.events.append('s', batch);
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
  'append.idempotent.retry-after-later-appends': {
    async run({ store }) {
      const batch = [evt('A', { a: 1 }, { id: uuid() })];
      const first = await store.events.append('s', batch, { expectedVersion: 'no_stream' });
      await store.events.append('s', evts(3));
      const again = await store.events.append('s', batch, { expectedVersion: 'no_stream' });
      assert.deepEqual(again, first);
      assert.equal((await store.events.streamInfo('s'))?.version, 4);
    },
  },
  'append.idempotent.key-order-does-not-matter': {
    async run({ store }) {
      const id = uuid();
      const first = await store.events.append('s', [evt('A', { x: 1, y: { p: 1, q: 2 } }, { id })]);
      const again = await store.events.append('s', [evt('A', { y: { q: 2, p: 1 }, x: 1 }, { id })]);
      assert.deepEqual(again, first);
    },
  },
  'append.idempotent.same-id-other-content-rejected': {
    async run(ctx) {
      const id = uuid();
      await ctx.store.events.append('s', [evt('A', { a: 1 }, { id })]);
      const before = await fingerprint(ctx);
      await rejects(ctx.store.events.append('s', [evt('A', { a: 2 }, { id })]), 'EVENT_ID_CONFLICT');
      await rejects(ctx.store.events.append('s', [evt('Other', { a: 1 }, { id })]), 'EVENT_ID_CONFLICT');
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
  'append.idempotent.same-id-other-stream-rejected': {
    async run({ store }) {
      const id = uuid();
      await store.events.append('a', [evt('A', {}, { id })]);
      await rejects(store.events.append('b', [evt('A', {}, { id })]), 'EVENT_ID_CONFLICT');
      assert.equal(await store.events.streamInfo('b'), null);
    },
  },
  'append.idempotent.conflict-names-the-id-when-some-events-have-none': {
    // Found by mutation testing: a batch where only some events carry ids is still checked against the
    // stored ids, and the conflict names the stored id (not only a constraint failure of the batch).
    async run({ store }) {
      const known = evt('A', { a: 1 }, { id: uuid() });
      await store.events.append('a', [known]);
      const elsewhere = await rejects(store.events.append('b', [known, evt('B')]), 'EVENT_ID_CONFLICT');
      assert.equal((elsewhere as EventIdConflictError).eventId, known.id);
      const changed = await rejects(store.events.append('a', [{ ...known, data: { a: 2 } }, evt('B')]), 'EVENT_ID_CONFLICT');
      assert.equal((changed as EventIdConflictError).eventId, known.id);
      assert.equal(await store.events.streamInfo('b'), null);
      assert.equal((await store.events.streamInfo('a'))?.version, 1);
    },
  },
  'append.idempotent.partial-overlap-rejected': {
    async run({ store }) {
      const known = evt('A', {}, { id: uuid() });
      await store.events.append('s', [known]);
      await rejects(store.events.append('s', [known, evt('B', {}, { id: uuid() })]), 'EVENT_ID_CONFLICT');
      await rejects(store.events.append('s', [evt('B', {}, { id: uuid() }), known]), 'EVENT_ID_CONFLICT');
      assert.equal((await store.events.streamInfo('s'))?.version, 1);
    },
  },
  'append.idempotent.reordered-batch-rejected': {
    async run({ store }) {
      const a = evt('A', {}, { id: uuid() });
      const b = evt('B', {}, { id: uuid() });
      await store.events.append('s', [a, b]);
      await rejects(store.events.append('s', [b, a]), 'EVENT_ID_CONFLICT');
    },
  },
  'append.atomic.bad-event-writes-none': {
    async run(ctx) {
      const before = await fingerprint(ctx);
      await rejects(ctx.store.events.append('s', [evt('A', { ok: true }), evt('B', { bad: Number.NaN })]), 'VALIDATION');
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
  'append.stream-id-round-trips-exactly': {
    async run({ store }) {
      const ids = [
        `'); drop table events; --`,
        `"quoted" and 'single'`,
        'emoji 🎉🚀 and 日本語',
        'x'.repeat(255),
        `${'é'.repeat(200)}🎉`,
        ' leading space',
        'back\\slash%_',
      ];
      for (const id of ids) await store.events.append(id, [evt('A', { id })]);
      for (const id of ids) {
        const read = await collect(store.events.readStream(id));
        assert.equal(read.length, 1, `stream ${JSON.stringify(id.slice(0, 20))} reads back`);
        assert.equal(read[0]?.streamId, id);
        assert.equal((await store.events.streamInfo(id))?.streamId, id);
      }
      const all = await collect(store.events.readAll());
      assert.deepEqual(
        all.map((e) => e.streamId),
        ids,
      );
    },
  },
  'append.large-batch': {
    async run({ store }) {
      const r = await store.events.append('s', evts(2000));
      assert.equal(r.version, 2000);
      const read = await collect(store.events.readStream('s'));
      assert.equal(read.length, 2000);
      assert.deepEqual(
        read.map((e) => (e.data as { n: number }).n),
        Array.from({ length: 2000 }, (_, i) => i),
      );
    },
  },

  'read-stream.missing-stream-is-empty': {
    async run({ store }) {
      assert.deepEqual(await collect(store.events.readStream('nope')), []);
      assert.deepEqual(await collect(store.events.readStream('nope', { direction: 'backward' })), []);
    },
  },
  'read-stream.only-that-stream': {
    async run({ store }) {
      await store.events.append('a', evts(2));
      await store.events.append('a-1', evts(3));
      await store.events.append('A', evts(4));
      assert.equal((await collect(store.events.readStream('a'))).length, 2);
      assert.equal((await collect(store.events.readStream('a-1'))).length, 3);
      assert.equal((await collect(store.events.readStream('A'))).length, 4);
    },
  },
  'read-stream.forward-order': {
    async run({ store }) {
      await store.events.append('s', evts(5));
      assert.deepEqual(
        (await collect(store.events.readStream('s'))).map((e) => e.version),
        [1, 2, 3, 4, 5],
      );
    },
  },
  'read-stream.backward-order': {
    async run({ store }) {
      await store.events.append('s', evts(5));
      const read = await collect(store.events.readStream('s', { direction: 'backward' }));
      assert.deepEqual(
        read.map((e) => e.version),
        [5, 4, 3, 2, 1],
      );
    },
  },
  'read-stream.from-version': {
    async run({ store }) {
      await store.events.append('s', evts(5));
      assert.deepEqual(
        (await collect(store.events.readStream('s', { fromVersion: 3 }))).map((e) => e.version),
        [3, 4, 5],
      );
    },
  },
  'read-stream.to-version': {
    async run({ store }) {
      await store.events.append('s', evts(5));
      assert.deepEqual(
        (await collect(store.events.readStream('s', { toVersion: 2 }))).map((e) => e.version),
        [1, 2],
      );
    },
  },
  'read-stream.range': {
    async run({ store }) {
      await store.events.append('s', evts(9));
      const fwd = await collect(store.events.readStream('s', { fromVersion: 3, toVersion: 6 }));
      assert.deepEqual(
        fwd.map((e) => e.version),
        [3, 4, 5, 6],
      );
      const back = await collect(store.events.readStream('s', { fromVersion: 3, toVersion: 6, direction: 'backward' }));
      assert.deepEqual(
        back.map((e) => e.version),
        [6, 5, 4, 3],
      );
    },
  },
  'read-stream.limit': {
    async run({ store }) {
      await store.events.append('s', evts(9));
      assert.deepEqual(
        (await collect(store.events.readStream('s', { limit: 4 }))).map((e) => e.version),
        [1, 2, 3, 4],
      );
      assert.deepEqual(
        (await collect(store.events.readStream('s', { fromVersion: 8, limit: 4 }))).map((e) => e.version),
        [8, 9],
      );
    },
  },
  'read-stream.backward-limit-reads-latest': {
    async run({ store }) {
      await store.events.append('s', evts(30));
      const [last] = await collect(store.events.readStream('s', { direction: 'backward', limit: 1 }));
      assert.equal(last?.version, 30);
      const some = await collect(store.events.readStream('s', { direction: 'backward', limit: 3, toVersion: 20 }));
      assert.deepEqual(
        some.map((e) => e.version),
        [20, 19, 18],
      );
    },
  },
  'read-stream.empty-ranges': {
    async run({ store }) {
      await store.events.append('s', evts(5));
      assert.deepEqual(await collect(store.events.readStream('s', { fromVersion: 6 })), []);
      assert.deepEqual(await collect(store.events.readStream('s', { fromVersion: 4, toVersion: 3 })), []);
      assert.deepEqual(await collect(store.events.readStream('s', { toVersion: 0 })), []);
    },
  },
  'read-stream.as-of': {
    async run({ store }) {
      await store.events.append('s', evts(2));
      const [, second] = await collect(store.events.readStream('s'));
      assert.ok(second);
      // Wait until the store's clock has moved past the first batch, then append more.
      let later: StoredEvent | undefined;
      for (let i = 0; i < 50 && (later === undefined || later.recordedAt.getTime() <= second.recordedAt.getTime()); i++) {
        await sleep(5);
        await store.events.append('s', [evt('Later')]);
        [later] = await collect(store.events.readStream('s', { direction: 'backward', limit: 1 }));
      }
      assert.ok(later && later.recordedAt > second.recordedAt, 'the store clock advanced');
      const asOf = await collect(store.events.readStream('s', { asOf: second.recordedAt }));
      assert.deepEqual(
        asOf.map((e) => e.version),
        [1, 2],
      );
      const backward = await collect(store.events.readStream('s', { asOf: second.recordedAt, direction: 'backward' }));
      assert.deepEqual(
        backward.map((e) => e.version),
        [2, 1],
      );
      const all = await collect(store.events.readStream('s', { asOf: new Date(Date.now() + 3_600_000) }));
      assert.equal(all.length, later.version);
    },
  },
  'read-stream.as-of-before-first-is-empty': {
    async run({ store }) {
      await store.events.append('s', evts(2));
      const [first] = await collect(store.events.readStream('s'));
      assert.deepEqual(await collect(store.events.readStream('s', { asOf: new Date((first?.recordedAt.getTime() ?? 0) - 60_000) })), []);
    },
  },
  'read-stream.paging-boundaries': {
    async run({ store, settings }) {
      const p = settings.readPageSize;
      for (const n of [p - 1, p, p + 1, 2 * p, 2 * p + 1]) {
        await store.events.append(`s-${n}`, evts(n));
        const fwd = await collect(store.events.readStream(`s-${n}`));
        assert.deepEqual(
          fwd.map((e) => e.version),
          Array.from({ length: n }, (_, i) => i + 1),
          `forward over ${n}`,
        );
        const back = await collect(store.events.readStream(`s-${n}`, { direction: 'backward' }));
        assert.deepEqual(
          back.map((e) => e.version),
          Array.from({ length: n }, (_, i) => n - i),
          `backward over ${n}`,
        );
        const lim = await collect(store.events.readStream(`s-${n}`, { limit: p + 1 }));
        assert.equal(lim.length, Math.min(n, p + 1));
      }
    },
  },
  'read-stream.bounds-across-pages-both-directions': {
    async run({ store, settings }) {
      const p = settings.readPageSize;
      const n = 3 * p + 2;
      await store.events.append('s', evts(n));
      await store.events.append('t', evts(p));
      const range = (from: number, to: number) => Array.from({ length: Math.max(0, Math.min(to, n) - from + 1) }, (_, i) => from + i);
      for (const [fromVersion, toVersion] of [
        [2, 3 * p + 1],
        [p, p + 1],
        [p + 1, 2 * p],
        [1, n + 5],
      ] as const) {
        for (const limit of [undefined, 1, p, p + 1, 2 * p + 3]) {
          const bounds = limit === undefined ? { fromVersion, toVersion } : { fromVersion, toVersion, limit };
          const want = range(fromVersion, toVersion);
          const what = `versions ${fromVersion}..${toVersion} limit ${limit}`;
          const fwd = await collect(store.events.readStream('s', bounds));
          assert.deepEqual(
            fwd.map((e) => e.version),
            want.slice(0, limit),
            `forward, ${what}`,
          );
          const back = await collect(store.events.readStream('s', { ...bounds, direction: 'backward' }));
          assert.deepEqual(
            back.map((e) => e.version),
            want.reverse().slice(0, limit),
            `backward, ${what}`,
          );
          assert.ok(
            [...fwd, ...back].every((e) => e.streamId === 's'),
            `only the stream's events, ${what}`,
          );
        }
      }
    },
  },
  'read-stream.large-stream-bounded-memory': {
    timeoutMs: 60_000,
    async run({ store, settings }) {
      const total = Math.max(3000, settings.readPageSize * 30);
      await seed(store, 's', total);
      const refs: WeakRef<object>[] = [];
      let seen = 0;
      let alive = -1;
      for await (const e of store.events.readStream('s')) {
        seen++;
        refs.push(new WeakRef(e), new WeakRef(e.data as object));
        if (seen === Math.floor(total * 0.8)) {
          await sleep(0);
          collectGarbage();
          alive = refs.filter((r) => r.deref() !== undefined).length;
        }
      }
      assert.equal(seen, total);
      // A reader that pages holds a page or two; one that loaded the whole stream holds them all.
      assert.ok(alive >= 0 && alive < total * 0.8, `after reading ${Math.floor(total * 0.8)} of ${total} events, ${alive / 2} are still held in memory`);
    },
  },
  'read-stream.early-break': {
    async run({ store }) {
      await seed(store, 's', 100);
      for await (const e of store.events.readStream('s')) {
        assert.equal(e.version, 1);
        break;
      }
      assert.equal((await store.events.append('s', [evt()])).version, 101);
      assert.equal((await collect(store.events.readStream('s', { fromVersion: 100 }))).length, 2);
    },
  },
  'read-stream.returns-copies': {
    async run({ store }) {
      await store.events.append('s', [evt('A', { list: [1], nested: { x: 1 } }, { metadata: { k: 'v' } })]);
      const [e] = await collect(store.events.readStream('s'));
      assert.ok(e);
      (e.data as { list: number[] }).list.push(2);
      (e.data as { nested: { x: number } }).nested.x = 99;
      e.metadata.k = 'changed';
      const [again] = await collect(store.events.readStream('s'));
      assert.deepEqual(again?.data, { list: [1], nested: { x: 1 } });
      assert.deepEqual(again?.metadata, { k: 'v' });
    },
  },
  'append.input-not-retained': {
    async run({ store }) {
      const data = { list: [1] };
      await store.events.append('s', [evt('A', data)]);
      data.list.push(2);
      const [e] = await collect(store.events.readStream('s'));
      assert.deepEqual(e?.data, { list: [1] });
    },
  },

  'read-all.empty-store': {
    async run({ store }) {
      assert.deepEqual(await collect(store.events.readAll()), []);
      assert.equal(await store.events.headPosition(), 0n);
    },
  },
  'read-all.global-order': {
    async run({ store }) {
      await store.events.append('a', evts(2));
      await store.events.append('b', evts(2));
      await store.events.append('a', evts(1));
      const all = await collect(store.events.readAll());
      assert.deepEqual(
        all.map((e) => `${e.streamId}#${e.version}`),
        ['a#1', 'a#2', 'b#1', 'b#2', 'a#3'],
      );
      const p = positions(all);
      for (let i = 1; i < p.length; i++) assert.ok((p[i] as bigint) > (p[i - 1] as bigint));
    },
  },
  'read-all.after-is-exclusive': {
    async run({ store }) {
      await store.events.append('a', evts(5));
      const all = await collect(store.events.readAll());
      const after = await collect(store.events.readAll({ after: all[1]?.position ?? 0n }));
      assert.deepEqual(positions(after), positions(all.slice(2)));
      assert.deepEqual(await collect(store.events.readAll({ after: all[4]?.position ?? 0n })), []);
      assert.deepEqual(positions(await collect(store.events.readAll({ after: 0n }))), positions(all));
    },
  },
  'read-all.limit': {
    async run({ store, settings }) {
      await seed(store, 'a', settings.readPageSize * 3);
      assert.equal((await collect(store.events.readAll({ limit: 7 }))).length, 7);
      assert.equal((await collect(store.events.readAll({ limit: settings.readPageSize + 3 }))).length, settings.readPageSize + 3);
    },
  },
  'read-all.filter-types': {
    async run({ store }) {
      await store.events.append('a', [evt('X'), evt('Y'), evt('Z'), evt('X')]);
      const read = await collect(store.events.readAll({ types: ['X', 'Z'] }));
      assert.deepEqual(
        read.map((e) => e.type),
        ['X', 'Z', 'X'],
      );
    },
  },
  'read-all.filter-stream-id': {
    async run({ store }) {
      await store.events.append('a', evts(2));
      await store.events.append('ab', evts(2));
      await store.events.append('a', evts(1));
      const read = await collect(store.events.readAll({ streamId: 'a' }));
      assert.deepEqual(
        read.map((e) => e.version),
        [1, 2, 3],
      );
    },
  },
  'read-all.filter-stream-prefix': {
    async run({ store }) {
      await store.events.append('order-1', evts(1));
      await store.events.append('customer-1', evts(1));
      await store.events.append('order-2', evts(1));
      await store.events.append('Order-3', evts(1));
      const read = await collect(store.events.readAll({ streamPrefix: 'order-' }));
      assert.deepEqual(
        read.map((e) => e.streamId),
        ['order-1', 'order-2'],
      );
    },
  },
  'read-all.stream-prefix-is-literal': {
    async run({ store }) {
      for (const id of ['a%b-1', 'aXb-2', 'a_c-1', 'abc-2', 'a\\d', 'a\\\\d', "o'k-1"]) await store.events.append(id, evts(1));
      assert.deepEqual(
        (await collect(store.events.readAll({ streamPrefix: 'a%' }))).map((e) => e.streamId),
        ['a%b-1'],
      );
      assert.deepEqual(
        (await collect(store.events.readAll({ streamPrefix: 'a_' }))).map((e) => e.streamId),
        ['a_c-1'],
      );
      assert.deepEqual(
        (await collect(store.events.readAll({ streamPrefix: 'a\\' }))).map((e) => e.streamId),
        ['a\\d', 'a\\\\d'],
      );
      assert.deepEqual(
        (await collect(store.events.readAll({ streamPrefix: "o'" }))).map((e) => e.streamId),
        ["o'k-1"],
      );
    },
  },
  'read-all.filter-correlation-id': {
    async run({ store }) {
      await store.events.append('a', [evt('A', {}, { metadata: { correlationId: 'c1' } }), evt('B'), evt('C', {}, { metadata: { correlationId: 'c2' } })]);
      await store.events.append('b', [evt('D', {}, { metadata: { correlationId: 'c1', userId: 'u' } })]);
      const read = await collect(store.events.readAll({ correlationId: 'c1' }));
      assert.deepEqual(
        read.map((e) => e.type),
        ['A', 'D'],
      );
    },
  },
  'read-all.unfiltered-includes-correlated': {
    // Found by mutation testing: an adapter that applied the correlation filter when none was asked for.
    async run({ store }) {
      await store.events.append('a', [evt('A', {}, { metadata: { correlationId: 'c1' } }), evt('B'), evt('C', {}, { metadata: { correlationId: 'c2' } })]);
      assert.deepEqual(
        (await collect(store.events.readAll())).map((e) => e.type),
        ['A', 'B', 'C'],
      );
      assert.deepEqual(
        (await collect(store.events.readAll({ types: ['A', 'C'] }))).map((e) => e.type),
        ['A', 'C'],
      );
    },
  },
  'read-all.filters-combine': {
    async run({ store }) {
      await store.events.append('order-1', [evt('Placed', {}, { metadata: { correlationId: 'k' } }), evt('Paid', {}, { metadata: { correlationId: 'k' } })]);
      await store.events.append('order-2', [evt('Placed', {}, { metadata: { correlationId: 'other' } })]);
      await store.events.append('cart-1', [evt('Placed', {}, { metadata: { correlationId: 'k' } })]);
      const read = await collect(store.events.readAll({ streamPrefix: 'order-', types: ['Placed'], correlationId: 'k' }));
      assert.deepEqual(
        read.map((e) => `${e.streamId}:${e.type}`),
        ['order-1:Placed'],
      );
    },
  },
  'read-all.type-filter-is-exact': {
    // Types match whole and case-sensitively: no prefix, substring or case-folded matches.
    async run({ store }) {
      await store.events.append('a', [evt('Order'), evt('OrderPlaced'), evt('order'), evt('XOrder'), evt('Order '), evt('ORDER'), evt('Orde')]);
      const typesOf = async (types: string[]) => (await collect(store.events.readAll({ types }))).map((e) => e.type);
      assert.deepEqual(await typesOf(['Order']), ['Order']);
      assert.deepEqual(await typesOf(['order']), ['order']);
      assert.deepEqual(await typesOf(['Orde', 'Placed']), ['Orde']);
      assert.deepEqual(await typesOf(['Ord']), []);
      assert.deepEqual(await typesOf(['%', '_rder']), []);
    },
  },
  'read-all.correlation-filter-is-exact': {
    async run({ store }) {
      const ids = ['k', 'k1', 'K', 'xk', 'k ', '%'];
      await store.events.append(
        'a',
        ids.map((correlationId) => evt('T', {}, { metadata: { correlationId } })),
      );
      await store.events.append('b', [evt('T', {}, { metadata: { causationId: 'k', userId: 'k' } })]);
      const correlated = async (correlationId: string) => (await collect(store.events.readAll({ correlationId }))).map((e) => e.metadata.correlationId);
      assert.deepEqual(await correlated('k'), ['k'], 'other metadata fields with the same value do not match');
      assert.deepEqual(await correlated('K'), ['K']);
      assert.deepEqual(await correlated('%'), ['%']);
      assert.deepEqual(await correlated('_'), []);
    },
  },
  'read-all.filtered-pages-in-position-order': {
    // Filtered reads page like unfiltered ones: the same events as filtering readAll() here, in position order.
    async run({ store, settings }) {
      const p = settings.readPageSize;
      const cycle = ['A', 'Noise', 'B', 'Noise', 'Noise', 'A'];
      for (let i = 0; i < 30; i++) {
        const streamId = `s-${i % 3}`;
        const batch = Array.from({ length: (i % 4) + 3 }, (_, j) =>
          evt(cycle[(i + j) % cycle.length], { i, j }, (i + j) % 3 === 0 ? { metadata: { correlationId: 'k' } } : {}),
        );
        await store.events.append(streamId, batch);
      }
      const all = await collect(store.events.readAll());
      const filters = [{ types: ['B', 'A'] }, { correlationId: 'k' }, { types: ['B', 'A'], correlationId: 'k' }, { types: ['A'], streamPrefix: 's-1' }];
      for (const filter of filters) {
        const want = all.filter(
          (e) =>
            (filter.types === undefined || filter.types.includes(e.type)) &&
            (!('correlationId' in filter) || e.metadata.correlationId === filter.correlationId) &&
            (!('streamPrefix' in filter) || e.streamId.startsWith(filter.streamPrefix)),
        );
        const what = JSON.stringify(filter);
        assert.ok(want.length > p + 1, `the data has more than a page of ${what}`);
        assert.deepEqual(positions(await collect(store.events.readAll(filter))), positions(want), `all of ${what}`);
        assert.deepEqual(
          positions(await collect(store.events.readAll({ ...filter, limit: p + 1 }))),
          positions(want.slice(0, p + 1)),
          `${what}, limit ${p + 1}`,
        );
        const mid = want[p - 1]?.position ?? 0n;
        assert.deepEqual(positions(await collect(store.events.readAll({ ...filter, after: mid }))), positions(want.slice(p)), `${what} after the ${p}th`);
        assert.deepEqual(
          positions(await collect(store.events.readAll({ ...filter, after: mid - 1n, limit: 2 }))),
          positions(want.slice(p - 1, p + 1)),
          `${what} after a position just before the ${p}th, limit 2`,
        );
      }
    },
  },
  'read-all.paging-boundaries': {
    async run({ store, settings }) {
      const p = settings.readPageSize;
      for (const n of [p - 1, 1, 1, p + 1, p - 1]) await store.events.append(`s-${n}-${uuid()}`, evts(n));
      const total = 3 * p + 1;
      const all = await collect(store.events.readAll());
      assert.equal(all.length, total);
      for (const limit of [p - 1, p, p + 1, 2 * p + 1]) {
        assert.deepEqual(positions(await collect(store.events.readAll({ limit }))), positions(all.slice(0, limit)));
        const mid = all[p - 1]?.position ?? 0n;
        assert.deepEqual(positions(await collect(store.events.readAll({ after: mid, limit }))), positions(all.slice(p, p + limit)));
      }
    },
  },
  'read-all.sparse-filter-across-pages': {
    async run({ store, settings }) {
      const p = settings.readPageSize;
      for (let i = 0; i < 5; i++) {
        await store.events.append('noise', evts(p * 2 + 1, 'Noise'));
        await store.events.append('signal', [evt('Signal', { i })]);
      }
      const read = await collect(store.events.readAll({ types: ['Signal'] }));
      assert.deepEqual(
        read.map((e) => (e.data as { i: number }).i),
        [0, 1, 2, 3, 4],
      );
      const limited = await collect(store.events.readAll({ types: ['Signal'], limit: 2 }));
      assert.equal(limited.length, 2);
    },
  },
  'read-all.bounded-memory': {
    timeoutMs: 60_000,
    async run({ store, settings }) {
      const total = Math.max(3000, settings.readPageSize * 30);
      await seed(store, 's', total);
      const refs: WeakRef<object>[] = [];
      let seen = 0;
      let alive = -1;
      for await (const e of store.events.readAll()) {
        seen++;
        refs.push(new WeakRef(e), new WeakRef(e.data as object));
        if (seen === Math.floor(total * 0.8)) {
          await sleep(0);
          collectGarbage();
          alive = refs.filter((r) => r.deref() !== undefined).length;
        }
      }
      assert.equal(seen, total);
      assert.ok(alive >= 0 && alive < total * 0.8, `after reading ${Math.floor(total * 0.8)} of ${total} events, ${alive / 2} are still held in memory`);
    },
  },
  'read-all.positions-match-append-results': {
    async run({ store }) {
      const a = await store.events.append('a', evts(3));
      const b = await store.events.append('b', evts(2));
      const all = await collect(store.events.readAll());
      assert.equal(all[0]?.position, a.firstPosition);
      assert.equal(all[2]?.position, a.lastPosition);
      assert.equal(all[3]?.position, b.firstPosition);
      assert.equal(all[4]?.position, b.lastPosition);
    },
  },
  'read-all.head-position': {
    async run({ store }) {
      await store.events.append('a', evts(3));
      const r = await store.events.append('b', evts(2));
      assert.equal(await store.events.headPosition(), r.lastPosition);
    },
  },
  'read-all.tail-sees-every-event-once-under-concurrent-appends': {
    timeoutMs: 60_000,
    async run({ store }) {
      const writers = 8;
      const perWriter = 40;
      let writing = true;
      const seen: bigint[] = [];
      let after = 0n;
      const reader = (async () => {
        for (;;) {
          const stillWriting = writing;
          for await (const e of store.events.readAll({ after })) {
            seen.push(e.position);
            after = e.position;
          }
          if (!stillWriting) return;
          await sleep(1);
        }
      })();
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) await store.events.append(`w-${w}`, [evt('W', { w, i })]);
        }),
      );
      writing = false;
      await reader;
      assert.equal(seen.length, writers * perWriter, 'every event seen');
      assert.equal(new Set(seen).size, seen.length, 'no event seen twice');
      for (let i = 1; i < seen.length; i++) assert.ok((seen[i] as bigint) > (seen[i - 1] as bigint), 'positions in order');
    },
  },

  'stream-info.missing-is-null': {
    async run({ store }) {
      assert.equal(await store.events.streamInfo('nope'), null);
    },
  },
  'stream-info.version-and-count': {
    async run({ store }) {
      await store.events.append('s', evts(3));
      await store.events.append('s', evts(2));
      const info = await store.events.streamInfo('s');
      assert.equal(info?.streamId, 's');
      assert.equal(info?.version, 5);
      assert.equal(info?.eventCount, 5);
    },
  },
  'stream-info.timestamps': {
    async run({ store }) {
      await store.events.append('s', evts(1));
      const first = await store.events.streamInfo('s');
      assert.ok(first && first.createdAt instanceof Date && first.updatedAt instanceof Date);
      assert.ok(first.createdAt.getTime() <= first.updatedAt.getTime());
      await sleep(15);
      await store.events.append('s', evts(1));
      const second = await store.events.streamInfo('s');
      assert.equal(second?.createdAt.getTime(), first.createdAt.getTime());
      assert.ok((second?.updatedAt.getTime() ?? 0) > first.updatedAt.getTime(), 'updatedAt moves on append');
    },
  },
  'stream-info.unchanged-by-failed-append': {
    async run({ store }) {
      await store.events.append('s', evts(2));
      const before = await store.events.streamInfo('s');
      await rejects(store.events.append('s', evts(1), { expectedVersion: 7 }), 'CONCURRENCY');
      assert.deepEqual(await store.events.streamInfo('s'), before);
    },
  },
});
