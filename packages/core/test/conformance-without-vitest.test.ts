import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, inject, it } from 'vitest';
import type {} from './build-dist.global-setup.js';

const run = promisify(execFile);
const coreDir = fileURLToPath(new URL('..', import.meta.url));
// The app's processes see none of the workspace: pnpm's shims put its store on NODE_PATH.
const { NODE_PATH: _workspaceModules, NODE_OPTIONS: _options, ...env } = process.env;

// What a jest or node:test user writes: no vitest anywhere, only the runner-free entry.
const nodeTestFile = `
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createMemoryStore } from '@strata/core'
import { checkConformance, conformanceCases } from '@strata/core/conformance/check'

test('the memory adapter passes every case', async () => {
  const outcomes = await checkConformance({ name: 'memory', factory: (settings) => createMemoryStore(settings) })
  assert.deepEqual(outcomes.filter((o) => !o.passed).map((o) => o.id + ': ' + String(o.error)), [])
  // Every case that applies: all but the NOT_SUPPORTED ones, which need a capability switched off.
  assert.ok(outcomes.length > 300 && outcomes.length < conformanceCases.length, outcomes.length + ' cases ran')
})

test('an adapter that ignores expected versions fails the cases that guard them', async () => {
  const broken = (settings) => {
    const store = createMemoryStore(settings)
    return { ...store, events: { ...store.events, append: (id, events) => store.events.append(id, events) } }
  }
  const outcomes = await checkConformance({ name: 'broken', factory: broken }, (c) => c.id.startsWith('events.append.expected-version.'))
  const failed = outcomes.filter((o) => !o.passed).map((o) => o.id)
  assert.ok(failed.includes('events.append.expected-version.exact-too-low'), 'failed: ' + failed.join(', '))
  assert.ok(failed.includes('events.append.expected-version.no-stream-conflict'), 'failed: ' + failed.join(', '))
})
`;

it('checkConformance runs under node:test in an npm app that has no vitest installed', { timeout: 180_000 }, async () => {
  expect(inject('coreDistError')).toBe('');
  const dir = await mkdtemp(join(tmpdir(), 'strata-conformance-outside-'));
  try {
    // The packed tarball holds dist/, as published (built by the project's global setup).
    await run('pnpm', ['pack', '--pack-destination', dir], { cwd: coreDir });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'outside-app', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', join(dir, tarball as string)], { cwd: app });
    expect(existsSync(join(app, 'node_modules', '@strata', 'core', 'dist', 'conformance', 'check.js'))).toBe(true);
    // vitest is an optional peer: npm does not install it, and nothing above the app provides it.
    const missing = await run(
      process.execPath,
      ['--input-type=module', '-e', `import('vitest').then(() => console.log('found'), (e) => console.log(e.code))`],
      { cwd: app, env },
    );
    expect(missing.stdout.trim()).toBe('ERR_MODULE_NOT_FOUND');

    await writeFile(join(app, 'conformance.test.mjs'), nodeTestFile);
    const { stdout } = await run(process.execPath, ['--test', '--test-reporter=tap', 'conformance.test.mjs'], { cwd: app, env, timeout: 120_000 }).catch(
      (error: { stdout?: string; stderr?: string }) => {
        throw new Error(`node --test failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
      },
    );
    expect(stdout).toMatch(/# pass 2/);
    expect(stdout).toMatch(/# fail 0/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
