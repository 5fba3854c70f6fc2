// Reads every event of a large store through readAll and reports the process's peak resident memory.
// Plain JavaScript on the built packages, so that no loader or transpiler adds to what is measured.
const [kind, target, schema] = process.argv.slice(2);
const startRss = process.memoryUsage().rss;
const t0 = performance.now();
let events = 0;

if (kind === 'strata-postgres') {
  const { createPostgresStore } = await import('@strata/postgres');
  const store = await createPostgresStore(target, { schema, migrate: false, poolSize: 2 });
  for await (const _ of store.events.readAll()) events++;
  await store.close();
} else if (kind === 'strata-sqlite') {
  const { createSqliteStore } = await import('@strata/sqlite');
  const store = await createSqliteStore(target, { migrate: false });
  for await (const _ of store.events.readAll()) events++;
  await store.close();
} else if (kind === 'raw-pg') {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: target, max: 2 });
  let after = '0';
  for (;;) {
    const { rows } = await pool.query(
      'select position, stream_id, version, type, data, recorded_at from raw_rss_events where position > $1 order by position limit 500',
      [after],
    );
    events += rows.length;
    if (rows.length < 500) break;
    after = rows[rows.length - 1].position;
  }
  await pool.end();
} else {
  throw new Error(`unknown kind ${kind}`);
}

const ms = performance.now() - t0;
// VmHWM is this process's own peak resident set; getrusage's maxrss would include the parent's, which
// it inherits across fork and exec.
const { readFileSync } = await import('node:fs');
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
console.log(JSON.stringify({ events, ms, startRssMb: startRss / 2 ** 20, peakRssMb: Number(hwm?.[1] ?? 0) / 1024 }));
