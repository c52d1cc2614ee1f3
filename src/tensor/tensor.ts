import type { Backend, StorageHandle, View } from '../backends/backend.js';
import { DisposedError, ShapeError } from '../util/errors.js';
import type { GradNode } from './autograd-node.js';
import { bytesPerElement, type DType, type TypedArray } from '../backends/dtype.js';
import { track } from './scope.js';
import { isContiguousLayout } from '../backends/strides.js';
import { contiguousStrides, formatShape, sizeOf, type Shape } from './shape.js';
import { Storage } from './storage.js';
import { formatTensor } from './format.js';

/**
 * An n-dimensional array on a backend: a strided window (shape, strides, offset) onto a
 * reference-counted Storage, plus its place in the autograd graph. Operations live in ops/ and
 * are also reachable as methods (installed by ops/fluent.ts).
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly size: number;
  /** When true, backward() fills .grad for this tensor (a leaf) or flows through it. */
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The graph node that produced this tensor, and which of its outputs this is. */
  gradFn: GradNode<Tensor> | null = null;
  outputIndex = 0;
  /** Kept tensors are never freed by a scope. */
  kept = false;
  private storageRef: Storage | null;

  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    this.storageRef = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = storage.dtype;
    this.size = sizeOf(shape);
    track(this);
  }

  /** A new contiguous tensor whose memory is uninitialised: the caller writes every element. */
  static empty(shape: Shape, dtype: DType, backend: Backend): Tensor {
    const length = sizeOf(shape);
    return new Tensor(new Storage(backend, backend.alloc(dtype, length), dtype, length), shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storageRef === null;
  }

  get storage(): Storage {
    if (this.storageRef === null) {
      throw new DisposedError(
        `use of a disposed tensor (shape ${formatShape(this.shape)}, ${this.dtype}); ` +
          'return it from its scope or keep() it to use it later',
      );
    }
    return this.storageRef;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get isContiguous(): boolean {
    return isContiguousLayout(this.shape, this.strides);
  }

  /** Bytes of the elements this tensor addresses (views share their storage's bytes). */
  get bytes(): number {
    return this.size * bytesPerElement(this.dtype);
  }

  /** The descriptor kernels read. */
  view(): View {
    return {
      handle: this.storage.handle,
      dtype: this.dtype,
      offset: this.offset,
      shape: this.shape,
      strides: this.strides,
    };
  }

  /** A tensor over the same storage with another shape/strides/offset (no copy, no autograd). */
  restride(shape: Shape, strides?: readonly number[], offset = this.offset): Tensor {
    return new Tensor(this.storage.retain(), shape, strides, offset);
  }

  /** Overwrites every element with `values` (row-major) in place; the tensor must be contiguous. */
  write(values: ArrayLike<number>): void {
    if (!this.isContiguous || values.length !== this.size) {
      throw new ShapeError(
        `write(): ${values.length} values for a ${this.isContiguous ? '' : 'non-contiguous '}tensor of shape ${formatShape(this.shape)}`,
      );
    }
    this.backend.write(this.storage.handle, this.dtype, this.offset, values);
  }

  /**
   * Where this tensor's elements lie in row-major order: its own storage when contiguous, else a
   * contiguous copy. The storage is retained until release(), so that an asynchronous read
   * outlives a dispose() issued meanwhile.
   */
  private rowMajor(): { handle: StorageHandle; offset: number; release(): void } {
    const backend = this.backend;
    if (this.isContiguous) {
      const storage = this.storage.retain();
      return { handle: storage.handle, offset: this.offset, release: () => storage.release() };
    }
    const handle = backend.alloc(this.dtype, this.size);
    try {
      backend.copy(
        { handle, dtype: this.dtype, offset: 0, shape: this.shape, strides: contiguousStrides(this.shape) },
        this.view(),
      );
    } catch (error) {
      backend.free(handle);
      throw error;
    }
    return { handle, offset: 0, release: () => backend.free(handle) };
  }

  /**
   * Copies the elements out in row-major order. A backend that cannot read its memory
   * synchronously (a GPU) throws here; use data().
   */
  toArray(): TypedArray {
    const source = this.rowMajor();
    try {
      return this.backend.read(source.handle, this.dtype, source.offset, this.size);
    } finally {
      source.release();
    }
  }

  /** The elements in row-major order, as toArray() gives them, on every backend. */
  async data(): Promise<TypedArray> {
    const backend = this.backend;
    const source = this.rowMajor();
    try {
      return await backend.readAsync(source.handle, this.dtype, source.offset, this.size);
    } finally {
      source.release();
    }
  }

  /** Nested JavaScript arrays (a number for a 0-d tensor). */
  toNested(): unknown {
    const flat = Array.from(this.toArray());
    const build = (dim: number, start: number): unknown => {
      if (dim === this.rank) return flat[start];
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, start + i * step));
    };
    return build(0, 0);
  }

  /** The value of a single-element tensor. */
  item(): number {
    this.assertSingle('item');
    return this.toArray()[0]!;
  }

  /** The value of a single-element tensor, as item() gives it, on every backend. */
  async itemAsync(): Promise<number> {
    this.assertSingle('itemAsync');
    return (await this.data())[0]!;
  }

  private assertSingle(method: string): void {
    if (this.size !== 1) {
      throw new ShapeError(
        `${method}(): the tensor has ${this.size} elements (shape ${formatShape(this.shape)}); ${method}() needs exactly one`,
      );
    }
  }

  /** Frees this handle's claim on its storage, its gradient and its graph node. Idempotent. */
  dispose(): void {
    if (this.storageRef === null) return;
    this.storageRef.release();
    this.storageRef = null;
    if (this.gradFn) this.gradFn.releaseOutput();
    this.gradFn = null;
    this.grad?.dispose();
    this.grad = null;
  }

  toString(): string {
    if (this.isDisposed) return `Tensor(disposed, shape=${formatShape(this.shape)}, dtype=${this.dtype})`;
    return formatTensor(this.toArray(), this.shape, this.dtype, this.requiresGrad);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
