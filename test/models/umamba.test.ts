import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { evalAny, modelTaskOfArgs } from '../../src/cli/dispatch.js';
import { evalSegmentationCommand, segmentCommand, trainSegmentationCommand } from '../../src/cli/segmentation.js';
import { ensureDataset } from '../../src/data/datasets.js';
import { loadSegmentationData, parseDatasetSpec, type SegmentationData } from '../../src/data/segmentation.js';
import { fromGray } from '../../src/formats/rgba.js';
import { readImage, writePng } from '../../src/io/image-files.js';
import { readNifti } from '../../src/io/nifti-files.js';
import { saveSegmentationModel } from '../../src/io/model-types/segmentation.js';
import { loadSegmentationModel } from '../../src/io/registry.js';
import { MambaLayer, ResidualBlock, UMamba, umambaConfig } from '../../src/models/umamba.js';
import { ConvNormAct, deepSupervisionWeights, UNet, upsampleNearest2x } from '../../src/models/unet.js';
import {
  addCounts,
  diceCeLoss,
  diceReport,
  diceScores,
  downsampleTargets,
  emptyCounts,
  evaluateSegmentation,
  networkSpec,
  predictSamples,
  trainSegmentation,
  SEGMENTATION_DEFAULTS,
  SEGMENTATION_TRAINER,
} from '../../src/train/segmentation.js';
import { assertClose, checkGrad, f64 } from '../helpers.js';
import { fastBackends } from '../backends/fast-backends.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-umamba-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const noApt = spawnSync('apt-get', ['--version']).error
  ? 'apt-get is not available here: the mricron data set comes from the Debian package mricron-data'
  : false;
const reference = mt.getBackend('reference');

type Net = mt.nn.Module & { forward(x: mt.Tensor): mt.Tensor };

/**
 * Builds a module on the reference backend, copies its weights into the same module on each wasm
 * backend (one thread, and two threads splitting even the smallest kernels), and compares the
 * output and the gradients of the input and of every parameter under one random upstream gradient.
 */
function moduleParity(build: () => Net, inputShape: number[], tol = 1e-4, gradTol = 2e-3): void {
  const g = new mt.Generator(11);
  const input = Float32Array.from({ length: inputShape.reduce((a, b) => a * b, 1) }, () => g.uniform() * 2 - 1);
  const previous = mt.getBackend();
  let weights: Map<string, Float32Array> | null = null;
  let upstream: Float32Array | null = null;
  const run = (backend: mt.Backend) => {
    mt.setBackend(backend);
    try {
      const net = weights ? mt.nn.withoutInitialisation(build) : build();
      if (weights) for (const [name, t] of net.stateDict()) t.write(weights.get(name)!);
      else weights = new Map([...net.stateDict()].map(([n, t]) => [n, Float32Array.from(t.toArray())]));
      const result = mt.scope(() => {
        const x = mt.fromArray(input, inputShape, { requiresGrad: true });
        const y = net.forward(x);
        upstream ??= Float32Array.from({ length: y.size }, () => g.uniform() * 2 - 1);
        mt.sum(mt.mul(y, mt.fromArray(upstream, y.shape))).backward();
        return {
          output: Array.from(y.toArray()),
          input: Array.from(x.grad!.toArray()),
          params: [...net.namedParameters()].map(([n, p]) => [n, Array.from(p.grad!.toArray())] as const),
        };
      });
      net.dispose();
      return result;
    } finally {
      mt.setBackend(previous);
    }
  };
  const expected = run(reference);
  for (const { label, backend } of fastBackends) {
    const actual = run(backend);
    assertClose(actual.output, expected.output, tol, `${label}: output`);
    assertClose(actual.input, expected.input, gradTol, `${label}: input gradient`);
    actual.params.forEach(([name, grad], i) =>
      assertClose(grad, expected.params[i]![1], gradTol, `${label}: gradient of ${name}`),
    );
  }
}

