import { describe, expect, it } from 'vitest';
import {
  assertJson,
  createMemoryStore,
  DEFAULT_MAX_PAYLOAD_BYTES,
  isStrataError,
  jsonByteLength,
  MAX_PAYLOAD_BYTES,
  PayloadBudget,
  ValidationError,
} from '../src/index.js';

const codeOf = (e: unknown) => (isStrataError(e) ? e.code : `not a StrataError: ${String(e)}`);

describe('maxPayloadBytes', () => {
  it('defaults to 1 MiB per event, message and snapshot: one at the limit is stored, one a byte over is refused', async () => {
    expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(1_048_576);
    const store = createMemoryStore();
    const at = 'x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES - 2); // plus its two quotes
    const over = `${at}x`;
    expect(codeOf(await store.events.append('s', [{ type: 'T', data: over }]).catch((e: unknown) => e))).toBe('VALIDATION');
    expect(codeOf(await store.queue.send('q', { body: over }).catch((e: unknown) => e))).toBe('VALIDATION');
    expect(codeOf(await store.snapshots.save('s', { version: 1, state: over }).catch((e: unknown) => e))).toBe('VALIDATION');
    expect(await store.events.streamInfo('s')).toBeNull();
    await store.events.append('s', [{ type: 'T', data: at }]);
    await store.queue.send('q', { body: at });
    await store.snapshots.save('s', { version: 1, state: at });
    // The limit is per item: two events at the limit in one append are fine.
    await store.events.append('s', [
      { type: 'T', data: at },
      { type: 'T', data: at },
    ]);
  });

  it('counts UTF-8 bytes of the JSON text, escapes included', () => {
    for (const value of ['é🎉日本', { a: [1, 2.5, null, true], 'k"ey': 'line\nbreak\u0001' }, -0, 'x'.repeat(1000)]) {
      expect(jsonByteLength(value)).toBe(Buffer.byteLength(JSON.stringify(value)));
    }
  });

  it('bounds the size from above without serializing, so that small payloads are not measured twice', () => {
    const worst = [
      '\u0001\u001f'.repeat(50),
      { '\u0001': -0.0000012345678901234567, k: [-1.7976931348623157e308, -2.2250738585072014e-308, true, false, null, [], {}] },
      Array.from({ length: 1000 }, (_, i) => -i / 7),
      { 'é🎉': '日本\n"\\' },
    ];
    for (const value of worst) {
      const budget = new PayloadBudget('data');
      assertJson(value, 'data', budget);
      expect(budget.upperBound()).toBeGreaterThanOrEqual(jsonByteLength(value));
    }
  });

  it('is validated: an integer from 1 to MAX_PAYLOAD_BYTES', () => {
    for (const bad of [0, -1, 1.5, MAX_PAYLOAD_BYTES + 1, '1024']) {
      const error = (() => {
        try {
          createMemoryStore({ maxPayloadBytes: bad as number });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(codeOf(error)).toBe('VALIDATION');
      expect((error as Error).message).toMatch(/^options\.maxPayloadBytes/);
    }
    expect(() => createMemoryStore({ maxPayloadBytes: MAX_PAYLOAD_BYTES })).not.toThrow();
  });

  it('an oversized payload is refused at once, without serializing it', async () => {
    const store = createMemoryStore({ maxPayloadBytes: 1024 });
    const started = performance.now();
    const error = await store.events.append('s', [{ type: 'T', data: { blob: 'x'.repeat(20_000_000) } }]).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('VALIDATION');
    expect((error as Error).message).toMatch(/^events\[0\] .*limit of 1024 bytes \(option maxPayloadBytes\)/);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('paths of deeply nested JSON', () => {
  it('stay short: the ends of the path and how many levels lie between them', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 600; i++) deep = [deep];
    let error: unknown;
    try {
      assertJson(deep, 'events[0].data');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const { field, message } = error as ValidationError;
    expect(field).toBe('events[0].data[0][0][0][0]…(504 levels)…[0][0][0][0]');
    expect(message.length).toBeLessThan(200);
  });
});
