import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isStrataError, subscribe } from '@strata/core';
import { recordingLogger, waitFor } from '@strata/testing/server';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSqliteStore } from '../src/index.js';

const codeOf = (e: unknown) => (isStrataError(e) ? e.code : `not a StrataError: ${String(e)}`);

function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'strata-loss-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

describe('a database file that vanishes under the store', () => {
  it('refuses writes with CONNECTION instead of writing to a file nobody can open again, and says so once', async () => {
    const file = tempFile('app.db');
    const logger = recordingLogger();
    const store = await createSqliteStore(file, { logger });
    onTestFinished(() => store.close());
    await store.events.append('kept', [{ type: 'A', data: {} }]);
    rmSync(file);
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    for (const call of [
      () => store.events.append('lost', [{ type: 'A', data: { card: '4111111111111111' } }]),
      () => store.queue.send('q', { body: 1 }),
      () => store.transaction(async (tx) => tx.events.append('lost', [{ type: 'A', data: {} }])),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(codeOf(error)).toBe('CONNECTION');
      expect((error as Error & { retryable: boolean }).retryable).toBe(false);
      expect((error as Error).message).toMatch(/was removed after the store opened it/);
    }
    expect(await store.events.streamInfo('lost')).toBeNull();
    expect(logger.lines.filter((l) => /connection lost/.test(l.message))).toHaveLength(1);
    expect(JSON.stringify(logger.lines)).not.toContain('4111111111111111');
  });

  it('refuses writes when another file was moved into its place', async () => {
    const file = tempFile('app.db');
    const store = await createSqliteStore(file);
    onTestFinished(() => store.close());
    await store.events.append('s', [{ type: 'A', data: {} }]);
    const other = `${file}.new`;
    writeFileSync(other, '');
    renameSync(other, file);
    expect(codeOf(await store.events.append('s', [{ type: 'B', data: {} }]).catch((e: unknown) => e))).toBe('CONNECTION');
  });
});

describe('the vanished-file guard', () => {
  it('watches the file SQLite opened, whatever the working directory or a symlink do afterwards', async () => {
    const file = tempFile('real.db');
    const dir = dirname(file);
    symlinkSync(file, join(dir, 'current.db'));
    const before = process.cwd();
    process.chdir(dir);
    let store: Awaited<ReturnType<typeof createSqliteStore>>;
    try {
      store = await createSqliteStore('current.db'); // relative, through a symlink
    } finally {
      process.chdir(before);
    }
    onTestFinished(() => store.close());
    await store.events.append('s', [{ type: 'A', data: {} }]);
    // A deploy re-points the symlink: SQLite still has the file it opened, so writes go on.
    writeFileSync(join(dir, 'next.db'), '');
    rmSync(join(dir, 'current.db'));
    symlinkSync(join(dir, 'next.db'), join(dir, 'current.db'));
    await store.events.append('s', [{ type: 'B', data: {} }]);
    expect((await store.events.streamInfo('s'))?.version).toBe(2);
    // The file itself goes: writes stop.
    rmSync(file);
    expect(codeOf(await store.events.append('s', [{ type: 'C', data: {} }]).catch((e: unknown) => e))).toBe('CONNECTION');
  });
});

describe('a connection closed under the store', () => {
  it('turns every call into CONNECTION that no retry can fix, and the store still closes', async () => {
    const client = new Database(tempFile('owned.db'));
    const store = await createSqliteStore(client);
    await store.events.append('s', [{ type: 'A', data: {} }]);
    client.close();
    for (const call of [
      () => store.events.append('s', [{ type: 'B', data: {} }]),
      () => store.events.streamInfo('s'),
      () => store.queue.receive('q'),
      () => store.transaction(async (tx) => tx.events.append('s', [{ type: 'C', data: {} }])),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(codeOf(error)).toBe('CONNECTION');
      expect((error as Error & { retryable: boolean }).retryable).toBe(false);
    }
    await store.close();
  });

  it('inside a transaction: the next statement fails with CONNECTION, and the application’s own error wins', async () => {
    const client = new Database(tempFile('owned.db'));
    const store = await createSqliteStore(client);
    const statement = await store
      .transaction(async (tx) => {
        await tx.events.append('s', [{ type: 'A', data: {} }]);
        client.close();
        await tx.events.append('s', [{ type: 'B', data: {} }]);
      })
      .catch((e: unknown) => e);
    expect(codeOf(statement)).toBe('CONNECTION');

    const reopened = new Database(client.name);
    const again = await createSqliteStore(reopened);
    const mine = new Error('payment declined');
    const app = await again
      .transaction(async (tx) => {
        await tx.events.append('t', [{ type: 'A', data: {} }]);
        reopened.close();
        throw mine;
      })
      .catch((e: unknown) => e);
    expect(app).toBe(mine);
    await store.close();
    await again.close();
  });
});

describe('the cross-process change poll', () => {
  it('reports its failures once and its recovery once, while subscriptions go on polling', async () => {
    const logger = recordingLogger();
    const store = await createSqliteStore(tempFile('poll.db'), { logger, changePollIntervalMs: 5 });
    onTestFinished(() => store.close());
    const seen: string[] = [];
    const sub = subscribe(store, { handler: (e) => void seen.push(e.streamId) });
    onTestFinished(() => sub.stop());
    await store.events.append('before', [{ type: 'A', data: {} }]);
    await waitFor(() => seen.length === 1, 'the first event');
    // Break what the poll reads, from another connection (as a botched manual migration would).
    const other = new Database(store.client.name);
    other.exec('ALTER TABLE strata_events RENAME TO strata_events_away');
    await waitFor(() => logger.lines.some((l) => /looking for commits of other processes failed/.test(l.message)), 'the failure to be reported');
    other.exec('ALTER TABLE strata_events_away RENAME TO strata_events');
    other.close();
    await waitFor(() => logger.lines.some((l) => /works again/.test(l.message)), 'the recovery to be reported');
    expect(logger.lines.filter((l) => /failed/.test(l.message))).toHaveLength(1);
    await store.events.append('after', [{ type: 'A', data: {} }]);
    await waitFor(() => seen.length === 2, 'the event after the recovery');
  });

  it('stops quietly when the application closes the connection it lent the store', async () => {
    const logger = recordingLogger();
    const client = new Database(tempFile('lent.db'));
    const store = await createSqliteStore(client, { logger, changePollIntervalMs: 5 });
    onTestFinished(() => store.close());
    const seen: string[] = [];
    const off = store.wakeUps.onChange((n) => void seen.push(n.kind));
    onTestFinished(off);
    const other = new Database(client.name);
    onTestFinished(() => void other.close());
    other.exec("INSERT INTO strata_checkpoints (consumer, position, updated_at) VALUES ('c', 1, 0)");
    await waitFor(() => seen.length > 0, "the wake-up for the other connection's commit");
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // A closed connection never reopens: no failure to report, no retry.
    expect(logger.lines.filter((l) => /looking for commits/.test(l.message))).toEqual([]);
  });
});
