// The "done when" tests of realtime delivery under failure, on a real PostgreSQL server: the listener's
// backend killed again and again under concurrent writers, a named consumer's process killed and
// restarted, two processes competing for one named consumer, and a network path that stalls.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type NewEvent, type StoredEvent, subscribe } from '@strata/core';
import { createPostgresStore, type PostgresStore } from '@strata/postgres';
import { sleep, startChaosProxy, waitFor } from '@strata/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createListener, type StateTransition } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

/** Long enough that only a notification can explain a delivery within a test. */
const NEVER = 600_000;

const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** `n` events of `type`. */
const eventsOf = (n: number, type = 'Counted'): NewEvent[] => Array.from({ length: n }, (_, i) => ({ type, data: { i } }));

/** Appends 1–5 events at a time to one of `streams` (random), with short random pauses, until stopped. */
function appendContinuously(store: PostgresStore, streams: string[]) {
  let stopped = false;
  let appended = 0;
  const done = (async () => {
    while (!stopped) {
      const n = random(1, 5);
      await store.events.append(streams[random(0, streams.length - 1)] as string, eventsOf(n));
      appended += n;
      await sleep(random(2, 10));
    }
  })();
  return {
    get appended() {
      return appended;
    },
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Each stream's event count, from a fresh read of the whole store. */
async function replay(store: PostgresStore, upTo?: bigint): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const e of store.events.readAll()) {
    if (upTo !== undefined && e.position > upTo) break;
    counts[e.streamId] = (counts[e.streamId] ?? 0) + 1;
  }
  return sorted(counts);
}

const sorted = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * The head once all `appended` events are readable. (`headPosition()` alone may be short of the last
 * appends for a moment: readers see a commit only once every older transaction on the server has ended.)
 */
async function headOfAll(store: PostgresStore, appended: number): Promise<bigint> {
  let head = 0n;
  await waitFor(
    async () => {
      let n = 0;
      for await (const e of store.events.readAll()) {
        n++;
        head = e.position;
      }
      return n === appended;
    },
    `all ${appended} events to be readable`,
    30_000,
  );
  return head;
}

/** The projection the children write. */
async function projection(store: PostgresStore): Promise<Record<string, number>> {
  const r = await fx.pool.query<{ stream: string; n: number }>(`select stream, n from "${store.schema}".proj_totals`);
  return sorted(Object.fromEntries(r.rows.map((row) => [row.stream, row.n])));
}

/** Every delivery the children recorded, in position order. */
async function deliveries(store: PostgresStore): Promise<{ pid: number; position: bigint }[]> {
  const r = await fx.pool.query<{ pid: number; p: string }>(
    `select pid, position::text as p from "${store.schema}".deliveries order by deliveries.position, at`,
  );
  return r.rows.map((row) => ({ pid: row.pid, position: BigInt(row.p) }));
}

/** A schema with the children's tables. */
async function projectionStore(): Promise<PostgresStore> {
  const store = await createPostgresStore(fx.url, { schema: fx.schemaName() });
  await fx.pool.query(`create table "${store.schema}".proj_totals (stream text primary key, n int not null)`);
  await fx.pool.query(`create table "${store.schema}".deliveries (pid int not null, position bigint not null, at timestamptz not null)`);
  return store;
}

const checkpointOf = async (store: PostgresStore, consumer: string) => (await store.checkpoints.get(consumer))?.position ?? 0n;

// Children: tsx runs the TypeScript child script directly (as the demo's projector test does).
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Child {
  pid: number;
  stderr: () => string;
  exited: Promise<void>;
  kill(): Promise<void>;
}

