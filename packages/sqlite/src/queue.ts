import {
  DEAD_LETTER_REASONS,
  type DeadLetter,
  type Delivery,
  type MessageHeaders,
  type MessageQueue,
  randomId,
  StaleReceiptError,
  validateLimit,
  validateMessageIds,
  validateNack,
  validateQueueName,
  validateReceipt,
  validateReceipts,
  validateReceive,
  validateSend,
  validateVisibilityExtension,
} from '@strata/core';
import type { SqliteContext } from './connection.js';
import { parseJson } from './rows.js';

const SQL = {
  byDedup: 'SELECT id FROM strata_queue_messages WHERE queue = ? AND dedup_id = ?',
  insert: `INSERT INTO strata_queue_messages (id, queue, body, headers, priority, max_attempts, dedup_id, attempt, visible_at, receipt, dead, enqueued_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, 0, ?)`,
  ready: `SELECT seq, id, body, headers, attempt, max_attempts, reason, enqueued_at FROM strata_queue_messages
          WHERE queue = ? AND dead = 0 AND visible_at <= ? ORDER BY priority DESC, seq LIMIT ?`,
  take: 'UPDATE strata_queue_messages SET attempt = attempt + 1, receipt = ?, visible_at = ? WHERE seq = ?',
  exhaust: 'UPDATE strata_queue_messages SET dead = 1, receipt = NULL, reason = ?, dead_lettered_at = ? WHERE seq = ?',
  owned: 'SELECT seq, queue, attempt, max_attempts, reason FROM strata_queue_messages WHERE receipt = ? AND dead = 0 AND visible_at > ?',
  ack: 'DELETE FROM strata_queue_messages WHERE receipt = ? AND dead = 0 AND visible_at > ?',
  retry: 'UPDATE strata_queue_messages SET receipt = NULL, visible_at = ?, reason = ? WHERE seq = ?',
  extend: 'UPDATE strata_queue_messages SET visible_at = ? WHERE receipt = ? AND dead = 0 AND visible_at > ?',
  // The live rows through the ready index and the dead letters through the dead-letter index: filtered
  // on the queue alone, neither partial index applied and every queue's rows were scanned.
  stats: `SELECT
            coalesce(sum(CASE WHEN visible_at <= @now THEN 1 ELSE 0 END), 0) AS ready,
            coalesce(sum(CASE WHEN visible_at > @now AND receipt IS NOT NULL THEN 1 ELSE 0 END), 0) AS in_flight,
            coalesce(sum(CASE WHEN visible_at > @now AND receipt IS NULL THEN 1 ELSE 0 END), 0) AS delayed,
            (SELECT count(*) FROM strata_queue_messages WHERE queue = @queue AND dead = 1) AS dead,
            min(CASE WHEN visible_at <= @now THEN enqueued_at END) AS oldest
          FROM strata_queue_messages WHERE queue = @queue AND dead = 0`,
  nextVisible: 'SELECT min(visible_at) AS at FROM strata_queue_messages WHERE queue = ? AND dead = 0',
  dead: `SELECT id, body, headers, attempt, reason, enqueued_at, dead_lettered_at FROM strata_queue_messages
         WHERE queue = ? AND dead = 1 ORDER BY dead_lettered_at, seq LIMIT ?`,
  redriveAll: `UPDATE strata_queue_messages SET dead = 0, attempt = 0, receipt = NULL, visible_at = ?, reason = NULL, dead_lettered_at = NULL
               WHERE queue = ? AND dead = 1`,
  redriveSome: `UPDATE strata_queue_messages SET dead = 0, attempt = 0, receipt = NULL, visible_at = ?, reason = NULL, dead_lettered_at = NULL
                WHERE queue = ? AND dead = 1 AND id IN (SELECT value FROM json_each(?))`,
  purge: 'DELETE FROM strata_queue_messages WHERE queue = ?',
};

/** A row of `SQL.ready` in raw mode: seq, id, body, headers, attempt, max attempts, reason, enqueued at. */
type ReadyRow = [seq: number, id: string, body: string, headers: string, attempt: number, maxAttempts: number, reason: string | null, enqueuedAt: number];

