import { type EventRecord, exportCursorAfter, type MessageRecord, type QueueStats, type StrataStore, validateQueueName } from '@strata/core';
import { type Context, withStore } from '../context.js';
import { Failure, UsageError } from '../failure.js';
import { confirm } from '../io.js';
import { cell, date, number, table } from '../output.js';

function checkName(queue: string): void {
  try {
    validateQueueName(queue);
  } catch {
    throw new UsageError(`${JSON.stringify(queue)} is not a valid queue name`);
  }
}

const total = (s: QueueStats) => s.ready + s.inFlight + s.delayed + s.deadLettered;

/**
 * The queue's stats, refusing a queue that holds no message in any state: the contract keeps no list of
 * queues, so an empty queue and a name never used (a typo) look the same, and a typo must not pass.
 */
async function knownQueue(store: StrataStore, queue: string): Promise<QueueStats> {
  checkName(queue);
  const stats = await store.queue.stats(queue);
  if (total(stats) === 0) throw new Failure(`no queue ${JSON.stringify(queue)}: no message, live or dead-lettered, is stored under that name`);
  return stats;
}

/** `strata queue stats <queue>`. */
export async function queueStatsCommand(ctx: Context, queue: string): Promise<number> {
  return withStore(ctx, false, async (store) => {
    const stats = await knownQueue(store, queue);
    ctx.out.result({ queue, ...stats }, () =>
      table(
        [
          { header: 'queue' },
          { header: 'ready', right: true },
          { header: 'in flight', right: true },
          { header: 'delayed', right: true },
          { header: 'dead', right: true },
          { header: 'oldest ready', right: true },
        ],
        [
          [
            queue,
            number(stats.ready),
            number(stats.inFlight),
            number(stats.delayed),
            number(stats.deadLettered),
            stats.oldestReadyAgeMs === null ? '-' : `${(stats.oldestReadyAgeMs / 1000).toFixed(1)} s`,
          ],
        ],
      ),
    );
    return 0;
  });
}

/** A live message as `queue peek` shows it. */
interface PeekedMessage {
  id: string;
  state: 'ready' | 'in flight' | 'delayed';
  priority: number;
  attempt: number;
  maxAttempts: number;
  enqueuedAt: Date;
  visibleAt: Date;
  reason: string | null;
  headers: unknown;
  body?: unknown;
}

/** Receive order: higher priority first, then first in. */
const before = (a: MessageRecord, b: MessageRecord) => (a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq);

/**
 * The first `limit` live messages of the queue in receive order, read from the transfer contract's
 * export (never `receive`, which would claim them). The export starts after the last event, so that
 * only snapshots are read on the way to the messages; it keeps the best `limit` in memory.
 */
async function peek(store: StrataStore, queue: string, limit: number): Promise<MessageRecord[]> {
  const head = await store.events.headPosition();
  const after = exportCursorAfter({ kind: 'event', position: head } as EventRecord);
  const best: MessageRecord[] = [];
  for await (const batch of store.transfer.export({ after, batchSize: 1000 })) {
    if (batch.kind === 'checkpoint') break;
    if (batch.kind !== 'message') continue;
    for (const m of batch.records as MessageRecord[]) {
      if (m.queue !== queue || m.dead) continue;
      const at = best.findIndex((b) => before(m, b));
      if (at === -1) {
        if (best.length < limit) best.push(m);
      } else {
        best.splice(at, 0, m);
        if (best.length > limit) best.pop();
      }
    }
  }
  return best;
}

function view(m: MessageRecord, now: number, withData: boolean): PeekedMessage {
  const state = m.visibleAt > now ? (m.receipt === null ? 'delayed' : 'in flight') : 'ready';
  return {
    id: m.id,
    state,
    priority: m.priority,
    attempt: m.attempt,
    maxAttempts: m.maxAttempts,
    enqueuedAt: new Date(m.enqueuedAt),
    visibleAt: new Date(m.visibleAt),
    reason: m.reason,
    headers: JSON.parse(m.headers) as unknown,
    ...(withData ? { body: JSON.parse(m.body) as unknown } : {}),
  };
}

