import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  decodeNifti,
  encodeNifti,
  niftiDataTypeCode,
  niftiLike,
  volumeShape,
  type NiftiDataType,
  type NiftiHeader,
  type NiftiImage,
} from '../../src/formats/nifti.js';
import { LimitError } from '../../src/formats/limits.js';
import { readNifti, writeNifti } from '../../src/io/nifti-files.js';
import { MambaError } from '../../src/util/errors.js';
import { withReadLimits } from './read-limits.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-nifti-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const fixtures = new URL('../../../test/fixtures/segmentation/', import.meta.url);

/** Header values are float32 in the file: these are exact in float32, so a round trip must keep them equal. */
function header(datatype: NiftiDataType, dims: number[], over: Partial<NiftiHeader> = {}): NiftiHeader {
  const bits = { uint8: 8, int8: 8, int16: 16, uint16: 16, int32: 32, uint32: 32, float32: 32, float64: 64 }[datatype];
  return {
    littleEndian: true,
    dimInfo: 57,
    dim: [dims.length, ...dims, ...new Array(7 - dims.length).fill(1)],
    intentP1: 0.5,
    intentP2: 0,
    intentP3: -2,
    intentCode: 0,
    datatype: niftiDataTypeCode(datatype),
    bitpix: bits,
    sliceStart: 1,
    pixdim: [-1, 0.875, 1.125, 2.5, 0.75, 0, 0, 0],
    voxOffset: 352,
    sclSlope: 1,
    sclInter: 0,
    sliceEnd: 2,
    sliceCode: 1,
    xyztUnits: 10,
    calMax: 100,
    calMin: -5,
    sliceDuration: 0.125,
    toffset: 3,
    descrip: 'round trip',
    auxFile: 'aux.txt',
    qformCode: 1,
    sformCode: 4,
    quaternB: 0.25,
    quaternC: -0.5,
    quaternD: 0.125,
    qoffsetX: -90,
    qoffsetY: 126.5,
    qoffsetZ: -72,
    srowX: [0.875, 0, 0, -90],
    srowY: [0, 1.125, 0.25, 126.5],
    srowZ: [0, -0.125, 2.5, -72],
    intentName: 'test',
    ...over,
  };
}

/** Values each datatype holds exactly, extremes included. */
const SAMPLES: Record<NiftiDataType, number[]> = {
  uint8: [0, 1, 127, 128, 254, 255],
  int8: [-128, -1, 0, 1, 100, 127],
  int16: [-32768, -300, 0, 7, 1000, 32767],
  uint16: [0, 1, 300, 40000, 65534, 65535],
  int32: [-2147483648, -70000, 0, 1, 123456789, 2147483647],
  uint32: [0, 1, 70000, 2147483648, 3000000000, 4294967295],
  float32: [-1.5, 0, 0.1, 3.25e10, -7e-20, Infinity],
  float64: [-1.5, 0, 0.1, 1e300, -7e-300, Math.PI],
};

