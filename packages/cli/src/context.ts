import type { LogFields, StrataLogger, StrataStore } from '@strata/core';
import { openStore, type Target } from './connection.js';
import type { ResolvedIo } from './io.js';
import type { Output } from './output.js';

/** What every command gets: the terminal, its output, where the store is, and `--yes`. */
export interface Context {
  readonly io: ResolvedIo;
  readonly out: Output;
  readonly target: Target;
  readonly yes: boolean;
}

/** Opens the store (read-only on SQLite unless `write`), runs `fn`, closes the store. */
export async function withStore<T>(ctx: Context, write: boolean, fn: (store: StrataStore) => Promise<T>): Promise<T> {
  const opened = await openStore(ctx.target, { write });
  try {
    return await fn(opened.store);
  } finally {
    await opened.close();
  }
}

/**
 * Strata's warnings and errors (a lost connection, retries) on stderr, so that a follow or a rebuild
 * that waits for the database says so instead of going silent. Core's lines never hold a payload.
 */
export function stderrLogger(ctx: Context): StrataLogger {
  const write = (message: string, fields?: LogFields) => {
    const code = typeof fields?.code === 'string' ? ` (${fields.code})` : '';
    ctx.io.stderr(`${message.startsWith('strata:') ? message : `strata: ${message}`}${message.includes(code) ? '' : code}\n`);
  };
  return { debug: () => undefined, info: () => undefined, warn: write, error: write };
}
