/**
 * OpenTelemetry traces and metrics for any Strata store, through `@opentelemetry/api` (an optional
 * peer dependency: install it, and an SDK, to use this entry; the main entry never loads it).
 *
 * `instrument(store)` returns the same store with a span around every operation, trace context
 * carried in message headers and event metadata, spans for each `subscribe()` batch and each
 * `subscribe()` or `consume()` handler call (linked back to the producer's span), metrics, and trace
 * and span ids on every line Strata logs while a span is active.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from '@strata/core'
 * import { instrument } from '@strata/core/otel'
 *
 * // Register the OpenTelemetry SDK first (NodeSDK, or a NodeTracerProvider and a MeterProvider).
 * const store = instrument(createMemoryStore())
 * ```
 *
 * @packageDocumentation
 */
import {
  type Attributes,
  type BatchObservableResult,
  type Context,
  context,
  createContextKey,
  createNoopMeter,
  createTraceState,
  type Histogram,
  isSpanContextValid,
  type Link,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { isStrataError, ValidationError } from '../errors.js';
import type { EventStore, NewEvent } from '../events/types.js';
import { addLogFields } from '../logger.js';
import type { Delivery, MessageQueue } from '../queue/types.js';
import type { SnapshotStore } from '../snapshots/types.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import type { CheckpointStore } from '../subscriptions/types.js';
import type { BatchCall, HandlerCall, LoopCall, StoreTelemetry, TraceCarrier } from '../telemetry.js';
import type { RecordTransfer } from '../transfer/types.js';

/** The instrumentation scope of every tracer and meter this entry makes. */
export const INSTRUMENTATION_NAME = '@strata/core';

/** The part of a listener's health that `instrument()` observes. */
export interface ListenerHealthReport {
  /** `connected`, `reconnecting`, `polling`, … */
  readonly state: string;
  /** Connections lost so far. */
  readonly reconnects: number;
  /** The transaction holding reads back, if any, with how long it has been seen doing so. */
  readonly heldBackBy: HeldBackReport | null;
}

/** A transaction holding reads back, as {@link ListenerHealthReport.heldBackBy} reports it. */
export interface HeldBackReport {
  /** How long it has been seen holding reads back, in milliseconds. */
  readonly heldForMs: number;
}

/** What `instrument()` reads from a LISTEN/NOTIFY listener (`createListener()` of `@strata/realtime` fits). */
export interface ListenerHealthSource {
  /** The listener's current health. */
  health(): Promise<ListenerHealthReport>;
}

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go. @defaultValue the global tracer provider (`trace`), as the SDK registered it */
  tracerProvider?: TracerProvider;
  /**
   * Where metrics go. The global one is read when `instrument()` runs, so register the SDK first.
   * @defaultValue the global meter provider (`metrics`)
   */
  meterProvider?: MeterProvider;
  /**
   * `db.system.name` of the spans. @defaultValue `postgresql` for a store with a `schema` (PostgreSQL,
   * PGlite), `sqlite` for one with a `client` (SQLite), otherwise none
   */
  dbSystem?: string;
  /**
   * Queues whose depth, oldest ready age, in-flight and dead-lettered counts are observed, besides
   * those this store sends to or receives from. @defaultValue none
   */
  queues?: readonly string[];
  /**
   * Observe queues and the lag of named consumers as metrics (each collection queries the store).
   * @defaultValue true
   */
  observe?: boolean;
  /** A listener whose state, reconnects and held-back reads are observed (PostgreSQL, `@strata/realtime`). */
  listener?: ListenerHealthSource;
  /**
   * Put the trace context (`traceparent`, `tracestate`) in the headers of sent messages and the
   * metadata of appended events when the caller runs inside a span, so that consumers continue the
   * producer's trace (outside any span, data is stored exactly as given). Events given an
   * `id` are left as they are: a retry from another trace must append the same content. A message or
   * event that already carries a `traceparent` keeps it. @defaultValue true
   */
  propagate?: boolean;
}

type Attrs = Record<string, string | number | boolean>;

const INSTRUMENTED = Symbol.for('strata.instrumented');
const MAX_KNOWN = 10_000;

/** The API's no-op tracer provider: what the global provider hands spans to until an SDK registers. */
const NOOP_TRACING = new ProxyTracerProvider().getDelegate();

/** The class of the API's no-op meter: what the global meter provider gives until an SDK registers. */
const NOOP_METER = createNoopMeter().constructor;

/** Set in the context of a `subscribe()` or `consume()` loop: its idle polls make no spans. */
const IN_LOOP = createContextKey('strata loop');

/** Handler spans continue the producer's trace only for data younger than this; older data is linked. */
const FRESH_MS = 10 * 60_000;

/** Buckets of the duration histograms, in seconds (the SDK's defaults assume milliseconds). */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Longest wait for one query of a metrics collection, and for the whole collection. */
const OBSERVE_CALL_MS = 5000;
const OBSERVE_TOTAL_MS = 15_000;

/** Named consumers whose lag is observed per collection, at most. */
const MAX_OBSERVED_CONSUMERS = 200;

/** Events counted after a consumer's checkpoint for its lag, at most. */
const LAG_COUNT_CAP = 1000;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

