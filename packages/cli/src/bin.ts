#!/usr/bin/env node
/**
 * The `strata` bin: {@link run} with the process's streams; Ctrl-C (or SIGTERM) ends `events tail
 * --follow`, stops a rebuild where it is and answers a confirmation with no; any command still running
 * 3 s later is ended (exit 130). A second Ctrl-C exits at once.
 *
 * @module
 */
import { run } from './program.js';

/** How long the command may take to stop after Ctrl-C or SIGTERM before the process exits anyway. */
const GRACE_MS = 3000;

const controller = new AbortController();
const stop = () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
  // Commands that stop on the signal (a follow, a rebuild, a confirmation) finish within it; any other
  // is ended: whatever it was doing in the database rolls back with its connection.
  setTimeout(() => process.exit(130), GRACE_MS).unref();
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
