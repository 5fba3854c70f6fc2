import { type CheckpointStore, ConcurrencyError, validateCheckpointSet, validateConsumerName, validateLease, validateName } from '@strata/core';
import { sql } from 'drizzle-orm';
import { epochMs, NOW, type PgContext } from './context.js';

/** The PostgreSQL checkpoint store: compare-and-set positions and consumer leases. */
export function pgCheckpoints(ctx: PgContext): CheckpointStore {
  const { checkpoints: table, leases } = ctx.names;

  const actual = async (consumer: string): Promise<bigint | null> => {
    const [row] = await ctx.run<{ p: string }>(
      { operation: 'checkpoints.set', consumer },
      sql`select position::text as p from ${table} where consumer = ${consumer}`,
    );
    return row === undefined ? null : BigInt(row.p);
  };

  return {
    async get(consumer) {
      ctx.check('checkpoints.get');
      const name = validateConsumerName(consumer);
      const [row] = await ctx.run<{ p: string; at: number }>(
        { operation: 'checkpoints.get', consumer: name },
        sql`select position::text as p, ${epochMs('updated_at')} as at from ${table} where consumer = ${name}`,
      );
      return row === undefined ? null : { consumer: name, position: BigInt(row.p), updatedAt: new Date(row.at) };
    },

    async list() {
      ctx.check('checkpoints.list');
      // "C" orders bytewise (UTF-8), as SQLite and the memory adapter do, whatever the database's collation.
      const rows = await ctx.run<{ c: string; p: string; at: number }>(
        { operation: 'checkpoints.list' },
        sql`select consumer as c, position::text as p, ${epochMs('updated_at')} as at from ${table} order by consumer collate "C"`,
      );
      return rows.map((row) => ({ consumer: row.c, position: BigInt(row.p), updatedAt: new Date(row.at) }));
    },

    async set(consumer, position, options) {
      ctx.check('checkpoints.set');
      const o = validateCheckpointSet(consumer, position, options);
      const subject = { operation: 'checkpoints.set', consumer: o.consumer };
      const p = o.position.toString();
      if (o.expected === undefined) {
        await ctx.run(
          subject,
          sql`insert into ${table} (consumer, position, updated_at) values (${o.consumer}, ${p}::bigint, ${NOW})
              on conflict (consumer) do update set position = excluded.position, updated_at = excluded.updated_at`,
        );
        return;
      }
      const rows =
        o.expected === null
          ? await ctx.run(
              subject,
              sql`insert into ${table} (consumer, position, updated_at) values (${o.consumer}, ${p}::bigint, ${NOW})
                  on conflict (consumer) do nothing returning 1 as ok`,
            )
          : await ctx.run(
              subject,
              sql`update ${table} set position = ${p}::bigint, updated_at = ${NOW}
                  where consumer = ${o.consumer} and position = ${o.expected.toString()}::bigint returning 1 as ok`,
            );
      if (rows.length === 0) throw ConcurrencyError.forCheckpoint(o.consumer, o.expected, await actual(o.consumer));
    },

    async acquireLease(consumer, options) {
      ctx.check('checkpoints.acquireLease');
      const o = validateLease(consumer, options);
      const rows = await ctx.run(
        { operation: 'checkpoints.acquireLease', consumer: o.consumer },
        sql`insert into ${leases} as l (consumer, owner, expires_at)
            values (${o.consumer}, ${o.owner}, ${NOW} + ${o.ttlMs}::float8 * interval '1 millisecond')
            on conflict (consumer) do update set owner = excluded.owner, expires_at = excluded.expires_at
              where l.owner = excluded.owner or l.expires_at <= ${NOW}
            returning 1 as ok`,
      );
      return rows.length === 1;
    },

    async releaseLease(consumer, owner) {
      ctx.check('checkpoints.releaseLease');
      const name = validateConsumerName(consumer);
      const who = validateName(owner, 'owner');
      await ctx.run({ operation: 'checkpoints.releaseLease', consumer: name }, sql`delete from ${leases} where consumer = ${name} and owner = ${who}`);
    },
  };
}
