import { defineProject } from 'vitest/config';
import { strataProject } from '../vitest.shared.ts';

export default defineProject(strataProject('benchmarks'));
