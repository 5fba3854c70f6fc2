// Realtime latency: how long after a write commits does the other side know? Strata's subscribe() and
// consume() woken by @strata/realtime's listener, next to plain LISTEN/NOTIFY on the same server.
import { performance } from 'node:perf_hooks';
import { consume, type StoredEvent, subscribe } from '@strata/core';
import { createPostgresStore } from '@strata/postgres';
import { createListener } from '@strata/realtime';
import pg from 'pg';
import PgBoss from 'pg-boss';

/** One implementation's latencies (ms), and how they were measured. */
export interface LatencyRow {
  workload: string;
  implementation: string;
  latencies: number[];
  baseline: string;
}

/** Runs one timed delivery: resolves with the latencies it observed (one or several per write). */
type Probe = (i: number) => Promise<number[]>;

interface Subject {
  name: string;
  baseline: string;
  /** Sets up (connections, LISTEN, subscriptions); returns the probe and a teardown. */
  open(): Promise<{ probe: Probe; close(): Promise<void> }>;
  /** Pause after a delivery before the next write, in ms: [min, max). */
  gap: [number, number];
  /** Samples per round, when not the workload's. */
  samples?: number;
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`realtime bench: no ${what} within ${ms} ms`)))]);

/** A promise per sample id, resolved by the receiving side. */
function mailbox<T>() {
  const waiting = new Map<number, (value: T) => void>();
  return {
    wait(id: number): Promise<T> {
      return new Promise<T>((resolve) => waiting.set(id, resolve));
    },
    deliver(id: number, value: T) {
      const r = waiting.get(id);
      waiting.delete(id);
      r?.(value);
    },
  };
}

const client = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
};

export const RAW_NOTIFY = 'raw pg: pg_notify, autocommit';
export const RAW_WRITE_NOTIFY = 'raw pg: INSERT + NOTIFY, one autocommit statement';
export const RAW_READ_BACK = 'raw pg: INSERT + NOTIFY, one autocommit statement; the listener then SELECTs the new rows';
export const STRATA_ONE = 'strata postgres, 1 subscription';
export const STRATA_HUNDRED = 'strata postgres, 100 subscriptions on one listener (every handler)';
export const STRATA_HUNDRED_LAST = 'strata postgres, 100 subscriptions on one listener (the last handler per append)';

/**
 * Commit-to-handler and pick-up latencies. `scale` sizes the sample counts (300 writes per implementation
 * at 1, 15 at 0.05); `rounds` alternates the order of implementations.
 */
