import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/index.js';

describe('createPgliteStore', () => {
  it('builds an in-memory instance, migrates it, and closes it with the store', async () => {
    const store = await createPgliteStore();
    expect(store.capabilities).toMatchObject({ transactions: true, queue: true, snapshots: true, checkpoints: true, wakeUps: true });
    const r = await store.events.append('s', [{ type: 'A', data: { ok: true } }], { expectedVersion: 'no_stream' });
    expect(r.version).toBe(1);
    await store.close();
    expect(store.pglite.closed).toBe(true);
    await expect(store.events.streamInfo('s')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('persists to a data directory across instances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-pglite-'));
    try {
      const first = await createPgliteStore({ dataDir: dir });
      await first.events.append('kept', [{ type: 'A', data: { n: 1 } }]);
      await first.queue.send('q', { body: 'waiting' });
      await first.close();
      const second = await createPgliteStore({ dataDir: dir });
      expect((await second.events.streamInfo('kept'))?.version).toBe(1);
      expect((await second.queue.receive('q'))[0]?.body).toBe('waiting');
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves an instance it was given open, and shares it between schemas', async () => {
    const pglite = await PGlite.create();
    const a = await createPgliteStore({ pglite, schema: 'tenant_a' });
    const b = await createPgliteStore({ pglite, schema: 'tenant_b' });
    await a.events.append('s', [{ type: 'A', data: {} }]);
    expect(await b.events.streamInfo('s')).toBeNull();
    await a.close();
    expect(pglite.closed).toBe(false);
    expect((await pglite.query<{ n: number }>('select count(*)::int as n from tenant_a.events')).rows[0]?.n).toBe(1);
    await b.close();
    await pglite.close();
  });
});
