import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The majors a range of caret alternatives (`^12.0.0 || ^13.0.0`) accepts; fails on any other form. */
function caretMajors(range: string): number[] {
  return range.split('||').map((part) => {
    const match = /^\^(\d+)\.\d+\.\d+$/.exec(part.trim());
    if (match === null) throw new Error(`unexpected range part ${JSON.stringify(part)}`);
    return Number(match[1]);
  });
}

describe('package.json', () => {
  it('accepts better-sqlite3 12 and 13 as peer (npm on Node 22+ resolves 13), and develops against 12', () => {
    expect(caretMajors(manifest.peerDependencies['better-sqlite3'] ?? '')).toEqual([12, 13]);
    expect(manifest.devDependencies['better-sqlite3']).toMatch(/^12\./);
  });
});