/** The SQLite message queue: claims inside an IMMEDIATE transaction, so processes never share a delivery. */
export function sqliteQueue(ctx: SqliteContext): MessageQueue {
  const S = ctx.sql;
  return {
    async send(queue, messages, options) {
      ctx.check('queue.send');
      const input = validateSend(queue, messages, options, ctx.settings.maxAttempts, ctx.settings.maxPayloadBytes);
      return ctx.write({ operation: 'queue.send', queue: input.queue }, (announce) => {
        const now = Date.now();
        const insert = S.get(SQL.insert);
        const ids = input.messages.map((m) => {
          if (m.dedupId !== undefined) {
            const existing = S.get(SQL.byDedup).get(input.queue, m.dedupId) as { id: string } | undefined;
            if (existing !== undefined) return existing.id;
          }
          insert.run(m.id, input.queue, JSON.stringify(m.body), JSON.stringify(m.headers), m.priority, m.maxAttempts, m.dedupId ?? null, now + m.delayMs, now);
          return m.id;
        });
        announce({ kind: 'queue', queue: input.queue });
        return ids;
      });
    },

    async receive(queue, options) {
      ctx.check('queue.receive');
      const o = validateReceive(queue, options);
      return ctx.write({ operation: 'queue.receive', queue: o.queue }, () => {
        const now = Date.now();
        const take = S.get(SQL.take);
        const out: Delivery[] = [];
        for (;;) {
          const want = o.max - out.length;
          const rows = S.rows(SQL.ready).all(o.queue, now, want) as ReadyRow[];
          let deadLettered = false;
          for (const r of rows) {
            const seq = r[0];
            const attempt = r[4];
            const maxAttempts = r[5];
            if (attempt >= maxAttempts) {
              S.get(SQL.exhaust).run(r[6] ?? DEAD_LETTER_REASONS.attemptsExhausted, now, seq);
              deadLettered = true;
              continue;
            }
            const id = r[1];
            const receipt = randomId();
            const visibleUntil = now + o.visibilityTimeoutMs;
            take.run(receipt, visibleUntil, seq);
            // Stryker disable next-line all: the name `parseJson` gives stored JSON it cannot parse, which takes a corrupted database file: no correct use of the contracts on a healthy database gets there (errors.test.ts covers it)
            const what = () => `message ${id} of queue ${JSON.stringify(o.queue)}`;
            out.push({
              id,
              queue: o.queue,
              body: parseJson(r[2], what),
              headers: parseJson<MessageHeaders>(r[3], what),
              attempt: attempt + 1,
              maxAttempts,
              receipt,
              enqueuedAt: new Date(r[7]),
              visibleUntil: new Date(visibleUntil),
            });
          }
          // Messages whose attempts ran out were dead-lettered instead of delivered: look for more to deliver
          // (after a short page, the look finds nothing).
          if (!deadLettered) return out;
        }
      });
    },

    async ack(receipt) {
      ctx.check('queue.ack');
      const r = validateReceipt(receipt);
      await ctx.write({ operation: 'queue.ack' }, () => {
        if (S.get(SQL.ack).run(r, Date.now()).changes === 0) throw new StaleReceiptError('queue.ack');
      });
    },

    async ackMany(receipts) {
      ctx.check('queue.ackMany');
      const list = validateReceipts(receipts);
      return ctx.write({ operation: 'queue.ackMany' }, () => {
        const now = Date.now();
        const stale: string[] = [];
        let acked = 0;
        const ack = S.get(SQL.ack);
        for (const r of list) {
          if (ack.run(r, now).changes === 1) acked++;
          else stale.push(r);
        }
        return { acked, stale };
      });
    },

    async nack(receipt, options) {
      ctx.check('queue.nack');
      const r = validateReceipt(receipt);
      const o = validateNack(options);
      await ctx.write({ operation: 'queue.nack' }, (announce) => {
        const now = Date.now();
        const row = S.get(SQL.owned).get(r, now) as { seq: number; queue: string; attempt: number; max_attempts: number; reason: string | null } | undefined;
        if (row === undefined) throw new StaleReceiptError('queue.nack');
        if (o.deadLetter || row.attempt >= row.max_attempts) {
          const reason = o.reason ?? (o.deadLetter ? DEAD_LETTER_REASONS.nackedToDeadLetter : DEAD_LETTER_REASONS.nackedOnLastAttempt);
          S.get(SQL.exhaust).run(reason, now, row.seq);
        } else {
          S.get(SQL.retry).run(now + o.delayMs, o.reason ?? row.reason, row.seq);
          announce({ kind: 'queue', queue: row.queue });
        }
      });
    },

    async extendVisibility(receipt, ms) {
      ctx.check('queue.extendVisibility');
      const r = validateReceipt(receipt);
      const duration = validateVisibilityExtension(ms);
      await ctx.write({ operation: 'queue.extendVisibility' }, () => {
        const now = Date.now();
        if (S.get(SQL.extend).run(now + duration, r, now).changes === 0) throw new StaleReceiptError('queue.extendVisibility');
      });
    },

    async stats(queue) {
      ctx.check('queue.stats');
      const name = validateQueueName(queue);
      return ctx.read({ operation: 'queue.stats', queue: name }, () => {
        const now = Date.now();
        const row = S.get(SQL.stats).get({ now, queue: name }) as { ready: number; in_flight: number; delayed: number; dead: number; oldest: number | null };
        return {
          ready: row.ready,
          inFlight: row.in_flight,
          delayed: row.delayed,
          deadLettered: row.dead,
          oldestReadyAgeMs: row.oldest === null ? null : Math.max(0, now - row.oldest),
        };
      });
    },

    async nextVisibleInMs(queue) {
      ctx.check('queue.nextVisibleInMs');
      const name = validateQueueName(queue);
      return ctx.read({ operation: 'queue.nextVisibleInMs', queue: name }, () => {
        const row = S.get(SQL.nextVisible).get(name) as { at: number | null };
        return row.at === null ? null : Math.max(0, row.at - Date.now());
      });
    },

    async deadLetters(queue, options) {
      ctx.check('queue.deadLetters');
      const name = validateQueueName(queue);
      const limit = validateLimit((options as { limit?: unknown } | undefined)?.limit, 'options.limit') ?? 100;
      const rows = await ctx.read(
        { operation: 'queue.deadLetters', queue: name },
        () =>
          S.get(SQL.dead).all(name, limit) as {
            id: string;
            body: string;
            headers: string;
            attempt: number;
            reason: string | null;
            enqueued_at: number;
            dead_lettered_at: number;
          }[],
      );
      return rows.map((r): DeadLetter => {
        // Stryker disable next-line all: the name `parseJson` gives stored JSON it cannot parse, which takes a corrupted database file: no correct use of the contracts on a healthy database gets there (errors.test.ts covers it)
        const what = () => `message ${r.id} of queue ${JSON.stringify(name)}`;
        return {
          id: r.id,
          queue: name,
          body: parseJson(r.body, what),
          headers: parseJson<MessageHeaders>(r.headers, what),
          attempt: r.attempt,
          reason: r.reason,
          enqueuedAt: new Date(r.enqueued_at),
          deadLetteredAt: new Date(r.dead_lettered_at),
        };
      });
    },

    async redrive(queue, ids) {
      ctx.check('queue.redrive');
      const name = validateQueueName(queue);
      const wanted = validateMessageIds(ids);
      return ctx.write({ operation: 'queue.redrive', queue: name }, (announce) => {
        const now = Date.now();
        const moved =
          wanted === undefined ? S.get(SQL.redriveAll).run(now, name).changes : S.get(SQL.redriveSome).run(now, name, JSON.stringify(wanted)).changes;
        // A hint: when nothing moved, a woken worker looks and finds nothing.
        announce({ kind: 'queue', queue: name });
        return moved;
      });
    },

    async purge(queue) {
      ctx.check('queue.purge');
      const name = validateQueueName(queue);
      return ctx.write({ operation: 'queue.purge', queue: name }, () => S.get(SQL.purge).run(name).changes);
    },
  };
}
