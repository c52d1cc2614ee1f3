import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  checkConfigAgainstWeights,
  openCheckpoint,
  parseMambaConfig,
  readMambaConfig,
  toTransformersConfig,
  transformersConfigJson,
  type MambaConfig,
} from '../../src/io/index.js';
import { MambaError } from '../../src/util/errors.js';

const fixture = (path: string): string => fileURLToPath(new URL(`../../../test/fixtures/${path}`, import.meta.url));

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
    for (const part of parts)
      assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
    return true;
  });
}

// Verbatim from docs/mamba-spec.md §1.8.
const MAMBA_130M_HF = {
  architectures: ['MambaForCausalLM'],
  model_type: 'mamba',
  bos_token_id: 0,
  eos_token_id: 0,
  pad_token_id: 0,
  conv_kernel: 4,
  d_inner: 1536,
  d_model: 768,
  expand: 2,
  fused_add_norm: true,
  hidden_act: 'silu',
  hidden_size: 768,
  initializer_range: 0.1,
  intermediate_size: 1536,
  layer_norm_epsilon: 1e-5,
  n_layer: 24,
  num_hidden_layers: 24,
  pad_vocab_size_multiple: 8,
  rescale_prenorm_residual: false,
  residual_in_fp32: true,
  rms_norm: true,
  ssm_cfg: {},
  state_size: 16,
  time_step_floor: 0.0001,
  time_step_init_scheme: 'random',
  time_step_max: 0.1,
  time_step_min: 0.001,
  time_step_rank: 48,
  time_step_scale: 1.0,
  torch_dtype: 'float32',
  use_bias: false,
  use_cache: true,
  use_conv_bias: true,
  vocab_size: 50280,
};
const MAMBA_130M = {
  d_model: 768,
  n_layer: 24,
  vocab_size: 50277,
  ssm_cfg: {},
  rms_norm: true,
  residual_in_fp32: true,
  fused_add_norm: true,
  pad_vocab_size_multiple: 8,
};

const MAMBA_130M_CONFIG: MambaConfig = {
  dModel: 768,
  nLayer: 24,
  vocabSize: 50280,
  vocabLimit: 50277,
  dState: 16,
  dConv: 4,
  expand: 2,
  dInner: 1536,
  dtRank: 48,
  dtMin: 0.001,
  dtMax: 0.1,
  dtInit: 'random',
  dtScale: 1,
  dtInitFloor: 1e-4,
  convBias: true,
  bias: false,
  layerNormEpsilon: 1e-5,
  residualInFp32: true,
  tieEmbeddings: true,
  padVocabSizeMultiple: 8,
};

