import {
  ConcurrencyError,
  ConnectionError,
  describeSubject,
  type ErrorSubject,
  EventIdConflictError,
  isStrataError,
  MigrationError,
  StrataError,
  ValidationError,
} from '@strata/core';

interface DriverError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
  cause?: unknown;
}

interface DriverFacts {
  /** SQLSTATE or Node.js socket code, looking through wrappers such as Drizzle's. */
  code: string | undefined;
  constraint: string | undefined;
  /** The message of the error that carries `code`: the driver's own, never Drizzle's wrapper (which quotes parameters). */
  codeMessage: string | undefined;
  /** Messages of the error and its causes, outermost first. */
  messages: string[];
}

function factsOf(error: unknown): DriverFacts {
  const facts: DriverFacts = { code: undefined, constraint: undefined, codeMessage: undefined, messages: [] };
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as DriverError;
    if (typeof e.message === 'string') facts.messages.push(e.message);
    if (facts.code === undefined && typeof e.code === 'string') {
      facts.code = e.code;
      if (typeof e.message === 'string') facts.codeMessage = e.message;
      if (typeof e.constraint === 'string') facts.constraint = e.constraint;
    }
    current = e.cause;
  }
  return facts;
}

/**
 * SQLSTATEs and socket codes of a connection that is gone or cannot be had: class 08 (connection
 * exception) is matched by prefix; 57P01–57P03 and 57P05 are the server shutting down, crashing,
 * starting or ending an idle session; 25P03 ends a session idle in a transaction; 53300 is "too many
 * connections"; the rest are Node.js socket errors.
 */
const LOSS_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '57P05',
  '25P03',
  '53300',
  'ECONNREFUSED',
  // A Unix socket that is not there (a socket directory given as host, no server listening in it).
  'ENOENT',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_SOCKET_CLOSED',
]);

/** Codes for which nothing can have reached the server. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300']);

/**
 * How node-postgres, pg-pool and PGlite say a connection is lost or unusable without a code. Exact
 * messages (the drivers' own wording), not substrings, so that nothing from a payload can match.
 */
const LOSS_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'PGlite is closed',
  'PGlite is closing',
]);

/** Of {@link LOSS_MESSAGES}, those raised before a statement is sent. */
const NEVER_SENT_MESSAGES = new Set([
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'PGlite is closed',
  'PGlite is closing',
]);

/**
 * Of {@link LOSS_MESSAGES}, those that say the store's own handle was closed by the application: a
 * PGlite instance or a pool that was ended. No retry can succeed, so these are `CONNECTION` with
 * `retryable: false`.
 */
const PERMANENT_MESSAGES = new Set(['Cannot use a pool after calling end on the pool', 'PGlite is closed', 'PGlite is closing']);

/** How node-postgres and pg-pool say a connection could not be had in time. */
const TIMEOUT_MESSAGES = new Set(['timeout exceeded when trying to connect', 'Connection terminated due to connection timeout']);

/**
 * node-postgres' `query_timeout` expired: the client stopped waiting while the server may still run the
 * statement. The client is out of step with the server and must not be reused: a dropped connection.
 */
export function isLateAnswer(error: unknown): boolean {
  return factsOf(error).messages.includes('Query read timeout');
}

/**
 * SQLSTATE classes whose server messages may quote the data of the statement (class 22: data
 * exceptions, such as `invalid input syntax for type json`; class P0: `RAISE` in a trigger or function
 * the application installed, whose text it chooses). Their messages stay out of every cause.
 */
const DATA_QUOTING_CLASSES = ['22', 'P0'];

/**
 * A stand-in for a driver error that is safe to keep as a `cause` and to log: the driver's code,
 * constraint, severity and stack frames, and its message unless it may quote data — never Drizzle's
 * wrapper (whose message and `params` hold every bound value), nor the server's `detail`, `where` or
 * `internalQuery`, which may quote rows.
 */