/** Starts consumer-child.ts; resolves once it has subscribed. */
async function startChild(schema: string, options: { leaseTtlMs?: number; delayPerEventMs?: number } = {}): Promise<Child> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const script = fileURLToPath(new URL('./consumer-child.ts', import.meta.url));
  const args = [script, fx.url, schema, 'proj', String(options.leaseTtlMs ?? 10_000), String(options.delayPerEventMs ?? 0)];
  const child = spawn(process.execPath, ['--conditions=@strata/source', '--import', tsx, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
    children.delete(child);
  });
  await waitFor(() => gone || out.includes('subscribed'), 'the child to subscribe', 60_000);
  if (gone) throw new Error(`the child exited before subscribing; its stderr: ${err}`);
  return {
    pid: child.pid as number,
    stderr: () => err,
    exited,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('the listener under chaos', () => {
  it('4 writers append 10,000 events while its backend is killed 10 times: a subscription gets each once, in order', { timeout: 90_000 }, async () => {
    const schema = fx.schemaName();
    const reader = await createPostgresStore(fx.url, { schema });
    // Four writers, each with a pool of its own, stand for four other processes.
    const writers = await Promise.all([1, 2, 3, 4].map(() => createPostgresStore(fx.url, { schema, migrate: false, poolSize: 2 })));
    // Default options: reconnection backoff, timeouts, backstop.
    const listener = await createListener({ connectionString: fx.url });
    const transitions: StateTransition[] = [];
    listener.onStateChange((t) => transitions.push(t));
    const live = listener.attach(reader);
    let writing: Promise<void>[] = [];
    let abandon = false;
    try {
      expect(listener.state).toBe('connected');
      const seen: StoredEvent[] = [];
      // The subscription's default poll interval (5 s on a store with cross-process wake-ups).
      const sub = subscribe(live, { from: 'start', handler: (e) => void seen.push(e) });

      const TOTAL = 10_000;
      const PER_WRITER = TOTAL / writers.length;
      let written = 0;
      writing = writers.map(async (w, k) => {
        let mine = 0;
        while (mine < PER_WRITER && !abandon) {
          const n = Math.min(random(1, 5), PER_WRITER - mine);
          await w.events.append(`w${k}-s${random(0, 4)}`, eventsOf(n));
          mine += n;
          written += n;
          if (Math.random() < 0.3) await sleep(random(0, 4));
        }
      });
      let writingDone = false;
      const allWritten = Promise.all(writing).finally(() => {
        writingDone = true;
      });

      // Ten kills, at random moments of the writing: each waits for the listener to be connected again.
      let kills = 0;
      let killsWhileWriting = 0;
      const thresholds = Array.from({ length: 10 }, () => random(200, TOTAL - 1500)).sort((a, b) => a - b);
      for (const at of thresholds) {
        await waitFor(() => written >= at, 'the writers to get that far', 60_000);
        await waitFor(() => listener.state === 'connected', 'the listener to be connected before a kill', 30_000);
        await sleep(random(0, 30));
        expect(await fx.killListener()).toBe(1);
        kills++;
        if (!writingDone) killsWhileWriting++;
        // Not connected to that backend any more before the next kill.
        await waitFor(() => transitions.filter((t) => t.to === 'reconnecting').length >= kills, 'the listener to notice the kill', 30_000);
      }
      await allWritten;
      expect(kills).toBe(10);

      await waitFor(() => seen.length >= TOTAL, `all ${TOTAL} events (seen ${seen.length})`, 60_000);
      await sleep(200); // anything delivered twice would arrive now
      await sub.stop();

      expect(seen).toHaveLength(TOTAL);
      expect(new Set(seen.map((e) => e.id)).size).toBe(TOTAL);
      for (let i = 1; i < seen.length; i++) {
        if ((seen[i] as StoredEvent).position <= (seen[i - 1] as StoredEvent).position) {
          throw new Error(`position ${seen[i]?.position} delivered after ${seen[i - 1]?.position}`);
        }
      }
      // Exactly the store's events.
      const stored: string[] = [];
      for await (const e of reader.events.readAll()) stored.push(e.id);
      expect(seen.map((e) => e.id)).toEqual(stored);

      await waitFor(() => listener.state === 'connected', 'the listener to end connected', 30_000);
      const health = await listener.health();
      expect(health.reconnects).toBeGreaterThanOrEqual(10);
      expect(health.state).toBe('connected');
      expect(transitions.filter((t) => t.to === 'reconnecting').length).toBeGreaterThanOrEqual(10);
      console.info(`chaos: ${kills} kills, ${killsWhileWriting} while writing; ${health.reconnects} reconnects`);
    } finally {
      abandon = true;
      await Promise.allSettled(writing);
      await listener.close();
      await reader.close();
      for (const w of writers) await w.close();
    }
  });
});

describe('a named consumer in another process', () => {
  it('killed mid-stream and restarted: its projection ends equal to a fresh replay, nothing counted twice', { timeout: 120_000 }, async () => {
    const store = await projectionStore();
    const streams = ['a', 'b', 'c', 'd', 'e'];
    const appending = appendContinuously(store, streams);
    try {
      // A little slow per event, so that the kill lands with work in hand.
      const first = await startChild(store.schema, { delayPerEventMs: 1 });
      await waitFor(async () => (await checkpointOf(store, 'proj')) > 0n && appending.appended > 300, 'the child to project some events', 60_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}; its stderr: ${first.stderr()}`);
        },
      );
      await first.kill();
      const killedAt = await checkpointOf(store, 'proj');
      expect(killedAt).toBeGreaterThan(0n);
      expect(killedAt).toBeLessThan(await store.events.headPosition()); // not all of it
      // What committed is exactly the events up to the checkpoint.
      expect(await projection(store)).toEqual(await replay(store, killedAt));

      const second = await startChild(store.schema);
      const before = appending.appended;
      await waitFor(() => appending.appended > before + 300, 'more appends', 60_000);
      await appending.stop();
      const head = await headOfAll(store, appending.appended);
      await waitFor(async () => (await checkpointOf(store, 'proj')) >= head, 'the checkpoint to reach the head', 60_000).catch((e: Error) => {
        throw new Error(`${e.message}; its stderr: ${second.stderr()}`);
      });
      const expected = await replay(store);
      expect(Object.values(expected).reduce((a, b) => a + b, 0)).toBe(appending.appended);
      expect(await projection(store)).toEqual(expected);
      // Each event delivered (and committed) once, by the first child and then by the second.
      const ds = await deliveries(store);
      expect(ds).toHaveLength(appending.appended);
      expect(new Set(ds.map((d) => d.position)).size).toBe(ds.length);
      expect(new Set(ds.map((d) => d.pid))).toEqual(new Set([first.pid, second.pid]));
      await second.kill();
    } finally {
      await appending.stop();
      await store.close();
    }
  });

  it('run by two processes: one delivers at a time; when it is killed the other takes over and ends equal to a fresh replay', {
    timeout: 120_000,
  }, async () => {
    const store = await projectionStore();
    const appending = appendContinuously(store, ['x', 'y', 'z']);
    // A lease of 2 s instead of the default 10 s, to keep the takeover short.
    const LEASE_MS = 2000;
    try {
      const one = await startChild(store.schema, { leaseTtlMs: LEASE_MS });
      const two = await startChild(store.schema, { leaseTtlMs: LEASE_MS });
      // Both run for a while (several lease periods): only one of them delivers.
      await sleep(3 * LEASE_MS);
      let ds = await deliveries(store);
      expect(ds.length).toBeGreaterThan(0);
      const pids = new Set(ds.map((d) => d.pid));
      expect(pids.size).toBe(1);
      const [activePid] = [...pids];
      const [active, standby] = activePid === one.pid ? [one, two] : [two, one];
      expect(active.pid).toBe(activePid);

      await active.kill();
      const killedAt = Date.now();
      await waitFor(async () => (await deliveries(store)).some((d) => d.pid === standby.pid), 'the other process to take over', LEASE_MS + 15_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}; its stderr: ${standby.stderr()}`);
        },
      );
      const tookOverIn = Date.now() - killedAt;
      const before = appending.appended;
      await waitFor(() => appending.appended > before + 200, 'more appends', 60_000);
      await appending.stop();
      const head = await headOfAll(store, appending.appended);
      await waitFor(async () => (await checkpointOf(store, 'proj')) >= head, 'the checkpoint to reach the head', 60_000);

      expect(await projection(store)).toEqual(await replay(store));
      ds = await deliveries(store);
      expect(ds).toHaveLength(appending.appended);
      expect(new Set(ds.map((d) => d.position)).size).toBe(ds.length);
      // The deliveries do not interleave: the killed process's all come before the other's.
      const last = ds.filter((d) => d.pid === active.pid).at(-1)?.position ?? 0n;
      const firstOfStandby = ds.find((d) => d.pid === standby.pid)?.position ?? 0n;
      expect(last).toBeLessThan(firstOfStandby);
      expect(ds.every((d) => d.pid === active.pid || d.pid === standby.pid)).toBe(true);
      console.info(`two processes: the standby took over ${tookOverIn} ms after the kill (lease ${LEASE_MS} ms)`);
      await standby.kill();
    } finally {
      await appending.stop();
      await store.close();
    }
  });
});

