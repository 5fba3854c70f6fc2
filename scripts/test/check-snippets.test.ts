import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../check-snippets.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'check-snippets-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(markdown: string) {
  const file = join(dir, 'guide.md');
  writeFileSync(file, markdown);
  const run = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('check-snippets', () => {
  it('compiles blocks against the packages, with preludes, modules, top-level await and nocheck fragments', () => {
    const { status, output } = check(`# Guide

<!-- prelude: declare function sendEmail(to: string): Promise<void> -->

\`\`\`ts
import { createMemoryStore } from '@strata/core'
const store = createMemoryStore()
await store.events.append('s', [{ type: 'A', data: { to: 'a@example.com' } }])
await sendEmail('a@example.com')
\`\`\`

<!-- module ../src/index.js: export declare function createMyStore(): Promise<import('@strata/core').StrataStore> -->

\`\`\`typescript
import { createMyStore } from '../src/index.js'
const store = await createMyStore()
await store.close()
\`\`\`

\`\`\`ts nocheck
append(streamId, events, options?) → AppendResult
\`\`\`

\`\`\`sh
pnpm add @strata/core
\`\`\`
`);
    expect(output).toContain('2 TypeScript blocks');
    expect(output).not.toContain('error');
    expect(status).toBe(0);
  }, 60_000);

  it('fails naming the Markdown file and line of each error', () => {
    const { status, output } = check(`# Guide

\`\`\`ts
import { createMemoryStore } from '@strata/core'
const store = createMemoryStore()
const n: number = 'forty-two'
await store.close(n)
\`\`\`
`);
    expect(status).toBe(1);
    expect(output).toMatch(/guide\.md:6:7 error TS2322/);
    expect(output).toMatch(/guide\.md:7:19 error TS2554/);
    expect(output).toContain('2 error(s)');
  }, 60_000);
});
