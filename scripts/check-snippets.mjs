// Type-checks every TypeScript block (```ts, ```typescript) of the Markdown docs against the workspace
// packages, so that what a reader copies compiles. Run by `pnpm typecheck` (as `pnpm check:snippets`);
// give Markdown files as arguments to check only those. The convention is in CONTRIBUTING.md:
//
// - Each block is its own ES module (top-level await works), compiled with tsconfig.base.json's options
//   (strict, NodeNext, exactOptionalPropertyTypes…) except the unused-name checks. `@strata/*` resolve to
//   the packages' TypeScript sources (the `@strata/source` export condition), so no build is needed;
//   other packages resolve from wherever the workspace installed them.
// - Names a block uses without defining them (`sendEmail`, the reader's `pool`) are declared in an HTML
//   comment right above it, invisible once rendered: `<!-- prelude: declare function sendEmail(to: string): Promise<void> -->`
//   (or over several lines, up to `-->`). The prelude is compiled in front of the block. A block that
//   imports the reader's own module (`'../src/index.js'`) gets it from `<!-- module ../src/index.js: … -->`.
// - ```ts nocheck marks a fragment that is not meant to compile (an excerpt of a signature, pseudo-code).
//
// A failure names the Markdown file and line: `docs/guide.md:42:7 error TS2304: Cannot find name 'x'.`
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/** Markdown files whose blocks are checked, relative to the root. */
function markdownFiles() {
  const files = ['README.md'];
  for (const dir of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, dir))) {
      if (existsSync(join(root, dir, name, 'README.md'))) files.push(`${dir}/${name}/README.md`);
    }
  }
  if (existsSync(join(root, 'benchmarks/README.md'))) files.push('benchmarks/README.md');
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory() && path !== 'docs/api') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)(.*)$/;

/** The TypeScript blocks of one Markdown file, with the line each starts on (1-based, its first code line). */
export function extractBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (open === null) continue;
    const [, indent, fence, lang, rest] = open;
    const close = new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    const flags = rest.trim().split(/\s+/).filter(Boolean);
    if ((lang === 'ts' || lang === 'typescript') && !flags.includes('nocheck')) {
      const code = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
      blocks.push({ line: i + 2, code, ...commentsAbove(lines, i) });
    }
    i = end;
  }
  return blocks;
}

/**
 * The HTML comments right above the fence at `fenceIndex` (blank lines between them allowed):
 * `<!-- prelude: code -->` is compiled in front of the block; `<!-- module ../src/index.js: code -->` is
 * the module the block imports under that relative path.
 */
function commentsAbove(lines, fenceIndex) {
  const prelude = [];
  const modules = [];
  let end = fenceIndex - 1;
  for (;;) {
    while (end >= 0 && lines[end].trim() === '') end--;
    if (end < 0 || !lines[end].trimEnd().endsWith('-->')) break;
    let start = end;
    while (start >= 0 && !lines[start].includes('<!--')) start--;
    if (start < 0) break;
    const text = lines.slice(start, end + 1).join('\n');
    const match = /<!--\s*(prelude|module\s+(\S+?))\s*:([\s\S]*?)-->/.exec(text);
    if (match === null) break;
    const part = { line: start + 1, code: match[3].split('\n') };
    if (match[2] === undefined) prelude.unshift(part);
    else modules.push({ ...part, path: match[2] });
    end = start - 1;
  }
  return { prelude, modules };
}

