import { type Checkpoint, isStrataError, rebuildProjection, type StoredEvent, type StrataStore, validateConsumerName } from '@strata/core';
import cliProgress from 'cli-progress';
import { type Context, stderrLogger, withStore } from '../context.js';
import { Failure, UsageError } from '../failure.js';
import { confirm } from '../io.js';
import { date, number, table } from '../output.js';
import { type CliProjection, loadProjection } from '../projection.js';

function checkName(consumer: string): void {
  try {
    validateConsumerName(consumer);
  } catch {
    throw new UsageError(`${JSON.stringify(consumer)} is not a valid consumer name`);
  }
}

async function knownConsumer(store: StrataStore, consumer: string): Promise<Checkpoint> {
  checkName(consumer);
  const checkpoint = await store.checkpoints.get(consumer);
  if (checkpoint === null) throw new Failure(`no consumer ${JSON.stringify(consumer)}: no checkpoint is stored under that name`);
  return checkpoint;
}

/** `strata consumers list`: every named consumer's checkpoint. */
export async function consumersListCommand(ctx: Context): Promise<number> {
  return withStore(ctx, false, async (store) => {
    const consumers = await store.checkpoints.list();
    ctx.out.result({ consumers }, () =>
      consumers.length === 0
        ? 'No consumers.'
        : table(
            [{ header: 'consumer' }, { header: 'position', right: true }, { header: 'updated at' }],
            consumers.map((c) => [c.consumer, c.position.toString(), date(c.updatedAt)]),
          ),
    );
    return 0;
  });
}

/** Events counted at most when measuring a lag: past it the lag shows as "at least". */
export const LAG_COUNT_CAP = 100_000;

/** How far a consumer is behind the head of the log. */
interface Lag {
  consumer: string;
  position: bigint;
  head: bigint;
  /**
   * Events after the checkpoint up to the head, counted (at most {@link LAG_COUNT_CAP}). Positions are
   * not dense on PostgreSQL (a transaction's events start at its transaction id × 2^20), so `head −
   * position` says nothing about how many events are left there; it is given as `positionsBehind`.
   */
  eventsBehind: number;
  /** Whether there are more than `eventsBehind`: the count stopped at the cap. */
  atLeast: boolean;
  /** `head − position`. */
  positionsBehind: bigint;
  /** Now minus when the first event after the checkpoint was recorded; 0 when caught up. */
  secondsBehind: number;
  updatedAt: Date;
}

/** Events after `position` up to `head`, at most `cap`, and the first of them. */
async function behind(
  store: StrataStore,
  position: bigint,
  head: bigint,
  cap: number,
  filters: { types?: readonly string[]; streamId?: string; streamPrefix?: string } = {},
): Promise<{ count: number; first: StoredEvent | undefined }> {
  let count = 0;
  let first: StoredEvent | undefined;
  if (position >= head) return { count, first };
  for await (const e of store.events.readAll({ after: position, limit: cap + 1, ...filters })) {
    if (e.position > head) break;
    first ??= e;
    count++;
  }
  return { count, first };
}

/** `strata consumers lag [name]`: one consumer's lag, or every consumer's. */
export async function consumersLagCommand(ctx: Context, name: string | undefined): Promise<number> {
  return withStore(ctx, false, async (store) => {
    const checkpoints = name === undefined ? await store.checkpoints.list() : [await knownConsumer(store, name)];
    const head = await store.events.headPosition();
    const now = Date.now();
    const lags: Lag[] = [];
    for (const c of checkpoints) {
      const { count, first } = await behind(store, c.position, head, LAG_COUNT_CAP);
      const seconds = first === undefined ? 0 : Math.max(0, (now - first.recordedAt.getTime()) / 1000);
      lags.push({
        consumer: c.consumer,
        position: c.position,
        head,
        eventsBehind: Math.min(count, LAG_COUNT_CAP),
        atLeast: count > LAG_COUNT_CAP,
        positionsBehind: head > c.position ? head - c.position : 0n,
        secondsBehind: Math.round(seconds * 10) / 10,
        updatedAt: c.updatedAt,
      });
    }
    ctx.out.result({ head, consumers: lags }, () =>
      lags.length === 0
        ? `No consumers (head at position ${head}).`
        : table(
            [
              { header: 'consumer' },
              { header: 'position', right: true },
              { header: 'head', right: true },
              { header: 'events behind', right: true },
              { header: 'seconds behind', right: true },
              { header: 'updated at' },
            ],
            lags.map((l) => [
              l.consumer,
              l.position.toString(),
              l.head.toString(),
              `${l.atLeast ? '≥ ' : ''}${number(l.eventsBehind)}`,
              l.secondsBehind.toFixed(1),
              date(l.updatedAt),
            ]),
          ),
    );
    return 0;
  });
}