function check(error: unknown, ...parts: string[]): boolean {
  assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
  for (const p of parts)
    assert.ok(error.message.includes(p), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(p)}`);
  return true;
}

describe('NIfTI-1 reading and writing', () => {
  it('round-trips every supported datatype, plain and gzipped, in both byte orders, with all header fields', () => {
    for (const [type, values] of Object.entries(SAMPLES) as [NiftiDataType, number[]][]) {
      for (const littleEndian of [true, false]) {
        for (const gz of [false, true]) {
          const h = header(type, [3, 2, 1], { littleEndian });
          const data = ['int32', 'uint32', 'float64'].includes(type)
            ? Float64Array.from(values)
            : Float32Array.from(values);
          const path = join(scratch, `${type}-${littleEndian ? 'le' : 'be'}.nii${gz ? '.gz' : ''}`);
          writeNifti(path, { header: h, shape: [3, 2, 1], data });
          const bytes = readFileSync(path);
          assert.equal(bytes[0] === 0x1f && bytes[1] === 0x8b, gz, `${path} gzip`);
          const back = readNifti(path);
          assert.deepEqual(back.header, h, `${path}: header`);
          assert.deepEqual(back.shape, [3, 2, 1]);
          assert.equal(back.data.constructor, data.constructor, `${path}: array type`);
          assert.deepEqual(Array.from(back.data), Array.from(data), `${path}: values`);
        }
      }
    }
  });

  it('applies scl_slope and scl_inter on read and inverts them on write', () => {
    const h = header('int16', [4], { sclSlope: 0.5, sclInter: -3 });
    const data = Float32Array.from([-3, 0.5, -20.5, 1000]);
    const bytes = encodeNifti({ header: h, shape: [4], data });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => view.getInt16(352 + 2 * i, true)),
      [0, 7, -35, 2006],
    );
    const back = decodeNifti(bytes, 'scaled');
    assert.deepEqual(Array.from(back.data), Array.from(data));
    assert.equal(back.header.sclSlope, 0.5);
    // A slope of 0 means no scaling at all.
    const unscaled = decodeNifti(
      encodeNifti({ header: { ...h, sclSlope: 0, sclInter: 9 }, shape: [4], data: Float32Array.from([1, 2, 3, 4]) }),
      'slope 0',
    );
    assert.deepEqual(Array.from(unscaled.data), [1, 2, 3, 4]);
  });

  it('reads files written by another writer: big-endian scaled int16 and little-endian gzipped float32', () => {
    // Written with Python's struct module (see test/fixtures/segmentation/), not with this library.
    const be = readNifti(new URL('be-int16-scaled.nii', fixtures).pathname);
    assert.equal(be.header.littleEndian, false);
    assert.deepEqual(be.shape, [3, 2, 2]);
    assert.deepEqual(Array.from(be.data), [-18, -14.5, -11, -7.5, -4, -0.5, 3, 6.5, 10, 13.5, 17, 20.5]);
    assert.deepEqual(be.header.pixdim.slice(0, 4), [-1, 2, 2.5, 3]);
    assert.deepEqual([be.header.qformCode, be.header.sformCode], [1, 2]);
    assert.deepEqual([be.header.quaternC, be.header.qoffsetX, be.header.qoffsetZ], [1, -10, -30.5]);
    assert.deepEqual(be.header.srowZ, [0, 0, 3, 30]);
    assert.equal(be.header.descrip, 'big-endian int16 fixture');
    const le = readNifti(new URL('le-float32.nii.gz', fixtures).pathname);
    assert.deepEqual(le.shape, [2, 2, 1, 1]);
    assert.deepEqual(volumeShape(le, 'le'), [2, 2, 1]);
    assert.deepEqual(Array.from(le.data), [0.25, -1.5, 3e6, -0]);
    assert.deepEqual(
      le.header.srowX.map((v) => Math.round(v * 1e6) / 1e6),
      [0.8, 0, 0, -1],
    );
  });

  it('writes a prediction on the grid of its image: geometry copied, uint8 labels, no scaling', () => {
    const like: NiftiImage = {
      header: header('int16', [2, 2, 2], { sclSlope: 2, sclInter: 1, littleEndian: false }),
      shape: [2, 2, 2],
      data: new Float32Array(8).fill(5),
    };
    const labels = Float32Array.from([0, 1, 2, 3, 0, 1, 2, 3]);
    const path = join(scratch, 'labels.nii.gz');
    writeNifti(path, niftiLike(like, labels, 'uint8', { intentCode: 1002, calMax: 3 }));
    const back = readNifti(path);
    for (const key of [
      'dim',
      'pixdim',
      'qformCode',
      'sformCode',
      'quaternB',
      'quaternC',
      'quaternD',
      'qoffsetX',
      'qoffsetY',
      'qoffsetZ',
      'srowX',
      'srowY',
      'srowZ',
      'xyztUnits',
      'littleEndian',
    ] as const) {
      assert.deepEqual(back.header[key], like.header[key], key);
    }
    assert.deepEqual(
      [back.header.datatype, back.header.bitpix, back.header.sclSlope, back.header.sclInter, back.header.intentCode],
      [2, 8, 1, 0, 1002],
    );
    assert.deepEqual(Array.from(back.data), Array.from(labels));
  });

  it('refuses values the datatype cannot hold, and bad names, with the reason', () => {
    assert.throws(
      () =>
        encodeNifti(
          { header: header('uint8', [2]), shape: [2], data: Float32Array.from([3, 256]) },
          { source: 'too-big.nii' },
        ),
      (e) => check(e, 'too-big.nii', 'voxel 1', 'uint8'),
    );
    assert.throws(
      () => encodeNifti({ header: header('int16', [1]), shape: [1], data: Float32Array.from([NaN]) }),
      (e) => check(e, 'NaN', 'int16'),
    );
    assert.throws(
      () => encodeNifti({ header: header('uint8', [3]), shape: [3], data: new Float32Array(2) }),
      (e) => check(e, 'hold 3 voxels', 'has 2'),
    );
    assert.throws(
      () => writeNifti(join(scratch, 'x.img'), { header: header('uint8', [1]), shape: [1], data: new Float32Array(1) }),
      (e) => check(e, 'x.img', '.nii'),
    );
  });

  it('rejects hostile and damaged files with an error that names the file and the problem', () => {
    const good = encodeNifti({ header: header('int16', [4, 3, 2]), shape: [4, 3, 2], data: new Float32Array(24) });
    const patched = (edit: (view: DataView, bytes: Uint8Array) => void) => {
      const bytes = good.slice();
      edit(new DataView(bytes.buffer), bytes);
      return bytes;
    };
    const cases: [string, Uint8Array, string[]][] = [
      ['empty.nii', new Uint8Array(0), ['truncated', '0 bytes']],
      ['short-header.nii', good.subarray(0, 200), ['truncated', '200 bytes']],
      ['short-data.nii', good.subarray(0, good.length - 5), ['truncated', `need ${good.length}`]],
      ['short-data.nii.gz', gzipSync(good.subarray(0, good.length - 20)), ['truncated', 'uncompressed']],
      ['cut.nii.gz', gzipSync(good).subarray(0, 60), ['gzip', 'truncated or damaged']],
      [
        'text.nii',
        new TextEncoder().encode('hello world, this is not an image at all'.repeat(10)),
        ['not a NIfTI-1 image', 'sizeof_hdr'],
      ],
      ['nifti2.nii', patched((v) => v.setInt32(0, 540, true)), ['NIfTI-2']],
      ['pair.nii', patched((_, b) => b.set([0x6e, 0x69, 0x31, 0], 344)), ['.hdr/.img']],
      ['analyze.nii', patched((_, b) => b.set([0, 0, 0, 0], 344)), ['magic']],
      ['rank.nii', patched((v) => v.setInt16(40, 9, true)), ['dim[0] is 9']],
      ['negative.nii', patched((v) => v.setInt16(44, -3, true)), ['dimensions', 'at least 1']],
      [
        'huge.nii',
        patched((v) => [42, 44, 46].forEach((o) => v.setInt16(o, 32767, true))),
        ['voxels', '[32767, 32767, 32767]', 'maxElements limit'],
      ],
      [
        'rgb.nii',
        patched((v) => (v.setInt16(70, 128, true), v.setInt16(72, 24, true))),
        ['datatype 128 is not supported', 'uint8 (2)'],
      ],
      ['bitpix.nii', patched((v) => v.setInt16(72, 8, true)), ['bitpix is 8', 'int16']],
      ['offset.nii', patched((v) => v.setFloat32(108, 100, true)), ['vox_offset is 100']],
      ['nan-offset.nii', patched((v) => v.setFloat32(108, NaN, true)), ['vox_offset is NaN']],
    ];
    for (const [name, bytes, parts] of cases) {
      const path = join(scratch, name);
      writeFileSync(path, bytes);
      assert.throws(
        () => readNifti(path),
        (e) => check(e, path, ...parts),
        name,
      );
    }
    assert.throws(
      () => readNifti(join(scratch, 'missing.nii')),
      (e) => check(e, 'missing.nii', 'does not exist'),
    );
  });

  it('decodes a .nii.gz from bytes in memory, in one gzip member or several, inflating no further than its header describes', () => {
    const image: NiftiImage = {
      header: header('int16', [4, 3, 2]),
      shape: [4, 3, 2],
      data: Float32Array.from({ length: 24 }, (_, i) => 100 * i - 1200),
    };
    const plain = encodeNifti(image);
    assert.deepEqual(decodeNifti(encodeNifti(image, { gzip: true }), 'memory.nii.gz'), image);
    // bgzip and pigz --independent write a file as several gzip members.
    const members = Buffer.concat([
      gzipSync(plain.subarray(0, 100)),
      gzipSync(plain.subarray(100, 360)),
      gzipSync(plain.subarray(360)),
    ]);
    assert.deepEqual(decodeNifti(members, 'members.nii.gz'), image);
    // 128 MiB of zeros after the voxels, and a damaged end: reaching it would be an error.
    const padded = gzipSync(Buffer.concat([plain, Buffer.alloc(128 << 20)]));
    padded.fill(0xff, padded.length - 1000);
    assert.deepEqual(decodeNifti(padded, 'padded.nii.gz'), image);
    const damaged = gzipSync(plain);
    damaged[damaged.length - 7] ^= 1;
    assert.throws(
      () => decodeNifti(damaged, 'damaged.nii.gz'),
      (e) => check(e, 'damaged.nii.gz', 'gzip', 'CRC-32'),
    );
  });

  it('bounds what a .nii.gz may ask: its size against its gzipped bytes, the decompressed bytes, the voxels and their bytes', () => {
    const zeros = (dims: number[]): NiftiImage => ({
      header: header('uint8', dims),
      shape: dims,
      data: new Float32Array(dims.reduce((a, b) => a * b, 1)),
    });
    // A header claiming a 1 GiB volume over a small file: refused before any inflating.
    const small = encodeNifti(zeros([16, 16, 4]), { gzip: true });
    const claims = (dims: number[]): Uint8Array => {
      const plain = encodeNifti(zeros([16, 16, 4]));
      dims.forEach((d, i) => new DataView(plain.buffer).setInt16(42 + 2 * i, d, true));
      return gzipSync(plain);
    };
    // 2^30 voxels are over the default maxElements; raised, the size is refused against the gzipped bytes.
    assert.throws(
      () => decodeNifti(claims([1024, 1024, 1024]), 'bomb.nii.gz'),
      (e) => e instanceof LimitError && e.limit === 'maxElements' && check(e, 'bomb.nii.gz'),
    );
    withReadLimits({ maxElements: 2 ** 31 - 1 }, () =>
      assert.throws(
        () => decodeNifti(claims([1024, 1024, 1024]), 'bomb.nii.gz'),
        (e) => check(e, 'bomb.nii.gz', '[1024, 1024, 1024] uint8', 'more than its', 'gzipped bytes can hold'),
      ),
    );
    // Gzipped zeros a volume genuinely needs, past a lowered decompression limit: refused before inflating.
    const twoMiB = encodeNifti(zeros([256, 256, 32]), { gzip: true });
    withReadLimits({ maxDecompressedBytes: 1 << 20 }, () =>
      assert.throws(
        () => decodeNifti(twoMiB, 'zeros.nii.gz'),
        (e) => e instanceof LimitError && e.limit === 'maxDecompressedBytes' && check(e, 'zeros.nii.gz'),
      ),
    );
    withReadLimits({ maxElements: 1000 }, () =>
      assert.throws(
        () => decodeNifti(small, 'many.nii.gz'),
        (e) => e instanceof LimitError && e.limit === 'maxElements' && check(e, 'many.nii.gz', '[16, 16, 4]'),
      ),
    );
    withReadLimits({ maxBytes: 4000 }, () =>
      assert.throws(
        () => decodeNifti(small, 'wide.nii.gz'),
        (e) => e instanceof LimitError && e.limit === 'maxBytes' && check(e, 'wide.nii.gz', '4,096'),
      ),
    );
    assert.equal(decodeNifti(small, 'ok.nii.gz').data.length, 1024);
  });

  it('refuses bytes after the gzip data that start no further member', () => {
    const gz = encodeNifti(
      { header: header('uint8', [3]), shape: [3], data: Float32Array.from([1, 2, 3]) },
      { gzip: true },
    );
    assert.throws(
      () => decodeNifti(Buffer.concat([gz, Buffer.from('trailing junk')]), 'junk.nii.gz'),
      (e) => check(e, 'junk.nii.gz', 'trailing garbage'),
    );
  });

  it('refuses a scl_slope that scales finite voxels past what a float holds, and keeps stored NaN as NaN', () => {
    // Written unscaled, then the slope set in the header (byte 112), as a damaged file would have it.
    const image = (datatype: NiftiDataType, values: number[], sclSlope: number): Uint8Array => {
      const bytes = encodeNifti({
        header: header(datatype, [values.length]),
        shape: [values.length],
        data: Float32Array.from(values),
      });
      new DataView(bytes.buffer).setFloat32(112, sclSlope, true);
      return bytes;
    };
    assert.throws(
      () => decodeNifti(image('int16', [0, 1, 2], 3.4e38), 'slope.nii'),
      (e) => check(e, 'slope.nii', 'voxel 2 holds 2', 'scl_slope', 'Infinity', 'scaling is damaged'),
    );
    const nan = decodeNifti(image('float32', [NaN, 1], 2), 'nan.nii');
    assert.deepEqual(Array.from(nan.data), [NaN, 2]);
  });

  it('reads data past extensions at a larger vox_offset', () => {
    const plain = encodeNifti({ header: header('uint8', [3]), shape: [3], data: Float32Array.from([7, 8, 9]) });
    const bytes = new Uint8Array(368 + 3);
    bytes.set(plain.subarray(0, 352));
    const view = new DataView(bytes.buffer);
    view.setFloat32(108, 368, true);
    bytes.set([1, 0, 0, 0], 348);
    bytes.set([7, 8, 9], 368);
    assert.deepEqual(Array.from(decodeNifti(bytes, 'extended').data), [7, 8, 9]);
  });

  it('volumeShape accepts 2D and 3D images and names a 4D series', () => {
    const make = (dims: number[]): NiftiImage => ({
      header: header('uint8', dims),
      shape: dims,
      data: new Float32Array(dims.reduce((a, b) => a * b, 1)),
    });
    assert.deepEqual(volumeShape(make([5, 4]), 'a'), [5, 4, 1]);
    assert.deepEqual(volumeShape(make([5, 4, 3, 1]), 'b'), [5, 4, 3]);
    assert.throws(
      () => volumeShape(make([5, 4, 3, 2]), 'series.nii'),
      (e) => check(e, 'series.nii', '4D'),
    );
  });
});
