import assert from 'node:assert/strict';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { PageReport } from './browser/checks.js';
import { chromiumMissing, launchChromium, serveStatic, withTimeout, type StaticServer } from './browser/harness.js';

const PAGE_TIMEOUT_MS = 90_000;
// This file runs from dist/test/; the server's root is dist/, where the page finds /src/browser.js.
const root = fileURLToPath(new URL('..', import.meta.url));
const nodeModules = fileURLToPath(new URL('../../node_modules/', import.meta.url));

// The npm packages the library imports, mapped for a page that loads dist/ without a bundler.
const importMap = {
  imports: {
    '@huggingface/tokenizers': '/node_modules/@huggingface/tokenizers/dist/tokenizers.mjs',
    fflate: '/node_modules/fflate/esm/browser.js',
  },
};

const page = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>mamba-ts</title><script type="importmap">${JSON.stringify(importMap)}</script></head><body></body></html>`;

/** A static server of dist/, the packages of the import map, and the blank test page at /. */
function serve(isolated: boolean): Promise<StaticServer> {
  return serveStatic((path) => {
    if (path === '/') return { html: page };
    const file = path.startsWith('/node_modules/')
      ? resolve(nodeModules, `.${path.slice('/node_modules'.length)}`)
      : resolve(root, `.${path}`);
    const inside = [root, nodeModules].some((dir) => file.startsWith(dir.endsWith(sep) ? dir : dir + sep));
    return inside ? { file } : null;
  }, isolated);
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
  const missing = chromiumMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const servers: StaticServer[] = [];
  let browser: Browser | undefined;
  try {
    const isolated = await serve(true);
    const plain = await serve(false);
    servers.push(isolated, plain);
    browser = await launchChromium();

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
    for (const server of servers) await server.close();
  }
});