describe('config.json of both published layouts', () => {
  it('parses the transformers layout (mamba-130m-hf)', () => {
    assert.deepEqual(parseMambaConfig(MAMBA_130M_HF, 'config.json'), {
      ...MAMBA_130M_CONFIG,
      // transformers' vocab_size is the padded one: every row counts as a token.
      vocabLimit: 50280,
      bosTokenId: 0,
      eosTokenId: 0,
      padTokenId: 0,
    });
  });

  it('parses the original layout (mamba-130m) with mamba_ssm defaults, dt_rank auto and the vocab padded', () => {
    assert.deepEqual(parseMambaConfig(MAMBA_130M, 'config.json'), MAMBA_130M_CONFIG);
  });

  it('parses the golden tiny checkpoint config from its folder', async () => {
    const config = await readMambaConfig(fixture('mamba-tiny-hf'));
    assert.equal(config.dModel, 32);
    assert.equal(config.nLayer, 2);
    assert.equal(config.vocabSize, 96);
    assert.equal(config.dInner, 64);
    assert.equal(config.dtRank, 2);
    assert.equal(config.dState, 16);
    assert.equal(config.tieEmbeddings, true);
  });

  it('resolves dt_rank "auto" to ceil(d_model / 16) and reads an explicit one', () => {
    for (const [dModel, rank] of [
      [2560, 160],
      [1000, 63],
      [8, 1],
    ]) {
      assert.equal(parseMambaConfig({ d_model: dModel, n_layer: 1 }, 'c').dtRank, rank);
      assert.equal(
        parseMambaConfig({ model_type: 'mamba', hidden_size: dModel, time_step_rank: 'auto' }, 'c').dtRank,
        rank,
      );
    }
    assert.equal(
      parseMambaConfig({ d_model: 64, n_layer: 1, ssm_cfg: { dt_rank: 7, d_state: 8, expand: 1.5 } }, 'c').dtRank,
      7,
    );
    assert.equal(parseMambaConfig({ d_model: 64, n_layer: 1, ssm_cfg: { expand: 1.5 } }, 'c').dInner, 96);
  });

  it('pads the original layout vocab up to pad_vocab_size_multiple, and takes the transformers one as written', () => {
    const vocab = (json: object) => parseMambaConfig(json, 'c').vocabSize;
    assert.equal(vocab({ d_model: 8, vocab_size: 50277 }), 50280);
    assert.equal(vocab({ d_model: 8, vocab_size: 50280 }), 50280);
    assert.equal(vocab({ d_model: 8, vocab_size: 50277, pad_vocab_size_multiple: 16 }), 50288);
    assert.equal(vocab({ d_model: 8, vocab_size: 50277, pad_vocab_size_multiple: 1 }), 50277);
    assert.equal(vocab({ d_model: 8 }), 50280);
    assert.equal(vocab({ model_type: 'mamba', vocab_size: 50277 }), 50277);
    const limit = (json: object) => parseMambaConfig(json, 'c').vocabLimit;
    assert.equal(limit({ d_model: 8, vocab_size: 250 }), 250);
    assert.equal(limit({ model_type: 'mamba', vocab_size: 256 }), 256);
  });

  it('refuses configs it cannot run, or that are not Mamba configs, naming the file', () => {
    throwsWith(
      () => parseMambaConfig({ model_type: 'mamba2', hidden_size: 768 }, 'x/config.json'),
      'x/config.json',
      '"mamba2"',
      'not supported yet',
    );
    throwsWith(
      () => parseMambaConfig({ ...MAMBA_130M, ssm_cfg: { layer: 'Mamba2' } }, 'x/config.json'),
      'x/config.json',
      'ssm_cfg.layer "Mamba2"',
      'not supported yet',
    );
    throwsWith(() => parseMambaConfig({ ...MAMBA_130M, attn_layer_idx: [3] }, 'c'), 'attention', 'not supported yet');
    throwsWith(() => parseMambaConfig({ ...MAMBA_130M, d_intermediate: 128 }, 'c'), 'MLP', 'not supported yet');
    throwsWith(() => parseMambaConfig({ ...MAMBA_130M, rms_norm: false }, 'c'), 'LayerNorm', 'not supported yet');
    throwsWith(() => parseMambaConfig({ ...MAMBA_130M_HF, hidden_act: 'gelu' }, 'c'), '"gelu"', 'not supported yet');
    throwsWith(() => parseMambaConfig({ vocab_size: 10 }, 'x/config.json'), 'x/config.json', 'not a Mamba config');
    throwsWith(() => parseMambaConfig([1], 'x/config.json'), 'x/config.json', 'JSON object');
    throwsWith(() => parseMambaConfig({ ...MAMBA_130M, ssm_cfg: { bimamba_type: 'v2' } }, 'c'), 'ssm_cfg.bimamba_type');
  });

  it('refuses sizes that are not positive integers and settings of the wrong type', () => {
    throwsWith(
      () => parseMambaConfig({ ...MAMBA_130M, d_model: 768.5 }, 'x/config.json'),
      'x/config.json',
      'd_model must be an integer in [1, 65536], got 768.5',
    );
    throwsWith(
      () => parseMambaConfig({ ...MAMBA_130M_HF, hidden_size: '768' }, 'c'),
      'hidden_size must be an integer in [1, 65536], got "768"',
    );
    throwsWith(
      () => parseMambaConfig({ ...MAMBA_130M, ssm_cfg: { d_state: 0 } }, 'c'),
      'ssm_cfg.d_state must be an integer in [1, 1024], got 0',
    );
    throwsWith(
      () => parseMambaConfig({ ...MAMBA_130M, ssm_cfg: { dt_init: 'xavier' } }, 'c'),
      'ssm_cfg.dt_init must be one of "random", "constant"',
    );
    throwsWith(() => parseMambaConfig({ ...MAMBA_130M_HF, use_bias: 'no' }, 'c'), 'use_bias must be true or false');
    throwsWith(
      () => parseMambaConfig({ ...MAMBA_130M_HF, eos_token_id: [0, 1] }, 'c'),
      'eos_token_id must be an integer',
    );
    throwsWith(
      () => parseMambaConfig({ ...MAMBA_130M_HF, intermediate_size: 2048 }, 'c'),
      'intermediate_size is 2048',
      '1536',
    );
    throwsWith(() => parseMambaConfig({ ...MAMBA_130M_HF, d_model: 1024 }, 'c'), 'd_model is 1024', '768');
  });

  it('writes the transformers layout exactly as state-spaces/mamba-130m-hf publishes it', () => {
    const fromHf = toTransformersConfig(parseMambaConfig(MAMBA_130M_HF, 'c'));
    for (const [key, value] of Object.entries(MAMBA_130M_HF)) assert.deepEqual(fromHf[key], value, key);
    assert.deepEqual(
      Object.keys(fromHf).filter((k) => !(k in MAMBA_130M_HF)),
      ['tie_word_embeddings'],
    );
    // The original layout converts to the same file, bar the token ids it does not have.
    const fromOriginal = toTransformersConfig(parseMambaConfig(MAMBA_130M, 'c'));
    for (const [key, value] of Object.entries(MAMBA_130M_HF)) {
      if (!key.endsWith('_token_id')) assert.deepEqual(fromOriginal[key], value, key);
    }
  });

  it('round-trips through config.json text, with floats written as transformers types them', () => {
    for (const json of [MAMBA_130M_HF, JSON.parse(readFileSync(fixture('mamba-tiny-hf/config.json'), 'utf8'))]) {
      const config = parseMambaConfig(json, 'c');
      const text = transformersConfigJson(config);
      assert.match(text, /"time_step_scale": 1\.0,/);
      assert.deepEqual(parseMambaConfig(JSON.parse(text), 'c'), config);
    }
    assert.doesNotMatch(transformersConfigJson(parseMambaConfig(MAMBA_130M, 'c')), /token_id/);
  });
});

