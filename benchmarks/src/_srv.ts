import { startPostgres } from '@strata/testing';
const s = await startPostgres({ settings: {} });
console.log(s.url);
await new Promise((r) => setTimeout(r, 3_600_000));
