#!/usr/bin/env node
// Records `strata consumers rebuild` with its progress bar, for docs/cli.md: builds a SQLite database of
// 200,000 events in a temporary directory, runs the command in a detached tmux session, captures the pane
// every 100 ms with `tmux capture-pane -p`, and writes an asciinema v2 cast and a few text frames under
// docs/recordings/. Needs tmux and a build (`npx turbo run build --filter @strata/cli...`).
//
//   node packages/cli/scripts/record-rebuild.mjs [events]
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteStore } from '@strata/sqlite';

const here = fileURLToPath(new URL('.', import.meta.url));
const pkg = join(here, '..');
const out = join(pkg, '../../docs/recordings');
const total = Number(process.argv[2] ?? 200_000);
const width = 140;
const height = 14;
const session = `strata-rec-${process.pid}`;

const dir = mkdtempSync(join(tmpdir(), 'strata-rec-'));
const db = join(dir, 'shop.db');
console.log(`building ${total.toLocaleString('en-US')} events in ${db}`);
const store = await createSqliteStore(db, { synchronous: 'normal' });
const perOrder = 10;
for (let o = 0; o < total / perOrder; o++) {
  const events = [{ type: 'OrderPlaced', data: { customer: `c-${o % 500}` } }];
  for (let i = 1; i < perOrder; i++) events.push({ type: 'ItemAdded', data: { sku: `sku-${(o * 7 + i) % 1000}`, price: 1 + ((o + i) % 50) } });
  await store.events.append(`order-${o}`, events);
}
await store.checkpoints.set('order-totals', BigInt(total - 1234));
store.client.exec('create table order_totals (order_id text primary key, items integer not null, total real not null)');
await store.close();

// What the pane runs: `strata` on PATH, the projection module next to the database (a symlink, so that
// its imports resolve from this package).
mkdirSync(join(dir, 'bin'));
writeFileSync(join(dir, 'bin/strata'), `#!/bin/sh\nexec node ${join(pkg, 'dist/bin.js')} "$@"\n`);
chmodSync(join(dir, 'bin/strata'), 0o755);
symlinkSync(join(here, 'demo-projection.mjs'), join(dir, 'projections.mjs'));

const tmux = (...args) => execFileSync('tmux', args, { encoding: 'utf8' });
const env = `PATH=${join(dir, 'bin')}:${process.env.PATH} PS1='$ ' TERM=xterm-256color`;
tmux('new-session', '-d', '-s', session, '-x', String(width), '-y', String(height), '-c', dir, `env ${env} bash --norc --noprofile`);
const commands = [
  'strata consumers lag --db shop.db',
  'strata consumers rebuild order-totals --db shop.db --module ./projections.mjs --yes',
  'strata consumers lag --db shop.db',
];

const frames = [];
const started = Date.now();
let last = '';
const capture = () => {
  const screen = tmux('capture-pane', '-p', '-t', session).replace(/\s+$/, '');
  if (screen !== last) {
    frames.push({ t: (Date.now() - started) / 1000, screen });
    last = screen;
  }
  return screen;
};
try {
  await new Promise((r) => setTimeout(r, 300));
  capture();
  for (const command of commands) {
    const prompts = (last.match(/^\$/gm) ?? []).length;
    tmux('send-keys', '-t', session, command, 'Enter');
    // Done when the next prompt shows.
    const deadline = Date.now() + 10 * 60_000;
    while (Date.now() < deadline) {
      if ((capture().match(/^\$/gm) ?? []).length > prompts || /strata: /.test(last)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 700));
    capture();
  }
} finally {
  tmux('kill-session', '-t', session);
  rmSync(dir, { recursive: true, force: true });
}

mkdirSync(out, { recursive: true });
const clear = '\u001b[H\u001b[2J';
const cast = [
  JSON.stringify({
    version: 2,
    width,
    height,
    timestamp: Math.floor(started / 1000),
    title: 'strata consumers rebuild',
    env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
  }),
  ...frames.map((f) => JSON.stringify([Number(f.t.toFixed(3)), 'o', clear + f.screen.split('\n').join('\r\n')])),
];
writeFileSync(join(out, 'consumers-rebuild.cast'), `${cast.join('\n')}\n`);
const bars = frames.filter((f) => /rebuilding order-totals .* (\d+)%/.test(f.screen) && !/Rebuilt/.test(f.screen));
const percent = (f) => Number(/rebuilding order-totals .* (\d+)%/.exec(f.screen)?.[1] ?? 0);
const middle = bars.find((f) => percent(f) >= 40) ?? bars[Math.floor(bars.length / 2)];
const pick = { start: bars[0], middle, end: frames.at(-1) };
for (const [name, frame] of Object.entries(pick)) if (frame !== undefined) writeFileSync(join(out, `consumers-rebuild.${name}.txt`), `${frame.screen}\n`);
console.log(`${frames.length} frames over ${frames.at(-1)?.t.toFixed(1)} s; ${bars.length} with the bar; written to ${out}`);
