/**
 * A strict, lossless reader of JSON text: it says whether the text is JSON, what in it some databases
 * cannot store (U+0000, lone surrogates, numbers beyond a range), and gives a canonical form in which
 * two texts of the same value are equal whatever their spacing, key order, escapes or number spelling.
 * Numbers are compared as decimals, digit by digit, never through a double.
 *
 * @module
 */
import { MAX_JSON_DEPTH } from '../json.js';

/** What {@link inspectJsonText} found in a JSON text. */
export interface JsonTextInfo {
  /** Whether the text is JSON (RFC 8259, one value, nested at most `MAX_JSON_DEPTH` deep). */
  readonly valid: boolean;
  /** Why it is not, when it is not: `unexpected character at offset 12`, never the text itself. */
  readonly error?: string;
  /** A string or key holds U+0000 (PostgreSQL's `jsonb` and `text` refuse it). */
  readonly hasNul: boolean;
  /** A string or key holds a lone UTF-16 surrogate (not Unicode text; PostgreSQL refuses it). */
  readonly hasLoneSurrogate: boolean;
  /** A number is a negative zero (`-0`, `-0.0e5`): `JSON.stringify` and PostgreSQL's numeric write it as `0`. */
  readonly hasNegativeZero: boolean;
  /**
   * The largest decimal exponent of a non-zero number, as in scientific notation (`1234` → 3,
   * `0.05` → −2); `-Infinity` when there is no such number.
   */
  readonly maxExponent: number;
  /** The most digits any number has after the decimal point once written without exponent. */
  readonly maxFractionDigits: number;
  /** Whether every number is exactly a finite double, so that `JSON.parse` keeps its value. */
  readonly numbersExact: boolean;
  /**
   * The canonical text, when asked for and the text is valid: keys sorted by UTF-16 code units with
   * the last of duplicate keys kept (as `JSON.parse` does), no spaces, strings as `JSON.stringify`
   * writes them, numbers as `[-]d[.ddd]e<exp>` (`0` for zero, `-0` for negative zero).
   */
  readonly canonical?: string;
}

enum C {
  Tab = 9,
  Lf = 10,
  Cr = 13,
  Space = 32,
  Quote = 34,
  Plus = 43,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  UpperE = 69,
  OpenBracket = 91,
  Backslash = 92,
  CloseBracket = 93,
  LowerE = 101,
  OpenBrace = 123,
  CloseBrace = 125,
}

class Fail extends Error {}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Reads `text` as JSON without losing anything, reporting what a database might refuse.
 *
 * @param text - the JSON text
 * @param options - `canonical: true` to also build {@link JsonTextInfo.canonical}
 * @example
 * ```ts
 * inspectJsonText('{"b": 1.50, "a": [true]}', { canonical: true }).canonical // '{"a":[true],"b":1.5e0}'
 * ```
 */
