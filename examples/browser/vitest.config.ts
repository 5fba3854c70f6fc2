import { defineProject } from 'vitest/config';
import { strataProject } from '../../vitest.shared.ts';

export default defineProject(strataProject('example-browser', { testTimeout: 120_000, hookTimeout: 120_000 }));
