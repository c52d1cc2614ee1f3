import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { countingSource, rejectsWith } from '../helpers.js';
import { bytesSource, MemorySink, type ByteSource } from '../../src/formats/byte-source.js';
import { dtypeSize } from '../../src/formats/dtypes.js';
import { setReadLimits } from '../../src/formats/limits.js';
import { openSafetensors, writeSafetensors, type SafetensorsInput } from '../../src/formats/safetensors.js';
import { fileSource } from '../../src/io/files.js';

const fixture = (path: string): string => fileURLToPath(new URL(`../../../test/fixtures/${path}`, import.meta.url));

/** A safetensors file in memory from a header (object or raw text) and data bytes, with an optional length override. */
function rawFile(name: string, header: object | string, data: Uint8Array, headerLength?: number): ByteSource {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  return bytesSource(Buffer.concat([length, json, data]), name);
}

/** What writeSafetensors writes, as bytes. */
async function written(
  name: string,
  inputs: readonly SafetensorsInput[],
  options?: Parameters<typeof writeSafetensors>[2],
): Promise<Uint8Array> {
  const sink = new MemorySink(name);
  await writeSafetensors(sink, inputs, options);
  return sink.bytes();
}

const f32Bits = (values: number[]): Float32Array => new Float32Array(Uint32Array.from(values).buffer);
// The fixture holds bit patterns as torch.int32 gives them, so signed.
const bitsOf = (values: Float32Array): number[] => [...new Int32Array(values.buffer, values.byteOffset, values.length)];

describe('safetensors: reading what the reference writes', () => {
  it('reads the golden transformers-layout checkpoint as the safetensors package does', async () => {
    const expected = JSON.parse(readFileSync(fixture('io/tiny-hf-values.json'), 'utf8'));
    const file = await openSafetensors(await fileSource(fixture('mamba-tiny-hf/model.safetensors')));
    assert.deepEqual(file.metadata, expected.metadata);
    assert.deepEqual([...file.tensors.keys()].sort(), expected.names);
    for (const [name, want] of Object.entries<{ shape: number[]; picks: Record<string, number>; sum: number }>(
      expected.tensors,
    )) {
      const entry = file.tensors.get(name)!;
      assert.equal(entry.dtype, 'F32');
      assert.deepEqual(entry.shape, want.shape);
      const values = await entry.read();
      assert.ok(values instanceof Float32Array);
      for (const [index, value] of Object.entries(want.picks))
        assert.equal(values[Number(index)], value, `${name}[${index}]`);
      const sum = values.reduce((s, v) => s + v, 0);
      assert.ok(
        Math.abs(sum - want.sum) <= 1e-9 * Math.max(1, Math.abs(want.sum)),
        `${name} sum ${sum} vs ${want.sum}`,
      );
    }
  });

  it('opening reads the header only, and each tensor reads only its own bytes', async () => {
    const path = fixture('mamba-tiny-hf/model.safetensors');
    const source = countingSource(await fileSource(path));
    const { tensors } = await openSafetensors(source);
    assert.equal(source.bytesRead, 8 + Number(readFileSync(path).readBigUInt64LE(0)));
    for (const entry of tensors.values()) {
      const before = source.bytesRead;
      await entry.read();
      assert.equal(
        source.bytesRead - before,
        entry.shape.reduce((a, b) => a * b, 1) * dtypeSize(entry.dtype),
        entry.name,
      );
    }
  });

  it('widens and narrows F64, I64, U8 and empty tensors, and range-checks I64', async () => {
    const path = fixture('io/dtypes.safetensors');
    const { tensors } = await openSafetensors(await fileSource(path));
    assert.deepEqual([...(await tensors.get('f64')!.read())], [1.5, -2, 0, Math.fround(3.0000000001)]);
    const i64 = await tensors.get('i64')!.read();
    assert.ok(i64 instanceof Int32Array);
    assert.deepEqual([...i64], [0, -1, 2 ** 31 - 1, -(2 ** 31)]);
    assert.deepEqual([...(await tensors.get('u8')!.read())], [1, 2, 255]);
    assert.deepEqual(tensors.get('empty')!.shape, [0, 3]);
    assert.equal((await tensors.get('empty')!.read()).length, 0);
    await rejectsWith(tensors.get('i64_too_big')!.read(), path, 'i64_too_big', '2147483648', 'int32');
  });
});