let logFieldsAdded = false;

/** Adds `trace_id`, `span_id` and `trace_flags` to Strata's log lines while a valid span is active. */
function joinLogsToTraces(): void {
  if (logFieldsAdded) return;
  logFieldsAdded = true;
  addLogFields(() => {
    const span = trace.getSpanContext(context.active());
    if (span === undefined || !isSpanContextValid(span)) return undefined;
    return { trace_id: span.traceId, span_id: span.spanId, trace_flags: `0${span.traceFlags.toString(16)}`.slice(-2) };
  });
}

function errorType(error: unknown): string {
  if (isStrataError(error)) return error.code;
  if (error instanceof Error) return error.name;
  return typeof error;
}

/**
 * The W3C Trace Context fields (`traceparent`, and `tracestate` when there is one) of the span active in
 * `ctx`; empty without a valid span. Written by Strata itself, whatever propagators the application
 * registered: only these two fields are stored, never baggage.
 */
function traceFieldsOf(ctx: Context): Record<string, string> {
  const span = trace.getSpanContext(ctx);
  if (span === undefined || !isSpanContextValid(span)) return {};
  const fields: Record<string, string> = { traceparent: `00-${span.traceId}-${span.spanId}-${`0${(span.traceFlags & 0xff).toString(16)}`.slice(-2)}` };
  const state = span.traceState?.serialize();
  if (state !== undefined && state !== '') fields.tracestate = state;
  return fields;
}

/** Whether `value` is an object literal (or has a null prototype): the only shape Strata copies. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The producer's span context carried by `carrier` (W3C `traceparent`), if a valid one is there. */
function producerOf(carrier: TraceCarrier | undefined): SpanContext | undefined {
  if (!isPlainObject(carrier)) return undefined;
  const parent = carrier.traceparent;
  if (typeof parent !== 'string' || parent.length > 512) return undefined;
  const m = TRACEPARENT.exec(parent.trim().toLowerCase());
  if (m === null || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return undefined;
  const span: SpanContext = { traceId: m[2] as string, spanId: m[3] as string, traceFlags: Number.parseInt(m[4] as string, 16), isRemote: true };
  const state = carrier.tracestate;
  if (typeof state === 'string' && state.length <= 512) {
    try {
      span.traceState = createTraceState(state);
    } catch {
      // An unreadable tracestate is dropped; the traceparent alone is enough.
    }
  }
  return isSpanContextValid(span) ? span : undefined;
}

/** A string attribute from input that may not be valid yet: strings only, cut to 256 characters. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 256) : undefined;
}

/** Runs `fn`, ignoring what it throws: telemetry never changes the outcome of the work it describes. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // Dropped on purpose.
  }
}

/** `promise`, or a rejection after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The views `instrument()` made with no options, by the store they wrap: instrumenting twice gives one view. */
const views = new WeakMap<object, unknown>();

function validateOptions(options: InstrumentOptions): void {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'must be an object');
  const { queues, dbSystem, listener, observe, propagate } = options;
  if (queues !== undefined && (!Array.isArray(queues) || queues.some((q) => typeof q !== 'string'))) {
    throw new ValidationError('options.queues', 'must be an array of queue names');
  }
  if (dbSystem !== undefined && typeof dbSystem !== 'string') throw new ValidationError('options.dbSystem', 'must be a string');
  if (listener !== undefined && typeof (listener as { health?: unknown } | null)?.health !== 'function') {
    throw new ValidationError('options.listener', 'must have a health() method');
  }
  if (observe !== undefined && typeof observe !== 'boolean') throw new ValidationError('options.observe', 'must be a boolean');
  if (propagate !== undefined && typeof propagate !== 'boolean') throw new ValidationError('options.propagate', 'must be a boolean');
}

/**
/**
 * Returns a view of `store` with OpenTelemetry spans and metrics around all it does (a proxy: the
 * adapter's own members, such as `db`, `schema`, `pglite` or `join()`, work as before). Without an SDK
 * registered for traces and without a meter provider, every call goes straight to the store after one
 * check of the global provider (an SDK registered later is picked up by the next call).
 *
 * - **Spans** (named after the operation, such as `events.append`, `send orders`, `receive orders`,
 *   `transaction`), with `db.system.name`, `db.namespace` (the PostgreSQL schema), `db.operation.name`,
 *   `strata.stream.id`, `strata.expected_version`, `strata.event.count`, and for queues the messaging
 *   attributes (`messaging.system` `strata`, `messaging.destination.name`, `messaging.operation.type`,
 *   `messaging.batch.message_count`, `messaging.message.id`). A failure sets the span's status to
 *   error and `error.type` to the Strata error code or the error's class; no error message is recorded.
 * - **Context travels with the data**: see {@link InstrumentOptions.propagate}. A `consume()` or
 *   `subscribe()` handler's span (`process <queue or consumer>`, kind consumer) links to the producer's
 *   span, and is its child (one trace from the request to the handlers) for a first delivery of data
 *   younger than ten minutes; a retry or a replay of older data starts a trace of its own. A receive
 *   links to every message it got. The loops' idle polls (a receive or read that finds nothing) make
 *   no span, and the loops never join the trace of the code that started them.
 * - **Metrics**: `db.client.operation.duration`; `strata.handler.duration` and
 *   `strata.handler.failures`; per queue `strata.queue.ready`, `.in_flight`, `.delayed`,
 *   `.dead_lettered`, `.oldest_ready_age`; per named consumer `strata.consumer.lag.events` and
 *   `strata.consumer.lag.seconds`; with a listener `strata.listener.connected`,
 *   `strata.listener.reconnects` and `strata.reads.held_back`. Each collection is bounded (5 s per query,
 *   15 s in all).
 * - **Logs**: every line Strata logs while a span is active carries `trace_id` and `span_id`.
 *
 * Instrumenting a store again with no options, or its view, returns the same view; with options, another
 * view with its own providers and metrics. Closing the store (through a view or not) stops the metrics.
 *
 * @param store - any store: an official adapter's or your own
 * @param options - see {@link InstrumentOptions}
 * @throws `VALIDATION` when an option is malformed
 */
