// `node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx src/profile-sqlite-read.ts`: where a SQLite
// read-all's time goes in Strata's adapter. Appends 100,000 events (100 streams of 1,000) to a SQLite file
// with Strata's defaults, then reads them all five times through `store.events.readAll()` in pages of
// 1,000 (as `pnpm bench` does) and prints events/s; run it under Node's --cpu-prof to see the split
// (the query's stepping, JSON parsing, building each event, the async iteration). Evidence for
// docs/benchmarks.md ("What bounds each Strata figure"); not part of `pnpm bench`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '@strata/sqlite';

const work = mkdtempSync(join(tmpdir(), 'strata-profile-sqlite-'));
try {
  const store = await createSqliteStore(join(work, 'read.db'), { readPageSize: 1000 });
  for (let b = 0; b < 100; b++) {
    await store.events.append(
      `s-${b}`,
      Array.from({ length: 1000 }, (_, i) => ({ type: 'OrderLineAdded', data: { i, text: `line ${i} of an order, with some text`, amount: i * 0.25 } })),
    );
  }
  const t = performance.now();
  let n = 0;
  for (let round = 0; round < 5; round++) for await (const _ of store.events.readAll()) n++;
  console.log(`${n.toLocaleString('en')} events read, ${Math.round(n / ((performance.now() - t) / 1000)).toLocaleString('en')} events/s`);
  await store.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
