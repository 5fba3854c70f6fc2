import { consume } from '../queue/consume.js';
import type { Delivery } from '../queue/types.js';
import { DEAD_LETTER_REASONS } from '../validation.js';
import { assertWithin, SPAN_SLACK_MS } from './clock.js';
import { assert, defineCases, eventually, fingerprint, rejects, sleep } from './helpers.js';

const on = { requires: (c: { queue: boolean }) => c.queue };
const bodies = (ds: Delivery[]) => ds.map((d) => d.body);

export const queueCases = defineCases('queue', {
  'send.returns-id': {
    ...on,
    async run({ store }) {
      const ids = await store.queue.send('q', { body: { a: 1 } });
      assert.equal(ids.length, 1);
      assert.equal(typeof ids[0], 'string');
      const [d] = await store.queue.receive('q');
      assert.equal(d?.id, ids[0]);
    },
  },
  'send.batch-returns-ids-in-order': {
    ...on,
    async run({ store }) {
      const ids = await store.queue.send('q', [{ body: 1 }, { body: 2 }, { body: 3 }]);
      assert.equal(new Set(ids).size, 3);
      const ds = await store.queue.receive('q', { max: 3 });
      assert.deepEqual(
        ds.map((d) => d.id),
        ids,
      );
      assert.deepEqual(bodies(ds), [1, 2, 3]);
    },
  },
  'send.round-trips-body-and-headers': {
    ...on,
    async run({ store }) {
      const body = { text: 'ünïcode 🎉 "q"', n: 1.5, list: [null, true, { x: [] }] };
      await store.queue.send('q', { body, headers: { 'content-type': 'application/json', trace: 'abc' } });
      await store.queue.send('q', { body: 'plain string' });
      const [a, b] = await store.queue.receive('q', { max: 2 });
      assert.deepEqual(a?.body, body);
      assert.deepEqual(a?.headers, { 'content-type': 'application/json', trace: 'abc' });
      assert.deepEqual(b?.body, 'plain string');
      assert.deepEqual(b?.headers, {});
    },
  },
  'receive.empty-queue': {
    ...on,
    async run({ store }) {
      assert.deepEqual(await store.queue.receive('q', { max: 10 }), []);
    },
  },
  'receive.delivery-fields': {
    ...on,
    async run({ store, settings }) {
      const before = Date.now();
      const [id] = await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      assert.ok(d);
      assert.equal(d.id, id);
      assert.equal(d.queue, 'q');
      assert.equal(d.attempt, 1);
      assert.equal(d.maxAttempts, settings.maxAttempts);
      assert.equal(typeof d.receipt, 'string');
      assert.ok(d.receipt.length > 0);
      assert.ok(Math.abs(d.enqueuedAt.getTime() - before) < 60_000);
      assert.ok(d.visibleUntil.getTime() > Date.now() + 30_000);
    },
  },
  'receive.default-max-is-1': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2 }]);
      assert.equal((await store.queue.receive('q')).length, 1);
    },
  },
  'receive.respects-max': {
    ...on,
    async run({ store }) {
      await store.queue.send(
        'q',
        Array.from({ length: 10 }, (_, i) => ({ body: i })),
      );
      assert.equal((await store.queue.receive('q', { max: 4 })).length, 4);
      assert.equal((await store.queue.receive('q', { max: 100 })).length, 6);
    },
  },
  'receive.fifo': {
    ...on,
    async run({ store }) {
      for (let i = 0; i < 5; i++) await store.queue.send('q', { body: i });
      await store.queue.send('q', [{ body: 5 }, { body: 6 }]);
      const got: unknown[] = [];
      for (let i = 0; i < 7; i++) got.push(...bodies(await store.queue.receive('q')));
      assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6]);
    },
  },
  'receive.priority-first': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', { body: 'low', priority: -1 });
      await store.queue.send('q', { body: 'normal' });
      await store.queue.send('q', { body: 'high', priority: 10 });
      await store.queue.send('q', { body: 'mid', priority: 5 });
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 4 })), ['high', 'mid', 'normal', 'low']);
    },
  },
  'receive.priority-then-fifo': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 'a1', priority: 1 }, { body: 'b0' }, { body: 'a2', priority: 1 }, { body: 'b1' }]);
      await store.queue.send('q', [{ body: 'c' }], { priority: 1 });
      const got: unknown[] = [];
      for (let i = 0; i < 5; i++) got.push(...bodies(await store.queue.receive('q')));
      assert.deepEqual(got, ['a1', 'a2', 'c', 'b0', 'b1']);
    },
  },
  'receive.queues-are-isolated': {
    ...on,
    async run({ store }) {
      await store.queue.send('a', { body: 'for a' });
      await store.queue.send('b', { body: 'for b' });
      assert.deepEqual(bodies(await store.queue.receive('a', { max: 10 })), ['for a']);
      assert.deepEqual(bodies(await store.queue.receive('b', { max: 10 })), ['for b']);
      assert.deepEqual(await store.queue.receive('c', { max: 10 }), []);
    },
  },
  'receive.returns-copies': {
    ...on,
    async run({ store, ms }) {
      const body = { list: [1] };
      await store.queue.send('q', { body });
      body.list.push(2);
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: ms(50) });
      assert.deepEqual(d?.body, { list: [1] });
      assert.ok(d !== undefined);
      (d.body as { list: number[] }).list.push(3);
      await sleep(ms(80));
      const [again] = await store.queue.receive('q');
      assert.deepEqual(again?.body, { list: [1] });
    },
  },
  'visibility.hidden-while-in-flight': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2 }]);
      const [first] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      await sleep(ms(30));
      const rest = await store.queue.receive('q', { max: 10, visibilityTimeoutMs: 60_000 });
      assert.deepEqual(bodies(rest), [2]);
      assert.notEqual(rest[0]?.id, first?.id);
      assert.deepEqual(await store.queue.receive('q', { max: 10 }), []);
    },
  },
  'visibility.redelivered-after-timeout': {
    ...on,
    async run({ store, ms }) {
      const [id] = await store.queue.send('q', { body: 'x' });
      const [first] = await store.queue.receive('q', { visibilityTimeoutMs: ms(100) });
      assert.deepEqual(await store.queue.receive('q'), []);
      await sleep(ms(160));
      const [second] = await store.queue.receive('q', { visibilityTimeoutMs: ms(100) });
      assert.equal(second?.id, id);
      assert.equal(second?.attempt, 2);
      assert.notEqual(second?.receipt, first?.receipt);
      await sleep(ms(160));
      assert.equal((await store.queue.receive('q'))[0]?.attempt, 3);
    },
  },
  'ack.removes-message': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: ms(80) });
      await store.queue.ack(d?.receipt ?? '');
      await sleep(ms(120));
      assert.deepEqual(await store.queue.receive('q'), []);
      const s = await store.queue.stats('q');
      assert.equal(s.ready + s.inFlight + s.delayed + s.deadLettered, 0);
    },
  },
  'ack.stale-after-visibility-expired': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: ms(60) });
      await sleep(ms(120));
      await rejects(store.queue.ack(d?.receipt ?? ''), 'STALE_RECEIPT');
      assert.equal((await store.queue.stats('q')).ready, 1, 'the message stays');
    },
  },
  'ack.stale-after-redelivery': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1 });
      const [first] = await store.queue.receive('q', { visibilityTimeoutMs: ms(60) });
      await sleep(ms(120));
      const [second] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      await rejects(store.queue.ack(first?.receipt ?? ''), 'STALE_RECEIPT');
      await rejects(store.queue.nack(first?.receipt ?? ''), 'STALE_RECEIPT');
      await rejects(store.queue.extendVisibility(first?.receipt ?? '', 1000), 'STALE_RECEIPT');
      assert.equal((await store.queue.stats('q')).inFlight, 1, 'the new delivery is untouched');
      await store.queue.ack(second?.receipt ?? '');
      assert.equal((await store.queue.stats('q')).inFlight, 0);
    },
  },
  'ack.twice-is-stale': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q');
      await store.queue.ack(d?.receipt ?? '');
      await rejects(store.queue.ack(d?.receipt ?? ''), 'STALE_RECEIPT');
    },
  },
  'ack.unknown-receipt-is-stale': {
    ...on,
    async run({ store }) {
      await rejects(store.queue.ack('00000000-0000-4000-8000-000000000000'), 'STALE_RECEIPT');
      await rejects(store.queue.nack('00000000-0000-4000-8000-000000000000'), 'STALE_RECEIPT');
      await rejects(store.queue.extendVisibility('00000000-0000-4000-8000-000000000000', 1000), 'STALE_RECEIPT');
    },
  },
  'ack-many.acks-every-owned-message': {
    ...on,
    async run({ store }) {
      await store.queue.send(
        'q',
        Array.from({ length: 5 }, (_, i) => ({ body: i })),
      );
      const ds = await store.queue.receive('q', { max: 5 });
      assert.deepEqual(await store.queue.ackMany(ds.map((d) => d.receipt)), { acked: 5, stale: [] });
      const s = await store.queue.stats('q');
      assert.equal(s.ready + s.inFlight + s.delayed + s.deadLettered, 0);
    },
  },
  'ack-many.reports-stale-receipts-and-leaves-them': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', [{ body: 'a' }, { body: 'b' }, { body: 'c' }, { body: 'd' }]);
      const [a, b, c] = await store.queue.receive('q', { max: 3, visibilityTimeoutMs: 60_000 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: ms(40) });
      await store.queue.ack(a?.receipt ?? '');
      await sleep(ms(80));
      const result = await store.queue.ackMany([a?.receipt ?? '', b?.receipt ?? '', 'unknown-receipt', d?.receipt ?? '', b?.receipt ?? '']);
      assert.deepEqual(result, { acked: 1, stale: [a?.receipt, 'unknown-receipt', d?.receipt, b?.receipt] });
      const s = await store.queue.stats('q');
      assert.deepEqual([s.inFlight, s.ready], [1, 1], 'c stays in flight, d is ready again');
      await store.queue.ack(c?.receipt ?? '');
    },
  },
  'ack-many.empty-list': {
    ...on,
    async run({ store }) {
      assert.deepEqual(await store.queue.ackMany([]), { acked: 0, stale: [] });
    },
  },
  'nack.redelivers-at-once': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      await store.queue.nack(d?.receipt ?? '');
      const [again] = await store.queue.receive('q');
      assert.equal(again?.id, d?.id);
      assert.equal(again?.attempt, 2);
    },
  },
  'nack.with-delay': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      await store.queue.nack(d?.receipt ?? '', { delayMs: ms(150) });
      assert.deepEqual(await store.queue.receive('q'), []);
      assert.equal((await store.queue.stats('q')).delayed, 1);
      await sleep(ms(220));
      assert.equal((await store.queue.receive('q'))[0]?.attempt, 2);
    },
  },
  'nack.dead-letter-now': {
    ...on,
    async run({ store }) {
      const [id] = await store.queue.send('q', { body: 'poison', headers: { h: '1' } });
      const [d] = await store.queue.receive('q');
      await store.queue.nack(d?.receipt ?? '', { deadLetter: true, reason: 'cannot parse' });
      assert.deepEqual(await store.queue.receive('q'), []);
      const dead = await store.queue.deadLetters('q');
      assert.equal(dead.length, 1);
      assert.deepEqual([dead[0]?.id, dead[0]?.body, dead[0]?.headers, dead[0]?.reason, dead[0]?.attempt], [id, 'poison', { h: '1' }, 'cannot parse', 1]);
      assert.ok(dead[0]?.deadLetteredAt instanceof Date);
    },
  },
  'nack.stale-receipt': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q');
      await store.queue.nack(d?.receipt ?? '');
      await rejects(store.queue.nack(d?.receipt ?? ''), 'STALE_RECEIPT');
      await rejects(store.queue.ack(d?.receipt ?? ''), 'STALE_RECEIPT');
    },
  },
  'extend-visibility.keeps-hidden': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: ms(100) });
      await store.queue.extendVisibility(d?.receipt ?? '', ms(400));
      await sleep(ms(200));
      assert.deepEqual(await store.queue.receive('q'), [], 'still hidden after the first timeout');
      await store.queue.ack(d?.receipt ?? '');
      assert.equal((await store.queue.stats('q')).inFlight, 0);
    },
  },
  'extend-visibility.stale-after-expiry': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: ms(50) });
      await sleep(ms(100));
      await rejects(store.queue.extendVisibility(d?.receipt ?? '', 10_000), 'STALE_RECEIPT');
      assert.equal((await store.queue.stats('q')).ready, 1);
    },
  },
  'max-attempts.dead-letter-on-last-nack': {
    ...on,
    async run({ store, settings }) {
      await store.queue.send('q', { body: 'x' });
      for (let i = 1; i <= settings.maxAttempts; i++) {
        const [d] = await store.queue.receive('q');
        assert.equal(d?.attempt, i);
        await store.queue.nack(d?.receipt ?? '', { reason: `failure ${i}` });
      }
      assert.deepEqual(await store.queue.receive('q'), []);
      const [dead] = await store.queue.deadLetters('q');
      assert.equal(dead?.attempt, settings.maxAttempts);
      assert.equal(dead?.reason, `failure ${settings.maxAttempts}`);
      assert.equal((await store.queue.stats('q')).deadLettered, 1);
    },
  },
  'max-attempts.dead-letter-on-last-expiry': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 'x', maxAttempts: 2 });
      await store.queue.receive('q', { visibilityTimeoutMs: ms(40) });
      await sleep(ms(80));
      const [second] = await store.queue.receive('q', { visibilityTimeoutMs: ms(40) });
      assert.equal(second?.attempt, 2);
      await sleep(ms(80));
      assert.deepEqual(await store.queue.receive('q'), [], 'no third delivery');
      const dead = await store.queue.deadLetters('q');
      assert.equal(dead.length, 1);
      assert.equal(dead[0]?.attempt, 2);
      assert.equal(dead[0]?.reason, DEAD_LETTER_REASONS.attemptsExhausted);
    },
  },
  'max-attempts.receive-fills-max-past-exhausted': {
    // Found by mutation testing: a message whose attempts ran out is dead-lettered by the receive that
    // finds it, and that receive still hands out exactly `max` of the deliverable messages behind it.
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', [{ body: 'once', maxAttempts: 1 }, { body: 'b' }, { body: 'c' }, { body: 'd' }]);
      assert.deepEqual(bodies(await store.queue.receive('q', { visibilityTimeoutMs: ms(40) })), ['once']);
      await sleep(ms(80));
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 2, visibilityTimeoutMs: 60_000 })), ['b', 'c']);
      const dead = await store.queue.deadLetters('q');
      assert.deepEqual(
        dead.map((d) => [d.body, d.attempt, d.reason]),
        [['once', 1, DEAD_LETTER_REASONS.attemptsExhausted]],
      );
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 10, visibilityTimeoutMs: 60_000 })), ['d']);
    },
  },
  'max-attempts.per-message': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 'once', maxAttempts: 1 }, { body: 'default' }]);
      const [once, other] = await store.queue.receive('q', { max: 2 });
      assert.equal(once?.maxAttempts, 1);
      await store.queue.nack(once?.receipt ?? '');
      await store.queue.nack(other?.receipt ?? '');
      assert.deepEqual(
        (await store.queue.deadLetters('q')).map((d) => d.body),
        ['once'],
      );
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), ['default']);
    },
  },
  'max-attempts.call-default': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 'a' }, { body: 'b', maxAttempts: 4 }], { maxAttempts: 2 });
      const ds = await store.queue.receive('q', { max: 2 });
      assert.deepEqual(
        ds.map((d) => d.maxAttempts),
        [2, 4],
      );
    },
  },
  'dead-letters.ordered-by-when-dead-lettered': {
    // Oldest first means first dead-lettered first, not first sent (found by mutation testing).
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 'sent-first' }, { body: 'sent-second' }]);
      const got = await store.queue.receive('q', { max: 2 });
      const [first, second] = got;
      assert.equal(got.length, 2);
      await store.queue.nack(second?.receipt ?? '', { deadLetter: true });
      await sleep(5);
      await store.queue.nack(first?.receipt ?? '', { deadLetter: true });
      assert.deepEqual(
        (await store.queue.deadLetters('q')).map((d) => d.body),
        ['sent-second', 'sent-first'],
      );
    },
  },
  'dead-letters.oldest-first-with-limit': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2 }, { body: 3 }]);
      for (let i = 0; i < 3; i++) {
        const [d] = await store.queue.receive('q');
        await store.queue.nack(d?.receipt ?? '', { deadLetter: true });
      }
      assert.deepEqual(
        (await store.queue.deadLetters('q')).map((d) => d.body),
        [1, 2, 3],
      );
      assert.equal((await store.queue.deadLetters('q'))[0]?.reason, DEAD_LETTER_REASONS.nackedToDeadLetter);
      assert.deepEqual(
        (await store.queue.deadLetters('q', { limit: 2 })).map((d) => d.body),
        [1, 2],
      );
      assert.deepEqual(await store.queue.deadLetters('other'), []);
    },
  },
  'dead-letters.limit-takes-the-first-dead-lettered': {
    // The limit keeps the oldest dead letters by when they were dead-lettered, not by when they were sent.
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2 }, { body: 3 }]);
      const ds = await store.queue.receive('q', { max: 3 });
      for (const d of [...ds].reverse()) {
        await store.queue.nack(d.receipt, { deadLetter: true });
        await sleep(5);
      }
      assert.deepEqual(
        (await store.queue.deadLetters('q', { limit: 2 })).map((d) => d.body),
        [3, 2],
      );
      assert.deepEqual(
        (await store.queue.deadLetters('q', { limit: 1 })).map((d) => d.body),
        [3],
      );
    },
  },
  'redrive.all': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2 }]);
      for (const d of await store.queue.receive('q', { max: 2 })) await store.queue.nack(d.receipt, { deadLetter: true });
      assert.equal(await store.queue.redrive('q'), 2);
      assert.deepEqual(await store.queue.deadLetters('q'), []);
      const again = await store.queue.receive('q', { max: 2 });
      assert.deepEqual(bodies(again), [1, 2]);
      assert.deepEqual(
        again.map((d) => d.attempt),
        [1, 1],
        'attempts start over',
      );
    },
  },
  'redrive.selected-ids': {
    ...on,
    async run({ store }) {
      const ids = await store.queue.send('q', [{ body: 1 }, { body: 2 }, { body: 3 }]);
      for (const d of await store.queue.receive('q', { max: 3 })) await store.queue.nack(d.receipt, { deadLetter: true });
      assert.equal(await store.queue.redrive('q', [ids[1] ?? '', 'unknown-id']), 1);
      assert.deepEqual(
        (await store.queue.deadLetters('q')).map((d) => d.body),
        [1, 3],
      );
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), [2]);
    },
  },
  'redrive.leaves-live-messages': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2 }]);
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      assert.equal(await store.queue.redrive('q'), 0);
      assert.equal((await store.queue.stats('q')).inFlight, 1);
      await store.queue.ack(d?.receipt ?? '');
    },
  },
  'delay.hidden-until-due': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 'later', delayMs: ms(150) });
      await store.queue.send('q', { body: 'now' });
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), ['now']);
      const s = await store.queue.stats('q');
      assert.equal(s.delayed, 1);
      await sleep(ms(220));
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), ['later']);
    },
  },
  'delay.call-default': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2, delayMs: 0 }], { delayMs: ms(150) });
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), [2]);
      await sleep(ms(220));
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), [1]);
    },
  },
  'dedup.second-send-returns-first-id': {
    ...on,
    async run({ store }) {
      const [a] = await store.queue.send('q', { body: 'first', dedupId: 'order-1' });
      const [b] = await store.queue.send('q', { body: 'second', dedupId: 'order-1' });
      assert.equal(b, a);
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), ['first']);
    },
  },
  'dedup.while-in-flight-or-dead': {
    ...on,
    async run({ store }) {
      const [a] = await store.queue.send('q', { body: 1, dedupId: 'k' });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      assert.deepEqual(await store.queue.send('q', { body: 2, dedupId: 'k' }), [a]);
      await store.queue.nack(d?.receipt ?? '', { deadLetter: true });
      assert.deepEqual(await store.queue.send('q', { body: 3, dedupId: 'k' }), [a]);
      const s = await store.queue.stats('q');
      assert.equal(s.ready + s.inFlight + s.delayed, 0);
    },
  },
  'dedup.free-after-ack': {
    ...on,
    async run({ store }) {
      const [a] = await store.queue.send('q', { body: 1, dedupId: 'k' });
      const [d] = await store.queue.receive('q');
      await store.queue.ack(d?.receipt ?? '');
      const [b] = await store.queue.send('q', { body: 2, dedupId: 'k' });
      assert.notEqual(b, a);
      assert.deepEqual(bodies(await store.queue.receive('q')), [2]);
    },
  },
  'dedup.per-queue': {
    ...on,
    async run({ store }) {
      const [a] = await store.queue.send('a', { body: 1, dedupId: 'k' });
      const [b] = await store.queue.send('b', { body: 1, dedupId: 'k' });
      assert.notEqual(a, b);
    },
  },
  'dedup.different-ids-are-different-messages': {
    // Found by mutation testing: an adapter that took any dedup id for a duplicate of another.
    ...on,
    async run({ store }) {
      const [a] = await store.queue.send('q', { body: 1, dedupId: 'a' });
      const [b] = await store.queue.send('q', { body: 2, dedupId: 'b' });
      const [c] = await store.queue.send('q', [
        { body: 3, dedupId: 'c' },
        { body: 4, dedupId: 'd' },
      ]);
      assert.equal(new Set([a, b, c]).size, 3, 'each dedup id is a message of its own');
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 10 })), [1, 2, 3, 4]);
    },
  },
  'dedup.within-one-batch': {
    ...on,
    async run({ store }) {
      const ids = await store.queue.send('q', [{ body: 1, dedupId: 'k' }, { body: 2, dedupId: 'k' }, { body: 3 }]);
      assert.equal(ids[0], ids[1]);
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), [1, 3]);
    },
  },
  'dedup.concurrent-sends-one-message': {
    ...on,
    async run({ store }) {
      const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => store.queue.send('q', { body: i, dedupId: 'same' })));
      assert.equal(new Set(ids.flat()).size, 1);
      assert.equal((await store.queue.stats('q')).ready, 1);
    },
  },
  'stats.counts-each-state': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 'ready-1' }, { body: 'ready-2' }, { body: 'flight' }, { body: 'dead' }]);
      await store.queue.send('q', { body: 'delayed', delayMs: 60_000 });
      const [r1, r2, flight, dead] = await store.queue.receive('q', { max: 4, visibilityTimeoutMs: 60_000 });
      await store.queue.nack(r1?.receipt ?? '');
      await store.queue.nack(r2?.receipt ?? '');
      await store.queue.nack(dead?.receipt ?? '', { deadLetter: true });
      assert.ok(flight);
      const s = await store.queue.stats('q');
      assert.deepEqual({ ...s, oldestReadyAgeMs: null }, { ready: 2, inFlight: 1, delayed: 1, deadLettered: 1, oldestReadyAgeMs: null });
      assert.equal(typeof s.oldestReadyAgeMs, 'number');
    },
  },
  'stats.oldest-ready-age': {
    ...on,
    async run({ store, ms }) {
      assert.equal((await store.queue.stats('q')).oldestReadyAgeMs, null);
      await store.queue.send('q', { body: 1 });
      await sleep(ms(120));
      const age = (await store.queue.stats('q')).oldestReadyAgeMs ?? -1;
      assert.ok(age >= ms(100) && age < 60_000, `oldestReadyAgeMs ${age}`);
    },
  },
  'stats.empty-queue': {
    ...on,
    async run({ store }) {
      assert.deepEqual(await store.queue.stats('nothing-here'), { ready: 0, inFlight: 0, delayed: 0, deadLettered: 0, oldestReadyAgeMs: null });
    },
  },
  'purge.removes-every-state': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', [{ body: 1 }, { body: 2 }, { body: 3 }]);
      await store.queue.send('q', { body: 4, delayMs: 60_000 });
      await store.queue.send('other', { body: 'kept' });
      const [a, b] = await store.queue.receive('q', { max: 2, visibilityTimeoutMs: 60_000 });
      await store.queue.nack(b?.receipt ?? '', { deadLetter: true });
      assert.equal(await store.queue.purge('q'), 4);
      assert.deepEqual(await store.queue.stats('q'), { ready: 0, inFlight: 0, delayed: 0, deadLettered: 0, oldestReadyAgeMs: null });
      await rejects(store.queue.ack(a?.receipt ?? ''), 'STALE_RECEIPT');
      assert.equal((await store.queue.stats('other')).ready, 1);
    },
  },
  // Timestamps: each lies within the wall-clock window of the call that set it (± CLOCK_SKEW_MS), and
  // spans between two readings of the store's clock match the spans measured here (± SPAN_SLACK_MS).
  'timestamps.receive-sets-enqueued-at-and-visible-until': {
    ...on,
    async run({ store, ms }) {
      const beforeSend = Date.now();
      await store.queue.send('q', { body: 1 });
      const afterSend = Date.now();
      await sleep(ms(20));
      const beforeReceive = Date.now();
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      const afterReceive = Date.now();
      assertWithin(d?.enqueuedAt, beforeSend, afterSend, 'enqueuedAt');
      assertWithin(d?.visibleUntil, beforeReceive, afterReceive, 'visibleUntil', 60_000);
      const [e] = await store.queue.send('q', { body: 2 });
      const beforeShort = Date.now();
      const [short] = await store.queue.receive('q', { visibilityTimeoutMs: ms(100) });
      const afterShort = Date.now();
      assert.equal(short?.id, e);
      assertWithin(short?.visibleUntil, beforeShort, afterShort, 'visibleUntil of a short timeout', ms(100));
    },
  },
  'timestamps.redelivery-keeps-enqueued-at': {
    ...on,
    async run({ store, ms }) {
      const [id] = await store.queue.send('q', { body: 1 });
      const [first] = await store.queue.receive('q', { visibilityTimeoutMs: ms(100) });
      assert.ok(first);
      await sleep(ms(200));
      const beforeSecond = Date.now();
      const [second] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      const afterSecond = Date.now();
      assert.deepEqual([second?.id, second?.attempt], [id, 2]);
      assert.notEqual(second?.receipt, first.receipt, 'a redelivery has a receipt of its own');
      assert.equal(second?.enqueuedAt.getTime(), first.enqueuedAt.getTime(), 'a redelivery after a timeout keeps enqueuedAt');
      assertWithin(second?.visibleUntil, beforeSecond, afterSecond, 'visibleUntil of the redelivery', 60_000);
      await store.queue.nack(second?.receipt ?? '');
      const [third] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      assert.deepEqual([third?.id, third?.attempt], [id, 3]);
      assert.equal(third?.enqueuedAt.getTime(), first.enqueuedAt.getTime(), 'a redelivery after a nack keeps enqueuedAt');
      await store.queue.nack(third?.receipt ?? '', { deadLetter: true });
      const [dead] = await store.queue.deadLetters('q');
      assert.equal(dead?.enqueuedAt.getTime(), first.enqueuedAt.getTime(), 'a dead letter keeps enqueuedAt');
    },
  },
  'timestamps.extend-visibility-counts-from-now': {
    ...on,
    async run({ store, ms }) {
      const [id] = await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      // The new deadline is observable through nextVisibleInMs: the time left until it, by the store's clock.
      const left = async (extension: number): Promise<void> => {
        const before = Date.now();
        await store.queue.extendVisibility(d?.receipt ?? '', extension);
        const next = await store.queue.nextVisibleInMs('q');
        const spent = Date.now() - before;
        assert.ok(
          next !== null && next <= extension + SPAN_SLACK_MS && next >= extension - spent - SPAN_SLACK_MS,
          `after extendVisibility(${extension}) the message is visible again in ${next} ms (${spent} ms spent)`,
        );
      };
      await left(120_000);
      await left(30_000);
      await left(ms(100));
      await sleep(ms(200));
      const [again] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      assert.deepEqual([again?.id, again?.attempt], [id, 2], 'a shortened visibility ends when it says');
      await rejects(store.queue.ack(d?.receipt ?? ''), 'STALE_RECEIPT');
    },
  },
  'timestamps.dead-lettered-at-is-when-dead-lettered': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', [{ body: 'nacked' }, { body: 'exhausted', maxAttempts: 1 }]);
      const afterSend = Date.now();
      const [nacked] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      const [exhausted] = await store.queue.receive('q', { visibilityTimeoutMs: ms(100) });
      assert.deepEqual([nacked?.body, exhausted?.body], ['nacked', 'exhausted']);
      await sleep(ms(200));
      const beforeNack = Date.now();
      await store.queue.nack(nacked?.receipt ?? '', { deadLetter: true });
      const afterNack = Date.now();
      await sleep(ms(20));
      const beforeReceive = Date.now();
      assert.deepEqual(await store.queue.receive('q'), [], 'the expired last attempt is dead-lettered, not delivered');
      const afterReceive = Date.now();
      const dead = await store.queue.deadLetters('q');
      assert.deepEqual(
        dead.map((x) => x.body),
        ['nacked', 'exhausted'],
      );
      assertWithin(dead[0]?.deadLetteredAt, beforeNack, afterNack, 'deadLetteredAt of a nack to the dead letters');
      assertWithin(dead[1]?.deadLetteredAt, beforeReceive, afterReceive, 'deadLetteredAt of a message whose attempts ran out');
      for (const x of dead) {
        const span = x.deadLetteredAt.getTime() - x.enqueuedAt.getTime();
        assert.ok(span >= beforeNack - afterSend - SPAN_SLACK_MS, `${x.body}: dead-lettered ${span} ms after it was sent, not when it was sent`);
      }
    },
  },
  'stats.oldest-ready-age-of-ready-messages-only': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', [{ body: 'in-flight' }, { body: 'dead' }, { body: 'delayed', delayMs: 60_000 }]);
      const [, dead] = await store.queue.receive('q', { max: 2, visibilityTimeoutMs: 60_000 });
      await store.queue.nack(dead?.receipt ?? '', { deadLetter: true });
      await sleep(ms(200));
      assert.equal((await store.queue.stats('q')).oldestReadyAgeMs, null, 'in-flight, delayed and dead messages have no ready age');
      const beforeOldest = Date.now();
      await store.queue.send('q', { body: 'oldest ready' });
      const afterOldest = Date.now();
      await sleep(ms(150));
      await store.queue.send('q', { body: 'newest ready' });
      const beforeStats = Date.now();
      const s = await store.queue.stats('q');
      const afterStats = Date.now();
      const age = s.oldestReadyAgeMs ?? -1;
      assert.equal(s.ready, 2);
      assert.ok(
        age <= afterStats - beforeOldest + SPAN_SLACK_MS,
        `oldestReadyAgeMs ${age}: the oldest ready message is at most ${afterStats - beforeOldest} ms old`,
      );
      assert.ok(
        age >= beforeStats - afterOldest - SPAN_SLACK_MS,
        `oldestReadyAgeMs ${age}: the oldest ready message is at least ${beforeStats - afterOldest} ms old`,
      );
      await sleep(ms(100));
      const later = (await store.queue.stats('q')).oldestReadyAgeMs ?? -1;
      assert.ok(later >= age + ms(100) - SPAN_SLACK_MS, `oldestReadyAgeMs grows with time (${age} then ${later})`);
    },
  },
  'receive.send-order-across-delays': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 'a', delayMs: ms(150) });
      await store.queue.send('q', [{ body: 'b', delayMs: ms(50) }, { body: 'c' }]);
      await store.queue.send('q', { body: 'd', delayMs: ms(100) });
      await sleep(ms(250));
      assert.deepEqual(
        bodies(await store.queue.receive('q', { max: 4 })),
        ['a', 'b', 'c', 'd'],
        'messages are received in send order, not by when they became visible',
      );
    },
  },
  'stats.oldest-ready-age-counts-from-send': {
    // The age of a message that was delayed counts from its send, not from when it became ready.
    ...on,
    async run({ store, ms }) {
      const beforeSend = Date.now();
      await store.queue.send('q', { body: 1, delayMs: ms(150) });
      const afterSend = Date.now();
      await sleep(ms(250));
      const beforeStats = Date.now();
      const s = await store.queue.stats('q');
      const afterStats = Date.now();
      const age = s.oldestReadyAgeMs ?? -1;
      assert.equal(s.ready, 1);
      assert.ok(
        age >= beforeStats - afterSend - SPAN_SLACK_MS && age <= afterStats - beforeSend + SPAN_SLACK_MS,
        `oldestReadyAgeMs ${age}: sent ${beforeStats - afterSend}–${afterStats - beforeSend} ms before`,
      );
    },
  },
  'receive.redelivery-keeps-its-place': {
    // A message given back (nacked or expired) is received again in its send order, before later messages.
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', [{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
      const [a] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      const [b] = await store.queue.receive('q', { visibilityTimeoutMs: ms(50) });
      assert.deepEqual([a?.body, b?.body], ['a', 'b']);
      await store.queue.nack(a?.receipt ?? '');
      await sleep(ms(120));
      const again = await store.queue.receive('q', { max: 3 });
      assert.deepEqual(
        again.map((d) => [d.body, d.attempt]),
        [
          ['a', 2],
          ['b', 2],
          ['c', 1],
        ],
      );
    },
  },
  'receipt.stale-error-names-operation': {
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: ms(50) });
      await sleep(ms(120));
      const calls: [string, () => Promise<unknown>][] = [
        ['queue.ack', () => store.queue.ack(d?.receipt ?? '')],
        ['queue.nack', () => store.queue.nack(d?.receipt ?? '', { deadLetter: true, reason: 'stale' })],
        ['queue.extendVisibility', () => store.queue.extendVisibility(d?.receipt ?? '', 60_000)],
      ];
      for (const [operation, call] of calls) {
        const error = await rejects(call, 'STALE_RECEIPT');
        assert.ok(error.message.startsWith(`${operation}:`), `the error names ${operation}: ${error.message}`);
      }
      assert.deepEqual(await store.queue.ackMany([d?.receipt ?? '']), { acked: 0, stale: [d?.receipt] });
      assert.deepEqual(await store.queue.deadLetters('q'), [], 'a stale nack dead-letters nothing');
      const s = await store.queue.stats('q');
      assert.deepEqual([s.ready, s.inFlight, s.deadLettered], [1, 0, 0], 'stale receipts change nothing');
      const [again] = await store.queue.receive('q', { visibilityTimeoutMs: 60_000 });
      assert.equal(again?.attempt, 2, 'a stale extension did not hide the message nor count as a delivery');
    },
  },
  'nack.reason-kept-to-dead-letter': {
    // The last reason a nack gave is the dead letter's reason when the attempts later run out at receive.
    ...on,
    async run({ store, ms }) {
      await store.queue.send('q', { body: 1, maxAttempts: 2 });
      const [first] = await store.queue.receive('q');
      await store.queue.nack(first?.receipt ?? '', { reason: 'smtp timed out' });
      const [second] = await store.queue.receive('q', { visibilityTimeoutMs: ms(50) });
      assert.equal(second?.attempt, 2);
      await sleep(ms(120));
      assert.deepEqual(await store.queue.receive('q'), []);
      const dead = await store.queue.deadLetters('q');
      assert.deepEqual(
        dead.map((x) => [x.attempt, x.reason]),
        [[2, 'smtp timed out']],
      );
    },
  },
  'dedup.free-after-purge': {
    // A dedup id lives as long as its message is in the queue: purge deletes the message and frees the id.
    ...on,
    async run({ store }) {
      const [a] = await store.queue.send('q', { body: 'ready', dedupId: 'r' });
      await store.queue.send('q', [{ body: 'in flight', dedupId: 'f' }]);
      await store.queue.send('q', { body: 'dead', dedupId: 'd' });
      const [, flight, dead] = await store.queue.receive('q', { max: 3, visibilityTimeoutMs: 60_000 });
      assert.equal(flight?.body, 'in flight');
      await store.queue.nack(dead?.receipt ?? '', { deadLetter: true });
      assert.equal(await store.queue.purge('q'), 3);
      const again = await store.queue.send('q', [
        { body: 'ready again', dedupId: 'r' },
        { body: 'in flight again', dedupId: 'f' },
        { body: 'dead again', dedupId: 'd' },
      ]);
      assert.equal(new Set(again).size, 3);
      assert.ok(!again.includes(a ?? ''), 'a purged message id is not returned');
      assert.deepEqual(bodies(await store.queue.receive('q', { max: 5 })), ['ready again', 'in flight again', 'dead again']);
    },
  },
  'dedup.held-through-redrive': {
    // A redriven message is in the queue again: its dedup id still answers with its id, until it is acked.
    ...on,
    async run({ store }) {
      const [a] = await store.queue.send('q', { body: 1, dedupId: 'k' });
      const [d] = await store.queue.receive('q');
      await store.queue.nack(d?.receipt ?? '', { deadLetter: true });
      assert.equal(await store.queue.redrive('q'), 1);
      assert.deepEqual(await store.queue.send('q', { body: 2, dedupId: 'k' }), [a]);
      const [again] = await store.queue.receive('q', { max: 5 });
      assert.deepEqual([again?.id, again?.body], [a, 1]);
      await store.queue.ack(again?.receipt ?? '');
      const [b] = await store.queue.send('q', { body: 3, dedupId: 'k' });
      assert.notEqual(b, a);
    },
  },
  'concurrent-receivers-never-share': {
    ...on,
    timeoutMs: 60_000,
    async run({ store }) {
      const total = 200;
      await store.queue.send(
        'q',
        Array.from({ length: total }, (_, i) => ({ body: i })),
      );
      const got: number[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (;;) {
            const ds = await store.queue.receive('q', { max: 7, visibilityTimeoutMs: 60_000 });
            if (ds.length === 0) return;
            for (const d of ds) {
              got.push(d.body as number);
              await store.queue.ack(d.receipt);
            }
          }
        }),
      );
      assert.equal(got.length, total, 'every message delivered');
      assert.equal(new Set(got).size, total, 'no message delivered twice');
    },
  },
  'concurrent-acks-of-one-receipt-one-wins': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', { body: 1 });
      const [d] = await store.queue.receive('q');
      const tries = await Promise.allSettled(Array.from({ length: 6 }, () => store.queue.ack(d?.receipt ?? '')));
      assert.equal(tries.filter((t) => t.status === 'fulfilled').length, 1);
      for (const t of tries) if (t.status === 'rejected') assert.equal((t.reason as { code: string }).code, 'STALE_RECEIPT');
    },
  },
  'next-visible.states': {
    ...on,
    async run({ store }) {
      assert.equal(await store.queue.nextVisibleInMs('q'), null, 'an empty queue has nothing to wait for');
      await store.queue.send('q', { body: 1 }, { delayMs: 60_000 });
      const delayed = await store.queue.nextVisibleInMs('q');
      assert.ok(delayed !== null && delayed > 50_000 && delayed <= 60_000, `a message delayed 60 s is visible in ${delayed} ms`);
      await store.queue.send('q', { body: 2 });
      assert.equal(await store.queue.nextVisibleInMs('q'), 0, 'a ready message is visible now');
      const [d] = await store.queue.receive('q', { visibilityTimeoutMs: 20_000 });
      assert.equal(d?.body, 2);
      const inFlight = await store.queue.nextVisibleInMs('q');
      assert.ok(inFlight !== null && inFlight > 10_000 && inFlight <= 20_000, `an in-flight message (20 s) is visible again in ${inFlight} ms`);
      await store.queue.nack(d?.receipt ?? '', { deadLetter: true });
      const afterDeadLetter = await store.queue.nextVisibleInMs('q');
      assert.ok(afterDeadLetter !== null && afterDeadLetter > 20_000, `dead letters do not count; the delayed one is left (${afterDeadLetter} ms)`);
      assert.equal(await store.queue.nextVisibleInMs('other'), null, 'other queues do not count');
      await store.queue.purge('q');
      assert.equal(await store.queue.nextVisibleInMs('q'), null);
      await rejects(store.queue.nextVisibleInMs(''), 'VALIDATION');
    },
  },
  // A worker with default options wakes when a message becomes visible, not a poll interval later.
  'consume.delayed-send-wakes-worker': {
    ...on,
    async run({ store }) {
      const stop = new AbortController();
      const seen: number[] = [];
      const worker = consume(store, 'q', () => void seen.push(Date.now()), { signal: stop.signal });
      await sleep(50);
      const sent = Date.now();
      await store.queue.send('q', { body: 1 }, { delayMs: 150 });
      try {
        await eventually(() => seen.length === 1, 3000, 'the delayed message to reach the handler');
        const latency = (seen[0] ?? 0) - sent;
        assert.ok(latency >= 140 && latency < 1500, `handled ${latency} ms after a send delayed by 150 ms`);
      } finally {
        stop.abort();
        await worker;
      }
    },
  },
  'consume.retries-follow-retry-base': {
    ...on,
    async run({ store }) {
      const stop = new AbortController();
      const attempts: number[] = [];
      await store.queue.send('q', { body: 1 });
      const started = Date.now();
      const worker = consume(
        store,
        'q',
        () => {
          attempts.push(Date.now() - started);
          throw new Error('failing on purpose');
        },
        { signal: stop.signal, retryBaseMs: 20 },
      );
      try {
        await eventually(() => attempts.length === 3, 3000, `three attempts with retryBaseMs 20 (saw ${attempts.length})`);
        assert.ok((attempts[2] ?? 0) < 1500, `attempts at ${attempts.join(', ')} ms`);
      } finally {
        stop.abort();
        await worker;
      }
    },
  },
  'consume.expired-visibility-wakes-worker': {
    ...on,
    async run({ store }) {
      await store.queue.send('q', { body: 1 });
      // Another worker took it and died: it comes back once its visibility timeout passes.
      const [lost] = await store.queue.receive('q', { visibilityTimeoutMs: 200 });
      assert.ok(lost);
      const taken = Date.now();
      const stop = new AbortController();
      const seen: number[] = [];
      // A long poll interval: only the visibility timeout's end can wake the worker in time.
      const worker = consume(store, 'q', () => void seen.push(Date.now()), { signal: stop.signal, pollIntervalMs: 60_000 });
      try {
        await eventually(() => seen.length === 1, 3000, 'the expired message to be redelivered');
        const latency = (seen[0] ?? 0) - taken;
        assert.ok(latency >= 190 && latency < 1500, `redelivered ${latency} ms after a 200 ms visibility timeout`);
      } finally {
        stop.abort();
        await worker;
      }
    },
  },
  'consume.nack-delay-wakes-worker': {
    ...on,
    async run({ store }) {
      const stop = new AbortController();
      const attempts: number[] = [];
      await store.queue.send('q', { body: 1 });
      const started = Date.now();
      // A long poll interval: only the end of the nack's delay can wake the worker for the retry.
      const worker = consume(
        store,
        'q',
        () => {
          attempts.push(Date.now() - started);
          if (attempts.length === 1) throw new Error('failing once on purpose');
        },
        { signal: stop.signal, retryBaseMs: 200, pollIntervalMs: 60_000 },
      );
      try {
        await eventually(() => attempts.length === 2, 3000, 'the nacked message to be retried');
        const gap = (attempts[1] ?? 0) - (attempts[0] ?? 0);
        assert.ok(gap >= 90 && gap < 1500, `retried ${gap} ms after a nack delayed 100–200 ms`);
      } finally {
        stop.abort();
        await worker;
      }
    },
  },
  'not-supported': {
    requires: (c) => !c.queue,
    async run(ctx) {
      const before = await fingerprint(ctx);
      const q = ctx.store.queue;
      await rejects(q.send('q', { body: 1 }), 'NOT_SUPPORTED');
      await rejects(q.receive('q'), 'NOT_SUPPORTED');
      await rejects(q.ack('r'), 'NOT_SUPPORTED');
      await rejects(q.ackMany(['r']), 'NOT_SUPPORTED');
      await rejects(q.nack('r'), 'NOT_SUPPORTED');
      await rejects(q.extendVisibility('r', 1), 'NOT_SUPPORTED');
      await rejects(q.stats('q'), 'NOT_SUPPORTED');
      await rejects(q.nextVisibleInMs('q'), 'NOT_SUPPORTED');
      await rejects(q.deadLetters('q'), 'NOT_SUPPORTED');
      await rejects(q.redrive('q'), 'NOT_SUPPORTED');
      await rejects(q.purge('q'), 'NOT_SUPPORTED');
      assert.deepEqual(await fingerprint(ctx), before);
    },
  },
});
