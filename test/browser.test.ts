import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import type { PageReport } from './browser/checks.js';

const CHROMIUM = '/usr/bin/chromium';
const PAGE_TIMEOUT_MS = 90_000;
// This file runs from dist/test/; the server's root is dist/, where the page finds /src/browser.js.
const root = fileURLToPath(new URL('..', import.meta.url));

const types: Record<string, string> = {
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json',
};

const page =
  '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>mamba-ts</title></head><body></body></html>';

/** A static server of dist/ (and the blank test page at /); `isolated` adds the COOP/COEP headers on every response. */
async function serve(isolated: boolean): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (path === '/') {
      res.writeHead(200, { ...headers, 'content-type': types['.html']! }).end(page);
      return;
    }
    const file = resolve(root, `.${path}`);
    const type = types[extname(file)];
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || !type) {
      res.writeHead(404, headers).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { ...headers, 'content-type': type }).end(body),
      () => res.writeHead(404, headers).end(),
    );
  });
  await new Promise<void>((done, fail) => server.once('error', fail).listen(0, '127.0.0.1', done));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Loads the blank page from `origin`, runs test/browser/checks.ts in it, and returns its report and console output. */
async function runPage(
  browser: Browser,
  origin: string,
  threads: number,
): Promise<{ report: PageReport; logs: string[] }> {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const logs: string[] = [];
    tab.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    tab.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await tab.goto(`${origin}/`);
    const run = tab.evaluate(async (n) => {
      const checks: typeof import('./browser/checks.js') = await import('/test/browser/checks.js' as string);
      return checks.runChecks(n);
    }, threads);
    const report = await withTimeout(run, PAGE_TIMEOUT_MS, `the page checks at ${origin}`).catch((error: Error) => {
      throw new Error(`${error.message}\npage console:\n${logs.join('\n')}`);
    });
    return { report, logs };
  } finally {
    await context.close();
  }
}

const comparisons = [
  'exp',
  'silu',
  'softplus',
  'broadcast add and mul',
  'matmul',
  'softmax',
  'sum #0',
  'sum #1',
  'layerNorm',
  ...[0, 1, 2, 3].map((i) => `backward through matmul, silu, layerNorm #${i}`),
];

function assertComputed(report: PageReport, logs: string[]): void {
  assert.deepEqual(report.failures, [], `page console:\n${logs.join('\n') || '(empty)'}`);
  assert.deepEqual(
    report.checks.map((c) => c.name),
    comparisons,
    'every comparison ran',
  );
  assert.ok(report.isDefault, 'init() made its backend the default');
  assert.ok(report.registered, "init() registered its backend as 'wasm'");
}

test('the browser build runs in headless Chromium', { timeout: 4 * PAGE_TIMEOUT_MS }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(
      `${CHROMIUM} is missing; install it with 'bash scripts/ensure-chromium.sh' (as root) to run the browser test`,
    );
    return;
  }
  const servers: Server[] = [];
  let browser: Browser | undefined;
  try {
    const isolated = await serve(true);
    const plain = await serve(false);
    servers.push(isolated.server, plain.server);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });

    await t.test('a cross-origin isolated page runs the wasm backend on 2 threads', async () => {
      const { report, logs } = await runPage(browser!, isolated.origin, 2);
      assert.equal(report.crossOriginIsolated, true, 'the COOP/COEP headers isolate the page');
      assert.equal(report.backend, 'wasm');
      assert.equal(report.threads, 2);
      assertComputed(report, logs);
    });

    await t.test('a page without COOP/COEP falls back to one wasm thread', async () => {
      const { report, logs } = await runPage(browser!, plain.origin, 2);
      assert.equal(report.crossOriginIsolated, false);
      assert.equal(report.backend, 'wasm');
      assert.equal(report.threads, 1);
      assert.ok(
        logs.some((line) => line.startsWith('warning:') && line.includes('cross-origin isolated')),
        `a console warning explains the single thread; console:\n${logs.join('\n')}`,
      );
      assertComputed(report, logs);
    });
  } finally {
    await browser?.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  }
});