describe('checkConfigAgainstWeights', () => {
  it('accepts both published layouts and says which one it saw', async () => {
    const hf = await openCheckpoint(fixture('mamba-tiny-hf'));
    assert.deepEqual(
      checkConfigAgainstWeights(await readMambaConfig(fixture('mamba-tiny-hf')), hf.tensors, hf.source),
      {
        layout: 'transformers',
        embedding: 'backbone.embeddings.weight',
      },
    );
    const original = await openCheckpoint(fixture('io/mamba-orig-f32'));
    assert.deepEqual(
      checkConfigAgainstWeights(await readMambaConfig(fixture('io/mamba-orig-f32')), original.tensors, original.source),
      {
        layout: 'original',
        embedding: 'backbone.embedding.weight',
        lmHead: 'lm_head.weight',
      },
    );
  });

  it('lists every missing, unexpected and misshapen tensor in one error naming the checkpoint', async () => {
    const { tensors, source } = await openCheckpoint(fixture('mamba-tiny-hf'));
    const config = await readMambaConfig(fixture('mamba-tiny-hf'));
    const shapes = new Map([...tensors].map(([name, entry]) => [name, { shape: entry.shape }]));
    shapes.delete('backbone.layers.1.mixer.D');
    shapes.set('backbone.layers.2.mixer.D', { shape: [64] });
    shapes.set('backbone.layers.0.mixer.x_proj.weight', { shape: [32, 64] });
    throwsWith(
      () => checkConfigAgainstWeights(config, shapes, source),
      source,
      'missing backbone.layers.1.mixer.D [64]',
      'unexpected backbone.layers.2.mixer.D [64]',
      'backbone.layers.0.mixer.x_proj.weight has shape [32, 64] but the config implies [34, 64]',
    );
    // A config from another model: every layer's tensors disagree, and all are listed.
    const wrong = { ...config, dState: 8, nLayer: 3, bias: true, tieEmbeddings: false };
    assert.throws(
      () => checkConfigAgainstWeights(wrong, tensors, source),
      (error: Error) => {
        for (const layer of [0, 1]) {
          assert.match(
            error.message,
            new RegExp(
              `backbone\\.layers\\.${layer}\\.mixer\\.A_log has shape \\[64, 16\\] but the config implies \\[64, 8\\]`,
            ),
          );
          assert.match(
            error.message,
            new RegExp(`missing backbone\\.layers\\.${layer}\\.mixer\\.in_proj\\.bias \\[128\\]`),
          );
        }
        assert.match(error.message, /missing backbone\.layers\.2\.norm\.weight/);
        assert.match(error.message, /missing lm_head\.weight \[96, 32\]/);
        return true;
      },
    );
  });

  it('notices a checkpoint with no embedding, or with both namings', () => {
    const config = parseMambaConfig({ d_model: 16, n_layer: 1, vocab_size: 8 }, 'c');
    throwsWith(
      () => checkConfigAgainstWeights(config, new Map(), 'ckpt'),
      'ckpt',
      'missing backbone.embedding.weight (original layout) or backbone.embeddings.weight',
    );
    const both = new Map([
      ['backbone.embedding.weight', { shape: [8, 16] }],
      ['backbone.embeddings.weight', { shape: [8, 16] }],
    ]);
    throwsWith(
      () => checkConfigAgainstWeights(config, both, 'ckpt'),
      'both backbone.embedding.weight and backbone.embeddings.weight',
    );
  });
});
