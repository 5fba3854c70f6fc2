import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { consume, type StrataStore, subscribe } from '@strata/core';
import { instrument } from '@strata/core/otel';
import type { PostgresStore } from '@strata/postgres';
import { describeStores } from '@strata/testing/vitest';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';

// One trace from a request to both consumers, on every engine: the request appends an event and sends
// a message in one transaction; a consume() handler takes the message and a subscribe() handler the
// event. Both handlers' spans must be children of the producer's spans (same trace) and link to them.

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  provider.register();
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});
beforeEach(() => exporter.reset());

const id = (s: ReadableSpan) => s.spanContext().spanId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  expect(
    found.map((s) => s.name),
    `exactly one span named ${name}`,
  ).toEqual([name]);
  return found[0] as ReadableSpan;
}

/** Whether `span` descends from `ancestor` through parent links. */
function descends(spans: ReadableSpan[], span: ReadableSpan, ancestor: ReadableSpan): boolean {
  const byId = new Map(spans.map((s) => [id(s), s]));
  for (let at: ReadableSpan | undefined = span; at !== undefined; at = byId.get(parentOf(at) ?? '')) {
    if (parentOf(at) === id(ancestor)) return true;
  }
  return false;
}

async function scenario(raw: StrataStore): Promise<ReadableSpan[]> {
  const store = instrument(raw);
  const tracer = trace.getTracer('orders-api');
  await tracer.startActiveSpan('POST /orders', async (request) => {
    await store.transaction(async (tx) => {
      await tx.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' });
      await tx.queue.send('emails', { body: { to: 'ada@example.com' } });
    });
    request.end();
  });

  // The consumer: one message, then stop.
  const stopWorker = new AbortController();
  let handled = 0;
  await consume(
    store,
    'emails',
    async () => {
      handled++;
      stopWorker.abort();
    },
    { signal: stopWorker.signal, pollIntervalMs: 20 },
  );
  expect(handled).toBe(1);

  // The projection: a named consumer, stopped once it saw the event.
  let seen = 0;
  const sub = subscribe(store, {
    from: { consumer: 'totals' },
    handler: async (_event, { tx }) => {
      seen++;
      await tx?.snapshots.save('totals', { version: 1, state: { orders: seen } });
    },
  });
  await expect.poll(() => seen, { timeout: 10_000 }).toBe(1);
  await sub.stop();
  await expect.poll(() => exporter.getFinishedSpans().filter((s) => s.name === 'process totals').length).toBe(1);
  return exporter.getFinishedSpans();
}

describeStores(['memory', 'sqlite', 'pglite', 'postgres'], (test, adapter) => {
  test('a request, its message and its event: one trace through the producer and both consumers', async ({ store }) => {
    const spans = await scenario(store);
    const request = only(spans, 'POST /orders');
    const traceId = request.spanContext().traceId;

    // The producer: transaction > events.append and send emails, all in the request's trace.
    const transaction = spans.find((s) => s.name === 'transaction' && parentOf(s) === id(request));
    expect(transaction, 'the transaction span is a child of the request').toBeDefined();
    const append = only(spans, 'events.append');
    const send = only(spans, 'send emails');
    expect(parentOf(append)).toBe(id(transaction as ReadableSpan));
    expect(parentOf(send)).toBe(id(transaction as ReadableSpan));
    expect(send.kind).toBe(3); // PRODUCER
    expect(send.attributes['messaging.destination.name']).toBe('emails');
    expect(append.attributes['strata.stream.id']).toBe('order-1');
    expect(append.attributes['strata.event.count']).toBe(1);
    expect(append.attributes['strata.expected_version']).toBe('no_stream');

    // The worker: a receive that links to the producer, and a process span in the request's trace,
    // a child of the send span and linked to it, with the ack inside it.
    const receive = spans.find((s) => s.name === 'receive emails' && s.attributes['messaging.batch.message_count'] === 1);
    expect(receive?.links.map((l) => l.context.spanId)).toEqual([id(send)]);
    const processMessage = only(spans, 'process emails');
    expect(processMessage.kind).toBe(4); // CONSUMER
    expect(processMessage.spanContext().traceId).toBe(traceId);
    expect(parentOf(processMessage)).toBe(id(send));
    expect(processMessage.links.map((l) => l.context.spanId)).toEqual([id(send)]);
    // Under telemetry consume() acks each message on its own, inside its handler's span.
    const ack = only(spans, 'queue.ack');
    expect(parentOf(ack)).toBe(id(processMessage));
    expect(ack.attributes['messaging.destination.name']).toBe('emails');

    // The projection: its handler span is in the request's trace, a child of the append span and
    // linked to it; the snapshot it saved inside the handler is a child of the handler's span.
    const processEvent = only(spans, 'process totals');
    expect(processEvent.spanContext().traceId).toBe(traceId);
    expect(parentOf(processEvent)).toBe(id(append));
    expect(processEvent.links.map((l) => l.context.spanId)).toEqual([id(append)]);
    expect(processEvent.attributes['strata.event.type']).toBe('OrderPlaced');
    expect(processEvent.attributes['strata.consumer']).toBe('totals');
    expect(descends(spans, only(spans, 'snapshots.save'), processEvent)).toBe(true);
    // The batch that ran it, with the checkpoint's compare-and-set, is a span of the subscription's own.
    const batch = spans.find((s) => s.name === 'subscription totals' && s.attributes['messaging.batch.message_count'] === 1);
    expect(batch).toBeDefined();
    expect(spans.some((s) => s.name === 'checkpoints.set' && descends(spans, s, batch as ReadableSpan))).toBe(true);

    // Every span is ended and nothing failed.
    expect(spans.filter((s) => s.status.code === 2).map((s) => s.name)).toEqual([]);
  });

  // join() is the PostgreSQL dialect's.
  if (adapter === 'pglite' || adapter === 'postgres')
    test('writes through join(tx) into the application’s own transaction are traced too', async ({ store }) => {
      const instrumented = instrument(store) as unknown as PostgresStore;
      await trace.getTracer('orders-api').startActiveSpan('POST /orders', async (request) => {
        await instrumented.db.transaction(async (dtx) => {
          await instrumented.join(dtx).events.append('joined', [{ type: 'OrderPlaced', data: {} }]);
        });
        request.end();
      });
      const spans = exporter.getFinishedSpans();
      const request = only(spans, 'POST /orders');
      const append = only(spans, 'events.append');
      expect(parentOf(append)).toBe(id(request));
      for await (const e of store.events.readStream('joined')) {
        expect(e.metadata.traceparent).toBe(`00-${append.spanContext().traceId}-${id(append)}-01`);
      }
    });
});
