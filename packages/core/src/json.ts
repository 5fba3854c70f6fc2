/**
 * JSON values as Strata stores them, and the one check every adapter runs on them before writing.
 *
 * @module
 */
import { ValidationError } from './errors.js';

/** A JSON primitive. */
export type JsonPrimitive = string | number | boolean | null;

/** An array of JSON values. */
export type JsonArray = JsonValue[];

/**
 * A JSON object. An interface is not assignable to this index signature (only type aliases are): the
 * payload parameters of Strata take any {@link JsonCompatible} type instead.
 */
export type JsonObject = { [key: string]: JsonValue };

/**
 * A value that survives a round trip through every adapter unchanged: `null`, booleans, finite
 * numbers, strings without U+0000 and without lone surrogates, arrays and plain objects of these.
 */
export type JsonValue = JsonPrimitive | JsonArray | JsonObject;

/**
 * The types that are JSON, used as the constraint `T extends JsonCompatible<T>` by every parameter that
 * takes a payload (event data, message bodies, snapshot and aggregate state). Unlike {@link JsonValue}
 * it accepts interfaces, which have no index signature: `interface OrderState { total: number }` fits.
 *
 * Accepted: {@link JsonValue}, and arrays, tuples, type aliases and interfaces whose properties are
 * (recursively) JSON; optional properties; `any`. Rejected at compile time: functions and methods,
 * `bigint`, symbols and symbol keys, `undefined` (except as the value of an optional property, where it
 * means absent), `unknown`, and objects with methods such as `Date`, `Map` and `Set` — store a `Date` as
 * its ISO string. Run time ({@link assertJson}) rejects the rest: class instances with data only,
 * non-finite numbers, cycles, `undefined` given for an optional property, U+0000.
 */
export type JsonCompatible<T> =
  | JsonValue
  | ({
      [K in keyof T]: K extends symbol
        ? never
        : // `infer` makes the check distribute over unions such as `number | null`.
          T[K] extends infer V
          ? 0 extends 1 & V
            ? V // any
            : V extends JsonValue
              ? V
              : V extends bigint | symbol | undefined | ((...args: never) => unknown)
                ? never
                : JsonCompatible<V>
          : never;
    } & object & {
        /**
         * Never present: functions and classes have `Symbol.hasInstance`, JSON never does. This rejects a
         * function given as the whole payload, which the mapped type above (empty for a function) accepts.
         */
        readonly [Symbol.hasInstance]?: never;
      });

/** Deepest nesting of arrays and objects accepted (SQLite's JSON functions stop at 1000, jsonb earlier under small stacks). */
export const MAX_JSON_DEPTH = 512;

/**
 * Largest payload of one call — the data and metadata of all events of one append, the bodies of one
 * send, one snapshot's state — counted in characters (UTF-16 code units) of strings and keys, and
 * refused beyond it on every adapter alike. It is PostgreSQL's limit for one jsonb value, 2^28 − 1
 * bytes; a character takes at least one byte, so nothing over it could be stored there. PostgreSQL can
 * still refuse a payload under it (mostly multi-byte text, or very many numbers), with `VALIDATION` too.
 */
export const MAX_PAYLOAD_BYTES = 268_435_455;

/**
 * The default of every store's `maxPayloadBytes` option: 1 MiB (1,048,576 bytes) of UTF-8 JSON per
 * event (data and metadata), per message (body and headers) and per snapshot (state), as Kafka's and
 * EventStoreDB's defaults. Large blobs belong elsewhere, referenced from the payload.
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;

/**
 * The size a payload limit counts: the UTF-8 bytes of the JSON text of `value`, as `JSON.stringify`
 * writes it (no spaces).
 *
 * @param value - a value that passed {@link assertJson}
 */
