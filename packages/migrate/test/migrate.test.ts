import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalRecord, consume, isStrataError, type StoredEvent, type StrataRecord, type StrataStore, subscribe } from '@strata/core';
import { createPgliteStore } from '@strata/pglite';
import { createPostgresStore, type PostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { waitFor } from '@strata/testing';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { type MigrationProgress, migrate, verifyMigration } from '../src/index.js';
import { buildSource, fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function exported(store: StrataStore): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.transfer.export()) for (const r of b.records) out.push(canonicalRecord(r as StrataRecord));
  return out;
}

async function withStores<T>(path: string, schema: string, fn: (source: StrataStore, target: PostgresStore) => Promise<T>): Promise<T> {
  const source = await createSqliteStore(path);
  const target = await createPostgresStore(fx.url, { schema, migrate: false });
  try {
    return await fn(source, target);
  } finally {
    await source.close();
    await target.close();
  }
}

const time = (e: { recordedAt: Date }) => ({ ...e, recordedAt: e.recordedAt.getTime() });

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Writes a stream with one event whose columns are given raw, as older code or a hand edit could have. */
function rawEvent(path: string, streamId: string, data: string, position?: number | bigint): void {
  const db = new Database(path);
  try {
    const at = Date.UTC(2024, 0, 1);
    db.prepare('insert into strata_streams (stream_id, version, created_at, updated_at) values (?, 1, ?, ?)').run(streamId, at, at);
    db.prepare(
      `insert into strata_events (position, stream_id, version, event_id, type, schema_version, data, metadata, correlation_id, recorded_at)
       values (?, ?, 1, ?, 'Raw', 1, ?, '{}', null, ?)`,
    ).run(position ?? null, streamId, crypto.randomUUID(), data, at);
  } finally {
    db.close();
  }
}

