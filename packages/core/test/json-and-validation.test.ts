import { describe, expect, it } from 'vitest';
import {
  assertJson,
  ConcurrencyError,
  isStrataError,
  jsonEqual,
  StrataError,
  ValidationError,
  validateAppend,
  validateName,
  validateSend,
} from '../src/index.js';

const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(isStrataError(e, 'VALIDATION')).toBe(true);
    return (e as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
};

describe('assertJson', () => {
  it('accepts every JSON shape, including null-prototype objects and nesting up to the limit', () => {
    const nullProto = Object.assign(Object.create(null) as object, { a: 1 });
    let deep: unknown = 1;
    for (let i = 0; i < 511; i++) deep = [deep];
    for (const v of [null, true, 0, -0, 1.5e300, '', 'ü🎉', [], {}, [1, [2, [3]]], { a: { b: null } }, nullProto, deep]) {
      expect(() => assertJson(v, 'v')).not.toThrow();
    }
  });

  it('names the path of the first bad value', () => {
    expect(fieldOf(() => assertJson({ a: [1, { b: Number.NaN }] }, 'data'))).toBe('data.a[1].b');
    expect(fieldOf(() => assertJson({ 'needs quotes': undefined }, 'data'))).toBe('data["needs quotes"]');
    expect(fieldOf(() => assertJson([0, 1n], 'body'))).toBe('body[1]');
  });

  it('accepts shared references that are not cycles', () => {
    const shared = { x: 1 };
    expect(() => assertJson({ a: shared, b: shared, c: [shared, shared] }, 'v')).not.toThrow();
  });

  it('rejects objects with a custom prototype and says what they are', () => {
    expect(() => assertJson({ when: new Date() }, 'data')).toThrow(/data\.when is a Date, not a plain object/);
    expect(() => assertJson(new (class Point {})(), 'data')).toThrow(/a Point/);
  });
});

describe('jsonEqual', () => {
  it('ignores key order but not array order', () => {
    expect(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual({ a: null }, { b: null })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });
});

describe('validation', () => {
  it('counts name length in code points', () => {
    expect(() => validateName('🎉'.repeat(255), 'streamId')).not.toThrow();
    expect(() => validateName('🎉'.repeat(256), 'streamId')).toThrow(ValidationError);
  });

  it('normalizes appends: lowercase ids, defaults filled in', () => {
    const id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11';
    const v = validateAppend('s', [{ type: 'T', data: 1, id }], undefined);
    expect(v).toEqual({ streamId: 's', expectedVersion: 'any', events: [{ id: id.toLowerCase(), type: 'T', data: 1, metadata: {}, schemaVersion: 1 }] });
  });

  it('fills message settings from the message, then the call, then the store default', () => {
    const { messages } = validateSend('q', [{ body: 1 }, { body: 2, priority: 3, maxAttempts: 9 }], { priority: 1, delayMs: 5 }, 7);
    expect(messages.map((m) => [m.priority, m.delayMs, m.maxAttempts])).toEqual([
      [1, 5, 7],
      [3, 5, 9],
    ]);
  });
});

describe('errors', () => {
  it('carry a stable code, retryability and the cause', () => {
    const cause = new Error('driver said no');
    const e = new StrataError('CONNECTION', 'events.append on stream "s": connection lost', { cause });
    expect([e.code, e.retryable, e.cause]).toEqual(['CONNECTION', true, cause]);
    expect(new StrataError('VALIDATION', 'x').retryable).toBe(false);
    const c = ConcurrencyError.forStream('s', 'no_stream', 3);
    expect([c.code, c.streamId, c.expectedVersion, c.actualVersion, c.retryable]).toEqual(['CONCURRENCY', 's', 'no_stream', 3, true]);
  });

  it('are recognised across duplicate installs by their brand, not their class', () => {
    const foreign = new (class extends Error {
      code = 'STALE_RECEIPT';
    })('from another copy of @strata/core');
    Object.defineProperty(foreign, Symbol.for('@strata/core/StrataError'), { value: true });
    expect(isStrataError(foreign)).toBe(true);
    expect(isStrataError(foreign, 'STALE_RECEIPT')).toBe(true);
    expect(isStrataError(foreign, 'CONCURRENCY')).toBe(false);
    expect(isStrataError(new Error('plain'))).toBe(false);
    expect(isStrataError(null)).toBe(false);
  });
});

describe('randomId', () => {
  it('makes version 7 UUIDs that sort by creation time and do not repeat', async () => {
    const { randomId } = await import('../src/index.js');
    const first = Array.from({ length: 5000 }, () => randomId());
    await new Promise((r) => setTimeout(r, 3));
    const later = randomId();
    const madeAt = Date.now(); // before the slow checks below, which take over a second on a loaded machine
    for (const id of first) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(first).size).toBe(first.length);
    expect(first.every((id) => id < later)).toBe(true);
    expect(Number.parseInt(later.replace(/-/g, '').slice(0, 12), 16)).toBeGreaterThan(madeAt - 1000);
  });
});
