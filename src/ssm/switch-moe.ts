import { Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import type { InitOptions } from '../nn/init.js';
import { arange, ones, zeros } from '../ops/create.js';
import { cumsum } from '../ops/cumsum.js';
import { add, cast, gelu, lt, mul, square, sub, where } from '../ops/elementwise.js';
import { gather, indexAdd, indexSelect, scatterAdd } from '../ops/indexing.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import { mean, sum, topk } from '../ops/reduce.js';
import { concat } from '../ops/shape-ops.js';
import { detach, expand, reshape, slice, unsqueeze } from '../ops/view.js';
import { defaultGenerator } from '../tensor/random.js';
import { keep } from '../tensor/scope.js';
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

/** Throws a MambaError naming the first bad setting of a MoE layer's config. */
export function checkMoEConfig(c: MoEConfig): void {
  if (!Number.isInteger(c.experts) || c.experts < 1)
    throw new MambaError(`MoE: experts must be a positive integer, got ${c.experts}`);
  if (!Number.isInteger(c.topK) || c.topK < 1 || c.topK > c.experts)
    throw new MambaError(`MoE: top-k must be an integer in [1, ${c.experts}], got ${c.topK}`);
  if (!(c.capacityFactor > 0)) throw new MambaError(`MoE: the capacity factor must be > 0, got ${c.capacityFactor}`);
  if (!Number.isInteger(c.dExpert) || c.dExpert < 1)
    throw new MambaError(`MoE: the expert width must be a positive integer, got ${c.dExpert}`);
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

/** What stats() reads: tensors left on the device until the training log asks for them, and the slot count. */
interface LastStats {
  load: Tensor;
  auxLoss: Tensor;
  zLoss: Tensor;
  slots: number;
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

/** Where each token's k choices go, as device tensors (see routeTokens). */
export interface Routing {
  /** [T, k] int32: each token's experts, most probable first (ties to the lower index). */
  experts: Tensor;
  /** [T * k] int32: the dispatch slot of each choice, expert e's at e * capacity + its rank, or E * capacity when dropped. */
  slots: Tensor;
  /** [T * k, 1]: the router probability of each choice, which scales its expert's output. */
  gates: Tensor;
  /** [T, E]: 1 where a token chose the expert, 0 elsewhere. */
  chosen: Tensor;
  /** [T, E]: 1 where a token chose the expert and found room, 0 elsewhere. */
  kept: Tensor;
}

/**
 * Switch routing, decided on the device so that a forward pass never reads back: each token's
 * top-k experts by router probability, in token order, until an expert holds `capacity` tokens.
 * A choice's rank within its expert counts the earlier tokens that chose the same expert (an
 * exclusive prefix sum over tokens); the choices ranked past the capacity are dropped. The
 * decision is not differentiable; the gates, read from the probabilities, are.
 */
export function routeTokens(probs: Tensor, topK: number, capacity: number): Routing {
  const [tokens, experts] = probs.shape as [number, number];
  const like = { dtype: probs.dtype, backend: probs.backend };
  const { indices } = topk(probs, topK);
  const chosen = scatterAdd(zeros([tokens, experts], like), 1, indices, ones([tokens, topK], like));
  const rank = sub(cumsum(chosen, 0), chosen);
  const kept = mul(chosen, lt(rank, capacity));
  const slotOf = add(rank, mul(arange(experts, undefined, 1, like), capacity));
  const overflow = experts * capacity;
  const slots = cast(where(gather(kept, 1, indices), gather(slotOf, 1, indices), overflow), 'int32');
  return {
    experts: indices,
    slots: reshape(slots, [-1]),
    gates: reshape(gather(probs, 1, indices), [-1, 1]),
    chosen,
    kept,
  };
}

/**
 * A Switch mixture-of-experts feed-forward layer (Fedus et al.; MoE-Mamba's MoE layer): a linear
 * router with softmax, top-k routing with a capacity per expert (overflowing tokens give zero
 * here, so the block's residual passes them through), each expert run on its fixed number of
 * slots (dispatch into them, run, read back), outputs scaled by the router probability of the
 * chosen expert. After a forward pass, `auxLoss` holds the weighted load-balancing plus z-loss to
 * add to the training loss, and `stats()` reads what happened.
 */
export class SwitchMoE extends Module {
  readonly router: Linear;
  readonly experts: ModuleList<Expert>;
  auxLoss: Tensor | null = null;
  private lastStats: LastStats | null = null;

  constructor(
    readonly dModel: number,
    readonly config: MoEConfig,
    options: InitOptions = {},
  ) {
    super();
    checkMoEConfig(config);
    const generator = options.generator ?? defaultGenerator;
    this.router = this.module('router', new Linear(dModel, config.experts, { bias: false, generator }));
    this.experts = this.module(
      'experts',
      new ModuleList(Array.from({ length: config.experts }, () => new Expert(dModel, config.dExpert, { generator }))),
    );
  }

  capacity(tokens: number): number {
    const { capacityFactor, topK, experts } = this.config;
    return Math.max(1, Math.ceil((capacityFactor * tokens * topK) / experts));
  }

  /**
   * x [..., dModel] -> [..., dModel]; sets auxLoss and the statistics that stats() reads. Every
   * expert runs on its `capacity` slots (empty ones hold zeros and are never read back), so the
   * shapes do not depend on the routing: the dispatch is an indexAdd into the slots, the combine an
   * indexSelect from them.
   */
  forward(x: Tensor): Tensor {
    const { experts, topK, auxLossWeight, zLossWeight } = this.config;
    const like = { dtype: x.dtype, backend: x.backend };
    const flat = reshape(x, [-1, this.dModel]);
    const tokens = flat.shape[0]!;
    const capacity = this.capacity(tokens);
    const logits = this.router.forward(flat);
    const probs = softmax(logits);
    const route = routeTokens(probs, topK, capacity);
    // One row per choice; the row past the last slot collects the dropped choices and is never read.
    const choices = reshape(expand(unsqueeze(flat, 1), [tokens, topK, this.dModel]), [tokens * topK, this.dModel]);
    const slots = indexAdd(zeros([experts * capacity + 1, this.dModel], like), 0, route.slots, choices);
    const outputs = [...this.experts].map((expert, e) =>
      expert.forward(slice(slots, 0, e * capacity, (e + 1) * capacity)),
    );
    const results = concat([...outputs, zeros([1, this.dModel], like)], 0);
    const combined = mul(indexSelect(results, 0, route.slots), route.gates);
    const out = sum(reshape(combined, [tokens, topK, this.dModel]), 1);
    // Switch load balancing: E * sum_i f_i * P_i, f_i the fraction of token slots routed to i,
    // P_i the mean router probability of i. Only P_i carries a gradient.
    const f = mul(sum(route.chosen, 0), 1 / (tokens * topK));
    const balance = mul(sum(mul(mean(probs, 0), f)), experts);
    // z-loss: mean squared log-sum-exp of the router logits keeps them small.
    const logSumExp = slice(sub(logits, logSoftmax(logits)), 1, 0, 1);
    const z = mean(square(logSumExp));
    this.auxLoss =
      zLossWeight > 0 ? add(mul(balance, auxLossWeight), mul(z, zLossWeight)) : mul(balance, auxLossWeight);
    this.disposeStats();
    this.lastStats = {
      load: keep(detach(sum(route.kept, 0))),
      auxLoss: keep(detach(balance)),
      zLoss: keep(detach(z)),
      slots: tokens * topK,
    };
    return reshape(out, x.shape);
  }

  /** What the last forward pass did, read from the device: for training logs, after the step. */
  stats(): MoEStats | null {
    if (!this.lastStats) return null;
    const { load, auxLoss, zLoss, slots } = this.lastStats;
    const perExpert = Array.from(load.toArray());
    const kept = perExpert.reduce((a, b) => a + b, 0);
    return { load: perExpert, dropped: 1 - kept / slots, auxLoss: auxLoss.item(), zLoss: zLoss.item() };
  }

  private disposeStats(): void {
    if (!this.lastStats) return;
    for (const t of [this.lastStats.load, this.lastStats.auxLoss, this.lastStats.zLoss]) t.dispose();
    this.lastStats = null;
  }

  override dispose(): void {
    super.dispose();
    this.disposeStats();
  }
}
