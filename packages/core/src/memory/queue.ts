import { StaleReceiptError } from '../errors.js';
import { cloneJson } from '../json.js';
import type { DeadLetter, Delivery, MessageQueue, QueueStats } from '../queue/types.js';
import {
  DEAD_LETTER_REASONS,
  randomId,
  validateLimit,
  validateMessageIds,
  validateNack,
  validateQueueName,
  validateReceipt,
  validateReceipts,
  validateReceive,
  validateSend,
  validateVisibilityExtension,
} from '../validation.js';
import type { TablesAccess } from './access.js';
import type { MessageRow, Tables } from './tables.js';

/** The row a receipt owns right now, or a {@link StaleReceiptError}. */
function owned(t: Tables, receipt: string, operation: string, now: number): MessageRow {
  const ref = t.receipts.get(receipt);
  const row = ref === undefined ? undefined : t.queues.get(ref.queue)?.get(ref.id);
  if (row === undefined || row.receipt !== receipt || row.dead || row.visibleAt <= now) {
    throw new StaleReceiptError(operation);
  }
  return row;
}

function toDeadLetter(row: MessageRow): DeadLetter {
  return {
    id: row.id,
    queue: row.queue,
    body: cloneJson(row.body),
    headers: { ...row.headers },
    attempt: row.attempt,
    reason: row.reason,
    enqueuedAt: new Date(row.enqueuedAt),
    deadLetteredAt: new Date(row.deadLetteredAt ?? row.enqueuedAt),
  };
}

