import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { runTorchPeer, TORCH_PEER_SCRIPT, torchPeerPython, type TorchPeerJob } from '../../bench/torch-peer.js';

const python = torchPeerPython();
const hasTorch = python !== null && spawnSync(python, ['-c', 'import torch']).status === 0;
const skip = hasTorch ? false : 'no Python with torch: npm run peers:torch installs one, or set MAMBA_TS_PYTHON';

const TINY = { dModel: 16, nLayer: 2, dState: 4, dConv: 4, expand: 2, vocabSize: 256 };

function tinyJob(expectParams: number): TorchPeerJob {
  return {
    ...TINY,
    batchSize: 2,
    seqLen: 8,
    threads: [1],
    warmup: 0,
    steps: 1,
    lr: 1e-3,
    betas: [0.9, 0.95],
    weightDecay: 0.1,
    clip: 1,
    expectParams,
  };
}

describe('the PyTorch peer of the training bench', () => {
  it('is reported unavailable, with the command that installs it, when its Python cannot run', () => {
    const before = process.env['MAMBA_TS_PYTHON'];
    process.env['MAMBA_TS_PYTHON'] = '/nonexistent/python3';
    try {
      const result = runTorchPeer(tinyJob(1));
      assert.ok('unavailable' in result && result.unavailable.includes('npm run peers:torch'), JSON.stringify(result));
    } finally {
      if (before === undefined) delete process.env['MAMBA_TS_PYTHON'];
      else process.env['MAMBA_TS_PYTHON'] = before;
    }
  });

  it("trains a model of mamba-ts's parameter count, and refuses to time one of another", { skip }, () => {
    const model = new mt.MambaLM(mt.mambaConfig(TINY), { generator: new mt.Generator(0) });
    const expected = model.numParameters();
    model.dispose();
    const result = runTorchPeer(tinyJob(expected));
    assert.ok('runs' in result, JSON.stringify(result));
    assert.equal(result.params, expected);
    assert.ok(result.runs[0]!.tokensPerS.best > 0);
    const other = runTorchPeer(tinyJob(expected + 1));
    assert.ok('unavailable' in other && other.unavailable.includes(`${expected} parameters`), JSON.stringify(other));
  });

  it(
    'scans in parallel as the recurrence does step by step, with a backward that matches finite differences',
    { skip },
    () => {
      const r = spawnSync(python!, [TORCH_PEER_SCRIPT, '--check'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const check = JSON.parse(r.stdout) as { scanMaxError: number; gradcheck: boolean };
      assert.ok(check.scanMaxError < 1e-12, `scan error ${check.scanMaxError}`);
      assert.equal(check.gradcheck, true);
    },
  );
});
