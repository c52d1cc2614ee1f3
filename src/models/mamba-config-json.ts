import { MambaError } from '../util/errors.js';
import { Fields, range } from '../util/schema.js';
import { CONV_KERNEL, DEPTH, EPSILON, MULTIPLIER, STATE_SIZE, STEP, TOKEN_ID, VOCAB, WIDTH } from './config-limits.js';
import type { MambaConfig } from './mamba-config.js';

/** config.json's model_type of a Mamba LM in the transformers layout. */
export const MAMBA_TYPE = 'mamba';

/** The step-size rank: "auto" (ceil(d_model / 16), the references' default) or a width. */
function stepRank(f: Fields, key: string, dModel: number): number {
  return (f.raw(key) ?? 'auto') === 'auto' ? Math.ceil(dModel / 16) : f.int(key, WIDTH);
}

/** A special token's id: absent takes transformers' default 0, null means the model has none. */
function tokenId(f: Fields, key: string): number | undefined {
  return f.raw(key) === null ? undefined : f.int(key, TOKEN_ID, 0);
}

const DT_INIT = ['random', 'constant'] as const;

/** The keyword arguments mamba_ssm's Mamba-1 mixer takes, plus `layer` (which mixer) and `use_fast_path` (a CUDA switch). */
const SSM_CFG_KEYS = new Set([
  'd_state',
  'd_conv',
  'expand',
  'dt_rank',
  'dt_min',
  'dt_max',
  'dt_init',
  'dt_scale',
  'dt_init_floor',
  'conv_bias',
  'bias',
  'use_fast_path',
  'layer',
]);

/**
 * Parses a config.json of either published layout into one MambaConfig, with each reference's
 * defaults for absent keys. `source` names the file in errors. Variants mamba-ts cannot run yet
 * (Mamba-2 layers, attention or MLP layers, LayerNorm instead of RMSNorm, other activations,
 * other model types) are refused with a MambaError that says so.
 */
export function parseMambaConfig(json: unknown, source: string): MambaConfig {
  const f = Fields.of(json, source, 'a model config');
  const modelType = f.raw('model_type');
  if (modelType === MAMBA_TYPE) return parseTransformersLayout(f);
  if (modelType !== undefined) {
    throw new MambaError(
      `${source}: model_type ${JSON.stringify(modelType)} is not supported yet; mamba-ts loads Mamba-1 models ("mamba" configs, or state-spaces/mamba-* original configs)`,
    );
  }
  if (!f.has('d_model') && !f.has('n_layer')) {
    throw new MambaError(
      `${source}: not a Mamba config: it has no model_type (transformers layout) and no d_model or n_layer (state-spaces/mamba layout)`,
    );
  }
  return parseOriginalLayout(f);
}

/** The step-size settings both layouts share under their own names; dt_min <= dt_max. */
function stepSizes(f: Fields, keys: { min: string; max: string; init: string; scale: string; floor: string }) {
  const dtMin = f.number(keys.min, STEP, 0.001);
  const dtMax = f.number(keys.max, STEP, 0.1);
  f.ordered(keys.min, dtMin, keys.max, dtMax);
  return {
    dtMin,
    dtMax,
    dtInit: f.choice(keys.init, DT_INIT, 'random'),
    dtScale: f.number(keys.scale, STEP, 1.0),
    dtInitFloor: f.number(keys.floor, STEP, 1e-4),
  };
}

