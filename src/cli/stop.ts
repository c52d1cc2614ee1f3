import { basename, relative } from 'node:path';
import { TrainingStopped } from '../train/trainer.js';

const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

// npm forwards the terminal's Ctrl-C to the script it runs, which has had it from the terminal
// too: signals this close together are one press.
const SAME_PRESS_MS = 1000;

/** An argument as a POSIX shell reads it back. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues this run: the one that started it, with --resume. */
export function resumeCommand(argv: readonly string[] = process.argv, env = process.env): string {
  const args = argv.slice(2);
  if (env['npm_lifecycle_event'] === 'start' && args.includes('--resume')) return 'npm start';
  const script = argv[1] ?? 'mamba-ts';
  const program = basename(script) === 'mamba-ts' ? ['mamba-ts'] : ['node', relative(process.cwd(), script) || script];
  return [...program, ...args, ...(args.includes('--resume') ? [] : ['--resume'])].map(shellWord).join(' ');
}

/**
 * Runs a training so that Ctrl-C (SIGINT) or SIGTERM stops it cleanly: the step under way
 * finishes, a checkpoint is written, one line says where it is and how to resume, and the process
 * exits 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process killed by that signal. A
 * second signal exits at once, without waiting for the checkpoint.
 */
export async function trainUntilStopped<T>(train: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let firstAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (Date.now() - firstAt > SAME_PRESS_MS) process.exit(EXIT_CODES[signal]);
      return;
    }
    firstAt = Date.now();
    process.stderr.write(
      `\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping after this step and writing a checkpoint (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again quits at once)\n`,
    );
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await train(controller.signal);
  } catch (error) {
    if (!(error instanceof TrainingStopped)) throw error;
    process.stderr.write(
      `stopped at step ${error.step}; checkpoint in ${error.checkpoint}; resume with: ${resumeCommand()}\n`,
    );
    process.exit(EXIT_CODES[error.reason] ?? 130);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
