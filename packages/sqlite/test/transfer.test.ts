import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareNames, type EventRecord, type MessageRecord, type StrataRecord, type StreamRecord } from '@strata/core';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-transfer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

async function open(file = join(dir, `t-${++files}.db`)): Promise<SqliteStore> {
  const store = await createSqliteStore(file, { synchronous: 'normal' });
  onTestFinished(() => store.close());
  return store;
}

async function exportAll(store: SqliteStore, batchSize = 1000): Promise<StrataRecord[]> {
  const out: StrataRecord[] = [];
  for await (const b of store.transfer.export({ batchSize })) out.push(...b.records);
  return out;
}

/** Every row of every Strata table, as SQLite returns it: what "nothing written" is checked against. */
function dump(store: SqliteStore): unknown {
  const all = (table: string, order: string) => store.client.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).safeIntegers(true).all();
  return {
    streams: all('strata_streams', 'stream_id'),
    events: all('strata_events', 'position'),
    snapshots: all('strata_snapshots', 'stream_id, version'),
    messages: all('strata_queue_messages', 'seq'),
    checkpoints: all('strata_checkpoints', 'consumer'),
    sequences: all('sqlite_sequence', 'name'),
  };
}

const T0 = Date.UTC(2024, 0, 1);

const stream = (streamId: string, version: number): StreamRecord => ({ kind: 'stream', streamId, version, createdAt: T0, updatedAt: T0 + 1 });

const event = (streamId: string, version: number, position: bigint, over: Partial<EventRecord> = {}): EventRecord => ({
  kind: 'event',
  position,
  streamId,
  version,
  id: randomUUID(),
  type: 'Imported',
  schemaVersion: 1,
  data: `{"n":${version}}`,
  metadata: '{}',
  recordedAt: T0 + version,
  ...over,
});

const message = (seq: number, over: Partial<MessageRecord> = {}): MessageRecord => ({
  kind: 'message',
  id: randomUUID(),
  queue: 'q',
  seq,
  body: `{"seq":${seq}}`,
  headers: '{}',
  priority: 0,
  maxAttempts: 5,
  dedupId: null,
  attempt: 0,
  visibleAt: T0,
  receipt: null,
  dead: false,
  reason: null,
  enqueuedAt: T0,
  deadLetteredAt: null,
  ...over,
});

