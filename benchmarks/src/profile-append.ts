// `node --import tsx src/profile-append.ts`: the server's CPU per append, measured inside PostgreSQL so
// that neither the network, the client nor the WAL flush is in it. A `DO` block appends PROFILE_APPENDS
// (3,000) single events one transaction each (it commits in its loop; `synchronous_commit` off for the
// block, so no flush is waited for) through Strata's `append_events` function (the one call an append
// makes), and the same number of raw inserts of `pnpm bench`'s baseline (impls/raw-sql.ts), and prints
// the mean µs per append of each, plus two parts of Strata's: the stream row's update alone and the
// event row's insert alone (with the table's four indexes). Then the client's view with PROFILE_CALLERS
// (8) callers at once, each on a stream of its own, for 3 s a side (raw, Strata, raw, Strata): appends/s,
// and what the server's backends were waiting for, sampled from pg_stat_activity every 2 ms. PostgreSQL
// is started here (durable defaults). Evidence for docs/benchmarks.md ("What bounds each Strata figure"); not part of `pnpm bench`.
import { createPostgresStore } from '@strata/postgres';
import { createTestDatabase, startPostgres } from '@strata/testing';
import pg from 'pg';
import { RAW_SQL } from './impls/raw-sql.js';

const N = Math.round(Number(process.env.PROFILE_APPENDS ?? 3000));
const ROUNDS = 3;
const server = await startPostgres({ settings: {} });
const database = await createTestDatabase(server.url, 'strata_profile_append');
try {
  await (await createPostgresStore(database.url)).close();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(RAW_SQL.createEvents);
  let notice = '';
  client.on('notice', (n) => {
    notice = n.message ?? '';
  });
  /** Runs `body` (PL/pgSQL using the loop variable i) N times, one transaction each; mean µs per iteration. */
  const perCall = async (body: string): Promise<number> => {
    await client.query(`do $$
      declare t0 timestamptz;
      begin
        set synchronous_commit = off;
        t0 := clock_timestamp();
        for i in 1..${N} loop
          ${body}
          commit;
        end loop;
        raise notice '%', extract(epoch from clock_timestamp() - t0) * 1e6 / ${N};
      end $$`);
    return Math.round(Number(notice));
  };
  const event = `jsonb_build_array(jsonb_build_object('id', gen_random_uuid(), 'type', 'OrderLineAdded', 'schemaVersion', 1,
      'data', jsonb_build_object('i', i, 'text', 'line ' || i || ' of an order, with some text'), 'metadata', '{}'::jsonb))`;
  const results: Record<string, number[]> = { strata: [], raw: [], streamRow: [], eventRow: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const s = `r${round}`;
    // Strata: append_events(stream, expected kind 3 = exact version, expected, ids given by the client are
    // fresh (no retry check), events), as the adapter calls it for append(stream, [e], { expectedVersion }).
    await client.query(`insert into strata.streams (stream_id, version, created_at, updated_at) values ('${s}', 0, now(), now())`);
    results.strata?.push(await perCall(`perform strata.append_events('${s}', 3, i - 1, false, ${event});`));
    results.raw?.push(
      await perCall(`insert into raw_events (stream_id, version, type, data) values ('${s}', i, 'OrderLineAdded',
        jsonb_build_object('i', i, 'text', 'line ' || i || ' of an order, with some text'));`),
    );
    await client.query(`insert into strata.streams (stream_id, version, created_at, updated_at) values ('${s}-row', 0, now(), now())`);
    results.streamRow?.push(
      await perCall(`update strata.streams set version = version + 1, updated_at = now() where stream_id = '${s}-row' and version = i - 1;`),
    );
    results.eventRow?.push(
      await perCall(`insert into strata.events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
        values (pg_current_xact_id()::text::bigint * 1048576 + 1, pg_current_xact_id(), '${s}-ev', i, gen_random_uuid(), 'OrderLineAdded', 1,
                jsonb_build_object('i', i, 'text', 'line ' || i || ' of an order, with some text'), '{}'::jsonb, now());`),
    );
  }
  // The client's view: callers at once, and what the backends wait for meanwhile.
  const callers = Math.max(1, Number(process.env.PROFILE_CALLERS ?? 8));
  const store = await createPostgresStore(database.url);
  const pool = new pg.Pool({ connectionString: database.url, max: callers });
  const sampler = new pg.Client({ connectionString: database.url });
  await sampler.connect();
  const concurrent = async (side: 'raw' | 'strata', round: number) => {
    const waits = new Map<string, number>();
    let samples = 0;
    let done = 0;
    const until = performance.now() + 3000;
    let sampling = true;
    const sample = (async () => {
      while (sampling) {
        const { rows } = await sampler.query<{ w: string; n: number }>(
          `select coalesce(wait_event_type || ':' || wait_event, 'on CPU') as w, count(*)::int as n from pg_stat_activity
           where datname = current_database() and state = 'active' and pid <> pg_backend_pid() group by 1`,
        );
        samples++;
        for (const r of rows) waits.set(r.w, (waits.get(r.w) ?? 0) + r.n);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const lsn = async () => (await sampler.query<{ l: string }>('select pg_current_wal_lsn()::text as l')).rows[0]?.l ?? '0/0';
    const from = await lsn();
    const t = performance.now();
    await Promise.all(
      Array.from({ length: callers }, async (_, k) => {
        const stream = `c${round}-${side}-${k}`;
        for (let v = 0; performance.now() < until; v++) {
          const data = { i: v, text: `line ${v} of an order, with some text` };
          if (side === 'raw') await pool.query(RAW_SQL.appendOne, [stream, v + 1, 'OrderLineAdded', JSON.stringify(data)]);
          else await store.events.append(stream, [{ type: 'OrderLineAdded', data }], { expectedVersion: v });
          done++;
        }
      }),
    );
    const rate = Math.round(done / ((performance.now() - t) / 1000));
    sampling = false;
    await sample;
    const wal = (await sampler.query<{ b: string }>('select pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text as b', [from])).rows[0]?.b;
    const walPerAppend = Math.round(Number(wal ?? 0) / Math.max(1, done));
    const top = [...waits]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([w, n]) => `${w} ${(n / samples).toFixed(1)}`)
      .join(', ');
    return { rate, top, walPerAppend };
  };
  const lines: string[] = [];
  for (let round = 0; round < 2; round++) {
    for (const side of ['raw', 'strata'] as const) {
      const r = await concurrent(side, round);
      lines.push(`| ${side} | ${round + 1} | ${r.rate.toLocaleString('en')} | ${r.walPerAppend.toLocaleString('en')} | ${r.top} |`);
    }
  }
  await sampler.end();
  await pool.end();
  await store.close();
  await client.end();
  console.log(`${callers} callers at once, one stream each, 3 s a side: appends/s, WAL bytes per append, and the backends' mean count in each wait state\n`);
  console.log('| side | round | appends/s | WAL bytes per append | active backends by wait (mean count per sample) |');
  console.log('|---|---:|---:|---:|---|');
  for (const l of lines) console.log(l);
  console.log('');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log(`Server time per append, one transaction each, µs (median of ${ROUNDS} rounds of ${N.toLocaleString('en')}; all rounds)\n`);
  console.log('| what | µs | rounds |');
  console.log('|---|---:|---|');
  const label: Record<string, string> = {
    strata: "Strata's append_events, 1 event, expected version",
    raw: 'raw insert (the bench baseline)',
    streamRow: "the stream row's update alone",
    eventRow: "the event row's insert alone (four indexes)",
  };
  for (const [k, xs] of Object.entries(results)) console.log(`| ${label[k]} | ${median(xs)} | ${xs.join(', ')} |`);
} finally {
  await database.drop();
  await server.stop();
}
