import { generate as run } from '../generate/generate.js';
import { checkSamplingOptions, isStochastic } from '../generate/sample.js';
import { applyRuntime, checkIds, openModel, parseIds, runtimeOptions, runtimeUsage } from './model.js';
import { printable } from '../util/format.js';
import { checkAsUsage, numberFlag, parse, UsageError } from './args.js';

export const generateUsage = `usage: mamba-ts generate --model <dir|id> (--prompt TEXT | --prompt-ids 1,2,3) [options]

Continues one prompt (or several: repeat --prompt) with a language model (Mamba, MoE-Mamba or the
Transformer baseline). The text streams to stdout as it is generated; on a terminal, control
characters a byte model produces are shown escaped (\\x07).

  --model DIR|ID            a local folder, or a Hugging Face id (downloaded into the HF cache)
  --prompt TEXT             the prompt (needs the model's tokenizer); repeat for a batch
  --prompt-ids 1,2,3        the prompt as token ids (no tokenizer needed); repeat for a batch
  --max-new-tokens N        tokens to generate (default 64)
  --greedy                  always the most likely token (the default)
  --temperature T           sample, dividing logits by T
  --top-k K                 sample among the K most likely tokens
  --top-p P                 sample among the most likely tokens that make up probability P
  --repetition-penalty R    penalise tokens already in the sequence (CTRL style, R > 1)
  --seed S                  sampler seed (default 0)
  --stop-token ID           stop at this id (repeatable; default: the tokenizer's end of text)
  --json                    print {"prompt_ids", "tokens", "text", "prefill_tokens_per_s",
                            "decode_tokens_per_s"} (one line per prompt) instead of streaming
${runtimeUsage}`;

export async function generate(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      options: {
        model: { type: 'string' },
        prompt: { type: 'string', multiple: true },
        'prompt-ids': { type: 'string', multiple: true },
        'max-new-tokens': { type: 'string' },
        greedy: { type: 'boolean' },
        temperature: { type: 'string' },
        'top-k': { type: 'string' },
        'top-p': { type: 'string' },
        'repetition-penalty': { type: 'string' },
        seed: { type: 'string' },
        'stop-token': { type: 'string', multiple: true },
        json: { type: 'boolean' },
        ...runtimeOptions,
      },
    },
    generateUsage,
  );
  const texts = values.prompt ?? [];
  const idLists = values['prompt-ids'] ?? [];
  if (texts.length > 0 === idLists.length > 0)
    throw new UsageError(
      'give the prompt either as --prompt TEXT or as --prompt-ids, not both and not neither',
      generateUsage,
    );
  const sampling = {
    ...(values.temperature !== undefined && {
      temperature: numberFlag(values.temperature, 'temperature', generateUsage, 1),
    }),
    ...(values['top-k'] !== undefined && {
      topK: numberFlag(values['top-k'], 'top-k', generateUsage, 0, { integer: true, min: 0 }),
    }),
    ...(values['top-p'] !== undefined && { topP: numberFlag(values['top-p'], 'top-p', generateUsage, 1) }),
    ...(values['repetition-penalty'] !== undefined && {
      repetitionPenalty: numberFlag(values['repetition-penalty'], 'repetition-penalty', generateUsage, 1),
    }),
  };
  checkAsUsage(generateUsage, () => checkSamplingOptions(sampling));
  if (values.greedy && Object.keys(sampling).some((k) => k !== 'repetitionPenalty')) {
    throw new UsageError('--greedy cannot be combined with --temperature, --top-k or --top-p', generateUsage);
  }
  const maxNewTokens = numberFlag(values['max-new-tokens'], 'max-new-tokens', generateUsage, 64, {
    integer: true,
    min: 0,
  });
  const seed = numberFlag(values.seed, 'seed', generateUsage, 0, { integer: true });
  const promptIds = idLists.map((s) => parseIds(s, '--prompt-ids', generateUsage));
  const stopIds = values['stop-token']?.flatMap((s) => parseIds(s, '--stop-token', generateUsage));
  await applyRuntime(values, generateUsage);
  const { model, tokenizer } = await openModel(values.model, generateUsage);
  if (texts.length > 0 && !tokenizer)
    throw new UsageError('this model has no tokenizer.json: give the prompt as --prompt-ids', generateUsage);
  promptIds.forEach((ids) => checkIds(ids, '--prompt-ids', model.vocabLimit, generateUsage));
  if (stopIds) checkIds(stopIds, '--stop-token', model.vocabLimit, generateUsage);
  const prompts = texts.length > 0 ? texts.map((t) => tokenizer!.encode(t)) : promptIds;
  if (texts.length > 0)
    prompts.forEach((ids) => checkIds(ids, '--prompt (as tokenizer.json encodes it)', model.vocabLimit, generateUsage));
  if (prompts.some((p) => p.length === 0))
    throw new UsageError('a prompt encodes to no tokens; give at least one character or id', generateUsage);
  const longest = Math.max(...prompts.map((p) => p.length));
  if (model.maxLength !== undefined && longest + maxNewTokens > model.maxLength) {
    throw new UsageError(
      `the model reads at most ${model.maxLength} tokens, and the longest prompt has ${longest}: ` +
        (longest < model.maxLength
          ? `give --max-new-tokens ${model.maxLength - longest} or fewer`
          : 'give a shorter prompt'),
      generateUsage,
    );
  }
  const stopTokens = stopIds ?? (tokenizer?.eosTokenId !== undefined ? [tokenizer.eosTokenId] : []);
  const streaming = !values.json && prompts.length === 1 && tokenizer !== null;
  const stream = streaming ? tokenizer!.createStreamDecoder() : null;
  // On a terminal a byte model's control bytes (bells, backspaces) are shown escaped; a pipe gets the text as it is.
  const show = process.stdout.isTTY ? printable : (text: string) => text;
  if (streaming) process.stdout.write(show(texts[0] ?? ''));
  const result = run(model, prompts, {
    maxNewTokens,
    seed,
    stopTokens,
    ...(values.greedy || !isStochastic(sampling) ? { greedy: true } : {}),
    ...sampling,
    ...(tokenizer && { vocabLimit: tokenizer.vocabSize }),
    ...(stream && { onToken: (_: number, token: number) => process.stdout.write(show(stream.push(token))) }),
  });
  const prefillRate = result.prefillTokens / Math.max(result.prefillSeconds, 1e-9);
  const decodeRate = result.decodeTokens / Math.max(result.decodeSeconds, 1e-9);
  if (stream) {
    process.stdout.write(show(stream.flush()) + '\n');
    process.stderr.write(`prefill ${prefillRate.toFixed(1)} tokens/s, decode ${decodeRate.toFixed(1)} tokens/s\n`);
    return;
  }
  prompts.forEach((prompt, i) => {
    const tokens = result.tokens[i]!;
    const text = tokenizer ? tokenizer.decode(tokens) : null;
    if (values.json) {
      process.stdout.write(
        JSON.stringify({
          prompt_ids: prompt,
          tokens,
          text,
          prefill_tokens_per_s: round(prefillRate),
          decode_tokens_per_s: round(decodeRate),
        }) + '\n',
      );
    } else {
      process.stdout.write(`${prompts.length > 1 ? `[${i}] ` : ''}${show(text ?? tokens.join(' '))}\n`);
    }
  });
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
