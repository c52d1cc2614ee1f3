import { pathToFileURL } from 'node:url';

/**
 * Runs in a child process of the decode bench (bench/peers/llama-cpp.ts), so that llama.cpp's
 * threads and memory never share a process with mamba-ts's: reads a request as JSON from argv[2],
 * loads the GGUF through node-llama-cpp on the CPU with the prebuilt binaries (nothing is built or
 * downloaded), and prints one JSON line: per run, the seconds to evaluate the prompt and produce
 * the first token (prefill) and the seconds of the greedy tokens after it (decode), with the tokens.
 */
export interface LlamaCppRequest {
  /** node-llama-cpp's dist/index.js. */
  readonly module: string;
  readonly model: string;
  readonly threads: number;
  readonly prompt: readonly number[];
  readonly newTokens: number;
  readonly runs: number;
}

export interface LlamaCppRunResult {
  readonly prefillSeconds: number;
  readonly decodeSeconds: number;
  readonly tokens: number[];
}

export interface LlamaCppResponse {
  /** The CPU build of ggml that llama.cpp chose for this machine (libggml-cpu-<variant>.so). */
  readonly cpuBackend: string | null;
  readonly runs: LlamaCppRunResult[];
}

// The part of node-llama-cpp's API this runner uses: the package is loaded by path at run time,
// so its types are not visible to the compiler.
interface Sequence {
  evaluate(tokens: number[], options: { temperature: number; yieldEogToken: boolean }): AsyncGenerator<number>;
  clearHistory(): Promise<void>;
}
interface Context {
  getSequence(): Sequence;
  dispose(): Promise<void>;
}
interface Model {
  createContext(options: { contextSize: number; batchSize: number; threads: number }): Promise<Context>;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(options: { modelPath: string }): Promise<Model>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(options: {
    gpu: false;
    build: 'never';
    usePrebuiltBinaries: true;
    progressLogs: false;
    logLevel: 'log';
    maxThreads: number;
    logger: (level: string, message: string) => void;
  }): Promise<Llama>;
}

async function generate(sequence: Sequence, prompt: number[], newTokens: number): Promise<LlamaCppRunResult> {
  await sequence.clearHistory();
  const tokens: number[] = [];
  const start = performance.now();
  let first = start;
  for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
    tokens.push(token);
    if (tokens.length === 1) first = performance.now();
    if (tokens.length >= newTokens) break;
  }
  return {
    prefillSeconds: (first - start) / 1000,
    decodeSeconds: (performance.now() - first) / 1000,
    tokens,
  };
}

async function main(request: LlamaCppRequest): Promise<LlamaCppResponse> {
  const { getLlama } = (await import(pathToFileURL(request.module).href)) as NodeLlamaCpp;
  let cpuBackend: string | null = null;
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    progressLogs: false,
    // The level of the line naming the CPU backend; the logger below keeps only that and errors.
    logLevel: 'log',
    maxThreads: request.threads,
    logger: (level, message) => {
      const loaded = /loaded CPU backend from .*libggml-cpu-([\w-]+)\.so/.exec(message);
      if (loaded) cpuBackend = loaded[1]!;
      else if (level === 'error' || level === 'fatal') process.stderr.write(`llama.cpp: ${message}\n`);
    },
  });
  const model = await llama.loadModel({ modelPath: request.model });
  const prompt = [...request.prompt];
  const context = await model.createContext({
    contextSize: prompt.length + request.newTokens + 16,
    batchSize: prompt.length,
    threads: request.threads,
  });
  const sequence = context.getSequence();
  await generate(sequence, prompt.slice(0, 8), 2); // warm-up, as the mamba-ts side has
  const runs: LlamaCppRunResult[] = [];
  for (let run = 0; run < request.runs; run++) runs.push(await generate(sequence, prompt, request.newTokens));
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { cpuBackend, runs };
}

const response = await main(JSON.parse(process.argv[2]!) as LlamaCppRequest);
process.stdout.write(`${JSON.stringify(response)}\n`);