describe('safetensors: writing', () => {
  const rounding = JSON.parse(readFileSync(fixture('io/rounding.json'), 'utf8')) as Record<string, number[]>;
  const x = f32Bits(rounding.f32);
  const n = x.length;
  const mixed: SafetensorsInput[] = [
    { name: 'values.f32', shape: [2, n / 2], data: x },
    { name: 'values.f16', shape: [n], data: x, dtype: 'F16' },
    { name: 'values.bf16', shape: [n / 2, 2], data: x, dtype: 'BF16' },
    { name: 'ids', shape: [2, 3], data: Int32Array.from([3, -7, 2 ** 31 - 1, -(2 ** 31), 0, 42]) },
    { name: 'a_scalar', shape: [], data: Float32Array.of(1.25) },
  ];

  it('writes byte for byte what the safetensors package writes, F16/BF16 rounded as torch rounds', async () => {
    const bytes = await written('mixed.safetensors', mixed, { metadata: { format: 'pt' } });
    assert.deepEqual(bytes, new Uint8Array(readFileSync(fixture('io/mixed.safetensors'))));
  });

  it('reads back from memory what it wrote to a sink: F32 exactly and F16/BF16 as torch widens them', async () => {
    const bytes = await written('roundtrip.safetensors', mixed);
    const { tensors, metadata, name } = await openSafetensors(bytesSource(bytes, 'roundtrip.safetensors'));
    assert.equal(name, 'roundtrip.safetensors');
    assert.equal(tensors.get('ids')!.file, 'roundtrip.safetensors');
    assert.equal(metadata, undefined);
    assert.deepEqual(bitsOf((await tensors.get('values.f32')!.read()) as Float32Array), rounding.f32);
    assert.deepEqual(bitsOf((await tensors.get('values.f16')!.read()) as Float32Array), rounding.f16_as_f32);
    assert.deepEqual(bitsOf((await tensors.get('values.bf16')!.read()) as Float32Array), rounding.bf16_as_f32);
    assert.deepEqual([...(await tensors.get('ids')!.read())], [3, -7, 2 ** 31 - 1, -(2 ** 31), 0, 42]);
    assert.deepEqual(tensors.get('a_scalar')!.shape, []);
    assert.deepEqual([...(await tensors.get('a_scalar')!.read())], [1.25]);
  });

  it('keeps NaN a NaN in F16 and BF16', async () => {
    const data = Float32Array.of(NaN, -NaN, 1);
    const bytes = await written('nan.safetensors', [
      { name: 'h', shape: [3], data, dtype: 'F16' },
      { name: 'b', shape: [3], data, dtype: 'BF16' },
    ]);
    const { tensors } = await openSafetensors(bytesSource(bytes, 'nan.safetensors'));
    for (const name of ['h', 'b']) {
      const values = await tensors.get(name)!.read();
      assert.ok(Number.isNaN(values[0]) && Number.isNaN(values[1]) && values[2] === 1, name);
    }
  });

  it('refuses inputs it cannot write, naming the tensor, before writing anything', async () => {
    const path = 'bad-input.safetensors';
    const sink = new MemorySink(path);
    await rejectsWith(
      writeSafetensors(sink, [{ name: 'w', shape: [2, 2], data: new Float32Array(3) }]),
      path,
      '"w"',
      '4 elements',
    );
    await rejectsWith(
      writeSafetensors(sink, [
        { name: 'w', shape: [1], data: new Float32Array(1) },
        { name: 'w', shape: [1], data: new Float32Array(1) },
      ]),
      '"w" is given twice',
    );
    await rejectsWith(
      writeSafetensors(sink, [{ name: 'i', shape: [1], data: new Int32Array(1), dtype: 'F16' }]),
      '"i"',
      'I32',
    );
    const notString = { step: 1 } as unknown as Record<string, string>;
    await rejectsWith(
      writeSafetensors(sink, [{ name: 'w', shape: [1], data: new Float32Array(1) }], { metadata: notString }),
      path,
      'metadata "step" must be a string',
    );
    assert.equal(sink.bytes().length, 0);
  });
});

