import { defineProject } from 'vitest/config';
import { postgresGlobalSetup, strataProject } from '../../vitest.shared.ts';

export default defineProject(strataProject('migrate', { globalSetup: [postgresGlobalSetup], testTimeout: 120_000 }));
