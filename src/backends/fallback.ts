import type { Backend, KernelName, PartialBackend } from './backend.js';
import { copyingBridge, type Bridge } from './bridges.js';
import { KERNEL_NAMES, type KernelArgs } from './kernel-signatures.js';
import { MambaError } from '../util/errors.js';

/** What a composed backend tells of its making. */
export interface FallbackInfo {
  /** The kernels that run on the fallback backend, in the order of the signature table. */
  readonly fallbackKernels: readonly KernelName[];
}

export type ComposedBackend<P extends PartialBackend> = P & Backend & FallbackInfo;

/**
 * A full backend from a partial one: each kernel the partial backend has runs there (called
 * directly, at no extra cost); each other kernel runs on `fallback` through `bridge`, which by
 * default copies the spans its views reach (pass sharedMemoryBridge where the fallback can
 * address the partial's memory). The result inherits from `partial`, so its memory, name, dtypes
 * and other members are the partial's; use it instead of `partial` from then on. (Its methods
 * run with `this` the composed object, so a partial backend keeps its state in ordinary fields,
 * not #private ones.) A kernel that neither backend has throws a MambaError naming both when it
 * is called.
 */
export function withFallback<P extends PartialBackend>(
  partial: P,
  fallback: PartialBackend,
  bridge?: Bridge,
): ComposedBackend<P> {
  const composed = Object.create(partial) as Record<KernelName, unknown>;
  const missing = KERNEL_NAMES.filter((name) => typeof partial[name] !== 'function');
  const fallbackKernels = missing.filter((name) => typeof fallback[name] === 'function');
  // A partial fallback is asked only for the kernels it has.
  const run = bridge ?? copyingBridge(partial, fallback as Backend);
  for (const name of missing) {
    composed[name] = fallbackKernels.includes(name)
      ? (...args: KernelArgs<typeof name>) => run(name, args)
      : () => {
          throw new MambaError(
            `the ${partial.name} backend has no '${name}' kernel, and neither has its fallback, the ${fallback.name} backend`,
          );
        };
  }
  return Object.assign(composed, { fallbackKernels: Object.freeze(fallbackKernels) }) as unknown as ComposedBackend<P>;
}
