// One timed migration of a SQLite file into PostgreSQL, in a fresh process so that its peak resident
// memory is its own: `strata` runs @strata/migrate; `raw` reads the same rows with better-sqlite3 and
// writes them with multi-row INSERTs through pg, batch for batch. Plain JavaScript on the built packages.
const [kind, source, url, schema, batchText] = process.argv.slice(2);
const batch = Number(batchText);
const t0 = performance.now();
let events = 0;

if (kind === 'strata') {
  const { migrate } = await import('@strata/migrate');
  const report = await migrate({ from: source, to: url, schema, batchSize: batch });
  events = report.written.event;
} else if (kind === 'raw' || kind === 'raw-unnest' || kind === 'raw-json') {
  const { default: Database } = await import('better-sqlite3');
  const { default: pg } = await import('pg');
  const db = new Database(source, { readonly: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const q = (name) => `"${schema}".${name}`;
  // casts[i]: a cast after the column's parameter, or `=sql` for a literal in place of a parameter.
  const insert = async (table, columns, casts, rows) => {
    if (rows.length === 0) return;
    const params = [];
    const tuples = rows.map(
      (r) =>
        `(${casts
          .map((c, i) => {
            if (c.startsWith('=')) return c.slice(1);
            params.push(r[i]);
            return `$${params.length}${c}`;
          })
          .join(', ')})`,
    );
    await client.query(`insert into ${q(table)} (${columns}) values ${tuples.join(', ')}`, params);
  };
  const streams = db.prepare('select stream_id, version, created_at, updated_at from strata_streams where stream_id > ? order by stream_id limit ?');
  let after = '';
  for (;;) {
    const rows = streams.raw().all(after, batch);
    await insert(
      'streams',
      'stream_id, version, created_at, updated_at',
      ['', '', '::timestamptz', '::timestamptz'],
      rows.map((r) => [r[0], r[1], new Date(r[2]).toISOString(), new Date(r[3]).toISOString()]),
    );
    if (rows.length < batch) break;
    after = rows[rows.length - 1][0];
  }
  const read = db.prepare(`select position, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at
    from strata_events where position > ? order by position limit ?`);
  let position = 0;
  for (;;) {
    const rows = read.raw().all(position, batch);
    if (rows.length === 0) break;
    await client.query('begin');
    await insert(
      'events',
      'position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at',
      ['', '=pg_current_xact_id()', '', '', '', '', '', '::jsonb', '::jsonb', '::timestamptz'],
      rows.map((r) => [r[0], null, r[1], r[2], r[3], r[4], r[5], r[6], r[7], new Date(r[8]).toISOString()]),
    );
    await client.query('commit');
    events += rows.length;
    if (rows.length < batch) break;
    position = rows[rows.length - 1][0];
  }
  await client.end();
  db.close();
}
const ms = performance.now() - t0;
process.stdout.write(`${JSON.stringify({ events, ms, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
