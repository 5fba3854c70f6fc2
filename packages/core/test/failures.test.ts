import { describe, expect, it } from 'vitest';
import { eventually, sleep } from '../src/conformance/helpers.js';
import {
  ConnectionError,
  consume,
  createMemoryStore,
  type LogFields,
  type MessageQueue,
  type StrataLogger,
  type StrataStore,
  safeLogger,
  subscribe,
} from '../src/index.js';

const until = (check: () => boolean | Promise<boolean>, ms = 5000) => eventually(check, ms, 'the condition');

function recorder(): StrataLogger & { lines: { level: string; message: string; fields: LogFields | undefined }[] } {
  const lines: { level: string; message: string; fields: LogFields | undefined }[] = [];
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The memory store with some queue calls failing first, as over a flaky connection. */
function flakyQueue(store: StrataStore, failures: Partial<Record<keyof MessageQueue, () => Error | undefined>>): StrataStore {
  const queue = new Proxy(store.queue, {
    get(target, key, receiver) {
      const original = Reflect.get(target, key, receiver) as unknown;
      const fail = failures[key as keyof MessageQueue];
      if (typeof original !== 'function' || fail === undefined) return original;
      return async (...args: unknown[]) => {
        const error = fail();
        if (error !== undefined) throw error;
        return (original as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return Object.assign(Object.create(store) as StrataStore, { queue });
}

const lost = () => new ConnectionError('queue call: the database connection is lost or unusable (ECONNRESET)');

describe('consume() over a failing store', () => {
  it('retries a failed ack while the receipt is valid, so the message is handled once', async () => {
    const base = createMemoryStore();
    let ackFailures = 3;
    // consume() acks through ackMany (handlers that finish together share one call).
    const store = flakyQueue(base, { ackMany: () => (ackFailures-- > 0 ? lost() : undefined) });
    await store.queue.send('q', { body: { card: '4111111111111111' } });
    const logger = recorder();
    const errors: unknown[] = [];
    let handled = 0;
    const stop = new AbortController();
    const worker = consume(store, 'q', () => void handled++, { signal: stop.signal, logger, onError: (e) => errors.push(e) });
    await until(async () => (await base.queue.stats('q')).inFlight === 0 && handled === 1);
    stop.abort();
    await worker;
    expect(handled).toBe(1);
    expect(await base.queue.stats('q')).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, deadLettered: 0 });
    expect(errors).toHaveLength(3);
    expect(logger.lines.filter((l) => /ack on queue "q" failed \(CONNECTION\); retrying/.test(l.message))).toHaveLength(3);
    expect(logger.lines.some((l) => /succeeded after 4 attempts/.test(l.message))).toBe(true);
    expect(JSON.stringify(logger.lines)).not.toContain('4111111111111111');
  });

  it('retries a failed nack too, and reports a dead-lettered message through the store’s logger', async () => {
    const logger = recorder();
    const base = createMemoryStore({ maxAttempts: 1, logger });
    let nackFailures = 2;
    const store = flakyQueue(base, { nack: () => (nackFailures-- > 0 ? lost() : undefined) });
    await store.queue.send('q', { body: 'poison' });
    const stop = new AbortController();
    const worker = consume(
      store,
      'q',
      () => {
        throw new Error('cannot handle 4111111111111111');
      },
      { signal: stop.signal, onError: () => undefined },
    );
    await until(async () => (await base.queue.stats('q')).deadLettered === 1);
    stop.abort();
    await worker;
    expect(logger.lines.filter((l) => /nack on queue "q" failed \(CONNECTION\); retrying/.test(l.message))).toHaveLength(2);
    expect(logger.lines.some((l) => l.level === 'warn' && /message dead-lettered on queue "q" after 1 failed attempts/.test(l.message))).toBe(true);
    // The handler's error message may quote data: it goes to the queue as the reason, never to the log.
    expect(JSON.stringify(logger.lines)).not.toContain('4111111111111111');
  });

  it('takes a stale receipt after an ack whose outcome was unknown as the ack having gone through', async () => {
    const base = createMemoryStore();
    let first = true;
    const queue = new Proxy(base.queue, {
      get(target, key, receiver) {
        const original = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'ackMany') return typeof original === 'function' ? original.bind(target) : original;
        return async (receipts: string[]) => {
          const result = await target.ackMany(receipts);
          if (first) {
            first = false; // applied, but the answer was lost with the connection
            throw new ConnectionError('queue.ackMany: the database connection is lost or unusable (ECONNRESET)', { outcomeUnknown: true });
          }
          return result;
        };
      },
    });
    const store = Object.assign(Object.create(base) as StrataStore, { queue });
    await store.queue.send('q', { body: 1 });
    const logger = recorder();
    const errors: unknown[] = [];
    const stop = new AbortController();
    const worker = consume(store, 'q', () => undefined, { signal: stop.signal, logger, onError: (e) => errors.push(e) });
    await until(() => logger.lines.some((l) => /an earlier attempt that lost its connection went through/.test(l.message)));
    stop.abort();
    await worker;
    expect(errors.map((e) => (e as { code: string }).code)).toEqual(['CONNECTION']);
    expect(logger.lines.some((l) => /will be delivered again/.test(l.message))).toBe(false);
  });

  it('gives up on an ack once the receipt is no longer valid, and never retries a stale receipt', async () => {
    const base = createMemoryStore();
    const store = flakyQueue(base, { ackMany: () => lost() });
    await store.queue.send('q', { body: 1 });
    const logger = recorder();
    const stop = new AbortController();
    let handled = 0;
    const worker = consume(store, 'q', () => void handled++, { signal: stop.signal, logger, visibilityTimeoutMs: 300, onError: () => undefined });
    await until(() => logger.lines.some((l) => /will be delivered again/.test(l.message)), 3000);
    stop.abort();
    await worker;
    const retries = logger.lines.filter((l) => /retrying in/.test(l.message)).length;
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBeLessThan(20);

    // A stale receipt: ackMany reports it instead of throwing (here: every receipt, whatever the queue holds).
    const staleBase = createMemoryStore();
    const stale = Object.assign(Object.create(staleBase) as StrataStore, {
      queue: new Proxy(staleBase.queue, {
        get(target, key, receiver) {
          const original = Reflect.get(target, key, receiver) as unknown;
          if (key !== 'ackMany') return typeof original === 'function' ? original.bind(target) : original;
          return async (receipts: string[]) => ({ acked: 0, stale: [...receipts] });
        },
      }),
    });
    await stale.queue.send('q', { body: 1 });
    const quiet = recorder();
    const stop2 = new AbortController();
    const worker2 = consume(stale, 'q', () => undefined, { signal: stop2.signal, logger: quiet, onError: () => undefined });
    await until(() => quiet.lines.some((l) => /ack on queue "q" failed \(STALE_RECEIPT\)/.test(l.message)));
    stop2.abort();
    await worker2;
    expect(quiet.lines.filter((l) => /retrying/.test(l.message))).toEqual([]);
  });

  it('reports failed receives to onError and the logger, and keeps going', async () => {
    const base = createMemoryStore();
    let receiveFailures = 2;
    const store = flakyQueue(base, { receive: () => (receiveFailures-- > 0 ? lost() : undefined) });
    await store.queue.send('q', { body: 1 });
    const logger = recorder();
    const seen: (string | undefined)[] = [];
    let handled = 0;
    const stop = new AbortController();
    const worker = consume(store, 'q', () => void handled++, { signal: stop.signal, logger, onError: (_e, d) => seen.push(d?.id) });
    await until(() => handled === 1);
    stop.abort();
    await worker;
    expect(seen).toEqual([undefined, undefined]);
    expect(logger.lines.filter((l) => /receive on queue "q" failed \(CONNECTION\)/.test(l.message))).toHaveLength(2);
  });
});

describe('subscribe() over a failing store', () => {
  it('tells onReadError and the logger about read failures, and retries by default', async () => {
    const base = createMemoryStore();
    await base.events.append('s', [{ type: 'A', data: {} }]);
    let readFailures = 2;
    const events = new Proxy(base.events, {
      get(target, key, receiver) {
        const original = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'readAll') return typeof original === 'function' ? original.bind(target) : original;
        return (options: unknown) => {
          if (readFailures-- > 0) throw lost();
          return (original as (o: unknown) => unknown).call(target, options);
        };
      },
    });
    const store = Object.assign(Object.create(base) as StrataStore, { events });
    const logger = recorder();
    const told: { attempt: number; retryInMs: number }[] = [];
    const got: string[] = [];
    const sub = subscribe(store, { handler: (e) => void got.push(e.type), logger, onReadError: (_e, info) => void told.push(info) });
    await until(() => got.length === 1);
    await sub.stop();
    expect(told.map((t) => t.attempt)).toEqual([1, 2]);
    expect(told.every((t) => t.retryInMs > 0)).toBe(true);
    expect(logger.lines.filter((l) => /failed to read or commit \(CONNECTION\); retrying/.test(l.message))).toHaveLength(2);
  });

  it('stops with the error when onReadError says so', async () => {
    const base = createMemoryStore();
    const store = Object.assign(Object.create(base) as StrataStore, {
      events: {
        ...base.events,
        // biome-ignore lint/correctness/useYield: a read that fails before its first event
        readAll: async function* () {
          throw lost();
        },
      },
    });
    const sub = subscribe(store, { handler: () => undefined, onReadError: () => 'stop' });
    await expect(sub.done).rejects.toMatchObject({ code: 'CONNECTION' });
  });

  it('retries a handler that fails with CONNECTION instead of stopping, and the projection stays exactly once', async () => {
    const store = createMemoryStore();
    await store.events.append('s', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    let failures = 2;
    const readErrors: unknown[] = [];
    const sub = subscribe(store, {
      from: { consumer: 'projection' },
      types: ['A', 'B'],
      handler: async (e, { tx }) => {
        await tx?.events.append('projected', [{ type: 'Projected', data: { of: e.type } }]);
        if (e.type === 'B' && failures-- > 0) throw lost(); // the projection's own write lost its connection
      },
      onReadError: (e) => void readErrors.push(e),
    });
    await until(async () => (await store.events.streamInfo('projected'))?.version === 2);
    await sleep(50);
    await sub.stop();
    expect(readErrors).toHaveLength(2);
    const projected: unknown[] = [];
    for await (const e of store.events.readStream('projected')) projected.push(e.data);
    expect(projected).toEqual([{ of: 'A' }, { of: 'B' }]);
  });

  it('after a commit whose outcome was unknown but which did commit, never runs the handler again for those events', async () => {
    const base = createMemoryStore();
    await base.events.append('s', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    let lies = 1;
    const store = Object.assign(Object.create(base) as StrataStore, {
      async transaction<T>(fn: (tx: Parameters<Parameters<StrataStore['transaction']>[0]>[0]) => Promise<T>): Promise<T> {
        const result = await base.transaction(fn);
        if (lies-- > 0) throw new ConnectionError('transaction: the database connection was lost during COMMIT', { outcomeUnknown: true });
        return result;
      },
    });
    const calls: string[] = [];
    const sub = subscribe(store, {
      from: { consumer: 'projection' },
      types: ['A', 'B'],
      handler: async (e, { tx }) => {
        calls.push(e.type);
        // Not idempotent on purpose: a second run for the same event fails.
        await tx?.events.append(`projected-${e.type}`, [{ type: 'Projected', data: {} }], { expectedVersion: 'no_stream' });
      },
    });
    await until(async () => (await base.checkpoints.get('projection'))?.position === 2n);
    await sleep(50);
    await sub.stop();
    await expect(sub.done).resolves.toBeUndefined();
    expect(calls).toEqual(['A', 'B']);
  });

  it('reports the lease it takes, and a lease lost to another instance while a handler ran too long', async () => {
    const store = createMemoryStore();
    await store.events.append('s', [
      { type: 'Slow', data: {} },
      { type: 'Next', data: {} },
    ]);
    const logger = recorder();
    const sub = subscribe(store, {
      from: { consumer: 'c' },
      handler: async (e) => {
        if (e.type === 'Slow') await sleep(250); // longer than the lease
      },
      logger,
      leaseTtlMs: 60,
    });
    await until(() => sub.active);
    expect(logger.lines.some((l) => l.level === 'info' && /consumer "c" holds its lease and resumes after position 0/.test(l.message))).toBe(true);
    await sleep(120);
    expect(await store.checkpoints.acquireLease('c', { owner: 'other-instance', ttlMs: 10_000 })).toBe(true);
    await until(() => logger.lines.some((l) => l.level === 'warn' && /consumer "c" lost its lease to another instance/.test(l.message)), 3000);
    expect(sub.active).toBe(false);
    await sub.stop();
  });
});

describe('loggers', () => {
  it('a throwing logger never breaks the call that logs, and a logger without the four methods is refused', () => {
    const bad = safeLogger({
      debug: () => undefined,
      info: () => undefined,
      warn: () => {
        throw new Error('disk full');
      },
      error: () => undefined,
    });
    expect(() => bad.warn('x')).not.toThrow();
    expect(() => createMemoryStore({ logger: { info: () => undefined } as unknown as StrataLogger })).toThrow(
      /options\.logger must have debug, info, warn and error methods \(debug is missing\)/,
    );
  });

  it('console fits the logger type', () => {
    const store = createMemoryStore({ logger: console });
    expect(store.logger).toBeDefined();
  });
});
