import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { fastBackends } from '../backends/fast-backends.js';
import { assertClose } from '../helpers.js';

const tiny = (overrides: Partial<mt.TransformerConfigOptions> = {}): mt.TransformerConfig =>
  mt.transformerConfig({ vocabSize: 30, dModel: 16, nLayer: 2, nHead: 4, maxLength: 64, ...overrides });

function ids(values: number[][]): mt.Tensor {
  return mt.fromArray(new Int32Array(values.flat()), [values.length, values[0]!.length]);
}

function randomTokens(seed: number, rows: number, length: number, vocab: number): number[][] {
  const g = new mt.Generator(seed);
  return Array.from({ length: rows }, () => Array.from({ length }, () => g.int(vocab)));
}

/** Row b, positions from..to of logits [B, L, V], as a flat array. */
function rows(logits: mt.TypedArray, shape: readonly number[], b: number, from: number, to: number): number[] {
  const [, length, vocab] = shape as [number, number, number];
  return Array.from(logits.subarray((b * length + from) * vocab, (b * length + to) * vocab));
}

/** Joins the states of separately prefilled prompts the way generate() does. */
function joinStates(states: mt.TransformerState[]): mt.TransformerState {
  const joined = mt.joinStates(states);
  states.forEach(mt.disposeState);
  return joined;
}

function std(values: ArrayLike<number>): number {
  const a = Array.from(values);
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
}

