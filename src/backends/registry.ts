import type { Backend } from './backend.js';
import { ReferenceBackend } from './reference/index.js';
import { MambaError } from '../util/errors.js';

const factories = new Map<string, () => Backend>([['reference', () => new ReferenceBackend()]]);
const instances = new Map<string, Backend>();
let current: Backend | null = null;

/** Makes a backend available by name (faster backends register themselves here). */
export function registerBackend(name: string, factory: () => Backend): void {
  factories.set(name, factory);
}

export function backendNames(): string[] {
  return [...factories.keys()];
}

export function getBackend(name?: string): Backend {
  if (name === undefined) {
    current ??= getBackend('reference');
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
