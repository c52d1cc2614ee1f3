import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { fastBackends } from '../backends/fast-backends.js';
import { assertClose } from '../helpers.js';

const tiny = (overrides: Partial<mt.MambaConfigOptions> = {}) =>
  mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 30, dState: 4, dConv: 4, expand: 2, ...overrides });

function ids(values: number[][]): mt.Tensor {
  return mt.fromArray(new Int32Array(values.flat()), [values.length, values[0]!.length]);
}

describe('Mamba LM', () => {
  it('has the transformers parameter names and shapes, a tied head and the reference init', () => {
    const model = new mt.MambaLM(tiny(), { generator: new mt.Generator(0) });
    const sd = model.stateDict();
    const shapes = Object.fromEntries([...sd].map(([k, v]) => [k, v.shape.join('x')]));
    assert.equal(shapes['backbone.embeddings.weight'], '32x16');
    assert.equal(shapes['backbone.layers.1.mixer.in_proj.weight'], '64x16');
    assert.equal(shapes['backbone.layers.0.mixer.conv1d.weight'], '32x1x4');
    assert.equal(shapes['backbone.layers.0.mixer.conv1d.bias'], '32');
    assert.equal(shapes['backbone.layers.0.mixer.x_proj.weight'], '9x32');
    assert.equal(shapes['backbone.layers.0.mixer.dt_proj.weight'], '32x1');
    assert.equal(shapes['backbone.layers.0.mixer.dt_proj.bias'], '32');
    assert.equal(shapes['backbone.layers.0.mixer.A_log'], '32x4');
    assert.equal(shapes['backbone.layers.0.mixer.D'], '32');
    assert.equal(shapes['backbone.layers.0.mixer.out_proj.weight'], '16x32');
    assert.equal(shapes['backbone.layers.0.norm.weight'], '16');
    assert.equal(shapes['backbone.norm_f.weight'], '16');
    assert.equal(sd.get('lm_head.weight'), sd.get('backbone.embeddings.weight'));
    assert.equal(
      model.numParameters(),
      [...new Set(sd.values())].reduce((n, t) => n + t.size, 0),
    );
    // A_log[d, n] = log(n + 1); dt bias = softplus^-1 of dt in [dt_min, dt_max].
    assertClose(
      sd.get('backbone.layers.0.mixer.A_log')!.toArray().slice(0, 4),
      [0, Math.log(2), Math.log(3), Math.log(4)],
      1e-7,
    );
    const dt = Array.from(sd.get('backbone.layers.0.mixer.dt_proj.bias')!.toArray(), (b) => Math.log1p(Math.exp(b)));
    assert.ok(dt.every((v) => v >= 0.001 * 0.999 && v <= 0.1 * 1.001));
    // A_log and D of each layer, the conv and dt_proj biases, and the norms' weights.
    const exempt = new Set(model.noWeightDecayParameters());
    const names = [...sd].filter(([, t]) => exempt.has(t)).map(([k]) => k.replace(/layers\.\d+\./, 'layers.*.'));
    assert.deepEqual([...new Set(names)].sort(), [
      'backbone.layers.*.mixer.A_log',
      'backbone.layers.*.mixer.D',
      'backbone.layers.*.mixer.conv1d.bias',
      'backbone.layers.*.mixer.dt_proj.bias',
      'backbone.layers.*.norm.weight',
      'backbone.norm_f.weight',
    ]);
  });

  it('the recurrent path (prefill, then one token at a time) equals the parallel forward over many steps', () => {
    const model = new mt.MambaLM(tiny(), { generator: new mt.Generator(1) });
    const g = new mt.Generator(11);
    const seq = [0, 1].map(() => Array.from({ length: 60 }, () => g.int(30)));
    const parallel = mt.noGrad(() => model.forward(ids(seq))).toArray();
    const state = model.initialState(2);
    const pieces = mt.noGrad(() => {
      const out = [model.forward(ids(seq.map((r) => r.slice(0, 3))), { state })];
      for (let t = 3; t < 60; t++) out.push(model.forward(ids(seq.map((r) => [r[t]!])), { state }));
      return mt.concat(out, 1);
    });
    assertClose(pieces.toArray(), parallel, 2e-5, 'logits');
    // The state counts the tokens of each sequence on the host, and refuses a batch of another size.
    assert.deepEqual(state.lengths, [60, 60]);
    assert.throws(() => model.forward(ids([[1]]), { state }), /the state holds 2 sequences but the input has 1/);
    assert.deepEqual(state.lengths, [60, 60]);
    mt.disposeState(state);
  });

  it('state memory does not grow with the number of generated tokens', () => {
    const model = new mt.MambaLM(tiny(), { generator: new mt.Generator(2) });
    const backend = mt.getBackend();
    const state = model.initialState(1);
    let token = ids([[1]]);
    const step = () =>
      mt.noGrad(() =>
        mt.scope(() => {
          const next = mt.argmax(model.forward(token, { state, lastOnly: true }), -1);
          return next;
        }),
      );
    token = step();
    const settled = backend.bytesInUse();
    for (let i = 0; i < 100; i++) {
      const next = step();
      token.dispose();
      token = next;
    }
    assert.equal(backend.bytesInUse(), settled);
    mt.disposeState(state);
  });

  it('gradients of every parameter match finite differences (float64, reference backend)', () => {
    mt.setDefaultFloatDType('float64');
    mt.setBackend('reference');
    try {
      const model = new mt.MambaLM(mt.mambaConfig({ dModel: 4, nLayer: 2, vocabSize: 8, dState: 2, expand: 2 }), {
        generator: new mt.Generator(5),
      });
      const input = ids([
        [1, 2, 3, 4, 5],
        [5, 3, 1, 7, 0],
      ]);
      const params = model.parameters();
      const r = mt.gradcheck(() => model.forward(input), params);
      assert.ok(r.ok, r.message);
    } finally {
      mt.setDefaultFloatDType('float32');
      mt.setBackend('wasm');
    }
  });

  it("every fast backend gives the reference backend's logits and gradients", () => {
    const config = tiny({ dModel: 12, vocabSize: 20 });
    const seq = [
      [1, 2, 3, 4, 5, 6, 7],
      [7, 6, 5, 4, 3, 2, 1],
    ];
    const run = (backend: string | mt.Backend) => {
      mt.setBackend(backend);
      const model = new mt.MambaLM(config, { generator: new mt.Generator(3) });
      const input = ids(seq);
      const loss = mt.crossEntropy(mt.slice(model.forward(input), 1, 0, -1), mt.slice(input, 1, 1));
      loss.backward();
      const grads = model.parameters().map((p) => Array.from(p.grad!.toArray()));
      return { loss: loss.item(), grads };
    };
    try {
      const ref = run('reference');
      for (const { label, backend } of fastBackends) {
        const fast = run(backend);
        assertClose([fast.loss], [ref.loss], 1e-5, `loss (${label})`);
        fast.grads.forEach((g, i) => assertClose(g, ref.grads[i]!, 2e-4, `gradient ${i} (${label})`));
      }
    } finally {
      mt.setBackend('wasm');
    }
  });

  it('a tiny model learns a repeating sequence', () => {
    const model = new mt.MambaLM(tiny({ vocabSize: 8 }), { generator: new mt.Generator(4) });
    const opt = new mt.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    const pattern = Array.from({ length: 24 }, (_, i) => [0, 1, 2, 3, 4, 5][i % 6]!);
    const input = ids([pattern.slice(0, -1)]);
    const target = ids([pattern.slice(1)]);
    let first = 0;
    let last = 0;
    for (let i = 0; i < 60; i++) {
      last = mt.scope(() => {
        const loss = mt.crossEntropy(model.forward(input), target);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      });
      if (i === 0) first = last;
    }
    assert.ok(first > 1.5 && last < 0.2, `loss ${first} -> ${last}`);
  });
});
