import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'scripts/vitest.config.ts'],
    // Most test time is spent waiting (on servers, child processes, timers), so two files at a time pay
    // off even on two cores. The projects that share a PostgreSQL server run their files one at a time
    // (fileParallelism: false in their configs, see serverProject in vitest.shared.ts).
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
