/**
 * Compares two names (consumers, streams, queues) in the order every adapter lists them: the order of
 * their UTF-8 bytes, which is Unicode code point order — what PostgreSQL's `COLLATE "C"` and SQLite's
 * `BINARY` collation give. JavaScript's default string order compares UTF-16 code units instead, and
 * puts a character above U+FFFF (a surrogate pair, U+D800–U+DFFF) before one in U+E000–U+FFFF; here it
 * comes after, as its code point does. For `Array.prototype.sort`.
 *
 * @returns a negative number when `a` comes first, a positive one when `b` does, `0` when they are equal
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    // Everything before is equal, so the first difference decides; lifting surrogates above
    // U+E000–U+FFFF turns code unit order into code point order.
    if (x !== y) return lift(x) - lift(y);
  }
  return a.length - b.length;
}

function lift(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
