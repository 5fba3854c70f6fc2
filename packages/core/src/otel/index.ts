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
  type Histogram,
  isSpanContextValid,
  type Link,
  type MeterProvider,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { isStrataError } from '../errors.js';
import type { EventStore, NewEvent } from '../events/types.js';
import { addLogFields } from '../logger.js';
import type { Delivery, MessageQueue } from '../queue/types.js';
import type { SnapshotStore } from '../snapshots/types.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import type { CheckpointStore } from '../subscriptions/types.js';
import type { BatchCall, HandlerCall, StoreTelemetry, TraceCarrier } from '../telemetry.js';
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

const carrierGetter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

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

/** The trace context of `ctx`, as W3C fields; empty when no valid span is active or no propagator is set. */
function carrierOf(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  const span = trace.getSpanContext(ctx);
  if (span === undefined || !isSpanContextValid(span)) return carrier;
  propagation.inject(ctx, carrier);
  return carrier;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The producer's context carried by `carrier`, if any. */
function producerContext(carrier: TraceCarrier | undefined): Context | undefined {
  if (!isPlainObject(carrier) || typeof carrier.traceparent !== 'string') return undefined;
  const ctx = propagation.extract(ROOT_CONTEXT, carrier, carrierGetter);
  const span = trace.getSpanContext(ctx);
  return span !== undefined && isSpanContextValid(span) ? ctx : undefined;
}

function linkTo(ctx: Context | undefined): Link[] {
  const span = ctx === undefined ? undefined : trace.getSpanContext(ctx);
  return span === undefined ? [] : [{ context: span }];
}

/**
 * Returns `store` with OpenTelemetry spans and metrics around all it does (a proxy: the adapter's own
 * members, such as `db`, `schema` or `pglite`, stay as they are). Without an SDK registered the API's
 * no-op tracer makes every span free of work but a few calls.
 *
 * - **Spans** (named after the operation, such as `events.append`, `send orders`, `receive orders`,
 *   `transaction`), with `db.system.name`, `db.namespace`, `db.operation.name`, `strata.stream.id`,
 *   `strata.expected_version`, `strata.event.count`, and for queues the messaging attributes
 *   (`messaging.system` `strata`, `messaging.destination.name`, `messaging.operation.type`,
 *   `messaging.batch.message_count`, `messaging.message.id`). A failure sets the span's status to
 *   error and `error.type` to the Strata error code or the error's class; no message or payload of a
 *   handler's error is recorded.
 * - **Context travels with the data**: see {@link InstrumentOptions.propagate}. A `consume()` or
 *   `subscribe()` handler's span (`process <queue or consumer>`, kind consumer) is a child of the
 *   producer's span and links to it; a receive links to every message it got.
 * - **Metrics**: `db.client.operation.duration`; `strata.handler.duration` and
 *   `strata.handler.failures`; per queue `strata.queue.ready`, `.in_flight`, `.delayed`,
 *   `.dead_lettered`, `.oldest_ready_age`; per named consumer `strata.consumer.lag.events` and
 *   `strata.consumer.lag.seconds`; with a listener `strata.listener.connected`,
 *   `strata.listener.reconnects` and `strata.reads.held_back`.
 * - **Logs**: every line Strata logs while a span is active carries `trace_id` and `span_id`.
 *
 * Instrumenting an instrumented store returns it unchanged. Closing the store stops its metrics.
 *
 * @param store - any store: an official adapter's or your own
 * @param options - see {@link InstrumentOptions}
 */
export function instrument<S extends StrataStore<unknown>>(store: S, options: InstrumentOptions = {}): S {
  if ((store as unknown as Record<symbol, unknown>)[INSTRUMENTED] === true) return store;
  joinLogsToTraces();
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME);
  const propagate = options.propagate ?? true;
  const dbSystem = options.dbSystem ?? ('schema' in store ? 'postgresql' : 'client' in store ? 'sqlite' : undefined);
  const base: Attrs = {};
  if (dbSystem !== undefined) base['db.system.name'] = dbSystem;
  const schema = (store as unknown as { schema?: unknown }).schema;
  if (typeof schema === 'string') base['db.namespace'] = schema;

  const opDuration = meter.createHistogram('db.client.operation.duration', {
    unit: 's',
    description: 'Duration of Strata store operations',
  });
  const handlerDuration: Histogram = meter.createHistogram('strata.handler.duration', {
    unit: 's',
    description: 'Duration of subscribe() and consume() handler calls',
  });
  const handlerFailures = meter.createCounter('strata.handler.failures', {
    description: 'subscribe() and consume() handler calls that threw',
  });

  /** Queues seen through this store, observed as metrics; receipts to their queue for ack and nack spans. */
  const queues = new Set<string>(options.queues ?? []);
  const receipts = new Map<string, string>();
  const seeQueue = (queue: unknown) => {
    if (typeof queue === 'string' && queues.size < 1000) queues.add(queue);
  };

  /** Runs `fn` in a new active span; records its duration and failure. */
  const span = <T>(
    name: string,
    kind: SpanKind,
    attributes: Attrs,
    fn: (span: Span) => Promise<T>,
    parent: Context = context.active(),
    links: Link[] = [],
    operation?: string,
  ): Promise<T> =>
    tracer.startActiveSpan(name, { kind, attributes: { ...base, ...attributes }, links }, parent, async (s) => {
      const started = performance.now();
      let failure: unknown;
      try {
        return await fn(s);
      } catch (error) {
        failure = error;
        const type = errorType(error);
        s.setAttribute('error.type', type);
        s.setStatus({ code: SpanStatusCode.ERROR, ...(isStrataError(error) ? { message: error.message } : {}) });
        throw error;
      } finally {
        s.end();
        if (operation !== undefined) {
          const metricAttrs: Attributes = { 'db.operation.name': operation };
          if (dbSystem !== undefined) metricAttrs['db.system.name'] = dbSystem;
          if (failure !== undefined) metricAttrs['error.type'] = errorType(failure);
          opDuration.record((performance.now() - started) / 1000, metricAttrs);
        }
      }
    });

  /** A store operation: span named after it, kind client. */
  const op = <T>(operation: string, attributes: Attrs, fn: (span: Span) => Promise<T>, name = operation, kind = SpanKind.CLIENT): Promise<T> =>
    span(name, kind, { 'db.operation.name': operation, ...attributes }, fn, context.active(), [], operation);

  /** An async iterable whose iteration, first `next()` to end, is one span started in the caller's context. */
  const iteration = <T>(operation: string, attributes: Attrs, inner: AsyncIterable<T>, counted: string): AsyncIterable<T> => {
    const parent = context.active();
    return {
      [Symbol.asyncIterator]() {
        const it = inner[Symbol.asyncIterator]();
        let s: Span | undefined;
        let count = 0;
        let ended = false;
        const started = () => {
          s ??= tracer.startSpan(operation, { kind: SpanKind.CLIENT, attributes: { ...base, 'db.operation.name': operation, ...attributes } }, parent);
          return s;
        };
        const end = (error?: unknown) => {
          if (ended || s === undefined) return;
          ended = true;
          s.setAttribute(counted, count);
          if (error !== undefined) {
            s.setAttribute('error.type', errorType(error));
            s.setStatus({ code: SpanStatusCode.ERROR, ...(isStrataError(error) ? { message: error.message } : {}) });
          }
          s.end();
        };
        const within = <R>(fn: () => Promise<R>) => context.with(trace.setSpan(parent, started()), fn);
        const iterator: AsyncIterator<T> = {
          async next() {
            try {
              const r = await within(() => it.next());
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
              return it.return === undefined ? { done: true, value: value as T } : await it.return(value);
            } finally {
              end();
            }
          },
        };
        return iterator;
      },
    };
  };

  /**
   * Whether the caller runs inside a span: only then does data carry a trace context (a store used
   * outside any traced work stores exactly what it is given).
   */
  const callerTraced = (): boolean => {
    if (!propagate) return false;
    const caller = trace.getSpanContext(context.active());
    return caller !== undefined && isSpanContextValid(caller);
  };
  /** The trace context to store with the data: the operation's own span, a child of the caller's. */
  const traceFields = (traced: boolean): Record<string, string> => (traced ? carrierOf(context.active()) : {});

  const wrapEvents = (events: EventStore): EventStore => ({
    append: (streamId, list, appendOptions) => {
      const traced = callerTraced();
      return op(
        'events.append',
        {
          'strata.stream.id': String(streamId),
          'strata.event.count': Array.isArray(list) ? list.length : 1,
          ...(appendOptions?.expectedVersion === undefined ? {} : { 'strata.expected_version': String(appendOptions.expectedVersion) }),
        },
        async () => {
          const fields = traceFields(traced);
          const withTrace =
            Object.keys(fields).length === 0 || !Array.isArray(list)
              ? list
              : (list as readonly NewEvent[]).map((e) => {
                  if (!isPlainObject(e) || e.id !== undefined) return e;
                  const metadata = e.metadata;
                  if (metadata !== undefined && (!isPlainObject(metadata) || 'traceparent' in metadata)) return e;
                  return { ...e, metadata: { ...metadata, ...fields } };
                });
          return events.append(streamId, withTrace as typeof list, appendOptions);
        },
      );
    },
    readStream: (streamId, readOptions) =>
      iteration('events.readStream', { 'strata.stream.id': String(streamId) }, events.readStream(streamId, readOptions), 'strata.event.count'),
    readAll: (readOptions) => {
      const attrs: Attrs = {};
      if (typeof readOptions?.after === 'bigint') attrs['strata.position.after'] = readOptions.after.toString();
      if (typeof readOptions?.limit === 'number') attrs['db.query.limit'] = readOptions.limit;
      return iteration('events.readAll', attrs, events.readAll(readOptions), 'strata.event.count');
    },
    streamInfo: (streamId) => op('events.streamInfo', { 'strata.stream.id': String(streamId) }, () => events.streamInfo(streamId)),
    headPosition: () => op('events.headPosition', {}, () => events.headPosition()),
  });

  const messaging = (queue: unknown, type: string, name: string): Attrs => {
    const attrs: Attrs = { 'messaging.system': 'strata', 'messaging.operation.type': type, 'messaging.operation.name': name };
    if (typeof queue === 'string') attrs['messaging.destination.name'] = queue;
    return attrs;
  };

  const settleAttrs = (receipt: unknown, name: string): Attrs => messaging(typeof receipt === 'string' ? receipts.get(receipt) : undefined, 'settle', name);

  const wrapQueue = (queue: MessageQueue): MessageQueue => ({
    send: (name, messages, sendOptions) => {
      seeQueue(name);
      const traced = callerTraced();
      const count = Array.isArray(messages) ? messages.length : 1;
      return span(
        `send ${String(name)}`,
        SpanKind.PRODUCER,
        { ...messaging(name, 'send', 'send'), 'messaging.batch.message_count': count, 'db.operation.name': 'queue.send' },
        async (s) => {
          const fields = traceFields(traced);
          const add = (m: unknown) => {
            if (!isPlainObject(m)) return m;
            const headers = m.headers;
            if (headers !== undefined && (!isPlainObject(headers) || 'traceparent' in headers)) return m;
            return { ...m, headers: { ...headers, ...fields } };
          };
          const withTrace = Object.keys(fields).length === 0 ? messages : Array.isArray(messages) ? messages.map(add) : add(messages);
          const ids = await queue.send(name, withTrace as typeof messages, sendOptions);
          if (ids.length === 1) s.setAttribute('messaging.message.id', ids[0] as string);
          return ids;
        },
        context.active(),
        [],
        'queue.send',
      );
    },
    receive: (name, receiveOptions) => {
      seeQueue(name);
      return span(
        `receive ${String(name)}`,
        SpanKind.CLIENT,
        { ...messaging(name, 'receive', 'receive'), 'db.operation.name': 'queue.receive' },
        async (s) => {
          const deliveries: Delivery[] = await queue.receive(name, receiveOptions);
          s.setAttribute('messaging.batch.message_count', deliveries.length);
          for (const d of deliveries) {
            if (receipts.size >= MAX_KNOWN) receipts.delete(receipts.keys().next().value as string);
            receipts.set(d.receipt, name);
            const producer = linkTo(producerContext(d.headers))[0];
            if (producer !== undefined) s.addLink(producer);
          }
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
    stats: (name) => op('queue.stats', messaging(name, 'stats', 'stats'), () => queue.stats(name)),
    nextVisibleInMs: (name) => op('queue.nextVisibleInMs', messaging(name, 'peek', 'nextVisibleInMs'), () => queue.nextVisibleInMs(name)),
    deadLetters: (name, o) => op('queue.deadLetters', messaging(name, 'peek', 'deadLetters'), () => queue.deadLetters(name, o)),
    redrive: (name, ids) => op('queue.redrive', messaging(name, 'send', 'redrive'), () => queue.redrive(name, ids)),
    purge: (name) => op('queue.purge', messaging(name, 'purge', 'purge'), () => queue.purge(name)),
  });

  const wrapSnapshots = (snapshots: SnapshotStore): SnapshotStore => ({
    save: (streamId, snapshot) => op('snapshots.save', { 'strata.stream.id': String(streamId) }, () => snapshots.save(streamId, snapshot)),
    load: (streamId, o) => op('snapshots.load', { 'strata.stream.id': String(streamId) }, () => snapshots.load(streamId, o)),
    delete: (streamId) => op('snapshots.delete', { 'strata.stream.id': String(streamId) }, () => snapshots.delete(streamId)),
  });

  const consumerAttr = (consumer: unknown): Attrs => (typeof consumer === 'string' ? { 'strata.consumer': consumer } : {});
  const wrapCheckpoints = (checkpoints: CheckpointStore): CheckpointStore => ({
    get: (consumer) => op('checkpoints.get', consumerAttr(consumer), () => checkpoints.get(consumer)),
    list: () => op('checkpoints.list', {}, () => checkpoints.list()),
    set: (consumer, position, o) => op('checkpoints.set', consumerAttr(consumer), () => checkpoints.set(consumer, position, o)),
    acquireLease: (consumer, o) => op('checkpoints.acquireLease', consumerAttr(consumer), () => checkpoints.acquireLease(consumer, o)),
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
  const CONTRACTS = new Set<string | symbol>(['events', 'queue', 'snapshots', 'checkpoints', 'transfer']);
  const wrapTx = (tx: StoreTransaction<unknown>): StoreTransaction<unknown> =>
    new Proxy(tx, { get: (target, prop) => (CONTRACTS.has(prop) ? contract(target, prop) : Reflect.get(target, prop, target)) });

  const telemetry: StoreTelemetry = {
    batch: <T>(call: BatchCall, fn: () => Promise<T>) =>
      span(
        `subscription ${call.consumer ?? '(unnamed)'}`,
        SpanKind.INTERNAL,
        {
          ...consumerAttr(call.consumer),
          'messaging.batch.message_count': call.size,
          'strata.position.first': call.first.toString(),
          'strata.position.last': call.last.toString(),
        },
        fn,
      ),
    handle: <T>(call: HandlerCall, fn: () => Promise<T>) => {
      const producer = producerContext(call.carrier);
      const attrs: Attrs = { ...call.attributes };
      if (call.kind === 'consumer') Object.assign(attrs, messaging(call.name, 'process', 'process'));
      else Object.assign(attrs, consumerAttr(call.name), { 'messaging.system': 'strata', 'messaging.operation.type': 'process' });
      const metricAttrs: Attributes = { 'strata.handler.kind': call.kind };
      if (call.name !== undefined) metricAttrs[call.kind === 'consumer' ? 'messaging.destination.name' : 'strata.consumer'] = call.name;
      const started = performance.now();
      return span(
        `process ${call.name ?? 'subscription'}`,
        SpanKind.CONSUMER,
        attrs,
        async () => {
          try {
            return await fn();
          } catch (error) {
            handlerFailures.add(1, { ...metricAttrs, 'error.type': errorType(error) });
            throw error;
          } finally {
            handlerDuration.record((performance.now() - started) / 1000, metricAttrs);
          }
        },
        // A child of the producer's span when the data carried one (one trace from request to handlers),
        // and a link to it, as the messaging conventions ask of consumers.
        producer ?? context.active(),
        linkTo(producer),
      );
    },
  };

  // Observed metrics: queues, named consumers' lag, and the listener. Each collection queries the store.
  const observeQueues = options.observe ?? true;
  const gauge = (name: string, unit: string, description: string) => meter.createObservableGauge(name, { unit, description });
  const ready = gauge('strata.queue.ready', '{message}', 'Messages visible now, waiting to be received');
  const inFlight = gauge('strata.queue.in_flight', '{message}', 'Messages received and within their visibility timeout');
  const delayed = gauge('strata.queue.delayed', '{message}', 'Messages waiting for a send or nack delay');
  const dead = gauge('strata.queue.dead_lettered', '{message}', 'Dead-lettered messages');
  const oldest = gauge('strata.queue.oldest_ready_age', 's', 'Age of the oldest ready message since it was sent');
  const lagEvents = gauge('strata.consumer.lag.events', '{event}', 'Positions between a named consumer and the head');
  const lagSeconds = gauge('strata.consumer.lag.seconds', 's', 'Age of the oldest event a named consumer has not handled');
  const connected = gauge('strata.listener.connected', '1', '1 while the LISTEN connection is up, else 0 (state in strata.listener.state)');
  const reconnects = meter.createObservableCounter('strata.listener.reconnects', { description: 'LISTEN connections lost and made again' });
  const heldBack = gauge('strata.reads.held_back', 's', 'How long reads have been held back by the oldest running transaction');
  const observables = [ready, inFlight, delayed, dead, oldest, lagEvents, lagSeconds, connected, reconnects, heldBack];
  let closed = false;
  const collect = async (batch: BatchObservableResult): Promise<void> => {
    if (closed) return;
    // Outside any span: a collection is not part of the work it measures.
    await context.with(ROOT_CONTEXT, async () => {
      if (observeQueues && store.capabilities.queue) {
        for (const name of queues) {
          try {
            const stats = await store.queue.stats(name);
            const a = { 'messaging.destination.name': name };
            batch.observe(ready, stats.ready, a);
            batch.observe(inFlight, stats.inFlight, a);
            batch.observe(delayed, stats.delayed, a);
            batch.observe(dead, stats.deadLettered, a);
            batch.observe(oldest, (stats.oldestReadyAgeMs ?? 0) / 1000, a);
          } catch {
            // A closed store or a lost connection: no figure this time.
          }
        }
      }
      if (observeQueues && store.capabilities.checkpoints) {
        try {
          const head = await store.events.headPosition();
          for (const c of await store.checkpoints.list()) {
            const a = { 'strata.consumer': c.consumer };
            batch.observe(lagEvents, Number(head > c.position ? head - c.position : 0n), a);
            let ageMs = 0;
            for await (const e of store.events.readAll({ after: c.position, limit: 1 })) ageMs = Math.max(0, Date.now() - e.recordedAt.getTime());
            batch.observe(lagSeconds, ageMs / 1000, a);
          }
        } catch {
          // As above.
        }
      }
      if (options.listener !== undefined) {
        try {
          const health = await options.listener.health();
          batch.observe(connected, health.state === 'connected' ? 1 : 0, { 'strata.listener.state': health.state });
          batch.observe(reconnects, health.reconnects);
          batch.observe(heldBack, (health.heldBackBy?.heldForMs ?? 0) / 1000);
        } catch {
          // As above.
        }
      }
    });
  };
  meter.addBatchObservableCallback(collect, observables);

  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      meter.removeBatchObservableCallback(collect, observables);
    }
    await span('close', SpanKind.INTERNAL, {}, () => store.close());
  };
  const transaction = <T>(fn: (tx: StoreTransaction<unknown>) => Promise<T>): Promise<T> =>
    span('transaction', SpanKind.INTERNAL, {}, () => store.transaction((tx) => fn(wrapTx(tx))), context.active(), [], 'transaction');

  const bound = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      if (prop === INSTRUMENTED) return true;
      if (prop === 'telemetry') return telemetry;
      if (prop === 'transaction') return transaction;
      if (prop === 'close') return close;
      if (CONTRACTS.has(prop)) return contract(target, prop);
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(value) as ((...args: unknown[]) => unknown) | undefined;
      if (fn === undefined) {
        fn = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(value, fn);
      }
      return fn;
    },
    has(target, prop) {
      return prop === 'telemetry' || Reflect.has(target, prop);
    },
  });
}

export type { BatchCall, HandlerCall, StoreTelemetry, TraceCarrier } from '../telemetry.js';
