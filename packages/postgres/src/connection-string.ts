import { ValidationError } from '@strata/core';

/**
 * Checks a connection string before node-postgres reads it, and returns it trimmed. Accepted: a
 * `postgres://` or `postgresql://` URL (any case), node-postgres' socket forms (`/var/run/postgresql db`,
 * `socket:/dir?db=app`), and the empty string, with which node-postgres takes everything from the `PG*`
 * environment variables (`PGHOST`, `PGDATABASE`, …). Refused with `VALIDATION`: a string without a scheme
 * (node-postgres would try a host named after the text and report a lost connection) and any other scheme.
 * The string itself (it may hold a password) never reaches the error.
 *
 * @param connection - the connection string
 * @param field - the argument's name in the error
 * @returns the string without surrounding whitespace (node-postgres misreads a URL after a space)
 * @throws `VALIDATION` (a `ValidationError` of `@strata/core`) naming `field`
 */
export function checkConnectionString(connection: string, field = 'connection'): string {
  const text = connection.trim();
  if (text === '') return text;
  const hint = 'pass a PostgreSQL connection URL (postgres://user:password@host:5432/database)';
  // Only what precedes "://" is a scheme: in "user:password@host" the part before the colon is a user.
  const scheme = /^([a-z][a-z0-9+.-]{0,19}):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // node-postgres' other forms: a Unix socket directory ("/var/run/postgresql dbname") or "socket:/dir".
    if (!text.startsWith('/') && !/^socket:/i.test(text)) throw new ValidationError(field, `has no postgres:// scheme: ${hint}`);
  } else if (scheme !== 'postgres' && scheme !== 'postgresql' && scheme !== 'socket') {
    throw new ValidationError(field, `is a ${scheme}: URL, not a postgres:// or postgresql:// one`);
  }
  return text;
}
