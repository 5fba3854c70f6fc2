import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { runConformance } from '@strata/core/conformance';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { consume, createMemoryStore, type LogFields, type StrataLogger, subscribe } from '../src/index.js';
import { instrument } from '../src/otel/index.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

/** A reader that collects when asked. */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });

beforeAll(() => {
  provider.register();
  metrics.setGlobalMeterProvider(meterProvider);
});
afterAll(async () => {
  await provider.shutdown();
  await meterProvider.shutdown();
  trace.disable();
  metrics.disable();
});
beforeEach(() => exporter.reset());

const tracer = () => trace.getTracer('test');
const inSpan = <T>(name: string, fn: () => Promise<T>): Promise<T> =>
  tracer().startActiveSpan(name, async (s) => {
    try {
      return await fn();
    } finally {
      s.end();
    }
  });

/** Every data point of the metric `name`, as attributes and value. */
async function points(name: string): Promise<{ attributes: Record<string, unknown>; value: unknown }[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints.map((p) => ({ attributes: p.attributes as Record<string, unknown>, value: p.value })));
}

// The instrumented store still honours every contract, with an SDK recording every span: outside a
// span it stores exactly what it is given.
runConformance({
  name: 'memory, instrumented',
  factory: (settings) => instrument(createMemoryStore(settings)),
  capabilities: { transactions: true, snapshots: true, queue: true, checkpoints: true, wakeUps: true, crossProcessWakeUps: false, transfer: true },
});

