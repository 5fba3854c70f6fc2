import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Builds core's dist/ once per run, before any test file: the tests that run Strata as a user does
 * (the packed tarball, the root README's program in a child process) need the built package, and two
 * test files building it at once would race.
 */
export default async function buildDist(): Promise<void> {
  await promisify(execFile)('pnpm', ['exec', 'tsc', '-b'], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
}
