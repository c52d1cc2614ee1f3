import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { pathToFileURL } from 'node:url';

/** Self time of one function in a CPU profile. */
export interface FunctionTime {
  /** The function's name: a wasm kernel's export name, or wasm-function[i] for a function it calls. */
  name: string;
  /** Its file and line, relative to the working folder where it lies there. */
  where: string;
  selfMs: number;
}

/**
 * Records a V8 CPU profile of this thread (not of worker threads) while fn runs, sampling every
 * `intervalUs` microseconds, through the in-process inspector: no flag or restart needed.
 */
export async function recordCpuProfile<T>(
  fn: () => T,
  intervalUs: number,
): Promise<{ result: T; profile: Profiler.Profile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    const result = fn();
    const { profile } = await session.post('Profiler.stop');
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

const WASM_FUNCTION = /^wasm-function\[(\d+)\]$/;

/**
 * Names each node of a profile's call tree: its function and where it lies. A wasm function V8
 * knows only by index takes its export name from `wasmNames`, or, for a function a kernel calls,
 * its index and the nearest exported caller ("wasm-function[34] in gemv").
 */
function nodeLabels(profile: Profiler.Profile, wasmNames: ReadonlyMap<number, string>): Map<number, FunctionTime> {
  const root = pathToFileURL(process.cwd()).href + '/';
  const labels = new Map<number, FunctionTime>();
  const visit = (node: Profiler.ProfileNode, wasmCaller: string | null) => {
    const frame = node.callFrame;
    const wasmIndex = WASM_FUNCTION.exec(frame.functionName)?.[1];
    let label: FunctionTime;
    if (wasmIndex !== undefined) {
      const exported = wasmNames.get(Number(wasmIndex));
      const name = exported ?? (wasmCaller ? `${frame.functionName} in ${wasmCaller}` : frame.functionName);
      label = { name, where: 'wasm', selfMs: 0 };
      wasmCaller = exported ?? wasmCaller;
    } else {
      const file = frame.url.startsWith(root) ? frame.url.slice(root.length) : frame.url;
      label = {
        name: frame.functionName || '(anonymous)',
        where: file && `${file}:${frame.lineNumber + 1}`,
        selfMs: 0,
      };
      wasmCaller = null;
    }
    labels.set(node.id, label);
    for (const child of node.children ?? []) visit(byId.get(child)!, wasmCaller);
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  visit(profile.nodes[0]!, null);
  return labels;
}

/** The `top` functions by self time: each sample lasts until the next one, as DevTools counts it. */
export function selfTimes(
  profile: Profiler.Profile,
  top: number,
  wasmNames: ReadonlyMap<number, string>,
): { totalMs: number; functions: FunctionTime[] } {
  const labels = nodeLabels(profile, wasmNames);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const byFunction = new Map<string, FunctionTime>();
  for (let i = 0; i + 1 < samples.length; i++) {
    const { name, where } = labels.get(samples[i]!)!;
    const key = `${name} ${where}`;
    let entry = byFunction.get(key);
    if (!entry) byFunction.set(key, (entry = { name, where, selfMs: 0 }));
    entry.selfMs += deltas[i + 1]! / 1000;
  }
  const functions = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  return { totalMs: (profile.endTime - profile.startTime) / 1000, functions };
}
