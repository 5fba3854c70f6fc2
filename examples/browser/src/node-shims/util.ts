/**
 * `node:util`'s `inspect` for the conformance page: a JSON rendering of the value and of an error's
 * own properties, enough for the suite's check that no payload shows in an error.
 *
 * @module
 */

/** Renders a value, an error with its message, stack and own properties. */
export function inspect(value: unknown): string {
  const seen = new WeakSet<object>();
  const replacer = (_key: string, v: unknown): unknown => {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    if (!(v instanceof Error)) return v;
    const own: Record<string, unknown> = { name: v.name, message: v.message, stack: v.stack };
    for (const key of Object.getOwnPropertyNames(v)) own[key] = (v as unknown as Record<string, unknown>)[key];
    return own;
  };
  try {
    return JSON.stringify(value, replacer) ?? String(value);
  } catch {
    return String(value);
  }
}
