/**
 * The `strata` command line, to look into and operate a Strata store on PostgreSQL or SQLite: schema
 * status and migrations, streams and the event log, queues (stats, peek, dead letters, redrive, purge)
 * and named consumers (lag, reset, projection rebuilds with a progress bar). Every command prints
 * aligned tables, or JSON with `--json`.
 *
 * This entry runs the same commands in process, for tests and tools, and types the projection modules
 * `strata consumers rebuild --module` loads.
 *
 * @example
 * ```ts
 * import { run } from '@strata/cli'
 *
 * const code = await run(['queue', 'stats', 'emails', '--db', 'postgres://localhost/app', '--json'])
 * ```
 *
 * @packageDocumentation
 */
export type { CliIo } from './io.js';
export { run } from './program.js';
export type { CliProjection, ProjectionModule } from './projection.js';
