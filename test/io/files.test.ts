import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import { fileSource, writeFileAtomicStreaming } from '../../src/io/files.js';
import { rejectsWith } from '../helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-io-files-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('files as byte sources and atomic sinks', () => {
  it('reads ranges of a file, fewer bytes where it ends', async () => {
    const path = join(scratch, 'ten.bin');
    writeFileSync(
      path,
      Uint8Array.from({ length: 10 }, (_, i) => i),
    );
    const source = await fileSource(path);
    assert.deepEqual([source.name, source.size], [path, 10]);
    assert.deepEqual([...(await source.read(3, 4))], [3, 4, 5, 6]);
    assert.deepEqual([...(await source.read(8, 5))], [8, 9]);
  });

  it('names a path that is not a file', async () => {
    const missing = join(scratch, 'missing.safetensors');
    await rejectsWith(fileSource(missing), missing, 'does not exist');
    await rejectsWith(fileSource(scratch), scratch, 'is not a file');
  });

  it('reads a tensor of a file cut short after it was opened as truncated', async () => {
    const path = join(scratch, 'shrinks.safetensors');
    await writeFileAtomicStreaming(path, (out) =>
      writeSafetensors(out, [{ name: 'a', shape: [4], data: new Float32Array(4) }]),
    );
    const { tensors } = await openSafetensors(await fileSource(path));
    writeFileSync(path, readFileSync(path).subarray(0, 20));
    await rejectsWith(tensors.get('a')!.read(), path, 'tensor "a"', 'truncated');
  });

  it('leaves no file, and no temporary file, when writing fails', async () => {
    const path = join(scratch, 'bad-input.safetensors');
    await rejectsWith(
      writeFileAtomicStreaming(path, (out) =>
        writeSafetensors(out, [{ name: 'w', shape: [2, 2], data: new Float32Array(3) }]),
      ),
      path,
      '"w"',
      '4 elements',
    );
    assert.deepEqual(
      readdirSync(scratch).filter((name) => name.startsWith('bad-input')),
      [],
    );
  });
});
