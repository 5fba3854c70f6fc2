import { createInterface } from 'node:readline';
import { Failure } from './failure.js';

/**
 * Where a run of the CLI reads and writes. Every field is optional: the defaults are the process's
 * own streams, environment and terminal. Tests give writers that collect the text.
 */
export interface CliIo {
  /** Receives what the command prints for its user or script. @defaultValue `process.stdout` */
  stdout?: (text: string) => void;
  /** Receives errors, notes, prompts and the progress bar. @defaultValue `process.stderr` */
  stderr?: (text: string) => void;
  /** Where a confirmation's answer is read. @defaultValue `process.stdin` */
  stdin?: NodeJS.ReadableStream;
  /**
   * Whether a person is at a terminal: only then is a destructive command's confirmation asked (without
   * one, such a command needs `--yes`), and the progress bar redrawn in place.
   * @defaultValue whether stdin and stderr are both terminals
   */
  isTTY?: boolean;
  /** The environment, for `STRATA_DB`. @defaultValue `process.env` */
  env?: Readonly<Record<string, string | undefined>>;
  /** Ends `events tail --follow` and stops a rebuild, as Ctrl-C does in the bin. */
  signal?: AbortSignal;
  /** Columns of the terminal, for the progress bar. @defaultValue the terminal's, else 100 */
  columns?: number;
}

/** {@link CliIo} with its defaults filled in. */
export type ResolvedIo = Required<Omit<CliIo, 'signal'>> & { signal: AbortSignal | undefined };

/** Fills in the defaults of `io`. */
export function resolveIo(io: CliIo): ResolvedIo {
  return {
    stdout: io.stdout ?? ((s) => void process.stdout.write(s)),
    stderr: io.stderr ?? ((s) => void process.stderr.write(s)),
    stdin: io.stdin ?? process.stdin,
    isTTY: io.isTTY ?? (process.stdin.isTTY === true && process.stderr.isTTY === true),
    env: io.env ?? process.env,
    signal: io.signal,
    columns: io.columns ?? process.stderr.columns ?? 100,
  };
}

/**
 * Asks `question` (y/N) on stderr and reads one line of stdin, unless `yes`. Without a terminal and
 * without `yes` it refuses: a script must say `--yes` on purpose.
 *
 * @throws `Failure` when refused or answered anything but y/yes
 */
export async function confirm(io: ResolvedIo, question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!io.isTTY) throw new Failure(`refused: ${question.replace(/\?$/, '')} needs confirmation; no terminal to ask on, so pass --yes. Nothing was changed.`);
  io.stderr(`${question} [y/N] `);
  const rl = createInterface({ input: io.stdin, terminal: false });
  const answer = await new Promise<string>((resolve) => {
    let settled = false;
    const onAbort = () => rl.close();
    io.signal?.addEventListener('abort', onAbort, { once: true });
    rl.once('line', (line) => {
      settled = true;
      io.signal?.removeEventListener('abort', onAbort);
      resolve(line);
    });
    rl.once('close', () => {
      io.signal?.removeEventListener('abort', onAbort);
      if (!settled) resolve('');
    });
    if (io.signal?.aborted === true) rl.close();
  });
  rl.close();
  if (io.signal?.aborted === true) {
    io.stderr('\n');
    throw new Failure('interrupted: nothing was changed.', 130);
  }
  if (!/^\s*y(es)?\s*$/i.test(answer)) {
    if (answer === '') io.stderr('\n');
    throw new Failure('not confirmed: nothing was changed.');
  }
}
