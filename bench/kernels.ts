import * as mt from '../src/index.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { runNumpy, type NumpyJob } from './numpy.js';
import { rate, time } from './timing.js';

const REPEATS = 9;
const THREADS = [1, 2];

interface Job {
  name: string;
  /** Bytes read and written per call, for GB/s. */
  bytes: number;
  numpy: NumpyJob;
  run: (backend: mt.Backend) => () => void;
}

const N = 1 << 22;
const ROWS = 4096;
const COLS = 768;

function jobs(): Job[] {
  const vector = (backend: mt.Backend) => mt.rand([N], { backend });
  return [
    {
      name: 'add (elementwise, 4M floats)',
      bytes: 3 * 4 * N,
      numpy: { kind: 'add', n: N, repeats: REPEATS },
      run: (backend) => {
        const [x, y] = [vector(backend), vector(backend)];
        return () => mt.add(x, y).dispose();
      },
    },
    {
      name: 'exp (elementwise, 4M floats)',
      bytes: 2 * 4 * N,
      numpy: { kind: 'exp', n: N, repeats: REPEATS },
      run: (backend) => {
        const x = vector(backend);
        return () => mt.exp(x).dispose();
      },
    },
    {
      name: 'sum over rows [4096, 768]',
      bytes: 4 * ROWS * COLS,
      numpy: { kind: 'sum', rows: ROWS, cols: COLS, repeats: REPEATS },
      run: (backend) => {
        const x = mt.rand([ROWS, COLS], { backend });
        return () => mt.sum(x, 1).dispose();
      },
    },
  ];
}

/** Elementwise and reduction throughput in GB/s on 1 and 2 threads, beside numpy's. */
export function benchKernels(): object[] {
  const list = jobs();
  const rows: object[] = [];
  for (const threads of THREADS) {
    const numpy = runNumpy(
      list.map((j) => j.numpy),
      threads,
    );
    const backend = createNodeWasmBackend({ threads });
    list.forEach((job, i) => {
      const seconds = mt.scope(() => time(job.run(backend), REPEATS));
      const ours = rate(job.bytes / 1e9, seconds);
      const theirs = 'results' in numpy ? rate(job.bytes / 1e9, numpy.results[i]!) : null;
      rows.push({
        name: job.name,
        threads,
        gbps: ours,
        numpyGbps: theirs ?? ('unavailable' in numpy ? numpy.unavailable : null),
        ratioToNumpy: theirs ? Number((ours.best / theirs.best).toFixed(3)) : null,
      });
    });
    backend.dispose();
  }
  return rows;
}

/** Bytes in use by the wasm heap around a long loop of forward and backward kernel calls. */
export function benchMemory(): object {
  const backend = createNodeWasmBackend({ threads: 2 });
  const x = mt.rand([256, 256], { backend, requiresGrad: true });
  const w = mt.rand([256, 256], { backend, requiresGrad: true });
  const step = () =>
    mt.scope(() => {
      const y = mt.layerNorm(mt.silu(mt.matmul(x, w)));
      mt.sum(mt.softmax(y)).backward();
    });
  step();
  const afterFirst = backend.bytesInUse();
  const loops = 1000;
  for (let i = 0; i < loops; i++) step();
  const after = backend.bytesInUse();
  backend.dispose();
  return {
    name: 'wasm heap bytes in use around a loop of forward/backward steps',
    steps: loops + 1,
    bytesAfterFirstStep: afterFirst,
    bytesAfterLastStep: after,
    grew: after !== afterFirst,
  };
}
