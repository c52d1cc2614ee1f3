import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../helpers.js';
import { MemorySink } from '../../src/formats/byte-source.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { openWeights } from '../../src/load/checkpoint.js';
import { memoryFiles } from '../../src/load/model-files.js';

const INDEX = 'model.safetensors.index.json';

/** A folder of one safetensors shard holding tensor "w", and the index text given. */
async function shardedFolder(index: string): Promise<ReturnType<typeof memoryFiles>> {
  const sink = new MemorySink('shard');
  await writeSafetensors(sink, [{ name: 'w', shape: [2], data: Float32Array.of(1, 2) }]);
  return memoryFiles({ 'shard-1.safetensors': sink.bytes(), [INDEX]: new TextEncoder().encode(index) }, 'folder');
}

describe('shard indexes: parsed through parseJson', () => {
  it('reads a well-formed index', async () => {
    const checkpoint = await openWeights(await shardedFolder('{"weight_map": {"w": "shard-1.safetensors"}}'));
    assert.deepEqual([...(await checkpoint.tensors.get('w')!.read())], [1, 2]);
  });

  it('refuses 200,000 nested brackets in the weight_map with a LimitError, not a stack overflow', async () => {
    const deep = `{"weight_map": {"w": ${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
    await rejectsWith(openWeights(await shardedFolder(deep)), `folder/${INDEX}`, 'maxJsonDepth');
  });

  it('an index mapping 200,000 tensors to as many missing shards: one error, in linear time', async () => {
    const map = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`t${i}`, `shard-${i}.safetensors`]));
    const started = performance.now();
    await rejectsWith(
      openWeights(await shardedFolder(JSON.stringify({ weight_map: map }))),
      'shard-0.safetensors',
      'missing',
    );
    assert.ok(performance.now() - started < 10_000, 'refused within seconds');
  });

  it('refuses an index with a byte order mark, and one that is not JSON', async () => {
    const bom = await shardedFolder('\ufeff{"weight_map": {"w": "shard-1.safetensors"}}');
    await rejectsWith(openWeights(bom), `folder/${INDEX}`, 'byte order mark');
    await rejectsWith(openWeights(await shardedFolder('{"weight_map": ')), `folder/${INDEX}`, 'not valid JSON');
  });
});
