import { type JsonValue, MAX_PAYLOAD_BYTES, ValidationError } from '@strata/core';

/** UTF-8 length of `text` without encoding it (PGlite runs in browsers: no `Buffer`). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair (validation has already refused lone surrogates)
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * A lower bound of the size of `value` as jsonb: the UTF-8 bytes of every string and key, and the
 * 4-byte entry jsonb keeps for every element and every key and value of an object.
 */
export function jsonbLowerBound(value: JsonValue): number {
  if (typeof value === 'string') return utf8Length(value);
  if (typeof value !== 'object' || value === null) return 1;
  let bytes = 4;
  if (Array.isArray(value)) {
    for (const item of value) bytes += 4 + jsonbLowerBound(item);
    return bytes;
  }
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, JsonValue>)[key];
    bytes += 8 + utf8Length(key) + (item === undefined ? 0 : jsonbLowerBound(item));
  }
  return bytes;
}

/**
 * Refuses, before anything is sent, a value that cannot fit in one jsonb value: otherwise PostgreSQL
 * refuses it only after the whole text has crossed the network and been parsed. `text` is the JSON
 * that will be sent; below a third of the limit nothing else is computed.
 *
 * @param text - the JSON text of `value`, as it will be sent
 * @param value - the value, to measure when `text` is large
 * @param field - the argument named in the error
 * @throws `VALIDATION` when the value needs more than {@link MAX_PAYLOAD_BYTES} bytes as jsonb
 */
export function assertFitsJsonb(text: string, value: () => JsonValue, field: string): void {
  // A JSON text of n UTF-16 units holds at most 3n bytes of strings and keys, so below a third of the
  // limit the measure cannot refuse it (the server still judges the exact size, numbers included).
  if (text.length <= MAX_PAYLOAD_BYTES / 3) return;
  const bytes = jsonbLowerBound(value());
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new ValidationError(
      field,
      `needs at least ${bytes} bytes as jsonb, beyond PostgreSQL's limit of ${MAX_PAYLOAD_BYTES} bytes for one jsonb value; store large blobs elsewhere and keep a reference`,
    );
  }
}
