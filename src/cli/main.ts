#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import '../backends/node.js';
import { parseLimits, setReadLimits } from '../formats/limits.js';
import { MambaError } from '../util/errors.js';
import { describeSystemError, isSystemError } from '../util/fs-errors.js';
import { checkAsUsage, UsageError } from './args.js';
import { didYouMean } from './suggest.js';
import { data, dataUsage } from './data.js';
import { demo, demoUsage } from './demo.js';
import { anyEvalUsage, anyTrainUsage, evalAny, train, trainHelp } from './dispatch.js';
import { generate, generateUsage } from './generate.js';
import { info, infoUsage } from './info.js';
import { segmentCommand, segmentUsage } from './segmentation.js';
import { classifyCommand, classifyUsage } from './vision.js';

const commands: Record<
  string,
  { run: (argv: string[]) => void | Promise<void>; summary: string; usage: string; help?: (argv: string[]) => string }
> = {
  demo: { run: demo, summary: 'train a small network on real data and report its accuracy', usage: demoUsage },
  train: {
    run: train,
    summary: 'train a model (mambabyte, moe-mamba, vim, vit, umamba, unet), resumable',
    usage: anyTrainUsage,
    help: trainHelp,
  },
  generate: {
    run: generate,
    summary: 'continue a prompt with a language model (Mamba, MoE-Mamba, Transformer)',
    usage: generateUsage,
  },
  eval: {
    run: evalAny,
    summary: 'score a model: bits per byte of a text, accuracy on images, Dice of segmentations',
    usage: anyEvalUsage,
  },
  classify: {
    run: classifyCommand,
    summary: 'the most likely classes of images under a Vim or ViT',
    usage: classifyUsage,
  },
  segment: {
    run: segmentCommand,
    summary: 'segment a NIfTI volume or an image with a U-Mamba or U-Net',
    usage: segmentUsage,
  },
  info: { run: info, summary: 'describe any model folder: type, config, parameters, dtypes, memory', usage: infoUsage },
  data: { run: data, summary: 'list or install the data sets used by the recipes', usage: dataUsage },
};

const OPTIONS = ['--help', '--version'];

const usage = `usage: mamba-ts <command> [options]

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

options:
  -h, --help     show this help (or a command's, after its name)
  -v, --version  print the version`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function commandNamed(name: string): (typeof commands)[string] {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command) return command;
  const what = name.startsWith('-') ? 'option' : 'command';
  const meant = didYouMean(name, name.startsWith('-') ? OPTIONS : Object.keys(commands));
  throw new UsageError(`unknown ${what} '${name}'${meant}`, usage);
}

async function main(argv: string[]): Promise<number> {
  const limits = process.env['MAMBA_TS_LIMITS'];
  if (limits) checkAsUsage(usage, () => setReadLimits(parseLimits(limits)));
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' && rest[0] !== undefined ? commandNamed(rest[0]) : undefined;
    process.stdout.write((topic?.usage ?? usage) + '\n');
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const command = commandNamed(first);
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write((command.help?.(rest) ?? command.usage) + '\n');
    return 0;
  }
  await command.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`mamba-ts: ${error.message}\n\n${error.usage}\n`);
      process.exitCode = 2;
    } else if (error instanceof MambaError) {
      process.stderr.write(`mamba-ts: ${error.message}\n`);
      process.exitCode = 1;
    } else if (isSystemError(error)) {
      // The environment refused a file operation that the library did not explain: still the user's to fix.
      process.stderr.write(`mamba-ts: ${describeSystemError(error)}\n`);
      process.exitCode = 1;
    } else {
      const e = error as Error;
      process.stderr.write(`mamba-ts: internal error: ${e?.message ?? String(error)}\n`);
      if (process.env['MAMBA_TS_DEBUG']) process.stderr.write(`${e?.stack ?? ''}\n`);
      else process.stderr.write('(set MAMBA_TS_DEBUG=1 for the stack trace, and please report it)\n');
      process.exitCode = 1;
    }
  },
);
