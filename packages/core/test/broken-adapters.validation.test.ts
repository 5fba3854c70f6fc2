import { conformanceCases } from '@strata/core/conformance';
import { describe, expect, it } from 'vitest';
import { coveredByHand, validationRuleCases } from '../src/conformance/validation-rules.cases.js';
import {
  isUuid,
  MAX_DELAY_MS,
  MAX_INT32,
  MAX_LEASE_MS,
  MAX_NAME_LENGTH,
  MAX_VISIBILITY_TIMEOUT_MS,
  type StoreTransaction,
  ValidationError,
} from '../src/index.js';
import { type Breakage, type BrokenAdapter, describeBrokenAdapters } from './broken.js';

// The generated validation cases (validation-rules.cases.ts) must be able to fail: each adapter here is
// the memory adapter with the checks of one group of methods skipped, forwarding a sanitised value
// instead of refusing the bad one, as an adapter that "cleans up" its input would.

// biome-ignore lint: the wrappers forward whatever a caller passed
type Any = any;
type Area = 'events' | 'queue' | 'snapshots' | 'checkpoints' | 'transfer';
/** Replaces one method, given the original (bound). */
type Wrapper = (original: Any) => Any;
type Overlay = Partial<Record<Area, Record<string, Wrapper>>>;

/** A name made acceptable: a string, no U+0000, no lone surrogate, 1 to 255 code points. */
const name = (v: unknown): string => {
  const s = [...String(v).replaceAll('\u0000', '').toWellFormed()].slice(0, MAX_NAME_LENGTH).join('');
  return s === '' ? '_' : s;
};
const text = (v: unknown): string => String(v).replaceAll('\u0000', '').toWellFormed();
const int = (v: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number => {
  const n = Math.round(Number(v));
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : min;
};
const position = (v: unknown): bigint => {
  const b = typeof v === 'bigint' ? v : BigInt(int(v, 0));
  return b < 0n ? 0n : b >= 2n ** 63n ? 2n ** 63n - 1n : b;
};
const object = (v: unknown): Record<string, Any> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {});
/** `undefined` stays `undefined`; anything else goes through `fix`. */
const opt =
  <T>(fix: (v: unknown) => T) =>
  (v: unknown): T | undefined =>
    v === undefined ? undefined : fix(v);
const receipt = (v: unknown): string => (typeof v === 'string' && isUuid(v) ? v : crypto.randomUUID());

const sendSettings = (o: Record<string, Any>) => ({
  delayMs: opt((v) => int(v, 0, MAX_DELAY_MS))(o.delayMs),
  priority: opt((v) => int(v, -MAX_INT32, MAX_INT32))(o.priority),
  maxAttempts: opt((v) => int(v, 1, 1000))(o.maxAttempts),
});

