import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

interface JsonReport {
  testResults: { assertionResults: { ancestorTitles: string[]; title: string; status: string; failureMessages: string[] }[] }[];
}

it('runConformance checks the settings first and explains later failures when the factory ignores them', { timeout: 120_000 }, async () => {
  const config = fileURLToPath(new URL('./fixtures/vitest.config.mjs', import.meta.url));
  const stdout = await new Promise<string>((resolve) => {
    execFile('pnpm', ['exec', 'vitest', 'run', '--config', config, '--reporter=json'], { cwd: fileURLToPath(new URL('..', import.meta.url)), maxBuffer: 64 * 1024 * 1024 }, (_error, out) =>
      resolve(out),
    );
  });
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as JsonReport;
  const results = report.testResults.flatMap((r) => r.assertionResults);
  const first = results[0];
  expect(first?.ancestorTitles).toEqual(['ignores settings conformance', 'settings']);
  expect(first?.title).toBe('lifecycle.settings.max-attempts-applied');
  expect(first?.status).toBe('failed');
  expect(first?.failureMessages.join('\n')).toMatch(/the factory does not apply the suite's settings: maxAttempts asked 3, store used 5/);
  const later = results.find((r) => r.title === 'queue.receive.delivery-fields');
  expect(later?.status).toBe('failed');
  expect(later?.failureMessages.join('\n')).toMatch(/ignores the suite's settings, which likely explains this failure: maxAttempts asked 3, store used 5/);
});
