/** One measured run of an implementation on a workload. */
export interface Sample {
  /** Operations completed (events for read workloads). */
  ops: number;
  /** Wall time in milliseconds. */
  ms: number;
  /** Latency of each timed call, in milliseconds. */
  latencies: number[];
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Runs `op` from `concurrency` callers until `durationMs` has passed, timing each call. `op` returns
 * how many operations it completed (1 for a single append, 100 for a batch counted per event, …).
 */
export async function timed(durationMs: number, concurrency: number, op: (caller: number) => Promise<number>): Promise<Sample> {
  const latencies: number[] = [];
  let ops = 0;
  const start = now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      while (now() < end) {
        const t = now();
        // Not `ops += await op()`: that reads `ops` before the await, so concurrent callers would
        // overwrite each other's counts (8 callers counted about an eighth of their operations).
        const done = await op(caller);
        ops += done;
        latencies.push(now() - t);
      }
    }),
  );
  return { ops, ms: now() - start, latencies };
}

/** Runs `op` once per repetition, timing each; `op` returns how many operations it completed. */
export async function repeated(times: number, op: () => Promise<number>): Promise<Sample> {
  const latencies: number[] = [];
  let ops = 0;
  const start = now();
  for (let i = 0; i < times; i++) {
    const t = now();
    const done = await op();
    ops += done;
    latencies.push(now() - t);
  }
  return { ops, ms: now() - start, latencies };
}

/** The `p`-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Merges the samples of several rounds. */
export function merge(samples: readonly Sample[]): Sample {
  return {
    ops: samples.reduce((n, s) => n + s.ops, 0),
    ms: samples.reduce((n, s) => n + s.ms, 0),
    latencies: samples.flatMap((s) => s.latencies),
  };
}

/** Runs `op` from `workers` callers until it returns 0 for each of them (the work is drained). */
export async function drain(workers: number, op: () => Promise<number>): Promise<Sample> {
  const latencies: number[] = [];
  let ops = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (;;) {
        const t = now();
        const n = await op();
        if (n === 0) return;
        ops += n;
        latencies.push(now() - t);
      }
    }),
  );
  return { ops, ms: now() - start, latencies };
}

/** Repeats `op` until `durationMs` has passed (at least once), timing each; `op` returns its operation count. */
export async function repeatedFor(durationMs: number, op: () => Promise<number>): Promise<Sample> {
  const latencies: number[] = [];
  let ops = 0;
  const start = now();
  do {
    const t = now();
    const done = await op();
    ops += done;
    latencies.push(now() - t);
  } while (now() - start < durationMs);
  return { ops, ms: now() - start, latencies };
}
