import { type JsonValue, SerializationError } from '@strata/core';

/** Parses JSON text stored by Strata, turning corruption into a `SERIALIZATION` error. */
export function parseJson<T = JsonValue>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new SerializationError(`${what}: stored JSON cannot be parsed`, { cause });
  }
}