export function inspectJsonText(text: string, options: { canonical?: boolean } = {}): JsonTextInfo {
  const build = options.canonical === true;
  let i = 0;
  let hasNul = false;
  let hasLoneSurrogate = false;
  let hasNegativeZero = false;
  let maxExponent = Number.NEGATIVE_INFINITY;
  let maxFractionDigits = 0;
  let numbersExact = true;
  const n = text.length;

  const fail = (what: string): never => {
    throw new Fail(`${what} at offset ${i}`);
  };
  const skip = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === C.Space || c === C.Lf || c === C.Cr || c === C.Tab) i++;
      else break;
    }
  };

  const readString = (): string => {
    // At the opening quote. Most strings have no escape and no surrogate: scan them without copying.
    i++;
    const start = i;
    let escaped = false;
    let surrogate = false;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === C.Quote) break;
      if (c < 0x20) fail('control character in a string');
      if (c === C.Backslash) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) surrogate = true;
      i++;
    }
    const end = i;
    i++;
    if (!escaped) {
      const raw = text.slice(start, end);
      if (surrogate && LONE_SURROGATE.test(raw)) hasLoneSurrogate = true;
      return raw;
    }
    let out = '';
    let from = start;
    for (let j = start; j < end; j++) {
      if (text.charCodeAt(j) !== C.Backslash) continue;
      out += text.slice(from, j);
      const e = text[j + 1];
      if (e === 'u') {
        const hex = text.slice(j + 2, j + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          i = j;
          fail('bad \\u escape');
        }
        out += String.fromCharCode(Number.parseInt(hex, 16));
        j += 5;
      } else {
        const r = e === undefined ? undefined : ESCAPES[e];
        if (r === undefined) {
          i = j;
          fail('bad escape');
        }
        out += r;
        j += 1;
      }
      from = j + 1;
    }
    out += text.slice(from, end);
    if (out.includes('\u0000')) hasNul = true;
    if (LONE_SURROGATE.test(out)) hasLoneSurrogate = true;
    return out;
  };

  const readNumber = (): string => {
    const start = i;
    const negative = text.charCodeAt(i) === C.Minus;
    if (negative) i++;
    const intStart = i;
    const first = text.charCodeAt(i);
    if (first === C.Zero) i++;
    else if (first > C.Zero && first <= C.Nine) while (i < n && isDigit(text.charCodeAt(i))) i++;
    else fail('bad number');
    const intEnd = i;
    let fracStart = i;
    let fracEnd = i;
    if (text.charCodeAt(i) === C.Dot) {
      i++;
      fracStart = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      if (i === fracStart) fail('bad number');
      fracEnd = i;
    }
    let exp = 0;
    const e = text.charCodeAt(i);
    if (e === C.LowerE || e === C.UpperE) {
      i++;
      let sign = 1;
      const s = text.charCodeAt(i);
      if (s === C.Plus || s === C.Minus) {
        if (s === C.Minus) sign = -1;
        i++;
      }
      const f = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      if (i === f) fail('bad number');
      // Beyond 15 digits the exponent is out of every database's range anyway; keep it finite.
      exp = sign * Math.min(Number(text.slice(f, i)), 1e15);
    }
    // The significant digits run from the first non-zero digit to the last non-zero one, across the
    // point; value = 0.<digits> × 10^point.
    let lead = -1;
    let trail = -1;
    let leadInFraction = false;
    for (let j = intStart; j < fracEnd; j++) {
      if (j === intEnd) j = fracStart;
      if (j >= fracEnd) break;
      if (text.charCodeAt(j) !== C.Zero) {
        if (lead === -1) {
          lead = j;
          leadInFraction = j >= fracStart;
        }
        trail = j;
      }
    }
    if (lead === -1) {
      if (negative) hasNegativeZero = true;
      return negative ? '-0' : '0';
    }
    const intLen = intEnd - intStart;
    // Digits before `lead` in the combined digit string (integer digits then fraction digits).
    const leadIndex = leadInFraction ? intLen + (lead - fracStart) : lead - intStart;
    const trailIndex = trail >= fracStart && fracEnd > fracStart ? intLen + (trail - fracStart) : trail - intStart;
    const significant = trailIndex - leadIndex + 1;
    const point = intLen + exp - leadIndex;
    const adjusted = point - 1;
    if (adjusted > maxExponent) maxExponent = adjusted;
    const fraction = significant - point;
    if (fraction > maxFractionDigits) maxFractionDigits = fraction;
    // Up to 15 significant digits within the normal range, a decimal is exactly what its nearest
    // double prints back as; beyond that, compare through the double.
    const simple = significant <= 15 && adjusted > -290 && adjusted < 290;
    if (!build && (simple || !numbersExact)) return '';
    let digits = '';
    for (let j = lead; j <= trail; j++) {
      if (j === intEnd) j = fracStart;
      digits += text[j];
    }
    const canonical = `${negative ? '-' : ''}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${adjusted}`;
    if (numbersExact && !simple) {
      const value = Number(text.slice(start, i));
      if (!Number.isFinite(value) || canonicalDouble(value) !== canonical) numbersExact = false;
    }
    return canonical;
  };

  const readValue = (depth: number): string => {
    skip();
    const c = text.charCodeAt(i);
    if (c === C.OpenBrace || c === C.OpenBracket) {
      if (depth >= MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
      i++;
      skip();
      if (c === C.OpenBracket) {
        const items: string[] = [];
        if (text.charCodeAt(i) === C.CloseBracket) {
          i++;
          return '[]';
        }
        for (;;) {
          const v = readValue(depth + 1);
          if (build) items.push(v);
          skip();
          const d = text.charCodeAt(i++);
          if (d === C.CloseBracket) break;
          if (d !== C.Comma) {
            i--;
            fail('expected , or ]');
          }
        }
        return build ? `[${items.join(',')}]` : '';
      }
      const entries = new Map<string, string>();
      if (text.charCodeAt(i) === C.CloseBrace) {
        i++;
        return '{}';
      }
      for (;;) {
        skip();
        if (text.charCodeAt(i) !== C.Quote) fail('expected a key');
        const key = readString();
        skip();
        if (text.charCodeAt(i) !== C.Colon) fail('expected :');
        i++;
        const v = readValue(depth + 1);
        if (build) {
          entries.delete(key);
          entries.set(key, v);
        }
        skip();
        const d = text.charCodeAt(i++);
        if (d === C.CloseBrace) break;
        if (d !== C.Comma) {
          i--;
          fail('expected , or }');
        }
      }
      if (!build) return '';
      const keys = [...entries.keys()].sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${entries.get(k)}`).join(',')}}`;
    }
    if (c === C.Quote) {
      const s = readString();
      return build ? JSON.stringify(s) : '';
    }
    if (c === C.Minus || isDigit(c)) return readNumber();
    const word = c === 116 ? 'true' : c === 102 ? 'false' : c === 110 ? 'null' : undefined;
    if (word !== undefined && text.startsWith(word, i)) {
      i += word.length;
      return word;
    }
    return fail(i >= n ? 'unexpected end' : 'unexpected character');
  };

  try {
    const canonical = readValue(0);
    skip();
    if (i < n) fail('unexpected character after the value');
    return { valid: true, hasNul, hasLoneSurrogate, hasNegativeZero, maxExponent, maxFractionDigits, numbersExact, ...(build ? { canonical } : {}) };
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    return { valid: false, error: e.message, hasNul, hasLoneSurrogate, hasNegativeZero, maxExponent, maxFractionDigits, numbersExact: false };
  }
}

function isDigit(c: number): boolean {
  return c >= C.Zero && c <= C.Nine;
}

/** The canonical spelling of a finite double, as {@link inspectJsonText} writes numbers. */
function canonicalDouble(value: number): string {
  if (value === 0) return '0';
  const [mantissa = '', exponent = '0'] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '');
  return `${value < 0 ? '-' : ''}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${Number(exponent)}`;
}

/**
 * The canonical text of `text` (see {@link JsonTextInfo.canonical}): equal for two texts exactly when
 * they hold the same JSON value.
 *
 * @returns `undefined` when `text` is not JSON
 */
export function canonicalJson(text: string): string | undefined {
  return inspectJsonText(text, { canonical: true }).canonical;
}
