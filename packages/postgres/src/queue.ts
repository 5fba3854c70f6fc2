import {
  ConnectionError,
  DEAD_LETTER_REASONS,
  type DeadLetter,
  type Delivery,
  isStrataError,
  isUuid,
  type JsonValue,
  type MessageHeaders,
  type MessageQueue,
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
import { sql } from 'drizzle-orm';
import { epochMs, NOW, type PgContext } from './context.js';
import { assertFitsJsonb } from './limits.js';

interface DeliveryRow {
  id: string;
  queue: string;
  body: JsonValue;
  headers: MessageHeaders;
  attempt: number;
  max_attempts: number;
  receipt: string | null;
  dead: boolean;
  enqueued: number;
  visible: number;
  priority: number;
  seq: string;
}

/**
 * The error of a later round of a send whose first round already stored messages: a retry would store
 * those again, so a lost connection or a timeout here has an unknown outcome, whatever it says.
 */
function partlySent(error: unknown, queue: string): unknown {
  if (!isStrataError(error) || (error.code !== 'CONNECTION' && error.code !== 'TIMEOUT')) return error;
  return new ConnectionError(
    `queue.send on queue ${JSON.stringify(queue)}: part of the batch was sent before the call failed (${error.code}); the rest may or may not have been`,
    {
      cause: error,
      outcomeUnknown: true,
      retryable: error.retryable,
    },
  );
}

/** The PostgreSQL message queue: `FOR UPDATE SKIP LOCKED` claims, visibility as a timestamp. */
export function pgQueue(ctx: PgContext): MessageQueue {
  const { messages: table } = ctx.names;

  /**
   * The queue note of a statement (LISTEN/NOTIFY wake-ups): a `where` evaluated once, before its rows are
   * written. `first`, the statement's first message, queues the commit trigger; without it (the rows that
   * will be written are not known) the note is also sent at once.
   */
  const note = (queue: string, first: string | undefined) =>
    ctx.settings.notify === 'never'
      ? sql``
      : sql` where (select ${ctx.names.noteQueue}(${queue}, ${first ?? null}::uuid, ${first === undefined}, ${ctx.settings.notify === 'always'}))`;

  /** Sends and returns ids, `null` where a dedup id belongs to a message another transaction is still committing. */
  const insert = async (queue: string, list: ReturnType<typeof validateSend>['messages']): Promise<(string | null)[]> => {
    const subject = { operation: 'queue.send', queue };
    const single = list.length === 1 ? list[0] : undefined;
    if (single !== undefined && single.dedupId === undefined) {
      // The common case, one message without a dedup id: a plain insert with bound values.
      const body = JSON.stringify(single.body);
      assertFitsJsonb(body, () => single.body, 'messages[0].body');
      await ctx.run(
        subject,
        sql`insert into ${table} (id, queue, body, headers, priority, max_attempts, visible_at, enqueued_at)
            select ${single.id}::uuid, ${queue}, ${body}::jsonb, ${JSON.stringify(single.headers)}::jsonb,
                   ${single.priority}, ${single.maxAttempts}, ${NOW} + ${single.delayMs}::float8 * interval '1 millisecond', ${NOW}${note(queue, single.id)}`,
      );
      return [single.id];
    }
    const first = list[0];
    const uniform =
      first !== undefined &&
      list.every(
        (m) =>
          m.dedupId === undefined &&
          m.priority === first.priority &&
          m.maxAttempts === first.maxAttempts &&
          m.delayMs === first.delayMs &&
          (m.headers === first.headers || JSON.stringify(m.headers) === JSON.stringify(first.headers)),
      );
    if (uniform) {
      // The common batch, messages that differ only in their bodies: ids as one uuid array, bodies as one
      // jsonb array, the rest bound once (about twice as fast on the server as a jsonb object per message).
      const bodies = list.map((m) => m.body);
      const payload = JSON.stringify(bodies);
      assertFitsJsonb(payload, () => bodies as unknown as JsonValue, 'messages');
      await ctx.run(
        subject,
        sql`insert into ${table} (id, queue, body, headers, priority, max_attempts, visible_at, enqueued_at)
            select t.id, ${queue}, t.body, ${JSON.stringify(first.headers)}::jsonb, ${first.priority}, ${first.maxAttempts},
                   ${NOW} + ${first.delayMs}::float8 * interval '1 millisecond', ${NOW}
            from rows from (unnest(${`{${list.map((m) => m.id).join(',')}}`}::uuid[]), jsonb_array_elements(${payload}::jsonb)) with ordinality as t(id, body, ord)${note(queue, first.id)}
            order by t.ord`,
      );
      return list.map((m) => m.id);
    }
    const batch = list.map((m) => ({
      id: m.id,
      body: m.body,
      headers: m.headers,
      priority: m.priority,
      maxAttempts: m.maxAttempts,
      dedupId: m.dedupId ?? null,
      delayMs: m.delayMs,
    }));
    const payload = JSON.stringify(batch);
    // The batch travels as one jsonb array.
    assertFitsJsonb(payload, () => batch as unknown as JsonValue, 'messages');
    const input = sql`select ord, (m->>'id')::uuid as id, m->'body' as body, m->'headers' as headers,
                             (m->>'priority')::int as priority, (m->>'maxAttempts')::int as max_attempts,
                             m->>'dedupId' as dedup_id, (m->>'delayMs')::float8 as delay_ms
                      from jsonb_array_elements(${payload}::jsonb) with ordinality as t(m, ord)`;
    if (list.every((m) => m.dedupId === undefined)) {
      await ctx.run(
        subject,
        sql`insert into ${table} (id, queue, body, headers, priority, max_attempts, visible_at, enqueued_at)
            select id, ${queue}, body, headers, priority, max_attempts, ${NOW} + delay_ms * interval '1 millisecond', ${NOW}
            from (${input}) as input${note(queue, list[0]?.id)} order by ord`,
      );
      return list.map((m) => m.id);
    }
    // Dedup ids: skip those already queued (or sent earlier in this batch) and return their ids.
    const rows = await ctx.run<{ id: string | null }>(
      subject,
      sql`with input as (${input}),
          ins as (
            insert into ${table} (id, queue, body, headers, priority, max_attempts, dedup_id, visible_at, enqueued_at)
            select id, ${queue}, body, headers, priority, max_attempts, dedup_id, ${NOW} + delay_ms * interval '1 millisecond', ${NOW}
            from input${note(queue, undefined)} order by ord
            on conflict (queue, dedup_id) where dedup_id is not null do nothing
            returning id, dedup_id
          )
          select coalesce(mine.id, batch.id, queued.id)::text as id
          from input
          left join ins mine on mine.id = input.id
          left join ins batch on input.dedup_id is not null and batch.dedup_id = input.dedup_id
          left join ${table} queued on input.dedup_id is not null and queued.queue = ${queue} and queued.dedup_id = input.dedup_id
          order by input.ord`,
    );
    return rows.map((r) => r.id);
  };

  return {
    async send(queue, messages, options) {
      ctx.check('queue.send');
      const input = validateSend(queue, messages, options, ctx.settings.maxAttempts, ctx.settings.maxPayloadBytes);
      const ids = await insert(input.queue, input.messages);
      // A dedup id held by a message another transaction was committing: send those again, now that
      // it has committed (or rolled back), to get its id or to insert ours.
      for (let round = 0; round < 5 && ids.some((id) => id === null); round++) {
        const pending = input.messages.filter((_, i) => ids[i] === null);
        let retried: (string | null)[];
        try {
          retried = await insert(input.queue, pending);
        } catch (error) {
          throw partlySent(error, input.queue);
        }
        let k = 0;
        for (let i = 0; i < ids.length; i++) if (ids[i] === null) ids[i] = retried[k++] ?? null;
      }
      ctx.announce({ kind: 'queue', queue: input.queue });
      return ids.map((id) => id ?? '');
    },

    async receive(queue, options) {
      ctx.check('queue.receive');
      const o = validateReceive(queue, options);
      const out: Delivery[] = [];
      for (;;) {
        const want = o.max - out.length;
        const rows = await ctx.run<DeliveryRow>(
          { operation: 'queue.receive', queue: o.queue },
          sql`select id::text as id, queue, body, headers, attempt, max_attempts, receipt::text as receipt, dead,
                     ${epochMs('enqueued_at')} as enqueued, ${epochMs('visible_at')} as visible, priority, seq::text as seq
              from ${ctx.names.claimMessages}(${o.queue}, ${want}, ${o.visibilityTimeoutMs}, ${DEAD_LETTER_REASONS.attemptsExhausted})`,
        );
        const live = rows.filter((r) => !r.dead).sort((a, b) => b.priority - a.priority || (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
        for (const r of live) {
          out.push({
            id: r.id,
            queue: r.queue,
            body: r.body,
            headers: r.headers,
            attempt: r.attempt,
            maxAttempts: r.max_attempts,
            receipt: r.receipt ?? '',
            enqueuedAt: new Date(r.enqueued),
            visibleUntil: new Date(r.visible),
          });
        }
        // Messages whose attempts had run out were dead-lettered instead: look for more to deliver.
        if (rows.length === live.length || out.length >= o.max || rows.length < want) return out;
      }
    },

    async ack(receipt) {
      ctx.check('queue.ack');
      const r = validateReceipt(receipt);
      const rows = await ctx.run<{ ok: number }>(
        { operation: 'queue.ack' },
        sql`delete from ${table} where receipt = ${r}::uuid and not dead and visible_at > ${NOW} returning 1 as ok`,
      );
      if (rows.length === 0) throw new StaleReceiptError('queue.ack');
    },

    async ackMany(receipts) {
      ctx.check('queue.ackMany');
      const list = validateReceipts(receipts);
      const candidates = [...new Set(list.filter(isUuid).map((r) => r.toLowerCase()))];
      const rows =
        candidates.length === 0
          ? []
          : await ctx.run<{ receipt: string }>(
              { operation: 'queue.ackMany' },
              sql`delete from ${table} where receipt = any(${`{${candidates.join(',')}}`}::uuid[])
                  and not dead and visible_at > ${NOW} returning receipt::text as receipt`,
            );
      const done = new Set(rows.map((r) => r.receipt));
      const stale: string[] = [];
      for (const r of list) {
        const key = r.toLowerCase();
        if (done.has(key)) done.delete(key);
        else stale.push(r);
      }
      return { acked: rows.length, stale };
    },

    async nack(receipt, options) {
      ctx.check('queue.nack');
      const r = validateReceipt(receipt);
      const o = validateNack(options);
      const rows = await ctx.run<{ queue: string; dead: boolean }>(
        { operation: 'queue.nack' },
        sql`with nacked as (update ${table} set
              dead = ${o.deadLetter} or attempt >= max_attempts,
              dead_lettered_at = case when ${o.deadLetter} or attempt >= max_attempts then ${NOW} end,
              reason = case
                when ${o.deadLetter} then coalesce(${o.reason}::text, ${DEAD_LETTER_REASONS.nackedToDeadLetter})
                when attempt >= max_attempts then coalesce(${o.reason}::text, ${DEAD_LETTER_REASONS.nackedOnLastAttempt})
                else coalesce(${o.reason}::text, reason) end,
              visible_at = case when ${o.deadLetter} or attempt >= max_attempts then visible_at
                                else ${NOW} + ${o.delayMs}::float8 * interval '1 millisecond' end,
              receipt = null
            where receipt = ${r}::uuid and not dead and visible_at > ${NOW}
            returning queue, dead)
            select queue, dead${ctx.settings.notify === 'never' ? sql`` : sql`, case when not dead then ${ctx.names.noteQueue}(queue, null, true, ${ctx.settings.notify === 'always'}) end as n`} from nacked`,
      );
      const row = rows[0];
      if (row === undefined) throw new StaleReceiptError('queue.nack');
      if (!row.dead) ctx.announce({ kind: 'queue', queue: row.queue });
    },

    async extendVisibility(receipt, ms) {
      ctx.check('queue.extendVisibility');
      const r = validateReceipt(receipt);
      const duration = validateVisibilityExtension(ms);
      const rows = await ctx.run<{ ok: number }>(
        { operation: 'queue.extendVisibility' },
        sql`update ${table} set visible_at = ${NOW} + ${duration}::float8 * interval '1 millisecond'
            where receipt = ${r}::uuid and not dead and visible_at > ${NOW} returning 1 as ok`,
      );
      if (rows.length === 0) throw new StaleReceiptError('queue.extendVisibility');
    },

    async stats(queue) {
      ctx.check('queue.stats');
      const name = validateQueueName(queue);
      const [row] = await ctx.run<{ ready: number; in_flight: number; delayed: number; dead: number; oldest: number | null }>(
        { operation: 'queue.stats', queue: name },
        sql`select ready, in_flight, delayed, dead, oldest from ${ctx.names.queueStats}(${name})`,
      );
      return {
        ready: row?.ready ?? 0,
        inFlight: row?.in_flight ?? 0,
        delayed: row?.delayed ?? 0,
        deadLettered: row?.dead ?? 0,
        oldestReadyAgeMs: row?.oldest == null ? null : Math.max(0, row.oldest),
      };
    },

    async nextVisibleInMs(queue) {
      ctx.check('queue.nextVisibleInMs');
      const name = validateQueueName(queue);
      const [row] = await ctx.run<{ wait: number | null }>(
        { operation: 'queue.nextVisibleInMs', queue: name },
        sql`select ceil(extract(epoch from (min(visible_at) - ${NOW})) * 1000)::float8 as wait
            from ${table} where queue = ${name} and not dead`,
      );
      return row?.wait == null ? null : Math.max(0, row.wait);
    },

    async deadLetters(queue, options) {
      ctx.check('queue.deadLetters');
      const name = validateQueueName(queue);
      const limit = validateLimit((options as { limit?: unknown } | undefined)?.limit, 'options.limit') ?? 100;
      const rows = await ctx.run<{
        id: string;
        body: JsonValue;
        headers: MessageHeaders;
        attempt: number;
        reason: string | null;
        enqueued: number;
        dead_at: number;
      }>(
        { operation: 'queue.deadLetters', queue: name },
        sql`select id::text as id, body, headers, attempt, reason, ${epochMs('enqueued_at')} as enqueued, ${epochMs('dead_lettered_at')} as dead_at
            from ${table} where queue = ${name} and dead order by dead_lettered_at, seq limit ${limit}`,
      );
      return rows.map(
        (r): DeadLetter => ({
          id: r.id,
          queue: name,
          body: r.body,
          headers: r.headers,
          attempt: r.attempt,
          reason: r.reason,
          enqueuedAt: new Date(r.enqueued),
          deadLetteredAt: new Date(r.dead_at),
        }),
      );
    },

    async redrive(queue, ids) {
      ctx.check('queue.redrive');
      const name = validateQueueName(queue);
      const wanted = validateMessageIds(ids);
      const only = wanted === undefined ? sql`` : sql` and id in (select jsonb_array_elements_text(${JSON.stringify(wanted.filter(isUuid))}::jsonb)::uuid)`;
      const [row] = await ctx.run<{ n: number }>(
        { operation: 'queue.redrive', queue: name },
        sql`with moved as (
              update ${table} set dead = false, attempt = 0, receipt = null, visible_at = ${NOW}, reason = null, dead_lettered_at = null
              where queue = ${name} and dead${only} returning 1
            ) select count(*)::int as n${ctx.settings.notify === 'never' ? sql`` : sql`, case when count(*) > 0 then ${ctx.names.noteQueue}(${name}, null, true, ${ctx.settings.notify === 'always'}) end as note`} from moved`,
      );
      const moved = row?.n ?? 0;
      if (moved > 0) ctx.announce({ kind: 'queue', queue: name });
      return moved;
    },

    async purge(queue) {
      ctx.check('queue.purge');
      const name = validateQueueName(queue);
      const [row] = await ctx.run<{ n: number }>(
        { operation: 'queue.purge', queue: name },
        sql`with gone as (delete from ${table} where queue = ${name} returning 1) select count(*)::int as n from gone`,
      );
      return row?.n ?? 0;
    },
  };
}
