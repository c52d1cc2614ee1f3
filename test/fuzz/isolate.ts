import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ReadLimits } from '../../src/formats/limits.js';
import type { DoneMessage, InitMessage } from './case-worker.js';
import type { FormatName } from './readers.js';
import type { FuzzMaterial } from './seeds.js';

/** How a case ended: a valid result, a clean refusal, or one of the failures. */
export type Outcome = 'ok' | 'error' | 'crash' | 'timeout' | 'oom';
export const OUTCOMES: readonly Outcome[] = ['ok', 'error', 'crash', 'timeout', 'oom'];

export interface CaseResult {
  outcome: Outcome;
  /** The refusal's or the crash's message, or what the limit stopped. */
  message: string;
  ms: number;
}

/**
 * The read limits the fuzz cases run under: far below the defaults, so that a reader that honours
 * them never comes near the memory cap, and the cap catches only a reader that ignores them.
 */
export const FUZZ_LIMITS: Readonly<Partial<ReadLimits>> = {
  maxElements: 2 ** 24,
  maxBytes: 256 * 2 ** 20,
  maxImagePixels: 2 ** 24,
  maxDecompressedBytes: 256 * 2 ** 20,
  maxPickleOps: 1_000_000,
  maxPickleItems: 100_000,
};

export interface IsolationOptions {
  /** Wall-clock time one case may take. */
  timeoutMs: number;
  /** Resident memory the case process may reach (V8's heap, typed arrays and wasm memory together). */
  memoryCapBytes: number;
  /** V8's old-space limit in the case process, in MiB. */
  heapMiB: number;
}

export const DEFAULT_ISOLATION: Readonly<IsolationOptions> = { timeoutMs: 5000, memoryCapBytes: 2 ** 30, heapMiB: 512 };

const WORKER = fileURLToPath(new URL('./case-worker.js', import.meta.url));

/** Resident bytes of a process, from /proc (Linux); null where there is no /proc. */
function residentBytes(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface Pending {
  id: number;
  /** The process the case runs in: an exit of an earlier, replaced one must not end it. */
  child: ChildProcess;
  resolve: (result: CaseResult) => void;
  started: number;
  /** Set when the runner kills the process for a limit, before the exit arrives. */
  killedFor?: { outcome: Outcome; message: string };
}

/**
 * Runs fuzz cases in a child process, one at a time, under a time limit and a memory cap.
 *
 * Why a child process and a sampled RSS rather than a worker thread's resourceLimits: typed
 * arrays and wasm memory live outside V8's heap, so resourceLimits do not see a 2 GB
 * Float32Array, and a V8 heap abort would take the whole test run with it. The child runs with
 * --max-old-space-size (a heap abort kills only it, and is classified `oom`), the runner reads its
 * resident size from /proc every few milliseconds while a case runs and kills it past the cap, and
 * the child reports rss and arrayBuffers after each case, with its result still alive, which the
 * runner checks against the same cap (the check that also works without /proc). ulimit -v is no
 * option: V8 and wasm reserve far more address space than they use. A killed child is replaced
 * before the next case.
 */
export class IsolatedRunner {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private pending: Pending | null = null;
  private stderr = '';
  private nextId = 0;

  constructor(
    private readonly material: Pick<FuzzMaterial, 'folders' | 'shards'>,
    private readonly options: IsolationOptions = DEFAULT_ISOLATION,
  ) {}

  async run(format: FormatName, bytes: Uint8Array): Promise<CaseResult> {
    await this.start();
    const child = this.child!;
    const id = this.nextId++;
    return await new Promise<CaseResult>((resolve) => {
      const pending: Pending = { id, child, resolve, started: Date.now() };
      this.pending = pending;
      const timer = setTimeout(
        () => this.kill(pending, 'timeout', `still running after ${this.options.timeoutMs} ms`),
        this.options.timeoutMs,
      );
      const sampler = setInterval(() => {
        const rss = residentBytes(child.pid!);
        if (rss !== null && rss > this.options.memoryCapBytes)
          this.kill(pending, 'oom', `resident memory reached ${mib(rss)} (cap ${mib(this.options.memoryCapBytes)})`);
      }, 10);
      pending.resolve = (result) => {
        clearTimeout(timer);
        clearInterval(sampler);
        this.pending = null;
        resolve(result);
      };
      child.send({ kind: 'case', id, format, bytes });
    });
  }

  /** Stops the case process; the runner starts a new one if run again. */
  close(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
    this.ready = null;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    this.stderr = '';
    const child = fork(WORKER, [], {
      execArgv: [`--max-old-space-size=${this.options.heapMiB}`, '--expose-gc'],
      env: { ...process.env, MAMBA_TS_FUZZ_WORKER: '1' },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stderr!.on('data', (chunk: Buffer) => {
      if (this.child === child) this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: { kind: 'ready' } | DoneMessage) => {
        if (message.kind === 'ready') resolve();
        else this.finish(message);
      });
      // 'close', not 'exit': by then all of stderr has arrived (a V8 heap abort says so there).
      child.on('close', (code, signal) => {
        if (this.child === child) {
          this.child = null;
          this.ready = null;
        }
        reject(new Error(`the fuzz case process exited before it was ready (${code ?? signal}): ${this.stderr}`));
        if (this.pending?.child === child) this.exited(code, signal);
      });
    });
    const init: InitMessage = { kind: 'init', limits: FUZZ_LIMITS, ...this.material };
    child.send(init);
    return this.ready;
  }

  private finish(done: DoneMessage): void {
    const pending = this.pending;
    if (!pending || pending.id !== done.id) return;
    const ms = Date.now() - pending.started;
    const used = Math.max(done.rss, done.arrayBuffers);
    if (used > this.options.memoryCapBytes) {
      // The memory stays with the process: start afresh for the next case.
      this.close();
      pending.resolve({
        outcome: 'oom',
        message: `the case left ${mib(used)} in use (cap ${mib(this.options.memoryCapBytes)})`,
        ms,
      });
    } else pending.resolve({ outcome: done.outcome, message: done.message, ms });
  }

  private kill(pending: Pending, outcome: Outcome, message: string): void {
    if (this.pending !== pending || pending.killedFor) return;
    pending.killedFor = { outcome, message };
    this.child?.kill('SIGKILL');
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    const pending = this.pending;
    if (!pending) return;
    const ms = Date.now() - pending.started;
    if (pending.killedFor) pending.resolve({ ...pending.killedFor, ms });
    else if (/heap out of memory|Allocation failed/.test(this.stderr))
      pending.resolve({ outcome: 'oom', message: `V8 ran out of heap (${this.options.heapMiB} MiB)`, ms });
    else
      pending.resolve({
        outcome: 'crash',
        message: `the process died (${code ?? signal}): ${this.stderr.slice(-500)}`,
        ms,
      });
  }
}

const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MiB`;