export async function realtimeLatency(rawUrl: string, strataUrl: string, bossUrl: string, scale: number, rounds: number, log: (line: string) => void) {
  // A sample run (CI) keeps this part to a few seconds: one round of 15 writes per implementation.
  if (scale < 1) rounds = 1;
  const samples = Math.max(10, Math.round((300 * Math.min(1, scale)) / rounds));
  const setup = await client(rawUrl);
  await setup.query(`create table rt_events (id bigserial primary key, data jsonb not null, created_at timestamptz not null default now());
    create table rt_queue (id bigserial primary key, body jsonb not null, claimed boolean not null default false)`);
  await setup.end();
  const schema = 'realtime';
  // The writer migrates the schema; the reader is a second store object on it (it stands for another process).
  const writer = await createPostgresStore(strataUrl, { schema });
  await writer.close();

  /** A plain LISTEN on one connection, writes from another. `write` returns the send time (t0). */
  const rawSubject = (name: string, write: (c: pg.Client, i: number) => Promise<number>, readBack = false): Subject => ({
    name,
    baseline: RAW_WRITE_NOTIFY,
    gap: [5, 15],
    async open() {
      const listen = await client(rawUrl);
      const reader = readBack ? await client(rawUrl) : undefined;
      const send = await client(rawUrl);
      // Arrival times by sample id; the latency is arrival - t0 (same process, same clock).
      const box = mailbox<number>();
      let last = 0;
      listen.on('notification', (n) => {
        const at = now();
        if (reader === undefined) {
          box.deliver(Number(n.payload), at);
          return;
        }
        // What a subscription does: read the new rows (and hand each to its handler).
        void reader.query<{ id: string; data: { i: number } }>('select id, data from rt_events where id > $1 order by id', [last]).then((r) => {
          const read = now();
          for (const row of r.rows) {
            last = Math.max(last, Number(row.id));
            box.deliver(row.data.i, read);
          }
        });
      });
      await listen.query('LISTEN rt_bench');
      if (reader !== undefined) last = Number((await reader.query<{ m: string | null }>('select max(id) as m from rt_events')).rows[0]?.m ?? 0);
      return {
        async probe(i) {
          const got = box.wait(i);
          const t0 = await write(send, i);
          return [(await within(got, 5000, `notification for ${name}`)) - t0];
        },
        async close() {
          await Promise.all([listen.end(), send.end(), reader?.end()]);
        },
      };
    },
  });

  const eventSubjects: Subject[] = [
    rawSubject(RAW_NOTIFY, async (c, i) => {
      const t0 = now();
      await c.query(`select pg_notify('rt_bench', $1)`, [String(i)]);
      return t0;
    }),
    rawSubject('raw pg: BEGIN; INSERT; NOTIFY; timed from just before COMMIT', async (c, i) => {
      await c.query('begin');
      await c.query('insert into rt_events (data) values ($1)', [{ i }]);
      await c.query(`select pg_notify('rt_bench', $1)`, [String(i)]);
      const t0 = now();
      await c.query('commit');
      return t0;
    }),
    rawSubject(RAW_WRITE_NOTIFY, async (c, i) => {
      const t0 = now();
      await c.query(`with w as (insert into rt_events (data) values ($1) returning id) select pg_notify('rt_bench', $2) from w`, [{ i }, String(i)]);
      return t0;
    }),
    rawSubject(
      RAW_READ_BACK,
      async (c, i) => {
        const t0 = now();
        await c.query(`with w as (insert into rt_events (data) values ($1) returning id) select pg_notify('rt_bench', '') from w`, [{ i }]);
        return t0;
      },
      true,
    ),
    strataSubject(STRATA_ONE, 1),
    // 100 handlers per append: fewer appends (a third), so that a sample run stays short.
    { ...strataSubject(STRATA_HUNDRED, 100), samples: Math.max(5, Math.round(samples / 3)) },
  ];

  function strataSubject(name: string, subscriptions: number): Subject {
    return {
      name,
      baseline: RAW_WRITE_NOTIFY,
      gap: [5, 15],
      async open() {
        const writer = await createPostgresStore(strataUrl, { schema, migrate: false });
        const reader = await createPostgresStore(strataUrl, { schema, migrate: false });
        const listener = await createListener({ connectionString: strataUrl });
        if (listener.state !== 'connected') throw new Error(`realtime bench: the listener is ${listener.state}`);
        const live = listener.attach(reader);
        const box = mailbox<number[]>();
        const seen = new Map<number, number[]>();
        const handler = (e: StoredEvent) => {
          const at = now();
          const { i, t0 } = e.data as { i: number; t0: number };
          const got = seen.get(i) ?? [];
          got.push(at - t0);
          seen.set(i, got);
          if (got.length === subscriptions) {
            seen.delete(i);
            box.deliver(i, got);
          }
        };
        const subs = Array.from({ length: subscriptions }, () => subscribe(live, { from: 'end', handler }));
        // Every subscription past its first read (from 'end' reads the head first), then one delivery to all.
        await sleep(300);
        const warm = box.wait(-1);
        await writer.events.append('rt-warm', [{ type: 'Warm', data: { i: -1, t0: now() } }]);
        await within(warm, 10_000, `${name} warm-up delivery`);
        return {
          async probe(i) {
            const got = box.wait(i);
            await writer.events.append(`rt-${i % 10}`, [{ type: 'Ping', data: { i, t0: now() } }]);
            return within(got, 10_000, `delivery for ${name}`);
          },
          async close() {
            await Promise.all(subs.map((s) => s.stop()));
            await listener.close();
            await Promise.all([reader.close(), writer.close()]);
          },
        };
      },
    };
  }

  const queueSubjects: Subject[] = [
    {
      name: 'raw pg: LISTENing worker claims the row (UPDATE … SKIP LOCKED) on each notification',
      baseline: 'raw pg: LISTENing worker claims the row (UPDATE … SKIP LOCKED) on each notification',
      gap: [20, 40],
      async open() {
        const listen = await client(rawUrl);
        const worker = await client(rawUrl);
        const send = await client(rawUrl);
        const box = mailbox<number>();
        listen.on('notification', () => {
          void worker
            .query<{ body: { i: number; t0: number } }>(
              `update rt_queue set claimed = true where id = (select id from rt_queue where not claimed order by id limit 1 for update skip locked) returning body`,
            )
            .then((r) => {
              const at = now();
              for (const row of r.rows) box.deliver(row.body.i, at - row.body.t0);
            });
        });
        await listen.query('LISTEN rt_queue');
        return {
          async probe(i) {
            const got = box.wait(i);
            const t0 = now();
            await send.query(`with w as (insert into rt_queue (body) values ($1) returning id) select pg_notify('rt_queue', '') from w`, [{ i, t0 }]);
            return [await within(got, 5000, 'raw pick-up')];
          },
          async close() {
            await Promise.all([listen.end(), worker.end(), send.end()]);
          },
        };
      },
    },
    {
      name: 'strata postgres: consume() woken by the listener',
      baseline: 'raw pg: LISTENing worker claims the row (UPDATE … SKIP LOCKED) on each notification',
      gap: [20, 40],
      async open() {
        const writer = await createPostgresStore(strataUrl, { schema, migrate: false });
        const reader = await createPostgresStore(strataUrl, { schema, migrate: false });
        const listener = await createListener({ connectionString: strataUrl });
        const live = listener.attach(reader);
        const box = mailbox<number>();
        const stop = new AbortController();
        const worker = consume(
          live,
          'rt',
          (d) => {
            const at = now();
            const { i, t0 } = d.body as { i: number; t0: number };
            box.deliver(i, at - t0);
          },
          { signal: stop.signal },
        );
        await sleep(100); // past its first, empty receive
        return {
          async probe(i) {
            const got = box.wait(i);
            await writer.queue.send('rt', { body: { i, t0: now() } });
            return [await within(got, 10_000, 'strata pick-up')];
          },
          async close() {
            stop.abort();
            await worker;
            await listener.close();
            await Promise.all([reader.close(), writer.close()]);
          },
        };
      },
    },
  ];
  // pg-boss polls (every 2 s by default): a few samples only, and none in a sample run.
  if (scale >= 0.5)
    queueSubjects.push({
      name: 'pg-boss 10.4.2: work() with its default polling (2 s)',
      baseline: 'raw pg: LISTENing worker claims the row (UPDATE … SKIP LOCKED) on each notification',
      // Its worker fetches again right after a job, then sleeps 2 s: a pause drawn from the whole interval
      // puts each send at a random phase of the polling cycle.
      gap: [0, 2000],
      samples: Math.max(3, Math.round(10 * Math.min(1, scale))),
      async open() {
        const boss = new PgBoss({ connectionString: bossUrl, schedule: false, supervise: false, max: 4 });
        boss.on('error', () => undefined);
        await boss.start();
        await boss.createQueue('rt');
        const box = mailbox<number>();
        await boss.work<{ i: number; t0: number }>('rt', async ([job]) => {
          const at = now();
          if (job !== undefined) box.deliver(job.data.i, at - job.data.t0);
        });
        return {
          async probe(i) {
            const got = box.wait(i);
            await boss.send('rt', { i, t0: now() });
            return [await within(got, 10_000, 'pg-boss pick-up')];
          },
          async close() {
            await boss.stop({ graceful: false, wait: true });
          },
        };
      },
    });

  const rows: LatencyRow[] = [];
  const run = async (workload: string, subjects: Subject[]) => {
    const all = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < subjects.length; k++) {
        const s = subjects[(k + round) % subjects.length] as Subject;
        const { probe, close } = await s.open();
        const got = all.get(s.name) ?? [];
        const lastOf = all.get(`${s.name}\u0000last`) ?? [];
        for (let i = 0; i < (s.samples ?? samples); i++) {
          const latencies = await probe(round * 1_000_000 + i);
          got.push(...latencies);
          if (latencies.length > 1) lastOf.push(Math.max(...latencies));
          await sleep(s.gap[0] + Math.random() * (s.gap[1] - s.gap[0]));
        }
        all.set(s.name, got);
        if (lastOf.length > 0) all.set(`${s.name}\u0000last`, lastOf);
        await close();
      }
    }
    for (const s of subjects) {
      rows.push({ workload, implementation: s.name, latencies: all.get(s.name) ?? [], baseline: s.baseline });
      const lastOf = all.get(`${s.name}\u0000last`);
      if (lastOf !== undefined) rows.push({ workload, implementation: STRATA_HUNDRED_LAST, latencies: lastOf, baseline: s.baseline });
    }
  };
  const t = now();
  await run('commit-to-handler latency, one event per append, spaced 5–15 ms', eventSubjects);
  await run('idle queue worker pick-up latency, one message per send', queueSubjects);
  log(`realtime latency: ${samples * rounds} writes per implementation in ${Math.round((now() - t) / 1000)} s`);
  return rows;
}