/** The memory message queue over some tables. */
export function memoryQueue(access: TablesAccess): MessageQueue {
  return {
    async send(queue, messages, options) {
      access.read('queue.send');
      const input = validateSend(queue, messages, options, access.settings.maxAttempts, access.settings.maxPayloadBytes);
      return access.write('queue.send', (t) => {
        const now = Date.now();
        const q = t.queue(input.queue);
        const ids: string[] = [];
        for (const m of input.messages) {
          if (m.dedupId !== undefined) {
            const existing = [...q.values()].find((r) => r.dedupId === m.dedupId);
            if (existing !== undefined) {
              ids.push(existing.id);
              continue;
            }
          }
          t.seq++;
          t.putMessage(undefined, {
            id: m.id,
            queue: input.queue,
            seq: t.seq,
            body: cloneJson(m.body),
            headers: { ...m.headers },
            priority: m.priority,
            maxAttempts: m.maxAttempts,
            dedupId: m.dedupId,
            attempt: 0,
            visibleAt: now + m.delayMs,
            receipt: null,
            dead: false,
            reason: null,
            enqueuedAt: now,
            deadLetteredAt: null,
          });
          ids.push(m.id);
        }
        t.notices.push({ kind: 'queue', queue: input.queue });
        return ids;
      });
    },

    async receive(queue, options) {
      access.read('queue.receive');
      const o = validateReceive(queue, options);
      return access.write('queue.receive', (t) => {
        const now = Date.now();
        const ready = [...(t.queues.get(o.queue)?.values() ?? [])]
          .filter((r) => !r.dead && r.visibleAt <= now)
          .sort((a, b) => b.priority - a.priority || a.seq - b.seq);
        const out: Delivery[] = [];
        for (const row of ready) {
          if (out.length >= o.max) break;
          if (row.attempt >= row.maxAttempts) {
            t.putMessage(row, { ...row, dead: true, receipt: null, reason: row.reason ?? DEAD_LETTER_REASONS.attemptsExhausted, deadLetteredAt: now });
            continue;
          }
          const taken: MessageRow = { ...row, attempt: row.attempt + 1, receipt: randomId(), visibleAt: now + o.visibilityTimeoutMs };
          t.putMessage(row, taken);
          out.push({
            id: taken.id,
            queue: taken.queue,
            body: cloneJson(taken.body),
            headers: { ...taken.headers },
            attempt: taken.attempt,
            maxAttempts: taken.maxAttempts,
            receipt: taken.receipt as string,
            enqueuedAt: new Date(taken.enqueuedAt),
            visibleUntil: new Date(taken.visibleAt),
          });
        }
        return out;
      });
    },

    async ack(receipt) {
      access.read('queue.ack');
      const r = validateReceipt(receipt);
      await access.write('queue.ack', (t) => {
        t.putMessage(owned(t, r, 'queue.ack', Date.now()), null);
      });
    },

    async ackMany(receipts) {
      access.read('queue.ackMany');
      const list = validateReceipts(receipts);
      return access.write('queue.ackMany', (t) => {
        const now = Date.now();
        const stale: string[] = [];
        let acked = 0;
        for (const r of list) {
          try {
            t.putMessage(owned(t, r, 'queue.ackMany', now), null);
            acked++;
          } catch {
            stale.push(r);
          }
        }
        return { acked, stale };
      });
    },

    async nack(receipt, options) {
      access.read('queue.nack');
      const r = validateReceipt(receipt);
      const o = validateNack(options);
      await access.write('queue.nack', (t) => {
        const now = Date.now();
        const row = owned(t, r, 'queue.nack', now);
        if (o.deadLetter || row.attempt >= row.maxAttempts) {
          const reason = o.reason ?? (o.deadLetter ? DEAD_LETTER_REASONS.nackedToDeadLetter : DEAD_LETTER_REASONS.nackedOnLastAttempt);
          t.putMessage(row, { ...row, dead: true, receipt: null, reason, deadLetteredAt: now });
        } else {
          t.putMessage(row, { ...row, receipt: null, visibleAt: now + o.delayMs, reason: o.reason ?? row.reason });
          t.notices.push({ kind: 'queue', queue: row.queue });
        }
      });
    },

    async extendVisibility(receipt, ms) {
      access.read('queue.extendVisibility');
      const r = validateReceipt(receipt);
      const duration = validateVisibilityExtension(ms);
      await access.write('queue.extendVisibility', (t) => {
        const now = Date.now();
        const row = owned(t, r, 'queue.extendVisibility', now);
        t.putMessage(row, { ...row, visibleAt: now + duration });
      });
    },

    async stats(queue) {
      const t = access.read('queue.stats');
      const name = validateQueueName(queue);
      const now = Date.now();
      const s: QueueStats = { ready: 0, inFlight: 0, delayed: 0, deadLettered: 0, oldestReadyAgeMs: null };
      let oldest = Number.POSITIVE_INFINITY;
      for (const row of t.queues.get(name)?.values() ?? []) {
        if (row.dead) s.deadLettered++;
        else if (row.visibleAt > now) {
          if (row.receipt !== null) s.inFlight++;
          else s.delayed++;
        } else {
          s.ready++;
          oldest = Math.min(oldest, row.enqueuedAt);
        }
      }
      if (s.ready > 0) s.oldestReadyAgeMs = Math.max(0, now - oldest);
      return s;
    },

    async nextVisibleInMs(queue) {
      const t = access.read('queue.nextVisibleInMs');
      const name = validateQueueName(queue);
      let earliest = Number.POSITIVE_INFINITY;
      for (const row of t.queues.get(name)?.values() ?? []) if (!row.dead) earliest = Math.min(earliest, row.visibleAt);
      return earliest === Number.POSITIVE_INFINITY ? null : Math.max(0, earliest - Date.now());
    },

    async deadLetters(queue, options) {
      const t = access.read('queue.deadLetters');
      const name = validateQueueName(queue);
      const limit = validateLimit((options as { limit?: unknown } | undefined)?.limit, 'options.limit') ?? 100;
      return [...(t.queues.get(name)?.values() ?? [])]
        .filter((r) => r.dead)
        .sort((a, b) => (a.deadLetteredAt ?? 0) - (b.deadLetteredAt ?? 0) || a.seq - b.seq)
        .slice(0, limit)
        .map(toDeadLetter);
    },

    async redrive(queue, ids) {
      access.read('queue.redrive');
      const name = validateQueueName(queue);
      const wanted = validateMessageIds(ids);
      return access.write('queue.redrive', (t) => {
        const now = Date.now();
        const only = wanted === undefined ? undefined : new Set(wanted);
        let moved = 0;
        for (const row of [...(t.queues.get(name)?.values() ?? [])]) {
          if (!row.dead || (only !== undefined && !only.has(row.id))) continue;
          t.putMessage(row, { ...row, dead: false, attempt: 0, receipt: null, visibleAt: now, reason: null, deadLetteredAt: null });
          moved++;
        }
        if (moved > 0) t.notices.push({ kind: 'queue', queue: name });
        return moved;
      });
    },

    async purge(queue) {
      access.read('queue.purge');
      const name = validateQueueName(queue);
      return access.write('queue.purge', (t) => {
        const rows = [...(t.queues.get(name)?.values() ?? [])];
        for (const row of rows) t.putMessage(row, null);
        return rows.length;
      });
    },
  };
}
