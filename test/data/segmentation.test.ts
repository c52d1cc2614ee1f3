import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureDataset } from '../../src/data/datasets.js';
import {
  assembleBatch,
  axialSlice,
  loadSegmentationData,
  parseDatasetSpec,
  prepareSlice,
  resizeLabels,
  zscore,
  type SegmentationData,
} from '../../src/data/segmentation.js';
import { fromGray } from '../../src/formats/rgba.js';
import { writePng } from '../../src/io/image-files.js';
import { readNifti } from '../../src/io/nifti-files.js';
import { Generator } from '../../src/tensor/random.js';
import { MambaError } from '../../src/util/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-segdata-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const hasApt = !spawnSync('apt-get', ['--version']).error;
const noApt = hasApt
  ? false
  : 'apt-get is not available here: the mricron data set comes from the Debian package mricron-data';

function check(error: unknown, ...parts: string[]): boolean {
  assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
  for (const p of parts)
    assert.ok(error.message.includes(p), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(p)}`);
  return true;
}

function total(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum;
}

describe('mricron data', () => {
  it(
    'installs mricron-data from Debian with apt, checks the files, and reads the volumes as published',
    { skip: noApt },
    () => {
      const before = process.env['MAMBA_TS_DATA_DIR'];
      process.env['MAMBA_TS_DATA_DIR'] = join(scratch, 'data');
      try {
        const lines: string[] = [];
        const folder = ensureDataset('mricron', (l) => lines.push(l));
        assert.match(lines.join('\n'), /mricron-data 1\.2\.20211006\+dfsg-4/);
        for (const f of ['ch2.nii.gz', 'ch2bet.nii.gz', 'aal.nii.gz', 'aal.nii.txt'])
          assert.ok(existsSync(join(folder, f)), f);
        const t1 = readNifti(join(folder, 'ch2.nii.gz'));
        assert.deepEqual(t1.shape, [181, 217, 181]);
        assert.deepEqual([t1.header.datatype, t1.header.sformCode, t1.header.qformCode], [2, 4, 0]);
        assert.deepEqual(t1.header.srowX, [1, 0, 0, -90]);
        // Sums computed with numpy from the same files.
        assert.equal(total(t1.data), 317151210);
        assert.equal(total(readNifti(join(folder, 'ch2bet.nii.gz')).data.map((v) => (v > 0 ? 1 : 0))), 1737193);
        const aal = readNifti(join(folder, 'aal.nii.gz'));
        assert.equal(new Set(aal.data).size, 117);
        // Stored orientation: voxel i grows from left to right, so Precentral_L (1) lies at i < 90 and Precentral_R (2) beyond.
        const meanI = (label: number) => {
          let n = 0;
          let s = 0;
          aal.data.forEach((v, p) => v === label && (n++, (s += p % 181)));
          return s / n;
        };
        assert.ok(meanI(1) < 80 && meanI(2) > 100, `${meanI(1)} ${meanI(2)}`);
      } finally {
        if (before === undefined) delete process.env['MAMBA_TS_DATA_DIR'];
        else process.env['MAMBA_TS_DATA_DIR'] = before;
      }
    },
  );

  it(
    'brain slices: held out by slice range with a gap, z-scored, scaled and padded to the divisor',
    { skip: noApt },
    () => {
      const data = loadSegmentationData(parseDatasetSpec('mricron'), { scale: 0.5, divisor: 16 });
      assert.deepEqual(data.classNames, ['background', 'brain']);
      assert.deepEqual([data.height, data.width], [112, 96]);
      const z = (id: string) => Number(id.slice(2));
      assert.deepEqual(
        data.test.map((s) => z(s.id)),
        Array.from({ length: 25 }, (_, i) => 95 + i),
      );
      assert.ok(data.train.every((s) => z(s.id) < 90 || z(s.id) >= 125));
      assert.ok(data.train.length > 130, `${data.train.length} training slices`);
      const s = data.test[10]!;
      assert.deepEqual(s.frame, { height: 217, width: 181, scaledHeight: 109, scaledWidth: 91, top: 1, left: 2 });
      // The native labels are exactly ch2bet > 0 on that slice.
      const bet = readNifti(join(ensureDataset('mricron'), 'ch2bet.nii.gz'));
      const truth = axialSlice(bet.data, 181, 217, z(s.id));
      assert.ok(s.native.every((v, p) => v === (truth[p]! > 0 ? 1 : 0)));
      assert.equal(s.label[0], 0);
      assert.equal(s.image[0], Math.fround(s.background));
      assert.ok(s.background < -1, 'air is well below the mean of the head');
    },
  );

  it('the AAL tasks: 116 regions with left-right swaps for mirroring, and the 7-lobe grouping', { skip: noApt }, () => {
    const aal = loadSegmentationData(parseDatasetSpec('mricron:aal'), { scale: 0.5, divisor: 16 });
    assert.equal(aal.classNames.length, 117);
    assert.equal(aal.classNames[1], 'Precentral_L');
    const flip = aal.flipMap!;
    assert.deepEqual([flip[0], flip[1], flip[2], flip[116]], [0, 2, 1, 116]);
    assert.ok(
      flip.every((c, k) => flip[c] === k),
      'mirroring twice changes nothing',
    );
    const lobes = loadSegmentationData(parseDatasetSpec('mricron:aal-lobes'), { scale: 0.5, divisor: 16 });
    assert.deepEqual(lobes.classNames, [
      'background',
      'frontal',
      'insula and limbic',
      'occipital',
      'parietal',
      'deep grey matter',
      'temporal',
      'cerebellum',
    ]);
    const seen = new Set<number>();
    for (const s of lobes.train) for (const v of s.native) seen.add(v);
    assert.equal(seen.size, 8);
  });
});

describe('slice preparation and augmentation', () => {
  it('zscore over all or nonzero values, and where intensity 0 lands', () => {
    const all = zscore([1, 2, 3], false);
    assert.deepEqual(
      Array.from(all.values).map((v) => +v.toFixed(5)),
      [-1.22474, 0, 1.22474],
    );
    const nz = zscore([0, 0, 1, 3], true);
    assert.deepEqual(Array.from(nz.values), [-2, -2, -1, 1]);
    assert.equal(nz.background, -2);
  });

  it('resizeLabels keeps uniform blocks exactly and never invents a class', () => {
    const labels = Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 0, 0, 3, 3, 0, 0]);
    assert.deepEqual(Array.from(resizeLabels(labels, 4, 4, 2, 2)), [1, 2, 3, 0]);
    const up = resizeLabels(Uint8Array.from([1, 2, 3, 0]), 2, 2, 4, 4);
    assert.deepEqual(Array.from(up), Array.from(labels));
    const odd = resizeLabels(labels, 4, 4, 3, 5);
    assert.ok(odd.every((v) => [0, 1, 2, 3].includes(v)));
  });

  it('prepareSlice centres the scaled slice on the canvas and pads with the background', () => {
    const image = Float32Array.from({ length: 6 * 4 }, (_, i) => i);
    const labels = Uint8Array.from({ length: 24 }, (_, i) => (i % 4 >= 2 ? 1 : 0));
    const s = prepareSlice('a', image, labels, 6, 4, -7, { scale: 1, divisor: 4 }, { height: 8, width: 8 });
    assert.deepEqual(s.frame, { height: 6, width: 4, scaledHeight: 6, scaledWidth: 4, top: 1, left: 2 });
    assert.equal(s.image[0], -7);
    assert.equal(s.image[1 * 8 + 2], 0);
    assert.equal(s.image[6 * 8 + 5], 23);
    assert.equal(s.label[1 * 8 + 4], 1);
    assert.equal(s.label[0], 0);
    assert.equal(s.native, labels);
  });

  function synthetic(flipMap: Uint8Array | null): SegmentationData {
    const h = 32;
    const w = 32;
    const label = new Uint8Array(h * w);
    for (let y = 8; y < 24; y++) for (let x = 4; x < 14; x++) label[y * w + x] = 1;
    for (let y = 10; y < 20; y++) for (let x = 18; x < 28; x++) label[y * w + x] = 2;
    const image = Float32Array.from(label, (v) => v * 10);
    const sample = {
      id: 's',
      image,
      label,
      native: label,
      nativeImage: image,
      frame: { height: h, width: w, scaledHeight: h, scaledWidth: w, top: 0, left: 0 },
      background: 0,
    };
    return {
      name: 'synthetic',
      classNames: ['background', 'left', 'right'],
      height: h,
      width: w,
      train: [sample],
      test: [],
      flipMap,
      displayFlipRows: false,
      preprocessing: { normalisation: 'zscore', scale: 1, divisor: 4 },
      spec: { kind: 'folder', path: '/x', testFraction: 0.2 },
    };
  }

  it('augmented batches depend on the generator alone, and labels move with the image', () => {
    const data = synthetic(null);
    const augment = { flip: false, shift: 4, rotate: 15, scale: 0.15, intensity: 0 };
    const a = assembleBatch(data, [data.train[0]!, data.train[0]!], new Generator(5), augment);
    const b = assembleBatch(data, [data.train[0]!, data.train[0]!], new Generator(5), augment);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      Array.from(a.labels.subarray(0, 1024)),
      Array.from(a.labels.subarray(1024)),
      'each sample draws its own transform',
    );
    for (let seed = 0; seed < 10; seed++) {
      const { images, labels } = assembleBatch(data, [data.train[0]!], new Generator(seed), augment);
      let agree = 0;
      images.forEach((v, p) => (agree += (v > 5 ? 1 : 0) === (labels[p]! > 0 ? 1 : 0) ? 1 : 0));
      assert.ok(
        agree / images.length > 0.95,
        `seed ${seed}: image and labels agree on ${agree} of ${images.length} pixels`,
      );
    }
    const plain = assembleBatch(data, [data.train[0]!], null, null);
    assert.deepEqual(Array.from(plain.labels), Array.from(data.train[0]!.label));
  });

  it('a mirrored sample swaps the classes the flip map pairs, and nothing mirrors without a map', () => {
    const mirrorOnly = { flip: true, shift: 0, rotate: 0, scale: 0, intensity: 0 };
    const data = synthetic(Uint8Array.from([0, 2, 1]));
    const source = data.train[0]!.label;
    const mirrored = Array.from(
      { length: 32 * 32 },
      (_, p) => [0, 2, 1][source[Math.floor(p / 32) * 32 + 31 - (p % 32)]!]!,
    );
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 12; seed++) {
      const labels = Array.from(assembleBatch(data, [data.train[0]!], new Generator(seed), mirrorOnly).labels);
      assert.ok(labels.join() === Array.from(source).join() || labels.join() === mirrored.join(), `seed ${seed}`);
      outcomes.add(labels.join() === mirrored.join() ? 'mirrored' : 'kept');
    }
    assert.equal(outcomes.size, 2);
    const noMap = synthetic(null);
    for (let seed = 0; seed < 6; seed++)
      assert.deepEqual(
        Array.from(assembleBatch(noMap, [noMap.train[0]!], new Generator(seed), mirrorOnly).labels),
        Array.from(source),
      );
  });
});

describe('folders of PNG image/mask pairs', () => {
  const square = (width: number, height: number, x0: number, value: number) => {
    const v = new Float32Array(width * height);
    for (let y = 2; y < height - 2; y++) for (let x = x0; x < x0 + 4 && x < width; x++) v[y * width + x] = value;
    return fromGray(v, width, height);
  };
  const makeFolder = (root: string, names: string[], mask: (i: number) => number, size = [20, 12]) => {
    mkdirSync(join(root, 'images'), { recursive: true });
    mkdirSync(join(root, 'masks'), { recursive: true });
    names.forEach((n, i) => {
      writePng(join(root, 'images', `${n}.png`), square(size[0]!, size[1]!, 2 + i, 200));
      writePng(join(root, 'masks', `${n}.png`), square(size[0]!, size[1]!, 2 + i, mask(i)));
    });
  };

  it('reads binary 0/255 masks, holds out the last names, and pads to the divisor', () => {
    const root = join(scratch, 'binary');
    makeFolder(root, ['a', 'b', 'c', 'd', 'e'], () => 255);
    const data = loadSegmentationData(parseDatasetSpec(root, { testFraction: 0.4 }), { scale: 1, divisor: 8 });
    assert.deepEqual(data.classNames, ['background', 'foreground']);
    assert.deepEqual(
      data.train.map((s) => s.id),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      data.test.map((s) => s.id),
      ['d', 'e'],
    );
    assert.deepEqual([data.height, data.width], [16, 24]);
    assert.equal(
      data.test[0]!.native.reduce((a, b) => a + b, 0),
      8 * 4,
    );
    assert.equal(data.flipMap, null);
    assert.equal(data.preprocessing.normalisation, 'zscore');
  });

  it('uses train/ and test/ subfolders and classes.txt, with class values in the masks', () => {
    const root = join(scratch, 'split');
    makeFolder(join(root, 'train'), ['x1', 'x2'], (i) => i + 1);
    makeFolder(join(root, 'test'), ['y1'], () => 2);
    writeFileSync(join(root, 'classes.txt'), 'background\ntumour\nedema\n');
    const data = loadSegmentationData(parseDatasetSpec(root), { scale: 0.5, divisor: 4 });
    assert.deepEqual(data.classNames, ['background', 'tumour', 'edema']);
    assert.deepEqual([data.train.length, data.test.length], [2, 1]);
    assert.ok(data.test[0]!.native.includes(2));
    assert.deepEqual([data.height, data.width], [8, 12]);
  });

  it('names the file when a mask is missing, has another size, or the folder is not a data set', () => {
    const missing = join(scratch, 'missing');
    makeFolder(missing, ['a', 'b'], () => 255);
    rmSync(join(missing, 'masks', 'b.png'));
    assert.throws(
      () => loadSegmentationData(parseDatasetSpec(missing), { scale: 1, divisor: 4 }),
      (e) => check(e, join(missing, 'images', 'b.png'), 'no mask'),
    );
    const sized = join(scratch, 'sized');
    makeFolder(sized, ['a', 'b'], () => 255);
    writePng(join(sized, 'masks', 'a.png'), square(10, 10, 2, 255));
    assert.throws(
      () => loadSegmentationData(parseDatasetSpec(sized), { scale: 1, divisor: 4 }),
      (e) => check(e, join(sized, 'masks', 'a.png'), '10x10', '20x12'),
    );
    assert.throws(
      () => loadSegmentationData(parseDatasetSpec(scratch), { scale: 1, divisor: 4 }),
      (e) => check(e, 'images/ and a masks/'),
    );
    assert.throws(
      () => parseDatasetSpec(join(scratch, 'nothing-here')),
      (e) => check(e, 'nothing-here', 'folder of PNG pairs'),
    );
    assert.throws(
      () => parseDatasetSpec('mricron:lungs'),
      (e) => check(e, 'lungs', 'brain, aal, aal-lobes'),
    );
  });
});
