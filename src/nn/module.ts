import { noGrad } from '../tensor/autograd.js';
import { keep } from '../tensor/scope.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError, ShapeError } from '../util/errors.js';

export type StateDict = Map<string, Tensor>;

/** Parameter options of biases and normalisation weights, which optimizers must not decay. */
export const NO_DECAY = { noWeightDecay: true } as const;

/** Writes src's values into dst's storage (dtype converted, across backends if needed). */
export function copyInto(dst: Tensor, src: Tensor): void {
  if (dst.backend === src.backend) dst.backend.copy(dst.view(), src.view());
  else dst.backend.write(dst.storage.handle, dst.dtype, dst.offset, src.toArray());
}

/**
 * A tree of named parameters, buffers and child modules whose names match PyTorch's
 * (`layers.0.mixer.in_proj.weight`), so that state dicts load by name. Subclasses register
 * what they own in their constructor and define their own forward().
 */
export class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  private readonly exemptFromDecay = new Set<Tensor>();

  /**
   * Registers a trainable tensor under a PyTorch name; it is kept and requires grad.
   * `noWeightDecay` marks parameters that optimizers must not decay (Mamba's A_log and D).
   */
  protected param(name: string, t: Tensor, options: { noWeightDecay?: boolean } = {}): Tensor {
    this.checkName(name);
    t.requiresGrad = true;
    this.params.set(name, keep(t));
    if (options.noWeightDecay) this.exemptFromDecay.add(t);
    return t;
  }

  /** Parameters registered with noWeightDecay anywhere in the tree. */
  noWeightDecayParameters(): Set<Tensor> {
    const out = new Set<Tensor>();
    for (const [, m] of this.namedModules()) for (const t of m.exemptFromDecay) out.add(t);
    return out;
  }

  /** Registers non-trainable state saved with the module (running statistics, masks). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.checkName(name);
    this.buffers.set(name, keep(t));
    return t;
  }

  protected module<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.'))
      throw new MambaError(`module: '${name}' is not a valid name (no dots, not empty)`);
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new MambaError(`module: '${name}' is registered twice`);
    }
  }

  *namedChildren(): Generator<[string, Module]> {
    yield* this.children;
  }

  /** Every module in the tree with its dotted name ('' for this one), parents first. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.children) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  *namedParameters(): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.params) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [prefix ? `${prefix}.${name}` : name, p];
      }
    }
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** The number of trainable values (shared tensors counted once). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Parameters and buffers by dotted name, in registration order. Tied tensors appear under each name. */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of [...m.params, ...m.buffers]) out.set(prefix ? `${prefix}.${name}` : name, t);
    }
    return out;
  }

  /**
   * Copies tensors into the module's parameters and buffers by name. With strict (the default)
   * every name must be present on both sides; shapes must always match.
   */
  loadStateDict(
    dict: StateDict | Record<string, Tensor>,
    options: { strict?: boolean } = {},
  ): { missing: string[]; unexpected: string[] } {
    const source = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !source.has(k));
    const unexpected = [...source.keys()].filter((k) => !own.has(k));
    if ((options.strict ?? true) && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length)
        parts.push(`missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`);
      if (unexpected.length)
        parts.push(`unexpected: ${unexpected.slice(0, 10).join(', ')}${unexpected.length > 10 ? ', ...' : ''}`);
      throw new MambaError(
        `loadStateDict: names do not match (${parts.join('; ')}); pass { strict: false } to load the overlap`,
      );
    }
    for (const [name, target] of own) {
      const src = source.get(name);
      if (!src) continue;
      if (!shapesEqual(src.shape, target.shape)) {
        throw new ShapeError(
          `loadStateDict: '${name}' has shape ${formatShape(src.shape)} in the state dict but ${formatShape(target.shape)} in the module`,
        );
      }
      noGrad(() => copyInto(target, src));
    }
    return { missing, unexpected };
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of [...m.params.values(), ...m.buffers.values()]) t.dispose();
    }
  }

  /** One line per module: name, class and its own parameter shapes. */
  toString(): string {
    const lines: string[] = [];
    for (const [name, m] of this.namedModules()) {
      const depth = name === '' ? 0 : name.split('.').length;
      const own = [...m.params].map(([n, p]) => `${n}${formatShape(p.shape)}`).join(' ');
      lines.push(
        `${'  '.repeat(depth)}${name === '' ? '' : name.split('.').pop() + ': '}${m.constructor.name}${own ? ' ' + own : ''}`,
      );
    }
    return lines.join('\n');
  }
}

/** A module with one tensor in and one tensor out. */
export interface Layer {
  forward(x: Tensor): Tensor;
}

/** Children named '0', '1', ... as in PyTorch's nn.ModuleList. */
export class ModuleList<M extends Module> extends Module implements Iterable<M> {
  private readonly items: M[];

  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.module(String(i), m));
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (!m) throw new MambaError(`ModuleList: index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** Runs layers one after another (PyTorch's nn.Sequential, children named by position). */
export class Sequential extends ModuleList<Module & Layer> implements Layer {
  constructor(...layers: (Module & Layer)[]) {
    super(layers);
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this) h = layer.forward(h);
    return h;
  }
}
