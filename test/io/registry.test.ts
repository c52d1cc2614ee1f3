import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as mt from '../../src/index.js';
import {
  describeModel,
  loadImageClassifier,
  loadLanguageModel,
  loadModel,
  loadSegmentationModel,
  modelTaskOf,
  MODEL_TYPES,
  saveLanguageModel,
  saveSegmentationModel,
  saveVisionModel,
  taskMismatch,
} from '../../src/io/index.js';
import { MoEMambaLM, alternatingPattern } from '../../src/models/moe-mamba.js';
import { UNet } from '../../src/models/unet.js';
import { ViT } from '../../src/models/vit.js';
import { assertClose, rejectsWith } from '../helpers.js';

const fixture = (p: string) => fileURLToPath(new URL(`../../../test/fixtures/${p}`, import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-registry-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ids = mt.fromArray(new Int32Array([3, 1, 4, 1, 5, 9, 2, 6]), [1, 8], { dtype: 'int32' });

/** Saves a language model through the registry, loads it back and checks the logits. */
async function roundTrip(model: mt.LanguageModel, name: string): Promise<mt.LanguageModel> {
  const folder = join(scratch, name);
  await saveLanguageModel(model, folder);
  const loaded = await loadLanguageModel(folder);
  assert.equal(loaded.task, 'language-model');
  assert.equal(loaded.model.modelType, model.modelType);
  assert.equal(loaded.model.vocabSize, model.vocabSize);
  mt.noGrad(() =>
    assertClose(loaded.model.forward(ids).toArray(), model.forward(ids).toArray(), 1e-6, `${name} logits`),
  );
  return loaded.model;
}

describe('the model-type registry', () => {
  it('every model_type is read by exactly one entry', () => {
    const types = MODEL_TYPES.flatMap((e) => e.modelTypes);
    assert.deepEqual(types, [...new Set(types)]);
    for (const type of types) assert.equal(MODEL_TYPES.filter((e) => e.accepts({ model_type: type })).length, 1, type);
  });

  it('saves and loads every language model through its config.json (Mamba, MoE-Mamba, Transformer)', async () => {
    const mamba = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 32, dState: 4 }), {
      generator: new mt.Generator(1),
    });
    await roundTrip(mamba, 'mamba');
    const moe = new MoEMambaLM(
      {
        mamba: mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 32, dState: 4 }),
        moe: { experts: 2, dExpert: 8, topK: 1, capacityFactor: 8, auxLossWeight: 0.01, zLossWeight: 0 },
        pattern: alternatingPattern(1),
      },
      { generator: new mt.Generator(2) },
    );
    await roundTrip(moe, 'moe-mamba');
    const transformer = new mt.TransformerLM(
      { vocabSize: 32, dModel: 16, nLayer: 2, nHead: 2, maxLength: 16 },
      { generator: new mt.Generator(3) },
    );
    const loaded = await roundTrip(transformer, 'transformer');
    assert.ok(loaded instanceof mt.TransformerLM);
    assert.equal(modelTaskOf(join(scratch, 'transformer')), 'language-model');
  });

  it('reads state-spaces original-layout folders, which have no model_type', async () => {
    const loaded = await loadModel(fixture('io/mamba-orig-f32'));
    assert.equal(loaded.task, 'language-model');
    assert.equal(loaded.task === 'language-model' && loaded.layout, 'original');
  });

  it('a folder of another task is refused by name, with the commands that take it', async () => {
    await rejectsWith(
      loadImageClassifier(fixture('mamba-tiny-hf')),
      'describes a Mamba language model',
      'not an image classifier',
      'mamba-ts generate',
    );
    await rejectsWith(loadSegmentationModel(fixture('mamba-tiny-hf')), 'not a segmentation network');
  });

  it('an unknown model_type, a config without one and a broken config get one clear error each', async () => {
    const folder = (name: string, config: string) => {
      const dir = join(scratch, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), config);
      return dir;
    };
    await rejectsWith(
      loadModel(folder('mamba2', '{"model_type": "mamba2"}')),
      'model_type "mamba2" is not supported yet',
      'mamba, moe-mamba, transformer, vim, vit, umamba, unet',
    );
    await rejectsWith(loadModel(folder('untyped', '{"hidden_size": 8}')), 'has no model_type', 'no d_model or n_layer');
    await rejectsWith(loadModel(folder('broken', '{"model_type": ')), 'not valid JSON');
    await rejectsWith(loadModel(folder('array', '[1, 2]')), 'a model config must be a JSON object');
    // Read synchronously from disk (modelTaskOf, taskMismatch): the same JSON reader as every loader.
    const deep = folder('deep', `{"model_type": "mamba", "d_model": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    assert.throws(
      () => modelTaskOf(deep),
      (e: unknown) => e instanceof mt.MambaError && /maxJsonDepth/.test(e.message),
    );
    const bom = folder('bom', '\ufeff{"model_type": "mamba"}');
    assert.throws(
      () => modelTaskOf(bom),
      (e: unknown) => e instanceof mt.MambaError && /byte order mark/.test(e.message),
    );
    await rejectsWith(loadModel(join(scratch, 'nowhere')), 'has no config.json');
    const noWeights = join(scratch, 'no-weights');
    cpSync(fixture('mamba-tiny-hf/config.json'), join(noWeights, 'config.json'));
    await rejectsWith(loadLanguageModel(noWeights), 'holds no weights');
  });
});

describe('describing a model folder', () => {
  /** The float32 values a language model's state holds after it has read `tokens` tokens of one sequence. */
  function stateValues(model: mt.LanguageModel, tokens: number): number {
    const state = model.initialState(1);
    const input = mt.fromArray(new Int32Array(tokens).fill(1), [1, tokens], { dtype: 'int32' });
    mt.noGrad(() => model.forward(input, { state }).dispose());
    const values = state.layers.flatMap((layer) => Object.values(layer)).reduce((n, t) => n + t.size, 0);
    mt.disposeState(state);
    return values;
  }

  it('counts every model type the registry reads, and states the state its language models carry', async () => {
    const mamba = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 32, dState: 4 }));
    const moe = new MoEMambaLM({
      mamba: mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 32, dState: 4 }),
      moe: { experts: 2, dExpert: 8, topK: 1, capacityFactor: 8, auxLossWeight: 0.01, zLossWeight: 0 },
      pattern: alternatingPattern(2),
    });
    const transformer = new mt.TransformerLM({ vocabSize: 32, dModel: 16, nLayer: 3, nHead: 2, maxLength: 16 });
    for (const [name, model] of [
      ['d-mamba', mamba],
      ['d-moe', moe],
      ['d-transformer', transformer],
    ] as const) {
      const folder = join(scratch, name);
      await saveLanguageModel(model, folder);
      const d = await describeModel(folder);
      assert.equal(d.task, 'language-model');
      assert.equal(d.modelType, model.modelType);
      assert.equal(d.parameters, model.numParameters(), name);
      assert.deepEqual(d.storedDtypes, { F32: model.numParameters() });
      assert.equal(d.tiedHead, true);
      const state = d.state!;
      if (state.per === 'sequence') {
        assert.equal(state.values, stateValues(model, 1), `${name}: a fixed-size state`);
        assert.equal(state.values, stateValues(model, 5), `${name}: a fixed-size state`);
      } else {
        assert.equal(state.values * 5, stateValues(model, 5), `${name}: a cache of keys and values per token`);
      }
      assert.equal(taskMismatch(folder, 'language-model'), null);
      assert.match(taskMismatch(folder, 'segmentation')!, /not a segmentation network; use it with mamba-ts generate/);
    }
    const original = await describeModel(fixture('io/mamba-orig-f32'));
    assert.equal(original.modelType, 'mamba', 'an original config has no model_type');
    assert.equal(original.layout, 'original');
    // A config asking for more layers than the weights hold is refused as loading refuses it.
    const deeper = join(scratch, 'd-transformer');
    const config = JSON.parse(readFileSync(join(deeper, 'config.json'), 'utf8')) as { nLayer: number };
    writeFileSync(join(deeper, 'config.json'), JSON.stringify({ ...config, nLayer: 30 }));
    await rejectsWith(describeModel(deeper), 'config.json', '30 layers');
  });

  it('counts a head stored beside the embedding it is tied to once', async () => {
    const folder = join(scratch, 'd-stored-head');
    cpSync(fixture('mamba-tiny-hf'), folder, { recursive: true });
    const before = await describeModel(folder);
    const { openCheckpoint, saveSafetensors } = await import('../../src/io/index.js');
    const checkpoint = await openCheckpoint(folder);
    const tensors = [];
    for (const [name, entry] of checkpoint.tensors)
      tensors.push({ name, shape: entry.shape, data: (await entry.read()) as Float32Array });
    const embedding = tensors.find((t) => t.name === 'backbone.embeddings.weight')!;
    await saveSafetensors(join(folder, 'model.safetensors'), [...tensors, { ...embedding, name: 'lm_head.weight' }]);
    const after = await describeModel(folder);
    assert.deepEqual(after.repeated, ['lm_head.weight']);
    assert.equal(after.parameters, before.parameters);
    assert.equal(after.storedDtypes['F32'], before.parameters + embedding.data.length);
  });

  it('describes image classifiers and segmentation networks without building them', async () => {
    const vit = new ViT({ imageSize: 8, patchSize: 4, channels: 3, numClasses: 2, dModel: 8, depth: 1, nHead: 2 });
    const classifier = join(scratch, 'd-vit');
    await saveVisionModel(vit, classifier, {
      classNames: ['cat', 'dog'],
      normalisation: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] },
    });
    const unet = new UNet({
      inChannels: 1,
      classes: 3,
      features: [4, 8, 16],
      convsPerStage: 1,
      deepSupervision: false,
    });
    const segmentation = join(scratch, 'd-unet');
    await saveSegmentationModel(
      unet,
      {
        network: { type: 'unet', config: unet.config },
        classNames: ['background', 'a', 'b'],
        preprocessing: { normalisation: 'zscore', scale: 0.5, divisor: unet.divisor },
        data: { kind: 'folder', path: scratch, testFraction: 0.2 },
      },
      segmentation,
    );
    const v = await describeModel(classifier);
    assert.equal(v.task, 'image-classifier');
    assert.equal(v.modelType, 'vit');
    assert.equal(v.parameters, vit.numParameters());
    assert.equal(v.state, undefined);
    assert.match(
      v.sizes,
      /^3x8x8 images, 4-pixel patches at stride 4 \(2x2\), d_model 8, depth 1, 2 heads, MLP width 32, 2 classes \(cat, dog\)$/,
    );
    const u = await describeModel(segmentation);
    assert.equal(u.task, 'segmentation');
    assert.equal(u.parameters, unet.numParameters());
    assert.match(
      u.sizes,
      /^U-Net, 1 convolutions per stage, 3 stages of 4, 8, 16 channels, 1 input channel, 3 classes \(background, a, b\); inputs zscore-normalised and scaled by 0\.5$/,
    );
    assert.match(
      taskMismatch(segmentation, 'image-classifier')!,
      /describes a segmentation network \(model_type "unet"\)/,
    );
    vit.dispose();
    unet.dispose();
  });
});
