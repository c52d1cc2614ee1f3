import { Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import type { InitOptions } from '../nn/init.js';
import { fromArray, zeros } from '../ops/create.js';
import { add, gelu, mul, square, sub } from '../ops/elementwise.js';
import { gather, indexAdd, indexSelect } from '../ops/indexing.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import { mean, sum } from '../ops/reduce.js';
import { reshape, slice } from '../ops/view.js';
import { defaultGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';

/** The expert settings of a Switch mixture-of-experts layer. */
export interface MoEConfig {
  experts: number;
  /** Hidden width of each expert's feed-forward network. */
  dExpert: number;
  /** Experts per token (1 is Switch routing). */
  topK: number;
  /** Each expert takes at most ceil(capacityFactor * tokens * topK / experts) tokens. */
  capacityFactor: number;
  /** Weight of the load-balancing loss alpha * E * sum_i f_i * P_i (Switch uses 0.01). */
  auxLossWeight: number;
  /** Weight of the router z-loss, mean(logsumexp(logits)^2) (0 turns it off). */
  zLossWeight: number;
}

export function checkMoEConfig(c: MoEConfig): void {
  if (!Number.isInteger(c.experts) || c.experts < 1) throw new MambaError(`MoE: experts must be a positive integer, got ${c.experts}`);
  if (!Number.isInteger(c.topK) || c.topK < 1 || c.topK > c.experts) throw new MambaError(`MoE: top-k must be an integer in [1, ${c.experts}], got ${c.topK}`);
  if (!(c.capacityFactor > 0)) throw new MambaError(`MoE: the capacity factor must be > 0, got ${c.capacityFactor}`);
  if (!Number.isInteger(c.dExpert) || c.dExpert < 1) throw new MambaError(`MoE: the expert width must be a positive integer, got ${c.dExpert}`);
  if (!(c.auxLossWeight >= 0) || !(c.zLossWeight >= 0)) throw new MambaError('MoE: loss weights must be >= 0');
}

/** What one forward pass of a MoE layer did, for the training logs. */
export interface MoEStats {
  /** Tokens (slots, with top-k) each expert processed. */
  load: number[];
  /** Fraction of token slots that overflowed an expert's capacity and skipped the layer. */
  dropped: number;
  auxLoss: number;
  zLoss: number;
}

/** One expert: a two-layer feed-forward network with GELU. */
export class Expert extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(dModel: number, dExpert: number, options: InitOptions) {
    super();
    this.fc1 = this.module('fc1', new Linear(dModel, dExpert, options));
    this.fc2 = this.module('fc2', new Linear(dExpert, dModel, options));
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(gelu(this.fc1.forward(x)));
  }
}

/**
 * Which token slots go to which expert: each token's top-k experts by router probability, in
 * token order, until an expert is full. Decided on the host from the probabilities; the
 * decision is not differentiable, the gates that scale the outputs are.
 */
export function routeTokens(probs: ArrayLike<number>, tokens: number, experts: number, topK: number, capacity: number): { perExpert: number[][]; chosen: number[][]; dropped: number } {
  const perExpert: number[][] = Array.from({ length: experts }, () => []);
  const chosen: number[][] = [];
  let dropped = 0;
  for (let t = 0; t < tokens; t++) {
    const row = Array.from({ length: experts }, (_, e) => e).sort((a, b) => probs[t * experts + b]! - probs[t * experts + a]! || a - b);
    const picks = row.slice(0, topK);
    chosen.push(picks);
    for (const e of picks) {
      if (perExpert[e]!.length < capacity) perExpert[e]!.push(t);
      else dropped++;
    }
  }
  return { perExpert, chosen, dropped };
}

/**
 * A Switch mixture-of-experts feed-forward layer (Fedus et al.; MoE-Mamba's MoE layer): a linear
 * router with softmax, top-k routing with a capacity per expert (overflowing tokens give zero
 * here, so the block's residual passes them through), each expert run only on its own tokens
 * (gather, run, scatter back), outputs scaled by the router probability of the chosen expert.
 * After a forward pass, `auxLoss` holds the weighted load-balancing plus z-loss to add to the
 * training loss, and `stats` what happened.
 */
export class SwitchMoE extends Module {
  readonly router: Linear;
  readonly experts: ModuleList<Expert>;
  auxLoss: Tensor | null = null;
  stats: MoEStats | null = null;

  constructor(
    readonly dModel: number,
    readonly config: MoEConfig,
    options: InitOptions = {},
  ) {
    super();
    checkMoEConfig(config);
    const generator = options.generator ?? defaultGenerator;
    this.router = this.module('router', new Linear(dModel, config.experts, { bias: false, generator }));
    this.experts = this.module('experts', new ModuleList(Array.from({ length: config.experts }, () => new Expert(dModel, config.dExpert, { generator }))));
  }

  capacity(tokens: number): number {
    const { capacityFactor, topK, experts } = this.config;
    return Math.max(1, Math.ceil((capacityFactor * tokens * topK) / experts));
  }

  /** x [..., dModel] -> [..., dModel]; sets auxLoss and stats. */
  forward(x: Tensor): Tensor {
    const { experts, topK, auxLossWeight, zLossWeight } = this.config;
    const like = { dtype: x.dtype, backend: x.backend };
    const flat = reshape(x, [-1, this.dModel]);
    const tokens = flat.shape[0]!;
    const logits = this.router.forward(flat);
    const probs = softmax(logits);
    const { perExpert, chosen, dropped } = routeTokens(probs.toArray(), tokens, experts, topK, this.capacity(tokens));
    let out = zeros([tokens, this.dModel], like);
    perExpert.forEach((ids, e) => {
      if (ids.length === 0) return;
      const index = fromArray(new Int32Array(ids), [ids.length], { ...like, dtype: 'int32' });
      // The router probability of expert e for each of its tokens scales the expert's output.
      const gate = gather(indexSelect(probs, 0, index), 1, fromArray(new Int32Array(ids.length).fill(e), [ids.length, 1], { ...like, dtype: 'int32' }));
      out = indexAdd(out, 0, index, mul(this.experts.at(e).forward(indexSelect(flat, 0, index)), gate));
    });
    // Switch load balancing: E * sum_i f_i * P_i, f_i the fraction of token slots routed to i,
    // P_i the mean router probability of i. Only P_i carries a gradient.
    const f = new Float32Array(experts);
    for (const picks of chosen) for (const e of picks) f[e]! += 1 / (tokens * topK);
    const balance = mul(sum(mul(mean(probs, 0), fromArray(f, [experts], like))), experts);
    // z-loss: mean squared log-sum-exp of the router logits keeps them small.
    const logSumExp = slice(sub(logits, logSoftmax(logits)), 1, 0, 1);
    const z = mean(square(logSumExp));
    this.auxLoss = zLossWeight > 0 ? add(mul(balance, auxLossWeight), mul(z, zLossWeight)) : mul(balance, auxLossWeight);
    this.stats = { load: perExpert.map((ids) => ids.length), dropped: dropped / (tokens * topK), auxLoss: balance.item(), zLoss: z.item() };
    return reshape(out, x.shape);
  }
}
