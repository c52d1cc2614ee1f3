import type { Backend, BackendCore, KernelName, Kernels, StorageHandle, View } from './backend.js';
import type { DType } from './dtype.js';
import { forEachKernelView, mapKernelViews, type Access, type KernelArgs } from './kernel-signatures.js';
import { isContiguousLayout, sizeOf } from './strides.js';

/** Runs one of a fallback backend's kernels on views of another backend's memory. */
export type Bridge = <K extends KernelName>(name: K, args: KernelArgs<K>) => void;

function call<K extends KernelName>(kernels: Kernels, name: K, args: KernelArgs<K>): void {
  (kernels[name] as (...a: KernelArgs<K>) => void).apply(kernels, args);
}

/**
 * For a backend whose memory the fallback's kernels can address directly (the wasm backend's
 * memory is a typed array to the reference kernels): each view is translated, nothing is copied.
 */
export function sharedMemoryBridge(fallback: Kernels, translate: (view: View) => View): Bridge {
  return (name, args) => call(fallback, name, mapKernelViews(name, args, translate));
}

/** Everything one kernel call touches of one storage handle. */
interface Span {
  dtype: DType;
  /** First and last element any non-empty view reaches (lo > hi: none does). */
  lo: number;
  hi: number;
  /** A view reads it, so the fallback copy starts from its contents. */
  read: boolean;
  written: boolean;
  /** One write-only contiguous view covers it all: its old contents need not be copied in. */
  covered: boolean;
  copy: StorageHandle;
}

/** [first, last] element offsets a non-empty view reaches; strides may be 0 or negative. */
function extent(view: View): [number, number] {
  let lo = view.offset;
  let hi = view.offset;
  view.shape.forEach((size, d) => {
    const reach = (size - 1) * view.strides[d]!;
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  return [lo, hi];
}

/** The spans of the handles a call's views reference, one per handle. */
function spansOf(views: readonly [View, Access][]): Map<StorageHandle, Span> {
  const spans = new Map<StorageHandle, Span>();
  for (const [view, access] of views) {
    let span = spans.get(view.handle);
    if (!span) {
      span = {
        dtype: view.dtype,
        lo: Infinity,
        hi: -Infinity,
        read: false,
        written: false,
        covered: false,
        copy: null,
      };
      spans.set(view.handle, span);
    }
    span.read ||= access !== 'write';
    span.written ||= access !== 'read';
    if (sizeOf(view.shape) === 0) continue;
    const [lo, hi] = extent(view);
    span.lo = Math.min(span.lo, lo);
    span.hi = Math.max(span.hi, hi);
  }
  for (const [view, access] of views) {
    const span = spans.get(view.handle)!;
    span.covered ||=
      access === 'write' &&
      isContiguousLayout(view.shape, view.strides) &&
      view.offset === span.lo &&
      view.offset + sizeOf(view.shape) - 1 === span.hi;
  }
  return spans;
}

/**
 * For a backend whose memory the fallback cannot address (a GPU, or any memory of its own): per
 * call, each storage handle the arguments reference is copied, over the span of elements its
 * views reach, into fresh fallback storage; the views are rebased onto it; after the kernel the
 * spans of handles it wrote are copied back. One copy per handle keeps arguments that alias
 * (selectiveScan's lastState and inputs.h0) aliased. Needs a partial backend that reads
 * synchronously.
 */
export function copyingBridge(partial: BackendCore, fallback: Backend): Bridge {
  return (name, args) => {
    const views: [View, Access][] = [];
    forEachKernelView(name, args, (view, access) => views.push([view, access]));
    const spans = spansOf(views);
    const allocated: Span[] = [];
    try {
      for (const [handle, span] of spans) {
        const length = Math.max(0, span.hi - span.lo + 1);
        span.copy = fallback.alloc(span.dtype, length);
        allocated.push(span);
        if (length > 0 && (span.read || !span.covered))
          fallback.write(span.copy, span.dtype, 0, partial.read(handle, span.dtype, span.lo, length));
      }
      const rebase = (view: View): View => {
        const span = spans.get(view.handle)!;
        return { ...view, handle: span.copy, offset: sizeOf(view.shape) === 0 ? 0 : view.offset - span.lo };
      };
      try {
        call(fallback, name, mapKernelViews(name, args, rebase));
      } finally {
        // Also after an error, so that what a failing kernel had written lands as it would have
        // on the fallback (indexAdd leaves the rows before a bad index added).
        for (const [handle, span] of spans) {
          const length = span.hi - span.lo + 1;
          if (span.written && length > 0)
            partial.write(handle, span.dtype, span.lo, fallback.read(span.copy, span.dtype, 0, length));
        }
      }
    } finally {
      for (const span of allocated) fallback.free(span.copy);
    }
  };
}
