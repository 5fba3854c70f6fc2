import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

interface JsonReport {
  testResults: { assertionResults: { ancestorTitles: string[]; title: string; status: string; failureMessages: string[] }[] }[];
}

/** The results of the fixture suites (fixtures/*.conformance.ts), each registered against a broken factory, run in a child vitest. */
async function fixtureResults(): Promise<JsonReport['testResults'][number]['assertionResults']> {
  const config = fileURLToPath(new URL('./fixtures/vitest.config.mjs', import.meta.url));
  const stdout = await new Promise<string>((resolve) => {
    execFile(
      'pnpm',
      ['exec', 'vitest', 'run', '--config', config, '--reporter=json'],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), maxBuffer: 64 * 1024 * 1024 },
      (_error, out) => resolve(out),
    );
  });
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as JsonReport;
  return report.testResults.flatMap((r) => r.assertionResults);
}

const fixtures = fixtureResults();
// Each test awaits it (and reports its failure); this only keeps an early failure from counting as unhandled.
fixtures.catch(() => undefined);

it('runConformance checks the settings first and explains later failures when the factory ignores them', { timeout: 120_000 }, async () => {
  const results = (await fixtures).filter((r) => r.ancestorTitles[0] === 'ignores settings conformance');
  // The settings checks run first, in their own group.
  expect(results.slice(0, 3).map((r) => [r.ancestorTitles.join(' > '), r.title, r.status])).toEqual([
    ['ignores settings conformance > settings', 'lifecycle.settings.read-page-size-applied', 'failed'],
    ['ignores settings conformance > settings', 'lifecycle.settings.max-attempts-applied', 'failed'],
    ['ignores settings conformance > settings', 'lifecycle.settings.snapshots-to-keep-applied', 'failed'],
  ]);
  expect(results[1]?.failureMessages.join('\n')).toMatch(/the factory does not apply the suite's settings: maxAttempts asked 3, store used 5/);
  const later = results.find((r) => r.title === 'queue.receive.delivery-fields');
  expect(later?.status).toBe('failed');
  expect(later?.failureMessages.join('\n')).toMatch(/ignores the suite's settings, which likely explains this failure: .*maxAttempts asked 3, store used 5/s);
});

it('runConformance fails a named test with the error of a factory that cannot make a store, instead of failing to collect the file', {
  timeout: 120_000,
}, async () => {
  const results = (await fixtures).filter((r) => r.ancestorTitles[0] === 'cannot open conformance');
  expect(results.map((r) => [r.title, r.status])).toEqual([['the factory makes a store', 'failed']]);
  expect(results[0]?.failureMessages.join('\n')).toMatch(/no database at this address/);
});