describe('instrument()', () => {
  it('keeps the adapter-specific members and is idempotent', async () => {
    const raw = createMemoryStore();
    const store = instrument(raw);
    expect(instrument(store)).toBe(store);
    expect(store.capabilities).toBe(raw.capabilities);
    expect(store.events).toBe(store.events);
    expect(store.telemetry).toBeDefined();
    expect(raw.telemetry).toBeUndefined();
    await store.close();
    await expect(raw.events.headPosition()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toContain('close');
  });

  it('carries the trace context in metadata and headers only inside a span, never over what is given', async () => {
    const store = instrument(createMemoryStore());
    await store.events.append('outside', [{ type: 'A', data: {} }]);
    await store.queue.send('q', { body: 1 });
    await inSpan('request', async () => {
      await store.events.append('inside', [
        { type: 'A', data: {} },
        { type: 'B', data: {}, metadata: { traceparent: 'kept' } },
        { type: 'C', data: {}, id: '00000000-0000-4000-8000-000000000001' },
        { type: 'D', data: {}, metadata: { userId: 'ada' } },
      ]);
      await store.queue.send('q', [{ body: 2 }, { body: 3, headers: { traceparent: 'kept' } }]);
    });
    const read = async (id: string) => {
      const out = [];
      for await (const e of store.events.readStream(id)) out.push(e.metadata);
      return out;
    };
    expect(await read('outside')).toEqual([{}]);
    const [a, b, c, d] = await read('inside');
    const append = exporter.getFinishedSpans().find((s) => s.name === 'events.append' && s.attributes['strata.stream.id'] === 'inside') as ReadableSpan;
    const { traceId, spanId } = append.spanContext();
    expect(a).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
    expect(b).toEqual({ traceparent: 'kept' });
    expect(c).toEqual({});
    expect(d).toEqual({ userId: 'ada', traceparent: `00-${traceId}-${spanId}-01` });
    const headers = (await store.queue.receive('q', { max: 3 })).map((m) => m.headers);
    const send = exporter.getFinishedSpans().find((s) => s.name === 'send q' && s.attributes['messaging.batch.message_count'] === 2) as ReadableSpan;
    expect(headers).toEqual([{}, { traceparent: `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01` }, { traceparent: 'kept' }]);
  });

  it('propagate: false stores data exactly as given even inside a span', async () => {
    const store = instrument(createMemoryStore(), { propagate: false });
    await inSpan('request', () => store.events.append('s', [{ type: 'A', data: {} }]));
    for await (const e of store.events.readStream('s')) expect(e.metadata).toEqual({});
  });

  it('marks failures with the error code, and never records a handler error message', async () => {
    const store = instrument(createMemoryStore());
    await expect(store.events.append('s', [{ type: 'A', data: {} }], { expectedVersion: 3 })).rejects.toMatchObject({ code: 'CONCURRENCY' });
    const failed = exporter.getFinishedSpans().find((s) => s.name === 'events.append') as ReadableSpan;
    expect(failed.status.code).toBe(2);
    expect(failed.attributes['error.type']).toBe('CONCURRENCY');

    exporter.reset();
    await store.queue.send('jobs', { body: { card: '4111-secret' }, maxAttempts: 1 });
    const stop = new AbortController();
    await consume(
      store,
      'jobs',
      async () => {
        stop.abort();
        throw new Error('card 4111-secret declined');
      },
      { signal: stop.signal, pollIntervalMs: 10 },
    );
    const process = exporter.getFinishedSpans().find((s) => s.name === 'process jobs') as ReadableSpan;
    expect(process.status.code).toBe(2);
    expect(process.attributes['error.type']).toBe('Error');
    expect(JSON.stringify([process.status, process.attributes, process.events])).not.toContain('secret');
    const failures = await points('strata.handler.failures');
    expect(failures).toContainEqual({
      attributes: { 'strata.handler.kind': 'consumer', 'messaging.destination.name': 'jobs', 'error.type': 'Error' },
      value: 1,
    });
  });

  it('adds trace_id and span_id to every line Strata logs while a span is active', async () => {
    const lines: { message: string; fields: LogFields | undefined }[] = [];
    const log = (message: string, fields?: LogFields) => void lines.push({ message, fields });
    const logger: StrataLogger = { debug: log, info: log, warn: log, error: log };
    const store = instrument(createMemoryStore({ logger }));
    await store.queue.send('mail', { body: 1, maxAttempts: 1 });
    const stop = new AbortController();
    await consume(
      store,
      'mail',
      () => {
        stop.abort();
        throw new Error('no');
      },
      { signal: stop.signal, pollIntervalMs: 10 },
    );
    const deadLettered = lines.find((l) => l.message.includes('dead-lettered'));
    const process = exporter.getFinishedSpans().find((s) => s.name === 'process mail') as ReadableSpan;
    expect(deadLettered?.fields).toMatchObject({
      queue: 'mail',
      trace_id: process.spanContext().traceId,
      span_id: process.spanContext().spanId,
      trace_flags: '01',
    });
    // Outside any span (a store nobody instrumented), a line has only its own fields.
    lines.length = 0;
    const plain = createMemoryStore({ logger });
    await plain.queue.send('mail', { body: 1, maxAttempts: 1 });
    const stopPlain = new AbortController();
    await consume(
      plain,
      'mail',
      () => {
        stopPlain.abort();
        throw new Error('no');
      },
      { signal: stopPlain.signal, pollIntervalMs: 10 },
    );
    expect(lines.find((l) => l.message.includes('dead-lettered'))?.fields).toEqual({ queue: 'mail', messageId: expect.any(String), attempt: 1 });
  });

  it('observes queue depth, ages, dead letters, consumer lag and handler durations', async () => {
    const raw = createMemoryStore();
    const statsCalls = vi.spyOn(raw.queue, 'stats');
    const store = instrument(raw, { queues: ['watched'] });
    await store.queue.send('watched', [{ body: 1 }, { body: 2 }, { body: 3, delayMs: 60_000 }]);
    await store.queue.send('other', { body: 1, maxAttempts: 1 });
    const [d] = await store.queue.receive('other');
    await store.queue.nack((d as { receipt: string }).receipt);
    await store.events.append('s', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
      { type: 'C', data: {} },
    ]);
    await store.checkpoints.set('behind', 1n);
    let seen = 0;
    const sub = subscribe(store, { from: { consumer: 'caught-up' }, handler: () => void seen++ });
    await expect.poll(() => seen).toBe(3);
    await sub.stop();

    const value = async (metric: string, attributes: Record<string, unknown>) =>
      (await points(metric)).find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes))?.value;
    expect(await value('strata.queue.ready', { 'messaging.destination.name': 'watched' })).toBe(2);
    expect(await value('strata.queue.delayed', { 'messaging.destination.name': 'watched' })).toBe(1);
    expect(await value('strata.queue.dead_lettered', { 'messaging.destination.name': 'other' })).toBe(1);
    expect(await value('strata.queue.oldest_ready_age', { 'messaging.destination.name': 'watched' })).toBeGreaterThanOrEqual(0);
    expect(await value('strata.consumer.lag.events', { 'strata.consumer': 'behind' })).toBe(2);
    expect(await value('strata.consumer.lag.events', { 'strata.consumer': 'caught-up' })).toBe(0);
    expect(await value('strata.consumer.lag.seconds', { 'strata.consumer': 'caught-up' })).toBe(0);
    expect(await value('strata.consumer.lag.seconds', { 'strata.consumer': 'behind' })).toBeGreaterThanOrEqual(0);
    const durations = await points('strata.handler.duration');
    expect(durations.find((p) => p.attributes['strata.consumer'] === 'caught-up')?.value).toMatchObject({ count: 3 });

    // Closed: its callbacks stop querying it.
    await store.close();
    const before = statsCalls.mock.calls.length;
    expect(before).toBeGreaterThan(0);
    await reader.collect();
    expect(statsCalls.mock.calls.length).toBe(before);
  });

  it('observes a listener: state, reconnects and held-back reads', async () => {
    let state = 'connected';
    const listener = { health: async () => ({ state, reconnects: 2, heldBackBy: state === 'connected' ? { heldForMs: 12_500 } : null }) };
    const store = instrument(createMemoryStore(), { listener, observe: false });
    expect(await points('strata.listener.connected')).toContainEqual({ attributes: {}, value: 1 });
    expect((await points('strata.listener.reconnects')).map((p) => p.value)).toContain(2);
    expect((await points('strata.reads.held_back')).map((p) => p.value)).toContain(12.5);
    state = 'reconnecting';
    // One series that goes to 0, not a second series beside a stale 1.
    expect(await points('strata.listener.connected')).toEqual([{ attributes: {}, value: 0 }]);
    await store.close();
  });

  it('stores only traceparent (never baggage), whatever propagators the application registered', async () => {
    const store = instrument(createMemoryStore());
    const withBaggage = propagation.setBaggage(context.active(), propagation.createBaggage({ 'user.email': { value: 'ada@example.com' } }));
    await context.with(withBaggage, () => inSpan('request', () => store.events.append('b', [{ type: 'A', data: {} }])));
    await context.with(withBaggage, () => inSpan('request', () => store.queue.send('b', { body: 1 })));
    for await (const e of store.events.readStream('b')) expect(Object.keys(e.metadata)).toEqual(['traceparent']);
    expect(Object.keys((await store.queue.receive('b'))[0]?.headers ?? {})).toEqual(['traceparent']);
  });

  it('inside a span, bad or unusual input meets exactly the checks it meets outside', async () => {
    const raw = createMemoryStore({ maxPayloadBytes: 200 });
    const store = instrument(createMemoryStore({ maxPayloadBytes: 200 }));
    class Placed {
      get type() {
        return 'Placed';
      }
      get data() {
        return {};
      }
    }
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
      );
    const cases: [string, (s: typeof raw) => Promise<unknown>][] = [
      ['a class instance as an event', (s) => s.events.append('c1', [new Placed() as never])],
      ['a Map as metadata', (s) => s.events.append('c2', [{ type: 'A', data: {}, metadata: new Map([['userId', 'u']]) as never }])],
      [
        'a class instance as headers',
        (s) =>
          s.queue.send('c3', {
            body: 1,
            headers: new (class H {
              a = 'b';
            })() as never,
          }),
      ],
      ['an event that fits the payload limit exactly', (s) => s.events.append('c4', [{ type: 'A', data: { text: 'x'.repeat(170) } }])],
      ['a message that fits the payload limit exactly', (s) => s.queue.send('c5', { body: { text: 'x'.repeat(170) } })],
    ];
    for (const [what, call] of cases) {
      expect(await inSpan('request', () => outcome(call(store))), what).toBe(await outcome(call(raw)));
    }
    // The one that fits is stored as given (its trace context did not fit).
    for await (const e of store.events.readStream('c4')) expect(e.metadata).toEqual({});
    // Values that are not even strings reject as on the raw store, never throw synchronously.
    const nameless = Object.create(null);
    await expect(store.events.append(nameless, [{ type: 'A', data: {} }])).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(store.queue.send(nameless, { body: 1 })).rejects.toMatchObject({ code: 'VALIDATION' });
    const read = store.events.readStream(nameless);
    await expect(read[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('read iterators are iterable, end their span on break, and record no error message', async () => {
    const store = instrument(createMemoryStore());
    await store.events.append('r', [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    const it = store.events.readStream('r')[Symbol.asyncIterator]();
    expect((it as AsyncIterableIterator<unknown>)[Symbol.asyncIterator]()).toBe(it);
    for await (const _ of store.events.readStream('r')) break;
    const read = exporter.getFinishedSpans().find((s) => s.name === 'events.readStream') as ReadableSpan;
    expect(read.attributes['strata.event.count']).toBe(1);
    await expect(store.events.append('r', [{ type: 'A', data: Number.NaN }])).rejects.toMatchObject({ code: 'VALIDATION' });
    const failed = exporter.getFinishedSpans().find((s) => s.name === 'events.append' && s.status.code === 2) as ReadableSpan;
    expect(failed.status.message).toBeUndefined();
    expect(failed.attributes['error.type']).toBe('VALIDATION');
  });

  it('one view per store: instrumenting the store again gives it, and closing the store stops its metrics', async () => {
    const raw = createMemoryStore();
    const statsCalls = vi.spyOn(raw.queue, 'stats');
    const store = instrument(raw);
    expect(instrument(raw)).toBe(store);
    const other = createMemoryStore();
    expect(instrument(other, { observe: false })).not.toBe(instrument(other));
    await store.queue.send('q', { body: 1 }); // the view observes the queues it sends to
    await reader.collect();
    expect(statsCalls).toHaveBeenCalledTimes(1);
    // A close that fails (inside the store's own transaction) leaves the store and its metrics running.
    await store.transaction(async () => {
      await expect(store.close()).rejects.toMatchObject({ code: 'VALIDATION' });
    });
    await reader.collect();
    expect(statsCalls).toHaveBeenCalledTimes(2);
    await raw.close(); // not through the view
    await reader.collect();
    expect(statsCalls).toHaveBeenCalledTimes(2);
  });

  it('records durations in second buckets', async () => {
    const store = instrument(createMemoryStore());
    await store.events.append('d', [{ type: 'A', data: {} }]);
    const { resourceMetrics } = await reader.collect();
    const histogram = resourceMetrics.scopeMetrics.flatMap((m) => m.metrics).find((m) => m.descriptor.name === 'db.client.operation.duration');
    const point = histogram?.dataPoints.find((p) => p.attributes['db.operation.name'] === 'events.append')?.value as {
      buckets: { boundaries: number[]; counts: number[] };
    };
    expect(point.buckets.boundaries.slice(0, 3)).toEqual([0.0005, 0.001, 0.0025]);
    expect(point.buckets.counts.slice(0, 3).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('counts a filtered consumer’s lag over the events it reads', async () => {
    const store = instrument(createMemoryStore());
    await store.events.append('f', [{ type: 'Wanted', data: {} }]);
    let seen = 0;
    const sub = subscribe(store, { from: { consumer: 'picky' }, types: ['Wanted'], handler: () => void seen++ });
    await expect.poll(() => seen).toBe(1);
    await store.events.append('f', [
      { type: 'Other', data: {} },
      { type: 'Other', data: {} },
    ]);
    const lag = async () => (await points('strata.consumer.lag.events')).find((p) => p.attributes['strata.consumer'] === 'picky')?.value;
    expect(await lag()).toBe(0);
    await sub.stop();
  });

  it('loops keep out of the trace that started them, and idle polls make no spans', async () => {
    const store = instrument(createMemoryStore());
    const stop = new AbortController();
    let worker: Promise<void> | undefined;
    await inSpan('startup', async () => {
      worker = consume(store, 'idle', async () => undefined, { signal: stop.signal, pollIntervalMs: 10 });
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    stop.abort();
    await worker;
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['startup']);
  });

  it('a retried message starts a trace of its own, linked to its producer', async () => {
    const store = instrument(createMemoryStore());
    await inSpan('request', () => store.queue.send('retry', { body: 1 }));
    const stop = new AbortController();
    let calls = 0;
    await consume(
      store,
      'retry',
      async () => {
        if (++calls === 1) throw new Error('first try fails');
        stop.abort();
      },
      { signal: stop.signal, pollIntervalMs: 10, retryBaseMs: 1, retryMaxMs: 1 },
    );
    const send = exporter.getFinishedSpans().find((s) => s.name === 'send retry') as ReadableSpan;
    const [first, second] = exporter.getFinishedSpans().filter((s) => s.name === 'process retry');
    expect(first?.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(second?.spanContext().traceId).not.toBe(send.spanContext().traceId);
    expect(second?.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
  });

  it('a tracer that fails never fails the work', async () => {
    const broken = {
      getTracer: () => ({
        startSpan: () => {
          throw new Error('tracer down');
        },
        startActiveSpan: () => {
          throw new Error('tracer down');
        },
      }),
    };
    const store = instrument(createMemoryStore(), { tracerProvider: broken as never });
    await store.events.append('t', [{ type: 'A', data: {} }]);
    await store.queue.send('t', { body: 1 });
    const stop = new AbortController();
    let handled = 0;
    await consume(
      store,
      't',
      () => {
        handled++;
        stop.abort();
      },
      { signal: stop.signal, pollIntervalMs: 10 },
    );
    expect(handled).toBe(1);
    expect((await store.queue.stats('t')).inFlight).toBe(0);
  });

  it('refuses malformed options', () => {
    expect(() => instrument(createMemoryStore(), { queues: 'emails' as never })).toThrow(/options.queues/);
    expect(() => instrument(createMemoryStore(), { listener: {} as never })).toThrow(/options.listener/);
  });
});
