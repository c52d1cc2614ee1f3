import * as mt from '../src/index.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { runNumpy } from './numpy.js';
import { time } from './timing.js';

/**
 * The selective scan of one mamba-130m layer (d_inner 1536, d_state 16) over 128 and 1024
 * tokens, forward and forward + backward, on 1 and 2 threads, in state updates per second,
 * beside the same forward scan written as a numpy loop over time.
 */
export function benchScan(): object[] {
  const rows: object[] = [];
  for (const threads of [1, 2]) {
    const backend = createNodeWasmBackend({ threads });
    for (const len of [128, 1024]) {
      const [d, n] = [1536, 16];
      const g = new mt.Generator(0);
      const opts = { backend, generator: g, requiresGrad: true };
      const args = {
        u: mt.randn([1, len, d], opts),
        delta: mt.randn([1, len, d], opts),
        A: mt.rand([d, n], { ...opts, low: -2, high: -0.1 }),
        B: mt.randn([1, len, n], opts),
        C: mt.randn([1, len, n], opts),
        D: mt.randn([d], opts),
        z: mt.randn([1, len, d], opts),
        deltaBias: mt.randn([d], opts),
      };
      const forward = time(() => mt.noGrad(() => mt.scope(() => void mt.selectiveScan(args))), 5);
      const both = time(() => mt.scope(() => mt.sum(mt.selectiveScan(args).y).backward()), 3);
      const updates = len * d * n;
      const numpy = runNumpy([{ kind: 'scan', length: len, d, n, repeats: 3 }], threads);
      const numpyRate = 'results' in numpy ? updates / numpy.results[0]!.min : null;
      rows.push({
        name: 'selective scan, one mamba-130m layer',
        threads,
        length: len,
        forwardMs: { min: forward.min * 1e3, median: forward.median * 1e3 },
        forwardBackwardMs: { min: both.min * 1e3, median: both.median * 1e3 },
        forwardStateUpdatesPerS: updates / forward.min,
        numpyLoopStateUpdatesPerS: numpyRate ?? ('unavailable' in numpy ? numpy.unavailable : null),
        ratioToNumpy: numpyRate ? Number((updates / forward.min / numpyRate).toFixed(2)) : null,
      });
      for (const t of Object.values(args)) t.dispose();
    }
    backend.dispose();
  }
  return rows;
}
