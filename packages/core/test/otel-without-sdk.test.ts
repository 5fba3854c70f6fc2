import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { consume, createMemoryStore } from '../src/index.js';
import { instrument } from '../src/otel/index.js';

// No SDK registered in this file until the last test: instrument() must then cost nothing but a check.

/** The prototype of the API's no-op tracer, whose startSpan runs for every span made without an SDK. */
const noopTracer = Object.getPrototypeOf(new ProxyTracerProvider().getDelegate().getTracer('probe')) as { startSpan: () => unknown };

afterAll(() => trace.disable());

describe('instrument() without an SDK', () => {
  it('goes straight to the store: no span is even started, and the store works as before', async () => {
    const startSpan = vi.spyOn(noopTracer, 'startSpan');
    const store = instrument(createMemoryStore());
    await store.events.append('s', [{ type: 'A', data: {} }]);
    for await (const e of store.events.readStream('s')) expect(e.metadata).toEqual({});
    await store.transaction(async (tx) => tx.queue.send('q', { body: 1 }));
    const stop = new AbortController();
    let handled = 0;
    await consume(
      store,
      'q',
      () => {
        handled++;
        stop.abort();
      },
      { signal: stop.signal, pollIntervalMs: 10 },
    );
    expect(handled).toBe(1);
    expect(startSpan).not.toHaveBeenCalled();
    startSpan.mockRestore();
  });

  it('records metrics when only a meter provider is given', async () => {
    class Reader extends MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    }
    const reader = new Reader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const store = instrument(createMemoryStore(), { meterProvider, observe: false });
    await store.events.append('m', [{ type: 'A', data: {} }]);
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => m.descriptor.name);
    expect(names).toContain('db.client.operation.duration');
    await meterProvider.shutdown();
  });

  it('traces once an SDK registers, even after instrument() ran', async () => {
    const store = instrument(createMemoryStore());
    const exporter = new InMemorySpanExporter();
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
    await store.events.append('late', [{ type: 'A', data: {} }]);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['events.append']);
  });
});