/** Every method's arguments, sanitised instead of checked. */
const SANITISED: Record<string, Overlay> = {
  append: {
    events: {
      append: (append) => (streamId: unknown, events: Any[], options: unknown) =>
        append(
          name(streamId),
          events.map((e) => {
            const metadata = e.metadata === undefined ? undefined : Object.fromEntries(Object.entries(object(e.metadata)).map(([k, v]) => [k, text(v)]));
            return {
              ...e,
              type: name(e.type),
              id: typeof e.id === 'string' && isUuid(e.id) ? e.id : undefined,
              metadata,
              schemaVersion: opt((v) => int(v, 1, MAX_INT32))(e.schemaVersion),
            };
          }),
          object(options),
        ),
    },
  },
  reads: {
    events: {
      readStream: (readStream) => (streamId: unknown, options: unknown) => {
        const o = object(options);
        return readStream(name(streamId), {
          ...o,
          fromVersion: opt((v) => int(v, 0))(o.fromVersion),
          toVersion: opt((v) => int(v, 0))(o.toVersion),
          limit: opt((v) => int(v, 1))(o.limit),
        });
      },
      streamInfo: (streamInfo) => (streamId: unknown) => streamInfo(name(streamId)),
      readAll: (readAll) => (options: unknown) => {
        const o = object(options);
        return readAll({
          ...o,
          after: opt(position)(o.after),
          types: opt((v) => (Array.isArray(v) ? v.map(name) : [name(v)]))(o.types),
          streamId: opt(name)(o.streamId),
          streamPrefix: opt(name)(o.streamPrefix),
          correlationId: opt(text)(o.correlationId),
          limit: opt((v) => int(v, 1))(o.limit),
        });
      },
    },
  },
  snapshots: {
    snapshots: {
      save: (save) => (streamId: unknown, snapshot: unknown) => {
        const s = object(snapshot);
        return save(name(streamId), {
          ...s,
          version: int(s.version, 1),
          state: 'state' in s ? s.state : null,
          schemaVersion: opt((v) => int(v, 1, MAX_INT32))(s.schemaVersion),
        });
      },
      load: (load) => (streamId: unknown, options: unknown) => load(name(streamId), { maxVersion: opt((v) => int(v, 0))(object(options).maxVersion) }),
      delete: (remove) => (streamId: unknown) => remove(name(streamId)),
    },
  },
  send: {
    queue: {
      send: (send) => (queue: unknown, messages: unknown, options: unknown) => {
        const fix = (raw: unknown) => {
          const m = object(raw);
          return {
            body: 'body' in m ? m.body : null,
            headers: opt((h) => Object.fromEntries(Object.entries(object(h)).map(([k, v]) => [name(k), text(v)])))(m.headers),
            dedupId: opt(name)(m.dedupId),
            ...sendSettings(m),
          };
        };
        return send(name(queue), Array.isArray(messages) ? messages.map(fix) : fix(messages), sendSettings(object(options)));
      },
    },
  },
  'queue by name': {
    queue: {
      receive: (receive) => (queue: unknown, options: unknown) => {
        const o = object(options);
        return receive(name(queue), {
          max: opt((v) => int(v, 1, 1000))(o.max),
          visibilityTimeoutMs: opt((v) => int(v, 1, MAX_VISIBILITY_TIMEOUT_MS))(o.visibilityTimeoutMs),
        });
      },
      stats: (stats) => (queue: unknown) => stats(name(queue)),
      nextVisibleInMs: (next) => (queue: unknown) => next(name(queue)),
      deadLetters: (deadLetters) => (queue: unknown, options: unknown) => deadLetters(name(queue), { limit: opt((v) => int(v, 1))(object(options).limit) }),
      redrive: (redrive) => (queue: unknown, ids: unknown) => redrive(name(queue), opt((v) => (Array.isArray(v) ? v.map(name) : [name(v)]))(ids)),
      purge: (purge) => (queue: unknown) => purge(name(queue)),
    },
  },
  receipts: {
    queue: {
      ack: (ack) => (r: unknown) => ack(receipt(r)),
      ackMany: (ackMany) => (rs: unknown) => ackMany(Array.isArray(rs) ? rs.slice(0, 10_000).map(name) : []),
      nack: (nack) => (r: unknown, options: unknown) => {
        const o = object(options);
        return nack(receipt(r), {
          delayMs: opt((v) => int(v, 0, MAX_DELAY_MS))(o.delayMs),
          deadLetter: typeof o.deadLetter === 'boolean' ? o.deadLetter : undefined,
          reason: opt(text)(o.reason),
        });
      },
      extendVisibility: (extend) => (r: unknown, ms: unknown) => extend(receipt(r), int(ms, 0, MAX_VISIBILITY_TIMEOUT_MS)),
    },
  },
  checkpoints: {
    checkpoints: {
      get: (get) => (consumer: unknown) => get(name(consumer)),
      set: (set) => (consumer: unknown, p: unknown, options: unknown) => {
        const expected = object(options).expected;
        return set(name(consumer), position(p), { expected: expected === null || expected === undefined ? expected : position(expected) });
      },
    },
  },
  leases: {
    checkpoints: {
      acquireLease: (acquire) => (consumer: unknown, options: unknown) => {
        const o = object(options);
        return acquire(name(consumer), { owner: name(o.owner ?? 'owner'), ttlMs: int(o.ttlMs, 1, MAX_LEASE_MS) });
      },
      releaseLease: (release) => (consumer: unknown, owner: unknown) => release(name(consumer), name(owner)),
    },
  },
  'transfer records': {
    transfer: {
      check: (check) => (records: unknown) => check(Array.isArray(records) ? records.map(cleanRecord) : []),
      import: (load) => (records: unknown) => load(Array.isArray(records) ? records.map(cleanRecord) : []),
      export: (exportAll) => (options: unknown) => {
        const o = object(options);
        return exportAll({ after: o.after, batchSize: opt((v) => int(v, 1, 100_000))(o.batchSize) });
      },
    },
  },
};

