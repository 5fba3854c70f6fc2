import { type StoredEvent, type StrataStore, subscribe } from '@strata/core';
import { type Context, stderrLogger, withStore } from '../context.js';
import { cell, date, json, number } from '../output.js';
import { eventView } from './streams.js';

/**
 * The last `limit` events of the log (of `types`, if given), oldest first. `readAll` reads forward
 * only, so it reads a window before the head, doubling it until it holds enough events or starts at
 * the beginning; memory stays bounded by `limit`.
 */
async function lastEvents(store: StrataStore, head: bigint, types: readonly string[] | undefined, limit: number): Promise<StoredEvent[]> {
  let window = BigInt(Math.max(limit, 16));
  for (;;) {
    const after = head > window ? head - window : 0n;
    const kept: StoredEvent[] = [];
    for await (const e of store.events.readAll({ after, ...(types === undefined ? {} : { types }) })) {
      if (e.position > head) break;
      kept.push(e);
      if (kept.length > limit) kept.shift();
    }
    if (kept.length >= limit || after === 0n) return kept;
    window *= 4n;
  }
}

const widths = [10, 28, 7, 22, 24];

function line(e: StoredEvent, withData: boolean): string {
  const cells = [e.position.toString().padStart(widths[0] ?? 0), e.streamId.padEnd(widths[1] ?? 0), String(e.version).padStart(widths[2] ?? 0)];
  cells.push(e.type.padEnd(widths[3] ?? 0), date(e.recordedAt).padEnd(widths[4] ?? 0), cell(e.metadata));
  if (withData) cells.push(JSON.stringify(e.data));
  return cells.join('  ').trimEnd();
}

function header(withData: boolean): string {
  const names = ['position'.padStart(widths[0] ?? 0), 'stream'.padEnd(widths[1] ?? 0), 'version'.padStart(widths[2] ?? 0)];
  names.push('type'.padEnd(widths[3] ?? 0), 'recorded at'.padEnd(widths[4] ?? 0), 'metadata');
  if (withData) names.push('data');
  return names.join('  ');
}

/**
 * `strata events tail [--type t …] [--limit n] [--follow] [--data]`. With `--json`: an array, or with
 * `--follow` one JSON object per line (the past events first), so that a script can read it as a stream.
 */
export async function eventsTailCommand(ctx: Context, options: { types?: string[]; limit: number; follow: boolean; data: boolean }): Promise<number> {
  const types = options.types !== undefined && options.types.length > 0 ? options.types : undefined;
  return withStore(ctx, false, async (store) => {
    const head = await store.events.headPosition();
    const events = await lastEvents(store, head, types, options.limit);
    const asLines = ctx.out.asJson && options.follow;
    if (asLines) for (const e of events) ctx.out.line(json(eventView(e, options.data), 0));
    else
      ctx.out.result(
        events.map((e) => eventView(e, options.data)),
        () => (events.length === 0 ? 'No events.' : [header(options.data), ...events.map((e) => line(e, options.data))].join('\n')),
      );
    if (!options.follow) return 0;
    if (!ctx.out.asJson && events.length === 0) ctx.out.line(header(options.data));
    ctx.out.note(`following from position ${number(head)}; Ctrl-C to stop`);
    const signal = ctx.io.signal;
    if (signal?.aborted) return 0;
    const sub = subscribe(store, {
      from: head,
      ...(types === undefined ? {} : { types }),
      pollIntervalMs: 250,
      logger: stderrLogger(ctx),
      handler: (e) => {
        ctx.out.line(asLines ? json(eventView(e, options.data), 0) : line(e, options.data));
      },
      ...(signal === undefined ? {} : { signal }),
    });
    await sub.done;
    return 0;
  });
}
