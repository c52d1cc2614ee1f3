import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeFileAtomicStreaming } from '../../src/io/files.js';
import { FileSystemError } from '../../src/util/fs-errors.js';
import { makeFolder, readFileBytes, removeStaleTempFiles, tempPathFor, writeFileAtomic } from '../../src/util/fs.js';
import { mountTmpfs, NO_TMPFS } from './tmpfs.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-fs-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const rejectsAs = (error: unknown, code: string, message: RegExp) => {
  assert.ok(error instanceof FileSystemError, String(error));
  assert.equal(error.code, code);
  assert.match(error.message, message);
  return true;
};

describe('atomic writes in a hostile environment', () => {
  it('a file where the folder belongs, or a folder where the file belongs, is a FileSystemError naming the path', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(
      () => writeFileAtomic(join(file, 'metrics.jsonl'), 'y'),
      (e) => rejectsAs(e, 'EEXIST', /a-file already exists and is in the way: remove or rename it/),
    );
    assert.throws(
      () => makeFolder(join(file, 'sub')),
      (e) => rejectsAs(e, 'ENOTDIR', /a-file\/sub/),
    );
    const folder = join(scratch, 'a-folder');
    mkdirSync(join(folder, 'x'), { recursive: true });
    // The message names the file asked for, not the temporary file the rename came from.
    assert.throws(
      () => writeFileAtomic(folder, 'y'),
      (e) => rejectsAs(e, 'EISDIR', new RegExp(`^${folder} is a folder where a file is expected`)),
    );
    await assert.rejects(
      writeFileAtomicStreaming(folder, async (out) => out.write(new Uint8Array(3))),
      (e) => rejectsAs(e, 'EISDIR', new RegExp(`^${folder} is a folder`)),
    );
    assert.throws(
      () => readFileBytes(folder),
      (e) => rejectsAs(e, 'EISDIR', new RegExp(`^${folder} is a folder`)),
    );
    assert.deepEqual([...readFileBytes(file)], [120]);
    assert.deepEqual(readdirSync(scratch).sort(), ['a-file', 'a-folder']);
  });

  it('a read-only folder says so, with the fix', async (t) => {
    const dir = join(scratch, 'read-only');
    const unmount = mountTmpfs(dir, 'size=64k,ro');
    if (!unmount) return t.skip(NO_TMPFS);
    try {
      assert.throws(
        () => writeFileAtomic(join(dir, 'config.json'), '{}'),
        (e) => rejectsAs(e, 'EROFS', /read-only\/config.json is on a read-only file system: write elsewhere/),
      );
      await assert.rejects(
        writeFileAtomicStreaming(join(dir, 'model.safetensors'), async (out) => out.write(new Uint8Array(8))),
        (e) => rejectsAs(e, 'EROFS', /model.safetensors is on a read-only file system/),
      );
      // Node's recursive mkdir says ENOENT here; the real cause is found.
      assert.throws(
        () => makeFolder(join(dir, 'run', 'checkpoints')),
        (e) => rejectsAs(e, 'EROFS', /read-only\/run is on a read-only file system/),
      );
    } finally {
      unmount();
    }
  });

  it('a full disk says so, leaves the old file whole and no temporary file', async (t) => {
    const dir = join(scratch, 'full');
    const unmount = mountTmpfs(dir, 'size=64k');
    if (!unmount) return t.skip(NO_TMPFS);
    try {
      const target = join(dir, 'weights.bin');
      writeFileAtomic(target, 'old');
      const message = /^no space left on the device holding .*full\/weights.bin: free some space, or write elsewhere/;
      assert.throws(
        () => writeFileAtomic(target, new Uint8Array(1 << 20)),
        (e) => rejectsAs(e, 'ENOSPC', message),
      );
      await assert.rejects(
        writeFileAtomicStreaming(target, async (out) => out.write(new Uint8Array(1 << 23))),
        (e) => rejectsAs(e, 'ENOSPC', message),
      );
      assert.equal(readFileSync(target, 'utf8'), 'old');
      assert.deepEqual(readdirSync(dir), ['weights.bin']);
    } finally {
      unmount();
    }
  });
});

describe('temporary files of interrupted writes', () => {
  it('are removed when their process is gone, and kept while it runs', () => {
    const dir = join(scratch, 'temps');
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = `model.safetensors.tmp-${dead}-abc123`;
    const live = tempPathFor(join(dir, 'metrics.jsonl'));
    for (const name of [stale, 'notes.tmp-x', 'model.safetensors']) writeFileSync(join(dir, name), '');
    writeFileSync(live, '');
    assert.deepEqual(removeStaleTempFiles(dir), [stale]);
    assert.deepEqual(
      readdirSync(dir).sort(),
      ['metrics.jsonl' + live.slice(live.indexOf('.tmp-')), 'model.safetensors', 'notes.tmp-x'].sort(),
    );
    assert.deepEqual(removeStaleTempFiles(join(scratch, 'no-such-folder')), []);
    assert.equal(existsSync(join(dir, stale)), false);
  });
});
