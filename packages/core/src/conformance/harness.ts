import { conformanceCases } from './cases.js';
import { type ConformanceCase, type ConformanceOptions, type ConformanceSettings, DEFAULT_SETTINGS } from './types.js';

/** The settings a run hands to the factory. */
export function settingsOf(options: ConformanceOptions): ConformanceSettings {
  return { ...DEFAULT_SETTINGS, ...options.settings };
}

/**
 * Runs one case against a fresh store from the factory, then tears the store down. Resolves when the
 * case passes and rejects with its failure otherwise. Works outside any test runner.
 */
export async function runCase(testCase: ConformanceCase, options: ConformanceOptions): Promise<void> {
  const settings = settingsOf(options);
  const store = await options.factory(settings);
  const scale = options.timeScale ?? 1;
  try {
    await testCase.run({
      store,
      caps: store.capabilities,
      settings,
      probes: options.probes?.(store),
      ms: (d) => Math.round(d * scale),
    });
  } finally {
    await (options.teardown ?? ((s) => s.close()))(store);
  }
}

/** The outcome of {@link checkConformance} for one case. */
export interface CaseOutcome {
  /** The case id. */
  id: string;
  /** Whether it passed. */
  passed: boolean;
  /** The failure, when it failed. */
  error?: unknown;
}

/**
 * Runs the cases that apply to the adapter (by its capabilities), one after the other, and reports
 * each outcome instead of throwing. Useful outside vitest, and to prove the suite catches a broken
 * adapter.
 *
 * @param options - the adapter under test
 * @param filter - which cases to run (all that apply by default)
 */
export async function checkConformance(
  options: ConformanceOptions,
  filter: (testCase: ConformanceCase) => boolean = () => true,
): Promise<CaseOutcome[]> {
  const probe = await options.factory(settingsOf(options));
  const caps = probe.capabilities;
  await (options.teardown ?? ((s) => s.close()))(probe);
  const outcomes: CaseOutcome[] = [];
  for (const c of conformanceCases) {
    if (!filter(c) || (c.requires !== undefined && !c.requires(caps))) continue;
    try {
      await runCase(c, options);
      outcomes.push({ id: c.id, passed: true });
    } catch (error) {
      outcomes.push({ id: c.id, passed: false, error });
    }
  }
  return outcomes;
}