function parseOriginalLayout(top: Fields): MambaConfig {
  const { source } = top;
  const ssm = top.object('ssm_cfg', true);
  const layer = ssm.raw('layer') ?? 'Mamba1';
  if (layer !== 'Mamba1')
    throw new MambaError(
      `${source}: ssm_cfg.layer ${JSON.stringify(layer)} is not supported yet; mamba-ts runs Mamba1 layers`,
    );
  for (const key of Object.keys(ssm.json)) {
    if (!SSM_CFG_KEYS.has(key))
      throw new MambaError(
        `${source}: ssm_cfg.${key} is not an option of the Mamba-1 mixer (mamba_ssm would refuse it too)`,
      );
  }
  const json = top.json;
  if ((json.d_intermediate ?? 0) !== 0)
    throw new MambaError(
      `${source}: d_intermediate ${JSON.stringify(json.d_intermediate)} adds MLP layers, which are not supported yet`,
    );
  const attention = json.attn_layer_idx ?? [];
  if (!Array.isArray(attention) || attention.length > 0)
    throw new MambaError(
      `${source}: attn_layer_idx ${JSON.stringify(attention)} makes a hybrid with attention layers, which is not supported yet`,
    );
  if (!top.bool('rms_norm', true))
    throw new MambaError(`${source}: rms_norm false (LayerNorm blocks) is not supported yet`);

  // mamba_ssm's MambaConfig and Mamba.__init__ defaults.
  const dModel = top.int('d_model', WIDTH, 2560);
  const expand = ssm.number('expand', MULTIPLIER, 2);
  const multiple = top.int('pad_vocab_size_multiple', WIDTH, 8);
  const vocab = top.int('vocab_size', VOCAB, 50277);
  return {
    dModel,
    nLayer: top.int('n_layer', DEPTH, 64),
    vocabSize: vocab % multiple === 0 ? vocab : vocab + multiple - (vocab % multiple),
    vocabLimit: vocab,
    dState: ssm.int('d_state', STATE_SIZE, 16),
    dConv: ssm.int('d_conv', CONV_KERNEL, 4),
    expand,
    dInner: innerSize(expand, dModel, source),
    dtRank: stepRank(ssm, 'dt_rank', dModel),
    ...stepSizes(ssm, { min: 'dt_min', max: 'dt_max', init: 'dt_init', scale: 'dt_scale', floor: 'dt_init_floor' }),
    convBias: ssm.bool('conv_bias', true),
    bias: ssm.bool('bias', false),
    layerNormEpsilon: 1e-5,
    residualInFp32: top.bool('residual_in_fp32', true),
    tieEmbeddings: top.bool('tie_embeddings', true),
    padVocabSizeMultiple: multiple,
  };
}

function parseTransformersLayout(keys: Fields): MambaConfig {
  const { source, json } = keys;
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu')
    throw new MambaError(`${source}: hidden_act ${JSON.stringify(act)} is not supported yet; Mamba uses "silu"`);
  // transformers' MambaConfig defaults.
  const dModel = keys.int('hidden_size', WIDTH, 768);
  const expand = keys.number('expand', MULTIPLIER, 2);
  // transformers' vocab_size counts the padded rows, so every row is a token here.
  const vocabSize = keys.int('vocab_size', VOCAB, 50280);
  const config: MambaConfig = {
    dModel,
    nLayer: keys.int('num_hidden_layers', DEPTH, 32),
    vocabSize,
    vocabLimit: vocabSize,
    dState: keys.int('state_size', STATE_SIZE, 16),
    dConv: keys.int('conv_kernel', CONV_KERNEL, 4),
    expand,
    dInner: innerSize(expand, dModel, source),
    dtRank: stepRank(keys, 'time_step_rank', dModel),
    ...stepSizes(keys, {
      min: 'time_step_min',
      max: 'time_step_max',
      init: 'time_step_init_scheme',
      scale: 'time_step_scale',
      floor: 'time_step_floor',
    }),
    convBias: keys.bool('use_conv_bias', true),
    bias: keys.bool('use_bias', false),
    layerNormEpsilon: keys.number('layer_norm_epsilon', EPSILON, 1e-5),
    residualInFp32: keys.bool('residual_in_fp32', true),
    tieEmbeddings: keys.bool('tie_word_embeddings', true),
    padVocabSizeMultiple: keys.int('pad_vocab_size_multiple', WIDTH, 8),
  };
  const bos = tokenId(keys, 'bos_token_id');
  const eos = tokenId(keys, 'eos_token_id');
  const pad = tokenId(keys, 'pad_token_id');
  if (bos !== undefined) config.bosTokenId = bos;
  if (eos !== undefined) config.eosTokenId = eos;
  if (pad !== undefined) config.padTokenId = pad;
  // transformers recomputes intermediate_size and ignores the mamba_ssm-style copies of the sizes
  // that published -hf configs also carry; a file where they disagree is not what it claims.
  for (const [key, value] of [
    ['intermediate_size', config.dInner],
    ['d_inner', config.dInner],
    ['d_model', config.dModel],
    ['n_layer', config.nLayer],
  ] as const) {
    if (keys.has(key) && json[key] !== value) {
      throw new MambaError(
        `${source}: ${key} is ${JSON.stringify(json[key])} but the transformers keys make it ${value}; fix the config so the two agree`,
      );
    }
  }
  return config;
}

/**
 * A MambaConfig as mamba-ts writes it inside another model's config.json (MoE-Mamba's "mamba"):
 * the interface's own camelCase keys, every size bounded. Folders written before the vocabulary
 * limit was recorded have none: every row is a token.
 */
