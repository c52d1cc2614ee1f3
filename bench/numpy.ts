import { spawnSync } from 'node:child_process';

/**
 * The same measurements by numpy (OpenBLAS) in this run, as the yardstick of what the machine
 * can do. Returns null with the reason when python3 or numpy is missing.
 */
const SCRIPT = `
import json, sys, time
import numpy as np
req = json.loads(sys.stdin.read())
out = []
def timed(f, repeats):
    f()
    s = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); s.append(time.perf_counter() - t)
    s.sort()
    return {"min": s[0], "median": s[len(s) // 2]}
for job in req:
    if job["kind"] == "matmul":
        m, k, n = job["m"], job["k"], job["n"]
        a = np.random.rand(m, k).astype(np.float32); b = np.random.rand(k, n).astype(np.float32)
        out.append(timed(lambda: a @ b, job["repeats"]))
    elif job["kind"] == "linear":
        m, k, n = job["m"], job["k"], job["n"]
        x = np.random.rand(m, k).astype(np.float32); w = np.random.rand(n, k).astype(np.float32)
        out.append(timed(lambda: x @ w.T, job["repeats"]))
    elif job["kind"] == "add":
        x = np.random.rand(job["n"]).astype(np.float32); y = np.random.rand(job["n"]).astype(np.float32)
        out.append(timed(lambda: np.add(x, y), job["repeats"]))
    elif job["kind"] == "scan":
        L, d, n = job["length"], job["d"], job["n"]
        u = np.random.randn(L, d).astype(np.float32); dt = np.random.rand(L, d).astype(np.float32) * 0.1
        A = -np.random.rand(d, n).astype(np.float32); B = np.random.randn(L, n).astype(np.float32); C = np.random.randn(L, n).astype(np.float32)
        def scan():
            h = np.zeros((d, n), np.float32); y = np.empty((L, d), np.float32)
            for t in range(L):
                h = np.exp(dt[t][:, None] * A) * h + (dt[t] * u[t])[:, None] * B[t][None, :]
                y[t] = h @ C[t]
            return y
        out.append(timed(scan, job["repeats"]))
    elif job["kind"] == "read":
        w = np.random.rand(job["n"] // 1024, 1024).astype(np.float32); v = np.random.rand(1024).astype(np.float32)
        out.append(timed(lambda: w @ v, job["repeats"]))
    elif job["kind"] == "exp":
        x = np.random.rand(job["n"]).astype(np.float32)
        out.append(timed(lambda: np.exp(x), job["repeats"]))
    elif job["kind"] == "sum":
        x = np.random.rand(job["rows"], job["cols"]).astype(np.float32)
        out.append(timed(lambda: x.sum(axis=1), job["repeats"]))
print(json.dumps({"version": np.__version__, "results": out}))
`;

export type NumpyJob =
  | { kind: 'matmul'; m: number; k: number; n: number; repeats: number }
  /** x [m, k] times the transpose of w [n, k], as nn.Linear applies its weight. */
  | { kind: 'linear'; m: number; k: number; n: number; repeats: number }
  | { kind: 'add'; n: number; repeats: number }
  | { kind: 'exp'; n: number; repeats: number }
  /** The selective scan written as a numpy loop over time, vectorised over channels and state. */
  | { kind: 'scan'; length: number; d: number; n: number; repeats: number }
  /** A matrix-vector product over n floats of weights: numpy's read bandwidth on decode's access pattern. */
  | { kind: 'read'; n: number; repeats: number }
  | { kind: 'sum'; rows: number; cols: number; repeats: number };

export interface NumpyRun {
  version: string;
  results: { min: number; median: number }[];
}

export function runNumpy(jobs: NumpyJob[], threads: number): NumpyRun | { unavailable: string } {
  const r = spawnSync('python3', ['-c', SCRIPT], {
    input: JSON.stringify(jobs),
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
  });
  if (r.error) return { unavailable: `python3 could not be run: ${r.error.message}` };
  if (r.status !== 0) return { unavailable: `python3 with numpy failed: ${r.stderr.trim().split('\n').pop()}` };
  return JSON.parse(r.stdout) as NumpyRun;
}
