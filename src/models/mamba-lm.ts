import { Embedding, Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import { RMSNorm } from '../nn/norm.js';
import { defaultBound, isInitialising, normal, uniform, type InitOptions } from '../nn/init.js';
import { linear } from '../ops/matmul.js';
import { slice } from '../ops/view.js';
import { defaultGenerator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaMixer, type MambaLayerState } from '../ssm/mamba-mixer.js';
import type { MambaConfig } from './mamba-config.js';
import { MAMBA_TYPE, transformersConfigJson } from './mamba-config-json.js';
import { advanceLengths, type LanguageModel, type LMForwardOptions } from './language-model.js';
import { preNormStack } from './residual.js';
import { MambaError } from '../util/errors.js';

/** Pre-norm residual block (Add -> RMSNorm -> Mixer; docs/mamba-spec.md §1.6). */
export class MambaBlock extends Module {
  readonly norm: RMSNorm;
  readonly mixer: MambaMixer;

  constructor(config: MambaConfig, options: InitOptions) {
    super();
    this.mixer = this.module('mixer', new MambaMixer(config, options));
    this.norm = this.module('norm', new RMSNorm(config.dModel, config.layerNormEpsilon));
  }
}

/** Embedding, blocks and final norm: `backbone` in the transformers layout. */
export class MambaBackbone extends Module {
  readonly embeddings: Embedding;
  readonly layers: ModuleList<MambaBlock>;
  readonly normF: RMSNorm;

  constructor(
    readonly config: MambaConfig,
    options: InitOptions,
  ) {
    super();
    this.embeddings = this.module('embeddings', new Embedding(config.vocabSize, config.dModel, options));
    this.layers = this.module(
      'layers',
      new ModuleList(Array.from({ length: config.nLayer }, () => new MambaBlock(config, options))),
    );
    this.normF = this.module('norm_f', new RMSNorm(config.dModel, config.layerNormEpsilon));
  }

  /** Hidden states after the final norm [B, L, dModel]. */
  forward(ids: Tensor, state?: MambaState): Tensor {
    return preNormStack(
      this.embeddings.forward(ids),
      [...this.layers],
      (block, normed, i) => block.mixer.forward(normed, state?.layers[i]),
      this.normF,
    );
  }
}

/** The head tied to the embedding: its weight is the embedding's tensor under a second name. */
class TiedHead extends Module {
  readonly weight: Tensor;

  constructor(weight: Tensor) {
    super();
    this.weight = this.param('weight', weight);
  }
}

/** Per-layer recurrent state of a batch of sequences (see MambaLM.initialState). */
export type MambaState = {
  layers: MambaLayerState[];
  lengths: number[];
};

/**
 * The Mamba language model (MambaForCausalLM / MambaLMHeadModel): parameter names follow the
 * transformers layout (`backbone.embeddings.weight`, `backbone.layers.0.mixer.A_log`, ...,
 * `lm_head.weight`), initialised as the reference `_init_weights` does.
 */
export class MambaLM extends Module implements LanguageModel<MambaState> {
  readonly modelType = MAMBA_TYPE;
  readonly backbone: MambaBackbone;
  readonly lmHead: TiedHead | Linear;

  constructor(
    readonly config: MambaConfig,
    options: InitOptions = {},
  ) {
    super();
    const generator = options.generator ?? defaultGenerator;
    this.backbone = this.module('backbone', new MambaBackbone(config, { generator }));
    this.lmHead = this.module(
      'lm_head',
      config.tieEmbeddings
        ? new TiedHead(this.backbone.embeddings.weight)
        : new Linear(config.dModel, config.vocabSize, { bias: false, generator }),
    );
    if (isInitialising()) reinitialise(this, config, generator);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get vocabLimit(): number {
    return this.config.vocabLimit;
  }

  /** Logits [B, L, vocab] for int32 token ids [B, L] (see LanguageModel.forward). */
  forward(ids: Tensor, options: LMForwardOptions<MambaState> = {}): Tensor {
    if (ids.rank !== 2 || ids.dtype !== 'int32')
      throw new MambaError(
        `MambaLM: token ids must be int32 [batch, length], got ${ids.dtype} ${JSON.stringify(ids.shape)}`,
      );
    const { state } = options;
    if (state) advanceLengths('MambaLM', state, ids.shape);
    const hidden = this.backbone.forward(ids, state);
    const last = options.lastOnly ? slice(hidden, 1, -1) : hidden;
    return linear(last, this.lmHead.weight);
  }

  /** A fresh recurrent state for `batch` sequences; dispose it with disposeState. */
  initialState(batch: number): MambaState {
    return {
      layers: [...this.backbone.layers].map((b) => b.mixer.initialState(batch)),
      lengths: new Array<number>(batch).fill(0),
    };
  }

  /** The transformers layout's config.json, which MambaForCausalLM.from_pretrained reads too. */
  configJson(): string {
    return transformersConfigJson(this.config);
  }
}

/**
 * The reference `_init_weights`: embedding N(0, 0.02); Linear biases zero except dt_proj's;
 * out_proj re-drawn from its default and divided by sqrt(n_layer).
 */
function reinitialise(model: MambaLM, config: MambaConfig, generator: typeof defaultGenerator): void {
  scope(() => {
    const emb = model.backbone.embeddings.weight;
    emb.write(normal(emb.shape, 0.02, generator).toArray());
    for (const block of model.backbone.layers) {
      const mixer = block.mixer;
      for (const lin of [mixer.inProj, mixer.outProj]) lin.bias?.write(new Float32Array(lin.bias.size));
      const w = mixer.outProj.weight;
      w.write(uniform(w.shape, defaultBound(config.dInner) / Math.sqrt(config.nLayer), generator).toArray());
    }
  });
}
