import { type JsonValue, type SnapshotStore, validateSnapshot, validateSnapshotLoad, validateStreamId } from '@strata/core';
import { sql } from 'drizzle-orm';
import { epochMs, NOW, type PgContext } from './context.js';
import { assertFitsJsonb } from './limits.js';

/** The PostgreSQL snapshot store, keeping the newest K snapshots per stream. */
export function pgSnapshots(ctx: PgContext): SnapshotStore {
  const { snapshots: table } = ctx.names;
  const keep = ctx.settings.snapshotsToKeep;
  return {
    async save(streamId, snapshot) {
      ctx.check('snapshots.save');
      const s = validateSnapshot(streamId, snapshot, ctx.settings.maxPayloadBytes);
      const state = JSON.stringify(s.state);
      assertFitsJsonb(state, () => s.state, 'snapshot.state');
      // One statement: delete what falls out of the newest K once this version is in, and insert it
      // only if it is itself among the newest K.
      await ctx.run(
        { operation: 'snapshots.save', streamId: s.streamId },
        sql`with ranked as (
              select version, row_number() over (order by version desc) as rn
              from ${table} where stream_id = ${s.streamId} and version <> ${s.version}
            ), pruned as (
              delete from ${table} t using ranked r
              where t.stream_id = ${s.streamId} and t.version = r.version
                and r.rn + (case when ${s.version} > r.version then 1 else 0 end) > ${keep}
            )
            insert into ${table} (stream_id, version, state, schema_version, created_at)
            select ${s.streamId}, ${s.version}, ${state}::jsonb, ${s.schemaVersion}, ${NOW}
            where (select count(*) from ranked where version > ${s.version}) < ${keep}
            on conflict (stream_id, version) do update
              set state = excluded.state, schema_version = excluded.schema_version, created_at = excluded.created_at`,
      );
    },

    async load(streamId, options) {
      ctx.check('snapshots.load');
      const o = validateSnapshotLoad(streamId, options);
      const [row] = await ctx.run<{ v: string; state: JsonValue; sv: number; at: number }>(
        { operation: 'snapshots.load', streamId: o.streamId },
        sql`select version::text as v, state, schema_version as sv, ${epochMs('created_at')} as at
            from ${table} where stream_id = ${o.streamId} and version <= ${o.maxVersion} order by version desc limit 1`,
      );
      if (row === undefined) return null;
      return { streamId: o.streamId, version: Number(row.v), state: row.state, schemaVersion: row.sv, createdAt: new Date(row.at) };
    },

    async delete(streamId) {
      ctx.check('snapshots.delete');
      const id = validateStreamId(streamId);
      await ctx.run({ operation: 'snapshots.delete', streamId: id }, sql`delete from ${table} where stream_id = ${id}`);
    },
  };
}
