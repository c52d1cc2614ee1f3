import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { loadLanguageModel, saveLanguageModel } from '../../src/io/registry.js';
import { alternatingPattern, MoEMambaLM } from '../../src/models/moe-mamba.js';
import { Expert, routeTokens, SwitchMoE, type MoEConfig } from '../../src/ssm/switch-moe.js';
import { assertClose } from '../helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-moe-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const moe = (o: Partial<MoEConfig> = {}): MoEConfig => ({
  experts: 4,
  dExpert: 12,
  topK: 1,
  capacityFactor: 1.25,
  auxLossWeight: 0.01,
  zLossWeight: 0,
  ...o,
});

describe('Switch MoE', () => {
  it('routes each token to its most probable experts until an expert is full, on the device', () => {
    // Three tokens prefer expert 0; with capacity 2 the third overflows and is dropped.
    const probs = mt.fromArray([0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.5, 0.1, 0.4, 0.1, 0.1, 0.8], [4, 3]);
    const r = routeTokens(probs, 1, 2);
    assert.deepEqual(Array.from(r.experts.toArray()), [0, 0, 0, 2]);
    // Expert e's slots are 2e and 2e + 1; slot 6 (= 3 experts x capacity 2) takes the dropped choice.
    assert.deepEqual(Array.from(r.slots.toArray()), [0, 1, 6, 4]);
    assert.deepEqual(Array.from(mt.sum(r.kept, 0).toArray()), [2, 0, 1]);
    assert.deepEqual(Array.from(r.gates.toArray()), [0.7, 0.6, 0.5, 0.8].map(Math.fround));
    const top2 = routeTokens(probs, 2, 10);
    assert.deepEqual(Array.from(top2.experts.toArray()), [0, 1, 0, 1, 0, 2, 2, 0]);
    // Ranks count earlier tokens of the same expert: expert 0 gets 0, 1, 2, 3; expert 1 gets 0, 1; expert 2 gets 0, 1.
    assert.deepEqual(Array.from(top2.slots.toArray()), [0, 10, 1, 11, 2, 20, 21, 3]);
  });

  it('ties between equal probabilities go to the lower expert, as the host routing did', () => {
    const probs = mt.fromArray([0.25, 0.25, 0.25, 0.25, 0.1, 0.45, 0.45, 0.0], [2, 4]);
    const r = routeTokens(probs, 2, 4);
    assert.deepEqual(Array.from(r.experts.toArray()), [0, 1, 1, 2]);
  });

  it('an overflowing expert drops tokens, which then contribute nothing', () => {
    mt.setBackend('reference');
    try {
      const layer = new SwitchMoE(6, moe({ experts: 2, capacityFactor: 0.5 }), { generator: new mt.Generator(1) });
      // Make expert 0 win for every token: a large router weight on an input that is always positive.
      const w = new Float32Array(12);
      w.fill(0);
      w[0] = 10;
      layer.router.weight.write(w);
      const x = mt.fromArray(
        Array.from({ length: 8 * 6 }, (_, i) => (i % 6 === 0 ? 1 : 0.1 * ((i * 7) % 5))),
        [8, 6],
      );
      const y = layer.forward(x).toArray();
      const stats = layer.stats()!;
      assert.equal(layer.capacity(8), 2);
      assert.deepEqual(stats.load, [2, 0]);
      assert.equal(stats.dropped, 6 / 8);
      for (let t = 2; t < 8; t++)
        assertClose(y.slice(t * 6, (t + 1) * 6), new Float32Array(6), 0, `dropped token ${t}`);
      assert.ok(Array.from(y.slice(0, 6)).some((v) => v !== 0));
    } finally {
      mt.setBackend('wasm');
    }
  });

  it('the auxiliary loss equals alpha * E * sum_i f_i P_i on a crafted routing', () => {
    const layer = new SwitchMoE(4, moe({ experts: 2, auxLossWeight: 0.5, capacityFactor: 10 }), {
      generator: new mt.Generator(2),
    });
    const x = mt.randn([5, 4], { generator: new mt.Generator(3) });
    layer.forward(x);
    const probs = mt.softmax(layer.router.forward(x)).toArray();
    const f = [0, 0];
    const p = [0, 0];
    for (let t = 0; t < 5; t++) {
      f[probs[t * 2]! >= probs[t * 2 + 1]! ? 0 : 1]! += 1 / 5;
      p[0]! += probs[t * 2]! / 5;
      p[1]! += probs[t * 2 + 1]! / 5;
    }
    const expected = 2 * (f[0]! * p[0]! + f[1]! * p[1]!);
    assertClose([layer.stats()!.auxLoss], [expected], 1e-6);
    assertClose([layer.auxLoss!.item()], [0.5 * expected], 1e-6);
  });

  it('with one expert and room for every token it equals a plain feed-forward layer', () => {
    const layer = new SwitchMoE(8, moe({ experts: 1, dExpert: 16 }), { generator: new mt.Generator(4) });
    const ffn = new Expert(8, 16, { generator: new mt.Generator(5) });
    ffn.loadStateDict(new Map([...layer.experts.at(0).stateDict()]));
    const x = mt.randn([2, 3, 8], { generator: new mt.Generator(6) });
    assertClose(layer.forward(x).toArray(), ffn.forward(x).toArray(), 1e-6);
    assert.equal(layer.stats()!.dropped, 0);
  });

  it('router and expert gradients match finite differences (float64)', () => {
    mt.setDefaultFloatDType('float64');
    mt.setBackend('reference');
    try {
      for (const topK of [1, 2]) {
        const layer = new SwitchMoE(5, moe({ experts: 3, dExpert: 4, topK, capacityFactor: 2, zLossWeight: 0.1 }), {
          generator: new mt.Generator(7),
        });
        const x = mt.randn([6, 5], { generator: new mt.Generator(8), requiresGrad: true });
        const r = mt.gradcheck(() => {
          const y = layer.forward(x);
          return [y, layer.auxLoss!];
        }, [x, ...layer.parameters()]);
        assert.ok(r.ok, `top-${topK}: ${r.message}`);
      }
    } finally {
      mt.setDefaultFloatDType('float32');
      mt.setBackend('wasm');
    }
  });
});

