import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { StrataStore } from '@strata/core';
import { createPostgresStore } from '@strata/postgres';
import { createSqliteStore } from '@strata/sqlite';
import { waitFor } from '@strata/testing/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, fileResources, fingerprint, type Seeded, seed } from './fixtures.js';

const fx = await fileResources();

/** A projection module as a user writes one: a named export and a default export, in-memory read models. */
const modulePath = join(fx.dir, 'projections.mjs');
writeFileSync(
  modulePath,
  `export const projections = [{
  consumer: 'projector',
  clear: async () => { globalThis.cliTestRows = [] },
  handler: async (e) => { globalThis.cliTestRows.push(e.position.toString()) },
}, {
  consumer: 'slow',
  batchSize: 1,
  clear: async () => {},
  handler: () => new Promise((resolve) => setTimeout(resolve, 100)),
}, {
  consumer: 'failing',
  clear: async () => {},
  handler: async (e) => { if (e.version === 2) throw new Error('cannot project ' + e.streamId) },
}]
export default {
  consumer: 'orders',
  types: ['OrderPlaced'],
  batchSize: 1,
  clear: async () => { globalThis.cliTestOrders = [] },
  handler: async (e) => { globalThis.cliTestOrders.push(e.streamId) },
}
`,
);
const rows = () => (globalThis as { cliTestRows?: string[] }).cliTestRows;
const orders = () => (globalThis as { cliTestOrders?: string[] }).cliTestOrders;

interface Engine {
  name: string;
  open: () => Promise<{ store: StrataStore; db: string[] }>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    open: async () => {
      const path = join(fx.dir, 'app.db');
      return { store: await createSqliteStore(path), db: ['--db', path] };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const schema = `cli_${Math.random().toString(36).slice(2, 8)}`;
      return { store: await createPostgresStore(fx.url, { schema }), db: ['--db', fx.url, '--schema', schema] };
    },
  },
];