/** A transfer record with its names made acceptable. */
function cleanRecord(record: Any): Any {
  const out = { ...record };
  for (const field of ['streamId', 'type', 'queue', 'consumer']) if (field in out) out[field] = name(out[field]);
  if (out.dedupId !== undefined && out.dedupId !== null) out.dedupId = name(out.dedupId);
  return out;
}

/** `target` with the overlay's methods replaced. */
function overlaid<T extends StoreTransaction>(target: T, overlay: Overlay): T {
  const out: Any = { ...target };
  for (const [area, wrappers] of Object.entries(overlay) as [Area, Record<string, Wrapper>][]) {
    const part: Any = target[area];
    out[area] = { ...part };
    for (const [method, wrap] of Object.entries(wrappers)) out[area][method] = wrap(part[method].bind(part));
  }
  return out;
}

/** Applies the overlay on the store's own methods, or only inside its transactions. */
const skip =
  (overlay: Overlay, where: 'store' | 'transactions'): Breakage =>
  (s) =>
    where === 'store'
      ? overlaid(s, overlay)
      : { ...s, transaction: (fn: Any, ...rest: Any[]) => (s.transaction as Any)((tx: Any) => fn(overlaid(tx, overlay)), ...rest) };

/** Every overlay at once (for the transactions-only breakage). */
const everything: Overlay = {};
for (const o of Object.values(SANITISED)) {
  for (const [area, wrappers] of Object.entries(o) as [Area, Record<string, Wrapper>][]) everything[area] = { ...everything[area], ...wrappers };
}

/** Strings anywhere in the arguments longer than 255 UTF-16 units (a name of 255 code points may have 510). */
const longInUnits = (value: unknown, depth = 0): boolean => {
  if (typeof value === 'string') return value.length > MAX_NAME_LENGTH;
  if (typeof value !== 'object' || value === null || depth > 4) return false;
  return Object.entries(value).some(([k, v]) => k.length > MAX_NAME_LENGTH || longInUnits(v, depth + 1));
};

/** Every method of every area refuses a string longer than 255 UTF-16 units, as `value.length > 255` would. */
const countsUnits: Overlay = {};
for (const area of ['events', 'queue', 'snapshots', 'checkpoints', 'transfer'] as const) {
  const methods: Record<string, Wrapper> = {};
  const names: Record<Area, string[]> = {
    events: ['append', 'readStream', 'readAll', 'streamInfo'],
    queue: ['send', 'receive', 'ack', 'ackMany', 'nack', 'extendVisibility', 'stats', 'nextVisibleInMs', 'deadLetters', 'redrive', 'purge'],
    snapshots: ['save', 'load', 'delete'],
    checkpoints: ['get', 'set', 'acquireLease', 'releaseLease'],
    transfer: ['check', 'import'],
  };
  for (const method of names[area]) {
    methods[method] =
      (original) =>
      (...args: unknown[]) => {
        if (!longInUnits(args)) return original(...args);
        const error = new ValidationError('name', `must be at most ${MAX_NAME_LENGTH} characters`);
        return method === 'readStream' || method === 'readAll'
          ? (async function* () {
              yield* [];
              throw error;
            })()
          : Promise.reject(error);
      };
  }
  countsUnits[area] = methods;
}

