import { readFileSync } from 'node:fs';
import { sequenceNll, type NllResult } from '../eval/nll.js';
import { windowedNll } from '../eval/window-nll.js';
import type { LanguageModel } from '../models/language-model.js';
import { ByteTokenizer } from '../io/tokenizer.js';
import { countProgress, type CountCallback } from '../util/progress.js';
import { numberFlag, parse, UsageError } from './args.js';
import { applyRuntime, checkIds, openModel, parseIds, runtimeOptions, runtimeUsage } from './model.js';

export const evalUsage = `usage: mamba-ts eval --model <dir|id> (--text-file F | --ids-file F) [--json]

Mean negative log-likelihood of a text under a language model (Mamba, MoE-Mamba or the
Transformer baseline), in nats per predicted token, its perplexity, and bits per byte (for a
text file: total bits over its UTF-8 bytes; for a byte-level model that equals bits per token).

  --model DIR|ID            a local folder, or a Hugging Face id
  --text-file F             a UTF-8 text file (needs the model's tokenizer)
  --ids-file F              token ids separated by spaces, commas or newlines
  --chunk N                 tokens per forward pass; the state carries across (default 512). A
                            Transformer reads a text longer than its context in windows of its
                            context, each starting half a window after the last
  --json                    print one JSON object
${runtimeUsage}`;

function readInput(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      evalUsage,
    );
  }
}

export async function evaluate(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      options: {
        model: { type: 'string' },
        'text-file': { type: 'string' },
        'ids-file': { type: 'string' },
        chunk: { type: 'string' },
        json: { type: 'boolean' },
        ...runtimeOptions,
      },
    },
    evalUsage,
  );
  const textFile = values['text-file'];
  const idsFile = values['ids-file'];
  if (!textFile === !idsFile) throw new UsageError('give exactly one of --text-file and --ids-file', evalUsage);
  const chunk = numberFlag(values.chunk, 'chunk', evalUsage, 512, { integer: true, min: 1 });
  const input = readInput((textFile ?? idsFile)!);
  const givenIds = idsFile ? parseIds(input, idsFile, evalUsage) : null;
  await applyRuntime(values, evalUsage);
  const { model, tokenizer } = await openModel(values.model, evalUsage);
  if (textFile && !tokenizer)
    throw new UsageError('this model has no tokenizer.json: evaluate an --ids-file instead', evalUsage);
  const ids = givenIds ?? tokenizer!.encode(input);
  checkIds(ids, givenIds ? idsFile! : `${textFile!} (as tokenizer.json encodes it)`, model.vocabLimit, evalUsage);
  const onProgress = countProgress(`scoring ${(textFile ?? idsFile)!}`, 'tokens');
  // A model with a bounded context (the Transformer) reads a longer text in overlapping windows.
  const window = model.maxLength !== undefined && ids.length > model.maxLength ? model.maxLength : null;
  const r =
    window !== null ? windowedResult(model, ids, window, onProgress) : sequenceNll(model, ids, chunk, onProgress);
  const byteLevel = tokenizer instanceof ByteTokenizer;
  // Bits per byte: over the text's bytes, excluding the first token's, which is not predicted.
  const bytes = textFile
    ? Buffer.byteLength(input, 'utf8') - (byteLevel ? 1 : Buffer.byteLength(tokenizer!.decode(ids.slice(0, 1)), 'utf8'))
    : byteLevel
      ? r.tokens
      : null;
  const bitsPerByte = bytes ? r.totalNats / Math.LN2 / bytes : null;
  const report = {
    tokens: r.tokens,
    mean_nll: r.meanNll,
    perplexity: r.perplexity,
    bits_per_byte: bitsPerByte,
    tokens_per_s: r.tokens / r.seconds,
    window,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  process.stdout.write(
    `${r.tokens} predicted tokens: mean NLL ${r.meanNll.toFixed(4)} nats/token, perplexity ${r.perplexity.toFixed(3)}` +
      (bitsPerByte !== null ? `, ${bitsPerByte.toFixed(4)} bits/byte` : '') +
      ` (${report.tokens_per_s.toFixed(1)} tokens/s${window !== null ? `; windows of ${window} tokens, each token seen with at least ${window - (window >> 1)} of context` : ''})\n`,
  );
}

function windowedResult(
  model: LanguageModel,
  ids: readonly number[],
  window: number,
  onProgress: CountCallback,
): NllResult {
  const started = performance.now();
  const meanNll = windowedNll(model, ids, window, undefined, onProgress);
  const tokens = ids.length - 1;
  return {
    meanNll,
    perplexity: Math.exp(meanNll),
    tokens,
    totalNats: meanNll * tokens,
    seconds: (performance.now() - started) / 1000,
  };
}
