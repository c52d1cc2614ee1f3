import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { latestCheckpoint, readTrainerState } from '../../src/train/checkpoint.js';
import { LOCK_FILE } from '../../src/train/run-lock.js';
import { mountTmpfs, NO_TMPFS } from '../util/tmpfs.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-run-folder-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const textFile = join(scratch, 'text.txt');
writeFileSync(textFile, 'It was the best of times, it was the worst of times. '.repeat(200));
const tinyFlags = ['--data', textFile, '--d-model', '16', '--n-layer', '1', '--d-state', '4', '--seq-len', '16'];
const more = ['--batch-size', '2', '--eval-bytes', '64', '--final-eval-bytes', '256', '--threads', '1'];
const trainArgs = (out: string, steps: number) => [
  'train',
  'mambabyte',
  '--out',
  out,
  '--steps',
  String(steps),
  ...tinyFlags,
  ...more,
];
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

/** One line on stderr, no stack trace, no request to report a bug. */
function assertUserError(r: { status: number | null; stderr: string }, status: number, message: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  const errors = r.stderr.split('\n').filter((line) => line.startsWith('mamba-ts: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, message);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
}

describe('the run folder of a trainer', () => {
  it('a second trainer on the same --out is refused while the first runs; after a kill, the stale lock is taken over', async () => {
    const out = join(scratch, 'two-writers');
    const first = spawn(process.execPath, [main, ...trainArgs(out, 100_000)], { stdio: 'ignore' });
    const exited = new Promise((r) => first.once('exit', r));
    try {
      for (let waited = 0; !existsSync(join(out, LOCK_FILE)); waited += 50) {
        assert.ok(waited < 60_000, 'the first trainer took no lock within a minute');
        await new Promise((r) => setTimeout(r, 50));
      }
      const lock = join(out, LOCK_FILE);
      const pid = `pid ${first.pid}`;
      for (const resume of [[], ['--resume']]) {
        const second = cli(...trainArgs(out, 3), ...resume);
        assertUserError(
          second,
          1,
          new RegExp(`^mamba-ts: ${lock}: another training \\(${pid} on .*choose another --out`),
        );
      }
    } finally {
      first.kill('SIGKILL');
      await exited;
    }
    assert.ok(existsSync(join(out, LOCK_FILE)), 'a SIGKILL leaves the lock');
    const checkpoint = latestCheckpoint(out);
    const third = cli(...trainArgs(out, (checkpoint ? readTrainerState(checkpoint).step : 0) + 2), '--resume');
    assert.equal(third.status, 0, third.stderr);
    assert.match(
      third.stderr,
      new RegExp(`taking over ${join(out, LOCK_FILE)}: it was left by pid ${first.pid}, which no longer runs`),
    );
    assert.equal(existsSync(join(out, LOCK_FILE)), false);
  });

  it('an existing file as --out, or a folder below a file, is one clear error', () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'mine');
    assertUserError(cli(...trainArgs(file, 2)), 2, /^mamba-ts: --out .*a-file is a file; give a folder for the run/);
    assertUserError(
      cli(...trainArgs(join(file, 'run'), 2)),
      1,
      /a-file.* is a file where a folder is expected|a-file already exists/,
    );
    assert.equal(readFileSync(file, 'utf8'), 'mine');
  });

  it('a read-only --out, or one on a full disk, is one clear error with the fix', (t) => {
    const readOnly = join(scratch, 'read-only');
    const unmount = mountTmpfs(readOnly, 'size=64k,ro');
    if (!unmount) return t.skip(NO_TMPFS);
    try {
      assertUserError(
        cli(...trainArgs(join(readOnly, 'run'), 2)),
        1,
        /^mamba-ts: .*read-only\/run is on a read-only file system: write elsewhere \(another --out\)/,
      );
    } finally {
      unmount();
    }
    const full = join(scratch, 'full');
    const unmountFull = mountTmpfs(full, 'size=32k');
    if (!unmountFull) return t.skip(NO_TMPFS);
    try {
      assertUserError(
        cli(...trainArgs(join(full, 'run'), 2)),
        1,
        /^mamba-ts: no space left on the device holding .*full\/run\/.*: free some space, or write elsewhere \(another --out\)/,
      );
    } finally {
      unmountFull();
    }
  });
});
