import * as mt from '../src/index.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { generate } from '../src/generate/generate.js';
import { withoutInitialisation } from '../src/nn/init.js';
import { runNumpy } from './numpy.js';
import { ggufFor, llamaCppModule, runLlamaCpp, UNAVAILABLE } from './peers/llama-cpp.js';
import { rates } from './timing.js';

/** mamba-130m's shape (mamba-spec.md §1.9), random weights, float32. */
export const MAMBA_130M = { dModel: 768, nLayer: 24, vocabSize: 50280 };
const PROMPT = 128;
const DECODE = 32;
const THREADS = [1, 2];
const SEED = 1;
const LLAMA_CPP_RUNS = 3;
// Generations of mamba-ts per thread count: best and median of these.
const RUNS = 3;

/**
 * A model of mamba-130m's shape with every weight uniform in [-0.05, 0.05): random, with
 * activations that stay in range.
 */
export function randomMamba130m(seed: number): mt.MambaLM {
  const model = withoutInitialisation(() => new mt.MambaLM(mt.mambaConfig(MAMBA_130M)));
  const g = new mt.Generator(seed);
  for (const p of model.parameters()) {
    const values = new Float32Array(p.size);
    for (let i = 0; i < values.length; i++) values[i] = (g.uniform() * 2 - 1) * 0.05;
    p.write(values);
  }
  return model;
}

/** A fixed prompt of token ids spread over mamba-130m's vocabulary. */
export function benchPrompt(length: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7919) % 50277);
}

/** How many tokens two greedy generations share before they first differ. */
function agreeing(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * llama.cpp (node-llama-cpp, prebuilt CPU binaries) on the same weights, prompt and thread
 * count, in a child process; the row's llama.cpp fields, or the reason it could not run.
 */
async function llamaCppBeside(
  model: mt.MambaLM,
  prompt: number[],
  threads: number,
  ours: { prefill: number; decode: number; tokens: number[] },
): Promise<object> {
  if (!llamaCppModule()) return { llamaCpp: UNAVAILABLE };
  const key = `mamba-${MAMBA_130M.dModel}x${MAMBA_130M.nLayer}-vocab${MAMBA_130M.vocabSize}-seed${SEED}-f32`;
  const result = runLlamaCpp({
    model: await ggufFor(model, key),
    threads,
    prompt,
    newTokens: DECODE,
    runs: LLAMA_CPP_RUNS,
  });
  if (typeof result === 'string') return { llamaCpp: result };
  const prefill = rates(result.runs.map((r) => PROMPT / r.prefillSeconds));
  const decode = rates(result.runs.map((r) => (r.tokens.length - 1) / r.decodeSeconds));
  return {
    llamaCpp: {
      peer: 'node-llama-cpp 3.21.1, GGUF F32 (llama.cpp mamba architecture), same weights and prompt',
      cpuBackend: result.cpuBackend,
      prefillTokensPerS: prefill,
      decodeTokensPerS: decode,
      // Greedy tokens from the same prompt: random weights can leave near-ties that the two
      // implementations' rounding breaks differently, after which the sequences part.
      greedyTokensAgreeing: `${agreeing(ours.tokens, result.runs[0]!.tokens)} of ${DECODE}`,
    },
    decodeRatioToLlamaCpp: Number((ours.decode / decode.best).toFixed(3)),
    prefillRatioToLlamaCpp: Number((ours.prefill / prefill.best).toFixed(3)),
  };
}

/**
 * Prefill and decode speed of a model of mamba-130m's shape on 1 and 2 threads, and decode's
 * effective weight bandwidth (every weight is read once per token) beside the read bandwidth
 * numpy shows on the same number of bytes; decode through TextModel.generate, which yields to
 * the event loop between tokens; and llama.cpp on the same weights and prompt when
 * `npm run peers:llama` installed it.
 */
export async function benchDecode(): Promise<object[]> {
  const rows: object[] = [];
  for (const threads of THREADS) {
    const backend = createNodeWasmBackend({ threads });
    mt.setBackend(backend);
    const model = randomMamba130m(SEED);
    const bytes = model.numParameters() * 4;
    const prompt = benchPrompt(PROMPT);
    generate(model, [prompt.slice(0, 8)], { maxNewTokens: 2 });
    const runs = Array.from({ length: RUNS }, () => generate(model, [prompt], { maxNewTokens: DECODE }));
    const prefill = runs.map((r) => r.prefillTokens / r.prefillSeconds);
    const decode = runs.map((r) => r.decodeTokens / r.decodeSeconds);
    // The high-level API on the same work: it yields to the event loop after every token.
    const lm = new mt.TextModel(model, null, { name: 'bench', layout: 'transformers' });
    const asyncRuns = [];
    for (let run = 0; run < RUNS; run++) asyncRuns.push(await lm.generate(prompt, { maxNewTokens: DECODE }));
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
      prefillTokensPerS: rates(prefill),
      decodeTokensPerS: rates(decode),
      textModelDecodeTokensPerS: rates(asyncDecode),
      decodeWeightGBps: decodeGBps,
      numpyReadGBpsSameBytes: numpyGBps ?? ('unavailable' in numpy ? numpy.unavailable : null),
      decodeBandwidthFractionOfNumpy: numpyGBps ? Number((decodeGBps / numpyGBps).toFixed(3)) : null,
      ...(await llamaCppBeside(model, prompt, threads, {
        prefill: Math.max(...prefill),
        decode: Math.max(...decode),
        tokens: runs[0]!.tokens[0]!,
      })),
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
