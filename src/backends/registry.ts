import type { Backend, PartialBackend } from './backend.js';
import { withFallback } from './fallback.js';
import { KERNEL_NAMES } from './kernel-signatures.js';
import { ReferenceBackend } from './reference/index.js';
import { MambaError } from '../util/errors.js';

const factories = new Map<string, () => Backend>([['reference', () => new ReferenceBackend()]]);
const instances = new Map<string, Backend>();
let current: Backend | null = null;
let defaultName = 'reference';

/**
 * Makes a backend available by name (faster backends register themselves here). A partial
 * backend names the registered backend that runs the kernels it lacks; it is composed with that
 * one (withFallback, copying bridge) when first asked for.
 */
export function registerBackend(name: string, factory: () => Backend): void;
export function registerBackend(name: string, factory: () => PartialBackend, fallback: string): void;
export function registerBackend(name: string, factory: () => PartialBackend, fallback?: string): void {
  if (fallback === name) throw new MambaError(`the ${name} backend cannot be its own fallback`);
  factories.set(name, () => {
    const backend = factory();
    if (fallback !== undefined) return withFallback(backend, getBackend(fallback));
    const missing = KERNEL_NAMES.filter((k) => typeof backend[k] !== 'function');
    if (missing.length > 0) {
      throw new MambaError(
        `the ${backend.name} backend lacks the kernels ${missing.join(', ')}; register it with a fallback backend's name`,
      );
    }
    return backend as Backend;
  });
}

/** The names getBackend() and setBackend() accept: 'reference' and each registered backend. */
export function backendNames(): string[] {
  return [...factories.keys()];
}

/** Names the backend that getBackend() creates on first use, unless one was set already. */
export function setDefaultBackendName(name: string): void {
  if (!factories.has(name)) throw new MambaError(`unknown backend '${name}'; available: ${backendNames().join(', ')}`);
  defaultName = name;
}

/** A backend by name, or the current one (created on first use). */
export function getBackend(name?: string): Backend {
  if (name === undefined) {
    current ??= getBackend(defaultName);
    return current;
  }
  let backend = instances.get(name);
  if (!backend) {
    const factory = factories.get(name);
    if (!factory) {
      throw new MambaError(`unknown backend '${name}'; available: ${backendNames().join(', ')}`);
    }
    backend = factory();
    instances.set(name, backend);
  }
  return backend;
}

/** Sets the backend that new tensors use when none is named. */
export function setBackend(backend: string | Backend): Backend {
  current = typeof backend === 'string' ? getBackend(backend) : backend;
  return current;
}
