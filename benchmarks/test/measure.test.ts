import { describe, expect, it } from 'vitest';
import { drain, repeatedFor, timed } from '../src/measure.js';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe('the measuring loops count every operation', () => {
  it('timed() with 8 concurrent callers counts as many operations as it timed', async () => {
    const sample = await timed(150, 8, async () => {
      await tick();
      return 1;
    });
    // Each caller's operations interleave with the others' at every await: a lost update would count
    // about an eighth of them.
    expect(sample.latencies.length).toBeGreaterThan(16);
    expect(sample.ops).toBe(sample.latencies.length);
  });

  it('timed() adds what each call returns, from every caller', async () => {
    const sample = await timed(100, 4, async (caller) => {
      await tick();
      return caller + 1;
    });
    expect(sample.ops).toBeGreaterThan(sample.latencies.length);
    expect(Number.isInteger(sample.ops)).toBe(true);
  });

  it('drain() and repeatedFor() count every operation', async () => {
    let left = 100;
    const drained = await drain(4, async () => {
      await tick();
      const n = Math.min(3, left);
      left -= n;
      return n;
    });
    expect(drained.ops).toBe(100);
    const repeated = await repeatedFor(50, async () => {
      await tick();
      return 2;
    });
    expect(repeated.ops).toBe(2 * repeated.latencies.length);
  });
});
