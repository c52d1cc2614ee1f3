// Runs in the test page (see browser.test.ts), which serves dist/ as its root: the browser entry
// is at /src/browser.js.
import * as mt from '../../src/browser.js';

export interface PageReport {
  crossOriginIsolated: boolean;
  backend: string;
  threads: number;
  isDefault: boolean;
  registered: boolean;
  /** Each comparison that ran, with its largest error relative to max(1, |reference|). */
  checks: { name: string; size: number; maxError: number }[];
  failures: string[];
}

const TOL = 1e-5;

function data(shape: number[], seed: number, lo = -1, hi = 1): Float32Array {
  const g = new mt.Generator(seed);
  return new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => lo + (hi - lo) * g.uniform());
}

/** An op on inputs made on a backend, returning the tensors to compare (outputs, gradients). */
type Case = (make: (values: Float32Array, shape: number[], requiresGrad?: boolean) => mt.Tensor) => mt.Tensor[];

// Sizes are above the wasm backend's parallel threshold (32768 elements) so that kernels run
// on every thread, workers included.
const cases: [string, Case][] = [
  ['exp', (make) => [mt.exp(make(data([64, 1024], 1, -8, 8), [64, 1024]))]],
  ['silu', (make) => [mt.silu(make(data([64, 1024], 2, -10, 10), [64, 1024]))]],
  ['softplus', (make) => [mt.softplus(make(data([64, 1024], 3, -25, 25), [64, 1024]))]],
  [
    'broadcast add and mul',
    (make) => {
      const a = make(data([64, 1024], 4), [64, 1024]);
      const b = make(data([1024], 5), [1024]);
      const c = make(data([64, 1], 6), [64, 1]);
      return [mt.mul(mt.add(a, b), c)];
    },
  ],
  ['matmul', (make) => [mt.matmul(make(data([96, 128], 7), [96, 128]), make(data([128, 80], 8), [128, 80]))]],
  ['softmax', (make) => [mt.softmax(make(data([256, 200], 9, -6, 6), [256, 200]))]],
  [
    'sum',
    (make) => {
      const x = make(data([64, 1024], 10), [64, 1024]);
      return [mt.sum(x, 1), mt.sum(x)];
    },
  ],
  [
    'layerNorm',
    (make) => [
      mt.layerNorm(make(data([256, 256], 11), [256, 256]), make(data([256], 12), [256]), make(data([256], 13), [256])),
    ],
  ],
  [
    'backward through matmul, silu, layerNorm',
    (make) => {
      const a = make(data([96, 128], 14), [96, 128], true);
      const b = make(data([128, 256], 15), [128, 256], true);
      const w = make(data([256], 16), [256], true);
      const y = mt.layerNorm(mt.silu(mt.matmul(a, b)), w, null);
      mt.sum(mt.mul(y, make(data([96, 256], 17), [96, 256]))).backward();
      return [y, a.grad!, b.grad!, w.grad!];
    },
  ],
];

function compare(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, report: PageReport): void {
  if (actual.length !== expected.length) {
    report.failures.push(`${name}: ${actual.length} values vs ${expected.length} on the reference backend`);
    return;
  }
  let maxError = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    // NaN must fail, so compare the negation.
    if (!(error <= TOL)) {
      report.failures.push(`${name}[${i}]: ${actual[i]} vs ${expected[i]} on the reference backend`);
      return;
    }
    maxError = Math.max(maxError, error);
  }
  report.checks.push({ name, size: expected.length, maxError });
}

/** Loads the library as a page would, then compares kernels on the default backend with the reference backend. */
export async function runChecks(threads: number): Promise<PageReport> {
  const backend = await mt.init({ threads });
  const report: PageReport = {
    crossOriginIsolated,
    backend: backend.name,
    threads: backend instanceof mt.WasmBackend ? backend.threads : 1,
    isDefault: mt.getBackend() === backend,
    registered: mt.backendNames().includes('wasm') && mt.getBackend('wasm') === backend,
    checks: [],
    failures: [],
  };
  for (const [name, run] of cases) {
    const results = (on: mt.Backend | undefined) =>
      mt.scope(() =>
        run((values, shape, requiresGrad = false) =>
          mt.fromArray(values, shape, { requiresGrad, ...(on ? { backend: on } : {}) }),
        ).map((t) => t.toArray()),
      );
    // No backend named: the tensors go to the default backend that init() set.
    const actual = results(undefined);
    const expected = results(mt.getBackend('reference'));
    actual.forEach((values, i) => compare(actual.length > 1 ? `${name} #${i}` : name, values, expected[i]!, report));
  }
  return report;
}
