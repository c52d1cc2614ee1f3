import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acquireRunLock, LOCK_FILE, lockHolder, RunFolderLockedError } from '../../src/train/run-lock.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-lock-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const folder = (name: string) => {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  return dir;
};
/** The id of a process that has ended. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('the lock of a run folder', () => {
  it('holds the pid, host and start time, refuses a second writer by name, and goes on release', () => {
    const out = folder('held');
    const lock = acquireRunLock(out, () => assert.fail('no note expected'));
    const held = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8'));
    assert.equal(held.pid, process.pid);
    assert.equal(held.hostname, hostname());
    assert.ok(Math.abs(Date.parse(held.started) - Date.now()) < 60_000);
    assert.throws(
      () => acquireRunLock(out, () => {}),
      (e: Error) => {
        assert.ok(e instanceof RunFolderLockedError);
        assert.match(e.message, new RegExp(`pid ${process.pid} on ${hostname()}`));
        assert.ok(e.message.startsWith(join(out, LOCK_FILE)));
        assert.match(e.message, /wait for it to end or stop it, or choose another --out/);
        return true;
      },
    );
    lock.release();
    assert.equal(existsSync(join(out, LOCK_FILE)), false);
    lock.release();
    acquireRunLock(out, () => {}).release();
  });

  it('takes over the lock of a process that no longer runs, or a file that is no lock, with a note', () => {
    const out = folder('stale');
    const pid = deadPid();
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid, hostname: hostname(), started: 'yesterday' }));
    assert.deepEqual(lockHolder(out).holder, null);
    const notes: string[] = [];
    const lock = acquireRunLock(out, (line) => notes.push(line));
    assert.deepEqual(notes, [`taking over ${join(out, LOCK_FILE)}: it was left by pid ${pid}, which no longer runs`]);
    assert.equal(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).pid, process.pid);
    lock.release();

    writeFileSync(join(out, LOCK_FILE), '');
    notes.length = 0;
    acquireRunLock(out, (line) => notes.push(line)).release();
    assert.match(notes[0]!, /it is not a lock this program wrote/);
  });

  it("refuses another host's lock, since its process cannot be checked from here, and says how to clear it", () => {
    const out = folder('remote');
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: 1, hostname: 'elsewhere', started: 'today' }));
    assert.throws(
      () => acquireRunLock(out, () => {}),
      new RegExp(`pid 1 on elsewhere.*if no training runs there on elsewhere, remove ${join(out, LOCK_FILE)}`),
    );
  });

  it('is removed when the process exits without releasing it, and left behind by a kill', () => {
    const lockModule = fileURLToPath(new URL('../../src/train/run-lock.js', import.meta.url));
    const take = (out: string, end: string) =>
      spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { acquireRunLock } from ${JSON.stringify(lockModule)}; acquireRunLock(${JSON.stringify(out)}, () => {}); ${end}`,
        ],
        { encoding: 'utf8' },
      );
    const exited = folder('exit');
    assert.equal(take(exited, 'process.exit(3)').status, 3);
    assert.equal(existsSync(join(exited, LOCK_FILE)), false);
    const killed = folder('killed');
    assert.equal(take(killed, "process.kill(process.pid, 'SIGKILL')").signal, 'SIGKILL');
    assert.ok(existsSync(join(killed, LOCK_FILE)));
    assert.equal(lockHolder(killed).holder, null);
  });
});
