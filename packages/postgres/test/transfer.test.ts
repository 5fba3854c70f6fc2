import { randomUUID } from 'node:crypto';
import {
  canonicalJson,
  canonicalRecord,
  compareNames,
  type EventRecord,
  isStrataError,
  type MessageRecord,
  type RecordBatch,
  type SnapshotRecord,
  type StrataErrorCode,
  type StrataRecord,
  type StreamRecord,
} from '@strata/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresStore, type PostgresStore } from '../src/index.js';
import { MAX_PG_JSON_EXPONENT, MAX_PG_JSON_SCALE, MIN_PG_TIME_MS } from '../src/transfer.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase(8);
const open: PostgresStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function store(): Promise<PostgresStore> {
  const s = await createPostgresStore(fx.db, { schema: fx.schemaName() });
  open.push(s);
  return s;
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
async function exportAll(s: PostgresStore, batchSize = 1000): Promise<StrataRecord[]> {
  return (await collect(s.transfer.export({ batchSize }))).flatMap((b: RecordBatch) => [...b.records]);
}
async function rejection(p: Promise<unknown>, code: StrataErrorCode): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isStrataError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
  return e as Error;
}
function latch<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const T0 = Date.UTC(2020, 0, 1);
const stream = (over: Partial<StreamRecord> = {}): StreamRecord => ({ kind: 'stream', streamId: 's', version: 3, createdAt: T0, updatedAt: T0 + 1, ...over });
const event = (over: Partial<EventRecord> = {}): EventRecord => ({
  kind: 'event',
  position: 10n,
  streamId: 's',
  version: 1,
  id: randomUUID(),
  type: 'Imported',
  schemaVersion: 1,
  data: '{"n":1}',
  metadata: '{}',
  recordedAt: T0,
  ...over,
});
const snapshot = (over: Partial<SnapshotRecord> = {}): SnapshotRecord => ({
  kind: 'snapshot',
  streamId: 's',
  version: 1,
  state: '{}',
  schemaVersion: 1,
  createdAt: T0,
  ...over,
});
const message = (over: Partial<MessageRecord> = {}): MessageRecord => ({
  kind: 'message',
  id: randomUUID(),
  queue: 'q',
  seq: 7,
  body: '{"b":1}',
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

/** Whether the server itself takes `text` as jsonb. */
async function serverTakesJsonb(text: string): Promise<boolean> {
  try {
    await fx.pool.query('select $1::jsonb', [text]);
    return true;
  } catch (error) {
    expect((error as { code?: string }).code).toBe('22003'); // numeric value out of range
    return false;
  }
}

/** Whether the server itself takes `ms` (epoch milliseconds) as a timestamptz. */
async function serverTakesTime(ms: number): Promise<boolean> {
  try {
    await fx.pool.query(`select 'epoch'::timestamptz + $1::float8 * interval '1 millisecond'`, [ms]);
    return true;
  } catch (error) {
    expect((error as { code?: string }).code).toBe('22008'); // datetime field overflow
    return false;
  }
}

describe('check() reports what PostgreSQL cannot store, as the server decides', () => {
  // [what, the number as JSON text, whether PostgreSQL stores it]
  const numbers: [string, string, boolean][] = [
    ['the largest exponent', `1e${MAX_PG_JSON_EXPONENT}`, true],
    ['a negative number at the largest exponent', `-9.9e${MAX_PG_JSON_EXPONENT}`, true],
    ['the largest exponent, written with a fraction', `0.5e${MAX_PG_JSON_EXPONENT + 1}`, true],
    ['one past the largest exponent', `1e${MAX_PG_JSON_EXPONENT + 1}`, false],
    ['one past the largest exponent, written 10e…', `10e${MAX_PG_JSON_EXPONENT}`, false],
    ['131073 digits before the point', `1${'0'.repeat(MAX_PG_JSON_EXPONENT + 1)}`, false],
    ['the largest scale, as an exponent', `1e-${MAX_PG_JSON_SCALE}`, true],
    ['one past the largest scale, as an exponent', `1e-${MAX_PG_JSON_SCALE + 1}`, false],
    ['one past the largest scale, as a fraction and an exponent', `1.5e-${MAX_PG_JSON_SCALE}`, false],
    ['1e-20000', '1e-20000', false],
    ['the largest scale, as trailing zeros', `1.${'0'.repeat(MAX_PG_JSON_SCALE)}`, true],
    ['one past the largest scale, as trailing zeros', `1.${'0'.repeat(MAX_PG_JSON_SCALE + 1)}`, false],
    ['the largest scale, as trailing zeros and a 4-digit exponent', `1.${'0'.repeat(MAX_PG_JSON_SCALE - 9999)}e-9999`, true],
    ['one past the largest scale, as trailing zeros and a 4-digit exponent', `1.${'0'.repeat(MAX_PG_JSON_SCALE - 9998)}e-9999`, false],
    ['zero at the largest scale', `0e-${MAX_PG_JSON_SCALE}`, true],
    ['zero one past the largest scale', `0e-${MAX_PG_JSON_SCALE + 1}`, false],
    ['zero with a huge exponent', '0e1000000', true],
    ['1e1000000', '1e1000000', false],
    ['an integer wider than a double', '12345678901234567890', true],
  ];

  it.each(numbers)('a JSON number: %s (storable: %s)', async (_what, n, storable) => {
    const s = await store();
    const text = `{"a":[1,"1e-99999",{"x":${n}}]}`;
    expect(await serverTakesJsonb(text)).toBe(storable);
    const problems = await s.transfer.check([stream({ version: 1 }), event({ data: text, version: 1 })]);
    if (storable) {
      expect(problems).toEqual([]);
      await s.transfer.import([stream({ version: 1 }), event({ data: text, version: 1 })]);
      const [stored] = (await exportAll(s)).filter((r): r is EventRecord => r.kind === 'event');
      expect(canonicalJson(stored?.data ?? '')).toBe(canonicalJson(text));
    } else {
      expect(problems).toHaveLength(1);
      const [p] = problems;
      expect(p).toMatchObject({ kind: 'event', streamId: 's', version: 1, position: 10n, field: 'data' });
      expect(p?.reason).toMatch(/PostgreSQL's numeric/);
      expect(p?.key).toBe('event at position 10 (stream "s" version 1)');
      expect(JSON.stringify(p, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(n.slice(0, 12));
      await rejection(s.transfer.import([stream({ version: 1 }), event({ data: text, version: 1 })]), 'VALIDATION');
      expect(await s.transfer.counts()).toEqual({ stream: 0, event: 0, snapshot: 0, message: 0, checkpoint: 0 });
    }
  });

  it('reports numbers of every JSON field: metadata, state, body, headers stay out (strings)', async () => {
    const s = await store();
    const big = `1e${MAX_PG_JSON_EXPONENT + 1}`;
    const problems = await s.transfer.check([
      event({ metadata: `{"m":${big}}` }),
      snapshot({ state: `[${big}]`, version: 4 }),
      message({ body: `{"b":-${big}}` }),
      message({ headers: `{"h":"${big}"}` }),
    ]);
    expect(problems.map((p) => [p.kind, p.field, p.version])).toEqual([
      ['event', 'metadata', 1],
      ['snapshot', 'state', 4],
      ['message', 'body', undefined],
    ]);
  });

  it('reports instants before timestamptz’s range in every time field; the range ends agree with the server', async () => {
    const s = await store();
    expect(await serverTakesTime(MIN_PG_TIME_MS)).toBe(true);
    expect(await serverTakesTime(MIN_PG_TIME_MS - 1)).toBe(false);
    expect(await serverTakesTime(8_640_000_000_000_000)).toBe(true);
    const early = MIN_PG_TIME_MS - 1;
    const problems = await s.transfer.check([
      stream({ createdAt: early }),
      event({ recordedAt: early, version: 2, position: 11n }),
      snapshot({ createdAt: early }),
      message({ visibleAt: early, enqueuedAt: early, deadLetteredAt: early, dead: true }),
      { kind: 'checkpoint', consumer: 'c', position: 1n, updatedAt: early },
    ]);
    expect(problems.map((p) => `${p.kind}.${p.field}`)).toEqual([
      'stream.createdAt',
      'event.recordedAt',
      'snapshot.createdAt',
      'message.visibleAt',
      'message.enqueuedAt',
      'message.deadLetteredAt',
      'checkpoint.updatedAt',
    ]);
    expect(problems[1]).toMatchObject({ streamId: 's', version: 2, position: 11n });
    expect(problems[1]?.reason).toMatch(/4714-11-24 BC/);
    expect(problems.some((p) => p.reason.includes(String(early)))).toBe(false);
  });

  it('stores the ends of the range to the millisecond and exports them exactly', async () => {
    const s = await store();
    const times = [MIN_PG_TIME_MS, -1, 0, 1_700_000_000_123, 8_639_999_999_999_999, 8_640_000_000_000_000, 6_000_000_000_000_001];
    expect(await s.transfer.check(times.map((t, i) => message({ seq: i + 1, visibleAt: t, enqueuedAt: t })))).toEqual([]);
    await s.transfer.import(times.map((t, i) => message({ seq: i + 1, visibleAt: t, enqueuedAt: t })));
    const back = (await exportAll(s)).filter((r): r is MessageRecord => r.kind === 'message');
    expect(back.map((m) => [m.visibleAt, m.enqueuedAt])).toEqual(times.map((t) => [t, t]));
  });
});

describe('import keeps positions gap-safe', () => {
  it('refuses a position at or above the current ceiling, naming it, and writes nothing', async () => {
    const s = await store();
    const ceiling = await s.positionCeiling();
    expect(ceiling % 1_048_576n).toBe(0n);
    expect(ceiling).toBeGreaterThan(0n);
    const [row] = (await fx.pool.query<{ x: string }>('select pg_snapshot_xmin(pg_current_snapshot())::text as x')).rows;
    expect(ceiling).toBeLessThanOrEqual(BigInt(row?.x ?? '0') * 1_048_576n);

    const high = ceiling + 5n;
    const e = await rejection(
      s.transfer.import([stream({ version: 2 }), event({ position: 10n }), event({ position: high, version: 2, data: '{"secret":1}' })]),
      'VALIDATION',
    );
    expect(e.message).toContain(`event at position ${high} (stream "s" version 2)`);
    expect(e.message).toMatch(/transaction id × 2\^20/);
    expect(e.message).not.toContain('secret');
    expect(await s.rowCounts()).toEqual({ events: 0, streams: 0, messages: 0, snapshots: 0, checkpoints: 0 });
    // Just below the ceiling is fine.
    await s.transfer.import([stream({ version: 1 }), event({ position: ceiling - 1n })]);
    expect((await collect(s.events.readAll())).map((x) => x.position)).toEqual([ceiling - 1n]);
    expect(await s.positionCeiling()).toBeGreaterThanOrEqual(ceiling);
  });

  it('imported events are read at once, even past an older open transaction, and later appends come after them', async () => {
    const s = await store();
    await s.events.append('before', [{ type: 'Before', data: {} }]);
    const head = await s.events.headPosition();
    // An older transaction holds an id (it sent a message) and appends only after the import commits.
    const started = latch();
    const imported = latch();
    const gate = latch();
    let late = 0n;
    const older = s.transaction(async (tx) => {
      await tx.queue.send('q', { body: 'takes an id' });
      started.resolve();
      await imported.promise;
      late = (await tx.events.append('late', [{ type: 'Late', data: {} }])).firstPosition;
      await gate.promise;
    });
    await started.promise;
    const ceiling = await s.positionCeiling();
    const position = ceiling - 100n;
    expect(position).toBeGreaterThan(head);
    await s.transfer.import([stream({ version: 1 }), event({ position })]);
    expect((await collect(s.events.readAll({ after: head }))).map((e) => e.position)).toEqual([position]);
    imported.resolve();
    gate.resolve();
    await older;
    expect(late).toBeGreaterThan(position);
    const next = await s.events.append('s', [{ type: 'After', data: {} }], { expectedVersion: 1 });
    expect(next.firstPosition).toBeGreaterThan(position);
    expect((await collect(s.events.readAll({ after: head }))).map((e) => [e.streamId, e.position])).toEqual([
      ['s', position],
      ['late', late],
      ['s', next.firstPosition],
    ]);
  });

  it('waits for an append in flight, then refuses positions behind it', async () => {
    const s = await store();
    const appended = latch();
    const gate = latch();
    const inFlight = s.transaction(async (tx) => {
      await tx.events.append('a', [{ type: 'A', data: {} }]);
      appended.resolve();
      await gate.promise;
    });
    await appended.promise;
    let settled = false;
    const importing = s.transfer.import([stream({ version: 1 }), event({ position: 10n })]).finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    gate.resolve();
    await inFlight;
    const e = await rejection(importing, 'VALIDATION');
    expect(e.message).toMatch(/position 10 .*not after the last stored event's/);
  });
});

describe('import writes what it is given, exactly', () => {
  it('continues the queue sequence after imported messages', async () => {
    const s = await store();
    await s.transfer.import([message({ seq: 1000 }), message({ seq: 5000, queue: 'other' })]);
    await s.queue.send('q', { body: 'after' });
    await expect(s.transfer.import([message({ seq: 4000 })])).rejects.toThrow(/seq is not after/);
    const messages = (await exportAll(s)).filter((r): r is MessageRecord => r.kind === 'message');
    expect(messages.map((m) => m.seq).slice(0, 2)).toEqual([1000, 5000]);
    expect(messages[2]?.seq).toBeGreaterThan(5000);
    expect(messages[2]?.body).toBe('"after"');
    const got = await s.queue.receive('q', { max: 5, visibilityTimeoutMs: 60_000 });
    expect(got.map((d) => d.body)).toEqual([{ b: 1 }, 'after']);
  });

  it('keeps a JSON number wider than a double digit for digit', async () => {
    const s = await store();
    const data = '{"big": 12345678901234567890, "small": 0.100000000000000000000001, "neg": -98765432109876543210.5}';
    await s.transfer.import([stream({ version: 1 }), event({ data })]);
    const [e] = (await exportAll(s)).filter((r): r is EventRecord => r.kind === 'event');
    expect(e?.data).toBe('{"big": 12345678901234567890, "neg": -98765432109876543210.5, "small": 0.100000000000000000000001}');
    expect(canonicalJson(e?.data ?? '')).toBe(canonicalJson(data));
    // Importing the exported text again is a skip: the stored value is the same.
    expect(await s.transfer.import([stream({ version: 1 }), event({ id: e?.id ?? '', data: e?.data ?? '' })])).toEqual({ written: 0, skipped: 2 });
  });

  it('round-trips every kind between two schemas of one database, names in bytewise order', async () => {
    const source = await store();
    const names = ['b', 'B', 'a', '_x', 'é', 'Z', 'a b', 'a-b', '\u{1f600}'];
    for (const n of names) {
      await source.events.append(n, [
        { type: 'T', data: { n, big: 1.5, list: [null, true] }, metadata: { correlationId: `c-${n}` } },
        { type: 'U', data: null },
      ]);
      await source.snapshots.save(n, { version: 1, state: { n } });
      await source.snapshots.save(n, { version: 2, state: [n] });
      await source.checkpoints.set(n, 1n);
    }
    await source.queue.send('q', [
      { body: 1, headers: { h: 'x' } },
      { body: 2, priority: 3 },
    ]);
    await source.queue.send('q', { body: 3, dedupId: 'd' }, { delayMs: 3_600_000 });
    const [d] = await source.queue.receive('q', { max: 1, visibilityTimeoutMs: 60_000 });
    expect(d).toBeDefined();

    const batches = await collect(source.transfer.export({ batchSize: 4 }));
    const records = batches.flatMap((b) => [...b.records]);
    const sorted = [...names].sort(compareNames);
    expect(records.filter((r) => r.kind === 'stream').map((r) => (r as StreamRecord).streamId)).toEqual(sorted);
    expect(records.filter((r) => r.kind === 'snapshot').map((r) => [(r as SnapshotRecord).streamId, (r as SnapshotRecord).version])).toEqual(
      sorted.flatMap((n) => [
        [n, 1],
        [n, 2],
      ]),
    );
    expect(records.filter((r) => r.kind === 'checkpoint').map((r) => (r as { consumer: string }).consumer)).toEqual(sorted);

    const target = await store();
    let written = 0;
    for (const b of batches) written += (await target.transfer.import(b.records)).written;
    expect(written).toBe(records.length);
    expect((await exportAll(target)).map(canonicalRecord)).toEqual(records.map(canonicalRecord));
    expect(await target.transfer.counts()).toEqual(await source.transfer.counts());
    expect(await target.rowCounts()).toEqual(await source.rowCounts());
    // Resuming from a cursor in the middle of the snapshots gives the rest.
    const mid = batches.findIndex((b) => b.kind === 'snapshot') + 1;
    const rest = await collect(source.transfer.export({ after: batches[mid]?.cursor ?? '', batchSize: 7 }));
    expect(rest.flatMap((b) => [...b.records]).map(canonicalRecord)).toEqual(batches.slice(mid + 1).flatMap((b) => [...b.records].map(canonicalRecord)));
  });

  it('an import inside a rolled-back transaction leaves nothing; inside a committed one, it stays', async () => {
    const s = await store();
    const records = [
      stream({ version: 1 }),
      event(),
      message({ seq: 9 }),
      snapshot(),
      { kind: 'checkpoint' as const, consumer: 'c', position: 10n, updatedAt: T0 },
    ];
    await expect(
      s.transaction(async (tx) => {
        expect(await tx.transfer.import(records)).toEqual({ written: 5, skipped: 0 });
        expect(await tx.transfer.counts()).toEqual({ stream: 1, event: 1, snapshot: 1, message: 1, checkpoint: 1 });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await s.rowCounts()).toEqual({ events: 0, streams: 0, messages: 0, snapshots: 0, checkpoints: 0 });
    // The rollback kept the sequence where the import moved it (sequences are not transactional):
    // importing the same message again still works.
    await fx.db.transaction(async (tx) => {
      await s.join(tx).transfer.import(records);
    });
    expect(await s.transfer.import(records)).toEqual({ written: 0, skipped: 5 });
  });

  it('a refused import inside a transaction writes nothing of its own', async () => {
    const s = await store();
    await s.transfer.import([stream({ version: 1 }), event()]);
    await s.transaction(async (tx) => {
      await rejection(tx.transfer.import([stream({ streamId: 'new', version: 1 }), event({ position: 10n, data: '{"other":1}' })]), 'VALIDATION');
    });
    expect(await s.events.streamInfo('new')).toBeNull();
  });

  it('reports a correlation id too long for its index, and the import refuses it, writing nothing', async () => {
    // PostgreSQL compresses index entries first, so whether a long one fits depends on its content:
    // check() reports every correlationId over 2600 bytes rather than let the import fail half-way.
    const s = await store();
    const noise = Array.from({ length: 120 }, () => randomUUID().replaceAll('-', '')).join('');
    const long = event({ metadata: JSON.stringify({ correlationId: noise }) });
    const compressible = event({ position: 11n, version: 2, metadata: JSON.stringify({ correlationId: 'a'.repeat(100_000) }) });
    const problems = await s.transfer.check([stream({ version: 2 }), long, compressible]);
    expect(problems.map((p) => [p.version, p.field])).toEqual([
      [1, 'metadata'],
      [2, 'metadata'],
    ]);
    expect(problems[0]?.reason).toMatch(/correlationId of more than 2600 bytes/);
    expect(problems.map((p) => `${p.key} ${p.field} ${p.reason}`).join()).not.toContain(noise.slice(0, 16));
    const e = await rejection(s.transfer.import([stream({ version: 2 }), long, compressible]), 'VALIDATION');
    expect(e.message).not.toContain(noise.slice(0, 16));
    expect(await s.rowCounts()).toEqual({ events: 0, streams: 0, messages: 0, snapshots: 0, checkpoints: 0 });
    // At the limit it is stored, and read by its correlation id.
    const fits = 'b'.repeat(2600);
    await s.transfer.import([stream({ version: 1 }), event({ metadata: JSON.stringify({ correlationId: fits }) })]);
    expect((await collect(s.events.readAll({ correlationId: fits }))).length).toBe(1);
  });

  it('rejects calls on a closed store', async () => {
    const s = await store();
    await s.close();
    await rejection(s.positionCeiling(), 'CLOSED');
    await rejection(s.transfer.import([stream()]), 'CLOSED');
  });

  it('resumes checkpoints after a cursor bytewise, whatever the database collation', async () => {
    const s = await store();
    await s.transfer.import(['b', 'B', 'a'].map((c) => ({ kind: 'checkpoint' as const, consumer: c, position: 1n, updatedAt: T0 })));
    const [batch] = await collect(s.transfer.export({ batchSize: 2, after: '["strata-export-1","checkpoint","B"]' }));
    expect(batch?.records.map((r) => (r as { consumer: string }).consumer)).toEqual(['a', 'b']);
  });
});
