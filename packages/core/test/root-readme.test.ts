import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, inject, it } from 'vitest';
import type {} from './build-dist.global-setup.js';

const coreDir = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The ```ts block of a README section. */
function snippetOf(section: string): string {
  const match = new RegExp(`## ${section}\\n[\\s\\S]*?\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (match?.[1] === undefined) throw new Error(`README.md has no ts block under "## ${section}"`);
  return match[1];
}

it("runs the root README's program, which exits on its own", { timeout: 60_000 }, async () => {
  expect(inject('coreDistError')).toBe('');
  const js = ts.transpileModule(snippetOf('A taste'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  // Inside core's directory, `@strata/core` resolves to the package itself (its dist/), as for a user.
  const file = `${coreDir}.readme-taste-${process.pid}.mjs`;
  await writeFile(file, js);
  try {
    const started = Date.now();
    const outcome = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [file], { cwd: coreDir, timeout: 15_000 }, (_error, stdout, stderr) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
      );
    });
    expect(outcome.signal, `the program did not exit on its own within 15 s (killed); stderr: ${outcome.stderr}`).toBeNull();
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain("'order-1' => 42");
    expect(outcome.stdout).toContain("template: 'order-placed'");
    expect(Date.now() - started).toBeLessThan(15_000);
  } finally {
    await rm(file, { force: true });
  }
});
