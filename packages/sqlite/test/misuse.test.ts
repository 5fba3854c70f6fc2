import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('misuse-child.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

function run(adapter: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--conditions=@strata/source', '--import', tsx, script, adapter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('a script that calls the store inside its own transaction', () => {
  for (const adapter of ['memory', 'sqlite']) {
    it(`exits with the typed error that says to use tx (${adapter})`, async () => {
      const { code, output } = await run(adapter);
      expect(code, output).toBe(1);
      expect(output).toContain("code: 'VALIDATION'");
      expect(output).toContain('store.events.append was called inside the same store');
      expect(output).toContain('tx.events.append');
      expect(output).not.toContain('not reached');
    });
  }
});
