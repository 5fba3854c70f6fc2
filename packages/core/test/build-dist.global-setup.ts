import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why core's dist/ could not be built for this run; empty when it was. */
    coreDistError: string;
  }
}

/**
 * Builds core's dist/ once per run, before any test file: the tests that run Strata as a user does
 * (the packed tarball, the root README's program in a child process) need the built package, and two
 * test files building it at once would race. A failed build fails only those tests, with its output.
 */
export default async function buildDist(project: TestProject): Promise<void> {
  try {
    await promisify(execFile)('pnpm', ['exec', 'tsc', '-b'], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    project.provide('coreDistError', '');
  } catch (error) {
    const { stdout = '', message } = error as { stdout?: string; message: string };
    project.provide('coreDistError', `building core's dist/ failed: ${stdout || message}`);
  }
}
