import assert from 'node:assert/strict';
import type { ByteSource } from '../src/formats/byte-source.js';
import { fromArray, gradcheck, Generator, MambaError, type Tensor } from '../src/index.js';

/** A float64 leaf on the reference backend with values uniform in [lo, hi). */
export function f64(shape: number[], seed: number, lo = -1, hi = 1, requiresGrad = true): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float64Array(n).map(() => lo + (hi - lo) * g.uniform());
  return fromArray(values, shape, { dtype: 'float64', backend: 'reference', requiresGrad });
}

/** Like f64, but every |value| is at least `gap` away from the kinks at `avoid`. */
export function f64Away(shape: number[], seed: number, avoid: number[], gap = 0.05, lo = -2, hi = 2): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = lo + (hi - lo) * g.uniform();
    while (avoid.some((a) => Math.abs(v - a) < gap));
    values[i] = v;
  }
  return fromArray(values, shape, { dtype: 'float64', backend: 'reference', requiresGrad: true });
}

export function int32(values: number[], shape = [values.length]): Tensor {
  return fromArray(new Int32Array(values), shape, { backend: 'reference' });
}

export function checkGrad(
  fn: (...xs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  options: { atol?: number; rtol?: number; eps?: number } = {},
): void {
  const r = gradcheck(fn, inputs, options);
  for (const t of inputs) t.dispose();
  assert.ok(r.ok, r.message);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = (Number.isNaN(a) && Number.isNaN(e)) || Math.abs(a - e) <= tol * (1 + Math.abs(e));
    assert.ok(ok, `${what}[${i}]: ${a} vs expected ${e} (tol ${tol})`);
  }
}

/** Asserts that a promise rejects with a MambaError whose message contains every part. */
export async function rejectsWith(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
    for (const part of parts)
      assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
    return true;
  });
}

/** A source that counts the bytes read from it: opening a checkpoint must read its headers only. */
export function countingSource(inner: ByteSource): ByteSource & { bytesRead: number } {
  const source = {
    name: inner.name,
    size: inner.size,
    bytesRead: 0,
    read: async (offset: number, length: number) => {
      const bytes = await inner.read(offset, length);
      source.bytesRead += bytes.byteLength;
      return bytes;
    },
  };
  return source;
}
