import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../helpers.js';
import { withReadLimits } from './read-limits.js';
import { bytesSource, MemorySink } from '../../src/formats/byte-source.js';
import { ggmlType, ggmlTypeById } from '../../src/formats/ggml-types.js';
import { openGguf, writeGguf, type GgufTensorInput, type GgufValue } from '../../src/formats/gguf.js';
import { LimitError } from '../../src/formats/limits.js';

async function written(
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorInput[],
  name = 'mem.gguf',
): Promise<Uint8Array> {
  const sink = new MemorySink(name);
  await writeGguf(sink, metadata, tensors);
  return sink.bytes();
}

/** Little-endian bytes of a GGUF header built by hand, for hostile files. */
class Raw {
  private readonly parts: number[] = [];
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: number | bigint): this {
    const b = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.parts.push(Number((b >> (8n * i)) & 0xffn));
    return this;
  }
  str(s: string): this {
    const bytes = new TextEncoder().encode(s);
    this.u64(bytes.length);
    this.parts.push(...bytes);
    return this;
  }
  bytes(...b: number[]): this {
    this.parts.push(...b);
    return this;
  }
  /** GGUF magic, version and the two counts. */
  static header(tensors: number | bigint, kvs: number | bigint, version = 3): Raw {
    return new Raw().bytes(0x47, 0x47, 0x55, 0x46).u32(version).u64(tensors).u64(kvs);
  }
  source(padTo = 0): ReturnType<typeof bytesSource> {
    const out = new Uint8Array(Math.max(this.parts.length, padTo));
    out.set(this.parts);
    return bytesSource(out, 'raw.gguf');
  }
}

const everyType = new Map<string, GgufValue>([
  ['general.architecture', { type: 'string', value: 'mamba' }],
  ['u8', { type: 'uint8', value: 255 }],
  ['i8', { type: 'int8', value: -128 }],
  ['u16', { type: 'uint16', value: 65535 }],
  ['i16', { type: 'int16', value: -32768 }],
  ['u32', { type: 'uint32', value: 4294967295 }],
  ['i32', { type: 'int32', value: -2147483648 }],
  ['f32', { type: 'float32', value: 0.5 }],
  ['f64', { type: 'float64', value: 1e-300 }],
  ['u64', { type: 'uint64', value: 2n ** 64n - 1n }],
  ['i64', { type: 'int64', value: -(2n ** 63n) }],
  ['yes', { type: 'bool', value: true }],
  ['no', { type: 'bool', value: false }],
  ['unicode', { type: 'string', value: 'Ġhé 日本 🐍' }],
  ['strings', { type: 'array', itemType: 'string', value: ['a', '', 'Ġb c'] }],
  ['ints', { type: 'array', itemType: 'int32', value: [1, -2, 3] }],
  ['floats', { type: 'array', itemType: 'float32', value: [0.25, -1.5] }],
  ['empty', { type: 'array', itemType: 'uint64', value: [] }],
]);