function parsePosition(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new UsageError(`--to must be a position: a whole number from 0 (got ${JSON.stringify(value)})`);
  return BigInt(value);
}

/**
 * `strata consumers reset <name> [--to position]`: sets a known consumer's checkpoint (default 0: replay
 * everything), after confirmation. A running instance notices at its next checkpoint update (its
 * compare-and-set fails) and goes on from the new position. An unknown name is refused, so that a typo
 * does not create a consumer; a position past the head is refused too.
 */
export async function consumersResetCommand(ctx: Context, name: string, to: string | undefined): Promise<number> {
  const position = to === undefined ? 0n : parsePosition(to);
  return withStore(ctx, true, async (store) => {
    const current = await knownConsumer(store, name);
    const head = await store.events.headPosition();
    if (position > head) throw new Failure(`--to ${position} is past the head of the log (position ${head})`);
    await confirm(ctx.io, `Move consumer ${JSON.stringify(name)} from position ${current.position} to ${position}?`, ctx.yes);
    await store.checkpoints.set(name, position, { expected: current.position });
    ctx.out.result(
      { consumer: name, from: current.position, to: position },
      () => `Consumer ${JSON.stringify(name)} moved from position ${current.position} to ${position}.`,
    );
    return 0;
  });
}

/** What a rebuild did. */
interface RebuildSummary {
  consumer: string;
  /** Events the handler was called with (a retried batch counts again). */
  events: number;
  /** The head of the log when the rebuild started: it replayed up to there. */
  head: bigint;
  /** The consumer's checkpoint when it stopped. */
  position: bigint;
  seconds: number;
  eventsPerSecond: number;
  interrupted: boolean;
}

