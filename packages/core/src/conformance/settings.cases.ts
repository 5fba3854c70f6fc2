import { defineCases, seed } from './helpers.js';
import type { ConformanceCase } from './types.js';

/** The failure of a settings case: says in plain words which setting the factory did not apply. */
class SettingsNotApplied extends Error {
  override name = 'SettingsNotApplied';
  constructor(readonly problem: string) {
    super(
      `the factory does not apply the suite's settings: ${problem}. Pass the settings the factory receives to the store it creates (see ConformanceSettings); other cases count on them.`,
    );
  }
}

/**
 * The one-line problem of a failed settings case, for the failures that follow it; undefined when the
 * case failed for another reason (a broken contract says nothing about the settings).
 */
export function describeSettingsFailure(error: unknown): string | undefined {
  return error instanceof SettingsNotApplied ? error.problem : undefined;
}

const SETTINGS_PREFIX = 'lifecycle.settings.';

/** Whether a case is one of the checks that the factory applied the suite's settings (they run first). */
export function isSettingsCase(testCase: ConformanceCase): boolean {
  return testCase.id.startsWith(SETTINGS_PREFIX);
}

/**
 * Checks, through the contracts, that the factory applied the settings it was given. A factory that
 * ignores them would otherwise see unrelated cases fail with bare numbers (`5 !== 3`).
 */
export const settingsCases = defineCases('lifecycle', {
  'settings.capabilities-as-expected': {
    requires: (_caps, run) => run?.expectsCapabilities === true,
    async run({ caps, expectedCapabilities }) {
      const wrong = Object.entries(expectedCapabilities)
        .filter(([flag, expected]) => caps[flag as keyof typeof caps] !== expected)
        .map(([flag, expected]) => `${flag}: expected ${String(expected)}, the store declares ${String(caps[flag as keyof typeof caps])}`);
      if (wrong.length > 0) {
        throw new Error(`the store does not declare the capabilities the run expects (${wrong.join('; ')}): the cases of a capability declared off do not run`);
      }
    },
  },
  'settings.read-page-size-applied': {
    async run({ store, settings }) {
      // A closed store serves at most the page in hand (and one read ahead) before it refuses to read
      // on: how many events it still serves after close bounds its page size from below.
      const p = settings.readPageSize;
      const total = 3 * p + 1;
      await seed(store, 'settings-check', total);
      const iterator = store.events.readStream('settings-check')[Symbol.asyncIterator]();
      if ((await iterator.next()).done) throw new Error('the events appended to check readPageSize were not read');
      await store.close();
      let served = 1;
      try {
        while (!(await iterator.next()).done) served++;
      } catch {
        // Refused once the pages in hand ran out: what the check wants.
      }
      if (served > 2 * p) {
        throw new SettingsNotApplied(`readPageSize asked ${p}, store read at least ${served} events per page`);
      }
    },
  },
  'settings.max-attempts-applied': {
    requires: (c) => c.queue,
    async run({ store, settings }) {
      await store.queue.send('settings-check', { body: 'settings-check' });
      const [d] = await store.queue.receive('settings-check', { visibilityTimeoutMs: 60_000 });
      if (d === undefined) throw new Error('the message sent to check maxAttempts was not received');
      if (d.maxAttempts !== settings.maxAttempts) {
        throw new SettingsNotApplied(`maxAttempts asked ${settings.maxAttempts}, store used ${d.maxAttempts}`);
      }
      await store.queue.ack(d.receipt);
    },
  },
  'settings.snapshots-to-keep-applied': {
    requires: (c) => c.snapshots,
    async run({ store, settings }) {
      const saved = settings.snapshotsToKeep + 5;
      for (let v = 1; v <= saved; v++) await store.snapshots.save('settings-check', { version: v, state: v });
      let kept = 0;
      for (let v = 1; v <= saved; v++) if ((await store.snapshots.load('settings-check', { maxVersion: v }))?.version === v) kept++;
      if (kept !== settings.snapshotsToKeep) {
        const used = kept === saved ? `at least ${saved} (it kept every one of ${saved} saved)` : String(kept);
        throw new SettingsNotApplied(`snapshotsToKeep asked ${settings.snapshotsToKeep}, store kept ${used}`);
      }
    },
  },
});