/** Rows written behind the store's back, with text no append would write. */
const HAND_WRITTEN = [
  { version: 1, id: '6f1c1a52-2c1e-4e0b-9a43-0a1c2b3d4e5f', data: 'not json {', metadata: '{"b":1,  "a":2}' },
  { version: 2, id: 'e3a8b7b2-5a55-4d55-8a9e-1f2e3d4c5b6a', data: '"a\\u0000b"', metadata: '{}' },
  { version: 3, id: '0d6b8c5e-7f3a-4b6c-9d2e-3f4a5b6c7d8e', data: '1e400', metadata: '{}' },
  { version: 4, id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', data: '12345678901234567890', metadata: '{ }' },
  { version: 5, id: 'A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D', data: '{"x" : [1.50, -0.0]}', metadata: '{}' },
];

function writeByHand(store: SqliteStore): void {
  store.client.prepare('INSERT INTO strata_streams (stream_id, version, created_at, updated_at) VALUES (?, ?, ?, ?)').run('raw', 5, T0, T0 + 5);
  const insert = store.client.prepare(
    'INSERT INTO strata_events (stream_id, version, event_id, type, schema_version, data, metadata, recorded_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)',
  );
  for (const r of HAND_WRITTEN) insert.run('raw', r.version, r.id, 'Raw', r.data, r.metadata, T0 + r.version);
}

describe('SQLite transfer: export', () => {
  it('exports JSON columns exactly as stored, byte for byte', async () => {
    const store = await open();
    writeByHand(store);
    const events = (await exportAll(store)).filter((r): r is EventRecord => r.kind === 'event');
    expect(events.map((e) => [e.version, e.id, e.data, e.metadata])).toEqual(HAND_WRITTEN.map((r) => [r.version, r.id, r.data, r.metadata]));
    const stored = store.client.prepare('SELECT data, metadata FROM strata_events ORDER BY position').all() as { data: string; metadata: string }[];
    expect(events.map((e) => [e.data, e.metadata])).toEqual(stored.map((r) => [r.data, r.metadata]));
  });

  it('check reports what cannot be stored as given, with field, stream and version, and no data', async () => {
    const store = await open();
    writeByHand(store);
    const problems = await store.transfer.check(await exportAll(store));
    expect(problems.map((p) => [p.kind, p.field, p.streamId, p.version, p.reason])).toEqual([
      ['event', 'data', 'raw', 1, expect.stringMatching(/^is not valid JSON/)],
      ['event', 'data', 'raw', 2, 'contains U+0000'],
      ['event', 'id', 'raw', 5, 'is not a lowercase UUID'],
    ]);
    expect(problems[0]?.position).toBe(1n);
    expect(JSON.stringify(problems, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toMatch(/not json|A1B2C3D4/);
    // 1e400 and a 20-digit integer are JSON that SQLite keeps as text: nothing to report.
    expect(problems.some((p) => p.version === 3 || p.version === 4)).toBe(false);
  });

  it('orders events by position as numbers, and streams and checkpoints by UTF-8 bytes', async () => {
    const store = await open();
    const ids = ['b', 'B', 'a', 'é', '\u{1F600}', '\uFFFD', 'a\u0001', 'ab'];
    await store.transfer.import([
      stream('s', 3),
      event('s', 1, 9n),
      event('s', 2, 10n),
      event('s', 3, 100n),
      ...ids.map((id) => stream(id, 0)),
      ...ids.map((consumer) => ({ kind: 'checkpoint' as const, consumer, position: 9n, updatedAt: T0 })),
    ]);
    const records = await exportAll(store, 2);
    expect(records.flatMap((r) => (r.kind === 'event' ? [r.position] : []))).toEqual([9n, 10n, 100n]);
    const sorted = [...ids, 's'].sort(compareNames);
    expect(records.flatMap((r) => (r.kind === 'stream' ? [r.streamId] : []))).toEqual(sorted);
    expect(records.flatMap((r) => (r.kind === 'checkpoint' ? [r.consumer] : []))).toEqual([...ids].sort(compareNames));
  });

  it('resumes from a cursor after the store is reopened', async () => {
    const file = join(dir, 'reopen.db');
    const first = await createSqliteStore(file);
    await first.events.append('a', [
      { type: 'A', data: 1 },
      { type: 'A', data: 2 },
    ]);
    await first.events.append('b', [{ type: 'B', data: 3 }]);
    await first.snapshots.save('a', { version: 2, state: { s: 1 } });
    await first.queue.send('q', [{ body: 1 }, { body: 2 }]);
    await first.checkpoints.set('c', 1n);
    const all = await exportAll(first);
    const iterator = first.transfer.export({ batchSize: 2 })[Symbol.asyncIterator]();
    const head: StrataRecord[] = [];
    let cursor = '';
    for (let i = 0; i < 3; i++) {
      const next = await iterator.next();
      if (next.done === true) throw new Error('the export ended early');
      head.push(...next.value.records);
      cursor = next.value.cursor;
    }
    await iterator.return?.();
    await first.close();
    const again = await open(file);
    const rest: StrataRecord[] = [];
    for await (const b of again.transfer.export({ batchSize: 2, after: cursor })) rest.push(...b.records);
    expect([...head, ...rest]).toEqual(all);
    expect(all).toHaveLength(9);
  });
});

describe('SQLite transfer: import', () => {
  it('moves one file into another, keeping JSON text verbatim', async () => {
    const source = await open();
    writeByHand(source);
    // Keep what the target must refuse out of the copy: the invalid JSON, U+0000 and the upper-case id.
    source.client.exec(
      'DELETE FROM strata_events WHERE version IN (1, 2, 5); UPDATE strata_events SET version = version - 2; UPDATE strata_streams SET version = 2',
    );
    await source.queue.send('q', { body: { big: 1 }, headers: { h: 'v' } });
    source.client.exec(`UPDATE strata_queue_messages SET body = '{"big": 98765432109876543210}'`);
    const records = await exportAll(source);
    const target = await open();
    expect(await target.transfer.import(records)).toEqual({ written: records.length, skipped: 0 });
    expect(await exportAll(target)).toEqual(records);
    const rows = target.client.prepare('SELECT data FROM strata_events ORDER BY position').all() as { data: string }[];
    expect(rows.map((r) => r.data)).toEqual(['1e400', '12345678901234567890']);
    expect(target.client.prepare('SELECT body FROM strata_queue_messages').pluck().get()).toBe('{"big": 98765432109876543210}');
    const read: unknown[] = [];
    for await (const e of target.events.readStream('raw')) read.push(e.data);
    expect(read).toEqual([Number.POSITIVE_INFINITY, Number('12345678901234567890')]);
    expect(await target.transfer.import(records)).toEqual({ written: 0, skipped: records.length });
  });

  it('writes batches larger than one INSERT, and indexes correlation ids as append does', async () => {
    const store = await open();
    const n = 1000 + 77;
    const records: StrataRecord[] = [stream('big', n)];
    for (let v = 1; v <= n; v++) {
      records.push(event('big', v, BigInt(v * 3), { metadata: v === 7 ? '{"correlationId":"c-7"}' : v === 8 ? '{"\\u0063orrelationId":"c-8"}' : '{}' }));
    }
    expect(await store.transfer.import(records)).toEqual({ written: n + 1, skipped: 0 });
    expect(await store.transfer.counts()).toEqual({ stream: 1, event: n, snapshot: 0, message: 0, checkpoint: 0 });
    expect(await store.events.headPosition()).toBe(BigInt(n * 3));
    for (const [c, version] of [
      ['c-7', 7],
      ['c-8', 8],
    ] as const) {
      const found: number[] = [];
      for await (const e of store.events.readAll({ correlationId: c })) found.push(e.version);
      expect(found).toEqual([version]);
    }
  });

  it('refuses a conflict anywhere in a batch and writes nothing', async () => {
    const store = await open();
    const receipt = randomUUID();
    const stored = message(5, { receipt, attempt: 1, visibleAt: T0 + 60_000, dedupId: 'd' });
    await store.transfer.import([
      stream('s', 2),
      event('s', 1, 10n),
      event('s', 2, 20n),
      stored,
      { kind: 'checkpoint', consumer: 'c', position: 20n, updatedAt: T0 },
    ]);
    const before = dump(store);
    const storedId = (await exportAll(store)).find((r): r is EventRecord => r.kind === 'event')?.id ?? '';
    const fresh = [stream('t', 3), event('t', 1, 30n), message(6)];
    const conflicts: [RegExp, StrataRecord][] = [
      [/position 20 .*another event/, event('s', 2, 20n, { data: '{"secret":1}' })],
      [/its id is stored at another position/, event('s', 3, 40n, { id: storedId })],
      [/stream "s": .*another version/, stream('s', 3)],
      [/receipt belongs to another message/, message(7, { receipt })],
      [/dedup id/, message(7, { dedupId: 'd' })],
      [/seq is not after/, message(4)],
      [/message .* another state/, { ...stored, attempt: 2 }],
      [/checkpoint "c": .*another position/, { kind: 'checkpoint', consumer: 'c', position: 21n, updatedAt: T0 }],
      [/version must follow/, event('t', 3, 40n)],
      [/stream must be imported first/, event('s', 3, 40n)],
    ];
    for (const [pattern, bad] of conflicts) {
      const error = await store.transfer.import([...fresh, bad]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(pattern) });
      expect((error as Error).message).not.toContain('secret');
      expect(dump(store)).toEqual(before);
    }
  });

  it('later appends and sends come after imported positions and seqs', async () => {
    const store = await open();
    const far = 2n ** 40n;
    await store.transfer.import([stream('s', 1), event('s', 1, far), message(500), message(900, { queue: 'other' })]);
    store.client.exec('DELETE FROM strata_queue_messages WHERE seq = 900'); // acked since: the sequence still remembers it
    const appended = await store.events.append('s', [{ type: 'Next', data: {} }], { expectedVersion: 1 });
    expect(appended.firstPosition).toBe(far + 1n);
    expect(appended.version).toBe(2);
    const [id] = await store.queue.send('q', { body: 'new' });
    const seq = store.client.prepare('SELECT seq FROM strata_queue_messages WHERE id = ?').pluck().get(id) as number;
    expect(seq).toBe(901);
    const got = await store.queue.receive('q', { max: 2, visibilityTimeoutMs: 60_000 });
    expect(got.map((d) => d.body)).toEqual([{ seq: 500 }, 'new']);
  });

  it('inside store.transaction() commits and rolls back with it; a refusal leaves its other writes alone', async () => {
    const store = await open();
    const records = [stream('s', 2), event('s', 1, 10n), event('s', 2, 20n)];
    await expect(
      store.transaction(async (tx) => {
        await tx.transfer.import(records);
        expect(await tx.transfer.counts()).toMatchObject({ stream: 1, event: 2 });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await store.transfer.counts()).toMatchObject({ stream: 0, event: 0 });

    await store.transaction(async (tx) => {
      await tx.events.append('other', [{ type: 'A', data: {} }]);
      await expect(tx.transfer.import([stream('t', 1), event('t', 1, 1n)])).rejects.toMatchObject({ code: 'VALIDATION' });
      await tx.transfer.import([stream('t', 1), event('t', 1, 5n)]);
    });
    expect(await store.transfer.counts()).toMatchObject({ stream: 2, event: 2 });
    expect(await store.events.streamInfo('t')).toMatchObject({ version: 1 });
  });
});
