import { type ConformanceCase, checkConformance, conformanceCases, runCase } from '@strata/core/conformance/check';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, type StrataStore } from '../src/index.js';

// The harness side of ConformanceOptions.sibling: which cases it selects, and how it closes siblings.

const siblingIds = conformanceCases.filter((c) => c.id.includes('.sibling.')).map((c) => c.id);

/** A second store object over the memory store's tables, whose close() is recorded. */
const recorded = (log: string[]) => (store: StrataStore) => ({
  ...store,
  close: async () => {
    log.push('sibling closed');
  },
});

describe('the sibling option of the conformance suite', () => {
  it('selects the cases between two stores only when the run can open a sibling', async () => {
    expect(siblingIds.length).toBeGreaterThanOrEqual(10);
    const without = await checkConformance({ name: 'no sibling', factory: (settings) => createMemoryStore(settings) }, (c) => siblingIds.includes(c.id));
    expect(without).toEqual([]);
    const withIt = await checkConformance(
      { name: 'sibling', factory: (settings) => createMemoryStore(settings), sibling: recorded([]) },
      (c) => c.id === 'events.sibling.appends-read-across',
    );
    expect(withIt.map((o) => [o.id, o.passed])).toEqual([['events.sibling.appends-read-across', true]]);
  });

  it('keeps requires(caps) of one argument working', () => {
    const legacy: ConformanceCase = { id: 'x.y.z', area: 'events', requires: (caps) => caps.queue, run: async () => undefined };
    expect(legacy.requires?.(createMemoryStore().capabilities, { sibling: false, expectsCapabilities: false })).toBe(true);
  });

  it("lets a runner of its own call every case's requires(caps) without the run: the cases that need a sibling do not apply", () => {
    const caps = createMemoryStore().capabilities;
    const needing = conformanceCases.filter(
      (c) =>
        c.requires?.(caps, { sibling: true, expectsCapabilities: true }) === true &&
        c.requires?.(caps, { sibling: false, expectsCapabilities: false }) === false,
    );
    expect(needing.length).toBeGreaterThan(5);
    for (const c of conformanceCases) expect(() => c.requires?.(caps), c.id).not.toThrow();
    for (const c of needing) expect(c.requires?.(caps), c.id).toBe(false);
  });

  it('closes every sibling after the case, before the first store is torn down, whether the case passes or fails', async () => {
    for (const fails of [false, true]) {
      const log: string[] = [];
      const testCase: ConformanceCase = {
        id: 'events.sibling.harness-order',
        area: 'events',
        async run(ctx) {
          await ctx.sibling();
          await ctx.sibling();
          log.push('case ran');
          if (fails) throw new Error('the case failed');
        },
      };
      const run = runCase(testCase, {
        name: 'order',
        factory: (settings) => createMemoryStore(settings),
        teardown: async (store) => {
          log.push('store torn down');
          await store.close();
        },
        sibling: recorded(log),
      });
      if (fails) await expect(run).rejects.toThrow('the case failed');
      else await run;
      expect(log).toEqual(['case ran', 'sibling closed', 'sibling closed', 'store torn down']);
    }
  });

  it('closes a sibling, and tears down a second store, that open only after their case timed out', async () => {
    const log: string[] = [];
    const slow = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 400));
    const testCase: ConformanceCase = {
      id: 'events.sibling.harness-late',
      area: 'events',
      async run(ctx) {
        await Promise.all([ctx.sibling(), ctx.another()]);
      },
    };
    let calls = 0;
    const run = runCase(testCase, {
      name: 'late',
      timeoutMs: 100,
      factory: (settings) => (++calls === 1 ? createMemoryStore(settings) : slow(createMemoryStore(settings))),
      teardown: async (store) => {
        log.push(calls > 1 && log.includes('store torn down') ? 'second store torn down' : 'store torn down');
        await store.close();
      },
      sibling: (store) => slow(recorded(log)(store)),
    });
    await expect(run).rejects.toThrow(/events\.sibling\.harness-late timed out after 100 ms/);
    expect(log).toEqual(['store torn down']);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(log.sort()).toEqual(['second store torn down', 'sibling closed', 'store torn down']);
  });

  it('hands the sibling factory the store of the case and the run settings', async () => {
    let given: [StrataStore, number] | undefined;
    let first: StrataStore | undefined;
    await runCase(
      {
        id: 'events.sibling.harness-arguments',
        area: 'events',
        async run(ctx) {
          first = ctx.store;
          await ctx.sibling();
        },
      },
      {
        name: 'arguments',
        factory: (settings) => createMemoryStore(settings),
        settings: { readPageSize: 7 },
        sibling: (store, settings) => {
          given = [store, settings.readPageSize];
          return recorded([])(store);
        },
      },
    );
    expect(given?.[0]).toBe(first);
    expect(given?.[1]).toBe(7);
  });

  it('fails a case that asks for a sibling in a run that has none, and says why', async () => {
    const testCase: ConformanceCase = {
      id: 'events.sibling.harness-missing',
      area: 'events',
      async run(ctx) {
        await ctx.sibling();
      },
    };
    await expect(runCase(testCase, { name: 'none', factory: (settings) => createMemoryStore(settings) })).rejects.toThrow(
      /events\.sibling\.harness-missing asked for a sibling store, but the run has no sibling option/,
    );
  });
});
