import type { Capabilities } from '../capabilities.js';
import type { StrataStore } from '../store.js';
import { conformanceCases } from './cases.js';
import { describeSettingsFailure, isSettingsCase } from './settings.cases.js';
import { type ConformanceCase, type ConformanceOptions, type ConformanceSettings, DEFAULT_SETTINGS, type RunFeatures } from './types.js';

/** The settings a run hands to the factory. */
export function settingsOf(options: ConformanceOptions): ConformanceSettings {
  return { ...DEFAULT_SETTINGS, ...options.settings };
}

/** The default per-case timeout. */
export const DEFAULT_CASE_TIMEOUT_MS = 20_000;

/** The longest wait for the teardown of a case's store, so that a store wedged by a case cannot hang the run. */
export const TEARDOWN_TIMEOUT_MS = 10_000;

/** The time a case may take: its own timeout, else the run's, else 20 s. */
export function caseTimeoutOf(testCase: ConformanceCase, options: ConformanceOptions): number {
  return testCase.timeoutMs ?? options.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
}

/** Settles with `work`, or rejects with `message()` after `ms`; a late rejection of `work` is swallowed. */
async function within<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

const teardownOf = (options: ConformanceOptions) => options.teardown ?? ((s: StrataStore) => s.close());

/** What a run offers beyond the adapter's capabilities. */
export function runFeaturesOf(options: ConformanceOptions): Readonly<RunFeatures> {
  return Object.freeze({
    sibling: options.sibling !== undefined,
    expectsCapabilities: options.capabilities !== undefined,
    writeLock: options.faults?.holdWriteLock !== undefined,
    ...(options.faults?.loseConnection === undefined ? {} : { connectionLoss: options.faults.loseConnection.kind }),
  });
}

/** Whether a case applies to an adapter with `caps` in the run described by `options`. */
export function appliesTo(testCase: ConformanceCase, caps: Readonly<Capabilities>, options: ConformanceOptions): boolean {
  return testCase.requires === undefined || testCase.requires(caps, runFeaturesOf(options));
}

/**
 * Tears a store down by `deadline` (the teardowns of a case share one {@link TEARDOWN_TIMEOUT_MS});
 * when the case already failed, a failing teardown is swallowed (the case's own failure wins), else it
 * fails the case.
 */
async function boundedTeardown(teardown: () => void | Promise<void>, failed: boolean, deadline: number, message: () => string): Promise<void> {
  const done = within(Promise.resolve().then(teardown), Math.max(0, deadline - Date.now()), message);
  if (failed) await done.catch(() => undefined);
  else await done;
}

/**
 * Runs one case against a fresh store from the factory, then tears the store down. Resolves when the
 * case passes and rejects with its failure otherwise. A case (factory included) that does not settle
 * within its timeout rejects with an error naming the case id; the teardown is bounded too. Works
 * outside any test runner.
 */
