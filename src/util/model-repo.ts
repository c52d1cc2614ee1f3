// What a model repository on the Hugging Face hub holds, as the hub client (Node, hub/) and the
// loaders of any files (load/, which the browser runs too) both need to know.

/** Weight files in the order transformers prefers them; the first one present is used. */
export const WEIGHT_FILES = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
];

/** The tokenizer's files, besides which a model folder needs config.json and its weights. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** Where the original-layout checkpoints (state-spaces/mamba-*) take their tokenizer from. */
export const FALLBACK_TOKENIZER_REPO = 'EleutherAI/gpt-neox-20b';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** A hub id, `org/name` or `org/name@revision`. */
export const HUB_ID = /^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)(?:@(.+))?$/;