/** A progress bar on stderr, or nothing. */
function progressBar(ctx: Context, consumer: string, total: number) {
  if (ctx.out.asJson) return { update: (_events: number, _position: bigint) => undefined, stop: () => undefined };
  const stream = {
    isTTY: ctx.io.isTTY,
    columns: ctx.io.isTTY ? ctx.io.columns : 200,
    write(text: string, callback?: () => void) {
      ctx.io.stderr(text);
      callback?.();
      return true;
    },
  };
  const bar = new cliProgress.SingleBar(
    {
      format: `rebuilding ${consumer} [{bar}] {percentage}% | {done}/{all} events | {rate}/s | ETA {etaText} | position {position}`,
      barsize: 30,
      stream: stream as unknown as NodeJS.WritableStream,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      hideCursor: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  // Until something was replayed there is no rate to tell the time left from.
  bar.start(Math.max(total, 1), 0, { done: '0', all: number(total), position: '0', rate: '0', etaText: '--' });
  return {
    update(events: number, position: bigint) {
      const seconds = (performance.now() - started) / 1000;
      const value = Math.min(events, Math.max(total, 1));
      const rate = seconds > 0 ? events / seconds : 0;
      const eta = rate > 0 ? Math.max(0, Math.round((Math.max(total, 1) - value) / rate)) : undefined;
      bar.update(value, {
        done: number(value),
        position: position.toString(),
        rate: number(Math.round(rate)),
        etaText: eta === undefined ? '--' : eta < 60 ? `${eta}s` : `${Math.floor(eta / 60)}m${String(eta % 60).padStart(2, '0')}s`,
      });
    },
    stop() {
      bar.stop();
    },
  };
}

/** The subscription filters of a projection, as `readAll` takes them. */
function filtersOf(projection: CliProjection): { types?: readonly string[]; streamId?: string; streamPrefix?: string } {
  return {
    ...(projection.types === undefined ? {} : { types: projection.types }),
    ...(projection.streamId === undefined ? {} : { streamId: projection.streamId }),
    ...(projection.streamPrefix === undefined ? {} : { streamPrefix: projection.streamPrefix }),
  };
}

/** Whether an event the projection takes lies after `position` and at or before `head`. */
async function anyLeft(store: StrataStore, projection: CliProjection, position: bigint, head: bigint): Promise<boolean> {
  return (await behind(store, position, head, 0, filtersOf(projection))).count > 0;
}

/**
 * How many events the replay will hand the projection: the store's event count when it takes every
 * event, else a count of the events it takes up to the head (a read of the log before the replay).
 */
async function eventsToReplay(store: StrataStore, projection: CliProjection, head: bigint): Promise<number> {
  const filters = filtersOf(projection);
  if (Object.keys(filters).length === 0) return (await store.transfer.counts()).event;
  return (await behind(store, 0n, head, Number.MAX_SAFE_INTEGER - 1, filters)).count;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `strata consumers rebuild <name> --module <path>`: clears the projection's read model and replays the
 * log into it with core's `rebuildProjection`, showing a progress bar (position against the head seen at
 * the start, with an ETA), until it reached that head; then prints a summary. Ctrl-C stops it where it
 * is (exit 130): the checkpoint and the read model stay consistent, and running `consumers rebuild` or
 * the application's own consumer again goes on or starts over. An unknown consumer is allowed: it is
 * how a new projection fills its table for the first time.
 */
export async function consumersRebuildCommand(ctx: Context, name: string, modulePath: string): Promise<number> {
  checkName(name);
  const projection = await loadProjection(modulePath, name);
  return withStore(ctx, true, async (store) => {
    const head = await store.events.headPosition();
    const current = await store.checkpoints.get(name);
    await confirm(
      ctx.io,
      `Rebuild ${JSON.stringify(name)}: clear its read model and replay the log up to position ${head}${current === null ? ' (a new consumer)' : ` (its checkpoint is at ${current.position})`}?`,
      ctx.yes,
    );
    let events = 0;
    let failure: unknown;
    const started = performance.now();
    const total = await eventsToReplay(store, projection, head);
    const bar = progressBar(ctx, name, total);
    const sub = await rebuildProjection(store, {
      logger: stderrLogger(ctx),
      ...projection,
      consumer: name,
      handler: async (event, context) => {
        await projection.handler(event, context);
        events++;
      },
    });
    sub.done.catch((error: unknown) => {
      failure = error ?? new Error('the subscription stopped');
    });
    let interrupted = false;
    let lastCheck = 0;
    for (;;) {
      if (failure !== undefined) break;
      if (ctx.io.signal?.aborted) {
        interrupted = true;
        break;
      }
      const position = sub.position;
      bar.update(events, position);
      if (position >= head) break;
      const now = performance.now();
      if (now - lastCheck > 500) {
        lastCheck = now;
        if (!(await anyLeft(store, projection, position, head))) break;
      }
      await sleep(100);
    }
    await sub.stop().catch(() => undefined);
    if (failure === undefined) bar.update(interrupted ? events : Math.max(events, total), sub.position);
    bar.stop();
    if (failure !== undefined) {
      // The handler's message may quote the event it failed on: only its class or code is printed.
      const kind = isStrataError(failure) ? failure.code : failure instanceof Error ? failure.name : typeof failure;
      throw new Failure(
        `the rebuild of ${JSON.stringify(name)} stopped at position ${sub.position}: the projection's handler threw (${kind}). The read model was cleared and holds what was replayed up to that position; fix the handler and run the rebuild again.`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const checkpoint = await store.checkpoints.get(name);
    const summary: RebuildSummary = {
      consumer: name,
      events,
      head,
      position: checkpoint?.position ?? 0n,
      seconds: Math.round(seconds * 100) / 100,
      eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : events,
      interrupted,
    };
    ctx.out.result(summary, () =>
      interrupted
        ? `Interrupted: ${JSON.stringify(name)} replayed ${number(events)} event(s) in ${seconds.toFixed(1)} s and stands at position ${summary.position}; run the rebuild again to start over.`
        : `Rebuilt ${JSON.stringify(name)}: ${number(events)} event(s) in ${seconds.toFixed(1)} s (${number(summary.eventsPerSecond)} events/s), checkpoint at position ${summary.position} (head at start ${head}).`,
    );
    return interrupted ? 130 : 0;
  });
}
