import { type StrataStore, subscribe } from '@strata/core';
import type { EventSubject, QueueSubject } from './types.js';

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
