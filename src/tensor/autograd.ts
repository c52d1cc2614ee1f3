import { MambaError } from '../util/errors.js';
import { GradNode as Node, type BackwardFn as Rule, type Parent as NodeParent } from './autograd-node.js';
import { isFloat } from '../backends/dtype.js';
import { keep, scope } from './scope.js';
import { formatShape, shapesEqual } from './shape.js';
import { Tensor } from './tensor.js';

type GradNode = Node<Tensor>;
type BackwardFn = Rule<Tensor>;
type Parent = NodeParent<Tensor>;

let gradEnabled = true;

/** Whether operations record a graph for backward() now (false inside noGrad). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Whether an op on these inputs records a graph now: grad mode is on and one of them needs a gradient. */
export function recordsGradient(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some((t) => t.requiresGrad);
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

/** Runs fn without recording a graph: for inference, evaluation and optimizer updates. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn recording a graph again, inside a noGrad block (e.g. a gradient step during evaluation). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/** A second handle on t's storage that no scope frees: what a graph node saves. */
function saveHandle(t: Tensor): Tensor {
  return keep(t.restride(t.shape, t.strides, t.offset));
}

/**
 * Records an op in the graph when grad mode is on and an input needs a gradient. `saved` are
 * the tensors its backward rule reads; they stay alive until the node is done with them.
 */
export function attach(
  op: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  saved: readonly Tensor[],
  fn: BackwardFn,
): void {
  if (!recordsGradient(inputs)) return;
  const parents: Parent[] = inputs.map((t) => {
    if (!t.requiresGrad) return null;
    if (t.gradFn) {
      t.gradFn.retain();
      return { node: t.gradFn, index: t.outputIndex };
    }
    return { leaf: t };
  });
  const node = new Node<Tensor>(
    op,
    parents,
    outputs.map((o) => o.shape),
    saved.map(saveHandle),
    fn,
  );
  outputs.forEach((o, i) => {
    o.gradFn = node;
    o.outputIndex = i;
    o.requiresGrad = isFloat(o.dtype);
  });
}

function filled(like: Tensor, value: number): Tensor {
  const t = Tensor.empty(like.shape, like.dtype, like.backend);
  t.backend.fill(t.view(), value);
  return t;
}

function contiguousCopy(t: Tensor): Tensor {
  const out = Tensor.empty(t.shape, t.dtype, t.backend);
  t.backend.copy(out.view(), t.view());
  return out;
}

function sum(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.empty(a.shape, a.dtype, a.backend);
  a.backend.binary('add', out.view(), a.view(), b.view());
  return out;
}

/** Adds a gradient into a leaf's .grad, which is always contiguous and owned by the leaf alone. */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) {
    g.dispose();
    return;
  }
  if (leaf.grad === null) {
    leaf.grad = keep(g.isContiguous && !g.storage.shared ? g : contiguousCopy(g));
    if (leaf.grad !== g) g.dispose();
    return;
  }
  const acc = leaf.grad.view();
  leaf.backend.binary('add', acc, acc, g.view());
  g.dispose();
}

function checkGradShape(node: GradNode, i: number, g: Tensor, expected: readonly number[]): void {
  if (!shapesEqual(g.shape, expected)) {
    throw new Error(
      `internal error: backward of '${node.op}' gave input ${i} a gradient of shape ${formatShape(g.shape)}, expected ${formatShape(expected)}`,
    );
  }
}

/** Nodes reachable from root, each after all the nodes that consume its outputs. */
function topologicalOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const visited = new Set<GradNode>([root]);
  const stack: { node: GradNode; next: number }[] = [{ node: root, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const parent = top.node.parents[top.next++];
    if (parent === undefined) {
      stack.pop();
      order.push(top.node);
      continue;
    }
    if (parent !== null && 'node' in parent && !visited.has(parent.node)) {
      visited.add(parent.node);
      stack.push({ node: parent.node, next: 0 });
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Keep the graph's saved tensors so that backward can run through it again. */
  retainGraph?: boolean;
}

/**
 * Reverse-mode differentiation from `root`: adds d(root)/d(leaf) (times `gradient`, which may be
 * omitted for a single-element root) into the .grad of every leaf that requires grad.
 */
export function backward(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new MambaError(
      'backward(): this tensor does not require grad; no input of the computation that made it had requiresGrad set',
    );
  }
  if (gradient === undefined && root.size !== 1) {
    throw new MambaError(
      `backward(): a gradient can be implied only for a single-element tensor, this one has shape ${formatShape(root.shape)}; pass the gradient`,
    );
  }
  if (gradient !== undefined && !shapesEqual(gradient.shape, root.shape)) {
    throw new MambaError(
      `backward(): gradient shape ${formatShape(gradient.shape)} does not match the tensor's ${formatShape(root.shape)}`,
    );
  }
  withGradMode(false, () => {
    const seed = gradient ? contiguousCopy(gradient) : filled(root, 1);
    const rootNode = root.gradFn;
    if (rootNode === null) {
      accumulateLeaf(root, seed);
      return;
    }
    const pending = new Map<GradNode, (Tensor | null)[]>();
    const slots = new Array<Tensor | null>(rootNode.outputShapes.length).fill(null);
    slots[root.outputIndex] = seed;
    pending.set(rootNode, slots);
    for (const node of topologicalOrder(rootNode)) {
      const grads = pending.get(node);
      pending.delete(node);
      if (!grads) continue;
      const inputGrads = scope(() => node.apply(grads));
      // A rule may pass an output gradient straight through, or return one tensor for two
      // inputs; such grads get their own handle so that each owner can dispose its own.
      const outputs = new Set<Tensor>(grads.filter((g): g is Tensor => g !== null));
      const used = new Set<Tensor>();
      inputGrads.forEach((g, i) => {
        const parent = node.parents[i];
        if (!g || !parent) return;
        if (outputs.has(g) || used.has(g)) g = g.restride(g.shape, g.strides, g.offset);
        else used.add(g);
        if ('leaf' in parent) {
          checkGradShape(node, i, g, parent.leaf.shape);
          accumulateLeaf(parent.leaf, g);
          return;
        }
        checkGradShape(node, i, g, parent.node.outputShapes[parent.index]!);
        let slot = pending.get(parent.node);
        if (!slot) {
          slot = new Array<Tensor | null>(parent.node.outputShapes.length).fill(null);
          pending.set(parent.node, slot);
        }
        const prev = slot[parent.index];
        if (prev) {
          slot[parent.index] = sum(prev, g);
          prev.dispose();
          g.dispose();
        } else {
          slot[parent.index] = g;
        }
      });
      for (const g of inputGrads) if (g && !used.has(g) && !outputs.has(g)) g.dispose();
      for (const g of grads) g?.dispose();
      if (!options.retainGraph) node.freeSaved();
    }
  });
}
