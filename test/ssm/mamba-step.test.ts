import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { fastBackends } from '../backends/fast-backends.js';

const STEPS = 1000;

/**
 * Sampling one token at a time from `first` (Gumbel-max with a fixed seed, so both paths draw the
 * same noise and a random model does not settle on one token at once): under noGrad the mixers take the fused step;
 * with gradients recorded (parameters require them) they take the unfused path (conv, x_proj,
 * dt_proj and the selective scan as separate ops). Returns the tokens and every step's logits.
 */
function decode(model: mt.MambaLM, first: number, fused: boolean): { tokens: number[]; logits: Float32Array[] } {
  const state = model.initialState(1);
  const tokens = [first];
  const logits: Float32Array[] = [];
  const g = new mt.Generator(5);
  for (let t = 0; t < STEPS; t++) {
    const step = () =>
      mt.scope(() => {
        const out = model.forward(mt.fromArray(new Int32Array([tokens[t]!]), [1, 1]), { state });
        return out.toArray() as Float32Array;
      });
    const row = fused ? mt.noGrad(step) : mt.enableGrad(step);
    logits.push(row);
    const noisy = Array.from(row, (v) => v - Math.log(-Math.log(g.uniform() || Number.MIN_VALUE)));
    tokens.push(noisy.indexOf(Math.max(...noisy)));
  }
  mt.disposeState(state);
  return { tokens, logits };
}

describe('the fused Mamba step', () => {
  for (const { label, backend } of [{ label: 'reference', backend: mt.getBackend('reference') }, ...fastBackends]) {
    it(`generation equals the unfused recurrent path token for token over ${STEPS} steps (${label})`, () => {
      const before = mt.getBackend();
      mt.setBackend(backend);
      try {
        const config = mt.mambaConfig({ dModel: 24, nLayer: 2, vocabSize: 40, dState: 5, dConv: 4 });
        const model = new mt.MambaLM(config, { generator: new mt.Generator(3) });
        const fused = decode(model, 7, true);
        const unfused = decode(model, 7, false);
        assert.deepEqual(fused.tokens, unfused.tokens);
        let worst = 0;
        fused.logits.forEach((row, t) =>
          row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - unfused.logits[t]![i]!)))),
        );
        assert.ok(worst < 1e-4, `largest logit difference ${worst}`);
        assert.ok(new Set(fused.tokens).size > 20, `only ${new Set(fused.tokens).size} distinct tokens`);
        model.dispose();
      } finally {
        mt.setBackend(before);
      }
    });
  }
});
