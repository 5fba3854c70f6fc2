// `pnpm mutation [memory|sqlite ...] [stryker options]`: mutation testing of the reference adapters,
// killed by the conformance suite alone (docs/mutation/README.md). With no target it runs both, the
// memory adapter first. After each Stryker run it writes docs/mutation/<target>.md from the JSON
// report and prints the score. Options other than the target names go to `stryker run` (for example
// `--mutate packages/core/src/memory/checkpoints.ts`); a partial run's summary says it is partial, and
// with `--merge` its files replace theirs in the whole run's report and summary.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = { memory: 'stryker.config.mjs', sqlite: 'stryker.sqlite.config.mjs' };

const args = process.argv.slice(2).filter((a) => a !== '--');
const targets = args.filter((a) => a in TARGETS);
// --merge (with --mutate): fold the partial run's files into the whole run's report and summary.
const merge = args.includes('--merge');
const forwarded = args.filter((a) => !(a in TARGETS) && a !== '--merge');
const partial = forwarded.some((a) => a === '--mutate' || a === '-m' || a.startsWith('--mutate='));

let failed = false;
for (const target of targets.length > 0 ? targets : Object.keys(TARGETS)) {
  if (target === 'sqlite') {
    // Stryker's type checker compiles the SQLite adapter against @strata/core's declarations (its dist),
    // which a fresh clone does not have until core is built (turbo: from its cache when unchanged).
    const built = spawnSync('pnpm', ['turbo', 'run', 'build', '--filter=@strata/core', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0) {
      console.error(`mutation (${target}): building @strata/core failed (${built.status ?? built.signal})`);
      failed = true;
      continue;
    }
  }
  // A partial run leaves the committed HTML report alone: its JSON report and summary go to reports/.
  const reporters = partial ? ['--reporters', 'json,clear-text,progress'] : [];
  const env = partial ? { ...process.env, STRATA_MUTATION_JSON: `reports/mutation/${target}-partial.json` } : process.env;
  const stryker = spawnSync('pnpm', ['exec', 'stryker', 'run', TARGETS[target], ...reporters, ...forwarded], { cwd: root, stdio: 'inherit', env });
  if (stryker.status !== 0) {
    console.error(`mutation (${target}): stryker exited with ${stryker.status ?? stryker.signal}`);
    failed = true;
    continue;
  }
  const summary = spawnSync(process.execPath, [join(root, 'scripts/mutation-summary.mjs'), target, ...(partial ? [merge ? '--merge' : '--partial'] : [])], {
    cwd: root,
    stdio: 'inherit',
  });
  if (summary.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
