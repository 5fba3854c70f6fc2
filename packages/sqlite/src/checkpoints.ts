import { type CheckpointStore, ConcurrencyError, validateCheckpointSet, validateConsumerName, validateLease, validateName } from '@strata/core';
import type { SqliteContext } from './connection.js';

const SQL = {
  get: 'SELECT CAST(position AS TEXT) AS p, updated_at FROM strata_checkpoints WHERE consumer = ?',
  // BINARY (the default) compares UTF-8 bytes in a UTF-8 database, the order of PostgreSQL's "C".
  list: 'SELECT consumer, CAST(position AS TEXT) AS p, updated_at FROM strata_checkpoints ORDER BY consumer COLLATE BINARY',
  upsert: `INSERT INTO strata_checkpoints (consumer, position, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
  lease: 'SELECT owner, expires_at FROM strata_consumer_leases WHERE consumer = ?',
  takeLease: `INSERT INTO strata_consumer_leases (consumer, owner, expires_at) VALUES (?, ?, ?)
              ON CONFLICT (consumer) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
  release: 'DELETE FROM strata_consumer_leases WHERE consumer = ? AND owner = ?',
};

/** The SQLite checkpoint store: compare-and-set positions and consumer leases. */
export function sqliteCheckpoints(ctx: SqliteContext): CheckpointStore {
  const S = ctx.sql;
  const current = (consumer: string) => S.get(SQL.get).get(consumer) as { p: string; updated_at: number } | undefined;
  return {
    async get(consumer) {
      ctx.check('checkpoints.get');
      const name = validateConsumerName(consumer);
      const row = await ctx.read({ operation: 'checkpoints.get', consumer: name }, () => current(name));
      return row === undefined ? null : { consumer: name, position: BigInt(row.p), updatedAt: new Date(row.updated_at) };
    },

    async list() {
      ctx.check('checkpoints.list');
      const rows = await ctx.read({ operation: 'checkpoints.list' }, () => S.get(SQL.list).all() as { consumer: string; p: string; updated_at: number }[]);
      return rows.map((row) => ({ consumer: row.consumer, position: BigInt(row.p), updatedAt: new Date(row.updated_at) }));
    },

    async set(consumer, position, options) {
      ctx.check('checkpoints.set');
      const o = validateCheckpointSet(consumer, position, options);
      await ctx.write({ operation: 'checkpoints.set', consumer: o.consumer }, () => {
        const row = current(o.consumer);
        const actual = row === undefined ? null : BigInt(row.p);
        if (o.expected !== undefined && o.expected !== actual) throw ConcurrencyError.forCheckpoint(o.consumer, o.expected, actual);
        S.get(SQL.upsert).run(o.consumer, o.position, Date.now());
      });
    },

    async acquireLease(consumer, options) {
      ctx.check('checkpoints.acquireLease');
      const o = validateLease(consumer, options);
      return ctx.write({ operation: 'checkpoints.acquireLease', consumer: o.consumer }, () => {
        const now = Date.now();
        const lease = S.get(SQL.lease).get(o.consumer) as { owner: string; expires_at: number } | undefined;
        if (lease !== undefined && lease.owner !== o.owner && lease.expires_at > now) return false;
        S.get(SQL.takeLease).run(o.consumer, o.owner, now + o.ttlMs);
        return true;
      });
    },

    async releaseLease(consumer, owner) {
      ctx.check('checkpoints.releaseLease');
      const name = validateConsumerName(consumer);
      const who = validateName(owner, 'owner');
      await ctx.write({ operation: 'checkpoints.releaseLease', consumer: name }, () => {
        S.get(SQL.release).run(name, who);
      });
    },
  };
}
