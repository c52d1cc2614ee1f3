import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { countingSource, rejectsWith } from '../helpers.js';
import { bytesSource, type ByteSource } from '../../src/formats/byte-source.js';
import type { TensorEntry } from '../../src/formats/dtypes.js';
import { openSafetensors } from '../../src/formats/safetensors.js';
import { openTorchCheckpoint } from '../../src/formats/torch-zip.js';
import { fileSource } from '../../src/io/files.js';
import { withReadLimits } from './read-limits.js';
import { archive, archiveBytes, bytes, global, PROTO2, small, statePickle, STOP, str, zip } from './torch-archive.js';

const fixture = (path: string): string => fileURLToPath(new URL(`../../../test/fixtures/${path}`, import.meta.url));
const fromFile = async (path: string) => openTorchCheckpoint(await fileSource(fixture(path)));

/** Compares every tensor with expected.safetensors, which the fixture script wrote from torch.load's result. */
async function assertMatchesTorch(
  tensors: Map<string, TensorEntry>,
  expectedPath: string,
  dtype: string,
): Promise<void> {
  const expected = await openSafetensors(await fileSource(expectedPath));
  assert.deepEqual([...tensors.keys()], JSON.parse(expected.metadata!.order), 'the state dict order');
  for (const [name, want] of expected.tensors) {
    const entry = tensors.get(name)!;
    assert.equal(entry.dtype, dtype, name);
    assert.deepEqual(entry.shape, want.shape, name);
    assert.deepEqual(await entry.read(), await want.read(), name);
  }
}

describe('torch.save checkpoints in the original layout', () => {
  it('reads a float32 pytorch_model.bin with views and shared storages as torch.load does', async () => {
    const { tensors } = await fromFile('io/mamba-orig-f32/pytorch_model.bin');
    await assertMatchesTorch(tensors, fixture('io/mamba-orig-f32/expected.safetensors'), 'F32');
    // The fixture makes layer 0's dt_proj.weight a transposed view and its A_log a strided slice at
    // storage offset 5; layer 1's D and A_log are cut from one storage; lm_head is tied.
    assert.deepEqual(tensors.get('backbone.layers.0.mixer.dt_proj.weight')!.shape, [16, 2]);
    assert.deepEqual(tensors.get('backbone.layers.0.mixer.A_log')!.shape, [16, 4]);
    assert.deepEqual(
      await tensors.get('lm_head.weight')!.read(),
      await tensors.get('backbone.embedding.weight')!.read(),
    );
  });

  it('reads a float16 one saved with pickle protocol 4 and Parameters', async () => {
    const { tensors } = await fromFile('io/mamba-orig-f16/pytorch_model.bin');
    await assertMatchesTorch(tensors, fixture('io/mamba-orig-f16/expected.safetensors'), 'F16');
  });

  it('reads the same archive repacked as zip64 and with DEFLATE entries', async () => {
    const zip64 = readFileSync(fixture('io/torch-zip64.bin'));
    assert.ok(zip64.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])), 'the fixture has a zip64 end record');
    for (const file of ['torch-zip64.bin', 'torch-deflate.bin']) {
      const { tensors } = await fromFile(`io/${file}`);
      await assertMatchesTorch(tensors, fixture('io/mamba-orig-f32/expected.safetensors'), 'F32');
    }
  });

  it('reads a checkpoint from bytes in memory, with no file', async () => {
    const bytes = readFileSync(fixture('io/torch-deflate.bin'));
    const { name, tensors } = await openTorchCheckpoint(bytesSource(new Uint8Array(bytes), 'downloaded.bin'));
    assert.equal(name, 'downloaded.bin');
    await assertMatchesTorch(tensors, fixture('io/mamba-orig-f32/expected.safetensors'), 'F32');
  });
});