export async function runCase(testCase: ConformanceCase, options: ConformanceOptions): Promise<void> {
  const settings = settingsOf(options);
  const scale = options.timeScale ?? 1;
  const timeoutMs = caseTimeoutOf(testCase, options);
  let store: StrataStore | undefined;
  const others: StrataStore[] = [];
  const siblings: StrataStore[] = [];
  // Write locks a case left held, released before anything is torn down.
  const locks: (() => Promise<void>)[] = [];
  // A store that arrives after the case settled (its factory outlived the timeout) is torn down on
  // arrival, so that a timed-out case leaks no connection; its failure has nowhere to go.
  let settled = false;
  const keep = async (opening: StrataStore | Promise<StrataStore>, into: (s: StrataStore) => void, drop: (s: StrataStore) => unknown): Promise<StrataStore> => {
    const opened = await opening;
    if (settled) {
      Promise.resolve()
        .then(() => drop(opened))
        .catch(() => undefined);
      throw new Error(`conformance case ${testCase.id} had already ended when this store opened; it was closed`);
    }
    into(opened);
    return opened;
  };
  const teardown = teardownOf(options);
  const work = (async () => {
    const first = await keep(
      options.factory(settings),
      (s) => (store = s),
      (s) => teardown(s),
    );
    await testCase.run({
      store: first,
      caps: first.capabilities,
      settings,
      probes: options.probes?.(first),
      ms: (d) => Math.round(d * scale),
      expectedCapabilities: Object.freeze({ ...options.capabilities }),
      another: () =>
        keep(
          options.factory(settings),
          (s) => others.push(s),
          (s) => teardown(s),
        ),
      async sibling() {
        if (options.sibling === undefined) {
          throw new Error(`conformance case ${testCase.id} asked for a sibling store, but the run has no sibling option (the case must require run.sibling)`);
        }
        return keep(
          options.sibling(first, settings),
          (s) => siblings.push(s),
          (s) => s.close(),
        );
      },
      async loseConnection() {
        const hook = options.faults?.loseConnection;
        if (hook === undefined) {
          throw new Error(
            `conformance case ${testCase.id} asked to lose the connection, but the run has no faults.loseConnection (the case must require run.connectionLoss)`,
          );
        }
        await hook.cut(first);
        return hook.kind;
      },
      async holdWriteLock() {
        const hook = options.faults?.holdWriteLock;
        if (hook === undefined) {
          throw new Error(
            `conformance case ${testCase.id} asked to hold the write lock, but the run has no faults.holdWriteLock (the case must require run.writeLock)`,
          );
        }
        const release = await hook(first);
        let released = false;
        const once = async () => {
          if (released) return;
          released = true;
          await release();
        };
        if (settled) {
          // The case ended (timed out) while the hook was taking the lock: nobody else will release it.
          await once().catch(() => undefined);
          throw new Error(`conformance case ${testCase.id} had already ended when its write lock was taken; released it`);
        }
        locks.push(once);
        return once;
      },
    });
  })();
  let failed = false;
  try {
    await within(work, timeoutMs, () =>
      store === undefined
        ? `conformance case ${testCase.id} timed out after ${timeoutMs} ms: the factory did not return a store`
        : `conformance case ${testCase.id} timed out after ${timeoutMs} ms: a call it made never settled`,
    );
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    settled = true;
    const deadline = Date.now() + TEARDOWN_TIMEOUT_MS;
    const late = () => `did not settle within the ${TEARDOWN_TIMEOUT_MS} ms a case's teardowns have`;
    // A write lock still held would make the teardowns wait on it.
    for (const release of locks) {
      await boundedTeardown(release, failed, deadline, () => `releasing the write lock after conformance case ${testCase.id} ${late()}`);
    }
    // Siblings first: they share the first store's data, which its teardown may drop.
    for (const sibling of siblings) {
      await boundedTeardown(
        () => sibling.close(),
        failed,
        deadline,
        () => `closing a sibling store after conformance case ${testCase.id} ${late()}`,
      );
    }
    // Bounded like the main store's; a failure is the case's only when the case passed.
    for (const other of others) {
      await boundedTeardown(
        () => teardown(other),
        failed,
        deadline,
        () => `the teardown of a second store after conformance case ${testCase.id} ${late()}`,
      );
    }
    if (store !== undefined) {
      const main = store;
      await boundedTeardown(
        () => teardown(main),
        failed,
        deadline,
        () => `the teardown after conformance case ${testCase.id} ${late()}`,
      );
    }
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

/** The capabilities of the adapter under test, from a store made (and torn down) for the purpose. */
export async function capabilitiesOf(options: ConformanceOptions): Promise<StrataStore['capabilities']> {
  const bound = options.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  const probe = await within(
    Promise.resolve(options.factory(settingsOf(options))),
    bound,
    () => `the conformance factory of ${options.name} did not return a store within ${bound} ms`,
  );
  const caps = probe.capabilities;
  await within(
    Promise.resolve().then(() => teardownOf(options)(probe)),
    TEARDOWN_TIMEOUT_MS,
    () => `the teardown of ${options.name}'s first store did not settle within ${TEARDOWN_TIMEOUT_MS} ms`,
  );
  return caps;
}

/**
 * Adds the settings problem, in plain words, to the failure of a case that ran after the check of the
 * factory's settings failed: that is most likely why it failed.
 */
export function explainFailure(error: unknown, settingsProblems: readonly string[]): unknown {
  if (settingsProblems.length === 0 || !(error instanceof Error)) return error;
  const original = error.message;
  error.message = `${original}\n(the factory ignores the suite's settings, which likely explains this failure: ${settingsProblems.join('; ')})`;
  // Runners print the stack, which holds the message as it was when the error was made.
  if (typeof error.stack === 'string' && error.stack.includes(original)) error.stack = error.stack.replace(original, error.message);
  return error;
}

/**
 * Runs the cases that apply to the adapter (by its capabilities, and by what the run offers: a
 * sibling store, the `faults` hooks), one after the other, and reports
 * each outcome instead of throwing. The cases that check that the factory applied the suite's settings
 * run first; when one fails, the failures after it say so. Each case is bounded by its timeout (see
 * {@link ConformanceOptions.timeoutMs}), so a call that never settles fails its case instead of hanging
 * the run. Needs no test runner (import it from `@strata/core/conformance/check`), and proves the suite
 * catches a broken adapter.
 *
 * @param options - the adapter under test
 * @param filter - which cases to run (all that apply by default)
 */
export async function checkConformance(options: ConformanceOptions, filter: (testCase: ConformanceCase) => boolean = () => true): Promise<CaseOutcome[]> {
  const caps = await capabilitiesOf(options);
  const selected = conformanceCases.filter((c) => filter(c) && appliesTo(c, caps, options));
  const ordered = [...selected.filter(isSettingsCase), ...selected.filter((c) => !isSettingsCase(c))];
  const outcomes: CaseOutcome[] = [];
  const settingsProblems: string[] = [];
  for (const c of ordered) {
    try {
      await runCase(c, options);
      outcomes.push({ id: c.id, passed: true });
    } catch (error) {
      if (isSettingsCase(c)) {
        const problem = describeSettingsFailure(error);
        if (problem !== undefined) settingsProblems.push(problem);
      } else explainFailure(error, settingsProblems);
      outcomes.push({ id: c.id, passed: false, error });
    }
  }
  return outcomes;
}