describe('migrate: SQLite to PostgreSQL', () => {
  it('moves every kind of record in every state; the target reads as the source did, and the hashes match', async () => {
    const path = fx.file('full');
    await buildSource(path);
    const schema = fx.schemaName();
    const progress: MigrationProgress[] = [];
    const report = await migrate({ from: path, to: fx.url, schema, batchSize: 7, onProgress: (p) => progress.push(p), verify: true });
    expect(report.outcome).toBe('migrated');
    expect(report.written).toEqual(report.source);
    expect(report.source).toMatchObject({ stream: 5, event: 23, snapshot: 2, checkpoint: 2 });
    expect(report.source.message).toBeGreaterThanOrEqual(5);
    expect(report.verification?.ok).toBe(true);
    expect(report.verification?.streamsCompared).toBe(5);
    expect(progress.at(-1)).toMatchObject({ phase: 'copying', done: progress.at(-1)?.total });
    const copying = progress.filter((p) => p.phase === 'copying').map((p) => p.done);
    expect(copying).toEqual([...copying].sort((a, b) => a - b));
    expect(progress.filter((p) => p.phase === 'scanning').at(-1)?.done).toBe(progress.at(-1)?.total);

    await withStores(path, schema, async (source, target) => {
      expect((await collect(target.events.readAll())).map(time)).toEqual((await collect(source.events.readAll())).map(time));
      for (const id of ['order-0', 'order-3', 'late']) {
        expect((await collect(target.events.readStream(id, { direction: 'backward' }))).map(time)).toEqual(
          (await collect(source.events.readStream(id, { direction: 'backward' }))).map(time),
        );
        expect(await target.events.streamInfo(id)).toEqual(await source.events.streamInfo(id));
      }
      expect((await collect(target.events.readAll({ correlationId: 'c-2' }))).length).toBe(5);
      expect(await target.snapshots.load('order-0', { maxVersion: 3 })).toEqual(await source.snapshots.load('order-0', { maxVersion: 3 }));
      expect(await target.checkpoints.list()).toEqual(await source.checkpoints.list());
      for (const q of ['jobs', 'mail']) {
        expect({ ...(await target.queue.stats(q)), oldestReadyAgeMs: 0 }).toEqual({ ...(await source.queue.stats(q)), oldestReadyAgeMs: 0 });
        expect(await target.queue.deadLetters(q)).toEqual(await source.queue.deadLetters(q));
      }
      expect(await exported(target)).toEqual(await exported(source));
    });
    const again = await verifyMigration({ from: path, to: fx.url, schema });
    expect(again).toMatchObject({ ok: true, mismatchCount: 0, streamMismatchCount: 0 });
  });

  it('lets the named consumer and the queue worker carry on in PostgreSQL exactly where they stopped in SQLite', async () => {
    const path = fx.file('carry-on');
    const facts = await buildSource(path);
    const schema = fx.schemaName();
    await migrate({ from: path, to: fx.url, schema });
    const store = await createPostgresStore(fx.url, { schema });
    try {
      const imported = await collect(store.events.readAll());
      const after = await store.events.append('after', [{ type: 'AfterMove', data: {} }]);
      expect(after.firstPosition > (imported.at(-1)?.position ?? 0n)).toBe(true);
      const seen: StoredEvent[] = [];
      const sub = subscribe(store, { from: { consumer: 'projector' }, handler: (e) => void seen.push(e) });
      await waitFor(() => seen.length === facts.unhandled.length + 1, 'the projector to catch up on PostgreSQL');
      await sub.stop();
      expect(seen.map((e) => e.id)).toEqual([...facts.unhandled, (await collect(store.events.readStream('after')))[0]?.id]);

      // The worker gets the jobs left, highest priority first; the delivery in flight on SQLite is
      // acknowledged with its receipt.
      const stop = new AbortController();
      const bodies: unknown[] = [];
      const worker = consume(
        store,
        'jobs',
        async (m) => {
          bodies.push(m.body);
          if (bodies.length === facts.jobsLeft.length) stop.abort();
        },
        { concurrency: 1, signal: stop.signal },
      );
      await worker;
      expect([...bodies].sort()).toEqual([...facts.jobsLeft].sort());
      expect((await store.queue.stats('jobs')).ready).toBe(0);
      await store.queue.ack(facts.inFlightReceipt);
      const mail = await store.queue.stats('mail');
      expect(mail).toMatchObject({ inFlight: 0, delayed: 1, deadLettered: 1 });
      const [dedup] = await store.queue.send('mail', { body: { to: 'later' }, dedupId: 'welcome-1' });
      const delayed = (await collect(store.transfer.export())).flatMap((b) => [...b.records]).find((r) => r.kind === 'message' && r.dedupId === 'welcome-1');
      expect(dedup).toBe(delayed?.kind === 'message' ? delayed.id : undefined);
    } finally {
      await store.close();
    }
  });

  it('changes nothing when run again after it finished', async () => {
    const path = fx.file('twice');
    await buildSource(path, { streams: 2, eventsPerStream: 2 });
    const schema = fx.schemaName();
    const first = await migrate({ from: path, to: fx.url, schema });
    const before = await withStores(path, schema, (_, target) => exported(target));
    const second = await migrate({ from: path, to: fx.url, schema, resume: true });
    expect(second.outcome).toBe('already-migrated');
    expect(second.written).toEqual(first.written);
    expect(await withStores(path, schema, (_, target) => exported(target))).toEqual(before);
  });

  it('refuses a target holding Strata data that no run of this source wrote, writing nothing', async () => {
    const path = fx.file('unrelated');
    await buildSource(path, { streams: 1, eventsPerStream: 1 });
    const schema = fx.schemaName();
    const other = await createPostgresStore(fx.url, { schema });
    await other.events.append('someone-else', [{ type: 'Theirs', data: {} }]);
    await other.close();
    const error = await caught(migrate({ from: path, to: fx.url, schema }));
    expect(isStrataError(error, 'MIGRATION')).toBe(true);
    expect(error.message).toMatch(/already holds Strata data \(1 stream, 1 event\).*nothing was written/);
    const { rows } = await fx.pool.query(`select to_regclass($1) as t`, [`${schema}.migrate_state`]);
    expect(rows[0].t).toBeNull();
    // Nor may another source continue a migration it did not start.
    const mine = fx.schemaName();
    await migrate({ from: path, to: fx.url, schema: mine });
    const second = fx.file('second-source');
    await buildSource(second, { streams: 1, eventsPerStream: 3 });
    const refusal = await caught(migrate({ from: second, to: fx.url, schema: mine, resume: true }));
    expect(refusal.message).toMatch(/holds a migration of another source/);
  });

  it('refuses, before writing anything, a source position PostgreSQL could not keep below its own', async () => {
    const path = fx.file('far');
    await buildSource(path, { streams: 1, eventsPerStream: 1 });
    rawEvent(path, 'far', '{}', 2n ** 50n);
    const schema = fx.schemaName();
    const error = await caught(migrate({ from: path, to: fx.url, schema }));
    expect(isStrataError(error, 'MIGRATION')).toBe(true);
    expect(error.message).toContain(`cannot keep position ${2n ** 50n} (stream "far" version 1)`);
    expect(error.message).toContain('Nothing was written');
    const { rows } = await fx.pool.query('select count(*)::int as n from information_schema.schemata where schema_name = $1', [schema]);
    expect(rows[0].n).toBe(0); // not even the schema
  });

  it('stops before a batch holding rows PostgreSQL cannot store, naming each; or skips them into a report', async () => {
    const path = fx.file('unstorable');
    await buildSource(path, { streams: 2, eventsPerStream: 2 });
    rawEvent(path, 'bad-nul', '{"s":"card 4111\\u0000"}');
    rawEvent(path, 'bad-json', '{"s":"card 4111"');
    rawEvent(path, 'bad-number', '{"n":1e200000}');
    const schema = fx.schemaName();
    const error = await caught(migrate({ from: path, to: fx.url, schema, batchSize: 1000 }));
    expect(isStrataError(error, 'MIGRATION')).toBe(true);
    expect(error.message).toContain('stream "bad-nul" version 1');
    expect(error.message).toContain('stream "bad-json" version 1');
    expect(error.message).toContain('stream "bad-number" version 1');
    expect(error.message).toMatch(/U\+0000/);
    expect(error.message).not.toContain('4111');
    expect(error.message).toContain('nothing was written');
    const { rows } = await fx.pool.query('select count(*)::int as n from information_schema.schemata where schema_name = $1', [schema]);
    expect(rows[0].n).toBe(0); // not even the schema

    const report = fx.file('skipped').replace(/\.db$/, '.jsonl');
    const result = await migrate({ from: path, to: fx.url, schema, skipUnstorableTo: report });
    expect(result.outcome).toBe('migrated');
    expect(result.skipped).toMatchObject({ stream: 3, event: 3 });
    const lines = readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const events = lines.filter((l) => l.record.kind === 'event');
    expect(events.map((l) => l.record.streamId).sort()).toEqual(['bad-json', 'bad-nul', 'bad-number']);
    expect(events.find((l) => l.record.streamId === 'bad-json').record.data).toBe('{"s":"card 4111"');
    expect(events.every((l) => l.problems.length > 0 && l.problems[0].field === 'data')).toBe(true);
    await withStores(path, schema, async (_, target) => {
      expect(await target.events.streamInfo('bad-nul')).toBeNull();
      expect(await target.events.streamInfo('order-1')).not.toBeNull();
    });
    // Verification knows what the run left out on purpose: not differences, but counted.
    const check = await verifyMigration({ from: path, to: fx.url, schema });
    expect(check).toMatchObject({ ok: true, mismatchCount: 0, excluded: 6, migration: 'finished' });
  });

  it('continues an aborted run only when asked, and ends with the target an uninterrupted run makes', async () => {
    const path = fx.file('resume');
    await buildSource(path, { streams: 3, eventsPerStream: 6 });
    const schema = fx.schemaName();
    const stop = new AbortController();
    const error = await caught(
      migrate({
        from: path,
        to: fx.url,
        schema,
        batchSize: 4,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.phase === 'copying' && p.done >= 8) stop.abort();
        },
      }),
    );
    expect(error.message).toMatch(/aborted after 8 of \d+ records/);
    const refused = await caught(migrate({ from: path, to: fx.url, schema }));
    expect(refused.message).toMatch(/interrupted migration \(.*written\); run it again with --resume \(resume: true\)/);
    const resumed = await migrate({ from: path, to: fx.url, schema, resume: true });
    expect(resumed).toMatchObject({ outcome: 'migrated', resumed: true });
    expect(resumed.written).toEqual(resumed.source);
    const straight = fx.schemaName();
    await migrate({ from: path, to: fx.url, schema: straight });
    const a = await withStores(path, schema, (_, t) => exported(t));
    const b = await withStores(path, straight, (_, t) => exported(t));
    expect(a).toEqual(b);
    expect((await verifyMigration({ from: path, to: fx.url, schema })).ok).toBe(true);
  });

  it('never writes to the source: the file is byte for byte the same after a dry run, a migration and a verification', async () => {
    const path = fx.file('untouched');
    await buildSource(path, { streams: 2, eventsPerStream: 2 });
    const db = new Database(path);
    db.pragma('journal_mode = DELETE'); // as a file copied from elsewhere may be
    db.close();
    const digest = () => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = digest();
    const schema = fx.schemaName();
    await migrate({ from: path, to: fx.url, schema, dryRun: true });
    await migrate({ from: path, to: fx.url, schema });
    await verifyMigration({ from: path, to: fx.url, schema });
    expect(digest()).toBe(before);
  });

  it('refuses to resume once the source changed in a way its counts do not show', async () => {
    const path = fx.file('changed');
    await buildSource(path, { streams: 2, eventsPerStream: 2 });
    const schema = fx.schemaName();
    const stop = new AbortController();
    await caught(migrate({ from: path, to: fx.url, schema, batchSize: 2, signal: stop.signal, onProgress: (p) => p.phase === 'copying' && stop.abort() }));
    // A nack moves a message's state; counts, head position and first event stay the same.
    const store = await createSqliteStore(path);
    await store.queue.send('more', { body: 1 });
    const [d] = await store.queue.receive('more', { visibilityTimeoutMs: 60_000 });
    await store.queue.nack(d?.receipt ?? '', { reason: 'changed' });
    await store.close();
    const error = await caught(migrate({ from: path, to: fx.url, schema, resume: true }));
    expect(error.message).toMatch(/holds a migration of another source, or of this source before it changed; nothing was written/);
  });

  it('refuses a source whose streams have missing versions or no stream row, naming them (the target could not take them in order)', async () => {
    const path = fx.file('holes');
    await buildSource(path, { streams: 2, eventsPerStream: 3 });
    const db = new Database(path);
    db.prepare("delete from strata_events where stream_id = 'order-1' and version = 2").run();
    db.prepare("delete from strata_streams where stream_id = 'order-0'").run();
    db.close();
    const report = await migrate({ from: path, to: fx.url, schema: fx.schemaName(), dryRun: true });
    expect(report.problems.map((p) => [p.streamId, p.version, p.field])).toEqual(
      expect.arrayContaining([
        ['order-1', 3, 'version'],
        ['order-0', 3, 'streamId'],
      ]),
    );
    const error = await caught(migrate({ from: path, to: fx.url, schema: fx.schemaName() }));
    expect(error.message).toMatch(/stream "order-1" version 3\): version does not follow the stream's previous version \(1\)/);
  });

  it('stops a second run into the same schema at once, with a clear error', async () => {
    const path = fx.file('twice-at-once');
    await buildSource(path, { streams: 4, eventsPerStream: 10 });
    const schema = fx.schemaName();
    const results = await Promise.allSettled([
      migrate({ from: path, to: fx.url, schema, batchSize: 3 }),
      migrate({ from: path, to: fx.url, schema, batchSize: 3 }),
    ]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed)
      expect(f.reason.message).toMatch(/another migration into schema .* is running|already holds Strata data|holds an interrupted migration/);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    const finish = await migrate({ from: path, to: fx.url, schema, resume: true });
    expect(['migrated', 'already-migrated']).toContain(finish.outcome);
    expect((await verifyMigration({ from: path, to: fx.url, schema })).ok).toBe(true);
  });

  it('stops while reading the source when aborted by a timer or a signal handler (the scan lets the event loop run)', async () => {
    const path = fx.file('abort-scan');
    await buildSource(path, { streams: 2, eventsPerStream: 5 });
    const schema = fx.schemaName();
    const stop = new AbortController();
    let scheduled = false;
    const error = await caught(
      migrate({
        from: path,
        to: fx.url,
        schema,
        batchSize: 1,
        signal: stop.signal,
        onProgress: (p) => {
          // What a SIGINT handler does: abort from a callback of its own, not from inside the scan.
          if (p.phase === 'scanning' && !scheduled) {
            scheduled = true;
            setTimeout(() => stop.abort(), 0);
          }
        },
      }),
    );
    expect(error.message).toMatch(/aborted while reading the source; nothing was written/);
    const { rows } = await fx.pool.query('select count(*)::int as n from information_schema.schemata where schema_name = $1', [schema]);
    expect(rows[0].n).toBe(0);
  });

  it('dry run: reports what it would do and every problem, writing nothing, not even the schema', async () => {
    const path = fx.file('dry');
    await buildSource(path, { streams: 1, eventsPerStream: 2 });
    rawEvent(path, 'bad-json', 'nope');
    const schema = fx.schemaName();
    const report = await migrate({ from: path, to: fx.url, schema, dryRun: true });
    expect(report.outcome).toBe('dry-run');
    expect(report.problemCount).toBe(1);
    expect(report.problems[0]).toMatchObject({ streamId: 'bad-json', version: 1, field: 'data' });
    const { rows } = await fx.pool.query('select count(*)::int as n from information_schema.schemata where schema_name = $1', [schema]);
    expect(rows[0].n).toBe(0);
  });

  it('refuses a source that is missing or not a Strata database, creating nothing', async () => {
    const missing = fx.file('missing');
    expect((await caught(migrate({ from: missing, to: fx.url }))).message).toMatch(/is not an existing SQLite file/);
    const plain = fx.file('plain');
    new Database(plain).exec('create table t (x)');
    expect((await caught(migrate({ from: plain, to: fx.url }))).message).toMatch(/is not a Strata database/);
  });

  it('migrates into PGlite through its Drizzle database', async () => {
    const path = fx.file('pglite');
    await buildSource(path, { streams: 2, eventsPerStream: 3 });
    const target = await createPgliteStore();
    try {
      const report = await migrate({ from: path, to: target.db, verify: true });
      expect(report.outcome).toBe('migrated');
      expect(report.verification?.ok).toBe(true);
      expect((await collect(target.events.readAll())).length).toBe(report.source.event);
    } finally {
      await target.close();
    }
  });
});
