/**
 * Text fields that may carry a trace context: an event's metadata or a message's headers. W3C Trace
 * Context puts it under `traceparent` and `tracestate`.
 */
export type TraceCarrier = Readonly<Record<string, unknown>>;

/** One call of a `subscribe()` or `consume()` handler, as {@link StoreTelemetry.handle} sees it. */
export interface HandlerCall {
  /** `subscription` for `subscribe()`, `consumer` for `consume()`. */
  readonly kind: 'subscription' | 'consumer';
  /** The named consumer (`undefined` for an unnamed subscription) or the queue. */
  readonly name: string | undefined;
  /** The event's metadata or the message's headers: where the producer's trace context travels. */
  readonly carrier: TraceCarrier | undefined;
  /** Facts about the call: event type and position, or message id and attempt. Never a payload. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** One batch of a `subscribe()` loop, as {@link StoreTelemetry.batch} sees it. */
export interface BatchCall {
  /** The named consumer, or `undefined` for an unnamed subscription. */
  readonly consumer: string | undefined;
  /** Events in the batch. */
  readonly size: number;
  /** Position of the batch's first event. */
  readonly first: bigint;
  /** Position of the batch's last event. */
  readonly last: bigint;
}

/**
 * How `subscribe()` and `consume()` report their work to a tracing or metrics system. A store carries
 * one as {@link StrataStore.telemetry} when it was instrumented (`instrument()` from
 * `@strata/core/otel` sets it); without one they call nothing. Implementations run `fn` exactly once
 * and return (or throw) what it does.
 */
export interface StoreTelemetry {
  /** Runs one `subscribe()` batch: its handlers and its checkpoint. */
  batch<T>(call: BatchCall, fn: () => Promise<T>): Promise<T>;
  /** Runs one handler call. */
  handle<T>(call: HandlerCall, fn: () => Promise<T>): Promise<T>;
  /**
   * Runs the whole loop of a `subscribe()` or `consume()`: its polls (reads and receives that find
   * nothing) are not the work of whatever called it, and need not be reported one by one.
   */
  loop<T>(call: LoopCall, fn: () => Promise<T>): Promise<T>;
}

/** A `subscribe()` or `consume()` loop, as {@link StoreTelemetry.loop} sees it. */
export interface LoopCall {
  /** `subscription` for `subscribe()`, `consumer` for `consume()`. */
  readonly kind: 'subscription' | 'consumer';
  /** The named consumer (`undefined` for an unnamed subscription) or the queue. */
  readonly name: string | undefined;
  /** What a subscription reads: its lag counts only these events. */
  readonly filters?: LoopFilters;
}

/** The filters of a subscription, as {@link LoopCall.filters} gives them. */
export interface LoopFilters {
  /** Event types it reads, if it filters by type. */
  readonly types?: readonly string[] | undefined;
  /** The one stream it reads, if any. */
  readonly streamId?: string | undefined;
  /** The stream id prefix it reads, if any. */
  readonly streamPrefix?: string | undefined;
}

/**
 * Runs `fn` through one of `telemetry`'s hooks so that the telemetry can never change the outcome:
 * `fn` runs exactly once (even when the hook throws before calling it), and its own result or error
 * is what this returns, whatever the hook does with it.
 *
 * @internal
 */
export async function throughTelemetry<T>(hook: (fn: () => Promise<T>) => Promise<unknown>, fn: () => Promise<T>): Promise<T> {
  let outcome: Promise<T> | undefined;
  const once = (): Promise<T> => {
    outcome ??= fn();
    return outcome;
  };
  try {
    await hook(once);
  } catch {
    // The work's own outcome is returned below; a failure of the telemetry alone is dropped.
  }
  return once();
}
