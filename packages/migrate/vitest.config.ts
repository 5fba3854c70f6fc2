import { defineProject } from 'vitest/config';
import { parallelServerProject } from '../../vitest.shared.ts';

// Its files use the run's PostgreSQL server but hold no transaction open: they may run side by side.
export default defineProject(parallelServerProject('migrate', { testTimeout: 120_000 }));
