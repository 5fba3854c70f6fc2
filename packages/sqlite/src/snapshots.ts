import { type SnapshotStore, validateSnapshot, validateSnapshotLoad, validateStreamId } from '@strata/core';
import type { SqliteContext } from './connection.js';
import { parseJson } from './rows.js';

const SQL = {
  upsert: `INSERT INTO strata_snapshots (stream_id, version, state, schema_version, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (stream_id, version) DO UPDATE SET state = excluded.state, schema_version = excluded.schema_version, created_at = excluded.created_at`,
  prune: `DELETE FROM strata_snapshots WHERE stream_id = ? AND version NOT IN
            (SELECT version FROM strata_snapshots WHERE stream_id = ? ORDER BY version DESC LIMIT ?)`,
  load: `SELECT version, state, schema_version, created_at FROM strata_snapshots
         WHERE stream_id = ? AND version <= ? ORDER BY version DESC LIMIT 1`,
  delete: 'DELETE FROM strata_snapshots WHERE stream_id = ?',
};

/** The SQLite snapshot store, keeping the newest K snapshots per stream. */
export function sqliteSnapshots(ctx: SqliteContext): SnapshotStore {
  const S = ctx.sql;
  return {
    async save(streamId, snapshot) {
      ctx.check('snapshots.save');
      const s = validateSnapshot(streamId, snapshot, ctx.settings.maxPayloadBytes);
      await ctx.write({ operation: 'snapshots.save', streamId: s.streamId }, () => {
        S.get(SQL.upsert).run(s.streamId, s.version, JSON.stringify(s.state), s.schemaVersion, Date.now());
        S.get(SQL.prune).run(s.streamId, s.streamId, ctx.settings.snapshotsToKeep);
      });
    },

    async load(streamId, options) {
      ctx.check('snapshots.load');
      const o = validateSnapshotLoad(streamId, options);
      const row = await ctx.read(
        { operation: 'snapshots.load', streamId: o.streamId },
        () => S.get(SQL.load).get(o.streamId, o.maxVersion) as { version: number; state: string; schema_version: number; created_at: number } | undefined,
      );
      if (row === undefined) return null;
      return {
        streamId: o.streamId,
        version: row.version,
        // Stryker disable next-line all: the names `parseJson` gives stored JSON it cannot parse, which takes a corrupted database file: no correct use of the contracts on a healthy database gets there (errors.test.ts covers it)
        state: parseJson(row.state, `snapshot of stream ${JSON.stringify(o.streamId)}`),
        schemaVersion: row.schema_version,
        createdAt: new Date(row.created_at),
      };
    },

    async delete(streamId) {
      ctx.check('snapshots.delete');
      const id = validateStreamId(streamId);
      await ctx.write({ operation: 'snapshots.delete', streamId: id }, () => {
        S.get(SQL.delete).run(id);
      });
    },
  };
}
