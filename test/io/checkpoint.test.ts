import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rejectsWith } from '../helpers.js';
import { openCheckpoint, saveSafetensors, type Checkpoint, type SafetensorsInput } from '../../src/io/index.js';

const fixture = (path: string): string => fileURLToPath(new URL(`../../../test/fixtures/${path}`, import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'mamba-io-ckpt-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function readAll(
  checkpoint: Checkpoint,
): Promise<Map<string, { shape: readonly number[]; data: Float32Array | Int32Array }>> {
  const out = new Map<string, { shape: readonly number[]; data: Float32Array | Int32Array }>();
  for (const [name, entry] of checkpoint.tensors) out.set(name, { shape: entry.shape, data: await entry.read() });
  return out;
}

const inputsOf = async (checkpoint: Checkpoint): Promise<SafetensorsInput[]> =>
  [...(await readAll(checkpoint))].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));

describe('openCheckpoint', () => {
  it('opens a transformers-layout folder (model.safetensors)', async () => {
    const checkpoint = await openCheckpoint(fixture('mamba-tiny-hf'));
    assert.equal(checkpoint.format, 'safetensors');
    assert.deepEqual(checkpoint.files, [fixture('mamba-tiny-hf/model.safetensors')]);
    assert.equal(checkpoint.tensors.size, 22);
    assert.equal(checkpoint.tensors.has('lm_head.weight'), false, 'the tied head is not stored');
  });

  it('opens an original-layout folder, single or sharded, to the same tensors', async () => {
    const single = await openCheckpoint(fixture('io/mamba-orig-f32'));
    const sharded = await openCheckpoint(fixture('io/mamba-orig-sharded'));
    assert.equal(single.format, 'pytorch');
    assert.equal(sharded.files.length, 2);
    assert.deepEqual(await readAll(sharded), await readAll(single));
    const file = await openCheckpoint(fixture('io/mamba-orig-f32/pytorch_model.bin'));
    assert.deepEqual([...file.tensors.keys()], [...single.tensors.keys()]);
  });

  it('says what it looked for in a folder without weights', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'config.json'), '{}');
    await rejectsWith(openCheckpoint(empty), empty, 'holds no weights', 'model.safetensors', 'pytorch_model.bin');
    await rejectsWith(openCheckpoint(join(scratch, 'nowhere')), 'nowhere', 'does not exist');
    await rejectsWith(openCheckpoint(join(empty, 'config.json')), 'config.json', 'not a weights file');
  });

  it('refuses a shard index that leads outside its folder, misplaces a tensor, or lacks a shard', async () => {
    const folder = join(scratch, 'bad-index');
    mkdirSync(folder);
    for (const name of readdirSync(fixture('io/mamba-orig-sharded')))
      copyFileSync(fixture(`io/mamba-orig-sharded/${name}`), join(folder, name));
    const indexPath = join(folder, 'pytorch_model.bin.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    const write = (weightMap: Record<string, string>) =>
      writeFileSync(indexPath, JSON.stringify({ ...index, weight_map: weightMap }));

    write({ ...index.weight_map, 'backbone.norm_f.weight': '../../../etc/passwd' });
    await rejectsWith(openCheckpoint(folder), indexPath, '"backbone.norm_f.weight"', 'not a file name in this folder');
    write({ ...index.weight_map, 'backbone.norm_f.weight': 'pytorch_model-00001-of-00002.bin' });
    await rejectsWith(
      openCheckpoint(folder),
      indexPath,
      '"backbone.norm_f.weight" is in pytorch_model-00001-of-00002.bin',
      'it is in pytorch_model-00002-of-00002.bin',
    );
    write({ ...index.weight_map, 'backbone.extra': 'pytorch_model-00003-of-00003.bin' });
    await rejectsWith(openCheckpoint(folder), 'pytorch_model-00003-of-00003.bin, which is missing');
    writeFileSync(indexPath, '{"metadata": {}}');
    await rejectsWith(openCheckpoint(folder), indexPath, 'no "weight_map"');
  });
});