describe('safetensors: hostile or damaged files give one clear MambaError', () => {
  const w = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

  it('a truncated file', async () => {
    const bytes = await written('good.safetensors', [
      { name: 'a', shape: [4], data: new Float32Array(4) },
      { name: 'b', shape: [4], data: new Float32Array(4) },
    ]);
    const path = 'truncated.safetensors';
    await rejectsWith(
      openSafetensors(bytesSource(bytes.subarray(0, bytes.length - 3), path)),
      path,
      'tensor "b"',
      'truncated',
    );
  });

  it('a header length past the end of the file, or over the format limit', async () => {
    const past = rawFile('past.safetensors', { w }, new Uint8Array(8), 5000);
    await rejectsWith(openSafetensors(past), past.name, 'header length 5000 runs past the end');
    const huge = rawFile('huge.safetensors', { w }, new Uint8Array(8), 2 ** 40);
    await rejectsWith(openSafetensors(huge), huge.name, 'over the 100 MB');
    const tiny = bytesSource(Uint8Array.of(1, 2, 3), 'tiny.safetensors');
    await rejectsWith(openSafetensors(tiny), 'tiny.safetensors', 'too short');
  });

  it('a header that is not JSON, or not an object', async () => {
    const notJson = rawFile('notjson.safetensors', '{"w": {"dtype": "F32",', new Uint8Array(0));
    await rejectsWith(openSafetensors(notJson), notJson.name, 'the header: not valid JSON');
    const array = rawFile('array.safetensors', '[1, 2]', new Uint8Array(0));
    await rejectsWith(openSafetensors(array), array.name, 'not a JSON object');
    const badUtf8 = bytesSource(Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0xff, 0x7d), 'badutf8.safetensors');
    await rejectsWith(openSafetensors(badUtf8), 'badutf8.safetensors', 'the header is not UTF-8');
  });

  it('an unknown dtype, a bad shape, bad offsets or bad metadata', async () => {
    const dtype = rawFile('dtype.safetensors', { w: { ...w, dtype: 'F99' } }, new Uint8Array(8));
    await rejectsWith(openSafetensors(dtype), dtype.name, 'tensor "w"', 'unknown dtype "F99"');
    const shape = rawFile('shape.safetensors', { w: { ...w, shape: [2.5] } }, new Uint8Array(8));
    await rejectsWith(openSafetensors(shape), shape.name, 'tensor "w"', 'shape [2.5]');
    const offsets = rawFile('offsets.safetensors', { w: { ...w, data_offsets: [8, 0] } }, new Uint8Array(8));
    await rejectsWith(openSafetensors(offsets), offsets.name, 'tensor "w"', 'data_offsets [8,0]');
    const meta = rawFile('meta.safetensors', { __metadata__: { format: 1 }, w }, new Uint8Array(8));
    await rejectsWith(openSafetensors(meta), meta.name, '__metadata__.format is not a string');
  });

  it('a shape and dtype that disagree with the byte count', async () => {
    const count = rawFile('count.safetensors', { w: { ...w, shape: [3] } }, new Uint8Array(8));
    await rejectsWith(openSafetensors(count), count.name, 'tensor "w"', 'shape [3] of F32 needs 12 bytes', 'hold 8');
  });

  it('overlapping offsets, a gap, offsets out of range, and unclaimed trailing data', async () => {
    const overlap = rawFile('overlap.safetensors', { a: w, b: { ...w, data_offsets: [4, 12] } }, new Uint8Array(12));
    await rejectsWith(openSafetensors(overlap), overlap.name, 'tensor "b"', 'overlap', 'tensor "a"');
    const gap = rawFile('gap.safetensors', { a: w, b: { ...w, data_offsets: [12, 20] } }, new Uint8Array(20));
    await rejectsWith(openSafetensors(gap), gap.name, 'tensor "b"', 'bytes 8..12', 'unused');
    const range = rawFile('range.safetensors', { a: w, b: { ...w, data_offsets: [8, 16] } }, new Uint8Array(12));
    await rejectsWith(openSafetensors(range), range.name, 'tensor "b"', 'ends at byte 16', 'only 12 bytes');
    const trailing = rawFile('trailing.safetensors', { a: w }, new Uint8Array(12));
    await rejectsWith(openSafetensors(trailing), trailing.name, '4 bytes follow the last tensor');
  });

  it('a dtype it can describe but not read', async () => {
    const fp8 = rawFile(
      'fp8.safetensors',
      { q: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } },
      new Uint8Array(4),
    );
    const { tensors } = await openSafetensors(fp8);
    assert.equal(tensors.get('q')!.dtype, 'F8_E4M3');
    await rejectsWith(tensors.get('q')!.read(), fp8.name, 'tensor "q"', 'cannot read dtype F8_E4M3');
  });
});

