import type { Reporter, TestModule } from 'vitest/node';

/** The conformance files compared: the suite on PGlite, and on the PostgreSQL server, in one run. */
const RUNS = [
  { label: 'PGlite', file: /packages\/pglite\/test\/conformance\.test\.ts$/ },
  { label: 'PostgreSQL server', file: /packages\/postgres\/test\/conformance\.test\.ts$/ },
];

/**
 * Prints, at the end of `pnpm test`, how long the conformance suite took on PGlite and on the PostgreSQL
 * server in this run, side by side: the sum of the suite's case durations (the faults cases, which only
 * some adapters run, left out). Issue 13's target is PGlite within 3× of the server.
 */
export class ConformanceTimes implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const measured = RUNS.flatMap(({ label, file }) => {
      const module = modules.find((m) => file.test(m.moduleId));
      if (module === undefined) return [];
      let ms = 0;
      let cases = 0;
      for (const test of module.children.allTests()) {
        if (test.name.startsWith('faults.')) continue;
        const duration = test.diagnostic()?.duration;
        if (duration === undefined) continue;
        ms += duration;
        cases++;
      }
      return cases === 0 ? [] : [{ label, ms, cases }];
    });
    if (measured.length === 0) return;
    const parts = measured.map((m) => `${m.label} ${(m.ms / 1000).toFixed(1)} s (${m.cases} cases)`);
    const [pglite, server] = measured;
    const ratio =
      measured.length === 2 && pglite !== undefined && server !== undefined && server.ms > 0 ? ` · PGlite ÷ server ${(pglite.ms / server.ms).toFixed(2)}×` : '';
    process.stdout.write(`\n Conformance suite in this run: ${parts.join(' · ')}${ratio}\n`);
  }
}
