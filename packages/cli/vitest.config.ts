import { defineProject } from 'vitest/config';
import { serverProject } from '../../vitest.shared.ts';

export default defineProject(serverProject('cli'));
