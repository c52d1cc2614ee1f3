import type { Backend } from '../backends/backend.js';
import { isFloat, type DType } from '../backends/dtype.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { MambaError, ShapeError } from '../util/errors.js';

/** The one backend that all inputs of an op live on. */
export function backendOf(op: string, ...tensors: Tensor[]): Backend {
  const backend = tensors[0]!.backend;
  for (const t of tensors) {
    if (t.backend !== backend) {
      throw new MambaError(
        `${op}: inputs live on different backends (${backend.name} and ${t.backend.name}); move them with .to(backend)`,
      );
    }
  }
  return backend;
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) {
    throw new MambaError(`${op}: expects a float tensor, got ${t.dtype}; convert it with .cast('float32')`);
  }
}

export function requireDType(op: string, t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype) throw new MambaError(`${op}: ${what} must be ${dtype}, got ${t.dtype}`);
}

export function requireSameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new MambaError(`${op}: dtypes differ (${a.dtype} and ${b.dtype}); convert one with .cast('${a.dtype}')`);
  }
}

export function requireRank(op: string, t: Tensor, rank: number | number[], what = 'input'): void {
  const ranks = typeof rank === 'number' ? [rank] : rank;
  if (!ranks.includes(t.rank)) {
    throw new ShapeError(`${op}: ${what} must have rank ${ranks.join(' or ')}, got shape ${formatShape(t.shape)}`);
  }
}

/** A new contiguous output tensor on the backend. */
export function empty(shape: readonly number[], dtype: DType, backend: Backend): Tensor {
  return Tensor.empty(shape, dtype, backend);
}

export function filled(shape: readonly number[], dtype: DType, backend: Backend, value: number): Tensor {
  const t = Tensor.empty(shape, dtype, backend);
  backend.fill(t.view(), value);
  return t;
}

/** A contiguous copy outside the graph: the starting point of ops that update a copy in place. */
export function copyOf(x: Tensor): Tensor {
  const t = Tensor.empty(x.shape, x.dtype, x.backend);
  x.backend.copy(t.view(), x.view());
  return t;
}

/**
 * Sums a broadcast gradient back down to the shape of the operand that was broadcast. Backward
 * rules call it, and they run without recording a graph, so it calls the kernel directly; that
 * keeps it below every op module (elementwise, matmul and view ops all need it).
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const sums = empty(
    g.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
    g.dtype,
    g.backend,
  );
  g.backend.reduce('sum', sums.view(), g.view(), axes);
  const out = sums.restride(shape);
  sums.dispose();
  return out;
}
