import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MambaError } from '../../src/util/errors.js';
import {
  describeSystemError,
  explainFileError,
  FileSystemError,
  isSystemError,
  withFileErrors,
  type SystemError,
} from '../../src/util/fs-errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-fs-errors-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** What Node throws, for the codes a test cannot provoke on this machine. */
const systemError = (code: string, syscall: string, path?: string): SystemError =>
  Object.assign(new Error(`${code}: stub, ${syscall}${path ? ` '${path}'` : ''}`), {
    code,
    syscall,
    ...(path ? { path } : {}),
  });

const caught = (operation: () => unknown): unknown => {
  try {
    operation();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
};

describe('errors of the environment', () => {
  it('become FileSystemErrors naming the path and the fix, from real refusals', () => {
    const file = join(scratch, 'file');
    writeFileSync(file, 'x');
    const full = join(scratch, 'full');
    mkdirSync(join(full, 'inside'), { recursive: true });
    const cases: [() => unknown, string, RegExp][] = [
      [() => readFileSync(join(scratch, 'absent')), 'ENOENT', /absent does not exist: check the path/],
      [() => readFileSync(scratch), 'EISDIR', /is a folder where a file is expected: give the path of a file/],
      [() => mkdirSync(join(file, 'sub')), 'ENOTDIR', /part of .*file\/sub is a file where a folder is expected/],
      [() => mkdirSync(file), 'EEXIST', /file already exists and is in the way: remove or rename it/],
      [() => rmdirSync(full), 'ENOTEMPTY', /full is a folder that is not empty/],
    ];
    for (const [operation, code, message] of cases) {
      const error = caught(() => withFileErrors(join(scratch, 'asked'), operation));
      assert.ok(error instanceof FileSystemError, String(error));
      assert.ok(error instanceof MambaError);
      assert.equal(error.code, code);
      assert.match(error.message, message);
    }
  });

  it('name the path the caller worked on where Node names none (a write that ran out of space)', () => {
    const error = explainFileError(systemError('ENOSPC', 'write'), '/data/run/model.safetensors');
    assert.ok(error instanceof FileSystemError);
    assert.equal(
      error.message,
      'no space left on the device holding /data/run/model.safetensors: free some space, or write elsewhere (another --out)',
    );
    for (const [code, message] of [
      ['EROFS', /\/r is on a read-only file system: write elsewhere \(another --out\)/],
      ['EACCES', /permission denied for \/r: change its permissions or owner/],
      ['EPERM', /not permitted on \/r/],
      ['EDQUOT', /quota is used up on the device holding \/r/],
    ] as const)
      assert.match((explainFileError(systemError(code, 'open', '/r')) as Error).message, message);
  });

  it('leave other errors alone: bugs, MambaErrors, and codes with no explanation', () => {
    const bug = new TypeError('x is undefined');
    assert.equal(explainFileError(bug, '/p'), bug);
    const own = new MambaError('bad file');
    assert.equal(explainFileError(own, '/p'), own);
    const unknown = systemError('EIO', 'read', '/disk/file');
    assert.equal(explainFileError(unknown), unknown);
    assert.equal(isSystemError(unknown), true);
    assert.equal(isSystemError(Object.assign(new Error('no syscall or path'), { code: 'ERR_X' })), false);
    assert.equal(
      describeSystemError(unknown),
      "read on /disk/file failed: EIO: stub, read '/disk/file'; check the path, the device and the permissions, or use another path",
    );
    assert.match(describeSystemError(systemError('ENOSPC', 'write', '/d')), /^no space left on the device holding \/d/);
  });
});