describe('torch.save pickles: read without executing anything', () => {
  it('reads a hand-built archive, including a LONG1 storage offset', async () => {
    const plain = await openTorchCheckpoint(archive('plain.bin', statePickle()));
    assert.deepEqual([...(await plain.tensors.get('w')!.read())], [0, 1, 2, 3, 4, 5]);
    const shifted = await openTorchCheckpoint(archive('long1.bin', statePickle({ offset: bytes(0x8a, 1, 2) })));
    assert.deepEqual([...(await shifted.tensors.get('w')!.read())], [2, 3, 4, 5, 6, 7]);
    const transposed = await openTorchCheckpoint(
      archive('transposed.bin', statePickle({ size: [3, 2], stride: [1, 3] })),
    );
    assert.deepEqual([...(await transposed.tensors.get('w')!.read())], [0, 3, 1, 4, 2, 5]);
    const broadcast = await openTorchCheckpoint(
      archive('broadcast.bin', statePickle({ size: [2, 3], stride: [0, 1] })),
    );
    assert.deepEqual([...(await broadcast.tensors.get('w')!.read())], [0, 1, 2, 0, 1, 2]);
  });

  it('opening reads the directory and the pickle, not the storages; a tensor reads its own bytes', async () => {
    const storage = new Uint8Array(Float32Array.from({ length: 1 << 18 }, (_, i) => i).buffer);
    const source = countingSource(
      archive('large.bin', statePickle({ numel: 1 << 18, size: [512, 512], stride: [512, 1] }), { storage }),
    );
    const { tensors } = await openTorchCheckpoint(source);
    const opened = source.bytesRead;
    assert.ok(opened < 22 + 0xffff + 1024, `opening read ${opened} of ${source.size} bytes`);
    const values = await tensors.get('w')!.read();
    assert.equal(values[123456], 123456);
    // The storage record, and the 30-byte local header in front of it.
    assert.equal(source.bytesRead - opened, storage.length + 30);
  });

  it('refuses a pickle that asks for os.system', async () => {
    const evil = bytes(PROTO2, global('os', 'system'), str('echo pwned'), 0x85, 'R', STOP);
    const source = archive('os-system.bin', evil);
    await rejectsWith(openTorchCheckpoint(source), source.name, '"os.system"', 'never runs code');
  });

  it('refuses builtins.eval reached through STACK_GLOBAL (protocol 4)', async () => {
    const evil = bytes(0x80, 4, 0x8c, 8, 'builtins', 0x94, 0x8c, 4, 'eval', 0x94, 0x93, 0x8c, 1, '1', 0x85, 'R', STOP);
    const source = archive('eval.bin', evil);
    await rejectsWith(openTorchCheckpoint(source), source.name, '"builtins.eval"');
  });

  it('refuses calling an allowed global that is not a constructor, BUILD on a tensor, and unknown opcodes', async () => {
    const callStorage = archive('call-storage.bin', bytes(PROTO2, global('torch', 'FloatStorage'), ')R', STOP));
    await rejectsWith(openTorchCheckpoint(callStorage), callStorage.name, 'calls torch.FloatStorage');
    const build = archive('build.bin', statePickle({ after: '}b' }));
    await rejectsWith(openTorchCheckpoint(build), build.name, 'BUILD sets state on a tensor');
    const inst = archive('inst.bin', bytes(PROTO2, '(', 'ios\nsystem\n', STOP));
    await rejectsWith(openTorchCheckpoint(inst), inst.name, 'opcode 0x69');
    const nested = archive('nested.bin', bytes(PROTO2, '}', str('model'), '}', 's', STOP));
    await rejectsWith(openTorchCheckpoint(nested), nested.name, 'entry "model" is a dict, not a tensor');
    const cut = archive('cut.bin', statePickle().subarray(0, 40));
    await rejectsWith(openTorchCheckpoint(cut), cut.name, 'truncated');
  });

  it('refuses big-endian archives, views past their storage, and missing or short storage records', async () => {
    const big = archive('big.bin', statePickle(), { byteorder: 'big' });
    await rejectsWith(openTorchCheckpoint(big), big.name, 'big-endian');
    const past = archive('past.bin', statePickle({ offset: small(3) }));
    await rejectsWith(openTorchCheckpoint(past), past.name, 'tensor "w"', 'reach element 8 of a storage of 8');
    const short = archive('short.bin', statePickle(), { storage: new Uint8Array(16) });
    await rejectsWith(openTorchCheckpoint(short), short.name, 'tensor "w"', 'archive/data/0', 'has 16 bytes');
    const missing = archive('missing.bin', statePickle({ key: '9' }));
    await rejectsWith(openTorchCheckpoint(missing), missing.name, 'tensor "w"', 'archive/data/9', 'missing');
  });

  it('refuses a legacy pre-zip checkpoint, a truncated zip, and a damaged storage', async () => {
    const legacy = bytesSource(bytes(PROTO2, 0x8a, 10, Buffer.alloc(10), STOP), 'legacy.bin');
    await rejectsWith(openTorchCheckpoint(legacy), legacy.name, 'legacy');
    const whole = readFileSync(fixture('io/mamba-orig-f32/pytorch_model.bin'));
    const truncated = bytesSource(whole.subarray(0, whole.length >> 1), 'truncated.bin');
    await rejectsWith(openTorchCheckpoint(truncated), truncated.name, 'not a zip archive');
    // The tensor covers its whole storage, so reading it checks the record's CRC.
    const file = archiveBytes(statePickle({ size: [2, 4], stride: [4, 1] }));
    const at = file.indexOf(Buffer.from('archive/data/0')) + 'archive/data/0'.length;
    file[at] ^= 0xff;
    const damaged = bytesSource(file, 'damaged.bin');
    const { tensors } = await openTorchCheckpoint(damaged);
    await rejectsWith(tensors.get('w')!.read(), damaged.name, 'tensor "w"', 'CRC-32');
  });

  it('refuses a DEFLATE record that inflates past its recorded size (a zip bomb), or short of it', async () => {
    const bomb = archive('bomb.bin', statePickle({ size: [2, 4], stride: [4, 1] }), {
      storage: new Uint8Array(16 << 20),
      storageEntry: { deflate: true, recordedSize: 32 },
    });
    const { tensors } = await openTorchCheckpoint(bomb);
    await rejectsWith(
      tensors.get('w')!.read(),
      'bomb.bin',
      'tensor "w"',
      'inflates to more than its recorded 32 bytes',
    );
    const short = archive('short-deflate.bin', statePickle({ size: [2, 4], stride: [4, 1] }), {
      storage: new Uint8Array(16),
      storageEntry: { deflate: true, recordedSize: 32 },
    });
    await rejectsWith(
      (await openTorchCheckpoint(short)).tensors.get('w')!.read(),
      'short-deflate.bin',
      'inflates to 16 bytes, not the recorded 32',
    );
  });
});