export function instrument<S extends StrataStore<unknown>>(store: S, options: InstrumentOptions = {}): S {
  if ((store as unknown as Record<symbol, unknown>)[INSTRUMENTED] === true) return store;
  const plain = Object.keys(options).length === 0;
  const known = plain ? views.get(store) : undefined;
  if (known !== undefined) return known as S;
  validateOptions(options);
  joinLogsToTraces();
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME);
  const propagate = options.propagate ?? true;
  const dbSystem = options.dbSystem ?? ('schema' in store ? 'postgresql' : 'client' in store ? 'sqlite' : undefined);
  const base: Attrs = {};
  if (dbSystem !== undefined) base['db.system.name'] = dbSystem;
  const schema = (store as unknown as { schema?: unknown }).schema;
  if (typeof schema === 'string') base['db.namespace'] = schema;

  /**
   * Whether there is nothing to record: no SDK behind the global tracer provider (checked on each call,
   * since one may register later) and no meter. Then every operation goes straight to the store.
   */
  const metersIdle = meter.constructor === NOOP_METER;
  const idle = (): boolean => {
    if (!metersIdle || options.tracerProvider !== undefined) return false;
    const provider = trace.getTracerProvider();
    return provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_TRACING;
  };

  const seconds = { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
  const opDuration = meter.createHistogram('db.client.operation.duration', { ...seconds, description: 'Duration of Strata store operations' });
  const handlerDuration: Histogram = meter.createHistogram('strata.handler.duration', {
    ...seconds,
    description: 'Duration of subscribe() and consume() handler calls (a consume() call includes its ack or nack)',
  });
  const handlerFailures = meter.createCounter('strata.handler.failures', { description: 'subscribe() and consume() handler calls that threw' });

  /** Queues seen through this store, observed as metrics; receipts to their queue for ack and nack spans. */
  const queues = new Set<string>(options.queues ?? []);
  const receipts = new Map<string, string>();
  const seeQueue = (queue: unknown) => {
    if (typeof queue === 'string' && queues.size < 1000) queues.add(queue);
  };

  /** Marks `s` as failed by `error`: its code or class only (a message may quote a payload). */
  const fail = (s: Span, error: unknown) =>
    quietly(() => {
      s.setAttribute('error.type', errorType(error));
      s.setStatus({ code: SpanStatusCode.ERROR });
    });

  const record = (operation: string, started: number, failure: unknown) =>
    quietly(() => {
      const attrs: Attributes = { ...base, 'db.operation.name': operation };
      if (failure !== undefined) attrs['error.type'] = errorType(failure);
      opDuration.record((performance.now() - started) / 1000, attrs);
    });

  /** Starts a span, or returns `undefined` when the tracer fails: the work then runs without one. */
  const start = (name: string, kind: SpanKind, attributes: Attrs, parent: Context, links: Link[] = [], startTime?: number): Span | undefined => {
    try {
      return tracer.startSpan(name, { kind, attributes: { ...base, ...attributes }, links, ...(startTime === undefined ? {} : { startTime }) }, parent);
    } catch {
      return undefined;
    }
  };

  /** Runs `fn` in a new active span; records its duration and failure. */
  const span = async <T>(
    name: string,
    kind: SpanKind,
    attributes: Attrs,
    fn: (span: Span | undefined) => Promise<T>,
    parent: Context = context.active(),
    links: Link[] = [],
    operation?: string,
  ): Promise<T> => {
    if (idle()) return fn(undefined);
    const s = start(name, kind, attributes, parent, links);
    const started = performance.now();
    let failure: unknown;
    try {
      return await (s === undefined ? fn(undefined) : context.with(trace.setSpan(parent, s), () => fn(s)));
    } catch (error) {
      failure = error ?? new Error('undefined thrown');
      if (s !== undefined) fail(s, error);
      throw error;
    } finally {
      if (s !== undefined) quietly(() => s.end());
      if (operation !== undefined) record(operation, started, failure);
    }
  };

  /** Whether the caller is a `subscribe()` or `consume()` loop between batches: its polls make no span. */
  const polling = () => context.active().getValue(IN_LOOP) === true;

  /** A store operation: span named after it, kind client; none for a loop's bookkeeping polls. */
  const op = <T>(operation: string, attributes: Attrs, fn: (span: Span | undefined) => Promise<T>, quiet = false): Promise<T> => {
    if (idle()) return fn(undefined);
    if (quiet && polling()) {
      const started = performance.now();
      let failure: unknown;
      return fn(undefined)
        .catch((error: unknown) => {
          failure = error ?? new Error('undefined thrown');
          throw error;
        })
        .finally(() => record(operation, started, failure));
    }
    return span(operation, SpanKind.CLIENT, { 'db.operation.name': operation, ...attributes }, fn, context.active(), [], operation);
  };

  /**
   * An async iterable whose iteration, first `next()` to end, is one span in the caller's context. In a
   * loop's poll, the span is made afterwards and only when the iteration yielded something.
   */
  const iteration = <T>(operation: string, attributes: Attrs, inner: AsyncIterable<T>, counted: string): AsyncIterable<T> => {
    if (idle()) return inner;
    const parent = context.active();
    const quiet = polling();
    return {
      [Symbol.asyncIterator]() {
        const it = inner[Symbol.asyncIterator]();
        let s: Span | undefined;
        let startedAt: number | undefined;
        let count = 0;
        let ended = false;
        const attrs = { 'db.operation.name': operation, ...attributes };
        const begin = () => {
          if (startedAt !== undefined) return;
          startedAt = Date.now();
          if (!quiet) s = start(operation, SpanKind.CLIENT, attrs, parent);
        };
        const end = (error?: unknown) => {
          if (ended || startedAt === undefined) return;
          ended = true;
          if (quiet && count > 0 && error === undefined) s = start(operation, SpanKind.CLIENT, attrs, parent, [], startedAt);
          const done = s;
          if (done === undefined) return;
          quietly(() => done.setAttribute(counted, count));
          if (error !== undefined) fail(done, error);
          quietly(() => done.end());
        };
        const inSpan = <R>(fn: () => Promise<R>) => (s === undefined ? fn() : context.with(trace.setSpan(parent, s), fn));
        const iterator: AsyncIterableIterator<T> = {
          async next() {
            begin();
            try {
              const r = await inSpan(() => it.next());
              if (r.done === true) end();
              else count++;
              return r;
            } catch (error) {
              end(error);
              throw error;
            }
          },
          async return(value?: unknown) {
            try {
              return it.return === undefined
                ? { done: true, value: value as T }
                : await inSpan(() => (it.return as (v?: unknown) => Promise<IteratorResult<T>>)(value));
            } finally {
              end();
            }
          },
          async throw(error?: unknown) {
            try {
              if (it.throw === undefined) throw error;
              return await inSpan(() => (it.throw as (e?: unknown) => Promise<IteratorResult<T>>)(error));
            } finally {
              end(error);
            }
          },
          [Symbol.asyncIterator]() {
            return iterator;
          },
        };
        return iterator;
      },
    };
  };

  /**
   * Whether data written now carries the trace context: only when the caller runs inside a span (a
   * store used outside any traced work stores exactly what it is given).
   */
  const callerTraced = (): boolean => {
    if (!propagate) return false;
    const caller = trace.getSpanContext(context.active());
    return caller !== undefined && isSpanContextValid(caller);
  };

  /**
   * Writes `input` with the trace context added by `add`, and when that is refused as invalid (the
   * context pushed it over a size limit) the input exactly as given: tracing never refuses data.
   */
  const withTraceFields = async <I, R>(input: I, withFields: I, write: (input: I) => Promise<R>): Promise<R> => {
    if (withFields === input) return write(input);
    try {
      return await write(withFields);
    } catch (error) {
      if (isStrataError(error) && error.code === 'VALIDATION') return write(input);
      throw error;
    }
  };

  const wrapEvents = (events: EventStore): EventStore => ({
    append: (streamId, list, appendOptions) => {
      const traced = callerTraced();
      const attrs: Attrs = {};
      const id = text(streamId);
      if (id !== undefined) attrs['strata.stream.id'] = id;
      if (Array.isArray(list)) attrs['strata.event.count'] = list.length;
      const expected = appendOptions?.expectedVersion;
      if (typeof expected === 'string' || typeof expected === 'number') attrs['strata.expected_version'] = String(expected);
      return op('events.append', attrs, async () => {
        const fields = traced ? traceFieldsOf(context.active()) : {};
        if (Object.keys(fields).length === 0 || !Array.isArray(list)) return events.append(streamId, list, appendOptions);
        const withFields = (list as readonly NewEvent[]).map((e) => {
          if (!isPlainObject(e) || e.id !== undefined) return e;
          const metadata = e.metadata;
          if (metadata !== undefined && (!isPlainObject(metadata) || 'traceparent' in metadata)) return e;
          return { ...e, metadata: { ...metadata, ...fields } };
        });
        return withTraceFields(list, withFields as typeof list, (l) => events.append(streamId, l, appendOptions));
      });
    },
    readStream: (streamId, readOptions) => {
      const id = text(streamId);
      return iteration('events.readStream', id === undefined ? {} : { 'strata.stream.id': id }, events.readStream(streamId, readOptions), 'strata.event.count');
    },
    readAll: (readOptions) => {
      const attrs: Attrs = {};
      if (typeof readOptions?.after === 'bigint') attrs['strata.position.after'] = readOptions.after.toString();
      if (typeof readOptions?.limit === 'number') attrs['db.query.limit'] = readOptions.limit;
      return iteration('events.readAll', attrs, events.readAll(readOptions), 'strata.event.count');
    },
    streamInfo: (streamId) => {
      const id = text(streamId);
      return op('events.streamInfo', id === undefined ? {} : { 'strata.stream.id': id }, () => events.streamInfo(streamId));
    },
    headPosition: () => op('events.headPosition', {}, () => events.headPosition(), true),
  });

  const messaging = (queue: unknown, type: string | undefined, name: string): Attrs => {
    const attrs: Attrs = { 'messaging.system': 'strata', 'messaging.operation.name': name };
    if (type !== undefined) attrs['messaging.operation.type'] = type;
    const q = text(queue);
    if (q !== undefined) attrs['messaging.destination.name'] = q;
    return attrs;
  };

  const settleAttrs = (receipt: unknown, name: string): Attrs => messaging(typeof receipt === 'string' ? receipts.get(receipt) : undefined, 'settle', name);

  const wrapQueue = (queue: MessageQueue): MessageQueue => ({
    send: (name, messages, sendOptions) => {
      seeQueue(name);
      const traced = callerTraced();
      const attrs: Attrs = { ...messaging(name, 'send', 'send'), 'db.operation.name': 'queue.send' };
      attrs['messaging.batch.message_count'] = Array.isArray(messages) ? messages.length : 1;
      const q = text(name);
      return span(
        q === undefined ? 'send' : `send ${q}`,
        SpanKind.PRODUCER,
        attrs,
        async (s) => {
          const fields = traced ? traceFieldsOf(context.active()) : {};
          const add = (m: unknown) => {
            if (!isPlainObject(m)) return m;
            const headers = m.headers;
            if (headers !== undefined && (!isPlainObject(headers) || 'traceparent' in headers)) return m;
            return { ...m, headers: { ...headers, ...fields } };
          };
          const withFields = Object.keys(fields).length === 0 ? messages : Array.isArray(messages) ? messages.map(add) : add(messages);
          const ids = await withTraceFields(messages, withFields as typeof messages, (m) => queue.send(name, m, sendOptions));
          if (ids.length === 1 && s !== undefined) quietly(() => s.setAttribute('messaging.message.id', ids[0] as string));
          return ids;
        },
        context.active(),
        [],
        'queue.send',
      );
    },
    receive: (name, receiveOptions) => {
      seeQueue(name);
      const q = text(name);
      const spanName = q === undefined ? 'receive' : `receive ${q}`;
      const attrs: Attrs = { ...messaging(name, 'receive', 'receive'), 'db.operation.name': 'queue.receive' };
      const remember = (deliveries: Delivery[]) => {
        for (const d of deliveries) {
          if (receipts.size >= MAX_KNOWN) receipts.delete(receipts.keys().next().value as string);
          if (typeof name === 'string') receipts.set(d.receipt, name);
        }
      };
      const linksOf = (deliveries: Delivery[]): Link[] =>
        deliveries.flatMap((d) => {
          const producer = producerOf(d.headers);
          return producer === undefined ? [] : [{ context: producer }];
        });
      if (idle()) return queue.receive(name, receiveOptions);
      if (polling()) {
        // A worker's poll: a span only when it got messages, made once it knows.
        const startedAt = Date.now();
        const started = performance.now();
        return queue.receive(name, receiveOptions).then(
          (deliveries) => {
            record('queue.receive', started, undefined);
            remember(deliveries);
            if (deliveries.length > 0) {
              const s = start(
                spanName,
                SpanKind.CLIENT,
                { ...attrs, 'messaging.batch.message_count': deliveries.length },
                context.active(),
                linksOf(deliveries),
                startedAt,
              );
              if (s !== undefined) quietly(() => s.end());
            }
            return deliveries;
          },
          (error: unknown) => {
            record('queue.receive', started, error ?? new Error('undefined thrown'));
            throw error;
          },
        );
      }
      return span(
        spanName,
        SpanKind.CLIENT,
        attrs,
        async (s) => {
          const deliveries: Delivery[] = await queue.receive(name, receiveOptions);
          remember(deliveries);
          if (s !== undefined)
            quietly(() => {
              s.setAttribute('messaging.batch.message_count', deliveries.length);
              for (const link of linksOf(deliveries)) s.addLink(link);
            });
          return deliveries;
        },
        context.active(),
        [],
        'queue.receive',
      );
    },
    ack: (receipt) =>
      op('queue.ack', settleAttrs(receipt, 'ack'), async () => {
        await queue.ack(receipt);
        receipts.delete(receipt);
      }),
    ackMany: (list) =>
      op(
        'queue.ackMany',
        { ...settleAttrs(Array.isArray(list) ? list[0] : undefined, 'ack'), 'messaging.batch.message_count': Array.isArray(list) ? list.length : 0 },
        async () => {
          const result = await queue.ackMany(list);
          if (Array.isArray(list)) for (const r of list) receipts.delete(r);
          return result;
        },
      ),
    nack: (receipt, nackOptions) =>
      op('queue.nack', settleAttrs(receipt, 'nack'), async () => {
        await queue.nack(receipt, nackOptions);
        receipts.delete(receipt);
      }),
    extendVisibility: (receipt, ms) => op('queue.extendVisibility', settleAttrs(receipt, 'extend'), () => queue.extendVisibility(receipt, ms)),
    stats: (name) => op('queue.stats', messaging(name, undefined, 'stats'), () => queue.stats(name)),
    nextVisibleInMs: (name) => op('queue.nextVisibleInMs', messaging(name, undefined, 'nextVisibleInMs'), () => queue.nextVisibleInMs(name), true),
    deadLetters: (name, o) => op('queue.deadLetters', messaging(name, undefined, 'deadLetters'), () => queue.deadLetters(name, o)),
    redrive: (name, ids) => op('queue.redrive', messaging(name, undefined, 'redrive'), () => queue.redrive(name, ids)),
    purge: (name) => op('queue.purge', messaging(name, undefined, 'purge'), () => queue.purge(name)),
  });

  const streamAttr = (streamId: unknown): Attrs => {
    const id = text(streamId);
    return id === undefined ? {} : { 'strata.stream.id': id };
  };
  const wrapSnapshots = (snapshots: SnapshotStore): SnapshotStore => ({
    save: (streamId, snapshot) => op('snapshots.save', streamAttr(streamId), () => snapshots.save(streamId, snapshot)),
    load: (streamId, o) => op('snapshots.load', streamAttr(streamId), () => snapshots.load(streamId, o)),
    delete: (streamId) => op('snapshots.delete', streamAttr(streamId), () => snapshots.delete(streamId)),
  });

  const consumerAttr = (consumer: unknown): Attrs => {
    const c = text(consumer);
    return c === undefined ? {} : { 'strata.consumer': c };
  };
  const wrapCheckpoints = (checkpoints: CheckpointStore): CheckpointStore => ({
    get: (consumer) => op('checkpoints.get', consumerAttr(consumer), () => checkpoints.get(consumer), true),
    list: () => op('checkpoints.list', {}, () => checkpoints.list()),
    set: (consumer, position, o) => op('checkpoints.set', consumerAttr(consumer), () => checkpoints.set(consumer, position, o)),
    acquireLease: (consumer, o) => op('checkpoints.acquireLease', consumerAttr(consumer), () => checkpoints.acquireLease(consumer, o), true),
    releaseLease: (consumer, owner) => op('checkpoints.releaseLease', consumerAttr(consumer), () => checkpoints.releaseLease(consumer, owner)),
  });

  const wrapTransfer = (transfer: RecordTransfer): RecordTransfer => ({
    export: (o) => iteration('transfer.export', {}, transfer.export(o), 'strata.batch.count'),
    counts: () => op('transfer.counts', {}, () => transfer.counts()),
    check: (records) => op('transfer.check', {}, () => transfer.check(records)),
    import: (records) => op('transfer.import', { 'strata.record.count': Array.isArray(records) ? records.length : 0 }, () => transfer.import(records)),
  });

  /** Wrappers of one object's contracts, made once per inner object so that identity is stable. */
  const cache = new WeakMap<object, unknown>();
  const once = <T extends object>(inner: T, wrap: (inner: T) => T): T => {
    if (typeof inner !== 'object' || inner === null) return inner;
    let w = cache.get(inner) as T | undefined;
    if (w === undefined) {
      w = wrap(inner);
      cache.set(inner, w);
    }
    return w;
  };
  const CONTRACTS = new Set<string | symbol>(['events', 'queue', 'snapshots', 'checkpoints', 'transfer']);
  const contract = (target: StoreTransaction<unknown>, prop: string | symbol): unknown => {
    switch (prop) {
      case 'events':
        return once(target.events, wrapEvents);
      case 'queue':
        return once(target.queue, wrapQueue);
      case 'snapshots':
        return once(target.snapshots, wrapSnapshots);
      case 'checkpoints':
        return once(target.checkpoints, wrapCheckpoints);
      case 'transfer':
        return once(target.transfer, wrapTransfer);
      default:
        return undefined;
    }
  };
  /** A view whose contracts are wrapped and whose other members are the target's own. */
  const view = <T extends object>(target: T, overrides: (prop: string | symbol) => unknown, own: Set<string | symbol>): T => {
    const bound = new WeakMap<object, unknown>();
    return new Proxy(target, {
      get(t, prop) {
        if (own.has(prop)) return overrides(prop);
        if (CONTRACTS.has(prop)) {
          // A frozen store's contracts cannot be replaced through a proxy: they are used as they are.
          const d = Object.getOwnPropertyDescriptor(t, prop);
          if (d !== undefined && d.configurable === false && d.writable === false) return d.value;
          return contract(t as unknown as StoreTransaction<unknown>, prop);
        }
        const value: unknown = Reflect.get(t, prop, t);
        if (typeof value !== 'function') return value;
        let fn = bound.get(value) as ((...args: unknown[]) => unknown) | undefined;
        if (fn === undefined) {
          fn = (value as (...args: unknown[]) => unknown).bind(t);
          bound.set(value, fn);
        }
        return fn;
      },
      set(t, prop, value) {
        return Reflect.set(t, prop, value, t);
      },
      has(t, prop) {
        return own.has(prop) || Reflect.has(t, prop);
      },
    });
  };
  const wrapTx = (tx: StoreTransaction<unknown>): StoreTransaction<unknown> => view(tx, () => undefined, new Set());

  /** Whether the handler's span continues the producer's trace: a first delivery of recent data. */
  const continues = (call: HandlerCall): boolean => {
    const attempt = call.attributes['strata.message.attempt'];
    if (typeof attempt === 'number' && attempt > 1) return false;
    const recordedAt = call.attributes['strata.event.recorded_at'];
    return typeof recordedAt !== 'number' || Date.now() - recordedAt <= FRESH_MS;
  };

  const outOfLoop = (fn: () => Promise<unknown>) => context.with(context.active().setValue(IN_LOOP, false), fn);

  /** Filters of the named consumers subscribed through this view, for their lag. */
  const filters = new Map<string, NonNullable<LoopCall['filters']>>();

  const telemetry: StoreTelemetry = {
    batch: <T>(call: BatchCall, fn: () => Promise<T>) =>
      span(
        `subscription ${text(call.consumer) ?? '(unnamed)'}`,
        SpanKind.INTERNAL,
        {
          ...consumerAttr(call.consumer),
          'messaging.batch.message_count': call.size,
          'strata.position.first': call.first.toString(),
          'strata.position.last': call.last.toString(),
        },
        () => outOfLoop(fn) as Promise<T>,
      ),
    handle: <T>(call: HandlerCall, fn: () => Promise<T>) => {
      if (idle()) return fn();
      const producer = producerOf(call.carrier);
      const attrs: Attrs = {};
      for (const [k, v] of Object.entries(call.attributes)) if (k !== 'strata.event.recorded_at') attrs[k] = v;
      if (call.kind === 'consumer') Object.assign(attrs, messaging(call.name, 'process', 'process'));
      else Object.assign(attrs, consumerAttr(call.name), { 'messaging.system': 'strata', 'messaging.operation.type': 'process' });
      const metricAttrs: Attributes = { ...base, 'strata.handler.kind': call.kind };
      const name = text(call.name);
      if (name !== undefined) metricAttrs[call.kind === 'consumer' ? 'messaging.destination.name' : 'strata.consumer'] = name;
      const started = performance.now();
      const links = producer === undefined ? [] : [{ context: producer }];
      const parent = producer !== undefined && continues(call) ? trace.setSpanContext(ROOT_CONTEXT, producer) : context.active();
      return span(
        `process ${name ?? 'subscription'}`,
        SpanKind.CONSUMER,
        attrs,
        async () => {
          try {
            return (await outOfLoop(fn)) as T;
          } catch (error) {
            quietly(() => handlerFailures.add(1, { ...metricAttrs, 'error.type': errorType(error) }));
            throw error;
          } finally {
            quietly(() => handlerDuration.record((performance.now() - started) / 1000, metricAttrs));
          }
        },
        // A child of the producer's span for a first delivery of recent data (one trace from the request
        // to its handlers), and a link to it in every case, as the messaging conventions ask of consumers.
        parent,
        links,
      );
    },
    loop: <T>(call: LoopCall, fn: () => Promise<T>) => {
      if (call.kind === 'subscription' && call.name !== undefined && call.filters !== undefined && filters.size < MAX_OBSERVED_CONSUMERS) {
        const { types, streamId, streamPrefix } = call.filters;
        if (types !== undefined || streamId !== undefined || streamPrefix !== undefined) filters.set(call.name, call.filters);
      }
      return context.with(ROOT_CONTEXT.setValue(IN_LOOP, true), fn);
    },
  };

  // Observed metrics: queues, named consumers' lag, and the listener. Each collection queries the store.
  const observeStore = options.observe ?? true;
  const gauge = (name: string, unit: string, description: string) => meter.createObservableGauge(name, { unit, description });
  const ready = gauge('strata.queue.ready', '{message}', 'Messages visible now, waiting to be received');
  const inFlight = gauge('strata.queue.in_flight', '{message}', 'Messages received and within their visibility timeout');
  const delayed = gauge('strata.queue.delayed', '{message}', 'Messages waiting for a send or nack delay');
  const dead = gauge('strata.queue.dead_lettered', '{message}', 'Dead-lettered messages');
  const oldest = gauge('strata.queue.oldest_ready_age', 's', 'Age of the oldest ready message since it was sent');
  const lagEvents = gauge('strata.consumer.lag.events', '{event}', 'Events after a named consumer’s checkpoint that it has not handled');
  const lagSeconds = gauge('strata.consumer.lag.seconds', 's', 'Age of the oldest event a named consumer has not handled');
  const connected = gauge('strata.listener.connected', '1', '1 while the LISTEN connection is up, else 0');
  const reconnects = meter.createObservableCounter('strata.listener.reconnects', { description: 'LISTEN connections lost and made again' });
  const heldBack = gauge('strata.reads.held_back', 's', 'How long reads have been held back by the oldest running transaction');
  const observables = [ready, inFlight, delayed, dead, oldest, lagEvents, lagSeconds, connected, reconnects, heldBack];
  let stopped = false;
  const collect = async (batch: BatchObservableResult): Promise<void> => {
    if (stopped) return;
    const until = Date.now() + OBSERVE_TOTAL_MS;
    const bounded = <T>(p: Promise<T>) => within(p, Math.max(1, Math.min(OBSERVE_CALL_MS, until - Date.now())));
    // Outside any span: a collection is not part of the work it measures, and makes no spans.
    await context.with(ROOT_CONTEXT.setValue(IN_LOOP, true), async () => {
      const tasks: Promise<void>[] = [];
      if (observeStore && store.capabilities.queue) {
        for (const name of queues) {
          tasks.push(
            bounded(store.queue.stats(name)).then(
              (stats) => {
                const a = { ...base, 'messaging.destination.name': name };
                batch.observe(ready, stats.ready, a);
                batch.observe(inFlight, stats.inFlight, a);
                batch.observe(delayed, stats.delayed, a);
                batch.observe(dead, stats.deadLettered, a);
                batch.observe(oldest, (stats.oldestReadyAgeMs ?? 0) / 1000, a);
              },
              () => undefined, // A closed store, a lost connection or a slow answer: no figure this time.
            ),
          );
        }
      }
      if (observeStore && store.capabilities.checkpoints) {
        // The reads that count lag are bounded as a whole, like every other query of the collection.
        const lag = (async () => {
          const head = await bounded(store.events.headPosition());
          const list = (await bounded(store.checkpoints.list())).slice(0, MAX_OBSERVED_CONSUMERS);
          for (const c of list) {
            const a = { ...base, 'strata.consumer': c.consumer };
            // The events it would read after its checkpoint (with its filters when it runs through this view),
            // counted up to 1,000: positions are not dense on PostgreSQL, so head − checkpoint says little.
            const filter = filters.get(c.consumer);
            let count = 0;
            let ageMs = 0;
            if (head > c.position) {
              const read = {
                after: c.position,
                limit: LAG_COUNT_CAP,
                ...(filter?.types === undefined ? {} : { types: filter.types }),
                ...(filter?.streamId === undefined ? {} : { streamId: filter.streamId }),
                ...(filter?.streamPrefix === undefined ? {} : { streamPrefix: filter.streamPrefix }),
              };
              for await (const e of store.events.readAll(read)) {
                if (count++ === 0) ageMs = Math.max(0, Date.now() - e.recordedAt.getTime());
                if (Date.now() > until) break;
              }
            }
            batch.observe(lagEvents, count, a);
            batch.observe(lagSeconds, ageMs / 1000, a);
            if (Date.now() > until) break;
          }
        })();
        lag.catch(() => undefined);
        tasks.push(within(lag, Math.max(1, until - Date.now())).catch(() => undefined));
      }
      const listener = options.listener;
      if (listener !== undefined) {
        tasks.push(
          bounded(listener.health()).then(
            (health) => {
              batch.observe(connected, health.state === 'connected' ? 1 : 0, base);
              batch.observe(reconnects, health.reconnects, base);
              batch.observe(heldBack, (health.heldBackBy?.heldForMs ?? 0) / 1000, base);
            },
            () => undefined,
          ),
        );
      }
      await Promise.all(tasks);
    });
  };
  meter.addBatchObservableCallback(collect, observables);
  const stopObserving = () => {
    if (stopped) return;
    stopped = true;
    quietly(() => meter.removeBatchObservableCallback(collect, observables));
  };
  // Closed through this view or any other: no more collections.
  quietly(() => store.wakeUps.onClose?.(stopObserving));

  const close = async (): Promise<void> => {
    await span('close', SpanKind.INTERNAL, {}, () => store.close());
    stopObserving();
  };
  const transaction = <T>(fn: (tx: StoreTransaction<unknown>) => Promise<T>): Promise<T> =>
    span('transaction', SpanKind.INTERNAL, {}, () => store.transaction((tx) => fn(wrapTx(tx))), context.active(), [], 'transaction');
  const join = (store as unknown as { join?: unknown }).join;
  const joinView = typeof join === 'function' ? (tx: unknown) => wrapTx((join as (tx: unknown) => StoreTransaction<unknown>).call(store, tx)) : undefined;

  const OWN = new Set<string | symbol>([INSTRUMENTED, 'telemetry', 'transaction', 'close', ...(joinView === undefined ? [] : ['join'])]);
  const instrumented = view(
    store,
    (prop) => {
      switch (prop) {
        case INSTRUMENTED:
          return true;
        case 'telemetry':
          return telemetry;
        case 'transaction':
          return transaction;
        case 'close':
          return close;
        case 'join':
          return joinView;
        default:
          return undefined;
      }
    },
    OWN,
  );
  if (plain) views.set(store, instrumented);
  return instrumented;
}

export type { BatchCall, HandlerCall, LoopCall, LoopFilters, StoreTelemetry, TraceCarrier } from '../telemetry.js';
