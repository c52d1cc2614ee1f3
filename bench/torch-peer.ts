import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: this file runs as dist/bench/torch-peer.js. */
const ROOT = new URL('../../', import.meta.url);
export const TORCH_PEER_SCRIPT = fileURLToPath(new URL('bench/peers/torch_mamba.py', ROOT));
/** Where `npm run peers:torch` (scripts/install-torch-peer.sh) puts its virtual environment. */
const VENV_PYTHON = fileURLToPath(new URL('.cache/peers/torch-venv/bin/python', ROOT));
/** A peer slower than this on the whole job is stopped, so that the bench still ends. */
const TIMEOUT_MS = 300_000;

/** A training run of the PyTorch peer (bench/peers/torch_mamba.py documents each field). */
export interface TorchPeerJob {
  dModel: number;
  nLayer: number;
  dState: number;
  dConv: number;
  expand: number;
  vocabSize: number;
  batchSize: number;
  seqLen: number;
  threads: number[];
  warmup: number;
  steps: number;
  lr: number;
  betas: [number, number];
  weightDecay: number;
  clip: number;
  /** mamba-ts's parameter count: the peer refuses to run a model of another size. */
  expectParams: number;
}

export interface TorchPeerRun {
  torch: string;
  params: number;
  expectParams: number;
  runs: {
    threads: number;
    stepSeconds: { min: number; median: number };
    tokensPerS: { best: number; median: number };
  }[];
}

/** $MAMBA_TS_PYTHON, else the venv of `npm run peers:torch`, else null. */
export function torchPeerPython(): string | null {
  const given = process.env['MAMBA_TS_PYTHON'];
  if (given) return given;
  return existsSync(VENV_PYTHON) ? VENV_PYTHON : null;
}

/** Runs the PyTorch peer on a job; says why not (with the fix) when it cannot run. */
export function runTorchPeer(job: TorchPeerJob): TorchPeerRun | { unavailable: string } {
  const python = torchPeerPython();
  if (!python) return { unavailable: 'no Python with torch: run npm run peers:torch (or set MAMBA_TS_PYTHON)' };
  const r = spawnSync(python, [TORCH_PEER_SCRIPT], {
    input: JSON.stringify(job),
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
  if (r.error) return { unavailable: `${python} could not be run (${r.error.message}): run npm run peers:torch` };
  if (r.status !== 0) {
    const reason = r.stderr.trim().split('\n').pop() || `exit status ${r.status ?? r.signal}`;
    return { unavailable: `the torch peer failed under ${python}: ${reason}` };
  }
  return JSON.parse(r.stdout) as TorchPeerRun;
}
