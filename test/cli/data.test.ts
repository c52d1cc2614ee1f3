import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-data-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cli(env: Record<string, string>, ...args: string[]) {
  const clean = { ...process.env };
  delete clean['MAMBA_TS_DATA_DIR'];
  delete clean['XDG_CACHE_HOME'];
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...clean, ...env } });
}

describe('mamba-ts data list', () => {
  // A folder where digits is complete (its one file) and mnist has only one of its four files.
  const folder = join(scratch, 'data');
  mkdirSync(join(folder, 'digits'), { recursive: true });
  writeFileSync(join(folder, 'digits', 'digits.csv.gz'), Buffer.alloc(1234));
  mkdirSync(join(folder, 'mnist'), { recursive: true });
  writeFileSync(join(folder, 'mnist', 'train-images-idx3-ubyte.gz'), Buffer.alloc(99));

  it('names the data folder and shows which data sets are installed there, and their size', () => {
    const r = cli({ MAMBA_TS_DATA_DIR: folder }, 'data', 'list');
    assert.equal(r.status, 0, r.stderr);
    const [header, ...rows] = r.stdout.trim().split('\n');
    assert.equal(header, `data sets in ${folder} (MAMBA_TS_DATA_DIR moves them):`);
    assert.match(
      rows.find((l) => l.includes('digits'))!,
      /^ {2}digits +installed, 1\.2 kB +sklearn 8x8 handwritten digits/,
    );
    assert.match(
      rows.find((l) => l.includes(' mnist '))!,
      /^ {2}mnist +not installed +MNIST handwritten digits/,
    );
    assert.equal(rows.filter((l) => / installed, /.test(l)).length, 1);
  });

  it('--json: one object per data set with its folder', () => {
    const r = cli({ MAMBA_TS_DATA_DIR: folder }, 'data', 'list', '--json');
    assert.equal(r.status, 0, r.stderr);
    const sets = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; folder: string; installed: boolean; bytes: number });
    const digits = sets.find((s) => s.name === 'digits')!;
    assert.deepEqual([digits.folder, digits.installed, digits.bytes], [join(folder, 'digits'), true, 1234]);
    const mnist = sets.find((s) => s.name === 'mnist')!;
    assert.deepEqual([mnist.installed, mnist.bytes], [false, 0]);
  });

  it('without $MAMBA_TS_DATA_DIR, lists the folder in $XDG_CACHE_HOME', () => {
    const xdg = join(scratch, 'xdg');
    const r = cli({ XDG_CACHE_HOME: xdg }, 'data', 'list');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`data sets in ${join(xdg, 'mamba-ts', 'data')} `), r.stdout);
    assert.doesNotMatch(r.stdout, / installed, /);
  });

  it('--json belongs to list', () => {
    const r = cli({ MAMBA_TS_DATA_DIR: folder }, 'data', 'install', 'digits', '--json');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--json goes with data list/);
  });
});