export function mambaConfigFromFields(m: Fields): MambaConfig {
  const vocabSize = m.int('vocabSize', VOCAB);
  const config: MambaConfig = {
    dModel: m.int('dModel', WIDTH),
    nLayer: m.int('nLayer', DEPTH),
    vocabSize,
    vocabLimit: m.int('vocabLimit', range(1, vocabSize), vocabSize),
    dState: m.int('dState', STATE_SIZE),
    dConv: m.int('dConv', CONV_KERNEL),
    expand: m.number('expand', MULTIPLIER),
    dInner: m.int('dInner', WIDTH),
    dtRank: m.int('dtRank', WIDTH),
    ...stepSizes(m, { min: 'dtMin', max: 'dtMax', init: 'dtInit', scale: 'dtScale', floor: 'dtInitFloor' }),
    convBias: m.bool('convBias'),
    bias: m.bool('bias'),
    layerNormEpsilon: m.number('layerNormEpsilon', EPSILON),
    residualInFp32: m.bool('residualInFp32'),
    tieEmbeddings: m.bool('tieEmbeddings'),
    padVocabSizeMultiple: m.int('padVocabSizeMultiple', WIDTH),
  };
  for (const key of ['bosTokenId', 'eosTokenId', 'padTokenId'] as const)
    if (m.has(key)) config[key] = m.int(key, TOKEN_ID);
  return config;
}

function innerSize(expand: number, dModel: number, source: string): number {
  const dInner = Math.floor(expand * dModel);
  if (dInner < 1) throw new MambaError(`${source}: expand ${expand} times d_model ${dModel} leaves no inner channels`);
  return dInner;
}

/**
 * The config.json of the transformers layout (as state-spaces/mamba-*-hf publish it, with both
 * the transformers keys and the mamba_ssm-style copies), so that MambaForCausalLM.from_pretrained
 * loads a folder holding it and our saved model.safetensors. Keys in the published file's order;
 * token ids the config does not have are left undefined (transformers then uses 0). Write it with
 * transformersConfigJson, not JSON.stringify.
 */
export function toTransformersConfig(
  config: MambaConfig,
  options: { torchDtype?: 'float32' | 'float16' | 'bfloat16' } = {},
): Record<string, unknown> {
  return {
    architectures: ['MambaForCausalLM'],
    bos_token_id: config.bosTokenId,
    conv_kernel: config.dConv,
    d_inner: config.dInner,
    d_model: config.dModel,
    eos_token_id: config.eosTokenId,
    expand: config.expand,
    fused_add_norm: true,
    hidden_act: 'silu',
    hidden_size: config.dModel,
    initializer_range: 0.1,
    intermediate_size: config.dInner,
    layer_norm_epsilon: config.layerNormEpsilon,
    model_type: MAMBA_TYPE,
    n_layer: config.nLayer,
    num_hidden_layers: config.nLayer,
    pad_token_id: config.padTokenId,
    pad_vocab_size_multiple: config.padVocabSizeMultiple,
    rescale_prenorm_residual: false,
    residual_in_fp32: config.residualInFp32,
    rms_norm: true,
    ssm_cfg: {},
    state_size: config.dState,
    tie_word_embeddings: config.tieEmbeddings,
    time_step_floor: config.dtInitFloor,
    time_step_init_scheme: config.dtInit,
    time_step_max: config.dtMax,
    time_step_min: config.dtMin,
    time_step_rank: config.dtRank,
    time_step_scale: config.dtScale,
    torch_dtype: options.torchDtype ?? 'float32',
    use_bias: config.bias,
    use_cache: true,
    use_conv_bias: config.convBias,
    vocab_size: config.vocabSize,
  };
}

/** The keys transformers types as float: its config validation refuses `1` where it wants `1.0`. */
const FLOAT_KEYS = new Set([
  'initializer_range',
  'layer_norm_epsilon',
  'time_step_floor',
  'time_step_max',
  'time_step_min',
  'time_step_scale',
]);

/**
 * toTransformersConfig as the text of a config.json. JSON.stringify writes the float 1.0 as `1`,
 * which transformers' config validation rejects for a float field, so those are written as floats.
 */
export function transformersConfigJson(
  config: MambaConfig,
  options: { torchDtype?: 'float32' | 'float16' | 'bfloat16' } = {},
): string {
  const lines = Object.entries(toTransformersConfig(config, options))
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const isWholeFloat = FLOAT_KEYS.has(key) && Number.isInteger(value) && Math.abs(value as number) < 1e21;
      return `  ${JSON.stringify(key)}: ${isWholeFloat ? `${value}.0` : JSON.stringify(value)}`;
    });
  return `{\n${lines.join(',\n')}\n}\n`;
}

/** Which naming a checkpoint's weights use, found by checkConfigAgainstWeights. */
export interface WeightLayout {
  readonly layout: 'original' | 'transformers';
  /** `backbone.embedding.weight` (original) or `backbone.embeddings.weight` (transformers). */
  readonly embedding: string;
  /** `lm_head.weight` when the checkpoint stores it; absent when the head is tied and not stored. */
  readonly lmHead?: string;
}

