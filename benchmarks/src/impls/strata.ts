import { consume, type StrataStore, subscribe } from '@strata/core';
import { noopHandler } from './raw-sql.js';
import type { ConsumeSubject, EventSubject, QueueSubject } from './types.js';

/**
 * Subscribes from the start (or as the named `consumer`, from its checkpoint) until `total` events were
 * handled; returns how many.
 */
export function catchUp(store: StrataStore, total: number, batchSize: number, consumer?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let sink = 0;
    const sub = subscribe(store, {
      from: consumer === undefined ? 'start' : { consumer },
      batchSize,
      pollIntervalMs: 10,
      handler: (e) => {
        sink += e.version;
        if (++n === total) void sub.stop().then(() => resolve(sink >= 0 ? n : 0));
      },
    });
    sub.done.catch(reject);
  });
}

/** Any Strata store as a benchmark subject: the workloads only use the public contracts. */
export function strataEvents(name: string, baseline: string, store: StrataStore): EventSubject {
  return {
    name,
    baseline,
    async append(stream, events, expected) {
      await store.events.append(stream, events, { expectedVersion: expected });
    },
    async readStream(stream) {
      let n = 0;
      for await (const _ of store.events.readStream(stream)) n++;
      return n;
    },
    async readAll() {
      let n = 0;
      for await (const _ of store.events.readAll()) n++;
      return n;
    },
    catchUp: (total, batchSize) => catchUp(store, total, batchSize),
    close: () => store.close(),
  };
}

/** Any Strata store's queue as a benchmark subject: receive with a 60 s visibility, then `ackMany`. */
export function strataQueue(name: string, baseline: string, store: StrataStore): QueueSubject {
  return {
    name,
    baseline,
    async send(queue, body) {
      await store.queue.send(queue, { body: body as never });
    },
    async sendMany(queue, bodies) {
      await store.queue.send(
        queue,
        bodies.map((body) => ({ body: body as never })),
      );
    },
    async receiveAndAck(queue, max) {
      const deliveries = await store.queue.receive(queue, { max, visibilityTimeoutMs: 60_000 });
      if (deliveries.length > 0) await store.queue.ackMany(deliveries.map((d) => d.receipt));
      return deliveries.length;
    },
    close: () => store.close(),
  };
}

/** The longest a consume round may take before the bench gives up on it. */
const CONSUME_LIMIT_MS = 120_000;

/**
 * `consume()` with its default options except `concurrency`, a no-op handler: resolves once every
 * message was handled and the queue is empty (`stats().ready + inFlight === 0`, so every ack is in),
 * then stops the consumer; the returned promise's time is what the workload measures.
 */
export function strataConsume(name: string, baseline: string, store: StrataStore): ConsumeSubject {
  return {
    name,
    baseline,
    async fill(queue, bodies) {
      await store.queue.send(
        queue,
        bodies.map((body) => ({ body: body as never })),
      );
    },
    async consumeAll(queue, expected, concurrency) {
      const stop = new AbortController();
      const deadline = Date.now() + CONSUME_LIMIT_MS;
      let handled = 0;
      let allHandled: () => void = () => undefined;
      const handledAll = new Promise<void>((resolve) => {
        allHandled = resolve;
      });
      if (expected === 0) allHandled();
      const worker = consume(
        store,
        queue,
        async (d) => {
          await noopHandler(d.body);
          if (++handled === expected) allHandled();
        },
        { concurrency, signal: stop.signal },
      );
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          handledAll,
          worker.then(() => Promise.reject(new Error(`${name}: consume() ended after ${handled} of ${expected} messages`))),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${name}: ${handled} of ${expected} messages handled in ${CONSUME_LIMIT_MS} ms`)), CONSUME_LIMIT_MS);
          }),
        ]);
        // Handled is not acked: wait for the last acks, by the queue's own count.
        for (;;) {
          const s = await store.queue.stats(queue);
          if (s.ready + s.inFlight === 0) break;
          if (Date.now() > deadline) throw new Error(`${name}: ${s.ready} ready and ${s.inFlight} in flight after ${CONSUME_LIMIT_MS} ms`);
          await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        clearTimeout(timer);
        stop.abort();
        await worker.catch(() => undefined);
      }
      return handled;
    },
    close: async () => undefined,
  };
}
