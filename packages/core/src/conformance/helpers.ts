import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isStrataError, type StrataError, type StrataErrorCode } from '../errors.js';
import type { NewEvent } from '../events/types.js';
import type { JsonValue } from '../json.js';
import type { StrataStore } from '../store.js';
import type { CaseContext, ConformanceArea, ConformanceCase } from './types.js';

export { assert };

/** Collects an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * A short, readable rendering of any value for a failure message: JSON where it can (bigints as `5n`),
 * cut after `max` characters.
 */
export function show(value: unknown, max = 300): string {
  let text: string;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    text = `${value.name}${code === undefined ? '' : ` (code ${String(code)})`}: ${value.message}`;
  } else if (value === undefined) text = 'undefined';
  else if (typeof value === 'function') text = `a function ${value.name || '(anonymous)'}`;
  else {
    try {
      // Dates render through their toJSON (ISO strings); bigints, which JSON refuses, as `5n`.
      text = JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/**
 * Asserts that `action` rejects with a StrataError of `code`, and returns the error. When it does
 * not, the failure prints what it got: the value it resolved with, or the error it rejected with.
 */
export async function rejects(action: Promise<unknown> | (() => Promise<unknown>), code: StrataErrorCode): Promise<StrataError> {
  let result: unknown;
  try {
    result = await (typeof action === 'function' ? action() : action);
  } catch (error) {
    assert.ok(isStrataError(error), `expected a rejection with a StrataError of code ${code}, but it rejected with ${show(error)}`);
    assert.equal(error.code, code, `expected a rejection with code ${code}, but it rejected with code ${error.code}: ${show(error.message)}`);
    return error;
  }
  assert.fail(`expected a rejection with code ${code}, but it resolved with ${show(result)}`);
}

/** An event to append. */
export function evt(type = 'Tested', data: JsonValue = {}, extra: Partial<NewEvent> = {}): NewEvent {
  return { type, data, ...extra };
}

/** `n` events numbered from `from`. */
export function evts(n: number, type = 'Tested', from = 0): NewEvent[] {
  return Array.from({ length: n }, (_, i) => evt(type, { n: from + i }));
}

/** Appends `count` events to a stream in batches. */
export async function seed(store: StrataStore, streamId: string, count: number, type = 'Tested', batch = 250): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    await store.events.append(streamId, evts(Math.min(batch, count - done), type, done));
  }
}

/** A random UUID. */
export function uuid(): string {
  return globalThis.crypto.randomUUID();
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

let gcFn: (() => void) | undefined;
/** A full garbage collection (exposes `gc` at run time when Node was not started with it). */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gcFn = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

/** Everything observable about a store through its contracts and probes, to prove a call wrote nothing. */
export async function fingerprint(ctx: CaseContext, names: { streamId?: string; queue?: string; consumer?: string } = {}): Promise<unknown> {
  const { store, caps, probes } = ctx;
  const streamId = names.streamId ?? 's';
  const queue = names.queue ?? 'q';
  const consumer = names.consumer ?? 'c';
  const stream = await collect(store.events.readStream(streamId));
  const all = await collect(store.events.readAll());
  return {
    head: await store.events.headPosition(),
    all: all.map((e) => `${e.streamId}#${e.version}@${e.position}`),
    stream: stream.map((e) => e.id),
    info: await store.events.streamInfo(streamId),
    queue: caps.queue ? { ...(await store.queue.stats(queue)), oldestReadyAgeMs: null } : null,
    snapshot: caps.snapshots ? await store.snapshots.load(streamId) : null,
    checkpoint: caps.checkpoints ? await store.checkpoints.get(consumer) : null,
    raw: probes === undefined ? null : await probes.counts(),
  };
}

/** Builds cases of one area with ids prefixed by the area. */
export function defineCases(area: ConformanceArea, cases: Record<string, Omit<ConformanceCase, 'id' | 'area'>>): ConformanceCase[] {
  return Object.entries(cases).map(([id, c]) => ({ ...c, id: `${area}.${id}`, area }));
}

/**
 * Where `secret` shows in an error: the paths of its own properties (message, stack, cause …, walked
 * recursively) that contain it, and `String(error)` / `inspect(error)` when they do. Empty when the
 * error is safe to log. Adapter tests use it to prove that bound values never reach an error.
 *
 * @example
 * ```ts
 * expect(leaksOf(error, '4111111111111111')).toEqual([])
 * ```
 */
export function leaksOf(error: unknown, secret: string): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, path: string, depth: number) => {
    if (typeof value === 'string') {
      if (value.includes(secret)) found.push(path);
      return;
    }
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > 20) return;
    seen.add(value);
    for (const key of Reflect.ownKeys(value)) visit((value as Record<PropertyKey, unknown>)[key], `${path}.${String(key)}`, depth + 1);
  };
  visit(error, 'error', 0);
  if (String(error).includes(secret)) found.push('String(error)');
  if (inspect(error, { depth: 20 }).includes(secret)) found.push('inspect(error)');
  return found;
}
