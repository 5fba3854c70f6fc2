import { defineProject } from 'vitest/config';
import { strataProject } from '../../vitest.shared.ts';

export default defineProject(strataProject('example-browser', { testTimeout: 200_000, hookTimeout: 200_000 }));
