import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RebuildOptions, StoredEvent } from '@strata/core';
import { Failure } from './failure.js';

/**
 * A projection `strata consumers rebuild` can replay: the options of core's `rebuildProjection` — its
 * named `consumer`, `clear` (empties the read model, in the transaction that resets the checkpoint) and
 * `handler`, plus any other subscription option (`types`, `batchSize`, `upcasters`, …). The CLI adds
 * nothing to them but a count of the events handled, and stops the replay once it reached the head of
 * the log it saw at the start.
 *
 * @typeParam TDb - the adapter's database handle that `tx.db` gives the handler
 */
export type CliProjection<TDb = unknown> = Omit<RebuildOptions<StoredEvent, TDb>, 'signal'>;

/**
 * What a module given to `strata consumers rebuild --module <path>` exports: a named export
 * `projections` (an array), or a default export (one projection or an array). The CLI takes the one
 * whose `consumer` is the name on the command line.
 *
 * @example
 * ```ts
 * import type { CliProjection } from '@strata/cli'
 *
 * export const projections: CliProjection[] = [
 *   {
 *     consumer: 'order-count',
 *     types: ['OrderPlaced'],
 *     clear: async (tx) => { await tx.snapshots.delete('order-count') },
 *     handler: async (event, { tx }) => { await tx?.snapshots.save('order-count', { version: event.version, state: { last: event.streamId } }) },
 *   },
 * ]
 * ```
 */
export interface ProjectionModule {
  /** The projections, by consumer name. */
  projections?: readonly CliProjection<never>[];
  /** One projection, or an array of them. */
  default?: CliProjection<never> | readonly CliProjection<never>[];
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Imports the module at `path` (relative to the working directory) and finds the projection of
 * `consumer` in it.
 *
 * @throws `Failure` when the module is missing, fails to load, or has no such projection
 */
export async function loadProjection(path: string, consumer: string): Promise<CliProjection> {
  const file = resolve(path);
  if (!existsSync(file)) throw new Failure(`no projection module at ${JSON.stringify(path)}`);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Failure(`the projection module ${JSON.stringify(path)} failed to load: ${error instanceof Error ? error.message : String(error)}`);
  }
  const candidates = [...asList(loaded.projections), ...asList(loaded.default)].filter(
    (p): p is CliProjection => typeof p === 'object' && p !== null && typeof (p as { consumer?: unknown }).consumer === 'string',
  );
  const found = candidates.find((p) => p.consumer === consumer);
  if (found === undefined) {
    const names = candidates.map((p) => JSON.stringify(p.consumer));
    throw new Failure(
      names.length === 0
        ? `the module ${JSON.stringify(path)} exports no projection: export \`projections\` (an array) or a default export of { consumer, clear, handler } objects`
        : `the module ${JSON.stringify(path)} has no projection for consumer ${JSON.stringify(consumer)} (it has ${names.join(', ')})`,
    );
  }
  if (typeof found.clear !== 'function' || typeof found.handler !== 'function')
    throw new Failure(`the projection ${JSON.stringify(consumer)} of ${JSON.stringify(path)} needs a clear(tx) and a handler(event, context) function`);
  return found;
}
