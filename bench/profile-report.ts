import type { KernelTimes } from '../src/backends/kernel-timer.js';
import type { FunctionTime } from './cpu-profile.js';

/** Wall and kernel time of one phase of the measured work. */
export interface PhaseTime {
  phase: string;
  calls: number;
  wallMs: number;
  kernelMs: number;
}

/** Everything `npm run profile` measured, as `--json` prints it. */
export interface ProfileReport {
  workload: string;
  description: string;
  backend: string;
  threads: number;
  steps: number;
  wallMs: number;
  kernelMs: number;
  /** Wall time outside kernels: JS dispatch (ops, autograd, views) and allocation. */
  restMs: number;
  phases: PhaseTime[];
  kernels: KernelTimes['kernels'];
  families: KernelTimes['families'];
  cpuProfile: { file: string; sampledMs: number; topSelfTime: FunctionTime[] };
}

type Cell = string | number;

/** Columns padded to their widest cell: numbers to the right, text to the left. */
function table(headers: string[], rows: Cell[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((row) => typeof row[c] === 'number'));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return cells.map(line).join('\n');
}

const fixed = (value: number, digits = 1) => Number(value.toFixed(digits));

/** The report as text tables: phases, kernels, families, then the CPU profile's top functions. */
export function formatReport(r: ProfileReport): string {
  const share = (ms: number) => fixed((100 * ms) / r.wallMs);
  const kernelRows = r.kernels.map((k) => [
    k.kernel + (k.fallback ? ' *' : ''),
    k.family,
    k.calls,
    fixed(k.ms),
    share(k.ms),
    fixed((1000 * k.ms) / k.calls),
    fixed(k.elementsWritten / 1e6, 2),
  ]);
  const familyRows = r.families.map((f) => [f.family, f.calls, fixed(f.ms), share(f.ms)]);
  const phaseRows = r.phases.map((p) => [
    p.phase,
    p.calls,
    fixed(p.wallMs),
    fixed(p.kernelMs),
    fixed(p.wallMs - p.kernelMs),
    share(p.wallMs),
  ]);
  const cpuRows = r.cpuProfile.topSelfTime.map((f) => [
    fixed(f.selfMs),
    fixed((100 * f.selfMs) / r.cpuProfile.sampledMs),
    f.name,
    f.where,
  ]);
  const sections = [
    `${r.description}\n${r.backend} backend, ${r.threads} thread${r.threads === 1 ? '' : 's'}`,
    `wall ${fixed(r.wallMs)} ms: in kernels ${fixed(r.kernelMs)} ms (${share(r.kernelMs)}%), ` +
      `JS dispatch and allocation ${fixed(r.restMs)} ms (${share(r.restMs)}%)`,
    table(['phase', 'calls', 'wall ms', 'kernel ms', 'rest ms', '% wall'], phaseRows),
    table(['kernel', 'family', 'calls', 'total ms', '% wall', 'us/call', 'M elem out'], kernelRows) +
      (r.kernels.some((k) => k.fallback) ? '\n* runs on the fallback backend (reference kernels)' : ''),
    table(['family', 'calls', 'total ms', '% wall'], familyRows),
    `V8 CPU profile of the main thread (worker threads not included), self time, top ${cpuRows.length}; ` +
      `open ${r.cpuProfile.file} in Chrome DevTools (Performance) for the rest`,
    table(['self ms', '%', 'function', 'where'], cpuRows),
  ];
  return sections.join('\n\n') + '\n';
}
