#!/usr/bin/env node
/**
 * The `strata` bin: {@link run} with the process's streams; Ctrl-C (or SIGTERM) ends `events tail
 * --follow` and stops a rebuild where it is. A second Ctrl-C exits at once.
 *
 * @module
 */
import { run } from './program.js';

const controller = new AbortController();
const stop = () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
run(process.argv.slice(2), { signal: controller.signal }).then(
  (code) => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`strata: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
