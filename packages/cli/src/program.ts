import { isStrataError } from '@strata/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { consumersLagCommand, consumersListCommand, consumersRebuildCommand, consumersResetCommand } from './commands/consumers.js';
import { eventsTailCommand } from './commands/events.js';
import { queueDeadLettersCommand, queuePeekCommand, queuePurgeCommand, queueRedriveCommand, queueStatsCommand } from './commands/queue.js';
import { schemaMigrateCommand, schemaStatusCommand } from './commands/schema.js';
import { streamsListCommand, streamsShowCommand } from './commands/streams.js';
import { parseTarget } from './connection.js';
import type { Context } from './context.js';
import { Failure } from './failure.js';
import { type CliIo, type ResolvedIo, resolveIo } from './io.js';
import { json, Output } from './output.js';

/** Options every command takes. */
interface CommonFlags {
  db?: string;
  schema?: string;
  timeout?: number;
  json?: boolean;
  yes?: boolean;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > 1_000_000) throw new InvalidArgumentError('must be an integer from 1 to 1000000');
  return n;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Adds the connection and output options to a command. */
function common(command: Command, destructive = false): Command {
  command
    .option('--db <target>', 'a postgres:// URL or the path of a SQLite file (default: $STRATA_DB)')
    .option('--schema <name>', 'the PostgreSQL schema (default: strata)')
    .option('--timeout <seconds>', 'longest wait for one PostgreSQL query (default: 30; 300 for schema migrate)', positiveInteger)
    .option('--json', 'print machine-readable JSON on stdout');
  if (destructive) command.option('-y, --yes', 'do it without asking for confirmation');
  return command;
}

/**
 * Builds the program. Each action runs through `execute`, which opens nothing itself: the commands
 * open the store they need and close it.
 */
function program(io: ResolvedIo, setCode: (code: number) => void): Command {
  const execute =
    <A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<number>) =>
    async (...args: unknown[]) => {
      const command = args.at(-1) as Command;
      const flags = command.opts<CommonFlags>();
      const out = new Output(io, flags.json === true);
      try {
        const target = parseTarget(flags.db ?? io.env.STRATA_DB, flags.schema, flags.timeout);
        // Commander passes the arguments, then the options, then the command.
        setCode(await fn({ io, out, target, yes: flags.yes === true }, ...(args.slice(0, -1) as A)));
      } catch (error) {
        setCode(report(io, out, error));
      }
    };

  const root = new Command()
    .name('strata')
    .description('Look into and operate a Strata store: a PostgreSQL schema or a SQLite file.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 refused, failed or not found, 2 bad arguments, 130 interrupted.\nThe database: --db <postgres-url | sqlite-path>, or the STRATA_DB environment variable.',
    );

  const schema = root.command('schema').description("Strata's tables: their migrations");
  common(schema.command('status').description('applied and pending migrations (exit 1 unless up to date)')).action(execute((ctx) => schemaStatusCommand(ctx)));
  common(schema.command('migrate').description('apply pending migrations (creates the SQLite file or PostgreSQL schema if missing)'))
    .option('--init', "add Strata's tables to a SQLite file that already holds other tables")
    .action(execute((ctx, options: { init?: boolean }) => schemaMigrateCommand(ctx, options.init === true)));

  const streams = root.command('streams').description('streams of events');
  common(streams.command('list').description('streams, in stream id order'))
    .option('--prefix <p>', 'only stream ids starting with p')
    .option('--limit <n>', 'most streams to list', positiveInteger, 100)
    .action(execute((ctx, options: { prefix?: string; limit: number }) => streamsListCommand(ctx, options)));
  common(streams.command('show').description("a stream's info and its last events").argument('<id>', 'the stream id'))
    .option('--limit <n>', 'most events to show (the last ones)', positiveInteger, 50)
    .option('--data', "show the events' data too")
    .action(
      execute((ctx, id: string, options: { limit: number; data?: boolean }) =>
        streamsShowCommand(ctx, id, { limit: options.limit, data: options.data === true }),
      ),
    );

  const events = root.command('events').description('the global log of events');
  common(events.command('tail').description('the last events of the log; with --follow, new ones as they come (Ctrl-C stops)'))
    .option('--type <type>', 'only events of this type (repeat for more)', collect)
    .option('--limit <n>', 'how many past events to show', positiveInteger, 20)
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--data', "show the events' data too")
    .action(
      execute((ctx, options: { type?: string[]; limit: number; follow?: boolean; data?: boolean }) =>
        eventsTailCommand(ctx, {
          ...(options.type === undefined ? {} : { types: options.type }),
          limit: options.limit,
          follow: options.follow === true,
          data: options.data === true,
        }),
      ),
    );

  const queue = root.command('queue').description('message queues');
  common(queue.command('stats').description("a queue's messages by state").argument('<queue>')).action(
    execute((ctx, name: string) => queueStatsCommand(ctx, name)),
  );
  common(queue.command('peek').description('ready, delayed and in-flight messages in receive order, without claiming them').argument('<queue>'))
    .option('--limit <n>', 'most messages to show', positiveInteger, 20)
    .option('--data', "show the messages' bodies too")
    .action(
      execute((ctx, name: string, options: { limit: number; data?: boolean }) =>
        queuePeekCommand(ctx, name, { limit: options.limit, data: options.data === true }),
      ),
    );
  common(queue.command('dead-letters').description("a queue's dead letters, oldest first").argument('<queue>'))
    .option('--limit <n>', 'most dead letters to show', positiveInteger, 100)
    .option('--data', "show the messages' bodies too")
    .action(
      execute((ctx, name: string, options: { limit: number; data?: boolean }) =>
        queueDeadLettersCommand(ctx, name, { limit: options.limit, data: options.data === true }),
      ),
    );
  common(queue.command('redrive').description('put dead letters back as fresh messages (asks first)').argument('<queue>'), true)
    .option('--id <id>', 'only this dead letter (repeat for more)', collect)
    .action(execute((ctx, name: string, options: { id?: string[] }) => queueRedriveCommand(ctx, name, options.id)));
  common(queue.command('purge').description('delete every message of a queue, in every state (asks first)').argument('<queue>'), true).action(
    execute((ctx, name: string) => queuePurgeCommand(ctx, name)),
  );

  const consumers = root.command('consumers').description("named consumers' checkpoints");
  common(consumers.command('list').description('every checkpoint')).action(execute((ctx) => consumersListCommand(ctx)));
  common(consumers.command('lag').description('positions and seconds behind the head, of one consumer or all').argument('[name]')).action(
    execute((ctx, name: string | undefined) => consumersLagCommand(ctx, name)),
  );
  common(consumers.command('reset').description("set a consumer's checkpoint (asks first)").argument('<name>'), true)
    .option('--to <position>', 'the new position (0 replays everything)', '0')
    .action(execute((ctx, name: string, options: { to: string }) => consumersResetCommand(ctx, name, options.to)));
  common(consumers.command('rebuild').description("clear a projection's read model and replay the log into it (asks first)").argument('<name>'), true)
    .addOption(new Option('--module <path>', 'an ES module exporting the projection (`projections` or default)').makeOptionMandatory())
    .action(execute((ctx, name: string, options: { module: string }) => consumersRebuildCommand(ctx, name, options.module)));
  return root;
}