describe('a network path that stalls', () => {
  it('is noticed by the heartbeat; the listener reconnects once it ends, and the subscription gets everything', { timeout: 90_000 }, async () => {
    const schema = fx.schemaName();
    const reader = await createPostgresStore(fx.url, { schema });
    const writer = await createPostgresStore(fx.url, { schema, migrate: false });
    const proxy = await startChaosProxy(fx.url);
    // Only the listener goes through the proxy. A shorter deadline than the default 5 s keeps the test
    // short; no backstop, so that after the reconnection only a notification can deliver.
    const listener = await createListener({ connectionString: proxy.url, timeoutMs: 1000, backstopIntervalMs: NEVER });
    const transitions: StateTransition[] = [];
    listener.onStateChange((t) => transitions.push(t));
    const live = listener.attach(reader);
    try {
      expect(listener.state).toBe('connected');
      const seen: StoredEvent[] = [];
      const sub = subscribe(live, { from: 'start', handler: (e) => void seen.push(e) });
      await writer.events.append('before', eventsOf(3));
      await waitFor(() => seen.length === 3, 'delivery before the stall');

      proxy.stall(true); // silently: no socket is closed
      for (let i = 0; i < 20; i++) await writer.events.append(`during-${i % 4}`, eventsOf(random(1, 5)));
      await waitFor(() => listener.state === 'reconnecting', 'the heartbeat to notice the stall', 30_000);
      expect(transitions.find((t) => t.to === 'reconnecting')?.reason).toMatch(/health query failed/);
      await sleep(1500); // reconnection attempts run into the stall too
      expect(listener.state).not.toBe('connected');
      // The path comes back; the connections that were stuck in it are gone.
      proxy.stall(false);
      proxy.cutAll();
      await waitFor(() => listener.state === 'connected', 'the listener to reconnect', 30_000);
      const head = await reader.events.headPosition();
      await waitFor(() => (seen.at(-1)?.position ?? 0n) >= head, 'everything appended meanwhile', 30_000);

      // Pushed again: with no backstop and a subscription that polls only every 5 s, the wait below is
      // short only because the notification arrives (not asserted as a time: any delivery counts).
      const sub2Seen: StoredEvent[] = [];
      const sub2 = subscribe(live, { from: 'end', pollIntervalMs: NEVER, handler: (e) => void sub2Seen.push(e) });
      await sleep(200);
      await writer.events.append('after', eventsOf(2));
      await waitFor(() => sub2Seen.length === 2, 'a notified delivery after reconnecting');
      await waitFor(() => seen.at(-1)?.streamId === 'after', 'the first subscription too');

      const stored: string[] = [];
      for await (const e of reader.events.readAll()) stored.push(e.id);
      expect(seen.map((e) => e.id)).toEqual(stored);
      const health = await listener.health();
      expect(health.reconnects).toBeGreaterThanOrEqual(1);
      expect(health.state).toBe('connected');
      await sub.stop();
      await sub2.stop();
    } finally {
      proxy.stall(false);
      await listener.close();
      await proxy.close();
      await reader.close();
      await writer.close();
    }
  });
});
