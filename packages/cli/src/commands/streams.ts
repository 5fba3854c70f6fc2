import { exportCursorAfter, type StoredEvent, type StrataStore, type StreamRecord } from '@strata/core';
import { type Context, withStore } from '../context.js';
import { Failure } from '../failure.js';
import { cell, date, number, table } from '../output.js';

/** A stream as `streams list` shows it. */
interface StreamRow {
  streamId: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Streams in stream id order (bytewise), from the transfer contract's export, which yields streams
 * first: the listing stops at the first batch of another kind. With a prefix it starts right after the
 * prefix itself, since every id that starts with it sorts after it, and ends at the first that does not.
 */
async function listStreams(store: StrataStore, prefix: string | undefined, limit: number): Promise<{ streams: StreamRow[]; more: boolean }> {
  const streams: StreamRow[] = [];
  const row = (r: { streamId: string; version: number; createdAt: number | Date; updatedAt: number | Date }): StreamRow => ({
    streamId: r.streamId,
    version: r.version,
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
  });
  let after: string | undefined;
  if (prefix !== undefined && prefix !== '') {
    const exact = await store.events.streamInfo(prefix);
    if (exact !== null) streams.push(row(exact));
    after = exportCursorAfter({ kind: 'stream', streamId: prefix } as StreamRecord);
  }
  const batchSize = Math.min(1000, limit + 1);
  for await (const batch of store.transfer.export(after === undefined ? { batchSize } : { after, batchSize })) {
    if (batch.kind !== 'stream') break;
    for (const r of batch.records as StreamRecord[]) {
      if (prefix !== undefined && !r.streamId.startsWith(prefix)) return { streams, more: false };
      if (streams.length === limit) return { streams, more: true };
      streams.push(row(r));
    }
  }
  return { streams, more: false };
}

/** `strata streams list [--prefix p] [--limit n]`. */
export async function streamsListCommand(ctx: Context, options: { prefix?: string; limit: number }): Promise<number> {
  return withStore(ctx, false, async (store) => {
    const { streams, more } = await listStreams(store, options.prefix, options.limit);
    ctx.out.result({ streams, more }, () => {
      if (streams.length === 0) return options.prefix === undefined ? 'No streams.' : `No stream id starts with ${JSON.stringify(options.prefix)}.`;
      const rows = streams.map((s) => [s.streamId, number(s.version), date(s.createdAt), date(s.updatedAt)]);
      const text = table([{ header: 'stream' }, { header: 'version', right: true }, { header: 'created' }, { header: 'updated' }], rows);
      return more ? `${text}\n(first ${number(options.limit)} shown; raise --limit or narrow with --prefix)` : text;
    });
    return 0;
  });
}

/** An event as the CLI prints it: everything but the data, unless asked for. */
export function eventView(e: StoredEvent, withData: boolean) {
  return {
    position: e.position,
    streamId: e.streamId,
    version: e.version,
    type: e.type,
    id: e.id,
    schemaVersion: e.schemaVersion,
    recordedAt: e.recordedAt,
    metadata: e.metadata,
    ...(withData ? { data: e.data } : {}),
  };
}

/** `strata streams show <id> [--limit n] [--data]`: the stream's info and its last events. */
export async function streamsShowCommand(ctx: Context, streamId: string, options: { limit: number; data: boolean }): Promise<number> {
  return withStore(ctx, false, async (store) => {
    const info = await store.events.streamInfo(streamId);
    if (info === null) throw new Failure(`no stream ${JSON.stringify(streamId)}`);
    const events: StoredEvent[] = [];
    for await (const e of store.events.readStream(streamId, { direction: 'backward', limit: options.limit })) events.push(e);
    events.reverse();
    ctx.out.result({ stream: info, events: events.map((e) => eventView(e, options.data)) }, () => {
      const head = [
        `stream   ${info.streamId}`,
        `version  ${number(info.version)} (${number(info.eventCount)} event(s))`,
        `created  ${date(info.createdAt)}`,
        `updated  ${date(info.updatedAt)}`,
        '',
      ];
      if (events.length < info.eventCount) head.push(`last ${number(events.length)} event(s); raise --limit for more:`);
      const columns = [
        { header: 'version', right: true },
        { header: 'position', right: true },
        { header: 'type' },
        { header: 'recorded at' },
        { header: 'metadata' },
      ];
      if (options.data) columns.push({ header: 'data' });
      const rows = events.map((e) => {
        const r = [number(e.version), e.position.toString(), e.type, date(e.recordedAt), cell(e.metadata)];
        if (options.data) r.push(JSON.stringify(e.data));
        return r;
      });
      return [...head, table(columns, rows)].join('\n');
    });
    return 0;
  });
}