describe.each(engines)('strata on $name', (engine) => {
  let store: StrataStore;
  let db: string[];
  let seeded: Seeded;
  const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

  beforeAll(async () => {
    ({ store, db } = await engine.open());
    Object.assign(globalThis, { cliTestRows: undefined, cliTestOrders: undefined });
    seeded = await seed(store);
  });
  afterAll(() => store.close());

  it('schema status and migrate: up to date, nothing to apply', async () => {
    const status = await cli(['schema', 'status', ...db]);
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toMatch(/: up to date\nmigration\s+state\s+applied at\n0000_init\s+applied\s+\d{4}-/);
    const report = json((await cli(['schema', 'status', ...db, '--json'])).stdout) as { upToDate: boolean; migrations: { state: string }[] };
    expect(report.upToDate).toBe(true);
    expect(report.migrations.map((m) => m.state)).toEqual(report.migrations.map(() => 'applied'));
    const migrate = await cli(['schema', 'migrate', ...db, '--json']);
    expect(migrate.code).toBe(0);
    expect(json(migrate.stdout)).toMatchObject({ applied: [] });
  });

  it('streams list and show: aligned tables, --prefix, --limit, --data, JSON', async () => {
    const list = await cli(['streams', 'list', ...db]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^stream\s+version\s+created\s+updated\norder-1\s+3\s+\d{4}-.*\norder-2\s+2\s.*\nuser-1\s+1\s/);
    const some = json((await cli(['streams', 'list', ...db, '--prefix', 'order-', '--limit', '1', '--json'])).stdout);
    expect(some).toMatchObject({ more: true, streams: [{ streamId: 'order-1', version: 3 }] });
    expect(json((await cli(['streams', 'list', ...db, '--prefix', 'order-2', '--json'])).stdout)).toMatchObject({
      more: false,
      streams: [{ streamId: 'order-2' }],
    });

    const show = await cli(['streams', 'show', 'order-1', ...db]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/version\s+position\s+type\s+recorded at\s+metadata\n\s*1\s+\d+\s+OrderPlaced\s+\d{4}-\S+\s+\{.*"correlationId":"c-1".*\}\n/);
    expect(show.stdout).not.toMatch(/total/);
    const last = json((await cli(['streams', 'show', 'order-1', ...db, '--limit', '2', '--data', '--json'])).stdout);
    expect(last).toMatchObject({
      stream: { version: 3, eventCount: 3 },
      events: [
        { version: 2, data: { sku: 'a' } },
        { version: 3, data: { sku: 'b' } },
      ],
    });
    const unknown = await cli(['streams', 'show', 'nope', ...db]);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/no stream "nope"/);
  });

  it('events tail: the last events, by type, and --follow until interrupted', async () => {
    const tail = json({ stdout: (await cli(['events', 'tail', ...db, '--limit', '2', '--json'])).stdout }.stdout) as unknown as { type: string }[];
    expect(tail.map((e) => e.type)).toEqual(['ItemAdded', 'UserRegistered']);
    const placed = JSON.parse((await cli(['events', 'tail', ...db, '--type', 'OrderPlaced', '--type', 'UserRegistered', '--json'])).stdout) as {
      streamId: string;
    }[];
    expect(placed.map((e) => e.streamId)).toEqual(['order-1', 'order-2', 'user-1']);
    const human = await cli(['events', 'tail', ...db, '--limit', '1']);
    expect(human.stdout).toMatch(/position\s+stream\s+version\s+type\s+recorded at\s+metadata\n\s+\d+\s+user-1\s+1\s+UserRegistered/);
    expect(human.stdout).not.toMatch(/secret/);

    const stop = new AbortController();
    let out = '';
    let err = '';
    const following = cli(['events', 'tail', ...db, '--limit', '1', '--follow', '--json', '--type', 'Shipped'], {
      signal: stop.signal,
      stdout: (s) => {
        out += s;
      },
      stderr: (s) => {
        err += s;
      },
    });
    await waitFor(() => err.includes('following from position'), 'the tail to follow');
    await store.events.append('order-9', [{ type: 'Ignored', data: {} }]);
    await store.events.append('order-9', [{ type: 'Shipped', data: {} }]);
    await waitFor(() => out.includes('"order-9"'), 'the new event');
    stop.abort();
    expect((await following).code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['Shipped']);
  });

  it('queue stats, peek and dead-letters: JSON and tables; peek claims nothing', async () => {
    const before = await fingerprint(store);
    const stats = await cli(['queue', 'stats', 'jobs', ...db]);
    expect(stats.stdout).toMatch(/queue\s+ready\s+in flight\s+delayed\s+dead\s+oldest ready\njobs\s+2\s+1\s+1\s+0\s+[\d.]+ s/);
    expect(json((await cli(['queue', 'stats', 'mail', ...db, '--json'])).stdout)).toMatchObject({ queue: 'mail', ready: 0, deadLettered: 2 });

    const peek = json((await cli(['queue', 'peek', 'jobs', ...db, '--json', '--data'])).stdout) as { messages: { state: string; body: { job: string } }[] };
    expect(peek.messages.map((m) => [m.state, m.body.job])).toEqual([
      ['in flight', 'in-flight'],
      ['ready', 'urgent'],
      ['ready', 'ready'],
      ['delayed', 'later'],
    ]);
    const peekTable = await cli(['queue', 'peek', 'jobs', ...db, '--limit', '2']);
    expect(peekTable.stdout).toMatch(/id\s+state\s+priority\s+attempt\s+enqueued at\s+visible at\s+headers\n\S+\s+in flight\s+9\s+1\/5/);
    expect(peekTable.stdout).toMatch(/first 2 of 4 in receive order/);
    expect(peekTable.stdout).not.toMatch(/urgent/);

    const dead = await cli(['queue', 'dead-letters', 'mail', ...db]);
    expect(dead.stdout).toMatch(/id\s+attempts\s+enqueued at\s+dead since\s+reason\n\S+\s+1\s+\S+\s+\S+\s+bad address/);
    expect(dead.stdout).not.toMatch(/example\.com/);
    expect(json((await cli(['queue', 'dead-letters', 'mail', ...db, '--json', '--data'])).stdout)).toMatchObject({
      deadLettered: 2,
      deadLetters: [{ reason: 'bad address', body: { to: 'a@example.com' } }, { body: { to: 'b@example.com' } }],
    });
    expect(await fingerprint(store)).toBe(before);
  });

  it('an unknown queue or consumer: a clear message, exit 1, nothing changed', async () => {
    const before = await fingerprint(store);
    for (const args of [
      ['queue', 'stats', 'nope'],
      ['queue', 'peek', 'nope'],
      ['queue', 'dead-letters', 'nope'],
      ['queue', 'redrive', 'nope', '--yes'],
      ['queue', 'purge', 'nope', '--yes'],
    ]) {
      const r = await cli([...args, ...db]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(r.stderr).toBe('strata: no queue "nope": no message, live or dead-lettered, is stored under that name\n');
    }
    for (const args of [
      ['consumers', 'lag', 'nope'],
      ['consumers', 'reset', 'nope', '--yes'],
    ]) {
      const r = await cli([...args, ...db]);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(/no consumer "nope": no checkpoint is stored under that name/);
    }
    const asJson = await cli(['queue', 'stats', 'nope', ...db, '--json']);
    expect(json(asJson.stdout)).toMatchObject({ error: { code: 'FAILED', message: expect.stringMatching(/no queue "nope"/) } });
    expect(await fingerprint(store)).toBe(before);
  });

  it('consumers list and lag', async () => {
    const list = await cli(['consumers', 'list', ...db]);
    expect(list.stdout).toMatch(/consumer\s+position\s+updated at\nidle\s+0\s+\d{4}-\S+\nprojector\s+\d+\s/);
    const lag = json((await cli(['consumers', 'lag', ...db, '--json'])).stdout) as {
      head: string;
      consumers: { consumer: string; eventsBehind: number; atLeast: boolean; secondsBehind: number }[];
    };
    const head = await store.events.headPosition();
    expect(lag.head).toBe(String(head));
    const countAfter = async (position: bigint) => {
      let n = 0;
      for await (const _ of store.events.readAll({ after: position })) n++;
      return n;
    };
    expect(lag.consumers.map((c) => [c.consumer, c.eventsBehind, c.atLeast])).toEqual([
      ['idle', await countAfter(0n), false],
      ['projector', await countAfter((await store.checkpoints.get('projector'))?.position ?? 0n), false],
    ]);
    expect(lag.consumers[0]?.secondsBehind).toBeGreaterThanOrEqual(0);
    const one = await cli(['consumers', 'lag', 'idle', ...db]);
    expect(one.stdout).toMatch(/consumer\s+position\s+head\s+events behind\s+seconds behind\s+updated at\nidle\s+0\s+\d+\s+8\s+[\d.]+\s+\d{4}-/);
  });

  it('destructive commands without --yes and no terminal refuse and change nothing; a "n" refuses, a "y" or --yes does it', async () => {
    const before = await fingerprint(store);
    for (const args of [
      ['queue', 'purge', 'trash'],
      ['queue', 'redrive', 'mail'],
      ['consumers', 'reset', 'projector'],
      ['consumers', 'rebuild', 'projector', '--module', modulePath],
    ]) {
      const r = await cli([...args, ...db]);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(/^strata: refused: .* needs confirmation; no terminal to ask on, so pass --yes\. Nothing was changed\.\n$/);
      const no = await cli([...args, ...db], { isTTY: true, stdin: answer('n\n') });
      expect({ args, code: no.code }).toEqual({ args, code: 1 });
      expect(no.stderr).toMatch(/\? \[y\/N\] strata: not confirmed: nothing was changed\.\n$/);
    }
    // Ctrl-C at the prompt: no change, exit 130, the prompt's line ended.
    const silent = new PassThrough();
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 50);
    const ctrlC = await cli(['queue', 'purge', 'trash', ...db], { isTTY: true, stdin: silent, signal: interrupt.signal });
    expect(ctrlC.code).toBe(130);
    expect(ctrlC.stderr).toMatch(/\? \[y\/N\] \nstrata: interrupted: nothing was changed\.\n$/);
    expect(rows()).toBeUndefined();
    expect(await fingerprint(store)).toBe(before);

    const purge = await cli(['queue', 'purge', 'trash', ...db], { isTTY: true, stdin: answer('y\n') });
    expect(purge.code).toBe(0);
    expect(purge.stderr).toMatch(/Delete all 2 message\(s\) of queue "trash" \(2 ready, 0 in flight, 0 delayed, 0 dead\)\? \[y\/N\] $/);
    expect(purge.stdout).toBe('Purged 2 message(s) of queue "trash".\n');
    expect(await store.queue.stats('trash')).toMatchObject({ ready: 0 });

    const [firstDead] = await store.queue.deadLetters('mail');
    const one = await cli(['queue', 'redrive', 'mail', '--id', firstDead?.id ?? '', '--yes', ...db, '--json']);
    expect(json(one.stdout)).toEqual({ queue: 'mail', redriven: 1 });
    const all = await cli(['queue', 'redrive', 'mail', '--yes', ...db]);
    expect(all.stdout).toBe('Redrove 1 message(s) of queue "mail".\n');
    expect(await store.queue.stats('mail')).toMatchObject({ ready: 2, deadLettered: 0 });
    // Ids that name nothing: exit 1 even when the queue has no dead letter left.
    const none = await cli(['queue', 'redrive', 'mail', '--id', firstDead?.id ?? '', '--yes', ...db]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/none of the 1 id\(s\) given named a dead letter of this queue/);

    const head = await store.events.headPosition();
    const past = await cli(['consumers', 'reset', 'projector', '--to', String(head + 1n), '--yes', ...db]);
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(/is past the head of the log/);
    const reset = await cli(['consumers', 'reset', 'projector', '--to', '1', '--yes', ...db, '--json']);
    expect(reset.code).toBe(0);
    expect(json(reset.stdout)).toMatchObject({ consumer: 'projector', to: '1' });
    expect((await store.checkpoints.get('projector'))?.position).toBe(1n);
    const toZero = await cli(['consumers', 'reset', 'projector', '--yes', ...db]);
    expect(toZero.stdout).toBe('Consumer "projector" moved from position 1 to 0.\n');
  });

  it("consumers rebuild: replays into the module's projection up to the head seen at the start, with a summary", async () => {
    const head = await store.events.headPosition();
    const r = await cli(['consumers', 'rebuild', 'projector', '--module', modulePath, '--yes', ...db]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/rebuilding projector \[.*\] 100% \| 8\/8 events \| [\d,]+\/s \| ETA (--|\d+s|\d+m\d\ds) \| position \d+/);
    expect(r.stdout).toMatch(
      new RegExp(
        `^Rebuilt "projector": \\d+ event\\(s\\) in [\\d.]+ s \\([\\d,]+ events/s\\), checkpoint at position ${head} \\(head at start ${head}\\)\\.\n$`,
      ),
    );
    const all: string[] = [];
    for await (const e of store.events.readAll()) all.push(e.position.toString());
    expect(rows()).toEqual(all);
    expect((await store.checkpoints.get('projector'))?.position).toBe(head);

    // A new consumer (allowed for rebuild), a type filter whose last event is before the head.
    const placed = await cli(['consumers', 'rebuild', 'orders', '--module', modulePath, '--yes', ...db, '--json']);
    expect(placed.code).toBe(0);
    expect(placed.stderr).toBe('');
    expect(json(placed.stdout)).toMatchObject({ consumer: 'orders', events: 2, head: String(head), interrupted: false });
    expect(orders()).toEqual(['order-1', 'order-2']);

    for (const [args, message] of [
      [['--module', join(fx.dir, 'missing.mjs')], /no projection module at/],
      [['--module', modulePath, '--yes'], /has no projection for consumer "other" \(it has "projector", "slow", "failing", "orders"\)/],
    ] as const) {
      const bad = await cli(['consumers', 'rebuild', 'other', ...args, ...db]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(message);
    }
    expect(await store.checkpoints.get('other')).toBeNull();

    // Interrupted (Ctrl-C in the bin): stops where it is, exit 130, the checkpoint short of the head.
    const stop = new AbortController();
    let err = '';
    const slow = cli(['consumers', 'rebuild', 'slow', '--module', modulePath, '--yes', ...db], {
      signal: stop.signal,
      stderr: (text) => {
        err += text;
      },
    });
    await waitFor(() => err.includes('rebuilding slow'), 'the rebuild to start');
    await new Promise((r) => setTimeout(r, 250));
    stop.abort();
    const interrupted = await slow;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stdout).toMatch(
      /^Interrupted: "slow" replayed \d+ event\(s\) in [\d.]+ s and stands at position \d+; run the rebuild again to start over\.\n$/,
    );
    expect((await store.checkpoints.get('slow'))?.position ?? 0n).toBeLessThan(head);

    // A handler that throws: exit 1, where it stopped, the checkpoint before the failing event.
    const failed = await cli(['consumers', 'rebuild', 'failing', '--module', modulePath, '--yes', ...db]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/strata: the rebuild of "failing" stopped at position \d+: the projection's handler threw \(Error\)/);
    // The handler's message may quote event data: never printed.
    expect(failed.stderr).not.toContain('cannot project');
    const firstOfOrder1: bigint[] = [];
    for await (const e of store.events.readStream('order-1', { limit: 1 })) firstOfOrder1.push(e.position);
    expect((await store.checkpoints.get('failing'))?.position).toBe(firstOfOrder1[0]);
    expect(seeded.inFlight).not.toBe('');
  });
});

function answer(text: string): NodeJS.ReadableStream {
  const input = new PassThrough();
  input.end(text);
  return input;
}