/** The package a bare import specifier names, or null for relative paths and Node built-ins. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? null : name;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Where the workspace installed a package (its directory), looked up in every package's node_modules. */
function installed(name) {
  const places = [root, ...['packages', 'examples'].flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n))), join(root, 'benchmarks')];
  for (const place of places) {
    const dir = join(place, 'node_modules', name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return null;
}

function link(nodeModules, name, target) {
  const at = join(nodeModules, name);
  if (existsSync(at)) return;
  mkdirSync(dirname(at), { recursive: true });
  symlinkSync(target, at, 'dir');
}

function main() {
  const args = process.argv.slice(2);
  const files = args.length > 0 ? args.map((f) => relative(root, resolve(f))) : markdownFiles();
  const dir = mkdtempSync(join(tmpdir(), 'strata-snippets-'));
  try {
    const nodeModules = join(dir, 'node_modules');
    mkdirSync(nodeModules);
    for (const name of readdirSync(join(root, 'packages'))) {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
      link(nodeModules, pkg.name, join(root, 'packages', name));
    }
    link(nodeModules, '@types/node', join(root, 'node_modules/@types/node'));

    const sources = new Map(); // snippet file, relative to dir → { file, segments: [{ from, to, mdLine }] }
    let count = 0;
    const linkImports = (text) => {
      for (const m of text.matchAll(IMPORT)) {
        const pkg = packageOf(m[1] ?? m[2] ?? m[3]);
        if (pkg === null || pkg.startsWith('@strata/')) continue;
        const at = installed(pkg);
        if (at !== null) link(nodeModules, pkg, at);
        const types = `@types/${pkg.startsWith('@') ? pkg.slice(1).replace('/', '__') : pkg}`;
        const typesAt = installed(types);
        if (typesAt !== null) link(nodeModules, types, typesAt);
      }
    };
    for (const file of files) {
      const blocks = extractBlocks(readFileSync(join(root, file), 'utf8'));
      for (const block of blocks) {
        // Each block in a directory of its own, deep enough for the relative paths of its modules.
        const home = join(`${file.replace(/[^A-Za-z0-9]+/g, '_')}_L${block.line}`, 'a', 'b', 'c');
        mkdirSync(join(dir, home), { recursive: true });
        const lines = [];
        const segments = [];
        for (const part of block.prelude) {
          segments.push({ from: lines.length + 1, to: lines.length + part.code.length, mdLine: part.line, prelude: true });
          lines.push(...part.code);
        }
        segments.push({ from: lines.length + 1, to: lines.length + block.code.length, mdLine: block.line });
        lines.push(...block.code, 'export {};', '');
        const text = lines.join('\n');
        linkImports(text);
        const name = join(home, 'snippet.ts');
        writeFileSync(join(dir, name), text);
        sources.set(name, { file, segments });
        for (const mod of block.modules) {
          const modName = join(home, mod.path.replace(/\.js$/, '.ts'));
          mkdirSync(dirname(join(dir, modName)), { recursive: true });
          writeFileSync(join(dir, modName), `${mod.code.join('\n')}\nexport {};\n`);
          linkImports(mod.code.join('\n'));
          sources.set(modName, { file, segments: [{ from: 1, to: mod.code.length, mdLine: mod.line, prelude: true }] });
        }
        count++;
      }
    }
    if (count === 0) {
      console.log('check-snippets: no TypeScript blocks found');
      return;
    }
    const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
    const compilerOptions = {
      ...base,
      composite: false,
      declaration: false,
      declarationMap: false,
      sourceMap: false,
      noEmit: true,
      noUnusedLocals: false,
      noUnusedParameters: false,
      customConditions: ['@strata/source'],
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'strata-snippets', private: true, type: 'module' }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['**/*.ts'] }, null, 2));

    let output = '';
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir, '--pretty', 'false'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
      if (output.trim() === '') throw error;
    }
    const failures = [];
    for (const line of output.split('\n')) {
      if (line.trim() === '') continue;
      const m = /^(.*?)\((\d+),(\d+)\): (.*)$/.exec(line);
      const source = m === null ? undefined : sources.get(relative(dir, resolve(dir, m[1])));
      if (m === null || source === undefined) {
        // A message continued over several lines, or one about a file outside the snippets.
        if (failures.length > 0 && m === null) failures[failures.length - 1] += `\n${line}`;
        else failures.push(m === null ? line : `${relative(root, resolve(dir, m[1]))}:${m[2]}:${m[3]} ${m[4]}`);
        continue;
      }
      const at = Number(m[2]);
      const seg = source.segments.find((s) => at >= s.from && at <= s.to);
      const mdLine = seg === undefined ? '?' : seg.prelude ? `${seg.mdLine} (in the comment above the block)` : seg.mdLine + at - seg.from;
      failures.push(`${source.file}:${mdLine}:${m[3]} ${m[4]}`);
    }
    if (failures.length > 0) {
      console.error(failures.join('\n'));
      console.error(`\ncheck-snippets: ${failures.length} error(s) in the TypeScript blocks of the docs (see CONTRIBUTING.md, "Code in the docs")`);
      process.exitCode = 1;
    } else {
      console.log(`check-snippets: ${count} TypeScript blocks in ${files.length} Markdown files compile`);
    }
  } finally {
    // biome-ignore lint/suspicious/noUndeclaredEnvVars: a switch for debugging the script, which turbo does not run
    if (process.env.KEEP_SNIPPETS) console.log(`check-snippets: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main();
