import { Embedding, Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import { RMSNorm } from '../nn/norm.js';
import { defaultBound, isInitialising, normal, uniform, type InitOptions } from '../nn/init.js';
import { add } from '../ops/elementwise.js';
import { linear } from '../ops/matmul.js';
import { slice } from '../ops/view.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaMixer, type MambaLayerState } from '../ssm/mamba-mixer.js';
import { checkMoEConfig, SwitchMoE, type MoEConfig, type MoEStats } from '../ssm/switch-moe.js';
import { MambaError } from '../util/errors.js';
import type { MambaConfig } from './mamba-config.js';
import { mambaConfigFromFields } from './mamba-config-json.js';
import { DEPTH, EXPERTS, LOSS_WEIGHT, MULTIPLIER, WIDTH } from './config-limits.js';
import { Fields, range } from '../util/schema.js';
import { advanceLengths, type LanguageModel, type LMForwardOptions } from './language-model.js';
import { preNormStack } from './residual.js';

export const MOE_MAMBA_TYPE = 'moe-mamba';

export const LAYER_KINDS = ['mamba', 'moe'] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

/** A MoE-Mamba: the Mamba settings, the MoE settings and which layer is which. */
export interface MoEMambaConfig {
  mamba: MambaConfig;
  moe: MoEConfig;
  /** One entry per layer; MoE-Mamba alternates, starting with a Mamba layer. */
  pattern: LayerKind[];
}

/** The paper's interleaving: Mamba, MoE, Mamba, MoE, ... for `pairs` pairs. */
export function alternatingPattern(pairs: number): LayerKind[] {
  return Array.from({ length: 2 * pairs }, (_, i) => (i % 2 === 0 ? 'mamba' : 'moe'));
}

/** A MoE-Mamba config from its config.json (written by MoEMambaLM.configJson); `source` names the file in errors. */
export function moeMambaConfigFromJson(json: unknown, source: string): MoEMambaConfig {
  const f = Fields.of(json, source, 'a moe-mamba config');
  const m = f.object('moe');
  const experts = m.int('experts', EXPERTS);
  return {
    mamba: mambaConfigFromFields(f.object('mamba')),
    moe: {
      experts,
      dExpert: m.int('dExpert', WIDTH),
      topK: m.int('topK', range(1, experts)),
      capacityFactor: m.number('capacityFactor', MULTIPLIER),
      auxLossWeight: m.number('auxLossWeight', LOSS_WEIGHT),
      zLossWeight: m.number('zLossWeight', LOSS_WEIGHT),
    },
    pattern: f.choices('pattern', DEPTH, LAYER_KINDS),
  };
}

/** Throws a MambaError naming the first bad setting of a MoE-Mamba config (its MoE settings and layer pattern). */
export function checkMoEMambaConfig(c: MoEMambaConfig): void {
  checkMoEConfig(c.moe);
  if (c.pattern.length === 0 || c.pattern.some((k) => k !== 'mamba' && k !== 'moe')) {
    throw new MambaError(
      `MoE-Mamba: the layer pattern must list 'mamba' and 'moe' layers, got ${JSON.stringify(c.pattern)}`,
    );
  }
}

/** A pre-norm residual block whose inner layer is a Switch MoE feed-forward layer. */
export class MoEBlock extends Module {
  readonly norm: RMSNorm;
  readonly moe: SwitchMoE;

  constructor(config: MoEMambaConfig, options: InitOptions) {
    super();
    this.moe = this.module('moe', new SwitchMoE(config.mamba.dModel, config.moe, options));
    this.norm = this.module('norm', new RMSNorm(config.mamba.dModel, config.mamba.layerNormEpsilon));
  }
}

/** A pre-norm residual block around a Mamba mixer (the same names as MambaLM's blocks). */
export class MambaLayerBlock extends Module {
  readonly norm: RMSNorm;
  readonly mixer: MambaMixer;

  constructor(config: MoEMambaConfig, options: InitOptions) {
    super();
    this.mixer = this.module('mixer', new MambaMixer(config.mamba, options));
    this.norm = this.module('norm', new RMSNorm(config.mamba.dModel, config.mamba.layerNormEpsilon));
  }
}

/** Per-layer state: Mamba layers carry theirs, MoE layers none. */
export type MoEMambaState = { layers: (MambaLayerState | Record<string, never>)[]; lengths: number[] };

/**
 * MoE-Mamba (Pióro et al. 2024): Mamba layers interleaved with Switch mixture-of-experts layers,
 * each pre-normed and residual, over a tied embedding. The interface is MambaLM's, so training,
 * evaluation and generation take it as they are; after a forward pass, `auxLoss()` is the sum of
 * the MoE layers' balancing losses and `moeStats()` what each MoE layer did.
 */
export class MoEMambaLM extends Module implements LanguageModel<MoEMambaState> {
  readonly modelType = MOE_MAMBA_TYPE;
  readonly embeddings: Embedding;
  readonly layers: ModuleList<MambaLayerBlock | MoEBlock>;
  readonly normF: RMSNorm;
  readonly lmHead: Linear | null;

  constructor(
    readonly config: MoEMambaConfig,
    options: InitOptions = {},
  ) {
    super();
    checkMoEMambaConfig(config);
    const generator = options.generator ?? defaultGenerator;
    const m = config.mamba;
    this.embeddings = this.module('embeddings', new Embedding(m.vocabSize, m.dModel, { generator }));
    this.layers = this.module(
      'layers',
      new ModuleList(
        config.pattern.map((kind) =>
          kind === 'mamba' ? new MambaLayerBlock(config, { generator }) : new MoEBlock(config, { generator }),
        ),
      ),
    );
    this.normF = this.module('norm_f', new RMSNorm(m.dModel, m.layerNormEpsilon));
    this.lmHead = m.tieEmbeddings
      ? null
      : this.module('lm_head', new Linear(m.dModel, m.vocabSize, { bias: false, generator }));
    if (isInitialising()) reinitialise(this, generator);
  }

  get vocabSize(): number {
    return this.config.mamba.vocabSize;
  }

  get vocabLimit(): number {
    return this.config.mamba.vocabLimit;
  }

  /** Logits [B, L, vocab] for int32 token ids [B, L] (see LanguageModel.forward). */
  forward(ids: Tensor, options: LMForwardOptions<MoEMambaState> = {}): Tensor {
    if (ids.rank !== 2 || ids.dtype !== 'int32')
      throw new MambaError(
        `MoEMambaLM: token ids must be int32 [batch, length], got ${ids.dtype} ${JSON.stringify(ids.shape)}`,
      );
    if (options.state) advanceLengths('MoEMambaLM', options.state, ids.shape);
    const normed = preNormStack(
      this.embeddings.forward(ids),
      [...this.layers],
      (block, out, i) =>
        block instanceof MoEBlock
          ? block.moe.forward(out)
          : block.mixer.forward(out, options.state?.layers[i] as MambaLayerState | undefined),
      this.normF,
    );
    const last = options.lastOnly ? slice(normed, 1, -1) : normed;
    return linear(last, this.lmHead?.weight ?? this.embeddings.weight);
  }

  /** The MoE layers' weighted balancing (and z-) losses of the last forward pass, summed. */
  auxLoss(): Tensor | null {
    const losses = this.moeLayers()
      .map((m) => m.auxLoss)
      .filter((l): l is Tensor => l !== null);
    if (losses.length === 0) return null;
    return scope(() => losses.reduce((a, b) => add(a, b)));
  }

  moeStats(): MoEStats[] {
    return this.moeLayers()
      .map((m) => m.stats())
      .filter((s): s is MoEStats => s !== null);
  }

  private moeLayers(): SwitchMoE[] {
    return [...this.layers].filter((b): b is MoEBlock => b instanceof MoEBlock).map((b) => b.moe);
  }

  initialState(batch: number): MoEMambaState {
    return {
      layers: [...this.layers].map((b) => (b instanceof MambaLayerBlock ? b.mixer.initialState(batch) : {})),
      lengths: new Array<number>(batch).fill(0),
    };
  }

  /** model_type "moe-mamba" with the Mamba and MoE settings and the layer pattern. */
  configJson(): string {
    return JSON.stringify({ model_type: MOE_MAMBA_TYPE, ...this.config }, null, 2) + '\n';
  }

  /** Parameters a token passes through: everything but the experts it is not routed to. */
  activeParameters(): number {
    const { experts, topK } = this.config.moe;
    const expertParams = this.moeLayers().reduce((n, m) => n + m.experts.at(0).numParameters(), 0);
    return this.numParameters() - expertParams * (experts - topK);
  }
}

/** MambaLM's _init_weights for the Mamba parts; experts keep PyTorch's Linear init. */
function reinitialise(model: MoEMambaLM, generator: Generator): void {
  scope(() => {
    const emb = model.embeddings.weight;
    emb.write(normal(emb.shape, 0.02, generator).toArray());
    const nLayer = model.config.pattern.length;
    for (const block of model.layers) {
      if (!(block instanceof MambaLayerBlock)) continue;
      const mixer = block.mixer;
      for (const lin of [mixer.inProj, mixer.outProj]) lin.bias?.write(new Float32Array(lin.bias.size));
      const w = mixer.outProj.weight;
      w.write(uniform(w.shape, defaultBound(model.config.mamba.dInner) / Math.sqrt(nLayer), generator).toArray());
    }
  });
}
