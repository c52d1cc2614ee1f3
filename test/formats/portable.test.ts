import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

// The sources, not dist/: this file runs from dist/test/formats/.
const folder = new URL('../../../src/formats/', import.meta.url);
/** What a file in src/formats may import: its neighbours, the error type, and pure-JS packages that run in a browser. */
const ALLOWED = [/^\.\/[\w-]+\.js$/, /^\.\.\/util\/errors\.js$/, /^fflate$/, /^jpeg-js$/];

describe('src/formats runs in a browser', () => {
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.ts'))) {
    it(file, () => {
      const source = readFileSync(new URL(file, folder), 'utf8');
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const [, specifier] of code.matchAll(/\b(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        assert.ok(
          ALLOWED.some((allowed) => allowed.test(specifier!)),
          `${file} imports ${specifier}`,
        );
      }
      for (const name of ['Buffer', 'process', 'require', '__dirname', 'globalThis']) {
        assert.ok(!new RegExp(`\\b${name}\\b`).test(code), `${file} uses ${name}`);
      }
    });
  }
});

describe('the mamba-ts/formats entry', () => {
  it('package.json maps it to the built index, which exports the readers and writers', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, { import: string; types: string }>;
    };
    const entry = pkg.exports['./formats']!;
    for (const file of [entry.import, entry.types])
      assert.ok(existsSync(new URL(`../../../${file}`, import.meta.url)), file);
    const formats = (await import(new URL(`../../../${entry.import}`, import.meta.url).href)) as Record<
      string,
      unknown
    >;
    for (const name of [
      'bytesSource',
      'MemorySink',
      'openSafetensors',
      'writeSafetensors',
      'openTorchCheckpoint',
      'decodeNifti',
      'encodeNifti',
      'decodeImage',
      'decodePng',
      'encodePng',
      'toGray',
    ]) {
      assert.equal(typeof formats[name], 'function', name);
    }
  });
});
