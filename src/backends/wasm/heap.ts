import { MambaError } from '../../util/errors.js';

const ALIGN = 64;
const PAGE = 65536;

/** bytes rounded up to whole 64-byte blocks: what the heap hands out, a cache line apart. */
export function alignToBlock(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}
const MAX_PAGES = 65536;

/**
 * Hands out 64-byte-aligned blocks of the shared WebAssembly memory: first fit over a sorted
 * free list that merges neighbours, growing the memory (up to wasm32's 4 GiB) when nothing fits.
 */
export class WasmHeap {
  private readonly free: { start: number; size: number }[] = [];
  private readonly used = new Map<number, number>();
  private inUse = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    const start = alignToBlock(base);
    const end = memory.buffer.byteLength;
    if (end > start) this.free.push({ start, size: end - start });
  }

  get bytesInUse(): number {
    return this.inUse;
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, alignToBlock(bytes));
    let i = this.free.findIndex((b) => b.size >= size);
    if (i < 0) {
      this.grow(size);
      i = this.free.findIndex((b) => b.size >= size);
    }
    const block = this.free[i]!;
    const ptr = block.start;
    if (block.size === size) this.free.splice(i, 1);
    else {
      block.start += size;
      block.size -= size;
    }
    this.used.set(ptr, size);
    this.inUse += size;
    return ptr;
  }

  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`internal error: wasm heap free of unknown block ${ptr}`);
    this.used.delete(ptr);
    this.inUse -= size;
    this.insertFree(ptr, size);
  }

  /** Block sizes as allocated (rounded up), for the memory figures. */
  sizeOf(ptr: number): number {
    return this.used.get(ptr) ?? 0;
  }

  private insertFree(start: number, size: number): void {
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.free[lo - 1];
    const next = this.free[lo];
    if (prev && prev.start + prev.size === start) {
      prev.size += size;
      if (next && prev.start + prev.size === next.start) {
        prev.size += next.size;
        this.free.splice(lo, 1);
      }
    } else if (next && start + size === next.start) {
      next.start = start;
      next.size += size;
    } else {
      this.free.splice(lo, 0, { start, size });
    }
  }

  private grow(needed: number): void {
    const current = this.memory.buffer.byteLength / PAGE;
    const last = this.free[this.free.length - 1];
    const tailFree = last && last.start + last.size === current * PAGE ? last.size : 0;
    const minPages = Math.ceil((needed - tailFree) / PAGE);
    const pages = Math.min(Math.max(minPages, current), MAX_PAGES - current);
    if (pages < minPages) {
      throw new MambaError(
        `out of WebAssembly memory: ${needed} more bytes do not fit in the 4 GiB a wasm32 memory can hold ` +
          `(${this.inUse} bytes in use); use smaller batches or a smaller model`,
      );
    }
    this.memory.grow(pages);
    this.insertFree(current * PAGE, pages * PAGE);
  }
}
