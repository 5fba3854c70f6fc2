import type { JsonValue } from '../json.js';

/** A snapshot to save. */
export interface SnapshotInput<TState extends JsonValue = JsonValue> {
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
  /** Saves a snapshot; a second save at the same version replaces the first. */
  save(streamId: string, snapshot: SnapshotInput): Promise<void>;
  /** The newest snapshot at or below `maxVersion`, or `null`. */
  load(streamId: string, options?: LoadSnapshotOptions): Promise<Snapshot | null>;
  /** Deletes every snapshot of the stream; deleting none is not an error. */
  delete(streamId: string): Promise<void>;
}
