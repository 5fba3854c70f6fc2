// `node --import tsx src/profile-sqlite-write.ts`: what a SQLite commit writes, Strata against the raw
// better-sqlite3 baseline of `pnpm bench` (impls/raw-sqlite.ts), both on files with WAL and
// `synchronous = FULL`. One-event appends and one-message sends: 100 operations, each its own commit, on a
// fresh file; receive-and-ack: 5 claims of 100, each acked; then the WAL's frame count (pages
// written) read with `PRAGMA wal_checkpoint(PASSIVE)` from a second connection, divided by the operations;
// and the mean time per operation. At `synchronous = FULL` each commit's pages are written and synced, so
// pages per commit is what the disk sees. Evidence for docs/benchmarks.md ("What bounds each Strata
// figure"); not part of `pnpm bench`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '@strata/sqlite';
import Database from 'better-sqlite3';
import { rawSqliteEvents, rawSqliteQueue } from './impls/raw-sqlite.js';
import { strataEvents, strataQueue } from './impls/strata.js';
import type { EventSubject, QueueSubject } from './impls/types.js';

const N = 100;
const work = mkdtempSync(join(tmpdir(), 'strata-profile-sqlite-write-'));
let files = 0;
/** Frames in the WAL of `file` now (nothing checkpointed them: fewer than the 1,000-page autocheckpoint). */
const walFrames = (file: string) => {
  const other = new Database(file);
  try {
    const [row] = other.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    return row?.log ?? 0;
  } finally {
    other.close();
  }
};
/** A subject on a fresh file, its WAL emptied after setup, so that only the measured commits are in it. */
async function fresh<T>(make: (file: string) => Promise<T> | T): Promise<{ file: string; subject: T }> {
  const file = join(work, `w${++files}.db`);
  const subject = await make(file);
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { file, subject };
}
const measure = async (file: string, op: (i: number) => Promise<unknown>, times = N) => {
  const t = performance.now();
  for (let i = 0; i < times; i++) await op(i);
  const ms = (performance.now() - t) / times;
  return { pages: walFrames(file) / times, us: Math.round(ms * 1000) };
};
/** Claims of 100 measured: few enough that the WAL stays under SQLite's 1,000-page autocheckpoint. */
const CLAIMS = 5;
const rows: string[] = [];
try {
  for (const side of ['raw', 'strata'] as const) {
    const events = await fresh<EventSubject>(async (file) =>
      side === 'raw' ? rawSqliteEvents(file) : strataEvents('strata', 'raw', await createSqliteStore(file)),
    );
    // A first append creates each stream; the measured ones append to existing streams.
    for (let k = 0; k < N; k++) await events.subject.append(`s${k}`, [{ type: 'OrderPlaced', data: { i: k, text: 'order placed' } }], 0);
    const db = new Database(events.file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const a = await measure(events.file, (i) =>
      events.subject.append(`s${i}`, [{ type: 'OrderLineAdded', data: { i, text: `line ${i} of an order, with some text` } }], 1),
    );
    const queue = await fresh<QueueSubject>(async (file) =>
      side === 'raw' ? rawSqliteQueue(file) : strataQueue('strata', 'raw', await createSqliteStore(file)),
    );
    const s = await measure(queue.file, (i) => queue.subject.send('q', { n: i, text: 'a small job' }));
    await queue.subject.sendMany(
      'r',
      Array.from({ length: N * 100 }, (_, i) => ({ n: i, text: 'a small job' })),
    );
    const db2 = new Database(queue.file);
    db2.pragma('wal_checkpoint(TRUNCATE)');
    db2.close();
    const r = await measure(queue.file, () => queue.subject.receiveAndAck('r', 100), CLAIMS);
    rows.push(`| ${side} | ${a.pages.toFixed(1)} | ${a.us} | ${s.pages.toFixed(1)} | ${s.us} | ${(r.pages / 100).toFixed(2)} | ${Math.round(r.us / 100)} |`);
    await events.subject.close();
    await queue.subject.close();
  }
  console.log(`SQLite (WAL, synchronous FULL), ${N} operations each, each its own commit: WAL pages written per operation, mean µs per operation\n`);
  console.log('| side | append: pages | append: µs | send: pages | send: µs | receive + ack of 100: pages per message | µs per message |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
} finally {
  rmSync(work, { recursive: true, force: true });
}