describe('saveSafetensors', () => {
  it('writes shards and an index that openCheckpoint reads back, then replaces them with one file', async () => {
    const source = await openCheckpoint(fixture('mamba-tiny-hf'));
    const inputs = await inputsOf(source);
    const folder = join(scratch, 'sharded');
    const target = join(folder, 'model.safetensors');
    const written = await saveSafetensors(target, inputs, { maxShardBytes: 30_000 });
    const shardNames = written.slice(0, -1).map((file) => file.slice(folder.length + 1));
    assert.ok(shardNames.length >= 3, `${shardNames.length} shards`);
    shardNames.forEach((name, i) => assert.equal(name, `model-0000${i + 1}-of-0000${shardNames.length}.safetensors`));
    assert.deepEqual(
      readdirSync(folder).sort(),
      [...shardNames, 'model.safetensors.index.json'].sort(),
      'no temporary files left',
    );

    const index = JSON.parse(readFileSync(join(folder, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(
      index.metadata.total_size,
      inputs.reduce((sum, t) => sum + 4 * t.data.length, 0),
    );
    assert.deepEqual(Object.keys(index.weight_map), inputs.map((t) => t.name).sort());
    const reopened = await openCheckpoint(folder);
    assert.equal(reopened.files.length, shardNames.length);
    assert.deepEqual(await readAll(reopened), await readAll(source));

    await saveSafetensors(target, inputs);
    assert.deepEqual(readdirSync(folder), ['model.safetensors'], 'the stale index and shards are gone');
    assert.deepEqual(await readAll(await openCheckpoint(folder)), await readAll(source));
  });

  it('writes one file when everything fits in one shard, with format "pt" metadata', async () => {
    const inputs = await inputsOf(await openCheckpoint(fixture('mamba-tiny-hf')));
    const folder = join(scratch, 'fits');
    assert.deepEqual(
      await saveSafetensors(join(folder, 'model.safetensors'), inputs, {
        maxShardBytes: 10_000_000,
        metadata: { source: 'test' },
      }),
      [join(folder, 'model.safetensors')],
    );
    const header = readFileSync(join(folder, 'model.safetensors')).subarray(8, 80).toString();
    assert.ok(header.startsWith('{"__metadata__":{"format":"pt","source":"test"}'), header);
  });

  it('converts to F16 or BF16 on request, per file or per tensor', async () => {
    const data = Float32Array.of(1, 1 + 2 ** -11, 1 + 2 ** -8, -3.5);
    const folder = join(scratch, 'half');
    await saveSafetensors(
      join(folder, 'model.safetensors'),
      [
        { name: 'a', shape: [4], data },
        { name: 'b', shape: [2, 2], data, dtype: 'F32' },
        { name: 'ids', shape: [2], data: Int32Array.of(5, -5) },
      ],
      { dtype: 'BF16' },
    );
    const { tensors } = await openCheckpoint(folder);
    assert.equal(tensors.get('a')!.dtype, 'BF16');
    assert.deepEqual([...(await tensors.get('a')!.read())], [1, 1, 1, -3.5]);
    assert.equal(tensors.get('b')!.dtype, 'F32');
    assert.deepEqual(await tensors.get('b')!.read(), data);
    assert.equal(tensors.get('ids')!.dtype, 'I32');
    assert.deepEqual([...(await tensors.get('ids')!.read())], [5, -5]);
  });

  it('refuses a target that is not a .safetensors file and a bad shard size', async () => {
    const one = [{ name: 'a', shape: [1], data: Float32Array.of(1) }];
    await rejectsWith(saveSafetensors(join(scratch, 'model.bin'), one), 'model.bin', 'must end in .safetensors');
    await rejectsWith(saveSafetensors(join(scratch, 'x.safetensors'), one, { maxShardBytes: 0 }), 'maxShardBytes');
  });
});
