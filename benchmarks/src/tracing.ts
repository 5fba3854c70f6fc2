// The cost of tracing (issue 14): the same store plain, through `instrument()` with only the
// OpenTelemetry API (its no-op tracer), and through `instrument()` with an SDK whose exporter drops
// every span. On SQLite (a file, WAL, synchronous FULL: the cheapest operations, so the largest relative
// overhead) and on the bench's PostgreSQL server, and first on the memory store (no I/O: the
// instrumentation's own CPU time). The three variants are the same store object underneath and take
// turns one operation at a time, rotating who goes first, so that machine noise hits all alike.
import { join } from 'node:path';
import { context, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createMemoryStore, type StrataStore } from '@strata/core';
import { instrument } from '@strata/core/otel';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { createTestDatabase } from '@strata/testing';
import { benchEvent } from './impls/types.js';
import type { Result } from './main.js';
import { merge, percentile, type Sample } from './measure.js';

export const PLAIN = 'plain store';
export const NO_SDK = 'instrument(), API only (no-op tracer)';
export const WITH_SDK = 'instrument(), SDK + no-op exporter';

/** Per-round figures of a tracing row (the other rows of a run have none). */
export interface TracingSpread {
  /** Operations per second of each round (operation time only). */
  roundOpsPerSec: number[];
  /** This variant's ops/s over the plain store's in the same round: median, lowest, highest. */
  ratioMedian: number;
  ratioMin: number;
  ratioMax: number;
  /**
   * The plain store's own round-to-round noise, in %: the median of its rounds' deviations from its
   * median round (median absolute deviation over median).
   */
  plainNoisePct: number;
  /**
   * Time this variant adds to an operation, in µs: its median operation time minus the plain store's
   * (over all rounds; the median is robust to the outliers — fsyncs, GC — that the means carry).
   */
  addedUs: number;
  /** Whether |ratioMedian − 1| is at most the plain store's noise. */
  withinNoise: boolean;
  /**
   * Spans the SDK exported per operation (SDK variant only): 1 per append, 2 per receive + ack (a little
   * more: an empty receive before a refill makes a span too).
   */
  spansPerOp?: number;
}

