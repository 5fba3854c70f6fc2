import { ConcurrencyError, ConnectionError, describeSubject, type ErrorSubject, EventIdConflictError, isStrataError, StrataError } from '@strata/core';

interface DriverError {
  code?: unknown;
  constraint?: unknown;
  cause?: unknown;
}

/** The SQLSTATE (or Node.js socket code) of a driver error, looking through wrappers such as Drizzle's. */
function driverCode(error: unknown): { code: string | undefined; constraint: string | undefined } {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as DriverError;
    if (typeof e.code === 'string') {
      return { code: e.code, constraint: typeof e.constraint === 'string' ? e.constraint : undefined };
    }
    current = e.cause;
  }
  return { code: undefined, constraint: undefined };
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);

/**
 * Turns a driver error (node-postgres, PGlite, wrapped by Drizzle or not) into a {@link StrataError},
 * keeping the original as `cause`. The message names the operation and the stream, queue or consumer,
 * never the bound values. Strata errors pass through unchanged.
 */
export function mapPgError(error: unknown, subject: ErrorSubject): StrataError {
  if (isStrataError(error)) return error;
  const { code, constraint } = driverCode(error);
  const where = describeSubject(subject);
  // Driver messages may quote bound values; they stay in `cause`, out of the message.
  const why = constraint === undefined ? '' : ` (constraint ${constraint})`;
  if (code === '23505') {
    if (constraint === 'events_event_id_idx') {
      return new EventIdConflictError(subject.streamId ?? '', '(one of the batch)', 'was appended concurrently by another writer', { cause: error });
    }
    if (constraint === 'events_stream_version_idx' || constraint === 'streams_pkey') {
      return new ConcurrencyError(`${where}: a concurrent append won the race${why}`, { ...(subject.streamId === undefined ? {} : { streamId: subject.streamId }) }, { cause: error });
    }
  }
  if (code === '40001' || code === '40P01') {
    return new ConcurrencyError(`${where}: ${code === '40P01' ? 'deadlock' : 'serialization failure'}, retry${why}`, {}, { cause: error });
  }
  if (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith('08'))) {
    return new ConnectionError(`${where}: connection failed${why}`, { cause: error });
  }
  if (code === '57014') return new StrataError('TIMEOUT', `${where}: the statement was cancelled${why}`, { cause: error });
  return new StrataError('INTERNAL', `${where} failed${code === undefined ? '' : ` (SQLSTATE ${code})`}${why}`, { cause: error });
}
