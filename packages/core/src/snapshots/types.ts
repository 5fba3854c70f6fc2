import type { JsonCompatible, JsonValue } from '../json.js';

/**
 * A snapshot to save. `TState` may be an interface or a type alias: {@link SnapshotStore.save} checks
 * that it is {@link JsonCompatible}.
 */
export interface SnapshotInput<TState = JsonValue> {
  /** The stream version the state reflects (a positive integer). */
  version: number;
  /** The aggregate's state at that version. */
  state: TState;
  /** Version of the state's shape; a repository ignores snapshots of another shape. @defaultValue 1 */
  schemaVersion?: number;
}

/** A stored snapshot. */
export interface Snapshot<TState = JsonValue> {
  /** The stream it belongs to. */
  streamId: string;
  /** The stream version the state reflects. */
  version: number;
  /** The stored state. */
  state: TState;
  /** Version of the state's shape. */
  schemaVersion: number;
  /** When it was saved. */
  createdAt: Date;
}

/** Options of {@link SnapshotStore.load}. */
export interface LoadSnapshotOptions {
  /** Newest snapshot at or below this version. @defaultValue the newest */
  maxVersion?: number;
}

/**
 * Snapshots of aggregate state per stream. The store keeps the newest K snapshots of each stream (by
 * version; K is an adapter option, default 3) and deletes older ones on save.
 */
export interface SnapshotStore {
  /**
   * Saves a snapshot; a second save at the same version replaces the first. The state may be typed
   * with an interface; the compiler rejects state that is not {@link JsonCompatible}.
   */
  save<TState extends JsonCompatible<TState>>(streamId: string, snapshot: SnapshotInput<TState>): Promise<void>;
  /** The newest snapshot at or below `maxVersion`, or `null`. */
  load(streamId: string, options?: LoadSnapshotOptions): Promise<Snapshot | null>;
  /** Deletes every snapshot of the stream; deleting none is not an error. */
  delete(streamId: string): Promise<void>;
}
