import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/index.js';

const repo = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, repo), 'utf8');
const GITHUB = 'https://github.com/strata-dev/strata/blob/HEAD/';

/** The published packages: their READMEs ship in the npm tarball without the repository around them. */
const published = readdirSync(new URL('packages/', repo)).filter((dir) => {
  const manifest = new URL(`packages/${dir}/package.json`, repo);
  return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).private !== true;
});

/** The targets of the markdown links of a document, code blocks left out. */
function linksOf(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

describe('what the docs say', () => {
  it('NewEvent.id defaults to a new UUIDv7, as documented, not a random UUID', async () => {
    const source = read('packages/core/src/events/types.ts');
    const doc = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*id\?: string;/.exec(source)?.[1] ?? '';
    expect(doc).toMatch(/@defaultValue a new UUIDv7/);
    expect(doc).not.toMatch(/random UUID/);
    const store = createMemoryStore();
    await store.events.append('s', [{ type: 'T', data: {} }]);
    for await (const e of store.events.readStream('s')) expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await store.close();
  });

  it('package READMEs link nothing that the npm tarball lacks: repository files by absolute URL, and those exist', () => {
    expect(published.sort()).toEqual(['cli', 'core', 'migrate', 'pglite', 'postgres', 'realtime', 'sqlite', 'testing']);
    for (const dir of published) {
      for (const target of linksOf(read(`packages/${dir}/README.md`))) {
        expect(target, `packages/${dir}/README.md links ${target}`).toMatch(/^(https?:|#)/);
        if (target.startsWith(GITHUB)) {
          const path = target.slice(GITHUB.length).split('#')[0] as string;
          expect(existsSync(new URL(path, repo)), `packages/${dir}/README.md links ${target}, which does not exist`).toBe(true);
        }
      }
    }
  });

  it('the root README and docs link files that exist', () => {
    for (const file of [
      'README.md',
      ...readdirSync(new URL('docs/', repo))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ]) {
      const base = new URL(file, repo);
      for (const target of linksOf(read(file))) {
        if (/^(https?:|#|mailto:)/.test(target)) continue;
        expect(existsSync(new URL(target.split('#')[0] as string, base)), `${file} links ${target}, which does not exist`).toBe(true);
      }
    }
  });

  it("says `pnpm run docs`: plain `pnpm docs` is pnpm's own command and never runs typedoc", () => {
    expect(JSON.parse(read('package.json')).scripts.docs).toBe('typedoc');
    expect(read('README.md')).not.toMatch(/`pnpm docs`(?! is pnpm)/);
  });

  it('choosing an adapter is linked from the root README and from every adapter README', () => {
    expect(read('README.md')).toContain('](docs/choosing-an-adapter.md)');
    for (const dir of ['core', 'postgres', 'pglite', 'sqlite']) {
      expect(read(`packages/${dir}/README.md`), dir).toContain(`](${GITHUB}docs/choosing-an-adapter.md)`);
    }
  });
});