describe('GGUF: writing and reading back', () => {
  it('round-trips metadata of every type and F32 tensors, with padding between them', async () => {
    const tensors: GgufTensorInput[] = [
      { name: 'token_embd.weight', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i - 7.5) },
      { name: 'blk.0.ssm_d', shape: [7], data: Float32Array.from({ length: 7 }, (_, i) => 1 / (i + 1)) },
      { name: 'four.d', shape: [2, 1, 3, 2], data: Float32Array.from({ length: 12 }, (_, i) => -i) },
    ];
    const file = await openGguf(bytesSource(await written(everyType, tensors), 'rt.gguf'));
    assert.equal(file.version, 3);
    assert.equal(file.alignment, 32);
    assert.deepEqual([...file.metadata.keys()], [...everyType.keys()]);
    for (const [key, value] of everyType) {
      const read = file.metadata.get(key)!;
      if (value.type === 'float32') assert.equal(read.value, Math.fround(value.value));
      else assert.deepEqual(read, value, key);
    }
    assert.deepEqual(file.metadata.get('floats'), { type: 'array', itemType: 'float32', value: [0.25, -1.5] });
    assert.deepEqual(
      [...file.tensors.keys()],
      tensors.map((t) => t.name),
    );
    let previousEnd = 0;
    for (const t of tensors) {
      const info = file.tensors.get(t.name)!;
      assert.equal(info.type.name, 'F32');
      assert.deepEqual(info.shape, t.shape);
      assert.deepEqual(info.dims, [...t.shape].reverse(), 'the file lists dimensions innermost first');
      assert.equal(info.offset % 32, 0);
      assert.ok(info.offset >= previousEnd);
      previousEnd = info.offset + info.bytes;
      assert.deepEqual(await info.read(), t.data);
    }
  });

  it('pads to general.alignment when the metadata sets it', async () => {
    const metadata = new Map<string, GgufValue>([['general.alignment', { type: 'uint32', value: 256 }]]);
    const tensors = [
      { name: 'a', shape: [3], data: new Float32Array([1, 2, 3]) },
      { name: 'b', shape: [1], data: new Float32Array([4]) },
    ];
    const bytes = await written(metadata, tensors);
    const file = await openGguf(bytesSource(bytes, 'aligned.gguf'));
    assert.equal(file.alignment, 256);
    assert.equal(file.tensors.get('a')!.offset, 256);
    assert.equal(file.tensors.get('b')!.offset, 512);
    assert.equal(bytes.byteLength, 768);
    assert.deepEqual(await file.tensors.get('b')!.read(), new Float32Array([4]));
  });

  it('lays out a tiny file byte for byte as GGUF v3 specifies', async () => {
    const bytes = await written(new Map([['a', { type: 'uint32', value: 7 }]]), [
      { name: 't', shape: [2], data: new Float32Array([1, 2]) },
    ]);
    const u64 = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0];
    const expected = [
      ...[0x47, 0x47, 0x55, 0x46], // "GGUF"
      ...[3, 0, 0, 0], // version
      ...u64(1), // tensors
      ...u64(1), // key/values
      ...u64(1),
      0x61, // key "a"
      ...[4, 0, 0, 0], // uint32
      ...[7, 0, 0, 0],
      ...u64(1),
      0x74, // tensor "t"
      ...[1, 0, 0, 0], // one dimension
      ...u64(2),
      ...[0, 0, 0, 0], // F32
      ...u64(0), // offset in the data section
      ...new Array<number>(96 - 74).fill(0), // 74 bytes of header padded to 96
      ...[0, 0, 0x80, 0x3f], // 1.0f
      ...[0, 0, 0, 0x40], // 2.0f
      ...new Array<number>(24).fill(0), // the tensor padded to 32
    ];
    assert.deepEqual([...bytes], expected);
  });

  it('refuses what llama.cpp would refuse to read, naming the tensor or key', async () => {
    const one = (t: Partial<GgufTensorInput>): GgufTensorInput[] => [
      { name: 't', shape: [1], data: new Float32Array(1), ...t },
    ];
    const none = new Map<string, GgufValue>();
    await rejectsWith(written(none, one({ name: 'x'.repeat(64) })), '"xxx', '1 to 63 bytes');
    await rejectsWith(written(none, [...one({}), ...one({})]), 'tensor "t" is given twice');
    await rejectsWith(written(none, one({ shape: [2] })), 'holds 2 elements but the data has 1');
    await rejectsWith(written(none, one({ shape: [1, 1, 1, 1, 1] })), '1 to 4 non-negative integers');
    await rejectsWith(written(new Map([['k', { type: 'uint32', value: -1 }]]), []), 'metadata "k"', 'uint32');
    await rejectsWith(written(new Map([['k', { type: 'int64', value: 1 as unknown as bigint }]]), []), 'bigint');
    await rejectsWith(
      written(new Map([['k', { type: 'array', itemType: 'int32', value: [1, 0.5] }]]), []),
      'metadata "k"',
      'int32',
    );
    await rejectsWith(
      written(new Map([['general.alignment', { type: 'uint32', value: 48 }]]), []),
      'general.alignment 48 is not a power of 2',
    );
    await rejectsWith(
      written(new Map([['general.alignment', { type: 'int32', value: 32 }]]), []),
      'general.alignment must be a uint32',
    );
  });
});