describe('torch.save archives: bounded work from small hostile files', () => {
  /** An archive whose data.pkl is `pickle`, deflated: millions of one opcode compress to a few KB. */
  const bomb = (name: string, pickle: Buffer): ByteSource =>
    bytesSource(zip([['archive/data.pkl', pickle, { deflate: true }]]), name);
  const repeated = (opcode: string, count: number): Buffer => bytes(PROTO2, Buffer.alloc(count, opcode), STOP);

  it('20 million EMPTY_DICT opcodes: refused at maxPickleItems, without building them all', async () => {
    const source = bomb('dicts.bin', repeated('}', 20_000_000));
    assert.ok(source.size < 64 * 1024, `the archive is ${source.size} bytes`);
    await rejectsWith(openTorchCheckpoint(source), 'dicts.bin', 'maxPickleItems', '2,000,000');
  });

  it('20 million MARK opcodes, which build nothing: refused at maxPickleOps', async () => {
    const source = bomb('marks.bin', repeated('(', 20_000_000));
    await rejectsWith(openTorchCheckpoint(source), 'marks.bin', 'maxPickleOps', '10,000,000');
  });

  it('counts tuples, dict items and memo entries, and lets a real state dict through the same budgets', async () => {
    const plain = archive('plain.bin', statePickle());
    await withReadLimits({ maxPickleItems: 12 }, async () => {
      await rejectsWith(openTorchCheckpoint(plain), 'plain.bin', 'maxPickleItems');
    });
    await withReadLimits({ maxPickleOps: 20 }, async () => {
      await rejectsWith(openTorchCheckpoint(plain), 'plain.bin', 'maxPickleOps');
    });
    await withReadLimits({ maxPickleItems: 100, maxPickleOps: 100 }, async () => {
      assert.deepEqual([...(await openTorchCheckpoint(plain)).tensors.keys()], ['w']);
    });
  });

  it('a stride-0 view with a huge shape over one stored element: refused when opened, not materialised', async () => {
    const huge = archive('broadcast-huge.bin', statePickle({ size: [2 ** 20, 2 ** 20], stride: [0, 0] }));
    await rejectsWith(openTorchCheckpoint(huge), 'broadcast-huge.bin', 'tensor "w"', 'maxElements');
    // 3e8 elements (1.2 GB read) are over the default limit of 2^28; raising the limit lets them through to maxBytes.
    const large = archive('broadcast-large.bin', statePickle({ size: [300_000, 1000], stride: [0, 0] }));
    await rejectsWith(openTorchCheckpoint(large), 'broadcast-large.bin', '300,000,000', 'maxElements');
    await withReadLimits({ maxElements: 1e9, maxBytes: 1e9 }, async () => {
      await rejectsWith(openTorchCheckpoint(large), 'broadcast-large.bin', '1,200,000,000', 'maxBytes');
    });
  });

  it('a DEFLATE record whose recorded size is over maxDecompressedBytes: refused before inflating', async () => {
    const source = archive('inflate.bin', statePickle({ size: [2, 4], stride: [4, 1] }), {
      storageEntry: { deflate: true },
    });
    await withReadLimits({ maxDecompressedBytes: 16 }, async () => {
      const { tensors } = await openTorchCheckpoint(source);
      await rejectsWith(tensors.get('w')!.read(), 'inflate.bin', 'archive/data/0', 'maxDecompressedBytes');
    });
    assert.deepEqual(
      [...(await (await openTorchCheckpoint(source)).tensors.get('w')!.read())],
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('refuses a record whose directory entry claims more bytes than the file holds, before reading it', async () => {
    const file = archiveBytes(statePickle());
    const name = Buffer.from('archive/data/0');
    const header = file.indexOf(name, file.indexOf(name) + 1) - 46; // the directory's copy of the name
    file.writeUInt32LE(2 ** 31, header + 20);
    file.writeUInt32LE(2 ** 31, header + 24);
    await rejectsWith(
      openTorchCheckpoint(bytesSource(file, 'claims.bin')),
      'claims.bin',
      '"archive/data/0" claims 2147483648 bytes',
    );
  });

  it('refuses an archive with two entries of one name, which readers resolve differently', async () => {
    const storage = (value: number): Uint8Array => new Uint8Array(Float32Array.from({ length: 8 }, () => value).buffer);
    const source = bytesSource(
      zip([
        ['archive/data.pkl', statePickle()],
        ['archive/data/0', storage(1)],
        ['archive/data/0', storage(2)],
      ]),
      'duplicate.bin',
    );
    await rejectsWith(openTorchCheckpoint(source), 'duplicate.bin', 'two entries named "archive/data/0"');
  });
});
