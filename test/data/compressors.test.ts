import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { compressorLabel, measureCompressors, type CompressorResult } from '../../src/data/compressors.js';
import { Generator } from '../../src/tensor/random.js';
import { MambaError } from '../../src/util/errors.js';

const isRoot = process.getuid?.() === 0;
const hasTool = (tool: string) => spawnSync(tool, ['--version']).status === 0;

function pick(results: CompressorResult[], name: string): CompressorResult {
  const r = results.find((x) => x.name === name);
  assert.ok(r, `no result for ${name}`);
  return r;
}

describe('compressor baselines', () => {
  before(() => {
    // CI runs as root and must measure all three; elsewhere a missing tool is reported, not installed.
    if (isRoot && !(hasTool('xz') && hasTool('zstd'))) {
      const script = fileURLToPath(new URL('../../../scripts/ensure-compressors.sh', import.meta.url));
      const r = spawnSync('bash', [script], { stdio: 'inherit' });
      assert.equal(r.status, 0, 'scripts/ensure-compressors.sh failed');
    }
  });

  const random = new Uint8Array(1 << 16);
  const g = new Generator(7);
  for (let i = 0; i < random.length; i++) random[i] = g.nextUint32() & 0xff;
  const repeated = Buffer.from('All work and no play makes Jack a dull boy.\n'.repeat(3000));

  it('random bytes do not compress: about 8 bits per byte or a little more', async () => {
    for (const r of await measureCompressors(random)) {
      if (!r.available) continue;
      assert.ok(r.bitsPerByte >= 7.99 && r.bitsPerByte < 8.1, `${r.name}: ${r.bitsPerByte}`);
      assert.equal(r.bitsPerByte, (8 * r.compressedBytes) / random.length);
    }
  });

  it('repeated text compresses to a small fraction of a bit per byte', async () => {
    const results = await measureCompressors(repeated);
    assert.ok(pick(results, 'gzip -9').available);
    for (const r of results) {
      if (!r.available) continue;
      assert.ok(r.bitsPerByte < 0.1, `${r.name}: ${r.bitsPerByte}`);
      assert.equal(r.inputBytes, repeated.length);
    }
  });

  // On a text this short (about 10 kB) xz's container overhead can leave it behind gzip, so only the range is checked.
  it('English prose lands between 1 and 5 bits per byte', async () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url));
    const results = await measureCompressors(readme);
    assert.ok(pick(results, 'gzip -9').available);
    for (const r of results)
      if (r.available) assert.ok(r.bitsPerByte > 1 && r.bitsPerByte < 5, `${r.name}: ${r.bitsPerByte}`);
    console.log(`README.md: ${results.map(compressorLabel).join(', ')}`);
  });

  it('has xz and zstd when running as root (after ensure-compressors.sh), with their versions', async (t) => {
    if (!isRoot && !(hasTool('xz') && hasTool('zstd')))
      return t.skip('xz or zstd is missing and we are not root; run scripts/ensure-compressors.sh as root');
    const results = await measureCompressors(repeated);
    for (const name of ['xz -9e', 'zstd -19']) {
      const r = pick(results, name);
      assert.ok(r.available, `${name}: ${r.available ? '' : r.reason}`);
      assert.match(r.version, /^\d+\.\d+\.\d+$/);
    }
    const gzip = pick(results, 'gzip -9');
    assert.ok(gzip.available && gzip.version.startsWith('node:zlib '));
  });

  it('reports a missing or failing tool as unavailable with the reason, and still measures the rest', async () => {
    const results = await measureCompressors(repeated, { xz: '/nonexistent/bin/xz', zstd: 'false' });
    const xz = pick(results, 'xz -9e');
    const zstd = pick(results, 'zstd -19');
    assert.ok(
      !xz.available &&
        xz.reason.includes('/nonexistent/bin/xz was not found on PATH') &&
        xz.reason.includes('scripts/ensure-compressors.sh'),
      JSON.stringify(xz),
    );
    assert.ok(!zstd.available && zstd.reason.includes('false exited with status 1'), JSON.stringify(zstd));
    assert.equal(compressorLabel(xz), 'xz -9e unavailable');
    const gzip = pick(results, 'gzip -9');
    assert.ok(gzip.available);
    assert.equal(compressorLabel(gzip), `gzip -9 ${gzip.bitsPerByte.toFixed(2)} bits/byte`);
  });

  it('rejects empty input', async () => {
    await assert.rejects(
      measureCompressors(new Uint8Array(0)),
      (e: unknown) => e instanceof MambaError && e.message.includes('the input is empty'),
    );
  });
});