describe('MoE-Mamba', () => {
  const config = () => ({
    mamba: mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 64, dState: 4 }),
    moe: moe({ dExpert: 24 }),
    pattern: alternatingPattern(2),
  });

  it('alternates Mamba and MoE layers and counts active parameters', () => {
    const model = new MoEMambaLM(config(), { generator: new mt.Generator(9) });
    const names = [...model.stateDict().keys()];
    assert.ok(names.includes('layers.0.mixer.A_log'));
    assert.ok(names.includes('layers.1.moe.router.weight'));
    assert.ok(names.includes('layers.3.moe.experts.3.fc2.weight'));
    assert.ok(!names.some((n) => n.startsWith('layers.1.mixer')));
    const expert = 16 * 24 + 24 + 24 * 16 + 16;
    assert.equal(model.numParameters() - model.activeParameters(), 2 * 3 * expert);
  });

  it('recurrent generation equals the parallel forward; save and load round-trip', async () => {
    const ids = mt.fromArray(new Int32Array([3, 9, 1, 40, 2, 2, 7, 63, 0, 5]), [1, 10]);
    // Capacity depends on the tokens in a call: with room for every token, routing never drops.
    const roomy = new MoEMambaLM(
      { ...config(), moe: moe({ dExpert: 24, capacityFactor: 4 }) },
      { generator: new mt.Generator(10) },
    );
    const p2 = mt.noGrad(() => roomy.forward(ids)).toArray();
    const s2 = roomy.initialState(1);
    const r2 = mt
      .noGrad(() =>
        mt.concat(
          Array.from({ length: 10 }, (_, t) => roomy.forward(mt.slice(ids, 1, t, t + 1), { state: s2 })),
          1,
        ),
      )
      .toArray();
    assertClose(r2, p2, 2e-5, 'logits');
    const folder = join(scratch, 'saved');
    await saveLanguageModel(roomy, folder);
    const loaded = await loadLanguageModel(folder);
    assert.equal(loaded.model.modelType, 'moe-mamba');
    assert.ok(loaded.model instanceof MoEMambaLM);
    assertClose(mt.noGrad(() => loaded.model.forward(ids)).toArray(), p2, 1e-6);
  });

  it('a tiny MoE-Mamba learns a repeating sequence', () => {
    const model = new MoEMambaLM(
      { ...config(), mamba: mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 8, dState: 4 }) },
      { generator: new mt.Generator(11) },
    );
    const opt = new mt.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    const pattern = Array.from({ length: 25 }, (_, i) => i % 6);
    const input = mt.fromArray(new Int32Array(pattern.slice(0, -1)), [1, 24]);
    const target = mt.fromArray(new Int32Array(pattern.slice(1)), [1, 24]);
    let last = 0;
    for (let i = 0; i < 60; i++) {
      last = mt.scope(() => {
        const loss = mt.crossEntropy(model.forward(input), target);
        opt.zeroGrad();
        mt.add(loss, model.auxLoss()!).backward();
        opt.step();
        return loss.item();
      });
    }
    assert.ok(last < 0.3, `loss ${last}`);
  });
});
