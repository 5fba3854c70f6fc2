import { type JsonValue, SerializationError } from '@strata/core';

/** Parses JSON text stored by Strata, turning corruption into a `SERIALIZATION` error. */
export function parseJson<T = JsonValue>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    // Stryker disable next-line all: only stored JSON that cannot be parsed gets here, which comes from a corrupted database file, never from a correct use of the contracts on a healthy database (no SQLite adapter test covers it)
    throw new SerializationError(`${what}: stored JSON cannot be parsed`, { cause });
  }
}
