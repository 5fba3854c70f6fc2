import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoredEvent } from '@strata/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-mp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = fileURLToPath(new URL('child.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');
let files = 0;
const freshFile = () => join(dir, `db-${++files}.sqlite`);

function start(...args: string[]): { child: ChildProcess; lines: string[]; done: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['--conditions=@strata/source', '--import', tsx, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  let errors = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (d: Buffer) => (errors += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, done, output: () => `${lines.join('\n')}\n${errors}` };
}

async function until(check: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function collect(it: AsyncIterable<StoredEvent>) {
  const out: StoredEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('several processes on one SQLite file', () => {
  it('4 processes appending with expected versions: no duplicate or missing version, losers get CONCURRENCY', { timeout: 120_000 }, async () => {
    const file = freshFile();
    await (await createSqliteStore(file)).close(); // migrate once up front; children would race to as well
    const perProcess = 200;
    const startAt = String(Date.now() + 3000);
    const workers = Array.from({ length: 4 }, (_, i) => start('append-expected', file, String(perProcess), String(i), startAt));
    const codes = await Promise.all(workers.map((w) => w.done));
    for (const [i, w] of workers.entries()) expect(codes[i], w.output()).toBe(0);
    const results = workers.map((w) => JSON.parse(w.lines.at(-1) ?? '{}') as { appended: number; conflicts: number });
    expect(results.map((r) => r.appended)).toEqual([perProcess, perProcess, perProcess, perProcess]);
    expect(results.reduce((n, r) => n + r.conflicts, 0)).toBeGreaterThan(0); // they really contended

    const store = await createSqliteStore(file);
    const events = await collect(store.events.readStream('shared'));
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 4 * perProcess }, (_, i) => i + 1));
    for (let by = 0; by < 4; by++) {
      const mine = events.filter((e) => (e.data as { by: number }).by === by).map((e) => (e.data as { n: number }).n);
      expect(mine).toEqual(Array.from({ length: perProcess }, (_, i) => i));
    }
    await store.close();
  });

  it('processes opening a new file at the same time migrate it once, safely', { timeout: 60_000 }, async () => {
    const file = freshFile();
    const workers = Array.from({ length: 3 }, (_, i) => start('append-expected', file, '5', String(i)));
    const codes = await Promise.all(workers.map((w) => w.done));
    for (const [i, w] of workers.entries()) expect(codes[i], w.output()).toBe(0);
    const store = await createSqliteStore(file);
    expect((store.client.prepare('SELECT count(*) AS n FROM __strata_migrations').get() as { n: number }).n).toBe(1);
    expect((await store.events.streamInfo('shared'))?.version).toBe(15);
    await store.close();
  });

  it('2 processes receiving from one queue never share a delivery', { timeout: 120_000 }, async () => {
    const file = freshFile();
    const store = await createSqliteStore(file);
    const total = 2000;
    await store.queue.send(
      'work',
      Array.from({ length: total }, (_, i) => ({ body: i })),
    );
    // Both start receiving at the same instant, whatever their start-up times.
    const startAt = String(Date.now() + 3000);
    const workers = [start('receive', file, startAt), start('receive', file, startAt)];
    const codes = await Promise.all(workers.map((w) => w.done));
    for (const [i, w] of workers.entries()) expect(codes[i], w.output()).toBe(0);
    const [a, b] = workers.map((w) => JSON.parse(w.lines.at(-1) ?? '[]') as number[]);
    expect(a?.length).toBeGreaterThan(0);
    expect(b?.length).toBeGreaterThan(0);
    const both = new Set(a);
    expect((b ?? []).filter((x) => both.has(x))).toEqual([]);
    expect(new Set([...(a ?? []), ...(b ?? [])]).size).toBe(total);
    expect(await store.queue.stats('work')).toMatchObject({ ready: 0, inFlight: 0 });
    await store.close();
  });

  it('a subscriber process sees every event another process appends, in order', { timeout: 120_000 }, async () => {
    const file = freshFile();
    await (await createSqliteStore(file)).close();
    const count = 300;
    const subscriber = start('subscribe', file, String(count));
    await until(() => subscriber.lines.includes('"ready"'), 30_000, 'the subscriber');
    const writer = start('append-many', file, String(count));
    expect(await writer.done, writer.output()).toBe(0);
    expect(await subscriber.done, subscriber.output()).toBe(0);
    const written = writer.lines.map((l) => (JSON.parse(l) as { position: string }).position);
    const seen = subscriber.lines.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { position: string }).position);
    expect(seen).toEqual(written);
  });

  it('a process killed with SIGKILL in the middle of an append leaves none or all of the batch', { timeout: 180_000 }, async () => {
    const batch = 150_000;
    let killedMidway = 0;
    for (const delayMs of [50, 150, 300, 600]) {
      const file = freshFile();
      await (await createSqliteStore(file)).close();
      const w = start('big-batch', file, String(batch));
      await until(() => w.lines.includes('"begin"'), 60_000, 'the append to begin');
      await new Promise((r) => setTimeout(r, delayMs));
      w.child.kill('SIGKILL');
      await w.done;
      if (!w.lines.includes('"done"')) killedMidway++;
      const store = await createSqliteStore(file);
      const version = (await store.events.streamInfo('big'))?.version ?? 0;
      const rows = (await store.rowCounts()).events;
      expect([0, batch]).toContain(version);
      expect(rows).toBe(version);
      await store.close();
    }
    expect(killedMidway).toBeGreaterThan(0); // at least one kill landed inside the append
  });
});
