import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

interface JsonReport {
  testResults: { assertionResults: { ancestorTitles: string[]; title: string; status: string; failureMessages: string[] }[] }[];
}

it('runConformance checks the settings first and explains later failures when the factory ignores them', { timeout: 120_000 }, async () => {
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
  const results = report.testResults.flatMap((r) => r.assertionResults);
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
