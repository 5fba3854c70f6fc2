import { ConcurrencyError, ConnectionError, EventIdConflictError, isStrataError, StrataError } from '@strata/core';

/** What a failed operation was about, for the message. */
export interface ErrorSubject {
  /** The operation, such as `events.append`. */
  operation: string;
  /** The stream concerned. */
  streamId?: string | undefined;
  /** The queue concerned. */
  queue?: string | undefined;
  /** The consumer concerned. */
  consumer?: string | undefined;
}

function describe(subject: ErrorSubject): string {
  if (subject.streamId !== undefined) return `${subject.operation} on stream ${JSON.stringify(subject.streamId)}`;
  if (subject.queue !== undefined) return `${subject.operation} on queue ${JSON.stringify(subject.queue)}`;
  if (subject.consumer !== undefined) return `${subject.operation} for consumer ${JSON.stringify(subject.consumer)}`;
  return subject.operation;
}

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
  const where = describe(subject);
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
