import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StrataStore } from '@strata/core';
import { createTestDatabase } from '@strata/testing/server';
import { afterAll, inject } from 'vitest';
import { type CliIo, run } from '../src/index.js';

/** What a run printed, and its exit code. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in process, with no terminal and an empty environment unless `io` says otherwise. */
export async function cli(args: readonly string[], io: CliIo = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    isTTY: false,
    env: {},
    ...io,
  });
  return { code, stdout, stderr };
}

/** A database of the file's own on the run's PostgreSQL server, and a temp directory; both removed after the file. */
export async function fileResources() {
  const database = await createTestDatabase(inject('strataPostgresUrl'), 'strata_cli');
  const dir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
  afterAll(async () => {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { url: database.url, dir };
}

/** What {@link seed} wrote: positions to check the commands against. */
export interface Seeded {
  head: bigint;
  /** The id of the message received and left in flight in `jobs`. */
  inFlight: string;
}

/**
 * A small store with every kind of thing the commands show: three streams (six events, with metadata),
 * two named consumers, and queues in every state — `jobs` (ready, in flight, delayed), `mail` (two dead
 * letters), `trash` (two ready messages, for purge).
 */
export async function seed(store: StrataStore): Promise<Seeded> {
  const meta = { correlationId: 'c-1', userId: 'u-1' };
  await store.events.append('order-1', [
    { type: 'OrderPlaced', data: { total: 10 }, metadata: meta },
    { type: 'ItemAdded', data: { sku: 'a' }, metadata: meta },
  ]);
  await store.events.append('order-2', [{ type: 'OrderPlaced', data: { total: 20 } }]);
  await store.events.append('order-1', [{ type: 'ItemAdded', data: { sku: 'b' }, metadata: meta }]);
  await store.events.append('order-2', [{ type: 'ItemAdded', data: { sku: 'c' } }]);
  await store.events.append('user-1', [{ type: 'UserRegistered', data: { email: 'secret@example.com' } }]);
  const head = await store.events.headPosition();
  const fourth: bigint[] = [];
  for await (const e of store.events.readAll({ limit: 4 })) fourth.push(e.position);
  await store.checkpoints.set('projector', fourth[3] ?? 0n);
  await store.checkpoints.set('idle', 0n);

  await store.queue.send('jobs', [{ body: { job: 'in-flight' }, priority: 9 }]);
  const [flight] = await store.queue.receive('jobs', { visibilityTimeoutMs: 3_600_000 });
  await store.queue.send('jobs', [
    { body: { job: 'ready' }, headers: { trace: 't-1' } },
    { body: { job: 'urgent' }, priority: 5 },
  ]);
  await store.queue.send('jobs', { body: { job: 'later' } }, { delayMs: 3_600_000 });
  await store.queue.send('mail', [{ body: { to: 'a@example.com' } }, { body: { to: 'b@example.com' } }]);
  for (const d of await store.queue.receive('mail', { max: 2 })) await store.queue.nack(d.receipt, { deadLetter: true, reason: 'bad address' });
  await store.queue.send('trash', [{ body: 1 }, { body: 2 }]);
  return { head, inFlight: flight?.id ?? '' };
}

/** Everything the store holds, for "nothing changed" checks: record counts, queue states, checkpoints. */
export async function fingerprint(store: StrataStore): Promise<string> {
  const queues: Record<string, unknown> = {};
  for (const q of ['jobs', 'mail', 'trash']) {
    const { oldestReadyAgeMs: _age, ...counts } = await store.queue.stats(q);
    queues[q] = counts;
  }
  const checkpoints = (await store.checkpoints.list()).map((c) => `${c.consumer}@${c.position}`);
  return JSON.stringify({ counts: await store.transfer.counts(), queues, checkpoints, head: String(await store.events.headPosition()) });
}
