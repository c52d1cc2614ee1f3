import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

describe('command line', () => {
  it('prints help and the version', () => {
    const help = cli('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: mamba-ts <command>/);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    assert.equal(cli('--version').stdout.trim(), pkg.version);
    assert.match(cli('demo', '--help').stdout, /usage: mamba-ts demo/);
  });

  it('rejects bad use with one clear line, the usage and no stack trace', () => {
    for (const args of [
      ['frobnicate'],
      ['demo', '--epochs', 'zero'],
      ['demo', '--nope'],
      ['data', 'install', 'nothing-here'],
    ]) {
      const r = cli(...args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, /^mamba-ts: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('demo --json trains and reports', () => {
    const r = cli('demo', '--epochs', '3', '--json');
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.ok(result.testAccuracy > 0.9);
  });
});