describe('U-Mamba building blocks on wasm against the reference backend', () => {
  it('conv-norm-LeakyReLU and residual blocks (strided with a 1x1 projection, and identity)', () => {
    const g = () => ({ generator: new mt.Generator(1) });
    moduleParity(() => new ConvNormAct(3, 5, 2, g()), [2, 3, 9, 7]);
    moduleParity(() => new ResidualBlock(3, 6, 2, true, g()), [2, 3, 8, 6]);
    moduleParity(() => new ResidualBlock(4, 4, 1, false, g()), [1, 4, 5, 7]);
  });

  it('the Mamba layer over flattened positions, and whole tiny U-Mamba_Bot, U-Mamba_Enc and U-Net', () => {
    const g = () => ({ generator: new mt.Generator(2) });
    moduleParity(() => new MambaLayer(8, { dState: 4, dConv: 4, expand: 2, ...g() }), [2, 8, 3, 5]);
    for (const variant of ['bot', 'enc'] as const)
      moduleParity(
        () =>
          new UMamba(
            umambaConfig({ classes: 3, features: [4, 8, 8], variant, dState: 4, deepSupervision: false }),
            g(),
          ),
        [2, 1, 8, 4],
      );
    moduleParity(
      () => new UNet({ inChannels: 1, classes: 2, features: [4, 8], convsPerStage: 2, deepSupervision: false }, g()),
      [2, 1, 6, 4],
    );
  });

  it('nearest upsampling copies each value into a 2x2 block and sums its gradient back', () => {
    const x = mt.fromArray(Float32Array.from([1, 2, 3, 4]), [1, 1, 2, 2], { requiresGrad: true });
    const y = upsampleNearest2x(x);
    assert.deepEqual(Array.from(y.toArray()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    mt.sum(mt.mul(y, mt.arange(16).cast('float32').reshape([1, 1, 4, 4]))).backward();
    assert.deepEqual(Array.from(x.grad!.toArray()), [0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]);
  });
});

describe('U-Mamba networks', () => {
  it('follows the reference layout: blocks per stage, where the Mamba layers sit, deep-supervision heads', () => {
    const bot = umambaConfig({ classes: 2, features: [16, 32, 64, 128, 256], variant: 'bot' });
    assert.deepEqual(bot.encoderBlocks, [2, 2, 2, 1, 1]);
    assert.deepEqual(bot.decoderBlocks, [2, 2, 2, 1]);
    assert.deepEqual(bot.mambaStages, [4]);
    assert.deepEqual(
      umambaConfig({ classes: 2, features: [16, 32, 64, 128, 256], variant: 'enc' }).mambaStages,
      [0, 1, 2, 3, 4],
    );
    const net = mt.nn.withoutInitialisation(
      () => new UMamba(umambaConfig({ classes: 3, features: [4, 8, 16], variant: 'bot' })),
    );
    const names = [...net.stateDict().keys()];
    assert.ok(names.includes('encoder.2.mamba.norm.weight') && names.includes('encoder.2.mamba.mamba.in_proj.weight'));
    assert.ok(!names.some((n) => n.startsWith('encoder.0.mamba') || n.startsWith('encoder.1.mamba')));
    assert.ok(names.includes('encoder.0.blocks.0.conv3.weight') && !names.includes('encoder.0.blocks.1.conv3.weight'));
    assert.ok(names.includes('decoder.0.upsample.weight') && names.includes('seg_layers.1.weight'));
    const outs = mt.scope(() => net.forwardAll(mt.zeros([1, 1, 8, 12])).map((o) => o.shape));
    assert.deepEqual(outs, [
      [1, 3, 8, 12],
      [1, 3, 4, 6],
    ]);
    assert.throws(() => net.forward(mt.zeros([1, 1, 6, 12])), /multiples of 4/);
    assert.deepEqual(
      deepSupervisionWeights(4).map((w) => +w.toFixed(4)),
      [0.5714, 0.2857, 0.1429, 0],
    );
    assert.deepEqual(deepSupervisionWeights(1), [1]);
    net.dispose();
  });

  it('the U-Net baseline is sized to within 10% of U-Mamba_Bot, and Enc adds a few percent', () => {
    const count = (arch: 'unet' | 'umamba-bot' | 'umamba-enc') => {
      const spec = networkSpec(
        { architecture: arch, features: SEGMENTATION_DEFAULTS.features, unetFeatures: null, deepSupervision: true },
        2,
      );
      const net = mt.nn.withoutInitialisation(() =>
        spec.type === 'unet' ? new UNet(spec.config) : new UMamba(spec.config),
      );
      const n = net.numParameters();
      net.dispose();
      return n;
    };
    const [unet, bot, enc] = [count('unet'), count('umamba-bot'), count('umamba-enc')];
    assert.ok(Math.abs(unet - bot) / bot < 0.1, `U-Net ${unet} vs U-Mamba_Bot ${bot}`);
    assert.ok(enc > bot && enc < bot * 1.1, `U-Mamba_Enc ${enc} vs Bot ${bot}`);
  });
});

describe('Dice', () => {
  it('on crafted masks: perfect, empty against empty, disjoint, partial, multi-class, pooled', () => {
    assert.deepEqual(diceScores([0, 1, 1, 0], [0, 1, 1, 0], 2), { perClass: [1, 1], meanDice: 1 });
    assert.deepEqual(diceScores([0, 0, 0], [0, 0, 0], 2), { perClass: [1, null], meanDice: null });
    assert.deepEqual(diceScores([1, 1, 0, 0], [0, 0, 1, 1], 2), { perClass: [0, 0], meanDice: 0 });
    assert.deepEqual(diceScores([1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1, 0, 0], 2).perClass, [0.5, 0.5]);
    // Class 1: tp 2, fp 1, fn 0 -> 0.8; class 2: tp 1, fp 0, fn 1 -> 2/3; class 3 predicted, never true -> 0.
    const multi = diceScores([1, 1, 1, 2, 0, 3], [1, 1, 0, 2, 2, 0], 4);
    assertClose(multi.perClass.slice(1) as number[], [0.8, 2 / 3, 0]);
    assertClose([multi.meanDice!], [(0.8 + 2 / 3 + 0) / 3]);
    // Pooled counts weigh pixels, not slices: a tiny miss on a small slice barely moves a volume's Dice.
    const counts = emptyCounts(2);
    addCounts(counts, [1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]);
    addCounts(counts, [0, 0], [1, 0]);
    assertClose([diceReport(counts).perClass[1]!], [16 / 17]);
    assert.throws(() => diceScores([0, 2], [0, 1], 2), /label 2 at pixel 1/);
    assert.throws(() => diceScores([0], [0, 1], 2), /prediction of 1 pixels/);
  });

  it('the Dice + cross-entropy loss equals its definition, and its gradient is right', () => {
    const logits = f64([2, 3, 2, 2], 4, -2, 2, false);
    const targets = Int32Array.from([0, 1, 2, 1, 0, 0, 1, 1]);
    const x = Array.from(logits.toArray());
    const probs: number[][] = [];
    let ce = 0;
    for (let b = 0; b < 2; b++) {
      for (let p = 0; p < 4; p++) {
        const z = [0, 1, 2].map((k) => x[(b * 3 + k) * 4 + p]!);
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const s = e.reduce((a, c) => a + c, 0);
        probs.push(e.map((v) => v / s));
        ce -= Math.log(e[targets[b * 4 + p]!]! / s);
      }
    }
    ce /= 8;
    const dice = [1, 2].map((k) => {
      let inter = 0;
      let pred = 0;
      let truth = 0;
      probs.forEach(
        (pr, i) => ((inter += targets[i] === k ? pr[k]! : 0), (pred += pr[k]!), (truth += targets[i] === k ? 1 : 0)),
      );
      return (2 * inter + 1e-5) / (pred + truth + 1e-5);
    });
    assertClose([diceCeLoss(logits, targets).item()], [ce + 1 - (dice[0]! + dice[1]!) / 2], 1e-10);
    checkGrad((l) => diceCeLoss(l, targets), [f64([2, 3, 2, 2], 5)]);
  });

  it('downsampled targets take the pixel nearest each block centre', () => {
    const t = Int32Array.from({ length: 16 }, (_, i) => i);
    assert.deepEqual(Array.from(downsampleTargets(t, 1, 4, 4, 2)), [5, 7, 13, 15]);
    assert.equal(downsampleTargets(t, 1, 4, 4, 1), t);
  });
});

/** A few training slices of the brain task at a quarter of the resolution, as train and test. */
function fewSlices(count: number): SegmentationData {
  const data = loadSegmentationData(parseDatasetSpec('mricron'), { scale: 0.25, divisor: 8 });
  const picked = data.train.filter((_, i) => i % 20 === 10).slice(0, count);
  return { ...data, train: picked, test: picked };
}

describe('training', () => {
  it(
    'a tiny U-Mamba overfits a few MRI slices in seconds, and saves and reloads to the same predictions',
    { skip: noApt },
    async () => {
      const data = fewSlices(4);
      const started = performance.now();
      const result = await trainSegmentation(
        data,
        {
          ...SEGMENTATION_DEFAULTS,
          architecture: 'umamba-bot',
          features: [8, 16, 32, 64],
          batchSize: 4,
          augment: null,
        },
        {
          ...SEGMENTATION_TRAINER,
          minutes: undefined,
          steps: 60,
          lr: 5e-3,
          warmup: 5,
          evalEvery: 1000,
          checkpointEvery: 1000,
        },
        { out: join(scratch, 'overfit'), log: () => {} },
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `tiny U-Mamba_Bot: Dice ${result.evaluation.meanDice?.toFixed(4)} on its 4 training slices after 60 steps, ${seconds.toFixed(1)} s`,
      );
      assert.ok(result.evaluation.meanDice! > 0.9, `Dice ${result.evaluation.meanDice}`);
      assert.ok(result.history.at(-1)!.loss < result.history[0]!.loss / 3);
      const folder = join(scratch, 'overfit');
      assert.equal(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')).model_type, 'umamba');
      const { model: net, info } = await loadSegmentationModel(folder);
      assert.deepEqual(info.classNames, ['background', 'brain']);
      const again = predictSamples(net, data.test, data.height, data.width);
      again.forEach((p, i) => assert.deepEqual(p, result.evaluation.predictions[i]));
      assert.equal(evaluateSegmentation(net, data).meanDice, result.evaluation.meanDice);
    },
  );

  it('saving a model writes what loading checks', async () => {
    const net = new UNet({ inChannels: 1, classes: 2, features: [4, 8], convsPerStage: 1, deepSupervision: false });
    const folder = join(scratch, 'bad-model');
    await saveSegmentationModel(
      net,
      {
        network: { type: 'unet', config: net.config },
        classNames: ['background'],
        preprocessing: { normalisation: 'zscore', scale: 1, divisor: 2 },
        data: { kind: 'folder', path: '/x', testFraction: 0.2 },
      },
      folder,
    );
    await assert.rejects(loadSegmentationModel(folder), /class_names/);
    net.dispose();
  });
});

/**
 * Runs a command function with its text output captured. Binary chunks pass through: under
 * `node --test` the runner reports to its parent over this same stdout.
 */
async function capture(fn: () => Promise<void>): Promise<string> {
  const write = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    text += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return text;
}

describe('command line: train, eval, segment', () => {
  const quiet = ['--features', '4,8,16', '--batch-size', '2', '--eval-every', '2', '--checkpoint-every', '2', '--json'];

  it(
    'trains a tiny U-Mamba_Enc on mricron, evaluates it, and segments a volume onto its own grid',
    { skip: noApt },
    async () => {
      const out = join(scratch, 'cli-umamba');
      const trained = JSON.parse(
        await capture(() =>
          trainSegmentationCommand([
            'umamba',
            '--variant',
            'enc',
            '--dataset',
            'mricron',
            '--out',
            out,
            '--steps',
            '3',
            '--scale',
            '0.25',
            ...quiet,
          ]),
        ),
      );
      assert.equal(trained.model, 'umamba-enc');
      assert.equal(trained.steps, 3);
      assert.equal(trained.test_slices, 25);
      assert.ok(trained.mean_dice >= 0 && trained.mean_dice <= 1);
      for (const f of [
        'config.json',
        'model.safetensors',
        'training.svg',
        'held-out.png',
        'evaluation.json',
        'metrics.jsonl',
      ])
        assert.ok(existsSync(join(out, f)), f);
      assert.equal(modelTaskOfArgs(['--model', out, '--json']), 'segmentation');
      assert.equal(modelTaskOfArgs([`--model=${out}`]), 'segmentation');
      assert.equal(modelTaskOfArgs(['--model', scratch, '--text-file', 'a.txt']), undefined);
      assert.equal(modelTaskOfArgs(['--model', 'state-spaces/mamba-130m-hf']), undefined);
      // mamba-ts eval dispatches on the folder's model_type
      const evaluated = JSON.parse(await capture(() => evalAny(['--model', out, '--json'])));
      assert.equal(evaluated.dataset, 'mricron:brain');
      assertClose([evaluated.mean_dice], [trained.mean_dice], 1e-9);
      const other = JSON.parse(
        await capture(() =>
          evalSegmentationCommand(['--model', out, '--dataset', 'mricron', '--test-slices', '40:50', '--json']),
        ),
      );
      assert.equal(other.test_slices, 10);
      await assert.rejects(
        capture(() => evalSegmentationCommand(['--model', out, '--dataset', 'mricron:aal'])),
        /117 classes, the model predicts 2/,
      );
      const input = join(ensureDataset('mricron'), 'ch2.nii.gz');
      const labels = join(scratch, 'labels.nii.gz');
      const overlay = join(scratch, 'overlay.png');
      const summary = JSON.parse(
        await capture(() =>
          segmentCommand(['--model', out, '--input', input, '--out', labels, '--overlay', overlay, '--json']),
        ),
      );
      assert.equal(summary.pixels_per_class.background + summary.pixels_per_class.brain, 181 * 217 * 181);
      const [source, written] = [readNifti(input), readNifti(labels)];
      for (const key of [
        'dim',
        'pixdim',
        'qformCode',
        'sformCode',
        'srowX',
        'srowY',
        'srowZ',
        'quaternB',
        'qoffsetX',
      ] as const)
        assert.deepEqual(written.header[key], source.header[key], key);
      assert.ok(written.data.every((v) => v === 0 || v === 1));
      assert.ok(readImage(overlay).width > 181);
    },
  );

  it('trains a U-Net on a folder of PNG pairs and segments a PNG', async () => {
    const root = join(scratch, 'pngs');
    mkdirSync(join(root, 'images'), { recursive: true });
    mkdirSync(join(root, 'masks'), { recursive: true });
    for (let i = 0; i < 5; i++) {
      const image = new Float32Array(24 * 20);
      const mask = new Float32Array(24 * 20);
      for (let y = 4; y < 14; y++)
        for (let x = 3 + i; x < 12 + i; x++) ((image[y * 24 + x] = 180), (mask[y * 24 + x] = 255));
      writePng(join(root, 'images', `${i}.png`), fromGray(image, 24, 20));
      writePng(join(root, 'masks', `${i}.png`), fromGray(mask, 24, 20));
    }
    const out = join(scratch, 'cli-unet');
    const trained = JSON.parse(
      await capture(() =>
        trainSegmentationCommand(['unet', '--dataset', root, '--out', out, '--steps', '2', '--scale', '1', ...quiet]),
      ),
    );
    assert.equal(trained.model, 'unet');
    assert.deepEqual(Object.keys(trained.per_class_dice), ['background', 'foreground']);
    const mask = join(scratch, 'mask.png');
    await capture(() =>
      segmentCommand([
        '--model',
        out,
        '--input',
        join(root, 'images', '4.png'),
        '--out',
        mask,
        '--overlay',
        join(scratch, 'png-overlay.png'),
      ]),
    );
    const written = readImage(mask);
    assert.deepEqual([written.width, written.height], [24, 20]);
    assert.ok(Array.from(written.data.filter((_, i) => i % 4 === 0)).every((v) => v === 0 || v === 255));
  });

  it('bad use gets a usage error naming the problem', async () => {
    await assert.rejects(trainSegmentationCommand(['umamba', '--out', scratch]), /--dataset is required/);
    await assert.rejects(
      trainSegmentationCommand(['umamba', '--dataset', 'mricron', '--out', scratch, '--variant', 'mid']),
      /--variant must be bot or enc/,
    );
    await assert.rejects(
      trainSegmentationCommand(['unet', '--dataset', 'mricron', '--out', scratch, '--variant', 'bot']),
      /applies to umamba only/,
    );
    await assert.rejects(trainSegmentationCommand(['vnet']), /available: umamba, unet/);
    await assert.rejects(
      trainSegmentationCommand(['unet', '--dataset', 'mricron', '--out', scratch, '--features', '16']),
      /two or more/,
    );
    await assert.rejects(
      trainSegmentationCommand(['unet', '--dataset', 'mricron', '--out', scratch, '--test-slices', '5-9']),
      /START:END/,
    );
    await assert.rejects(
      segmentCommand(['--model', scratch, '--input', 'a.nii.gz', '--out', 'b.png']),
      /must end in .nii/,
    );
    await assert.rejects(evalSegmentationCommand(['--model', join(scratch, 'none')]), /no such folder/);
  });
});
