import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenizerFromJson, type Tokenizer } from '../load/tokenizer.js';
import { MambaError } from '../util/errors.js';

export {
  ByteTokenizer,
  Tokenizer,
  type DecodeOptions,
  type StreamDecoder,
  type TextTokenizer,
} from '../load/tokenizer.js';

/**
 * Reads `folder/tokenizer.json` and, when present, `folder/tokenizer_config.json` (for the
 * bos/eos names and options such as added special tokens).
 */
export function loadTokenizer(folder: string): Tokenizer {
  const path = join(folder, 'tokenizer.json');
  if (!existsSync(path)) {
    throw new MambaError(`the model folder has no tokenizer.json (${folder}); pass --prompt-ids or add the tokenizer`);
  }
  const configPath = join(folder, 'tokenizer_config.json');
  const config = existsSync(configPath) ? readFileSync(configPath, 'utf8') : null;
  return tokenizerFromJson(readFileSync(path, 'utf8'), config, path);
}
