import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { eventually, sleep } from '../src/conformance/helpers.js';
import { consume, createMemoryStore, type Delivery, type StrataStore, ValidationError } from '../src/index.js';

const until = (check: () => boolean | Promise<boolean>, ms = 5000) => eventually(check, ms, 'the condition');

describe('consume', () => {
  it('acks each message on its own when the adapter has no ackMany or refuses the batch, and fails only a stale receipt of a batch', async () => {
    const drain = async (store: StrataStore) => {
      await store.queue.send(
        'q',
        Array.from({ length: 8 }, (_, i) => ({ body: i })),
      );
      let handled = 0;
      const stop = new AbortController();
      const worker = consume(store, 'q', () => void handled++, { concurrency: 4, signal: stop.signal, onError: () => undefined });
      await until(async () => handled >= 8 && (await store.queue.stats('q')).inFlight === 0);
      stop.abort();
      await worker;
      return store.queue.stats('q');
    };
    const withQueue = (base: StrataStore, override: (queue: StrataStore['queue']) => Record<string, unknown>) => {
      const queue = Object.assign(Object.create(base.queue) as StrataStore['queue'], override(base.queue));
      return Object.assign(Object.create(base) as StrataStore, { queue });
    };
    // An older custom adapter without ackMany.
    const noBatch = createMemoryStore();
    expect(await drain(withQueue(noBatch, () => ({ ackMany: undefined })))).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
    // An adapter whose batches are smaller than consume()'s.
    const small = createMemoryStore();
    expect(
      await drain(
        withQueue(small, () => ({
          ackMany: async () => {
            throw new ValidationError('receipts', 'must hold at most 1 receipt');
          },
        })),
      ),
    ).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
    // One stale receipt in a batch fails that ack alone: its message comes back, the others are acked.
    const mixed = createMemoryStore();
    let staleOne = true;
    const store = withQueue(mixed, (queue) => ({
      ackMany: async (receipts: string[]) => {
        const [first, ...rest] = receipts;
        if (!staleOne || first === undefined) return queue.ackMany(receipts);
        staleOne = false;
        const done = await queue.ackMany(rest);
        return { acked: done.acked, stale: [first, ...done.stale] };
      },
    }));
    await store.queue.send(
      'q',
      Array.from({ length: 4 }, (_, i) => ({ body: i })),
    );
    const errors: unknown[] = [];
    const stop = new AbortController();
    const worker = consume(store, 'q', () => undefined, { concurrency: 4, signal: stop.signal, visibilityTimeoutMs: 200, onError: (e) => errors.push(e) });
    await until(async () => errors.length === 1 && (await mixed.queue.stats('q')).ready + (await mixed.queue.stats('q')).inFlight <= 1);
    stop.abort();
    await worker;
    expect((errors[0] as { code: string }).code).toBe('STALE_RECEIPT');
    // The other three were acked in that batch: at most the stale one is left (handled again or not).
    const left = await mixed.queue.stats('q');
    expect(left.ready + left.inFlight + left.delayed).toBeLessThanOrEqual(1);
    expect(errors).toHaveLength(1);
  });

  it.each([['setImmediate (Node.js)'], ['a MessageChannel (browsers)'], ['setTimeout (neither)']])(
    'acks handlers that finish together in one ackMany, and receives the freed slots together; the next turn through %s',
    async (through) => {
      /** Turns waited for through each way: counted, so each case shows it took the way it names. */
      const turns = { setImmediate: 0, channel: 0, zeroTimeout: 0 };
      const immediate = globalThis.setImmediate;
      const timeout = globalThis.setTimeout;
      const Channel = globalThis.MessageChannel;
      vi.stubGlobal(
        'setImmediate',
        through.startsWith('setImmediate')
          ? (...args: Parameters<typeof setImmediate>) => {
              turns.setImmediate++;
              return immediate(...args);
            }
          : undefined,
      );
      vi.stubGlobal(
        'MessageChannel',
        through.startsWith('a MessageChannel')
          ? class extends Channel {
              constructor() {
                super();
                turns.channel++;
              }
            }
          : undefined,
      );
      vi.stubGlobal('setTimeout', (handler: () => void, ms?: number, ...rest: unknown[]) => {
        if (ms === undefined || ms === 0) turns.zeroTimeout++;
        return (timeout as unknown as (...args: unknown[]) => unknown)(handler, ms, ...rest);
      });
      onTestFinished(() => void vi.unstubAllGlobals());
      const base = createMemoryStore();
      const calls = { receive: [] as number[], ackMany: [] as number[], ack: 0 };
      const queue = new Proxy(base.queue, {
        get(target, key, receiver) {
          const original = Reflect.get(target, key, receiver) as unknown;
          if (typeof original !== 'function') return original;
          return async (...args: unknown[]) => {
            const result = await (original as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (key === 'receive') calls.receive.push((result as unknown[]).length);
            if (key === 'ackMany') calls.ackMany.push((args[0] as unknown[]).length);
            if (key === 'ack') calls.ack++;
            return result;
          };
        },
      });
      const store = Object.assign(Object.create(base) as StrataStore, { queue });
      await store.queue.send(
        'q',
        Array.from({ length: 40 }, (_, i) => ({ body: i })),
      );
      let handled = 0;
      const stop = new AbortController();
      const worker = consume(store, 'q', () => void handled++, { concurrency: 4, signal: stop.signal });
      await until(async () => handled === 40 && (await base.queue.stats('q')).inFlight === 0);
      stop.abort();
      await worker;
      expect(await base.queue.stats('q')).toMatchObject({ ready: 0, inFlight: 0 });
      expect(calls.ack).toBe(0);
      expect(calls.ackMany.reduce((a, b) => a + b, 0)).toBe(40);
      // Handlers that finish in the same turn of the event loop share an ackMany: 10 of 4, not 40 of 1.
      expect(calls.ackMany.length).toBeLessThanOrEqual(12);
      expect(calls.receive.filter((n) => n > 0).length).toBeLessThanOrEqual(12);
      // Every grouped ack waited for one turn, the way the case names.
      const way = through.startsWith('setImmediate') ? 'setImmediate' : through.startsWith('a MessageChannel') ? 'channel' : 'zeroTimeout';
      expect(turns[way]).toBeGreaterThanOrEqual(calls.ackMany.length);
      if (way !== 'channel') expect(turns.channel).toBe(0);
      if (way !== 'setImmediate') expect(turns.setImmediate).toBe(0);
    },
  );

  it('runs at most `concurrency` handlers at once and acks each message', async () => {
    const store = createMemoryStore();
    await store.queue.send(
      'q',
      Array.from({ length: 20 }, (_, i) => ({ body: i })),
    );
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const stop = new AbortController();
    const worker = consume(
      store,
      'q',
      async (d) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(10);
        done.push(d.body as number);
        running--;
      },
      { concurrency: 3, signal: stop.signal },
    );
    await until(() => done.length === 20);
    stop.abort();
    await worker;
    expect(peak).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await store.queue.stats('q')).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, deadLettered: 0 });
  });

  it('extends visibility while a long handler runs, so no one else gets the message', async () => {
    const store = createMemoryStore();
    await store.queue.send('q', { body: 'slow' });
    const stop = new AbortController();
    let finished = false;
    const worker = consume(
      store,
      'q',
      async () => {
        await sleep(1200);
        finished = true;
      },
      // Several heartbeats within the handler, each with room for a loaded machine's stalls.
      { visibilityTimeoutMs: 400, signal: stop.signal },
    );
    await sleep(20);
    const stolen: Delivery[] = [];
    while (!finished) {
      stolen.push(...(await store.queue.receive('q')));
      await sleep(15);
    }
    stop.abort();
    await worker;
    expect(stolen).toEqual([]);
    expect((await store.queue.stats('q')).inFlight + (await store.queue.stats('q')).ready).toBe(0);
  });

  it('nacks a throwing handler with backoff until the message is dead-lettered', async () => {
    const store = createMemoryStore({ maxAttempts: 3 });
    await store.queue.send('q', { body: 'poison' });
    const attempts: number[] = [];
    const errors: unknown[] = [];
    const stop = new AbortController();
    const worker = consume(
      store,
      'q',
      (d) => {
        attempts.push(d.attempt);
        throw new Error(`bad #${d.attempt}`);
      },
      { retryBaseMs: 20, retryMaxMs: 40, signal: stop.signal, onError: (e) => errors.push(e) },
    );
    await until(async () => (await store.queue.stats('q')).deadLettered === 1);
    stop.abort();
    await worker;
    expect(attempts).toEqual([1, 2, 3]);
    expect(errors).toHaveLength(3);
    const [dead] = await store.queue.deadLetters('q');
    expect(dead?.reason).toBe('bad #3');
  });

  it('on abort stops taking work and waits for handlers in flight', async () => {
    const store = createMemoryStore();
    await store.queue.send(
      'q',
      Array.from({ length: 10 }, (_, i) => ({ body: i })),
    );
    const started: number[] = [];
    const finished: number[] = [];
    const stop = new AbortController();
    const worker = consume(
      store,
      'q',
      async (d) => {
        started.push(d.body as number);
        await sleep(80);
        finished.push(d.body as number);
      },
      { concurrency: 2, signal: stop.signal },
    );
    await until(() => started.length === 2);
    stop.abort();
    await worker;
    expect(finished.sort()).toEqual(started.sort());
    expect(started).toHaveLength(2);
    expect((await store.queue.stats('q')).ready).toBe(8);
  });

  it('wakes on the store’s notices instead of waiting for the poll', async () => {
    const store = createMemoryStore();
    const got: number[] = [];
    const stop = new AbortController();
    const worker = consume(store, 'q', (d) => void got.push(Date.now() - (d.body as number)), { pollIntervalMs: 60_000, signal: stop.signal });
    await sleep(30);
    await store.queue.send('q', { body: Date.now() });
    await until(() => got.length === 1, 2000);
    stop.abort();
    await worker;
    expect(got[0]).toBeLessThan(1000);
  });

  it('polls on stores without wake-ups', async () => {
    const store: StrataStore = createMemoryStore({ disable: ['wakeUps'] });
    const got: unknown[] = [];
    const stop = new AbortController();
    const worker = consume(store, 'q', (d) => void got.push(d.body), { signal: stop.signal });
    await store.queue.send('q', { body: 'polled' });
    await until(() => got.length === 1, 2000);
    stop.abort();
    await worker;
    expect(got).toEqual(['polled']);
  });

  it('stops with CLOSED when the store closes under it', async () => {
    const store = createMemoryStore();
    const worker = consume(store, 'q', () => undefined);
    await sleep(20);
    await store.close();
    await expect(worker).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
