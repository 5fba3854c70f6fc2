import { ValidationError } from './errors.js';

/**
 * Structured facts attached to a log line: operation names, stream ids, queue and consumer names,
 * error codes, counts and durations. Never a payload or a bound value.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/**
 * Where Strata reports what it recovers from on its own: a connection lost and recovered, a retry, a
 * lease lost or taken over, a message dead-lettered. Any object with these four methods fits:
 * `console`, winston, and pino (which prints the message; its `hooks.logMethod` option puts the fields
 * in the line too, see the failures-and-retries guide). Strata never passes a payload, an event's data,
 * a message body or a bound value to it.
 *
 * @example
 * ```ts
 * const store = createMemoryStore({ logger: console })
 * ```
 */
export interface StrataLogger {
  /** Detail useful while investigating. */
  debug(message: string, fields?: LogFields): void;
  /** A normal event worth recording, such as a recovered connection. */
  info(message: string, fields?: LogFields): void;
  /** Something failed and Strata is retrying or working around it. */
  warn(message: string, fields?: LogFields): void;
  /** Something failed and Strata gave up on it. */
  error(message: string, fields?: LogFields): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const nothing = (): void => undefined;

/** A logger that drops everything: the default of every store, `subscribe()` and `consume()`. */
export const silentLogger: StrataLogger = Object.freeze({ debug: nothing, info: nothing, warn: nothing, error: nothing });

/** Supplies fields that describe where a line is logged from, such as the active trace and span. */
export type LogFieldsProvider = () => LogFields | undefined;

const providers: LogFieldsProvider[] = [];

/**
 * Adds `provider`'s fields to every line that a logger wrapped by {@link safeLogger} writes from now
 * on: every store's, `subscribe()`'s and `consume()`'s. `@strata/core/otel` registers one that adds
 * `trace_id` and `span_id` while a span is active, so that log lines and traces join up. A provider
 * that throws is ignored; fields the caller passed win over the provider's.
 *
 * @param provider - called for each line; returns the fields to add, or `undefined` for none
 * @returns a function that removes the provider again
 */
export function addLogFields(provider: LogFieldsProvider): () => void {
  providers.push(provider);
  return () => {
    const at = providers.indexOf(provider);
    if (at >= 0) providers.splice(at, 1);
  };
}

function withContextFields(fields: LogFields | undefined): LogFields | undefined {
  let all = fields;
  for (const provider of providers) {
    let extra: LogFields | undefined;
    try {
      extra = provider();
    } catch {
      continue;
    }
    if (extra !== undefined) all = { ...extra, ...all };
  }
  return all;
}

/**
 * Wraps `logger` so that a logger that throws never breaks the call that logs: Strata's own work goes
 * on and the logger's error is dropped. Returns {@link silentLogger} for `undefined`. Adapters wrap the
 * logger their users give them with it.
 *
 * @param logger - the logger given in options, if any
 * @throws `VALIDATION` when `logger` lacks one of the four methods
 */
export function safeLogger(logger: StrataLogger | undefined): StrataLogger {
  if (logger === undefined || logger === silentLogger) return silentLogger;
  for (const level of LEVELS) {
    if (typeof (logger as unknown as Record<string, unknown>)[level] !== 'function') {
      throw new ValidationError('options.logger', `must have debug, info, warn and error methods (${level} is missing)`);
    }
  }
  const wrap =
    (level: (typeof LEVELS)[number]) =>
    (message: string, fields?: LogFields): void => {
      try {
        const all = withContextFields(fields);
        if (all === undefined) logger[level](message);
        else logger[level](message, all);
      } catch {
        // Logging is best effort; a failing logger must not turn a recovery into a failure.
      }
    };
  return Object.freeze({ debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') });
}

/**
 * Reports a lost database connection once and its recovery once, so that a storm of failed calls
 * makes two log lines, not thousands. Adapters call {@link ConnectionHealth.lost} when a call fails
 * with `CONNECTION` and {@link ConnectionHealth.ok} when one succeeds.
 */
export class ConnectionHealth {
  #lostAt: number | undefined;

  /** @param logger - where to report */
  constructor(readonly logger: StrataLogger) {}

  /**
   * Records a failed call: warns once until the next {@link ConnectionHealth.ok}.
   *
   * @param operation - the operation that failed, such as `events.append`
   * @param code - the driver's code (SQLSTATE, socket or SQLite code), if any
   */
  lost(operation: string, code?: string): void {
    if (this.#lostAt !== undefined) return;
    this.#lostAt = Date.now();
    this.logger.warn(`strata: database connection lost during ${operation}; calls fail with CONNECTION until it is back`, { operation, code });
  }

  /** Records a successful call: after a loss, says once that the connection is back and how long it was down. */
  ok(): void {
    if (this.#lostAt === undefined) return;
    const downMs = Date.now() - this.#lostAt;
    this.#lostAt = undefined;
    this.logger.info(`strata: database connection recovered, ${downMs} ms after the first failure`, { downMs });
  }
}