export function safeCause(error: unknown): Error {
  if (isStrataError(error)) return error;
  const facts = factsOf(error);
  const original = findCoded(error) ?? firstError(error);
  const name = original?.name ?? 'Error';
  const quotes = facts.code !== undefined && DATA_QUOTING_CLASSES.some((c) => facts.code?.startsWith(c));
  const message = quotes || original === undefined ? `driver error${facts.code === undefined ? '' : ` (SQLSTATE ${facts.code})`}` : original.message;
  const summary = new Error(message);
  summary.name = name;
  const frames = (original?.stack ?? '').split('\n').filter((line) => line.startsWith('    at '));
  summary.stack = [`${name}: ${message}`, ...frames].join('\n');
  const extra: Record<string, unknown> = {};
  if (facts.code !== undefined) extra.code = facts.code;
  if (facts.constraint !== undefined) extra.constraint = facts.constraint;
  const severity = (original as { severity?: unknown } | undefined)?.severity;
  if (typeof severity === 'string') extra.severity = severity;
  return Object.assign(summary, extra);
}

/** The innermost-first error that carries a string code (the driver's own, under Drizzle's wrapper). */
function findCoded(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if (typeof (current as DriverError).code === 'string' && current instanceof Error) return current;
    current = (current as DriverError).cause;
  }
  return undefined;
}

/** The driver's error under Drizzle's wrapper (which quotes parameters), or the error itself. */
function firstError(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const next = (current as DriverError).cause;
    const wrapper = (current as { name?: unknown }).name === 'DrizzleQueryError' || 'params' in (current as object);
    if (!wrapper && current instanceof Error) return current;
    current = next;
  }
  return undefined;
}

/**
 * Whether `error` says the connection is lost or unusable (a killed backend, a cut socket, a server
 * restart or shutdown, a closed client, pool or PGlite), in any of the ways node-postgres, pg-pool
 * and PGlite report it, wrapped by Drizzle or not. Such a connection must not be reused.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (isStrataError(error)) return error.code === 'CONNECTION';
  const { code, messages } = factsOf(error);
  // Class 08 is connection exceptions, except 08P01: a protocol violation is a fault of the request.
  if (code !== undefined && (LOSS_CODES.has(code) || (code.startsWith('08') && code !== '08P01'))) return true;
  return messages.some((m) => LOSS_MESSAGES.has(m));
}

/** Options of {@link mapPgError}. */
export interface MapPgErrorOptions {
  /**
   * Whether a write may have reached the server before the failure: true for a statement outside a
   * transaction and for `COMMIT`, false inside a transaction (the server rolls it back with the
   * connection) and while connecting. Sets `outcomeUnknown` of a `CONNECTION` error. @defaultValue false
   */
  mayHaveApplied?: boolean;
}

/** The argument a limit error is about, for the `field` of the `VALIDATION` error. */
function limitField(operation: string): string {
  if (operation === 'events.append') return 'events';
  if (operation === 'queue.send') return 'messages';
  if (operation === 'snapshots.save') return 'snapshot.state';
  return operation;
}

/**
 * The server a socket error names (` connecting to db.example:5432`): Node's net errors carry the host
 * (ENOTFOUND) or the address and port (ECONNREFUSED, ETIMEDOUT), never anything of a statement.
 */
function peerOf(error: unknown): string {
  const e = error as { hostname?: unknown; address?: unknown; port?: unknown } | null;
  const host = typeof e?.hostname === 'string' ? e.hostname : typeof e?.address === 'string' ? e.address : undefined;
  if (host === undefined || host.length > 255) return '';
  return ` connecting to ${host}${typeof e?.port === 'number' ? `:${e.port}` : ''}`;
}

/**
 * Turns a driver error (node-postgres, pg-pool, PGlite, wrapped by Drizzle or not) into a
 * {@link StrataError}, with a {@link safeCause} of the original as `cause`. The message names the operation and the
 * stream, queue or consumer, never the bound values. Strata errors pass through unchanged.
 *
 * - a lost or unusable connection, however the driver says it: `CONNECTION`, retryable (not retryable
 *   when the application closed the PGlite instance or ended the pool: no retry can succeed);
 * - no connection in time, a cancelled statement: `TIMEOUT`, retryable;
 * - a unique violation of an event id or stream version: `EVENT_ID_CONFLICT` or `CONCURRENCY`;
 * - a serialization failure or deadlock: `CONCURRENCY`, retryable;
 * - a limit of PostgreSQL or of Strata's schema (SQLSTATE class 54): `VALIDATION`, with the reason;
 * - a missing schema, table or function of Strata's (3F000, 42P01, 42883: never migrated): `MIGRATION`;
 * - anything else: `INTERNAL`, with the SQLSTATE.
 */