const generated = validationRuleCases.map((c) => c.id);
/** The generated refusals whose ids start with one of `prefixes` (after `validation.`). */
const casesOf = (prefixes: string[]) => generated.filter((id) => prefixes.some((p) => id.startsWith(`validation.${p}`)) && !id.endsWith('-longest-accepted'));

const broken: Record<string, BrokenAdapter> = {
  'sanitises event types, ids, metadata and options in append': {
    breakage: skip(SANITISED.append ?? {}, 'store'),
    mustFail: casesOf(['append.']),
  },
  'sanitises stream ids and options in readStream, streamInfo and readAll': {
    breakage: skip(SANITISED.reads ?? {}, 'store'),
    mustFail: casesOf(['read-stream.', 'stream-info.', 'read-all.']),
  },
  'sanitises snapshot stream ids and versions (save, load, delete)': {
    breakage: skip(SANITISED.snapshots ?? {}, 'store'),
    mustFail: casesOf(['snapshots.']),
  },
  'sanitises queue names, dedup ids, headers and settings in send': {
    breakage: skip(SANITISED.send ?? {}, 'store'),
    mustFail: casesOf(['queue.send.']),
  },
  'sanitises queue names in receive, stats, nextVisibleInMs, deadLetters, redrive and purge': {
    breakage: skip(SANITISED['queue by name'] ?? {}, 'store'),
    mustFail: casesOf(['queue.receive.', 'queue.stats.', 'queue.next-visible-in-ms.', 'queue.dead-letters.', 'queue.redrive.', 'queue.purge.']),
  },
  'replaces malformed receipts and clamps nack and extendVisibility options': {
    breakage: skip(SANITISED.receipts ?? {}, 'store'),
    mustFail: casesOf(['queue.ack.', 'queue.ack-many.', 'queue.nack.', 'queue.extend.']),
  },
  'sanitises consumer names and positions in checkpoints.get and set': {
    breakage: skip(SANITISED.checkpoints ?? {}, 'store'),
    mustFail: casesOf(['checkpoints.get.', 'checkpoints.set.']),
  },
  'sanitises consumer names, owners and ttls of leases (acquireLease, releaseLease)': {
    breakage: skip(SANITISED.leases ?? {}, 'store'),
    mustFail: casesOf(['checkpoints.acquire-lease.', 'checkpoints.release-lease.']),
  },
  'sanitises the names inside transfer records and the arguments of check, import and export': {
    breakage: skip(SANITISED['transfer records'] ?? {}, 'store'),
    mustFail: casesOf(['transfer.']),
  },
  'sanitises every name inside transactions only': {
    breakage: skip(everything, 'transactions'),
    mustFail: casesOf(['tx.']),
  },
  'counts name lengths in UTF-16 units instead of characters': {
    breakage: skip(countsUnits, 'store'),
    mustFail: generated.filter((id) => id.endsWith('-longest-accepted')),
  },
};

describeBrokenAdapters('broken adapters: the rules of every name on every method', broken);

describe('the generated validation cases', () => {
  it('each fails against some broken adapter', () => {
    const listed = new Set(Object.values(broken).flatMap((b) => b.mustFail));
    expect(generated.filter((id) => !listed.has(id))).toEqual([]);
  });

  it('have ids of their own, and the hand-written cases they count on exist', () => {
    const ids = conformanceCases.map((c) => c.id);
    expect(ids.length).toBe(new Set(ids).size);
    expect(coveredByHand.filter((id) => !ids.includes(`validation.${id}`))).toEqual([]);
    expect(generated.filter((id) => !ids.includes(id))).toEqual([]);
  });
});
