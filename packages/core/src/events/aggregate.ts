import type { StoreTransaction } from '../store.js';
import type { EventStore, StoredEvent } from './types.js';
import type { Upcasters } from './upcasters.js';

/** How to fold a stream into state. */
export interface Evolver<TState, TEvent extends StoredEvent = StoredEvent> {
  /** Returns the state after `event`; should not mutate `state`. */
  evolve: (state: TState, event: TEvent) => TState;
  /** The state of a stream with no events. Called once per fold. */
  initialState: () => TState;
  /** Upcasters applied to each event before `evolve`. */
  upcasters?: Upcasters;
}

/** Options of {@link aggregateStream}. */
export interface AggregateStreamOptions<TState, TEvent extends StoredEvent = StoredEvent> extends Evolver<TState, TEvent> {
  /** Fold only events recorded at or before this instant (state as it was then). */
  asOf?: Date;
  /** Fold only up to this version. */
  toVersion?: number;
}

/** A folded stream. */
export interface AggregateResult<TState> {
  /** The state. */
  state: TState;
  /** The version of the last event folded (0 when none). */
  version: number;
}

/** Accepts `store`, `tx` or `store.events`. */
export type EventSource = EventStore | Pick<StoreTransaction, 'events'>;

/** The event store behind an {@link EventSource}. */
export function eventsOf(source: EventSource): EventStore {
  return 'events' in source ? source.events : source;
}

/**
 * Folds a stream's events into state, optionally as it was at an instant (`asOf`) or a version
 * (`toVersion`): temporal queries.
 *
 * @example
 * ```ts
 * const { state, version } = await aggregateStream(store, 'account-1', {
 *   initialState: () => ({ balance: 0 }),
 *   evolve: (s, e) => e.type === 'Deposited' ? { balance: s.balance + (e.data as { amount: number }).amount } : s,
 *   asOf: new Date('2026-01-01'),
 * })
 * ```
 * @throws `VALIDATION` on a bad stream id or options
 */
export async function aggregateStream<TState, TEvent extends StoredEvent = StoredEvent>(
  source: EventSource,
  streamId: string,
  options: AggregateStreamOptions<TState, TEvent>,
): Promise<AggregateResult<TState>> {
  return foldStream(eventsOf(source), streamId, options, options.initialState(), 0, options);
}

/** Folds events of `streamId` after `fromVersion` onto `state`. */
export async function foldStream<TState, TEvent extends StoredEvent>(
  events: EventStore,
  streamId: string,
  evolver: Evolver<TState, TEvent>,
  state: TState,
  fromVersion: number,
  range: { asOf?: Date; toVersion?: number },
): Promise<AggregateResult<TState>> {
  let version = fromVersion;
  const read = events.readStream(streamId, {
    fromVersion: fromVersion + 1,
    ...(range.toVersion === undefined ? {} : { toVersion: range.toVersion }),
    ...(range.asOf === undefined ? {} : { asOf: range.asOf }),
  });
  for await (const raw of read) {
    const event = evolver.upcasters === undefined ? raw : evolver.upcasters.apply(raw);
    state = evolver.evolve(state, event as TEvent);
    version = raw.version;
  }
  return { state, version };
}