describe('Transformer LM', () => {
  it('has PyTorch-style parameter names and shapes, the counted size, and no decay on biases and norms', () => {
    const config = tiny({ nLayer: 1 });
    const model = new mt.TransformerLM(config, { generator: new mt.Generator(0) });
    const shapes = Object.fromEntries([...model.stateDict()].map(([k, v]) => [k, v.shape.join('x')]));
    assert.deepEqual(shapes, {
      'embeddings.weight': '30x16',
      'position.weight': '64x16',
      'blocks.0.norm1.weight': '16',
      'blocks.0.norm1.bias': '16',
      'blocks.0.attn.qkv.weight': '48x16',
      'blocks.0.attn.qkv.bias': '48',
      'blocks.0.attn.out_proj.weight': '16x16',
      'blocks.0.attn.out_proj.bias': '16',
      'blocks.0.norm2.weight': '16',
      'blocks.0.norm2.bias': '16',
      'blocks.0.mlp.fc1.weight': '64x16',
      'blocks.0.mlp.fc1.bias': '64',
      'blocks.0.mlp.fc2.weight': '16x64',
      'blocks.0.mlp.fc2.bias': '16',
      'norm_f.weight': '16',
      'norm_f.bias': '16',
    });
    const exempt = model.noWeightDecayParameters();
    for (const [name, t] of model.stateDict()) assert.equal(exempt.has(t), t.rank === 1, `${name} weight decay`);
    for (const options of [
      tiny(),
      tiny({ nLayer: 3, dModel: 24, nHead: 2, vocabSize: 256, maxLength: 100 }),
      tiny({ mlpRatio: 2.5 }),
    ]) {
      const m = new mt.TransformerLM(options);
      assert.equal(m.numParameters(), mt.transformerParameterCount(options));
      if (options.mlpRatio === 4) {
        const { nLayer: n, dModel: d, vocabSize: v, maxLength: l } = options;
        assert.equal(m.numParameters(), n * (12 * d * d + 13 * d) + (v + l + 2) * d);
      }
      m.dispose();
    }
    model.dispose();
  });

  it('initialises as GPT-2: N(0, 0.02), residual projections scaled by 1/sqrt(2 nLayer), zero biases, unit norms', () => {
    const model = new mt.TransformerLM(tiny({ dModel: 96, nLayer: 3, nHead: 4, vocabSize: 256, maxLength: 128 }), {
      generator: new mt.Generator(1),
    });
    const sd = model.stateDict();
    const residual = 0.02 / Math.sqrt(6);
    for (const [name, expected] of [
      ['embeddings.weight', 0.02],
      ['position.weight', 0.02],
      ['blocks.1.attn.qkv.weight', 0.02],
      ['blocks.1.mlp.fc1.weight', 0.02],
      ['blocks.1.attn.out_proj.weight', residual],
      ['blocks.1.mlp.fc2.weight', residual],
    ] as const) {
      const s = std(sd.get(name)!.toArray());
      assert.ok(Math.abs(s - expected) < 0.05 * expected, `${name}: std ${s}, expected ${expected}`);
    }
    for (const [name, t] of sd) {
      if (name.endsWith('.bias'))
        assert.ok(
          t.toArray().every((v) => v === 0),
          `${name} is zero`,
        );
      if (/norm.*\.weight$/.test(name))
        assert.ok(
          t.toArray().every((v) => v === 1),
          `${name} is one`,
        );
    }
    model.dispose();
  });

  it('is causal: changing a token never changes the logits before it', () => {
    const model = new mt.TransformerLM(tiny(), { generator: new mt.Generator(2) });
    const seq = randomTokens(12, 2, 16, 30);
    const changed = seq.map((r, b) => r.map((t, i) => (b === 0 && i === 9 ? (t + 1) % 30 : t)));
    const [before, after] = mt.noGrad(() => [model.forward(ids(seq)), model.forward(ids(changed))]);
    const shape = before!.shape;
    const [x, y] = [before!.toArray(), after!.toArray()];
    assert.deepEqual(rows(y, shape, 0, 0, 9), rows(x, shape, 0, 0, 9));
    assert.deepEqual(rows(y, shape, 1, 0, 16), rows(x, shape, 1, 0, 16));
    for (const i of [9, 12, 15])
      assert.notDeepEqual(rows(y, shape, 0, i, i + 1), rows(x, shape, 0, i, i + 1), `position ${i} sees the change`);
    model.dispose();
  });

  it('the KV cache (prefill, a chunk, then one token at a time) equals the parallel forward over many steps', () => {
    const model = new mt.TransformerLM(tiny(), { generator: new mt.Generator(3) });
    const seq = randomTokens(13, 2, 60, 30);
    const parallel = mt.noGrad(() => model.forward(ids(seq)));
    const state = model.initialState(2);
    const pieces = mt.noGrad(() => {
      const out = [
        model.forward(ids(seq.map((r) => r.slice(0, 5))), { state }),
        model.forward(ids(seq.map((r) => r.slice(5, 12))), { state }),
      ];
      for (let t = 12; t < 60; t++) out.push(model.forward(ids(seq.map((r) => [r[t]!])), { state, lastOnly: true }));
      return mt.concat(out, 1);
    });
    assertClose(pieces.toArray(), parallel.toArray(), 2e-5, 'logits');
    // The cache grows with the sequence: every token's key and value, in every layer.
    for (const layer of state.layers) {
      assert.deepEqual(layer.keys.shape, [120, 4, 4]);
      assert.deepEqual(layer.values.shape, [120, 4, 4]);
    }
    assert.deepEqual(state.lengths, [60, 60]);
    mt.disposeState(state);
    model.dispose();
  });

  it('continues sequences of different lengths from joined states, as generation joins them', () => {
    const model = new mt.TransformerLM(tiny(), { generator: new mt.Generator(4) });
    const [a, b, c] = randomTokens(14, 3, 24, 30) as [number[], number[], number[]];
    const prompts = [a.slice(0, 5), b.slice(0, 9), c.slice(0, 9)];
    const full = [a.slice(0, 5 + 12), b.slice(0, 9 + 12), c.slice(0, 9 + 12)];
    const state = joinStates(
      prompts.map((p) => {
        const s = model.initialState(1);
        mt.noGrad(() => mt.scope(() => model.forward(ids([p]), { state: s })));
        return s;
      }),
    );
    const steps = mt.noGrad(() => {
      // A chunk of 3 tokens (each sequence sees its own causal window), then single tokens.
      const out = [
        model.forward(ids(full.map((r, i) => r.slice(prompts[i]!.length, prompts[i]!.length + 3))), { state }),
      ];
      for (let t = 3; t < 12; t++)
        out.push(model.forward(ids(full.map((r, i) => [r[prompts[i]!.length + t]!])), { state }));
      return mt.concat(out, 1);
    });
    full.forEach((r, i) => {
      const reference = mt.noGrad(() => model.forward(ids([r])));
      const n = prompts[i]!.length;
      assertClose(
        rows(steps.toArray(), steps.shape, i, 0, 12),
        rows(reference.toArray(), reference.shape, 0, n, n + 12),
        2e-5,
        `sequence ${i}`,
      );
    });
    assert.deepEqual(state.lengths, [17, 21, 21]);
    assert.equal(state.layers[1]!.keys.shape[0], 17 + 21 + 21);
    mt.disposeState(state);
    model.dispose();
  });

  it('generates with generate(): a batch of prompts of different lengths as each alone, and frees its caches', () => {
    const model = new mt.TransformerLM(tiny(), { generator: new mt.Generator(5) });
    model.eval();
    const prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10], [11]];
    // The first run builds the causal mask for the longest prompt; the model keeps it.
    mt.generate(model, prompts, { maxNewTokens: 1 });
    const backend = mt.getBackend();
    const before = backend.bytesInUse();
    const batched = mt.generate(model, prompts, { maxNewTokens: 20 });
    assert.equal(backend.bytesInUse(), before);
    prompts.forEach((p, i) =>
      assert.deepEqual(mt.generate(model, [p], { maxNewTokens: 20 }).tokens[0], batched.tokens[i], `prompt ${i}`),
    );
    assert.ok(batched.tokens.every((t) => t.length === 20));
    model.dispose();
  });

  it("every fast backend gives the reference backend's logits and gradients", () => {
    const config = tiny({ dModel: 24, nHead: 3, vocabSize: 20 });
    const seq = [
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
      [9, 8, 7, 6, 5, 4, 3, 2, 1],
    ];
    const run = (backend: string | mt.Backend) => {
      mt.setBackend(backend);
      try {
        const model = new mt.TransformerLM(config, { generator: new mt.Generator(6) });
        const input = ids(seq);
        const logits = model.forward(input);
        const loss = mt.crossEntropy(mt.slice(logits, 1, 0, -1), mt.slice(input, 1, 1));
        loss.backward();
        const out = {
          logits: Array.from(logits.toArray()),
          grads: model.parameters().map((p) => Array.from(p.grad!.toArray())),
        };
        model.dispose();
        return out;
      } finally {
        mt.setBackend('wasm');
      }
    };
    const ref = run('reference');
    for (const { label, backend } of fastBackends) {
      const fast = run(backend);
      assertClose(fast.logits, ref.logits, 1e-5, `logits (${label})`);
      // Each gradient is compared relative to its largest entry: with GPT-2's small init many are
      // tiny, and an absolute tolerance would accept anything.
      fast.grads.forEach((g, i) => {
        const scale = Math.max(...ref.grads[i]!.map(Math.abs));
        assertClose(
          g.map((v) => v / scale),
          ref.grads[i]!.map((v) => v / scale),
          1e-4,
          `gradient ${i} (${label})`,
        );
      });
    }
  });

  it('gradients of every parameter match finite differences (float64, reference backend)', () => {
    mt.setDefaultFloatDType('float64');
    mt.setBackend('reference');
    try {
      const model = new mt.TransformerLM(
        mt.transformerConfig({ vocabSize: 7, dModel: 8, nLayer: 2, nHead: 2, maxLength: 6, mlpRatio: 2 }),
        {
          generator: new mt.Generator(7),
        },
      );
      // Weights far larger than GPT-2's init, so that attention is far from uniform and no term is negligible.
      const g = new mt.Generator(8);
      for (const p of model.parameters()) p.write(Float64Array.from({ length: p.size }, () => g.uniform() * 2 - 1));
      const input = ids([
        [1, 2, 3, 4, 5],
        [5, 3, 1, 6, 0],
      ]);
      const r = mt.gradcheck(() => model.forward(input), model.parameters());
      assert.ok(r.ok, r.message);
    } finally {
      mt.setDefaultFloatDType('float32');
      mt.setBackend('wasm');
    }
  });

  it('a tiny model overfits a repeated byte sequence', () => {
    const text = new TextEncoder().encode('hello, world! '.repeat(5));
    const model = new mt.TransformerLM(
      mt.transformerConfig({ vocabSize: 256, dModel: 32, nLayer: 2, nHead: 4, maxLength: 128 }),
      { generator: new mt.Generator(9) },
    );
    const opt = new mt.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    const input = ids([Array.from(text.subarray(0, -1))]);
    const target = ids([Array.from(text.subarray(1))]);
    const losses: number[] = [];
    for (let i = 0; i < 80; i++) {
      losses.push(
        mt.scope(() => {
          const loss = mt.crossEntropy(model.forward(input), target);
          opt.zeroGrad();
          loss.backward();
          opt.step();
          return loss.item();
        }),
      );
    }
    assert.ok(losses[0]! > 5 && losses.at(-1)! < 0.1, `loss ${losses[0]} -> ${losses.at(-1)}`);
    model.dispose();
  });

  it('keeps memory constant across training steps and frees everything, causal mask included, on dispose', () => {
    const backend = mt.getBackend();
    const start = backend.bytesInUse();
    const model = new mt.TransformerLM(tiny(), { generator: new mt.Generator(10) });
    const opt = new mt.AdamW(model.parameters(), { lr: 1e-3 });
    const input = ids(randomTokens(15, 2, 33, 30));
    const step = () =>
      mt.scope(() => {
        const loss = mt.crossEntropy(mt.slice(model.forward(input), 1, 0, -1), mt.slice(input, 1, 1));
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
    step();
    const settled = backend.bytesInUse();
    for (let i = 0; i < 10; i++) step();
    assert.equal(backend.bytesInUse(), settled);
    opt.dispose();
    model.dispose();
    input.dispose();
    assert.equal(backend.bytesInUse(), start);
  });

  it('dropout acts in training mode only', () => {
    const config = tiny({ dropout: 0.3 });
    const model = new mt.TransformerLM(config, { generator: new mt.Generator(11) });
    const plain = new mt.TransformerLM({ ...config, dropout: 0 });
    plain.loadStateDict(model.stateDict());
    const input = ids(randomTokens(16, 2, 10, 30));
    const [train, evaluated, reference] = mt.noGrad(() => [
      model.forward(input),
      model.eval().forward(input),
      plain.forward(input),
    ]);
    assert.deepEqual(Array.from(evaluated!.toArray()), Array.from(reference!.toArray()));
    assert.notDeepEqual(Array.from(train!.toArray()), Array.from(reference!.toArray()));
    model.dispose();
    plain.dispose();
  });

  it('picks dModel so that the parameter count is as close as possible to a target', () => {
    for (const [target, options] of [
      [1e6, { vocabSize: 256, maxLength: 256 }],
      [3e5, { vocabSize: 256, maxLength: 512, nLayer: 2, nHead: 2 }],
      [2e7, { vocabSize: 256, maxLength: 2048, nLayer: 8, nHead: 8 }],
    ] as const) {
      const config = mt.transformerConfigForParameters(target, options);
      const count = mt.transformerParameterCount(config);
      assert.equal(config.dModel % config.nHead, 0);
      assert.ok(Math.abs(count - target) / target < 0.03, `${count} parameters for a target of ${target}`);
      for (const dModel of [config.dModel - config.nHead, config.dModel + config.nHead]) {
        const other = mt.transformerParameterCount({ ...config, dModel });
        assert.ok(Math.abs(other - target) >= Math.abs(count - target), `dModel ${dModel} would be closer`);
      }
    }
    const config = mt.transformerConfigForParameters(1e6, { vocabSize: 256, maxLength: 256 });
    assert.deepEqual([config.nLayer, config.nHead, config.mlpRatio], [4, 4, 4]);
    const model = new mt.TransformerLM(config);
    assert.equal(model.numParameters(), mt.transformerParameterCount(config));
    model.dispose();
  });

  it('rejects bad configs, sequences past maxLength and mismatched states with clear errors', () => {
    const bad: [Partial<mt.TransformerConfigOptions>, string][] = [
      [{ dModel: 18, nHead: 4 }, 'dModel (18) must be divisible by nHead (4)'],
      [{ nLayer: 0 }, 'Transformer config: nLayer must be an integer in [1, 1024], got 0'],
      [{ vocabSize: 2.5 }, 'vocabSize must be an integer in [1, 16777216], got 2.5'],
      [{ maxLength: -1 }, 'maxLength must be an integer in [1, 1048576], got -1'],
      [{ nLayer: 1e6 }, 'nLayer must be an integer in [1, 1024], got 1000000'],
      [{ mlpRatio: 0.1 }, 'mlpRatio * dModel'],
      [{ dropout: 1 }, 'dropout must be in [0, 1), got 1'],
    ];
    for (const [overrides, message] of bad) {
      assert.throws(
        () => new mt.TransformerLM({ ...tiny(), ...overrides }),
        (e: unknown) => e instanceof mt.MambaError && e.message.includes(message),
        message,
      );
    }
    assert.throws(
      () => mt.transformerConfigForParameters(0, { vocabSize: 256, maxLength: 256 }),
      /target must be a positive number/,
    );
    const model = new mt.TransformerLM(tiny({ maxLength: 8 }));
    const expectError = (fn: () => unknown, message: string) =>
      assert.throws(fn, (e: unknown) => e instanceof mt.MambaError && e.message.includes(message), message);
    expectError(
      () => model.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8, 9]])),
      "a sequence of 9 tokens is longer than the model's maxLength of 8",
    );
    const state = model.initialState(1);
    mt.noGrad(() => mt.scope(() => model.forward(ids([[1, 2, 3, 4, 5, 6]]), { state })));
    expectError(() => model.forward(ids([[1, 2, 3]]), { state }), 'a sequence of 9 tokens');
    expectError(() => model.forward(ids([[1], [2]]), { state }), 'the state holds 1 sequences but the input has 2');
    expectError(() => model.forward(mt.fromArray([1, 2], [1, 2])), 'token ids must be int32 [batch, length]');
    expectError(() => model.initialState(0), 'must be a positive integer, got 0');
    expectError(
      () => mt.generate(model, [[1, 2, 3, 4, 5, 6]], { maxNewTokens: 5 }),
      "longer than the model's maxLength of 8",
    );
    mt.disposeState(state);
    model.dispose();
  });
});
