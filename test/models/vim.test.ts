import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { loadDigits, splitImages, type LabelledImages } from '../../src/data/digits.js';
import type { ImageDataset, ImageSet } from '../../src/data/images.js';
import { saveVisionModel } from '../../src/io/model-types/classifier.js';
import { loadImageClassifier as loadVisionModel } from '../../src/io/registry.js';
import {
  dropPathRates,
  Vim,
  vimClassTokenPosition,
  vimConfig,
  vimMixerConfig,
  vimPreset,
  VIM_PRESETS,
} from '../../src/models/vim.js';
import { ViT, vitConfigForParameters, vitParameterCount } from '../../src/models/vit.js';
import { withoutInitialisation } from '../../src/nn/init.js';
import { BiMambaMixer } from '../../src/ssm/bimamba.js';
import { trainImageClassifier, VISION_TRAINER, vitBaselineConfig, VIT_HEADS } from '../../src/train/vim.js';
import { evalAny, train } from '../../src/cli/dispatch.js';
import { classifyCommand, evalVisionCommand, trainVisionCommand } from '../../src/cli/vision.js';
import { UsageError } from '../../src/cli/args.js';
import { fromGray } from '../../src/formats/rgba.js';
import { writePng } from '../../src/io/image-files.js';
import { fastBackends } from '../backends/fast-backends.js';
import { assertClose } from '../helpers.js';