/** The parameters of one Mamba mixer under `prefix` (`backbone.layers.0.mixer.`), with their shapes. */
export function mixerParameters(
  prefix: string,
  config: Pick<MambaConfig, 'dModel' | 'dInner' | 'dState' | 'dConv' | 'dtRank' | 'bias' | 'convBias'>,
): [string, number[]][] {
  const { dModel, dInner, dState, dConv, dtRank } = config;
  const m = prefix;
  return [
    [`${m}in_proj.weight`, [2 * dInner, dModel]],
    ...(config.bias ? [[`${m}in_proj.bias`, [2 * dInner]] as [string, number[]]] : []),
    [`${m}conv1d.weight`, [dInner, 1, dConv]],
    ...(config.convBias ? [[`${m}conv1d.bias`, [dInner]] as [string, number[]]] : []),
    [`${m}x_proj.weight`, [dtRank + 2 * dState, dInner]],
    [`${m}dt_proj.weight`, [dInner, dtRank]],
    [`${m}dt_proj.bias`, [dInner]],
    [`${m}A_log`, [dInner, dState]],
    [`${m}D`, [dInner]],
    [`${m}out_proj.weight`, [dModel, dInner]],
    ...(config.bias ? [[`${m}out_proj.bias`, [dModel]] as [string, number[]]] : []),
  ];
}

/** Every parameter name the config implies, with its shape, except the embedding and lm_head. */
export function expectedParameters(config: MambaConfig): Map<string, number[]> {
  const expected = new Map<string, number[]>();
  for (let i = 0; i < config.nLayer; i++) {
    for (const [name, shape] of mixerParameters(`backbone.layers.${i}.mixer.`, config)) expected.set(name, shape);
    expected.set(`backbone.layers.${i}.norm.weight`, [config.dModel]);
  }
  expected.set('backbone.norm_f.weight', [config.dModel]);
  return expected;
}

/**
 * Checks that the weights are exactly those the config implies, in either naming, and says which
 * naming they use. Every disagreement (missing tensor, unexpected tensor, wrong shape) goes into
 * one MambaError, which names `source` (the checkpoint) so a wrong config or a wrong download is
 * plain at once.
 */
export function checkConfigAgainstWeights(
  config: MambaConfig,
  tensors: ReadonlyMap<string, { readonly shape: readonly number[] }>,
  source: string,
): WeightLayout {
  const ORIGINAL = 'backbone.embedding.weight';
  const TRANSFORMERS = 'backbone.embeddings.weight';
  const problems: string[] = [];
  const expected = expectedParameters(config);
  const vocabShape = [config.vocabSize, config.dModel];
  const layout = tensors.has(TRANSFORMERS) && !tensors.has(ORIGINAL) ? 'transformers' : 'original';
  const embedding = layout === 'original' ? ORIGINAL : TRANSFORMERS;
  if (tensors.has(ORIGINAL) && tensors.has(TRANSFORMERS)) {
    problems.push(`both ${ORIGINAL} and ${TRANSFORMERS} are present; a checkpoint has one or the other`);
  } else if (!tensors.has(embedding)) {
    problems.push(
      `missing ${ORIGINAL} (original layout) or ${TRANSFORMERS} (transformers layout) [${vocabShape.join(', ')}]`,
    );
  } else {
    expected.set(embedding, vocabShape);
  }
  const hasHead = tensors.has('lm_head.weight');
  if (hasHead || !config.tieEmbeddings) expected.set('lm_head.weight', vocabShape);

  for (const [name, shape] of expected) {
    const entry = tensors.get(name);
    if (!entry) problems.push(`missing ${name} [${shape.join(', ')}]`);
    else if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} has shape [${entry.shape.join(', ')}] but the config implies [${shape.join(', ')}]`);
    }
  }
  for (const [name, entry] of tensors) {
    if (!expected.has(name) && name !== ORIGINAL && name !== TRANSFORMERS)
      problems.push(`unexpected ${name} [${entry.shape.join(', ')}]`);
  }
  if (problems.length > 0) {
    const summary = `d_model ${config.dModel}, n_layer ${config.nLayer}, vocab ${config.vocabSize}, d_state ${config.dState}, d_conv ${config.dConv}, d_inner ${config.dInner}, dt_rank ${config.dtRank}`;
    throw new MambaError(
      `${source}: the weights do not match the config (${summary}); is the config from another model, or the download incomplete?\n  - ${problems.join('\n  - ')}`,
    );
  }
  return hasHead ? { layout, embedding, lmHead: 'lm_head.weight' } : { layout, embedding };
}