export function jsonByteLength(value: JsonValue): number {
  const text = JSON.stringify(value);
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // A surrogate pair: two code units, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Checks the size of one item of a call — an event's data and metadata, a message's body and headers,
 * a snapshot's state — against a store's `maxPayloadBytes`.
 *
 * @param parts - the item's JSON parts, already checked by {@link assertJson}; `undefined` parts count nothing
 * @param field - the item, such as `events[2]`
 * @param what - what is counted, such as `data and metadata`
 * @param maxPayloadBytes - the store's limit
 * @param budget - the item's budget, if every part went through {@link assertJson} with it: when its
 *   upper bound is within the limit, the parts are not serialized to be measured
 * @throws {@link ValidationError} (`VALIDATION`) when the item is larger
 */
export function assertPayloadSize(
  parts: readonly (JsonValue | undefined)[],
  field: string,
  what: string,
  maxPayloadBytes: number,
  budget?: PayloadBudget,
): void {
  // Most payloads are far below the limit by an upper bound of their size: no need to serialize them.
  if (budget !== undefined && budget.upperBound() <= maxPayloadBytes) return;
  let bytes = 0;
  for (const part of parts) if (part !== undefined) bytes += jsonByteLength(part);
  if (bytes > maxPayloadBytes) {
    throw new ValidationError(
      field,
      `is ${bytes} bytes of JSON (${what}), over this store's limit of ${maxPayloadBytes} bytes (option maxPayloadBytes); store large blobs elsewhere and keep a reference`,
    );
  }
}

/**
 * A running total of the string and key lengths of one call's payload, shared by the
 * {@link assertJson} calls that check its parts. Lengths count UTF-16 code units, never more than the
 * UTF-8 bytes stored, so the total is a lower bound of the payload's size: a payload over the limit
 * by this measure is refused at once, before its strings are even scanned.
 */
export class PayloadBudget {
  /** Code units counted so far. */
  used = 0;
  /** JSON values (scalars, strings, arrays, objects) counted so far. */
  values = 0;

  /**
   * An upper bound of the UTF-8 bytes of the JSON text of what was counted: a code unit takes at most 6
   * bytes (`\u001f`), and a value at most 32 besides its strings (a number's digits, quotes, brackets,
   * a comma, a key's quotes and colon).
   */
  upperBound(): number {
    return 6 * this.used + 32 * this.values;
  }

  /**
   * @param field - the argument named when the budget is exceeded, such as `events`
   * @param limit - the most code units allowed
   * @param parent - the budget of the whole call, when this one is one item's (an event, a message):
   *   what this one spends, the parent spends too
   * @defaultValue limit: {@link MAX_PAYLOAD_BYTES}
   */
  constructor(
    readonly field: string,
    readonly limit: number = MAX_PAYLOAD_BYTES,
    readonly parent?: PayloadBudget,
  ) {}

  /** Counts `units` more; throws once the total passes the limit. @throws {@link ValidationError} */
  spend(units: number): void {
    this.used += units;
    if (this.used > this.limit) {
      if (this.parent !== undefined) {
        throw new ValidationError(
          this.field,
          `holds more than ${this.limit} characters of strings and keys, over this store's limit of ${this.limit} bytes (option maxPayloadBytes); store large blobs elsewhere and keep a reference`,
        );
      }
      throw new ValidationError(
        this.field,
        `holds more than ${this.limit} characters of strings and keys, the most one append, send or snapshot may hold (PostgreSQL's limit for one jsonb value is as many bytes); store large blobs elsewhere and keep a reference`,
      );
    }
    this.parent?.spend(units);
  }
}

/**
 * Checks that `value` is JSON that every adapter stores and returns unchanged, and throws a
 * {@link ValidationError} naming the offending path otherwise.
 *
 * Rejected: `undefined` (also as a property value or array hole), functions, symbols, `BigInt`,
 * `NaN` and `±Infinity`, cycles, objects that are not plain (`Date`, `Map`, class instances), strings
 * or keys containing U+0000 (PostgreSQL's jsonb refuses them) or lone UTF-16 surrogates (UTF-8
 * databases cannot store them), and nesting deeper than {@link MAX_JSON_DEPTH}.
 *
 * @param value - the value to check
 * @param field - the argument's name, used as the root of the path in the message
 * @param budget - the payload budget of the call this value belongs to; a fresh one (the
 *   {@link MAX_PAYLOAD_BYTES} limit for this value alone) when omitted
 * @throws {@link ValidationError} (`VALIDATION`) when the value is not storable JSON or too large
 */
export function assertJson(value: unknown, field: string, budget: PayloadBudget = new PayloadBudget(field)): asserts value is JsonValue {
  // Fast path: scalars need no walk.
  budget.values++;
  if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return;
  if (typeof value === 'string') budget.spend(value.length);
  if (typeof value === 'string' && !value.includes('\u0000') && value.isWellFormed()) return;
  walk(value, 0, { field, path: [], ancestors: new Set(), budget });
}

interface Walk {
  readonly field: string;
  readonly path: (string | number)[];
  readonly ancestors: Set<object>;
  readonly budget: PayloadBudget;
}

function fail(w: Walk, problem: string): never {
  throw new ValidationError(formatPath(w.field, w.path), problem);
}

function checkString(w: Walk, s: string, what: string): void {
  if (s.includes('\u0000')) fail(w, `${what} contains U+0000, which PostgreSQL jsonb cannot store`);
  if (!s.isWellFormed()) fail(w, `${what} contains a lone UTF-16 surrogate, which UTF-8 storage cannot hold`);
}

function walk(v: unknown, depth: number, w: Walk): void {
  if (depth > 0) w.budget.values++;
  switch (typeof v) {
    case 'string':
      // Measured before it is scanned, so that an oversized string is refused without reading it.
      if (depth > 0) w.budget.spend(v.length);
      checkString(w, v, 'is a string that');
      return;
    case 'number':
      if (!Number.isFinite(v)) fail(w, `is ${String(v)}, which is not a JSON number`);
      return;
    case 'boolean':
      return;
    case 'undefined':
      fail(w, 'is undefined, which is not JSON');
    case 'bigint':
      fail(w, 'is a BigInt, which is not JSON (store it as a string)');
    case 'function':
      fail(w, 'is a function, which is not JSON');
    case 'symbol':
      fail(w, 'is a symbol, which is not JSON');
  }
  if (v === null) return;
  const obj = v as object;
  if (depth >= MAX_JSON_DEPTH) fail(w, `nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (w.ancestors.has(obj)) fail(w, 'contains a cycle');
  w.ancestors.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      w.path.push(i);
      if (!(i in obj)) fail(w, 'is a hole in a sparse array, which is not JSON');
      walk(obj[i], depth + 1, w);
      w.path.pop();
    }
  } else {
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (obj as { constructor?: { name?: unknown } }).constructor?.name;
      fail(w, `is ${typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a custom prototype'}, not a plain object`);
    }
    for (const key in obj) {
      if (!Object.hasOwn(obj, key)) continue;
      w.path.push(key);
      w.budget.spend(key.length);
      checkString(w, key, 'has a key that');
      walk((obj as Record<string, unknown>)[key], depth + 1, w);
      w.path.pop();
    }
  }
  w.ancestors.delete(obj);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Segments of a path shown at each end; a deeper path shows how many were left out between them. */
const PATH_ENDS = 4;

function formatPath(root: string, path: readonly (string | number)[]): string {
  const segment = (seg: string | number): string => {
    if (typeof seg === 'number') return `[${seg}]`;
    if (IDENTIFIER.test(seg)) return `.${seg}`;
    return `[${JSON.stringify(seg.length > 40 ? `${seg.slice(0, 40)}…` : seg).replaceAll('\u0000', '\\u0000')}]`;
  };
  if (path.length <= 2 * PATH_ENDS + 1) return root + path.map(segment).join('');
  const head = path.slice(0, PATH_ENDS).map(segment).join('');
  const tail = path.slice(-PATH_ENDS).map(segment).join('');
  return `${root}${head}…(${path.length - 2 * PATH_ENDS} levels)…${tail}`;
}

/**
 * Deep equality of two JSON values, ignoring the order of object keys (as PostgreSQL's jsonb does).
 *
 * @param a - first value
 * @param b - second value
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
  }
  return true;
}

/**
 * A deep copy of a JSON value, so that callers cannot change what a store holds (and vice versa).
 *
 * @param value - a value that passed {@link assertJson}
 */
export function cloneJson<T extends JsonValue>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  return structuredClone(value);
}

/**
 * A stable 32-bit fingerprint of a text (FNV-1a, 8 hex digits). Adapters record it for each applied
 * migration to notice a migration edited after it ran. Not a cryptographic hash.
 */
export function contentHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
