import { describe, expect, it } from 'vitest';
import { canonicalJson, inspectJsonText, type JsonValue } from '../src/index.js';

/** The canonical form computed from a parsed value: what inspectJsonText must agree with for doubles. */
function reference(value: JsonValue): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (value === 0) return '0';
    const [m = '', e = '0'] = Math.abs(value).toExponential().split('e');
    const digits = m.replace('.', '').replace(/0+$/, '');
    return `${value < 0 ? '-' : ''}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${Number(e)}`;
  }
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(value[k] as JsonValue)}`).join(',')}}`;
}

/** A deterministic pseudo-random generator, so failures reproduce. */
function rng(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

function randomValue(r: () => number, depth: number): JsonValue {
  const pick = Math.floor(r() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2: {
      const kinds = [() => Math.floor(r() * 1000), () => (r() - 0.5) * 1e6, () => r() * 1e-7, () => -r() * 1e300, () => 2 ** 53 + 2, () => 0.1 + 0.2, () => -0];
      return (kinds[Math.floor(r() * kinds.length)] as () => number)();
    }
    case 3:
    case 4: {
      const chars = ['a', 'é', '\u{1f600}', '"', '\\', '\n', '\u0001', '/', '\u2028', ' '];
      return Array.from({ length: Math.floor(r() * 6) }, () => chars[Math.floor(r() * chars.length)]).join('');
    }
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, JsonValue> = {};
      for (let k = Math.floor(r() * 4); k > 0; k--) o[['b', 'a', 'é', '\u{1f600}', 'aa', ''][Math.floor(r() * 6)] as string] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** Re-spaces JSON text outside strings. */
function respace(text: string, r: () => number): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    out += c;
    if (inString) {
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if ('[]{},:'.includes(c) && r() < 0.5) out += [' ', '\n', '\t', '\r\n  '][Math.floor(r() * 4)];
  }
  return out;
}

describe('inspectJsonText', () => {
  it('agrees with JSON.parse on 2000 random documents, whatever the spacing', () => {
    const r = rng(42);
    for (let k = 0; k < 2000; k++) {
      const value = randomValue(r, 0);
      const text = respace(JSON.stringify(value), r);
      const info = inspectJsonText(text, { canonical: true });
      expect(info.valid, text).toBe(true);
      expect(info.canonical, text).toBe(reference(JSON.parse(text) as JsonValue));
      expect(info.numbersExact, text).toBe(true);
      expect(inspectJsonText(text).valid).toBe(true);
    }
  });

  it('refuses what JSON.parse refuses', () => {
    const bad = [
      '',
      ' ',
      '{',
      '[1,]',
      '{"a":1,}',
      "{'a':1}",
      '01',
      '1.',
      '.5',
      '+1',
      '1e',
      '-',
      'tru',
      'nul',
      'NaN',
      'Infinity',
      '"\\x"',
      '"\\u12g4"',
      '"a\nb"',
      '[1] [2]',
      '{"a" 1}',
      '"abc',
      '[1 2]',
      '{"a":1 "b":2}',
      '"\\',
    ];
    for (const text of bad) {
      expect(() => JSON.parse(text), text).toThrow();
      const info = inspectJsonText(text);
      expect(info.valid, text).toBe(false);
      expect(info.error, text).toMatch(/at offset \d+$/);
      expect(canonicalJson(text)).toBeUndefined();
    }
  });

  it('compares numbers as decimals, never through a double', () => {
    const same: [string, string][] = [
      ['1', '1.0'],
      ['100', '1e2'],
      ['1E+2', '100.000'],
      ['-0', '-0.0e5'],
      ['0.0e10', '0'],
      ['12345678901234567890', '1.2345678901234567890e19'],
      ['0.000123', '1.23e-4'],
    ];
    for (const [a, b] of same) expect(canonicalJson(a), `${a} = ${b}`).toBe(canonicalJson(b));
    expect(canonicalJson('12345678901234567890')).not.toBe(canonicalJson('12345678901234567891'));
    expect(canonicalJson('-0')).not.toBe(canonicalJson('0'));
    expect(inspectJsonText('[1, -0.0]').hasNegativeZero).toBe(true);
    expect(inspectJsonText('["-0", 0, -1]').hasNegativeZero).toBe(false);
    expect(canonicalJson('12345678901234567890')).toBe('1.234567890123456789e19');
    expect(inspectJsonText('12345678901234567890').numbersExact).toBe(false);
    expect(inspectJsonText('9007199254740993').numbersExact).toBe(false);
    expect(inspectJsonText('9007199254740992').numbersExact).toBe(true);
    expect(inspectJsonText('1e400').numbersExact).toBe(false);
    expect(inspectJsonText('0.1').numbersExact).toBe(true);
    expect(inspectJsonText('1.7976931348623157e308').numbersExact).toBe(true);
    expect(inspectJsonText('[1e131072, 5]')).toMatchObject({ valid: true, maxExponent: 131072 });
    expect(inspectJsonText('0.00012')).toMatchObject({ maxExponent: -4, maxFractionDigits: 5 });
    expect(inspectJsonText('1234.5')).toMatchObject({ maxExponent: 3, maxFractionDigits: 1 });
    expect(inspectJsonText('1e-20000')).toMatchObject({ maxFractionDigits: 20000 });
    expect(inspectJsonText('[0, 0.0]').maxExponent).toBe(Number.NEGATIVE_INFINITY);
  });

  it('finds U+0000 and lone surrogates, escaped or not, in strings and keys', () => {
    expect(inspectJsonText('{"a":"x\\u0000y"}').hasNul).toBe(true);
    expect(inspectJsonText('{"x\\u0000":1}').hasNul).toBe(true);
    expect(inspectJsonText('"\\\\u0000"').hasNul).toBe(false);
    expect(inspectJsonText('"\\ud800"').hasLoneSurrogate).toBe(true);
    expect(inspectJsonText('"\ud800"').hasLoneSurrogate).toBe(true);
    expect(inspectJsonText('"\\udc00x"').hasLoneSurrogate).toBe(true);
    expect(inspectJsonText('"\\ud83d\\ude00"').hasLoneSurrogate).toBe(false);
    expect(inspectJsonText('"\u{1f600}"').hasLoneSurrogate).toBe(false);
    expect(inspectJsonText('{"a":"plain"}')).toMatchObject({ hasNul: false, hasLoneSurrogate: false });
  });

  it('keeps the last of duplicate keys, as JSON.parse does', () => {
    expect(canonicalJson('{"a":1,"b":2,"a":3}')).toBe('{"a":3e0,"b":2e0}');
  });

  it('refuses nesting deeper than MAX_JSON_DEPTH without overflowing the stack', () => {
    expect(inspectJsonText(`${'['.repeat(512)}${']'.repeat(512)}`).valid).toBe(true);
    const deep = inspectJsonText(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(deep.valid).toBe(false);
    expect(deep.error).toMatch(/nesting deeper than 512/);
  });
});
