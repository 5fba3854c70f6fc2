import {
  ConcurrencyError,
  ConnectionError,
  describeSubject,
  type ErrorSubject,
  EventIdConflictError,
  isStrataError,
  MigrationError,
  StrataError,
} from '@strata/core';

/** What better-sqlite3 throws (a `TypeError`) for any call on a connection that has been closed. */
const CLOSED_MESSAGE = 'The database connection is not open';

/** Result codes (and their extended forms) of a database file that cannot be opened, read or written. */
// Stryker disable next-line StringLiteral: out of the conformance suite's reach: an unusable file (CANTOPEN, READONLY, IOERR, NOTADB, FULL) takes a damaged disk or a file moved under the store, which no hook of the suite causes; errors.test.ts and connection-loss.test.ts cover it
const UNUSABLE_PREFIXES = ['SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_NOTADB', 'SQLITE_FULL'];

/**
 * Whether `error` says the SQLite connection is closed or its file cannot be used: better-sqlite3's
 * closed-connection `TypeError`, or a `SQLITE_CANTOPEN`, `SQLITE_READONLY`, `SQLITE_IOERR`,
 * `SQLITE_NOTADB` or `SQLITE_FULL` result, extended codes included.
 */
export function isSqliteConnectionLoss(error: unknown): boolean {
  // Stryker disable next-line all: out of the conformance suite's reach: a Strata error gets here only from the rollback after a failed transaction on a handle still open (store.ts), whose error is reported instead; connection-loss.test.ts covers it
  if (isStrataError(error)) return error.code === 'CONNECTION';
  if (error instanceof TypeError && error.message === CLOSED_MESSAGE) return true;
  const code = (error as { code?: unknown } | null)?.code;
  // Stryker disable next-line all: out of the conformance suite's reach: an unusable file (CANTOPEN, READONLY, IOERR, NOTADB, FULL) takes a damaged disk or a file moved under the store, which no hook of the suite causes; errors.test.ts and connection-loss.test.ts cover it
  return typeof code === 'string' && UNUSABLE_PREFIXES.some((p) => code === p || code.startsWith(`${p}_`));
}

/**
 * Turns a better-sqlite3 error into a {@link StrataError}, keeping the original as `cause`: a busy
 * or locked database (another process holds the write lock past the busy timeout) is `TIMEOUT`,
 * retryable; a unique violation on an event id is `EVENT_ID_CONFLICT`, on a stream version
 * `CONCURRENCY`; a closed connection or a database file that cannot be opened, read or written is
 * `CONNECTION`, retryable — except a connection the application closed, which no retry can fix (with
 * `outcomeUnknown` for an I/O error while committing, when
 * `mayHaveApplied` says the error came from a commit); a missing Strata table (a database opened with
 * `migrate: false` and never migrated) is `MIGRATION`. Messages name the operation and the stream, queue
 * or consumer, never bound values. Strata errors pass through.
 */
export function mapSqliteError(error: unknown, subject: ErrorSubject, options: { mayHaveApplied?: boolean } = {}): StrataError {
  if (isStrataError(error)) return error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : undefined;
  // Stryker disable next-line StringLiteral: out of the conformance suite's reach: better-sqlite3 throws only Error instances
  const message = error instanceof Error ? error.message : '';
  const where = describeSubject(subject);
  // Stryker disable next-line all: out of the conformance suite's reach: another connection's write lock raises plain SQLITE_BUSY; the extended codes and SQLITE_LOCKED (a lock within one connection or a shared cache) never come through the contracts (errors.test.ts covers them)
  const lockedOtherwise = code?.startsWith('SQLITE_BUSY_') === true || code === 'SQLITE_LOCKED' || code?.startsWith('SQLITE_LOCKED_') === true;
  if (code === 'SQLITE_BUSY' || lockedOtherwise) {
    return new StrataError('TIMEOUT', `${where}: the database stayed locked by another connection past the busy timeout`, { cause: error, retryable: true });
  }
  // Stryker disable all: out of the conformance suite's reach: the adapter checks versions and event ids under the write lock before it inserts, so a unique constraint never fires through the contracts (errors.test.ts covers the mapping)
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    if (message.includes('strata_events.event_id')) {
      return new EventIdConflictError(subject.streamId ?? '', '(one of the batch)', 'is already stored', { cause: error });
    }
    if (message.includes('strata_events.stream_id') || message.includes('strata_streams.stream_id')) {
      return new ConcurrencyError(`${where}: a concurrent append won the race`, subject.streamId === undefined ? {} : { streamId: subject.streamId }, {
        cause: error,
      });
    }
  }
  // Stryker restore all
  // Stryker disable all: out of the conformance suite's reach: a database opened with migrate: false and never migrated; the suite's factories migrate (errors.test.ts covers it)
  if (code === 'SQLITE_ERROR' && /^no such table: strata_/.test(message)) {
    return new MigrationError(
      `${where}: Strata's tables do not exist in this database; run migrate() on it first, or open the store with migrate: true (the default)`,
      { cause: error },
    );
  }
  // Stryker restore all
  if (isSqliteConnectionLoss(error)) {
    const closed = code === undefined;
    // A file moved or deleted under the connection (SQLITE_READONLY_DBMOVED) stays so until it is reopened.
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: out of the conformance suite's reach: a file moved or deleted under the store (connection-loss.test.ts)
    const permanent = closed || code === 'SQLITE_READONLY_DBMOVED';
    // Stryker disable next-line all: out of the conformance suite's reach: an unusable file (connection-loss.test.ts)
    const unusable = `the database file cannot be used (${code})${permanent ? ': it was moved or deleted, reopen the store' : ''}`;
    const what = closed ? 'the connection was closed under the store, so no retry can succeed: open a new store' : unusable;
    // An I/O error while committing may come after the commit reached the file.
    // Stryker disable next-line all: out of the conformance suite's reach: only an I/O error at commit makes the outcome unknown (connection-loss.test.ts)
    const outcomeUnknown = options.mayHaveApplied === true && code?.startsWith('SQLITE_IOERR') === true;
    // Stryker disable next-line all: out of the conformance suite's reach: only an I/O error at commit makes the outcome unknown (connection-loss.test.ts)
    const unknown = outcomeUnknown ? '; the write may or may not have been applied' : '';
    return new ConnectionError(`${where}: ${what}${unknown}`, {
      cause: error,
      outcomeUnknown,
      ...(permanent ? { retryable: false } : {}),
    });
  }
  // Stryker disable next-line all: out of the conformance suite's reach: no other driver error comes through the contracts on a database the suite can break (errors.test.ts covers it)
  return new StrataError('INTERNAL', `${where} failed${code === undefined ? '' : ` (${code})`}`, { cause: error });
}
