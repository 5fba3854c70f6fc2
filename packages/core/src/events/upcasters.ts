import { ValidationError } from '../errors.js';
import { assertJson, type JsonValue } from '../json.js';
import type { StoredEvent } from './types.js';

/** What an upcaster returns: the event's new shape. */
export interface UpcastResult {
  /** The payload in the new shape. */
  data: JsonValue;
  /** A new type name, when the upcast also renames the event. @defaultValue the old type */
  type?: string;
  /** The schema version of the new shape. @defaultValue `fromSchemaVersion + 1` */
  schemaVersion?: number;
}

/** Rewrites events of one type and schema version into a newer shape, on read. */
export interface Upcaster {
  /** Event type it applies to. */
  type: string;
  /** Schema version it applies to. */
  fromSchemaVersion: number;
  /** Computes the new shape; must be pure. */
  upcast(event: StoredEvent): UpcastResult;
}

/** A registry of upcasters keyed by `(type, schemaVersion)`. */
export interface Upcasters {
  /** Applies upcasters until none matches; returns the event itself when none applies. */
  apply(event: StoredEvent): StoredEvent;
}

/** Most successive upcasts applied to one event, against registration loops. */
const MAX_CHAIN = 100;

/**
 * Builds an upcaster registry. Upcasters chain: an event at schema version 1 goes through the
 * `1 → 2` upcaster, then the `2 → 3` one, and so on until none matches.
 *
 * @example
 * ```ts
 * const upcasters = createUpcasters([
 *   { type: 'Deposited', fromSchemaVersion: 1, upcast: (e) => ({ data: { amountCents: (e.data as { amount: number }).amount * 100 } }) },
 * ])
 * ```
 * @throws `VALIDATION` when two upcasters share a `(type, fromSchemaVersion)` key
 */
export function createUpcasters(upcasters: readonly Upcaster[]): Upcasters {
  const byKey = new Map<string, Upcaster>();
  for (const u of upcasters) {
    const key = `${u.fromSchemaVersion}\u0000${u.type}`;
    if (byKey.has(key)) {
      throw new ValidationError('upcasters', `registers (${JSON.stringify(u.type)}, ${u.fromSchemaVersion}) twice`);
    }
    byKey.set(key, u);
  }
  return {
    apply(event) {
      let current = event;
      for (let i = 0; i < MAX_CHAIN; i++) {
        const u = byKey.get(`${current.schemaVersion}\u0000${current.type}`);
        if (u === undefined) return current;
        const r = u.upcast(current);
        assertJson(r.data, `upcast of ${current.type}@${current.schemaVersion}`);
        current = {
          ...current,
          data: r.data,
          type: r.type ?? current.type,
          schemaVersion: r.schemaVersion ?? current.schemaVersion + 1,
        };
      }
      throw new ValidationError('upcasters', `chain for ${JSON.stringify(event.type)} does not end after ${MAX_CHAIN} steps`);
    },
  };
}
