import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as mt from '../../src/index.js';
import {
  loadImageClassifier,
  loadLanguageModel,
  loadModel,
  loadSegmentationModel,
  modelTaskOf,
  MODEL_TYPES,
  saveLanguageModel,
} from '../../src/io/index.js';
import { MoEMambaLM, alternatingPattern } from '../../src/models/moe-mamba.js';
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
    await rejectsWith(loadModel(join(scratch, 'nowhere')), 'has no config.json');
    const noWeights = join(scratch, 'no-weights');
    cpSync(fixture('mamba-tiny-hf/config.json'), join(noWeights, 'config.json'));
    await rejectsWith(loadLanguageModel(noWeights), 'holds no weights');
  });
});
