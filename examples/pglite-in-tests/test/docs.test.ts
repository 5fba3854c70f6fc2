import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('docs/pglite-in-tests.md shows the recipe exactly as this example runs it', () => {
  const doc = readFileSync(new URL('../../../docs/pglite-in-tests.md', import.meta.url), 'utf8');
  const recipe = readFileSync(new URL('./orders.test.ts', import.meta.url), 'utf8');
  expect(doc).toContain(`\`\`\`ts\n${recipe}\`\`\``);
});
