import { MambaError } from '../util/errors.js';
import type { MambaConfig } from './mamba-config.js';

/** config.json's model_type of a Mamba LM in the transformers layout. */
export const MAMBA_TYPE = 'mamba';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Typed access to one JSON object's keys with the reference's defaults; errors name the file and key. */
class Keys {
  constructor(
    private readonly json: Json,
    private readonly source: string,
    private readonly prefix = '',
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined;
  }

  fail(key: string, wanted: string): never {
    throw new MambaError(
      `${this.source}: "${this.prefix}${key}" must be ${wanted}, not ${JSON.stringify(this.json[key])}`,
    );
  }

  int(key: string, fallback: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) this.fail(key, 'a positive integer');
    return value;
  }

  positive(key: string, fallback: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) this.fail(key, 'a positive number');
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, 'true or false');
    return value;
  }

  rank(key: string, dModel: number): number {
    const value = this.json[key] ?? 'auto';
    return value === 'auto' ? Math.ceil(dModel / 16) : this.int(key, 0);
  }

  dtInit(key: string): 'random' | 'constant' {
    const value = this.json[key] ?? 'random';
    if (value !== 'random' && value !== 'constant') this.fail(key, '"random" or "constant"');
    return value;
  }

  tokenId(key: string, fallback: number | null): number | undefined {
    const value = this.json[key] === undefined ? fallback : this.json[key];
    if (value === null) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      this.fail(key, 'a token id (a non-negative integer) or null');
    return value;
  }
}

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
  if (!isObject(json)) throw new MambaError(`${source}: a model config must be a JSON object`);
  const modelType = json.model_type;
  if (modelType === MAMBA_TYPE) return parseTransformersLayout(json, source);
  if (modelType !== undefined) {
    throw new MambaError(
      `${source}: model_type ${JSON.stringify(modelType)} is not supported yet; mamba-ts loads Mamba-1 models ("mamba" configs, or state-spaces/mamba-* original configs)`,
    );
  }
  if (json.d_model === undefined && json.n_layer === undefined) {
    throw new MambaError(
      `${source}: not a Mamba config: it has no model_type (transformers layout) and no d_model or n_layer (state-spaces/mamba layout)`,
    );
  }
  return parseOriginalLayout(json, source);
}

function parseOriginalLayout(json: Json, source: string): MambaConfig {
  const top = new Keys(json, source);
  const ssmJson = json.ssm_cfg ?? {};
  if (!isObject(ssmJson))
    throw new MambaError(`${source}: "ssm_cfg" must be an object, not ${JSON.stringify(ssmJson)}`);
  const ssm = new Keys(ssmJson, source, 'ssm_cfg.');
  const layer = ssmJson.layer ?? 'Mamba1';
  if (layer !== 'Mamba1')
    throw new MambaError(
      `${source}: ssm_cfg.layer ${JSON.stringify(layer)} is not supported yet; mamba-ts runs Mamba1 layers`,
    );
  for (const key of Object.keys(ssmJson)) {
    if (!SSM_CFG_KEYS.has(key))
      throw new MambaError(
        `${source}: ssm_cfg.${key} is not an option of the Mamba-1 mixer (mamba_ssm would refuse it too)`,
      );
  }
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
  const dModel = top.int('d_model', 2560);
  const expand = ssm.positive('expand', 2);
  const multiple = top.int('pad_vocab_size_multiple', 8);
  const vocab = top.int('vocab_size', 50277);
  return {
    dModel,
    nLayer: top.int('n_layer', 64),
    vocabSize: vocab % multiple === 0 ? vocab : vocab + multiple - (vocab % multiple),
    vocabLimit: vocab,
    dState: ssm.int('d_state', 16),
    dConv: ssm.int('d_conv', 4),
    expand,
    dInner: innerSize(expand, dModel, source),
    dtRank: ssm.rank('dt_rank', dModel),
    dtMin: ssm.positive('dt_min', 0.001),
    dtMax: ssm.positive('dt_max', 0.1),
    dtInit: ssm.dtInit('dt_init'),
    dtScale: ssm.positive('dt_scale', 1.0),
    dtInitFloor: ssm.positive('dt_init_floor', 1e-4),
    convBias: ssm.bool('conv_bias', true),
    bias: ssm.bool('bias', false),
    layerNormEpsilon: 1e-5,
    residualInFp32: top.bool('residual_in_fp32', true),
    tieEmbeddings: top.bool('tie_embeddings', true),
    padVocabSizeMultiple: multiple,
  };
}

