import type { Tables } from './tables.js';

/** Settings of a memory store after defaults. */
export interface MemorySettings {
  readonly readPageSize: number;
  readonly snapshotsToKeep: number;
  readonly maxAttempts: number;
  readonly maxPayloadBytes: number;
}

/**
 * How a memory contract reaches its tables: the store's committed tables (writes wait for any running
 * transaction), or a transaction's draft.
 */
export interface TablesAccess {
  readonly settings: MemorySettings;
  /** The tables to read now. @throws `CLOSED` */
  read(operation: string): Tables;
  /** Runs a synchronous write on the tables and announces it once committed. @throws `CLOSED` */
  write<T>(operation: string, op: (tables: Tables) => T): Promise<T>;
}
