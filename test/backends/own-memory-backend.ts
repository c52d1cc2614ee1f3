import * as referenceKernels from '../../src/backends/reference/kernels.js';
import * as mt from '../../src/index.js';

/**
 * A backend test double with memory of its own (typed arrays behind numeric handles), like a GPU
 * whose buffers the reference kernels cannot address: composed with a fallback, every kernel it
 * lacks goes through the copying bridge. The kernels it has are the reference code run on its
 * memory, so a composed model must agree with the reference backend to the bit. It counts the
 * calls of its own kernels.
 */
export class OwnMemoryBackend implements mt.PartialBackend {
  readonly dtypes: readonly mt.DType[] = ['float32', 'int32'];
  readonly calls = new Map<mt.KernelName, number>();
  private readonly storages = new Map<number, mt.TypedArray>();
  private nextHandle = 1;

  constructor(
    readonly name: string,
    kernels: readonly mt.KernelName[],
    /** false: read() throws as on a GPU, and only readAsync() reads. */
    private readonly syncRead = true,
  ) {
    const run = mt.sharedMemoryBridge(referenceKernels, (v) => ({ ...v, handle: this.array(v.handle) }));
    const own = this as unknown as Record<mt.KernelName, (...args: never[]) => void>;
    for (const name of kernels) {
      own[name] = (...args) => {
        this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
        run(name, args as unknown as mt.KernelArgs<typeof name>);
      };
    }
  }

  private array(handle: mt.StorageHandle): mt.TypedArray {
    const array = this.storages.get(handle as number);
    if (!array) throw new Error(`${this.name}: unknown handle ${String(handle)}`);
    return array;
  }

  alloc(dtype: mt.DType, length: number): mt.StorageHandle {
    const handle = this.nextHandle++;
    this.storages.set(handle, dtype === 'int32' ? new Int32Array(length) : new Float32Array(length));
    return handle;
  }

  free(handle: mt.StorageHandle): void {
    this.array(handle);
    this.storages.delete(handle as number);
  }

  bytesInUse(): number {
    let bytes = 0;
    for (const a of this.storages.values()) bytes += a.byteLength;
    return bytes;
  }

  write(handle: mt.StorageHandle, _dtype: mt.DType, offset: number, data: ArrayLike<number>): void {
    this.array(handle).set(data, offset);
  }

  read(handle: mt.StorageHandle, _dtype: mt.DType, offset: number, length: number): mt.TypedArray {
    if (!this.syncRead)
      throw new mt.MambaError(`the ${this.name} backend cannot read synchronously; use await tensor.data()`);
    return this.array(handle).slice(offset, offset + length);
  }

  readAsync(handle: mt.StorageHandle, _dtype: mt.DType, offset: number, length: number): Promise<mt.TypedArray> {
    const copy = this.array(handle).slice(offset, offset + length);
    return new Promise((resolve) => setTimeout(() => resolve(copy), 1));
  }
}