/** `strata queue peek <queue> [--limit n] [--data]`: ready, delayed and in-flight messages, unclaimed. */
export async function queuePeekCommand(ctx: Context, queue: string, options: { limit: number; data: boolean }): Promise<number> {
  return withStore(ctx, false, async (store) => {
    const stats = await knownQueue(store, queue);
    const now = Date.now();
    const messages = (await peek(store, queue, options.limit)).map((m) => view(m, now, options.data));
    ctx.out.result({ queue, stats, messages }, () => {
      if (messages.length === 0) return `Queue ${JSON.stringify(queue)} holds no live message (${number(stats.deadLettered)} dead-lettered).`;
      const columns = [
        { header: 'id' },
        { header: 'state' },
        { header: 'priority', right: true },
        { header: 'attempt', right: true },
        { header: 'enqueued at' },
        { header: 'visible at' },
        { header: 'headers' },
      ];
      if (options.data) columns.push({ header: 'body' });
      const rows = messages.map((m) => {
        const r = [m.id, m.state, String(m.priority), `${m.attempt}/${m.maxAttempts}`, date(m.enqueuedAt), date(m.visibleAt), cell(m.headers, 40)];
        if (options.data) r.push(JSON.stringify(m.body));
        return r;
      });
      const live = stats.ready + stats.inFlight + stats.delayed;
      const text = table(columns, rows);
      return messages.length < live ? `${text}\n(first ${number(messages.length)} of ${number(live)} in receive order; raise --limit for more)` : text;
    });
    return 0;
  });
}

/** `strata queue dead-letters <queue> [--limit n] [--data]`. */
export async function queueDeadLettersCommand(ctx: Context, queue: string, options: { limit: number; data: boolean }): Promise<number> {
  return withStore(ctx, false, async (store) => {
    const stats = await knownQueue(store, queue);
    const dead = await store.queue.deadLetters(queue, { limit: options.limit });
    const shown = dead.map(({ body, ...rest }) => (options.data ? { ...rest, body } : rest));
    ctx.out.result({ queue, deadLettered: stats.deadLettered, deadLetters: shown }, () => {
      if (dead.length === 0) return `Queue ${JSON.stringify(queue)} has no dead letters.`;
      const columns = [{ header: 'id' }, { header: 'attempts', right: true }, { header: 'enqueued at' }, { header: 'dead since' }, { header: 'reason' }];
      if (options.data) columns.push({ header: 'body' });
      const rows = dead.map((d) => {
        const r = [d.id, String(d.attempt), date(d.enqueuedAt), date(d.deadLetteredAt), d.reason ?? '-'];
        if (options.data) r.push(JSON.stringify(d.body));
        return r;
      });
      const text = table(columns, rows);
      return dead.length < stats.deadLettered ? `${text}\n(oldest ${number(dead.length)} of ${number(stats.deadLettered)}; raise --limit for more)` : text;
    });
    return 0;
  });
}

/** `strata queue redrive <queue> [--id id …]`: dead letters back as fresh messages, after confirmation. */
export async function queueRedriveCommand(ctx: Context, queue: string, ids: string[] | undefined): Promise<number> {
  return withStore(ctx, true, async (store) => {
    const stats = await knownQueue(store, queue);
    if (stats.deadLettered === 0) {
      ctx.out.result({ queue, redriven: 0 }, () => `Queue ${JSON.stringify(queue)} has no dead letters: nothing to redrive.`);
      if (ids !== undefined && ids.length > 0) {
        ctx.out.note(`none of the ${number(ids.length)} id(s) given named a dead letter of this queue.`);
        return 1;
      }
      return 0;
    }
    const what = ids === undefined ? `all ${number(stats.deadLettered)} dead letter(s)` : `${number(ids.length)} dead letter(s) by id`;
    await confirm(ctx.io, `Redrive ${what} of queue ${JSON.stringify(queue)}?`, ctx.yes);
    const redriven = await store.queue.redrive(queue, ids);
    ctx.out.result({ queue, redriven }, () => `Redrove ${number(redriven)} message(s) of queue ${JSON.stringify(queue)}.`);
    if (ids !== undefined && redriven < ids.length) {
      ctx.out.note(`${number(ids.length - redriven)} of the ids given named no dead letter of this queue.`);
      return 1;
    }
    return 0;
  });
}

/** `strata queue purge <queue>`: deletes every message of the queue, after confirmation. */
export async function queuePurgeCommand(ctx: Context, queue: string): Promise<number> {
  return withStore(ctx, true, async (store) => {
    const s = await knownQueue(store, queue);
    await confirm(
      ctx.io,
      `Delete all ${number(total(s))} message(s) of queue ${JSON.stringify(queue)} (${number(s.ready)} ready, ${number(s.inFlight)} in flight, ${number(s.delayed)} delayed, ${number(s.deadLettered)} dead)?`,
      ctx.yes,
    );
    const purged = await store.queue.purge(queue);
    ctx.out.result({ queue, purged }, () => `Purged ${number(purged)} message(s) of queue ${JSON.stringify(queue)}.`);
    return 0;
  });
}
