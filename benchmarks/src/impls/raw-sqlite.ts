import Database from 'better-sqlite3';
import { noopHandler } from './raw-sql.js';
import type { BenchEvent, ConsumeShape, ConsumeSubject, EventSubject, QueueSubject } from './types.js';

// The raw better-sqlite3 baselines: prepared statements reused, the same durability settings as
// Strata's defaults (WAL, synchronous FULL), one IMMEDIATE transaction per write.

function open(file: string): Database.Database {
  const db = new Database(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/** Raw better-sqlite3 events in `file`: one IMMEDIATE transaction of prepared inserts per append, pages by position. */
export function rawSqliteEvents(file: string): EventSubject {
  const db = open(file);
  db.exec(`CREATE TABLE IF NOT EXISTS raw_events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT NOT NULL,
    version INTEGER NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
    recorded_at INTEGER NOT NULL, UNIQUE (stream_id, version))`);
  const insert = db.prepare('INSERT INTO raw_events (stream_id, version, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const append = db.transaction((stream: string, events: BenchEvent[], expected: number) => {
    const now = Date.now();
    for (const [i, e] of events.entries()) insert.run(stream, expected + i + 1, globalThis.crypto.randomUUID(), e.type, JSON.stringify(e.data), '{}', now);
  });
  // Rows as arrays (better-sqlite3's raw mode) made into one event object each: the fastest way to events
  // this driver offers, as Strata's SQLite adapter reads them.
  const byStream = db
    .prepare('SELECT position, stream_id, version, event_id, type, data, metadata, recorded_at FROM raw_events WHERE stream_id = ? ORDER BY version')
    .raw(true);
  const page = db
    .prepare('SELECT position, stream_id, version, event_id, type, data, metadata, recorded_at FROM raw_events WHERE position > ? ORDER BY position LIMIT ?')
    .raw(true);
  type Row = [number, string, number, string, string, string, string, number];
  const parse = (r: Row) => ({
    position: r[0],
    streamId: r[1],
    version: r[2],
    eventId: r[3],
    type: r[4],
    data: JSON.parse(r[5]) as unknown,
    metadata: JSON.parse(r[6]) as unknown,
    recordedAt: r[7],
  });
  const readPage = (after: number, size: number) => (page.all(after, size) as Row[]).map(parse);
  return {
    name: 'raw better-sqlite3',
    baseline: 'raw better-sqlite3',
    async append(stream, events, expected) {
      append.immediate(stream, events, expected);
    },
    async readStream(stream) {
      return (byStream.all(stream) as Row[]).map(parse).length;
    },
    async readAll(pageSize) {
      let after = 0;
      let n = 0;
      for (;;) {
        const rows = readPage(after, pageSize);
        n += rows.length;
        if (rows.length < pageSize) return n;
        after = (rows[rows.length - 1] as { position: number }).position;
        await Promise.resolve();
      }
    },
    async catchUp(total, batchSize) {
      let after = 0;
      let n = 0;
      while (n < total) {
        const rows = readPage(after, batchSize);
        n += rows.length;
        if (rows.length === 0) break;
        after = (rows[rows.length - 1] as { position: number }).position;
        await Promise.resolve();
      }
      return n;
    },
    async close() {
      db.close();
    },
  };
}

/** Opens `file` with the raw queue's table and index. */
function openQueue(file: string): Database.Database {
  const db = open(file);
  db.exec(`CREATE TABLE IF NOT EXISTS raw_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, body TEXT NOT NULL, visible_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS raw_queue_ready ON raw_queue (queue, id)`);
  return db;
}

/** The statements of the raw queue on `db`: sends, a claim that hides what it returns, and deletes. */
function queueStatements(db: Database.Database) {
  const insert = db.prepare('INSERT INTO raw_queue (queue, body, visible_at) VALUES (?, ?, ?)');
  const sendMany = db.transaction((queue: string, bodies: unknown[]) => {
    const now = Date.now();
    for (const b of bodies) insert.run(queue, JSON.stringify(b), now);
  });
  const ready = db.prepare('SELECT id, body FROM raw_queue WHERE queue = ? AND visible_at <= ? ORDER BY id LIMIT ?');
  const hide = db.prepare('UPDATE raw_queue SET visible_at = ? WHERE id = ?');
  const claim = db.transaction((queue: string, max: number) => {
    const now = Date.now();
    const rows = (ready.all(queue, now, max) as { id: number; body: string }[]).map((r) => ({ id: r.id, body: JSON.parse(r.body) as unknown }));
    for (const r of rows) hide.run(now + 60_000, r.id);
    return rows;
  });
  const del = db.prepare('DELETE FROM raw_queue WHERE id = ?');
  const ack = db.transaction((ids: number[]) => {
    for (const id of ids) del.run(id);
  });
  return { insert, sendMany, claim, ack };
}

/**
 * A raw better-sqlite3 consuming loop: `concurrency` workers, each claiming up to `shape.claim` messages
 * in an IMMEDIATE transaction, calling the handler for each, and deleting them in another (one per
 * message when `deleteEach`), until a claim comes back empty.
 */
export function rawSqliteConsume(file: string, name: string, baseline: string, shape: ConsumeShape): ConsumeSubject {
  const db = openQueue(file);
  const { sendMany, claim, ack } = queueStatements(db);
  return {
    name,
    baseline,
    async fill(queue, bodies) {
      sendMany.immediate(queue, bodies);
    },
    async consumeAll(queue, _expected, concurrency) {
      let handled = 0;
      await Promise.all(
        Array.from({ length: shape.workers ?? concurrency }, async () => {
          for (;;) {
            const rows = claim.immediate(queue, shape.claim);
            if (rows.length === 0) return;
            for (const r of rows) {
              await noopHandler(r.body);
              handled++;
              if (shape.deleteEach) ack.immediate([r.id]);
            }
            if (!shape.deleteEach) ack.immediate(rows.map((r) => r.id));
          }
        }),
      );
      return handled;
    },
    async close() {
      db.close();
    },
  };
}

/** Raw better-sqlite3 queue in `file`: a claim and a delete per batch, each one IMMEDIATE transaction. */
export function rawSqliteQueue(file: string): QueueSubject {
  const db = openQueue(file);
  const { insert, sendMany, claim, ack } = queueStatements(db);
  return {
    name: 'raw better-sqlite3',
    baseline: 'raw better-sqlite3',
    async send(queue, body) {
      insert.run(queue, JSON.stringify(body), Date.now());
    },
    async sendMany(queue, bodies) {
      sendMany.immediate(queue, bodies);
    },
    async receiveAndAck(queue, max) {
      const rows = claim.immediate(queue, max);
      if (rows.length > 0) ack.immediate(rows.map((r) => r.id));
      return rows.length;
    },
    async close() {
      db.close();
    },
  };
}
