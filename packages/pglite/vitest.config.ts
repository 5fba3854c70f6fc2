import { defineProject } from 'vitest/config';
import { strataProject } from '../../vitest.shared.ts';

// A PGlite instance takes 10–15 s to boot on a loaded machine: 20 s per test was too tight.
export default defineProject(strataProject('pglite', { testTimeout: 60_000 }));