export function mapPgError(error: unknown, subject: ErrorSubject, options: MapPgErrorOptions = {}): StrataError {
  if (isStrataError(error)) return error;
  const { code, constraint, codeMessage, messages } = factsOf(error);
  const where = describeSubject(subject);
  // Driver messages may quote bound values: they stay out of the message (and `safeCause` keeps them out of the cause).
  const why = constraint === undefined ? '' : ` (constraint ${constraint})`;
  if (code === '23505') {
    if (constraint === 'events_event_id_idx') {
      return new EventIdConflictError(subject.streamId ?? '', '(one of the batch)', 'was appended concurrently by another writer', { cause: safeCause(error) });
    }
    if (constraint === 'events_stream_version_idx' || constraint === 'streams_pkey') {
      return new ConcurrencyError(
        `${where}: a concurrent append won the race${why}`,
        { ...(subject.streamId === undefined ? {} : { streamId: subject.streamId }) },
        { cause: safeCause(error) },
      );
    }
  }
  if (code === '40001' || code === '40P01') {
    return new ConcurrencyError(`${where}: ${code === '40P01' ? 'deadlock' : 'serialization failure'}, retry${why}`, {}, { cause: safeCause(error) });
  }
  if (messages.some((m) => TIMEOUT_MESSAGES.has(m))) {
    return new StrataError('TIMEOUT', `${where}: no answer from the database in time (${messages.find((m) => TIMEOUT_MESSAGES.has(m))})`, {
      cause: safeCause(error),
    });
  }
  if (isLateAnswer(error)) {
    const outcomeUnknown = options.mayHaveApplied === true;
    return new ConnectionError(
      `${where}: no answer from the database in time (query_timeout); the connection was dropped${outcomeUnknown ? '; the write may or may not have been applied' : ''}`,
      { cause: safeCause(error), outcomeUnknown },
    );
  }
  if (isConnectionLoss(error)) {
    const neverSent = (code !== undefined && NEVER_SENT_CODES.has(code)) || messages.some((m) => NEVER_SENT_MESSAGES.has(m));
    const outcomeUnknown = options.mayHaveApplied === true && !neverSent;
    const reason = code ?? messages.find((m) => LOSS_MESSAGES.has(m)) ?? 'lost';
    const permanent = messages.some((m) => PERMANENT_MESSAGES.has(m));
    return new ConnectionError(
      `${where}: the database connection is lost or unusable (${reason}${peerOf(error)})${outcomeUnknown ? '; the write may or may not have been applied' : ''}${permanent ? '; it was closed by the application, so no retry can succeed: open a new store' : ''}`,
      { cause: safeCause(error), outcomeUnknown, ...(permanent ? { retryable: false } : {}) },
    );
  }
  if (code === '3D000' || code === '28P01' || code === '28000') {
    // The connection string names a database that does not exist, or credentials the server refuses:
    // no retry fixes that.
    const what = code === '3D000' ? 'the database named in the connection string does not exist' : 'the server refused the credentials';
    return new ConnectionError(`${where}: ${what} (SQLSTATE ${code}); check the connection string`, { cause: safeCause(error), retryable: false });
  }
  if (code === '3F000' || code === '42P01' || (code === '42883' && codeMessage !== undefined && /^function .* does not exist$/.test(codeMessage))) {
    // Strata's statements only name Strata's own schema: a missing schema, table or function there is a
    // database that was opened with `migrate: false` and never migrated.
    return new MigrationError(
      `${where}: Strata's schema, tables or functions do not exist in this database (SQLSTATE ${code}); run migrate() on it first, or open the store with migrate: true (the default)`,
      { cause: safeCause(error) },
    );
  }
  if (code === '57014') return new StrataError('TIMEOUT', `${where}: the statement was cancelled${why}`, { cause: safeCause(error) });
  if (code === '55P03')
    return new StrataError('TIMEOUT', `${where}: a lock was not available in time (lock_timeout)${why}; retry`, { cause: safeCause(error), retryable: true });
  if (code?.startsWith('54')) {
    // Class 54 (program limit exceeded): the server's message states the limit, never a value.
    const reason = codeMessage !== undefined && codeMessage.length < 300 ? codeMessage.replace(/^strata: /, '') : 'a limit of PostgreSQL was exceeded';
    return new ValidationError(limitField(subject.operation), `exceeds a limit (${where}): ${reason} (SQLSTATE ${code})`, { cause: safeCause(error) });
  }
  return new StrataError('INTERNAL', `${where} failed${code === undefined ? '' : ` (SQLSTATE ${code})`}${why}`, { cause: safeCause(error) });
}