/** Writes the error for people (stderr) and, with `--json`, as JSON on stdout; returns the exit code. */
function report(io: ResolvedIo, out: Output, error: unknown): number {
  let code: string;
  let exit: number;
  let message: string;
  if (error instanceof Failure) {
    code = exitName(error.exitCode);
    exit = error.exitCode;
    message = error.message;
  } else if (isStrataError(error)) {
    code = error.code;
    exit = error.code === 'VALIDATION' ? 2 : 1;
    message = error.message;
  } else {
    code = 'INTERNAL';
    exit = 1;
    message = error instanceof Error ? error.message : String(error);
  }
  io.stderr(`strata: ${message}\n`);
  if (out.asJson) io.stdout(`${json({ error: { code, message } })}\n`);
  return exit;
}

const exitName = (exit: number) => (exit === 2 ? 'USAGE' : exit === 130 ? 'INTERRUPTED' : 'FAILED');

/**
 * Runs the `strata` command line in process: `argv` holds the arguments after the program's name
 * (`['queue', 'stats', 'jobs', '--db', './app.db']`).
 *
 * Exit codes: 0 done; 1 refused (no confirmation, an unknown queue or consumer, a database that is not
 * an up-to-date Strata database), failed (cannot connect) or `schema status` not up to date; 2 bad
 * arguments; 130 interrupted rebuild.
 *
 * @example
 * ```ts
 * import { run } from '@strata/cli'
 *
 * const lines: string[] = []
 * const code = await run(['consumers', 'lag', '--db', './app.db', '--json'], { stdout: (s) => lines.push(s) })
 * ```
 * @returns the exit code
 */
export async function run(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  let code = 0;
  const root = program(resolved, (c) => {
    code = c;
  });
  try {
    await root.parseAsync(argv as string[], { from: 'user' });
  } catch (error) {
    const exitCode = (error as { exitCode?: number }).exitCode;
    if (typeof exitCode === 'number') return exitCode === 0 ? 0 : 2;
    resolved.stderr(`strata: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return code;
}
