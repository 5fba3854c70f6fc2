import { assert } from './helpers.js';

/**
 * How far a timestamp the store sets may lie outside the wall-clock window of the call that set it.
 * Stores stamp rows by their own clock (a database server's `statement_timestamp()`, or `Date.now()`
 * in the adapter's process), which the contracts do not tie to this process's clock: a database on
 * another machine may be seconds off. A minute (as `events.append.recorded-at-is-now` allows) still
 * catches what is wrong — a time-zone shift, seconds taken for milliseconds, another row's time. Finer
 * claims are made on spans between two readings of the store's clock ({@link SPAN_SLACK_MS}).
 */
export const CLOCK_SKEW_MS = 60_000;

/**
 * Slack, in milliseconds, for comparing a span between two readings of the store's clock (an age, the
 * time left until a deadline) with the span this process measured around them: both clocks tick
 * alike, so only rounding to milliseconds separates them.
 */
export const SPAN_SLACK_MS = 50;

/**
 * Asserts that `at` is a valid date within the window `[before, after]` (milliseconds of this process's
 * clock, taken just before and just after the call that set it), shifted by `offset` (a visibility
 * timeout, say), give or take {@link CLOCK_SKEW_MS}.
 */
export function assertWithin(at: Date | undefined, before: number, after: number, what: string, offset = 0): void {
  assert.ok(at instanceof Date && !Number.isNaN(at.getTime()), `${what} is a valid Date (got ${String(at)})`);
  const t = at.getTime();
  const lo = before + offset - CLOCK_SKEW_MS;
  const hi = after + offset + CLOCK_SKEW_MS;
  assert.ok(
    t >= lo && t <= hi,
    `${what} is ${at.toISOString()}, outside ${new Date(lo).toISOString()} … ${new Date(hi).toISOString()} (the call's window${offset === 0 ? '' : ` plus ${offset} ms`}, ± ${CLOCK_SKEW_MS} ms)`,
  );
}