const temp = mkdtempSync(join(tmpdir(), 'mamba-ts-vim-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const mixerConfig = (dModel = 8) => mt.mambaConfig({ dModel, nLayer: 1, vocabSize: 1, dState: 4, dConv: 3, expand: 2 });

function randomTensor(shape: number[], seed: number, scale = 1): mt.Tensor {
  const g = new mt.Generator(seed);
  return mt.fromArray(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * g.normal()),
    shape,
  );
}

/** A uni-directional mixer holding one direction of a bidirectional one (with the shared in_proj and out_proj). */
function direction(bi: BiMambaMixer, backward: boolean): mt.MambaMixer {
  const uni = new mt.MambaMixer(bi.config);
  const sd = bi.stateDict();
  const rename: Record<string, string> = backward
    ? { conv1d: 'conv1d_b', x_proj: 'x_proj_b', dt_proj: 'dt_proj_b', A_log: 'A_b_log', D: 'D_b' }
    : {};
  const own = new Map(
    [...uni.stateDict().keys()].map((name) => {
      const [head, ...tail] = name.split('.');
      return [name, sd.get([rename[head!] ?? head, ...tail].join('.'))!];
    }),
  );
  uni.loadStateDict(own);
  return uni;
}

describe('bidirectional Mamba mixer (Vim v2)', () => {
  it('has the reference parameters: shared in_proj/out_proj, a second conv1d, x_proj, dt_proj, A_log and D for the backward direction', () => {
    const bi = new BiMambaMixer(mixerConfig(), { generator: new mt.Generator(0) });
    const shapes = Object.fromEntries([...bi.stateDict()].map(([k, v]) => [k, v.shape.join('x')]));
    assert.deepEqual(shapes, {
      'in_proj.weight': '32x8',
      'conv1d.weight': '16x1x3',
      'conv1d.bias': '16',
      'x_proj.weight': '9x16',
      'dt_proj.weight': '16x1',
      'dt_proj.bias': '16',
      A_log: '16x4',
      D: '16',
      'conv1d_b.weight': '16x1x3',
      'conv1d_b.bias': '16',
      'x_proj_b.weight': '9x16',
      'dt_proj_b.weight': '16x1',
      'dt_proj_b.bias': '16',
      A_b_log: '16x4',
      D_b: '16',
      'out_proj.weight': '8x16',
    });
    const sd = bi.stateDict();
    assert.deepEqual(Array.from(sd.get('A_b_log')!.toArray()), Array.from(sd.get('A_log')!.toArray()));
    assert.deepEqual(Array.from(sd.get('D_b')!.toArray()), new Array(16).fill(1));
    // The reference zeroes dt_proj_b.bias (only dt_proj.bias is marked _no_reinit).
    assert.deepEqual(Array.from(sd.get('dt_proj_b.bias')!.toArray()), new Array(16).fill(0));
    assert.notDeepEqual(
      Array.from(sd.get('x_proj_b.weight')!.toArray()),
      Array.from(sd.get('x_proj.weight')!.toArray()),
    );
  });

  it('the backward direction is the forward path run on the reversed sequence, and the directions are averaged', () => {
    const bi = new BiMambaMixer(mixerConfig(), { generator: new mt.Generator(1) });
    // Give the backward direction a step size of its own so that it differs clearly from the forward one.
    bi.backward.dtProj.bias!.write(new Float32Array(16).fill(-2));
    const h = randomTensor([2, 11, 8], 2);
    const forward = direction(bi, false);
    const backward = direction(bi, true);
    mt.noGrad(() => {
      const out = bi.forward(h).toArray();
      const f = forward.forward(h);
      const b = mt.flip(backward.forward(mt.flip(h, 1)), 1);
      assertClose(out, mt.mul(mt.add(f, b), 0.5).toArray(), 1e-5, 'bidirectional output');
      // And not merely the forward direction twice.
      assert.ok(Math.max(...Array.from(mt.sub(f, b).abs().toArray())) > 1e-3);
    });
  });

  it('with both directions sharing weights, reversing the input reverses the output', () => {
    const bi = new BiMambaMixer(mixerConfig(), { generator: new mt.Generator(3) });
    const sd = bi.stateDict();
    for (const [fwd, bwd] of [
      ['conv1d.weight', 'conv1d_b.weight'],
      ['conv1d.bias', 'conv1d_b.bias'],
      ['x_proj.weight', 'x_proj_b.weight'],
      ['dt_proj.weight', 'dt_proj_b.weight'],
      ['dt_proj.bias', 'dt_proj_b.bias'],
      ['A_log', 'A_b_log'],
      ['D', 'D_b'],
    ] as const) {
      sd.get(bwd)!.write(sd.get(fwd)!.toArray());
    }
    const h = randomTensor([1, 9, 8], 4);
    mt.noGrad(() =>
      assertClose(
        bi.forward(mt.flip(h, 1)).toArray(),
        mt.flip(bi.forward(h), 1).toArray(),
        1e-5,
        'reversal equivariance',
      ),
    );
  });

  it('every position sees the whole sequence: changing the last token changes the first output, which a causal mixer cannot do', () => {
    const bi = new BiMambaMixer(mixerConfig(), { generator: new mt.Generator(5) });
    const h = randomTensor([1, 6, 8], 6);
    const changed = mt.concat([mt.slice(h, 1, 0, 5), randomTensor([1, 1, 8], 7)], 1);
    const firstChange = (mixer: { forward(x: mt.Tensor): mt.Tensor }) =>
      mt.noGrad(() => {
        const a = mt.slice(mixer.forward(h), 1, 0, 1).toArray();
        const b = mt.slice(mixer.forward(changed), 1, 0, 1).toArray();
        return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
      });
    assert.equal(firstChange(direction(bi, false)), 0);
    assert.ok(firstChange(bi) > 1e-6, `change ${firstChange(bi)}`);
  });

  it('gradients of the input and of every parameter match finite differences (float64, reference backend)', () => {
    mt.setDefaultFloatDType('float64');
    mt.setBackend('reference');
    try {
      const bi = new BiMambaMixer(
        mt.mambaConfig({ dModel: 4, nLayer: 1, vocabSize: 1, dState: 2, dConv: 3, expand: 2 }),
        { generator: new mt.Generator(8) },
      );
      const g = new mt.Generator(9);
      const h = mt.fromArray(
        Float64Array.from({ length: 2 * 5 * 4 }, () => g.normal()),
        [2, 5, 4],
        { requiresGrad: true },
      );
      const r = mt.gradcheck(() => bi.forward(h), [h, ...bi.parameters()]);
      assert.ok(r.ok, r.message);
    } finally {
      mt.setDefaultFloatDType('float32');
      mt.setBackend('wasm');
    }
  });
});

const tinyVim = { imageSize: 8, patchSize: 2, channels: 1, numClasses: 3, dModel: 8, depth: 2, dState: 4 };

describe('Vim', () => {
  it('has hustvl/Vim parameter names, its presets and its initialisation', () => {
    const model = new Vim(tinyVim, { generator: new mt.Generator(0) });
    const names = [...model.stateDict().keys()];
    for (const name of [
      'patch_embed.proj.weight',
      'patch_embed.proj.bias',
      'cls_token',
      'pos_embed',
      'layers.0.norm.weight',
      'layers.1.mixer.x_proj_b.weight',
      'layers.1.mixer.A_b_log',
      'norm_f.weight',
      'head.weight',
      'head.bias',
    ]) {
      assert.ok(names.includes(name), name);
    }
    assert.deepEqual(model.posEmbed.shape, [1, 17, 8]);
    assert.deepEqual(model.stateDict().get('patch_embed.proj.weight')!.shape, [8, 1, 2, 2]);
    assert.deepEqual(Array.from(model.head.bias!.toArray()), [0, 0, 0]);
    assert.deepEqual(Array.from(model.patchEmbed.proj.bias!.toArray()), new Array(8).fill(0));
    // cls_token and pos_embed are exempt from weight decay (the reference's no_weight_decay()).
    const exempt = model.noWeightDecayParameters();
    assert.ok(exempt.has(model.clsToken) && exempt.has(model.posEmbed) && !exempt.has(model.head.weight));
    // The published sizes: Vim-Ti 7M, Vim-S 26M, Vim-B 98M parameters (docs/mamba-spec.md §4).
    const count = (name: keyof typeof VIM_PRESETS) => {
      const big = withoutInitialisation(() => new Vim(vimPreset(name)));
      const n = big.numParameters();
      big.dispose();
      return n;
    };
    assert.ok(Math.abs(count('vim-ti') / 7e6 - 1) < 0.05, `Vim-Ti ${count('vim-ti')}`);
    assert.ok(Math.abs(count('vim-s') / 26e6 - 1) < 0.05, `Vim-S ${count('vim-s')}`);
    assert.ok(Math.abs(count('vim-b') / 98e6 - 1) < 0.05, `Vim-B ${count('vim-b')}`);
    assert.throws(() => vimConfig({ ...tinyVim, patchSize: 9 }), /patchSize 9 is larger than the 8-pixel image/);
    assert.throws(() => vimPreset('vim-xl'), /unknown Vim preset 'vim-xl'; available: vim-ti/);
  });

  it('puts the class token in the middle of the patches, and the head reads that position', () => {
    assert.equal(vimClassTokenPosition({ imageSize: 224, patchSize: 16, stride: 16 }), 98);
    assert.equal(vimClassTokenPosition({ imageSize: 28, patchSize: 4, stride: 4 }), 24);
    assert.equal(vimClassTokenPosition({ imageSize: 8, patchSize: 2, stride: 2 }), 8);
    const model = new Vim(tinyVim, { generator: new mt.Generator(1) });
    const pos = model.tokenPosition;
    assert.equal(pos, 8);
    // With every mixer silenced the residual stream is the embedded sequence itself, so the output is
    // head(RMSNorm(cls_token + pos_embed[pos])) whatever the image: the patches sit elsewhere.
    for (const block of model.layers)
      block.mixer.outProj.weight.write(new Float32Array(block.mixer.outProj.weight.size));
    const expected = mt.noGrad(() => {
      const token = mt.add(
        mt.reshape(model.clsToken, [1, 8]),
        mt.reshape(mt.slice(model.posEmbed, 1, pos, pos + 1), [1, 8]),
      );
      return mt.linear(mt.rmsNorm(token, model.normF.weight, 1e-5), model.head.weight, model.head.bias).toArray();
    });
    const images = randomTensor([2, 1, 8, 8], 2);
    const logits = model.forward(images);
    assertClose(logits.toArray(), [...expected, ...expected], 1e-5, 'logits of two different images');
    // Only row `pos` of the position table reaches the output.
    mt.sum(logits).backward();
    const grad = model.posEmbed.grad!.toArray();
    for (let row = 0; row < 17; row++) {
      const norm = Math.hypot(...Array.from(grad.subarray(row * 8, row * 8 + 8)));
      assert.equal(norm > 0, row === pos, `pos_embed row ${row}: gradient norm ${norm}`);
    }
  });

  it('gradients of every parameter match finite differences, drop path included (float64, reference backend)', () => {
    mt.setDefaultFloatDType('float64');
    mt.setBackend('reference');
    try {
      const model = new Vim(
        {
          imageSize: 4,
          patchSize: 2,
          channels: 2,
          numClasses: 3,
          dModel: 4,
          depth: 2,
          dState: 2,
          dConv: 2,
          dropPath: 0.5,
        },
        { generator: new mt.Generator(3) },
      );
      const g = new mt.Generator(4);
      const images = mt.fromArray(
        Float64Array.from({ length: 3 * 2 * 16 }, () => g.normal()),
        [3, 2, 4, 4],
        { requiresGrad: true },
      );
      const r = mt.gradcheck(
        () => model.forward(images, { generator: new mt.Generator(5) }),
        [images, ...model.parameters()],
      );
      assert.ok(r.ok, r.message);
    } finally {
      mt.setDefaultFloatDType('float32');
      mt.setBackend('wasm');
    }
  });

  it('drop path draws a per-sample mask from the given generator, only in training, at rates rising linearly over the layers', () => {
    assertClose(dropPathRates(0.6, 4), [0, 0.2, 0.4, 0.6], 1e-12, 'rates');
    assert.deepEqual(dropPathRates(0.3, 1), [0]);
    const model = new Vim({ ...tinyVim, depth: 4, dropPath: 0.6 }, { generator: new mt.Generator(6) });
    const images = randomTensor([8, 1, 8, 8], 7);
    const run = (seed: number) =>
      mt.noGrad(() => Array.from(model.forward(images, { generator: new mt.Generator(seed) }).toArray()));
    assert.deepEqual(run(1), run(1));
    assert.notDeepEqual(run(1), run(2));
    model.eval();
    const evaluated = run(1);
    assert.deepEqual(evaluated, run(2));
    const plain = new Vim({ ...tinyVim, depth: 4, dropPath: 0 });
    plain.loadStateDict(model.stateDict());
    plain.eval();
    assert.deepEqual(
      mt.noGrad(() => Array.from(plain.forward(images).toArray())),
      evaluated,
    );
  });

  it("every fast backend gives the reference backend's logits and gradients", () => {
    const run = (backend: string | mt.Backend) => {
      mt.setBackend(backend);
      const model = new Vim(
        { imageSize: 12, patchSize: 3, channels: 3, numClasses: 5, dModel: 16, depth: 2, dState: 4 },
        { generator: new mt.Generator(8) },
      );
      const images = randomTensor([3, 3, 12, 12], 9);
      const logits = model.forward(images);
      const loss = mt.crossEntropy(logits, mt.fromArray(Int32Array.of(0, 3, 4), [3]));
      loss.backward();
      return {
        logits: Array.from(logits.toArray()),
        grads: model.parameters().map((p) => Array.from(p.grad!.toArray())),
      };
    };
    try {
      const ref = run('reference');
      for (const { label, backend } of fastBackends) {
        const fast = run(backend);
        assertClose(fast.logits, ref.logits, 1e-4, `logits (${label})`);
        fast.grads.forEach((g, i) => assertClose(g, ref.grads[i]!, 5e-4, `gradient ${i} (${label})`));
      }
    } finally {
      mt.setBackend('wasm');
    }
  });

  it('the Mamba settings of its mixers follow the Vim config', () => {
    const m = vimMixerConfig(vimConfig({ ...tinyVim, dModel: 40, expand: 1.5 }));
    assert.deepEqual([m.dModel, m.dInner, m.dState, m.dtRank, m.bias, m.convBias], [40, 60, 4, 3, false, true]);
  });
});

describe('ViT baseline', () => {
  it('counts its parameters, and matches a parameter budget', () => {
    const options = { imageSize: 28, patchSize: 4, channels: 1, numClasses: 10, depth: 4, nHead: 4 };
    const model = new ViT({ ...options, dModel: 48 });
    assert.equal(vitParameterCount({ ...options, dModel: 48 }), model.numParameters());
    const vim = withoutInitialisation(() => new Vim(vimPreset('vim-mnist')));
    const matched = vitConfigForParameters(vim.numParameters(), options);
    const step = vitParameterCount({ ...options, dModel: matched.dModel + 4 }) - vitParameterCount(matched);
    assert.ok(
      Math.abs(vitParameterCount(matched) - vim.numParameters()) <= step / 2,
      `${vitParameterCount(matched)} vs ${vim.numParameters()}`,
    );
    assert.ok(
      model.stateDict().has('blocks.3.attn.qkv.weight') &&
        model.stateDict().has('blocks.0.mlp.fc2.bias') &&
        model.stateDict().has('norm.weight'),
    );
  });

  it("is built from a Vim's shape: its images, patches and depth, and its parameter count or a given width", () => {
    const vim = vimPreset('vim-mnist');
    const matched = vitBaselineConfig(vim);
    const options = { imageSize: 28, patchSize: 4, channels: 1, numClasses: 10, depth: 4, nHead: VIT_HEADS };
    const count = withoutInitialisation(() => new Vim(vim)).numParameters();
    assert.deepEqual(matched, vitConfigForParameters(count, { ...options, dropPath: vim.dropPath }));
    const wide = vitBaselineConfig(vim, { nHead: 2, mlpRatio: 2, dModel: 32 });
    assert.deepEqual([wide.dModel, wide.nHead, wide.mlpRatio, wide.depth], [32, 2, 2, vim.depth]);
  });

  it('attends to every token without a mask: with positions removed, the class output ignores the order of the patches', () => {
    const model = new ViT(
      { imageSize: 4, patchSize: 2, channels: 1, numClasses: 3, dModel: 8, depth: 2, nHead: 2 },
      { generator: new mt.Generator(2) },
    );
    model.posEmbed.write(new Float32Array(model.posEmbed.size));
    const image = randomTensor([1, 1, 4, 4], 3);
    // Swap the top-left and bottom-right 2x2 patches.
    const v = Array.from(image.toArray());
    const swapped = v.slice();
    for (const [y, x] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]) {
      swapped[y * 4 + x] = v[(y + 2) * 4 + x + 2]!;
      swapped[(y + 2) * 4 + x + 2] = v[y * 4 + x]!;
    }
    mt.noGrad(() =>
      assertClose(
        model.forward(mt.fromArray(swapped, [1, 1, 4, 4])).toArray(),
        model.forward(image).toArray(),
        1e-5,
        'logits',
      ),
    );
  });

  it('every fast backend agrees with the reference backend', () => {
    const run = (backend: string | mt.Backend) => {
      mt.setBackend(backend);
      const model = new ViT(
        { imageSize: 8, patchSize: 2, channels: 1, numClasses: 4, dModel: 16, depth: 2, nHead: 4, dropPath: 0.2 },
        { generator: new mt.Generator(4) },
      );
      const logits = model.forward(randomTensor([2, 1, 8, 8], 5), { generator: new mt.Generator(6) });
      mt.crossEntropy(logits, mt.fromArray(Int32Array.of(1, 2), [2])).backward();
      return {
        logits: Array.from(logits.toArray()),
        grads: model.parameters().map((p) => Array.from(p.grad!.toArray())),
      };
    };
    try {
      const ref = run('reference');
      for (const { label, backend } of fastBackends) {
        const fast = run(backend);
        assertClose(fast.logits, ref.logits, 1e-4, `logits (${label})`);
        fast.grads.forEach((g, i) => assertClose(g, ref.grads[i]!, 5e-4, `gradient ${i} (${label})`));
      }
    } finally {
      mt.setBackend('wasm');
    }
  });
});

