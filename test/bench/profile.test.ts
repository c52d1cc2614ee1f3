import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The argument checks of `npm run profile`: each mistake is one line naming it, then the usage,
// exit code 2 and no stack trace; all of them fail before any model is built.
const SCRIPT = fileURLToPath(new URL('../../bench/profile.js', import.meta.url));

function profile(...args: string[]) {
  const run = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm run profile: bad arguments', () => {
  const cases: [string[], RegExp][] = [
    [['nope'], /^profile: unknown workload 'nope'; choose from decode, prefill, mambabyte, vim\n/],
    [[], /^profile: name one workload \(decode, prefill, mambabyte, vim\); got none\n/],
    [['decode', 'vim'], /^profile: name one workload .*; got decode vim\n/],
    [['decode', '--steps', '0'], /^profile: --steps must be a whole number of at least 1, got '0'\n/],
    [['decode', '--threads', 'two'], /^profile: --threads must be a whole number of at least 1, got 'two'\n/],
    [['decode', '--fast'], /^profile: Unknown option '--fast'/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ') || '(none)'}: exit 2 with one clear error`, () => {
      const r = profile(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: npm run profile -- <workload>/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    });
  }
});
