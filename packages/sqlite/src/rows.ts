import { type JsonValue, SerializationError } from '@strata/core';

/**
 * Parses JSON text stored by Strata, turning corruption into a `SERIALIZATION` error. `what` names the
 * value for that error; a function is called only when parsing fails, so that a read builds no name
 * for every row it parses.
 */
export function parseJson<T = JsonValue>(text: string, what: string | (() => string)): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    // Stryker disable all: only stored JSON that cannot be parsed gets here, which takes a corrupted database file, never a use of the contracts on a healthy database (errors.test.ts covers it)
    // Not the parser's error as the cause: V8 quotes the start of text that does not begin like JSON in
    // its message, and stored text is payload. Only where parsing stopped is kept.
    const at = error instanceof SyntaxError ? /position (\d+)/.exec(error.message)?.[1] : undefined;
    throw new SerializationError(`${typeof what === 'string' ? what : what()}: stored JSON cannot be parsed${at === undefined ? '' : ` (at character ${at})`}`);
    // Stryker restore all
  }
}