describe('GGUF: hostile and damaged files', () => {
  it('refuses every truncation of a valid file before the tensor data ends', async () => {
    const bytes = await written(everyType, [{ name: 't', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]);
    const file = await openGguf(bytesSource(bytes, 'whole.gguf'));
    const dataEnd = file.tensors.get('t')!.offset + 16;
    for (let cut = 0; cut < dataEnd; cut++) {
      await rejectsWith(openGguf(bytesSource(bytes.subarray(0, cut), 'cut.gguf')), 'cut.gguf');
    }
    await openGguf(bytesSource(bytes.subarray(0, dataEnd), 'unpadded-end.gguf'));
  });

  it('checks the counts against the bytes present before allocating', async () => {
    await rejectsWith(openGguf(Raw.header(0, 2n ** 40n).source(64)), 'claims 1099511627776 key/values');
    await rejectsWith(openGguf(Raw.header(2n ** 50n, 0).source(64)), 'tensors, more than the');
    await rejectsWith(openGguf(Raw.header(0, 2n ** 63n).source(64)), 'past any file this reader can hold');
    await rejectsWith(
      openGguf(
        Raw.header(0, 1)
          .u64(2n ** 40n)
          .source(64),
      ),
      'key 0 is 1099511627776 bytes long',
    );
    const hugeArray = Raw.header(0, 1)
      .str('k')
      .u32(9)
      .u32(5)
      .u64(2n ** 40n);
    await rejectsWith(openGguf(hugeArray.source(64)), 'metadata "k" claims 1099511627776 items of int32');
    const hugeStrings = Raw.header(0, 1)
      .str('k')
      .u32(9)
      .u32(8)
      .u64(1000)
      .u64(2n ** 40n);
    await rejectsWith(openGguf(hugeStrings.source(8100)), 'metadata "k" item 0 is 1099511627776 bytes long');
  });

  it('refuses bad magic, versions, types, names, shapes and offsets', async () => {
    await rejectsWith(openGguf(bytesSource(new Uint8Array(40), 'zeros.gguf')), 'not a GGUF file');
    await rejectsWith(openGguf(bytesSource(new Uint8Array(10), 'short.gguf')), 'too short');
    await rejectsWith(openGguf(Raw.header(0, 0, 1).source()), 'version 1 is no longer read');
    await rejectsWith(openGguf(Raw.header(0, 0, 4).source()), 'version 4');
    await rejectsWith(openGguf(Raw.header(0, 1).str('k').u32(13).u32(0).source(64)), 'is 13, not a GGUF value type');
    await rejectsWith(openGguf(Raw.header(0, 1).str('k').u32(9).u32(9).u64(0).source(64)), 'array of arrays');
    await rejectsWith(openGguf(Raw.header(0, 1).str('').u32(4).u32(0).source(64)), 'key 0 is empty');
    await rejectsWith(openGguf(Raw.header(0, 1).str('k').u32(7).bytes(2).source(64)), 'GGUF bools are 0 or 1');
    await rejectsWith(
      openGguf(Raw.header(0, 2).str('k').u32(4).u32(1).str('k').u32(4).u32(1).source(64)),
      'the key "k" is given twice',
    );
    await rejectsWith(
      openGguf(Raw.header(0, 1).str('general.alignment').u32(4).u32(24).source(64)),
      'general.alignment 24 is not a power of 2',
    );
    const tensor = (name: string, dims: number[], type: number, offset: number, to = Raw.header(1, 0)) => {
      to.str(name).u32(dims.length);
      for (const d of dims) to.u64(d);
      return to.u32(type).u64(offset);
    };
    await rejectsWith(openGguf(tensor('t', [1, 1, 1, 1, 1], 0, 0).source(256)), '5 dimensions');
    await rejectsWith(openGguf(tensor('t', [4], 4, 0).source(256)), 'ggml type 4, which is unknown or was removed');
    await rejectsWith(openGguf(tensor('t', [4], 99, 0).source(256)), 'ggml type 99');
    await rejectsWith(
      openGguf(tensor('t', [10], 8, 0).source(256)),
      'rows of 10 elements are not whole Q8_0 blocks of 32',
    );
    await rejectsWith(openGguf(tensor('x'.repeat(64), [1], 0, 0).source(256)), "over ggml's 63");
    await rejectsWith(
      openGguf(tensor('t', [4], 0, 32).source(256)),
      'data offset is 32, but the tensors before it end at 0',
    );
    await rejectsWith(openGguf(tensor('t', [1024], 0, 0).source(256)), 'it is truncated');
    const twice = tensor('t', [1], 0, 32, tensor('t', [1], 0, 0, Raw.header(2, 0)));
    await rejectsWith(openGguf(twice.source(256)), 'tensor "t" is listed twice');
  });

  it('applies the read limits to tensors and arrays', async () => {
    const bytes = await written(new Map([['list', { type: 'array', itemType: 'int32', value: [1, 2, 3, 4] }]]), [
      { name: 't', shape: [64], data: new Float32Array(64) },
    ]);
    await withReadLimits({ maxElements: 32 }, () =>
      assert.rejects(openGguf(bytesSource(bytes, 'limits.gguf')), (e: unknown) => e instanceof LimitError),
    );
    await withReadLimits({ maxElements: 3 }, () =>
      assert.rejects(openGguf(bytesSource(bytes, 'limits.gguf')), /metadata "list": items/),
    );
  });

  it('reads the header of quantized tensors and says their data is not read', async () => {
    const q80 = ggmlType('Q8_0')!;
    assert.equal(ggmlTypeById(q80.id), q80);
    const raw = Raw.header(1, 0).str('q').u32(2).u64(64).u64(3).u32(q80.id).u64(0);
    const file = await openGguf(raw.source(96 + 6 * q80.blockBytes)); // 65 bytes of header, padded
    const info = file.tensors.get('q')!;
    assert.deepEqual(info.shape, [3, 64]);
    assert.equal(info.bytes, 6 * 34);
    await rejectsWith(info.read(), 'reading Q8_0 data is not supported');
  });
});
