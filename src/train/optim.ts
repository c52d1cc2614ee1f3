import { add, mul, sqrt, square, div } from '../ops/elementwise.js';
import { zerosLike } from '../ops/create.js';
import { clone } from '../ops/view.js';
import { copyInto } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';

/** Parameters that share hyper-parameters (e.g. the no-weight-decay set). */
export interface ParamGroup {
  params: Tensor[];
  weightDecay?: number;
}

function groupsOf(params: Tensor[] | ParamGroup[]): ParamGroup[] {
  if (params.length === 0) return [];
  return 'params' in params[0]! ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
}

/** Updates parameters in place from their .grad. */
export abstract class Optimizer {
  readonly groups: ParamGroup[];

  constructor(params: Tensor[] | ParamGroup[]) {
    this.groups = groupsOf(params);
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.requiresGrad) throw new MambaError('optimizer: every parameter must require grad');
      }
    }
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const group of this.groups) {
        for (const p of group.params) if (p.grad) scope(() => this.update(p, p.grad!, group));
      }
    });
  }

  protected abstract update(p: Tensor, g: Tensor, group: ParamGroup): void;

  zeroGrad(): void {
    for (const group of this.groups) {
      for (const p of group.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** The per-parameter tensors the optimizer keeps between steps. */
  protected abstract stateTensors(): Tensor[];

  /** Frees the optimizer's state and the parameters' gradients. */
  dispose(): void {
    this.zeroGrad();
    for (const t of this.stateTensors()) t.dispose();
    this.clearState();
  }

  protected abstract clearState(): void;
}

/** Stochastic gradient descent with optional momentum and (coupled) weight decay. */
export class SGD extends Optimizer {
  private readonly velocity = new Map<Tensor, Tensor>();

  constructor(
    params: Tensor[] | ParamGroup[],
    readonly options: { lr: number; momentum?: number; weightDecay?: number },
  ) {
    super(params);
  }

  protected update(p: Tensor, g: Tensor, group: ParamGroup): void {
    const wd = group.weightDecay ?? this.options.weightDecay ?? 0;
    let d = wd ? add(g, mul(p, wd)) : g;
    const momentum = this.options.momentum ?? 0;
    if (momentum) {
      const prev = this.velocity.get(p);
      const v = keep(prev ? add(mul(prev, momentum), d) : clone(d));
      prev?.dispose();
      this.velocity.set(p, v);
      d = v;
    }
    copyInto(p, add(p, mul(d, -this.options.lr)));
  }

  protected stateTensors(): Tensor[] {
    return [...this.velocity.values()];
  }

  protected clearState(): void {
    this.velocity.clear();
  }
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter), PyTorch's AdamW default 0.01. */
  weightDecay?: number;
}

/** Adam with decoupled weight decay, as PyTorch's torch.optim.AdamW. */
export class AdamW extends Optimizer {
  private readonly moments = new Map<Tensor, { m: Tensor; v: Tensor; step: number }>();
  lr: number;

  constructor(
    params: Tensor[] | ParamGroup[],
    readonly options: AdamWOptions,
  ) {
    super(params);
    this.lr = options.lr;
  }

  protected update(p: Tensor, g: Tensor, group: ParamGroup): void {
    const [beta1, beta2] = this.options.betas ?? [0.9, 0.999];
    const eps = this.options.eps ?? 1e-8;
    const wd = group.weightDecay ?? this.options.weightDecay ?? 0.01;
    let state = this.moments.get(p);
    if (!state) {
      state = { m: keep(zerosLike(p)), v: keep(zerosLike(p)), step: 0 };
      this.moments.set(p, state);
    }
    state.step++;
    copyInto(state.m, add(mul(state.m, beta1), mul(g, 1 - beta1)));
    copyInto(state.v, add(mul(state.v, beta2), mul(square(g), 1 - beta2)));
    const mHat = mul(state.m, 1 / (1 - beta1 ** state.step));
    const vHat = mul(state.v, 1 / (1 - beta2 ** state.step));
    const decayed = wd ? mul(p, 1 - this.lr * wd) : p;
    copyInto(p, add(decayed, mul(div(mHat, add(sqrt(vHat), eps)), -this.lr)));
  }

  protected stateTensors(): Tensor[] {
    return [...this.moments.values()].flatMap((s) => [s.m, s.v]);
  }

  protected clearState(): void {
    this.moments.clear();
  }

  /**
   * The moments and step counts under the parameters' names (`<name>.exp_avg`, `<name>.exp_avg_sq`,
   * as PyTorch calls them), for a training checkpoint.
   */
  exportState(names: ReadonlyMap<Tensor, string>): { tensors: Map<string, Tensor>; steps: Record<string, number> } {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    for (const [p, state] of this.moments) {
      const name = names.get(p);
      if (name === undefined) throw new MambaError('AdamW.exportState: a parameter has no name');
      tensors.set(`${name}.exp_avg`, state.m);
      tensors.set(`${name}.exp_avg_sq`, state.v);
      steps[name] = state.step;
    }
    return { tensors, steps };
  }

  /** Restores what exportState wrote; `read` gives the stored values of a state tensor. */
  importState(
    params: ReadonlyMap<string, Tensor>,
    steps: Record<string, number>,
    read: (name: string) => ArrayLike<number>,
  ): void {
    this.dispose();
    for (const [name, step] of Object.entries(steps)) {
      const p = params.get(name);
      if (!p) throw new MambaError(`optimizer state names a parameter '${name}' that the model does not have`);
      const m = keep(zerosLike(p));
      const v = keep(zerosLike(p));
      m.write(read(`${name}.exp_avg`));
      v.write(read(`${name}.exp_avg_sq`));
      this.moments.set(p, { m, v, step });
    }
  }
}
