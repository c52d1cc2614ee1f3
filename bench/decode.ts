import * as mt from '../src/index.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { generate } from '../src/generate/generate.js';
import { withoutInitialisation } from '../src/nn/init.js';
import { runNumpy } from './numpy.js';

/** mamba-130m's shape (mamba-spec.md §1.9), random weights, float32. */
export const MAMBA_130M = { dModel: 768, nLayer: 24, vocabSize: 50280 };
const PROMPT = 128;
const DECODE = 32;
const THREADS = [1, 2];

/** Every weight uniform in [-0.05, 0.05): a random model whose activations stay in range. */
export function randomWeights(model: mt.MambaLM, seed: number): void {
  const g = new mt.Generator(seed);
  for (const p of model.parameters()) {
    const values = new Float32Array(p.size);
    for (let i = 0; i < values.length; i++) values[i] = (g.uniform() * 2 - 1) * 0.05;
    p.write(values);
  }
}

/** A fixed prompt of token ids spread over mamba-130m's vocabulary. */
export function benchPrompt(length: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7919) % 50277);
}

/**
 * Prefill and decode speed of a model of mamba-130m's shape on 1 and 2 threads, and decode's
 * effective weight bandwidth (every weight is read once per token) beside the read bandwidth
 * numpy shows on the same number of bytes; and decode through TextModel.generate, which yields to
 * the event loop between tokens.
 */
export async function benchDecode(): Promise<object[]> {
  const rows: object[] = [];
  const config = mt.mambaConfig(MAMBA_130M);
  for (const threads of THREADS) {
    const backend = createNodeWasmBackend({ threads });
    mt.setBackend(backend);
    const model = withoutInitialisation(() => new mt.MambaLM(config));
    randomWeights(model, 1);
    const bytes = model.numParameters() * 4;
    const prompt = benchPrompt(PROMPT);
    generate(model, [prompt.slice(0, 8)], { maxNewTokens: 2 });
    const runs = [0, 1].map(() => generate(model, [prompt], { maxNewTokens: DECODE }));
    const prefill = runs.map((r) => r.prefillTokens / r.prefillSeconds);
    const decode = runs.map((r) => r.decodeTokens / r.decodeSeconds);
    // The high-level API on the same work: it yields to the event loop after every token.
    const lm = new mt.TextModel(model, null, { name: 'bench', layout: 'transformers' });
    const asyncRuns = [];
    for (let run = 0; run < 2; run++) asyncRuns.push(await lm.generate(prompt, { maxNewTokens: DECODE }));
    const asyncDecode = asyncRuns.map((r) => (r.ids.length - 1) / r.decodeSeconds);
    const numpy = runNumpy([{ kind: 'read', n: bytes / 4, repeats: 5 }], threads);
    const numpyGBps = 'results' in numpy ? bytes / 1e9 / numpy.results[0]!.min : null;
    const decodeGBps = (Math.max(...decode) * bytes) / 1e9;
    rows.push({
      name: 'mamba-130m shape, float32, random weights',
      threads,
      parameters: model.numParameters(),
      promptTokens: PROMPT,
      decodeTokens: DECODE,
      prefillTokensPerS: { best: Math.max(...prefill), runs: prefill },
      decodeTokensPerS: { best: Math.max(...decode), runs: decode },
      textModelDecodeTokensPerS: { best: Math.max(...asyncDecode), runs: asyncDecode },
      decodeWeightGBps: decodeGBps,
      numpyReadGBpsSameBytes: numpyGBps ?? ('unavailable' in numpy ? numpy.unavailable : null),
      decodeBandwidthFractionOfNumpy: numpyGBps ? Number((decodeGBps / numpyGBps).toFixed(3)) : null,
    });
    model.dispose();
    backend.dispose();
  }
  return rows;
}

/**
 * Memory of generation after 1,000 and after 16,000 new tokens: the recurrent state is all that
 * grows with a sequence, and it does not grow. A small model keeps 16,000 tokens quick; the
 * state of mamba-130m is the same kind of object, 24 layers of it.
 */
export function benchGenerationMemory(): object {
  const backend = createNodeWasmBackend({ threads: 2 });
  mt.setBackend(backend);
  const model = new mt.MambaLM(mt.mambaConfig({ dModel: 128, nLayer: 4, vocabSize: 256 }), {
    generator: new mt.Generator(0),
  });
  const measure = (tokens: number) => {
    const before = process.memoryUsage().rss;
    let peakHeap = 0;
    let peakRss = 0;
    let count = 0;
    generate(model, [[1, 2, 3]], {
      maxNewTokens: tokens,
      temperature: 1,
      onToken: () => {
        if (++count % 250 === 0) {
          peakHeap = Math.max(peakHeap, backend.bytesInUse());
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
      },
    });
    return { tokens, wasmHeapPeakBytes: peakHeap, rssPeakBytes: peakRss, rssBeforeBytes: before };
  };
  const short = measure(1000);
  const long = measure(16000);
  model.dispose();
  backend.dispose();
  return {
    name: 'generation memory after 1,000 and 16,000 tokens (d_model 128, 4 layers, vocab 256)',
    after1000: short,
    after16000: long,
    wasmHeapEqual: short.wasmHeapPeakBytes === long.wasmHeapPeakBytes,
  };
}