/** An exporter that drops every span (counting them, so that the run can check none went missing). */
class DroppingExporter implements SpanExporter {
  count = 0;
  kept: ReadableSpan[] | undefined;
  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.count += spans.length;
    this.kept?.push(...spans);
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

interface Variant {
  name: string;
  store: StrataStore;
  sdk: boolean;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: readonly number[]) => percentile(xs, 50);
const round2 = (x: number) => Math.round(x * 100) / 100;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** One variant's side of a round: `step()` times one operation (`undefined`: not counted), `finish()` cleans up. */
interface Runner {
  step(): Promise<number | undefined>;
  finish(): Promise<void>;
}

/** Appends one event per call to a stream of its own. */
function appender(store: StrataStore, stream: string): Runner {
  let version = 0;
  return {
    async step() {
      const t = now();
      await store.events.append(stream, [benchEvent(version)], { expectedVersion: version });
      const took = now() - t;
      version++;
      return took;
    },
    async finish() {},
  };
}

/**
 * Receives one message and acks it, one at a time, from a queue of its own. When the queue runs dry it
 * is refilled through the plain store, and that empty receive is not counted.
 */
async function receiver(store: StrataStore, plain: StrataStore, queue: string, fill: number): Promise<Runner> {
  const refill = () =>
    plain.queue.send(
      queue,
      Array.from({ length: fill }, (_, i) => ({ body: { n: i, text: 'a small job' } })),
    );
  await refill();
  return {
    async step() {
      const t = now();
      const [d] = await store.queue.receive(queue, { max: 1, visibilityTimeoutMs: 60_000 });
      if (d === undefined) {
        await refill();
        return undefined;
      }
      await store.queue.ack(d.receipt);
      return now() - t;
    },
    finish: async () => {
      await plain.queue.purge(queue);
    },
  };
}

/**
 * The "cost of tracing" rows: append 1 event per call and receive + ack 1 by 1, on memory, SQLite and
 * PostgreSQL, for the plain store, `instrument(store)` with no SDK, and `instrument(store, { tracerProvider })` with
 * a `NodeTracerProvider`, a `BatchSpanProcessor` and an exporter that drops the spans.
 */
export async function tracingCost(serverUrl: string, work: string, scale: number, log: (line: string) => void): Promise<Result[]> {
  const rounds = 8;
  const duration = Math.max(20, Math.round(220 * scale));
  const fill = Math.max(50, Math.round(500 * Math.min(1, scale)));

  // The SDK as NodeTracerProvider.register() would set it up, without making it global: instrument() is
  // given the provider, and the AsyncLocalStorage context manager (what register() installs, needed for
  // parent and child spans) is installed around the SDK variant's operations only, since a user without
  // an SDK has none.
  const exporter = new DroppingExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  /** Runs `fn` with the context manager on (see above), then flushes the spans. */
  const withSdk = async <T>(fn: () => Promise<T>): Promise<T> => {
    context.setGlobalContextManager(contextManager.enable());
    try {
      return await fn();
    } finally {
      await provider.forceFlush();
      context.disable();
    }
  };

  const database = await createTestDatabase(serverUrl, 'bench_tracing');
  // The memory store first, in shorter rounds: with no I/O, it shows what the instrumentation itself
  // costs per call, in CPU time, which the two databases' figures can only bound.
  const stores: [string, StrataStore, number][] = [
    ['memory (the instrumentation’s own CPU cost)', createMemoryStore(), Math.max(10, Math.round(duration / 5))],
    ['SQLite', await createSqliteStore(join(work, 'tracing.db')), duration],
    ['PostgreSQL', await createPostgresStore(database.url), duration],
  ];
  const results: Result[] = [];
  const started = Date.now();
  for (const [engine, plain, roundMs] of stores) {
    const variants: Variant[] = [
      { name: PLAIN, store: plain, sdk: false },
      { name: NO_SDK, store: instrument(plain), sdk: false },
      { name: WITH_SDK, store: instrument(plain, { tracerProvider: provider }), sdk: true },
    ];
    await checkParentAndChild(variants[2] as Variant, provider, exporter, withSdk);

    const workloads: { name: string; spansPerOp: number; runner: (v: Variant, tag: string) => Runner | Promise<Runner> }[] = [
      {
        name: `cost of tracing: append 1 event per call, 1 caller, ${engine}`,
        spansPerOp: 1,
        runner: (v, tag) => appender(v.store, `trace-${tag}`),
      },
      {
        name: `cost of tracing: receive 1 + ack 1 per call, 1 worker, ${engine}`,
        spansPerOp: 2,
        runner: (v, tag) => receiver(v.store, plain, `trace-${tag}`, fill),
      },
    ];
    for (const w of workloads) {
      /**
       * One round: the variants take turns, one operation each, rotating who goes first, until the plain
       * store has `ms` of operation time (so that machine noise, which drifts over tens of milliseconds,
       * hits the three alike). The context manager is on for the SDK variant's operations only.
       */
      const round = async (tag: string, ms: number): Promise<Sample[]> => {
        const runners = await Promise.all(variants.map((v, k) => w.runner(v, `${tag}-${k}`)));
        const samples: Sample[] = variants.map(() => ({ ops: 0, ms: 0, latencies: [] }));
        for (let turn = 0; (samples[0] as Sample).ms < ms; turn++) {
          for (let j = 0; j < variants.length; j++) {
            const k = (j + turn) % variants.length;
            const v = variants[k] as Variant;
            if (v.sdk) context.setGlobalContextManager(contextManager.enable());
            try {
              const took = await (runners[k] as Runner).step();
              if (took !== undefined) {
                const sample = samples[k] as Sample;
                sample.ops++;
                sample.ms += took;
                sample.latencies.push(took);
              }
            } finally {
              if (v.sdk) context.disable();
            }
          }
        }
        await provider.forceFlush();
        for (const r of runners) await r.finish();
        return samples;
      };
      await round('warm', Math.max(10, roundMs / 4)); // untimed: JIT, caches
      const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
      const exportedBefore = exporter.count;
      let sdkOps = 0;
      for (let r = 0; r < rounds; r++) {
        const measured = await round(String(r), roundMs);
        for (const [k, v] of variants.entries()) {
          const sample = measured[k] as Sample;
          if (v.sdk) sdkOps += sample.ops;
          samples.get(v.name)?.push(sample);
        }
      }
      const spansPerOp = (exporter.count - exportedBefore) / sdkOps;
      // An empty receive before a refill makes a span too, so receive + ack may export a little over 2.
      if (spansPerOp < w.spansPerOp) throw new Error(`${w.name}: the SDK exported ${spansPerOp} spans per operation, expected ${w.spansPerOp}`);
      const perRound = (name: string) => (samples.get(name) ?? []).map((s) => s.ops / (s.ms / 1000));
      const plainRounds = perRound(PLAIN);
      const plainMedian = median(plainRounds);
      const plainNoise = median(plainRounds.map((x) => Math.abs(x / plainMedian - 1)));
      const plainMerged = merge(samples.get(PLAIN) ?? []);
      const plainOps = plainMerged.ops / (plainMerged.ms / 1000);
      const plainP50 = percentile(plainMerged.latencies, 50);
      for (const v of variants) {
        const m = merge(samples.get(v.name) ?? []);
        const ops = m.ops / (m.ms / 1000);
        const roundOps = perRound(v.name);
        const ratios = roundOps.map((x, i) => x / (plainRounds[i] as number));
        const ratioMedian = median(ratios);
        const tracing: TracingSpread = {
          roundOpsPerSec: roundOps.map(Math.round),
          ratioMedian: round3(ratioMedian),
          ratioMin: round3(Math.min(...ratios)),
          ratioMax: round3(Math.max(...ratios)),
          plainNoisePct: round2(plainNoise * 100),
          addedUs: round2((percentile(m.latencies, 50) - plainP50) * 1000),
          withinNoise: Math.abs(ratioMedian - 1) <= plainNoise,
          ...(v.sdk ? { spansPerOp: round3(spansPerOp) } : {}),
        };
        results.push({
          suite: 'tracing',
          workload: w.name,
          implementation: v.name,
          opsPerSec: round2(ops),
          p50Ms: round3(percentile(m.latencies, 50)),
          p99Ms: round3(percentile(m.latencies, 99)),
          ratioVsRaw: round3(ops / plainOps),
          baseline: PLAIN,
          unit: 'ops/s',
          samples: m.latencies.length,
          tracing,
        });
      }
      const rows = results.filter((r) => r.workload === w.name);
      log(
        `${w.name}: ${rows.map((r) => `${r.implementation} ${Math.round(r.opsPerSec ?? 0)} (×${r.tracing?.ratioMedian} [${r.tracing?.ratioMin}–${r.tracing?.ratioMax}], ${r.tracing?.addedUs} µs/op)`).join(' · ')}; plain noise ±${rows[0]?.tracing?.plainNoisePct} %`,
      );
    }
  }
  for (const [, store] of stores) await store.close();
  await provider.shutdown();
  await database.drop();
  log(`cost of tracing: ${Math.round((Date.now() - started) / 1000)} s`);
  return results;
}

/**
 * Checks, once per store, that the SDK variant traces as a user's application would: an append inside a
 * request's span is exported as that span's child, in the same trace.
 */
async function checkParentAndChild(
  v: Variant,
  provider: NodeTracerProvider,
  exporter: DroppingExporter,
  withSdk: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<void> {
  exporter.kept = [];
  let parent: Span | undefined;
  await withSdk(() =>
    provider.getTracer('bench').startActiveSpan('request', async (span) => {
      parent = span;
      await v.store.events.append(`trace-check-${Date.now()}`, [benchEvent(0)]);
      span.end();
    }),
  );
  const kept = exporter.kept;
  exporter.kept = undefined;
  const append = kept.find((s) => s.name === 'events.append');
  const ids = parent?.spanContext();
  if (append === undefined || ids === undefined || append.parentSpanContext?.spanId !== ids.spanId || append.spanContext().traceId !== ids.traceId)
    throw new Error('cost of tracing: the SDK variant did not export the append as a child of the active span');
  if (trace.getActiveSpan() !== undefined) throw new Error('cost of tracing: a span is still active outside the SDK rounds');
}
