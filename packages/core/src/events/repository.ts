import { isStrataError } from '../errors.js';
import type { JsonCompatible } from '../json.js';
import type { StoreTransaction, StrataStore } from '../store.js';
import { validateInteger } from '../validation.js';
import { type AggregateResult, type Evolver, foldStream } from './aggregate.js';
import type { AppendResult, EventStore, ExpectedVersion, NewEvent, StoredEvent } from './types.js';

/** Options of {@link createRepository}. */
export interface RepositoryOptions<TState extends JsonCompatible<TState>, TEvent extends StoredEvent = StoredEvent> extends Evolver<TState, TEvent> {
  /** Take a snapshot each time a stream's version crosses a multiple of this; 0 turns snapshots off. @defaultValue 50 */
  snapshotEvery?: number;
  /**
   * Version of the state's shape. Snapshots saved under another schema version are ignored (the
   * stream is replayed from the start), so bump it whenever `evolve` changes. @defaultValue 1
   */
  snapshotSchemaVersion?: number;
  /** Called when saving a snapshot fails after a successful append (the append stands). */
  onSnapshotError?: (error: unknown, streamId: string) => void;
}

/** Options of {@link AggregateRepository.update}. */
export interface UpdateOptions {
  /** Further tries after a `CONCURRENCY` conflict (reload, decide again). @defaultValue 3 */
  retries?: number;
}

/** What {@link AggregateRepository.update} did. */
export interface UpdateResult<TState> extends AggregateResult<TState> {
  /** Events appended (none when `decide` returned none). */
  appended: number;
}

/** Loads aggregates from snapshots plus later events, and appends with optimistic concurrency. */
export interface AggregateRepository<TState extends JsonCompatible<TState>, TEvent extends StoredEvent = StoredEvent> {
  /**
   * Loads a stream's state: the newest usable snapshot, then the events after it. With `asOf`,
   * snapshots are skipped and the stream is folded from the start up to that instant.
   */
  load(streamId: string, options?: { asOf?: Date; toVersion?: number }): Promise<AggregateResult<TState>>;
  /**
   * Appends events and takes a snapshot when the version crosses a multiple of `snapshotEvery`. The
   * events' data may be typed with interfaces, as in {@link EventStore.append}.
   */
  append<TNew extends NewEvent<string, JsonCompatible<TNew['data']>>>(
    streamId: string,
    events: readonly TNew[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult>;
  /**
   * Loads, asks `decide` for new events, and appends them expecting the loaded version; on a
   * `CONCURRENCY` conflict reloads and decides again, up to `retries` more times.
   */
  update<TNew extends NewEvent<string, JsonCompatible<TNew['data']>>>(
    streamId: string,
    decide: (state: TState, version: number) => readonly TNew[] | Promise<readonly TNew[]>,
    options?: UpdateOptions,
  ): Promise<UpdateResult<TState>>;
  /** The same repository working inside a transaction. */
  withTransaction(tx: StoreTransaction): AggregateRepository<TState, TEvent>;
}

/**
 * Creates an aggregate repository over a store (or a transaction).
 *
 * @example
 * ```ts
 * const accounts = createRepository(store, { initialState: () => ({ balance: 0 }), evolve, snapshotEvery: 100 })
 * await accounts.update('account-1', (s) => s.balance >= 10 ? [{ type: 'Withdrawn', data: { amount: 10 } }] : [])
 * ```
 * @throws `VALIDATION` when `snapshotEvery` or `snapshotSchemaVersion` is out of range
 */
export function createRepository<TState extends JsonCompatible<TState>, TEvent extends StoredEvent = StoredEvent>(
  store: StrataStore | StoreTransaction,
  options: RepositoryOptions<TState, TEvent>,
): AggregateRepository<TState, TEvent> {
  const every = validateInteger(options.snapshotEvery ?? 50, 'options.snapshotEvery', 0);
  const schemaVersion = validateInteger(options.snapshotSchemaVersion ?? 1, 'options.snapshotSchemaVersion', 1);
  const snapshotsOn = every > 0 && ('capabilities' in store ? store.capabilities.snapshots : true);
  return build(store, options, every, schemaVersion, snapshotsOn);
}

function build<TState extends JsonCompatible<TState>, TEvent extends StoredEvent>(
  store: StrataStore | StoreTransaction,
  options: RepositoryOptions<TState, TEvent>,
  every: number,
  schemaVersion: number,
  snapshotsOn: boolean,
): AggregateRepository<TState, TEvent> {
  const repo: AggregateRepository<TState, TEvent> = {
    async load(streamId, range = {}) {
      if (snapshotsOn && range.asOf === undefined) {
        const snap = await store.snapshots.load(streamId, range.toVersion === undefined ? {} : { maxVersion: range.toVersion });
        if (snap !== null && snap.schemaVersion === schemaVersion) {
          return foldStream(store.events, streamId, options, snap.state as TState, snap.version, range);
        }
      }
      return foldStream(store.events, streamId, options, options.initialState(), 0, range);
    },

    async append(streamId, events, { expectedVersion }) {
      const result = await store.events.append(streamId, events, { expectedVersion });
      const before = result.version - events.length;
      if (snapshotsOn && Math.floor(result.version / every) > Math.floor(before / every)) {
        try {
          const { state, version } = await repo.load(streamId, { toVersion: result.version });
          await store.snapshots.save(streamId, { version, state, schemaVersion });
        } catch (error) {
          options.onSnapshotError?.(error, streamId);
        }
      }
      return result;
    },

    async update(streamId, decide, { retries = 3 } = {}) {
      for (let attempt = 0; ; attempt++) {
        const { state, version } = await repo.load(streamId);
        const events = await decide(state, version);
        if (events.length === 0) return { state, version, appended: 0 };
        let result: AppendResult;
        try {
          result = await repo.append(streamId, events, { expectedVersion: version });
        } catch (error) {
          if (isStrataError(error, 'CONCURRENCY') && attempt < retries) continue;
          throw error;
        }
        const after = await foldStream(store.events, streamId, options, state, version, { toVersion: result.version });
        return { ...after, appended: events.length };
      }
    },

    withTransaction(tx) {
      return build(tx, options, every, schemaVersion, snapshotsOn);
    },
  };
  return repo;
}
