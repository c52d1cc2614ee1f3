import type { Backend } from '../backends/backend.js';
import { getBackend } from '../backends/registry.js';
import { allocTypedArray, dtypeOfArray, type DType, type TypedArray } from '../backends/dtype.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { checkShape, formatShape, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { MambaError, ShapeError } from '../util/errors.js';

export interface CreateOptions {
  dtype?: DType;
  /** A backend or its name; the current default when omitted. */
  backend?: Backend | string;
  requiresGrad?: boolean;
}

export type NestedArray = number | readonly NestedArray[];

let defaultFloat: DType = 'float32';

/**
 * The dtype of new float tensors when none is given (float32; float64 for gradient checks of
 * whole models on the reference backend). Typed arrays keep their own dtype.
 */
export function setDefaultFloatDType(dtype: 'float32' | 'float64'): void {
  defaultFloat = dtype;
}

/** The dtype new float tensors get when none is given (see setDefaultFloatDType). */
export function defaultFloatDType(): DType {
  return defaultFloat;
}

function backendFrom(b: Backend | string | undefined): Backend {
  return typeof b === 'object' ? b : getBackend(b);
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** A tensor holding `values` (row-major) with the given shape. */
export function fromArray(values: ArrayLike<number>, shape: readonly number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'fromArray');
  if (values.length !== sizeOf(shape)) {
    throw new ShapeError(
      `fromArray: ${values.length} values cannot fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`,
    );
  }
  const dtype = options.dtype ?? (ArrayBuffer.isView(values) ? dtypeOfArray(values as TypedArray) : defaultFloat);
  const backend = backendFrom(options.backend);
  if (!backend.dtypes.includes(dtype)) {
    throw new MambaError(
      `the ${backend.name} backend has no ${dtype} tensors; use one of ${backend.dtypes.join(', ')}`,
    );
  }
  const t = Tensor.empty(shape, dtype, backend);
  if (values.length > 0) backend.write(t.storage.handle, dtype, 0, values);
  return finish(t, options);
}

function nestedShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0] as NestedArray;
  }
  return shape;
}

/** A tensor from a number, nested arrays or a typed array (which keeps its dtype). */
export function tensor(
  values: NestedArray | TypedArray,
  options: CreateOptions & { shape?: readonly number[] } = {},
): Tensor {
  if (ArrayBuffer.isView(values)) return fromArray(values, options.shape ?? [values.length], options);
  const shape = nestedShape(values);
  const flat = typeof values === 'number' ? [values] : (values as readonly NestedArray[]).flat(Infinity as 1);
  if (flat.length !== sizeOf(shape) || flat.some((v) => typeof v !== 'number')) {
    throw new ShapeError(
      `tensor: nested arrays are ragged or hold non-numbers; expected a regular array of shape ${formatShape(shape)}`,
    );
  }
  return fromArray(flat as number[], options.shape ?? shape, options);
}

/** A tensor of the given shape with every element `value` (default float dtype unless one is given). */
export function full(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  checkShape(shape, 'full');
  const backend = backendFrom(options.backend);
  const t = Tensor.empty(shape, options.dtype ?? defaultFloat, backend);
  backend.fill(t.view(), value);
  return finish(t, options);
}

/** A tensor of zeros with the given shape. */
export const zeros = (shape: readonly number[], options: CreateOptions = {}) => full(shape, 0, options);
/** A tensor of ones with the given shape. */
export const ones = (shape: readonly number[], options: CreateOptions = {}) => full(shape, 1, options);

function like(t: Tensor, options: CreateOptions): CreateOptions {
  return { dtype: t.dtype, backend: t.backend, ...options };
}

/** Zeros with the shape, dtype and backend of `t` (the options may change the last two). */
export const zerosLike = (t: Tensor, options: CreateOptions = {}) => full(t.shape, 0, like(t, options));
/** Ones with the shape, dtype and backend of `t` (the options may change the last two). */
export const onesLike = (t: Tensor, options: CreateOptions = {}) => full(t.shape, 1, like(t, options));
/** `value` everywhere, with the shape, dtype and backend of `t` (the options may change the last two). */
export const fullLike = (t: Tensor, value: number, options: CreateOptions = {}) =>
  full(t.shape, value, like(t, options));

/** start, start+step, ... below end; int32 when all arguments are integers, else the default float dtype. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new MambaError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const dtype = options.dtype ?? ([lo, hi, step].every(Number.isInteger) ? 'int32' : defaultFloat);
  const values = allocTypedArray(dtype, n);
  for (let i = 0; i < n; i++) values[i] = lo + i * step;
  return fromArray(values, [n], { ...options, dtype });
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

/** Uniform samples in [low, high). */
export function rand(shape: readonly number[], options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const { generator = defaultGenerator, low = 0, high = 1 } = options;
  const values = new Float64Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * generator.uniform();
  return fromArray(values, shape, { dtype: defaultFloat, ...options });
}

/** Normal samples with the given mean and standard deviation. */
export function randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const { generator = defaultGenerator, mean = 0, std = 1 } = options;
  const values = new Float64Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = mean + std * generator.normal();
  return fromArray(values, shape, { dtype: defaultFloat, ...options });
}

/** Uniform integers in [low, high) as int32. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  const { generator = defaultGenerator } = options;
  const values = new Int32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = low + generator.int(high - low);
  return fromArray(values, shape, { ...options, dtype: 'int32' });
}

/** A copy of t on another backend (t itself when it is already there). */
export function toBackend(t: Tensor, backend: Backend | string): Tensor {
  const target = backendFrom(backend);
  if (target === t.backend) return t;
  return fromArray(t.toArray(), t.shape, { backend: target, dtype: t.dtype });
}
