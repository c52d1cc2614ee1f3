import type { View } from '../backend.js';
import { sharedMemoryBridge, type Bridge } from '../bridges.js';
import type { DType, TypedArray } from '../dtype.js';
import * as referenceKernels from '../reference/kernels.js';
import type { WasmHeap } from './heap.js';
import { LAYOUT_WORDS } from './abi/strided.js';
import { coalesce, writeLayout } from './layout.js';
import type { ThreadPool } from './pool.js';

/** A storage block in wasm memory. */
export interface WasmHandle {
  readonly ptr: number;
  readonly bytes: number;
}

/**
 * What a kernel wrapper (kernels/*.ts) needs of the backend: addresses of views, scratch
 * memory, the layout block, the reference kernels and the thread pool.
 */
export class WasmContext {
  private f32View: Float32Array;
  private i32View: Int32Array;
  readonly layoutPtr: number;
  /**
   * The reference kernels run on views of this memory, without copies: the backend's fallback for
   * the kernels it lacks, and the wrappers' for the calls a wasm kernel does not take.
   */
  readonly reference: Bridge = sharedMemoryBridge(referenceKernels, (v) => this.asRef(v));

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly heap: WasmHeap,
    readonly pool: ThreadPool,
    private readonly fn: Record<string, number>,
    /**
     * Work from which a call runs on every thread, in units of one elementwise element; matmul-like
     * kernels count multiply-adds / 64 (waking the pool costs 30-50 us here).
     */
    readonly parallelThreshold: number,
  ) {
    this.f32View = new Float32Array(memory.buffer);
    this.i32View = new Int32Array(memory.buffer);
    this.layoutPtr = heap.alloc(LAYOUT_WORDS * 4);
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** A typed array over all of wasm memory (renewed after the memory grows). */
  array(dtype: DType): TypedArray {
    if (this.f32View.buffer.byteLength !== this.memory.buffer.byteLength) {
      this.f32View = new Float32Array(this.memory.buffer);
      this.i32View = new Int32Array(this.memory.buffer);
    }
    return dtype === 'int32' ? this.i32View : this.f32View;
  }

  /** Byte address of a view's first element. */
  addr(v: View): number {
    return (v.handle as WasmHandle).ptr + v.offset * 4;
  }

  /** The view as the reference kernels see it: a typed array over all of wasm memory. */
  private asRef(v: View): View {
    return { ...v, handle: this.array(v.dtype), offset: (v.handle as WasmHandle).ptr / 4 + v.offset };
  }

  /**
   * Writes the coalesced layout of views walked together (see assembly/strided.ts) and returns
   * its address, or null when it needs more dimensions than the kernels take.
   */
  layout(shape: readonly number[], ...views: View[]): number | null {
    const c = coalesce(
      shape,
      views.map((v) => v.strides),
    );
    if (!c) return null;
    writeLayout(new Int32Array(this.memory.buffer, this.layoutPtr, LAYOUT_WORDS), c.shape, c.strides);
    return this.layoutPtr;
  }

  /**
   * Runs an exported kernel; on every thread when `work` reaches the parallel threshold.
   * Returns the number of threads that took part.
   */
  run(name: string, args: number[], work: number): number {
    const index = this.fn[name];
    if (index === undefined) throw new Error(`internal error: the wasm module has no kernel '${name}'`);
    const parallel = work >= this.parallelThreshold;
    this.pool.run(index, args, parallel);
    return parallel ? this.pool.threads : 1;
  }

  /** Temporary wasm memory for one kernel call; release it with freeScratch. */
  scratch(bytes: number): number {
    return this.heap.alloc(bytes);
  }

  freeScratch(ptr: number): void {
    this.heap.release(ptr);
  }
}
