import { type ConformanceOptions, checkConformance } from '@strata/core/conformance';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStoreOptions, type StrataStore } from '../src/index.js';

/**
 * The suite must be able to fail. A broken adapter is the memory adapter with exactly one rule broken;
 * a table of them, each with the cases that must catch it, is checked by {@link describeBrokenAdapters}.
 */
export type Breakage = (store: StrataStore) => StrataStore;

/** Opens a second store on the same data as the one given: the suite's `sibling` option. */
export type SiblingFactory = NonNullable<ConformanceOptions['sibling']>;

/** One broken adapter: how it breaks the memory store, and the case ids that must fail against it. */
export interface BrokenAdapter {
  breakage: Breakage;
  mustFail: string[];
  /** Options of the memory store it wraps (beyond the suite's settings). */
  memory?: Partial<MemoryStoreOptions>;
  /** How it opens a sibling store, when not the table's (see {@link BrokenTableOptions.sibling}). */
  sibling?: SiblingFactory;
  /** How the run makes its database fail, when not the table's (see {@link BrokenTableOptions.faults}). */
  faults?: ConformanceOptions['faults'];
}

/** Options of a table of broken adapters. */
export interface BrokenTableOptions {
  /**
   * How every adapter of the table, and the intact memory store, opens a sibling store (the suite's
   * `sibling` option), for tables of the cases between two stores on the same data. @defaultValue none
   */
  sibling?: SiblingFactory;
  /**
   * Wraps the intact memory store of the check that the same cases pass (to declare what its sibling
   * makes true, such as cross-process wake-ups). @defaultValue the store as it is
   */
  intact?: Breakage;
  /**
   * The suite's `timeScale` for the broken adapters (not the intact store): below 1 where their cases fail
   * by waiting out a bound (a wake-up that never comes), so the table does not spend seconds per case. @defaultValue 1
   */
  timeScale?: number;
  /**
   * How the run makes the database of every adapter of the table, and of the intact memory store, fail
   * (the suite's `faults` option), for tables of the `faults` cases. @defaultValue none
   */
  faults?: ConformanceOptions['faults'];
}

/**
 * Registers one test per broken adapter (exactly its `mustFail` cases run, and every one must fail),
 * plus one that runs the same cases against the intact memory adapter (every one must pass).
 */
export function describeBrokenAdapters(title: string, broken: Record<string, BrokenAdapter>, table: BrokenTableOptions = {}): void {
  describe(title, () => {
    for (const [name, { breakage, mustFail, memory, sibling = table.sibling, faults = table.faults }] of Object.entries(broken)) {
      it(`fails an adapter that ${name}`, async () => {
        const options: ConformanceOptions = {
          name,
          factory: (settings) => breakage(createMemoryStore({ ...settings, ...memory })),
          teardown: () => undefined,
          ...(sibling === undefined ? {} : { sibling }),
          ...(faults === undefined ? {} : { faults }),
          ...(table.timeScale === undefined ? {} : { timeScale: table.timeScale }),
        };
        const outcomes = await checkConformance(options, (c) => mustFail.includes(c.id));
        expect(outcomes.map((o) => o.id).sort()).toEqual([...new Set(mustFail)].sort());
        const passed = outcomes.filter((o) => o.passed).map((o) => o.id);
        expect(passed, `cases that should have caught "${name}"`).toEqual([]);
      }, 60_000);
    }

    it('passes the intact memory adapter on the same cases', async () => {
      const ids = Object.values(broken).flatMap((b) => b.mustFail);
      const intact = table.intact ?? ((s: StrataStore) => s);
      const options: ConformanceOptions = {
        name: 'intact',
        factory: (settings) => intact(createMemoryStore(settings)),
        ...(table.sibling === undefined ? {} : { sibling: table.sibling }),
        ...(table.faults === undefined ? {} : { faults: table.faults }),
      };
      const outcomes = await checkConformance(options, (c) => ids.includes(c.id));
      expect(outcomes.filter((o) => !o.passed).map((o) => `${o.id}: ${String(o.error)}`)).toEqual([]);
      expect(outcomes.length).toBe(new Set(ids).size);
    }, 60_000);
  });
}