/** The sklearn digits (pixel values 0..16) as an image data set with an 80/20 split. */
function digitsDataset(): ImageDataset {
  const { train, test } = splitImages(loadDigits(), 0.2, 0);
  const set = (d: LabelledImages): ImageSet => ({
    pixels: Uint8Array.from(d.images, (v) => Math.round((v * 255) / 16)),
    labels: d.labels,
    count: d.count,
    channels: 1,
    height: 8,
    width: 8,
  });
  return {
    source: 'sklearn digits',
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    train: set(train),
    test: set(test),
  };
}

describe('training', () => {
  it('a tiny Vim learns the sklearn digits in seconds, and saves a model that loads and scores the same', async () => {
    const data = digitsDataset();
    const model = new Vim(vimPreset('vim-digits'), { generator: new mt.Generator(0) });
    const out = join(temp, 'digits-run');
    const start = performance.now();
    const result = await trainImageClassifier(
      model,
      data,
      {
        batchSize: 32,
        accumulate: 1,
        labelSmoothing: 0.1,
        augmentation: { shift: 0, hflip: false },
        evalImages: 360,
        seed: 0,
      },
      { ...VISION_TRAINER, steps: 300, lr: 3e-3, warmup: 30, evalEvery: 100, checkpointEvery: 150 },
      { out, log: () => {} },
    );
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `digits: Vim of ${result.parameters} parameters, ${(100 * result.testAccuracy).toFixed(1)}% of ${result.testImages} held out after ${result.steps} steps, ${seconds.toFixed(1)} s`,
    );
    assert.equal(result.testImages, 359);
    assert.ok(result.testAccuracy > 0.9, `test accuracy ${result.testAccuracy}`);
    assert.ok(seconds < 60, `took ${seconds} s`);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(metrics.some((m) => m.test_accuracy !== undefined));

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(config.model_type, 'vim');
    assert.deepEqual(config.normalisation, result.normalisation);
    const loaded = await loadVisionModel(out);
    assert.equal(loaded.model.modelType, 'vim');
    assert.deepEqual(loaded.classNames, data.classNames);
    const images = randomTensor([3, 1, 8, 8], 1);
    model.eval();
    mt.noGrad(() =>
      assertClose(
        loaded.model.forward(images).toArray(),
        model.forward(images).toArray(),
        1e-6,
        'logits after loading',
      ),
    );
  });

  it('saves and loads a ViT, and refuses folders that hold something else', async () => {
    const vit = new ViT(
      { imageSize: 8, patchSize: 4, channels: 3, numClasses: 2, dModel: 8, depth: 1, nHead: 2 },
      { generator: new mt.Generator(1) },
    );
    const folder = join(temp, 'vit-model');
    await saveVisionModel(vit, folder, {
      classNames: ['cat', 'dog'],
      normalisation: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] },
    });
    const loaded = await loadVisionModel(folder);
    assert.equal(loaded.model.modelType, 'vit');
    assert.ok(loaded.model instanceof ViT);
    const images = randomTensor([1, 3, 8, 8], 2);
    mt.noGrad(() =>
      assertClose(loaded.model.forward(images).toArray(), vit.forward(images).toArray(), 1e-6, 'ViT logits'),
    );
    await assert.rejects(
      saveVisionModel(vit, folder, { classNames: ['one'], normalisation: { mean: [0, 0, 0], std: [1, 1, 1] } }),
      /1 class names for a model with 2 classes/,
    );
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, model_type: 'mamba' }));
    await assert.rejects(
      loadVisionModel(folder),
      /describes a Mamba language model \(model_type "mamba"\), not an image classifier; use it with mamba-ts generate/,
    );
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, normalisation: { mean: [0], std: [1] } }));
    await assert.rejects(
      loadVisionModel(folder),
      /config\.json: normalisation\.mean must be a list of 3 numbers in \[-1000000, 1000000\], got \[0\]/,
    );
  });
});

