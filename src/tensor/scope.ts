import { MambaError } from '../util/errors.js';

/** What a scope needs of a tensor (kept here so that scopes do not depend on the Tensor class). */
export interface Scoped {
  kept: boolean;
  dispose(): void;
}

const scopes: Set<Scoped>[] = [];

/** Called by every new tensor: the innermost open scope will free it unless it is returned. */
export function track(t: Scoped): void {
  scopes[scopes.length - 1]?.add(t);
}

function collect(value: unknown, into: Set<unknown>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ('kept' in value && 'dispose' in value) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, into, seen);
}

/**
 * Runs fn and disposes every tensor it created that is neither returned (directly, or inside
 * arrays, maps and plain objects) nor kept. Returned tensors move to the enclosing scope.
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Scoped>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of created) if (!t.kept) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new MambaError(
      'scope(fn): fn returned a Promise; scopes are synchronous, so await outside and scope the synchronous parts',
    );
  }
  const returned = new Set<unknown>();
  collect(result, returned, new Set());
  const outer = scopes[scopes.length - 1];
  for (const t of created) {
    if (t.kept) continue;
    if (returned.has(t)) outer?.add(t);
    else t.dispose();
  }
  return result;
}

/** Exempts a tensor from every scope: it lives until dispose() is called on it. */
export function keep<T extends Scoped>(t: T): T {
  t.kept = true;
  for (const s of scopes) s.delete(t);
  return t;
}