function parseTransformersLayout(json: Json, source: string): MambaConfig {
  const keys = new Keys(json, source);
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu')
    throw new MambaError(`${source}: hidden_act ${JSON.stringify(act)} is not supported yet; Mamba uses "silu"`);
  // transformers' MambaConfig defaults.
  const dModel = keys.int('hidden_size', 768);
  const expand = keys.positive('expand', 2);
  // transformers' vocab_size counts the padded rows, so every row is a token here.
  const vocabSize = keys.int('vocab_size', 50280);
  const config: MambaConfig = {
    dModel,
    nLayer: keys.int('num_hidden_layers', 32),
    vocabSize,
    vocabLimit: vocabSize,
    dState: keys.int('state_size', 16),
    dConv: keys.int('conv_kernel', 4),
    expand,
    dInner: innerSize(expand, dModel, source),
    dtRank: keys.rank('time_step_rank', dModel),
    dtMin: keys.positive('time_step_min', 0.001),
    dtMax: keys.positive('time_step_max', 0.1),
    dtInit: keys.dtInit('time_step_init_scheme'),
    dtScale: keys.positive('time_step_scale', 1.0),
    dtInitFloor: keys.positive('time_step_floor', 1e-4),
    convBias: keys.bool('use_conv_bias', true),
    bias: keys.bool('use_bias', false),
    layerNormEpsilon: keys.positive('layer_norm_epsilon', 1e-5),
    residualInFp32: keys.bool('residual_in_fp32', true),
    tieEmbeddings: keys.bool('tie_word_embeddings', true),
    padVocabSizeMultiple: keys.int('pad_vocab_size_multiple', 8),
  };
  const bos = keys.tokenId('bos_token_id', 0);
  const eos = keys.tokenId('eos_token_id', 0);
  const pad = keys.tokenId('pad_token_id', 0);
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

/** Every parameter name the config implies, with its shape, except the embedding and lm_head. */
export function expectedParameters(config: MambaConfig): Map<string, number[]> {
  const { dModel, dInner, dState, dConv, dtRank } = config;
  const expected = new Map<string, number[]>();
  for (let i = 0; i < config.nLayer; i++) {
    const m = `backbone.layers.${i}.mixer.`;
    expected.set(`${m}in_proj.weight`, [2 * dInner, dModel]);
    if (config.bias) expected.set(`${m}in_proj.bias`, [2 * dInner]);
    expected.set(`${m}conv1d.weight`, [dInner, 1, dConv]);
    if (config.convBias) expected.set(`${m}conv1d.bias`, [dInner]);
    expected.set(`${m}x_proj.weight`, [dtRank + 2 * dState, dInner]);
    expected.set(`${m}dt_proj.weight`, [dInner, dtRank]);
    expected.set(`${m}dt_proj.bias`, [dInner]);
    expected.set(`${m}A_log`, [dInner, dState]);
    expected.set(`${m}D`, [dInner]);
    expected.set(`${m}out_proj.weight`, [dModel, dInner]);
    if (config.bias) expected.set(`${m}out_proj.bias`, [dModel]);
    expected.set(`backbone.layers.${i}.norm.weight`, [dModel]);
  }
  expected.set('backbone.norm_f.weight', [dModel]);
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
