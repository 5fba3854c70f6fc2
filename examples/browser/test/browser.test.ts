import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));
// Written by every run where a reviewer can look at it (not committed: its ids and times change each
// run); screenshots/todo.png, shown in the README, is one such screenshot.
const screenshot = join(root, 'test-results', 'todo.png');
/** Longest wait for anything the page does (PGlite boots in seconds, but far slower on a busy machine). */
const WAIT_MS = 90_000;

interface StoredTodoEvent {
  id: string;
  version: number;
  position: string;
  type: string;
  data: { id: string; title?: string };
}

/** What the conformance page reports: how many cases ran, and the failures. */
interface ConformanceReport {
  ran: number;
  failed: { id: string; error: string }[];
  ms: number;
}

declare global {
  interface Window {
    strataTodos: { handled(): number; events(): Promise<StoredTodoEvent[]> };
    strataConformance: { run(areas: readonly string[]): Promise<ConformanceReport> };
  }
}

/** Rejects with a clear message when `work` takes longer than `ms`. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.data': 'application/octet-stream',
};

/** Serves the built page from `dir` on localhost. */
async function serve(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

let dist: string;
let profile: string;
let server: Server;
let context: BrowserContext;
let conformance: Promise<ConformanceReport>;
let origin: string;
/** What the pages said on their console and what they threw, to explain a failure. */
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's Chromium first (apt-get install -y --no-install-recommends chromium); this test never downloads a browser`,
    );
  }
  dist = await mkdtemp(join(tmpdir(), 'strata-browser-dist-'));
  profile = await mkdtemp(join(tmpdir(), 'strata-browser-profile-'));
  await within(WAIT_MS, 'building the page with Vite', build({ root, logLevel: 'error', build: { outDir: dist, emptyOutDir: true } }));
  server = await serve(dist);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: WAIT_MS,
      viewport: { width: 800, height: 720 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The events cases check that reading a long stream does not hold it all; they collect garbage.
        '--js-flags=--expose-gc',
      ],
    });
  } catch (error) {
    throw new Error(`Chromium (${CHROMIUM}) did not start: ${(error as Error).message}`);
  }
  context.setDefaultTimeout(WAIT_MS);
  context.on('page', (page) => {
    page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
  });
  // Most of the time goes to booting PGlite (seconds each, far more on a busy machine), so the
  // conformance run starts now, in a page of its own, and goes on beside the persistence checks (which
  // run one after the other); its test awaits the result. Three boots at once were too slow to bound.
  conformance = runConformanceInPage();
  conformance.catch(() => undefined); // its test reports the failure
});

afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  await Promise.all([dist, profile].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
});

const AREAS = ['events', 'snapshots', 'checkpoints'];

/** Runs the conformance cases of {@link AREAS} in the conformance page and returns its report. */
async function runConformanceInPage(): Promise<ConformanceReport> {
  const page = await context.newPage();
  try {
    await page.goto(`${origin}/conformance.html`);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#status')?.dataset.ready === 'true');
    return await within(
      150_000,
      'the conformance run in the page',
      page.evaluate((areas) => window.strataConformance.run(areas), AREAS),
    );
  } finally {
    await page.close();
  }
}

/** Opens the to-do page and waits until its store is open (or says why it could not open). */
async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true' || document.body.dataset.error !== undefined);
  const error = await within(
    WAIT_MS,
    'asking the page',
    page.evaluate(() => document.body.dataset.error),
  );
  if (error !== undefined) throw new Error(`the page could not open its store: ${error}`);
}

/**
 * The persistence check: adds three items and completes the second through the page's form and
 * buttons, reloads, and requires the store to hold every event again, the same and in the same order,
 * and the view to show them. Throws when it does not.
 */
async function checkPersistence(page: Page, url: string): Promise<StoredTodoEvent[]> {
  await open(page, url);
  const titles = ['Write the browser test', 'Reload the page', 'Find every event again'];
  for (const title of titles) {
    await page.fill('#add input', title);
    await page.click('#add button');
    await page.waitForFunction((n) => document.querySelectorAll('#list li').length === n, titles.indexOf(title) + 1);
  }
  await page.click('#list li:nth-child(2) button');
  await page.waitForFunction(() => window.strataTodos.handled() === 4);
  const before = await within(
    WAIT_MS,
    'reading the events in the page',
    page.evaluate(() => window.strataTodos.events()),
  );
  expect(before.map((e) => e.type)).toEqual(['TodoAdded', 'TodoAdded', 'TodoAdded', 'TodoCompleted']);
  expect(before.map((e) => e.data.title)).toEqual([...titles, undefined]);

  await page.reload();
  await open(page, url);
  const after = await within(
    WAIT_MS,
    'reading the events in the page after the reload',
    page.evaluate(() => window.strataTodos.events()),
  );
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    throw new Error(`after the reload the store holds ${after.length} of the ${before.length} events written before it, or not in the same order`);
  }
  // The subscription replays them into the view.
  await page.waitForFunction(() => window.strataTodos.handled() === 4 && document.querySelectorAll('#list li.done').length === 1);
  return after;
}

describe('the to-do page in headless Chromium', () => {
  it('keeps every event across a reload, in order, in PGlite on IndexedDB', async () => {
    const page = await context.newPage();
    const events = await checkPersistence(page, `${origin}/index.html`).catch((error: Error) => {
      throw new Error(`${error.message}\n${pageErrors.join('\n')}`);
    });
    expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect(await page.locator('#list li').allTextContents()).toEqual(['Write the browser testComplete', 'Reload the page', 'Find every event againComplete']);
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.close();
  });

  it('notices lost events: the same check fails on a page that keeps them in memory only', async () => {
    const page = await context.newPage();
    await expect(checkPersistence(page, `${origin}/index.html?storage=memory`)).rejects.toThrow(/after the reload the store holds 0 of the 4 events/);
    await page.close();
  });

  it('passes the conformance cases of events, snapshots and checkpoints in the page', async () => {
    const report = await conformance;
    console.log(`conformance in Chromium: ${report.ran} cases of ${AREAS.join(', ')} in ${report.ms} ms`);
    expect(report.ran).toBeGreaterThan(0);
    expect(report.failed).toEqual([]);
  });
});
