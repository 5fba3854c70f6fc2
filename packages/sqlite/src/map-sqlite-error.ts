import { ConcurrencyError, ConnectionError, describeSubject, type ErrorSubject, EventIdConflictError, isStrataError, StrataError } from '@strata/core';

/**
 * Turns a better-sqlite3 error into a {@link StrataError}, keeping the original as `cause`: a busy
 * or locked database (another process holds the write lock past the busy timeout) is `TIMEOUT`,
 * retryable; a unique violation on an event id is `EVENT_ID_CONFLICT`, on a stream version
 * `CONCURRENCY`; a database that cannot be opened or written is `CONNECTION`. Messages name the
 * operation and the stream, queue or consumer, never bound values. Strata errors pass through.
 */
export function mapSqliteError(error: unknown, subject: ErrorSubject): StrataError {
  if (isStrataError(error)) return error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : undefined;
  const message = error instanceof Error ? error.message : '';
  const where = describeSubject(subject);
  if (code === 'SQLITE_BUSY' || code?.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code?.startsWith('SQLITE_LOCKED_')) {
    return new StrataError('TIMEOUT', `${where}: the database stayed locked by another connection past the busy timeout`, { cause: error, retryable: true });
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    if (message.includes('strata_events.event_id')) {
      return new EventIdConflictError(subject.streamId ?? '', '(one of the batch)', 'is already stored', { cause: error });
    }
    if (message.includes('strata_events.stream_id') || message.includes('strata_streams.stream_id')) {
      return new ConcurrencyError(`${where}: a concurrent append won the race`, subject.streamId === undefined ? {} : { streamId: subject.streamId }, { cause: error });
    }
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code?.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code === 'SQLITE_NOTADB') {
    return new ConnectionError(`${where}: the database file cannot be used (${code})`, { cause: error });
  }
  return new StrataError('INTERNAL', `${where} failed${code === undefined ? '' : ` (${code})`}`, { cause: error });
}