describe('safetensors: hostile headers are refused before anything is allocated', () => {
  const w = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

  it('a header with a byte order mark, as the reference reader refuses it', async () => {
    const bom = rawFile('bom.safetensors', `\ufeff${JSON.stringify({ w })}`, new Uint8Array(8));
    await rejectsWith(openSafetensors(bom), bom.name, 'byte order mark');
  });

  it('offsets and shapes written as non-integers (16.0, 2e0), which JSON.parse would take for integers', async () => {
    const offsets = rawFile(
      'float-offsets.safetensors',
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}',
      new Uint8Array(8),
    );
    await rejectsWith(openSafetensors(offsets), offsets.name, 'the number 8.0', 'integers');
    const shape = rawFile(
      'exp-shape.safetensors',
      '{"w":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}',
      new Uint8Array(8),
    );
    await rejectsWith(openSafetensors(shape), shape.name, 'the number 2e0');
    // A number inside a string is text, not a number.
    const named = rawFile('named.safetensors', { '1.5': w }, new Uint8Array(8));
    assert.deepEqual([...(await openSafetensors(named)).tensors.keys()], ['1.5']);
  });

  it('200,000 nested brackets in data_offsets: a LimitError, not a stack overflow', async () => {
    const deep = `{"w":{"dtype":"F32","shape":[2],"data_offsets":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
    const source = rawFile('deep.safetensors', deep, new Uint8Array(8));
    await rejectsWith(openSafetensors(source), source.name, 'JSON nesting depth', 'maxJsonDepth');
  });

  it('a shape over maxElements, and a tensor over maxBytes, before reading its data', async () => {
    const huge = rawFile(
      'huge.safetensors',
      { w: { dtype: 'F32', shape: [2 ** 20, 2 ** 20, 2 ** 20], data_offsets: [0, 8] } },
      new Uint8Array(8),
    );
    await rejectsWith(openSafetensors(huge), huge.name, 'tensor "w"', 'maxElements');
    const bytes = await written('limited.safetensors', [{ name: 'w', shape: [32], data: new Float32Array(32) }]);
    const previous = setReadLimits({ maxBytes: 64 });
    try {
      await rejectsWith(openSafetensors(bytesSource(bytes, 'limited.safetensors')), 'tensor "w"', '128', 'maxBytes');
    } finally {
      setReadLimits(previous);
    }
    assert.equal((await openSafetensors(bytesSource(bytes, 'limited.safetensors'))).tensors.size, 1);
  });
});
