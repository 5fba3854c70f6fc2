import type { StrataStore } from '@strata/core';
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
