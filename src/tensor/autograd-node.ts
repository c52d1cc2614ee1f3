import { MambaError } from '../util/errors.js';

/** What a node needs of a tensor: kept here so that nodes do not depend on the Tensor class, which holds them. */
export interface NodeTensor {
  dispose(): void;
}

/**
 * Computes the gradients of an op's inputs from the gradients of its outputs (null where an
 * output received none). `saved` are the tensors the op stored; `needs[i]` says whether input i
 * wants a gradient, so that unneeded work can be skipped (return null there).
 */
export type BackwardFn<T extends NodeTensor> = (grads: (T | null)[], saved: T[], needs: boolean[]) => (T | null)[];

/** Where an input's gradient goes: an earlier node's output, or a leaf tensor's .grad. */
export type Parent<T extends NodeTensor> = { node: GradNode<T>; index: number } | { leaf: T } | null;

/**
 * One recorded op. Its memory (the saved tensors) is released deterministically: either by
 * backward() once it has run, or when nothing can reach the node any more, counted by `refs`
 * (live output tensors plus later nodes that consume its outputs).
 */
export class GradNode<T extends NodeTensor> {
  private refs: number;
  private savedTensors: T[] | null;
  private fn: BackwardFn<T> | null;

  constructor(
    readonly op: string,
    readonly parents: readonly Parent<T>[],
    readonly outputShapes: readonly (readonly number[])[],
    saved: T[],
    fn: BackwardFn<T>,
  ) {
    this.refs = outputShapes.length;
    this.savedTensors = saved;
    this.fn = fn;
  }

  get needs(): boolean[] {
    return this.parents.map((p) => p !== null);
  }

  retain(): void {
    this.refs++;
  }

  /** Runs the backward rule. Throws if the node's memory was already freed. */
  apply(grads: (T | null)[]): (T | null)[] {
    if (this.fn === null || this.savedTensors === null) {
      throw new MambaError(
        `backward through '${this.op}' a second time: its saved tensors were freed by the first backward; ` +
          'pass { retainGraph: true } to the first backward() to keep them',
      );
    }
    return this.fn(grads, this.savedTensors, this.needs);
  }

  /** Frees the saved tensors (after a backward pass that does not retain the graph). */
  freeSaved(): void {
    if (this.savedTensors) for (const t of this.savedTensors) t.dispose();
    this.savedTensors = null;
    this.fn = null;
  }

  /** One fewer reference; at zero, frees the saved tensors and releases the parents in turn. */
  releaseOutput(): void {
    const stack: GradNode<T>[] = [this];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (--node.refs > 0) continue;
      node.freeSaved();
      for (const p of node.parents) if (p !== null && 'node' in p) stack.push(p.node);
    }
  }
}
