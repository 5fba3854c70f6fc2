import type { ChangeNotice, ErrorSubject } from '@strata/core';
import type BetterSqlite3 from 'better-sqlite3';

/** Store settings after defaults. */
export interface SqliteSettings {
  /** Rows per read page. */
  readonly readPageSize: number;
  /** Snapshots kept per stream. */
  readonly snapshotsToKeep: number;
  /** Default deliveries before dead-lettering. */
  readonly maxAttempts: number;
  /** Largest event, message or snapshot, in bytes of JSON. */
  readonly maxPayloadBytes: number;
}

/** Prepared statements of one connection, prepared once per text and reused. */
export class Statements {
  readonly #cache = new Map<string, BetterSqlite3.Statement>();
  readonly #rows = new Map<string, BetterSqlite3.Statement>();
  constructor(readonly client: BetterSqlite3.Database) {}

  /** The prepared statement for `text`. */
  get(text: string): BetterSqlite3.Statement {
    let stmt = this.#cache.get(text);
    if (stmt === undefined) {
      stmt = this.client.prepare(text);
      this.#cache.set(text, stmt);
    }
    return stmt;
  }

  /**
   * The prepared statement for `text` returning each row as an array of its columns in the order the
   * query names them (better-sqlite3's raw mode: no object with named keys built per row).
   */
  rows(text: string): BetterSqlite3.Statement {
    let stmt = this.#rows.get(text);
    if (stmt === undefined) {
      stmt = this.client.prepare(text).raw(true);
      this.#rows.set(text, stmt);
    }
    return stmt;
  }
}

/**
 * Where a contract runs its statements: the store's connection, or a transaction on it. Statements are
 * synchronous (better-sqlite3); the async mutex around them keeps two callers' transactions from
 * interleaving on the one connection.
 */
export interface SqliteContext {
  readonly settings: SqliteSettings;
  readonly sql: Statements;
  /** Rejects with `CLOSED` when the store or transaction is closed. */
  check(operation: string): void;
  /** Runs statements that only read. */
  read<T>(subject: ErrorSubject, fn: () => T): Promise<T>;
  /** Runs statements that write, atomically: their own IMMEDIATE transaction, or a savepoint inside the caller's. */
  write<T>(subject: ErrorSubject, fn: (announce: (notice: ChangeNotice) => void) => T): Promise<T>;
}
