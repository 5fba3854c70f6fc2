import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { ConformanceTimes } from './scripts/conformance-times.ts';

/**
 * Vitest's order (project by project, larger files first) would start the conformance runs — the PGlite
 * one alone takes over three minutes — late, and leave them running alone at the end of the parallel
 * phase. They go first; everything else keeps vitest's order.
 */
class ConformanceFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const long = (f: TestSpecification) => /conformance\.test\.ts$/.test(f.moduleId);
    return [...sorted.filter(long), ...sorted.filter((f) => !long(f))];
  }
}

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'scripts/vitest.config.ts', 'benchmarks/vitest.config.ts'],
    // Most test time is spent waiting (on servers, child processes, timers), so two files at a time pay
    // off even on two cores. The projects that share a PostgreSQL server run their files one at a time
    // (fileParallelism: false in their configs, see serverProject in vitest.shared.ts).
    maxWorkers: Math.max(2, availableParallelism()),
    sequence: { sequencer: ConformanceFirst },
    // The conformance times first, so that vitest's own summary still ends the output.
    reporters: [new ConformanceTimes(), 'default'],
  },
});
