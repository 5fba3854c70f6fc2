import { type CaseOutcome, checkConformance } from '@strata/core/conformance/check';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, type StrataStore, ValidationError } from '../src/index.js';

const failureOf = (outcomes: CaseOutcome[], id: string) => {
  const outcome = outcomes.find((o) => o.id === id);
  expect(outcome, `${id} ran`).toBeDefined();
  expect(outcome?.passed, `${id} failed`).toBe(false);
  return String(outcome?.error instanceof Error ? outcome.error.message : outcome?.error);
};

describe('checkConformance, the runner-free entry', () => {
  it('bounds every case: a call that never settles fails its case, named by id, instead of hanging the run', async () => {
    const never = new Promise<never>(() => undefined);
    const hanging = (s: StrataStore): StrataStore => ({ ...s, events: { ...s.events, streamInfo: () => never } });
    const started = Date.now();
    const outcomes = await checkConformance(
      { name: 'hanging', factory: (settings) => hanging(createMemoryStore(settings)), timeoutMs: 300 },
      (c) => c.id === 'events.stream-info.missing-is-null' || c.id === 'events.append.new-stream-starts-at-version-1',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcomes.map((o) => [o.id, o.passed])).toEqual([
      ['events.append.new-stream-starts-at-version-1', true],
      ['events.stream-info.missing-is-null', false],
    ]);
    expect(failureOf(outcomes, 'events.stream-info.missing-is-null')).toMatch(/conformance case events\.stream-info\.missing-is-null timed out after 300 ms/);
  });

  it('checks first that the factory applied the suite settings, and says so in plain words', async () => {
    // The factory ignores its settings: the memory store's defaults are maxAttempts 5 and snapshotsToKeep 3.
    const outcomes = await checkConformance(
      { name: 'ignores settings', factory: () => createMemoryStore(), settings: { snapshotsToKeep: 2 } },
      (c) => c.id.startsWith('lifecycle.settings.') || c.id === 'queue.receive.delivery-fields',
    );
    expect(outcomes.map((o) => o.id)).toEqual([
      'lifecycle.settings.read-page-size-applied',
      'lifecycle.settings.max-attempts-applied',
      'lifecycle.settings.snapshots-to-keep-applied',
      'queue.receive.delivery-fields',
    ]);
    expect(failureOf(outcomes, 'lifecycle.settings.max-attempts-applied')).toMatch(
      /factory does not apply the suite's settings: maxAttempts asked 3, store used 5/,
    );
    expect(failureOf(outcomes, 'lifecycle.settings.snapshots-to-keep-applied')).toMatch(/snapshotsToKeep asked 2, store kept 3/);
    expect(failureOf(outcomes, 'lifecycle.settings.read-page-size-applied')).toMatch(/readPageSize asked 10, store read at least 31 events per page/);
    // The bare `5 !== 3` of a later case comes with the reason.
    expect(failureOf(outcomes, 'queue.receive.delivery-fields')).toMatch(/ignores the suite's settings.*maxAttempts asked 3, store used 5/s);
  });

  it('fails a store that declares a capability off when the run expects it on (its cases would be skipped)', async () => {
    const expected = { queue: true, snapshots: true };
    const queueOff = (s: StrataStore): StrataStore => ({ ...s, capabilities: { ...s.capabilities, queue: false } });
    const check = (factory: (settings: Parameters<typeof createMemoryStore>[0]) => StrataStore, capabilities?: typeof expected) =>
      checkConformance(
        { name: 'capabilities', factory, ...(capabilities === undefined ? {} : { capabilities }) },
        (c) => c.id === 'lifecycle.settings.capabilities-as-expected',
      );
    expect(failureOf(await check((st) => queueOff(createMemoryStore(st)), expected), 'lifecycle.settings.capabilities-as-expected')).toMatch(
      /queue: expected true, the store declares false/,
    );
    expect(await check((st) => createMemoryStore(st), expected)).toEqual([{ id: 'lifecycle.settings.capabilities-as-expected', passed: true }]);
    // Without the option the case does not apply.
    expect(await check((st) => queueOff(createMemoryStore(st)))).toEqual([]);
  });

  it('passes a factory that applies the settings on the settings checks', async () => {
    const outcomes = await checkConformance(
      { name: 'applies settings', factory: (settings) => createMemoryStore(settings), settings: { snapshotsToKeep: 2, maxAttempts: 4 } },
      (c) => c.id.startsWith('lifecycle.settings.'),
    );
    expect(outcomes).toEqual([
      { id: 'lifecycle.settings.read-page-size-applied', passed: true },
      { id: 'lifecycle.settings.max-attempts-applied', passed: true },
      { id: 'lifecycle.settings.snapshots-to-keep-applied', passed: true },
    ]);
  });

  it('prints the value a failed rejection check got: what it resolved with, or the code it rejected with', async () => {
    const resolves = await checkConformance(
      {
        name: 'keeps working after close',
        factory: (settings) => ({ ...createMemoryStore(settings), close: async () => undefined }),
        teardown: () => undefined,
      },
      (c) => c.id === 'lifecycle.close.events-reject',
    );
    expect(failureOf(resolves, 'lifecycle.close.events-reject')).toMatch(
      /expected a rejection with code CLOSED, but it resolved with \{"version":2,"firstPosition":"2n","lastPosition":"2n"\}/,
    );
    const otherCode = await checkConformance(
      {
        name: 'refuses expected versions',
        factory: (settings) => {
          const s = createMemoryStore(settings);
          return {
            ...s,
            events: {
              ...s.events,
              append: (id, events, o) =>
                o?.expectedVersion === undefined ? s.events.append(id, events, o) : Promise.reject(new ValidationError('expectedVersion', 'is refused')),
            },
          };
        },
      },
      (c) => c.id === 'events.append.expected-version.exact-too-low',
    );
    expect(failureOf(otherCode, 'events.append.expected-version.exact-too-low')).toMatch(
      /expected a rejection with code CONCURRENCY, but it rejected with code VALIDATION: ".*expectedVersion is refused"/,
    );
  });
});
