import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import * as mt from '../src/index.js';
import { saveMambaLM } from '../src/io/index.js';
import { chromiumMissing, launchChromium, serveStatic, withTimeout, type StaticServer } from './browser/harness.js';

const PAGE_TIMEOUT_MS = 90_000;
const repo = fileURLToPath(new URL('../..', import.meta.url));

// The README's bundler recipe, run as a user would: examples/browser/build.mjs bundles the example
// page with esbuild, a model folder is put beside it, and Chromium loads the model over HTTP and
// streams a generation, which must equal what Node generates from the same folder.
test(
  'the bundled example page loads a model over HTTP and generates in Chromium',
  { timeout: 3 * PAGE_TIMEOUT_MS },
  async (t) => {
    const missing = chromiumMissing();
    if (missing) {
      t.skip(missing);
      return;
    }
    const out = mkdtempSync(join(tmpdir(), 'mamba-ts-bundle-'));
    let server: StaticServer | undefined;
    let browser: Browser | undefined;
    try {
      const built = spawnSync(process.execPath, [join(repo, 'examples/browser/build.mjs'), out], {
        cwd: repo,
        encoding: 'utf8',
      });
      assert.equal(built.status, 0, built.stderr);

      const model = new mt.MambaLM(mt.mambaConfig({ dModel: 32, nLayer: 2, vocabSize: 256, dState: 8 }), {
        generator: new mt.Generator(7),
      });
      await saveMambaLM(model, join(out, 'model'));
      model.dispose();
      const prompt = 'Once upon a time';
      const lm = await mt.load(join(out, 'model'));
      const expected = (await lm.generate(prompt, { maxNewTokens: 24 })).text;
      lm.dispose();

      server = await serveStatic((path) => {
        const file = resolve(out, `.${path === '/' ? '/index.html' : path}`);
        return file.startsWith(out + sep) ? { file } : null;
      }, true);
      browser = await launchChromium();
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      const run = async () => {
        await page.goto(`${server!.origin}/`);
        await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('ready'));
        const ready = await page.textContent('#status');
        await page.fill('#prompt', prompt);
        await page.fill('#tokens', '24');
        await page.click('#generate');
        await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('done'));
        return { ready, output: await page.textContent('#output') };
      };
      const { ready, output } = await withTimeout(run(), PAGE_TIMEOUT_MS, 'the bundled page').catch((error: Error) => {
        throw new Error(`${error.message}\npage console:\n${logs.join('\n')}`);
      });
      assert.match(ready!, /^ready: wasm backend on \d+ thread/, logs.join('\n'));
      assert.equal(output, expected, logs.join('\n'));
    } finally {
      await browser?.close();
      await server?.close();
      rmSync(out, { recursive: true, force: true });
    }
  },
);
