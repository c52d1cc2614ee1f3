import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { timeKernels } from '../src/backends/kernel-timer.js';
import { setBackend } from '../src/backends/registry.js';
import { checkThreadCount } from '../src/backends/threads.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { MambaError } from '../src/util/errors.js';
import { recordCpuProfile, selfTimes } from './cpu-profile.js';
import { formatReport, type PhaseTime, type ProfileReport } from './profile-report.js';
import { WORKLOADS, type Phase } from './profile-workloads.js';
import { wasmExportNames } from './wasm-names.js';

const USAGE = `usage: npm run profile -- <workload> [--threads N] [--steps N] [--json]

Where the time of a workload goes on the wasm backend: per kernel and per kernel family (calls,
time, share of the wall time), the rest (JS dispatch and allocation), and the functions with the
most self time in a V8 CPU profile of the same run, written whole to profiles/<workload>.cpuprofile.
The model is built and warmed up first; only the steps are measured.

workloads:
${Object.entries(WORKLOADS)
  .map(([name, w]) => `  ${name.padEnd(10)} ${w.describe(w.steps.default)}; --steps counts ${w.steps.unit}`)
  .join('\n')}

  --threads N   wasm threads, the calling one included (default 2)
  --steps N     how much work to measure (default per workload, above)
  --json        print the report as JSON instead of tables`;

/** V8's sampling interval: fine enough for 1 ms kernels, coarse enough not to slow the run much. */
const SAMPLING_US = 250;
const TOP_FUNCTIONS = 15;

/** A command-line mistake: its message and the usage go to stderr, and the exit code is 2. */
class UsageError extends MambaError {}

function wholeNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a whole number of at least 1, got '${text}'`);
  return n;
}

function parseCommandLine(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { threads: { type: 'string' }, steps: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  const names = Object.keys(WORKLOADS).join(', ');
  if (positionals.length !== 1)
    throw new UsageError(
      `name one workload (${names}); got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
    );
  const name = positionals[0]!;
  const workload = WORKLOADS[name];
  if (!workload) throw new UsageError(`unknown workload '${name}'; choose from ${names}`);
  const threads = wholeNumber(values.threads, '--threads') ?? 2;
  try {
    checkThreadCount(threads, '--threads', availableParallelism());
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    name,
    workload,
    threads,
    steps: wholeNumber(values.steps, '--steps') ?? workload.steps.default,
    json: values.json === true,
  };
}

async function profile(argv: string[]): Promise<void> {
  const { name, workload, threads, steps, json } = parseCommandLine(argv);
  const backend = createNodeWasmBackend({ threads });
  const timer = timeKernels(backend);
  setBackend(timer.backend);
  process.stderr.write(`profile: building ${name} and warming up...\n`);
  const prepared = workload.prepare(steps);
  timer.reset();
  const phases = new Map<string, PhaseTime>();
  const phase: Phase = (phaseName, fn) => {
    const start = performance.now();
    const kernelStart = timer.kernelMs();
    try {
      return fn();
    } finally {
      let p = phases.get(phaseName);
      if (!p) phases.set(phaseName, (p = { phase: phaseName, calls: 0, wallMs: 0, kernelMs: 0 }));
      p.calls++;
      p.wallMs += performance.now() - start;
      p.kernelMs += timer.kernelMs() - kernelStart;
    }
  };
  process.stderr.write(`profile: measuring ${steps} ${workload.steps.unit}...\n`);
  const { result: wallMs, profile: cpuProfile } = await recordCpuProfile(() => {
    const start = performance.now();
    prepared.run(phase);
    return performance.now() - start;
  }, SAMPLING_US);
  prepared.dispose();
  backend.dispose();

  const file = join('profiles', `${name}.cpuprofile`);
  mkdirSync('profiles', { recursive: true });
  writeFileSync(file, JSON.stringify(cpuProfile));
  const kernels = timer.report();
  // The module createNodeWasmBackend loaded: the relaxed-SIMD one where V8 takes it.
  const module = new URL(
    `../src/backends/wasm/kernels-${backend.relaxedSimd ? 'relaxed' : 'simd'}.wasm`,
    import.meta.url,
  );
  const cpu = selfTimes(cpuProfile, TOP_FUNCTIONS, wasmExportNames(readFileSync(module)));
  const report: ProfileReport = {
    workload: name,
    description: workload.describe(steps),
    backend: backend.name,
    threads,
    steps,
    wallMs,
    kernelMs: kernels.ms,
    restMs: wallMs - kernels.ms,
    phases: [...phases.values()],
    kernels: kernels.kernels,
    families: kernels.families,
    cpuProfile: { file, sampledMs: cpu.totalMs, topSelfTime: cpu.functions },
  };
  process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
}

try {
  await profile(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof MambaError)) throw error;
  process.stderr.write(`profile: ${error.message}\n${error instanceof UsageError ? `\n${USAGE}\n` : ''}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
