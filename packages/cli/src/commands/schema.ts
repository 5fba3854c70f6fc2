import { describeTarget, migrateTarget, schemaStatus } from '../connection.js';
import type { Context } from '../context.js';
import { date, table } from '../output.js';

/** `strata schema status`: each shipped migration, applied or pending. Exit 0 when up to date, else 1. */
export async function schemaStatusCommand(ctx: Context): Promise<number> {
  const states = await schemaStatus(ctx.target);
  const upToDate = states.every((s) => s.state === 'applied');
  const pending = states.filter((s) => s.state !== 'applied').length;
  ctx.out.result({ database: describeTarget(ctx.target), upToDate, migrations: states }, () =>
    [
      `${describeTarget(ctx.target)}: ${upToDate ? 'up to date' : `${pending} of ${states.length} migration(s) not applied: run \`strata schema migrate\``}`,
      table(
        [{ header: 'migration' }, { header: 'state' }, { header: 'applied at' }],
        states.map((s) => [s.tag, s.state, date(s.appliedAt)]),
      ),
    ].join('\n'),
  );
  return upToDate ? 0 : 1;
}

/** `strata schema migrate`: applies pending migrations, creating the database or schema if needed. */
export async function schemaMigrateCommand(ctx: Context, init: boolean): Promise<number> {
  const applied = await migrateTarget(ctx.target, init);
  ctx.out.result({ database: describeTarget(ctx.target), applied }, () =>
    applied.length === 0
      ? `${describeTarget(ctx.target)}: already up to date, nothing applied.`
      : `${describeTarget(ctx.target)}: applied ${applied.length} migration(s): ${applied.join(', ')}`,
  );
  return 0;
}