/**
 * The text a command writes to stdout; its progress on stderr is swallowed. Binary chunks pass
 * through: under `node --test` they are the runner's own reports on the same stream.
 */
async function capture(run: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const [out, err] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string'
      ? chunks.push(chunk) > 0
      : out.call(process.stdout, chunk, ...rest)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' || err.call(process.stderr, chunk, ...rest)) as typeof process.stderr.write;
  try {
    await run();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return chunks.join('');
}

/** A 6x6 gray image whose bright 3x3 square sits in the corner of class c (0..2), varied by k. */
function squareImage(c: number, k: number): Uint8Array {
  const v = new Uint8Array(36).fill(10 + k);
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 3; x++) v[(y + (c === 2 ? 3 : 0)) * 6 + x + (c === 1 ? 3 : 0)] = 240 - k;
  return v;
}

describe('command line (train vim|vit, eval --dataset, classify)', () => {
  const root = join(temp, 'squares');
  ['left', 'right', 'low'].forEach((name, c) => {
    mkdirSync(join(root, name), { recursive: true });
    for (let k = 0; k < 10; k++) writePng(join(root, name, `${k}.png`), fromGray(squareImage(c, k), 6, 6));
  });
  const common = [
    '--dataset',
    `folder:${root}`,
    '--patch-size',
    '3',
    '--depth',
    '1',
    '--d-state',
    '2',
    '--batch-size',
    '8',
    '--lr',
    '0.01',
    '--warmup',
    '5',
    '--threads',
    '1',
  ];
  const tiny = [...common, '--d-model', '8'];

  it('trains a Vim, prints its test accuracy, and eval and classify use the saved model', async () => {
    const out = join(temp, 'cli-vim');
    const text = await capture(() => train(['vim', '--out', out, '--epochs', '15', ...tiny]));
    assert.match(text, /^trained [\d,]+ parameters for \d+ steps \(15\.00 epochs\) in/m);
    const accuracy = Number(/test accuracy ([\d.]+)% of 6 images/.exec(text)?.[1]);
    assert.ok(accuracy > 60, text);
    const evaluated = JSON.parse(
      await capture(() => evalAny(['--model', out, '--dataset', `folder:${root}`, '--json', '--threads', '1'])),
    );
    assert.deepEqual(Object.keys(evaluated), ['accuracy', 'loss', 'images']);
    assert.equal(evaluated.images, 6);
    assert.ok(Math.abs(100 * evaluated.accuracy - accuracy) < 1e-9, `eval ${evaluated.accuracy} vs train ${accuracy}%`);
    const image = join(temp, 'low.png');
    writePng(image, fromGray(squareImage(2, 4), 6, 6));
    const top = await capture(() => classifyCommand(['--model', out, image, '--threads', '1']));
    const lines = top.trim().split('\n');
    assert.equal(lines[0], image);
    assert.equal(lines.length, 4, 'three classes, all shown when asking for the top five');
    assert.match(lines[1]!, /^ {2}1\. (left|right|low) +\d+\.\d\d%$/);
    const ranked = JSON.parse(
      await capture(() => classifyCommand(['--model', out, image, '--top', '2', '--json', '--threads', '1'])),
    );
    assert.equal(ranked.top.length, 2);
    assert.ok(ranked.top[0].probability >= ranked.top[1].probability);
  });

  it('trains the ViT baseline at the parameter count of the Vim the same flags describe', async () => {
    const summary = JSON.parse(
      await capture(() =>
        trainVisionCommand(['vit', '--out', join(temp, 'cli-vit'), '--epochs', '2', '--json', ...common]),
      ),
    );
    const vim = new Vim(
      vimPreset('vim-mnist', { imageSize: 6, patchSize: 3, channels: 1, numClasses: 3, depth: 1, dState: 2 }),
    );
    assert.equal(summary.model, 'vit');
    assert.ok(
      Math.abs(summary.parameters / vim.numParameters() - 1) < 0.1,
      `${summary.parameters} vs ${vim.numParameters()}`,
    );
    assert.equal(summary.test_images, 6);
  });

  it('rejects bad use with messages that name the fix', async () => {
    await assert.rejects(
      trainVisionCommand(['vim', ...tiny]),
      (e: unknown) => e instanceof UsageError && /--out is required/.test(e.message),
    );
    await assert.rejects(
      trainVisionCommand(['vim', '--out', join(temp, 'x'), '--heads', '2', ...tiny]),
      /--heads and --mlp-ratio are ViT flags/,
    );
    await assert.rejects(
      trainVisionCommand(['vim', '--out', join(temp, 'x'), '--dataset', 'imagenet', '--threads', '1']),
      /unknown data set 'imagenet': use mnist, idx:<folder>/,
    );
    await assert.rejects(
      trainVisionCommand(['resnet', '--out', join(temp, 'x')]),
      /unknown image model 'resnet'; available: vim, vit/,
    );
    await assert.rejects(evalVisionCommand(['--model', join(temp, 'cli-vim')]), /--dataset is required/);
    await assert.rejects(classifyCommand(['--model', join(temp, 'cli-vim')]), /name at least one image/);
    await assert.rejects(
      classifyCommand(['--model', root, join(temp, 'low.png'), '--threads', '1']),
      /has no config\.json/,
    );
  });
});
