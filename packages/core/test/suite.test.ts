import { conformanceCases } from '@strata/core/conformance';
import { describe, expect, it } from 'vitest';

describe('the conformance suite', () => {
  it('has at least 150 cases', () => {
    expect(conformanceCases.length).toBeGreaterThanOrEqual(150);
  });

  it('has unique, stable, dotted ids prefixed by their area', () => {
    const ids = conformanceCases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of conformanceCases) {
      expect(c.id).toMatch(/^[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*)+$/);
      expect(c.id.startsWith(`${c.area}.`)).toBe(true);
    }
  });

  it('covers every area', () => {
    const areas = new Set(conformanceCases.map((c) => c.area));
    expect([...areas].sort()).toEqual([
      'checkpoints',
      'events',
      'faults',
      'lifecycle',
      'queue',
      'snapshots',
      'subscriptions',
      'transactions',
      'transfer',
      'validation',
    ]);
  });

  it('has a NOT_SUPPORTED case for every optional contract', () => {
    const ids = new Set(conformanceCases.map((c) => c.id));
    for (const id of ['snapshots.not-supported', 'queue.not-supported', 'checkpoints.not-supported', 'transactions.not-supported']) {
      expect(ids.has(id)).toBe(true);
    }
  });
});
