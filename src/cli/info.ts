import { resolveModel } from '../hub/model-source.js';
import { openCheckpoint } from '../io/checkpoint.js';
import { readMambaConfig } from '../io/model-types/mamba.js';
import { checkConfigAgainstWeights } from '../models/mamba-config-json.js';
import { parse, UsageError } from './args.js';

export const infoUsage = `usage: mamba-ts info --model <dir|id> [--json]

Describes a model without loading its weights: layout, config, parameter count, stored dtypes
and the memory its float32 weights take.`;

export async function info(argv: string[]): Promise<void> {
  const { values } = parse(argv, { options: { model: { type: 'string' }, json: { type: 'boolean' } } }, infoUsage);
  if (!values.model) throw new UsageError('--model is required', infoUsage);
  const { folder } = await resolveModel(values.model);
  const config = await readMambaConfig(folder);
  const checkpoint = await openCheckpoint(folder);
  const { layout } = checkConfigAgainstWeights(config, checkpoint.tensors, checkpoint.source);
  const shared = config.tieEmbeddings && checkpoint.tensors.has('lm_head.weight') ? 'lm_head.weight' : null;
  let parameters = 0;
  const dtypes: Record<string, number> = {};
  for (const [name, entry] of checkpoint.tensors) {
    const n = entry.shape.reduce((a, b) => a * b, 1);
    dtypes[entry.dtype] = (dtypes[entry.dtype] ?? 0) + n;
    if (name !== shared) parameters += n;
  }
  const report = {
    folder,
    layout,
    format: checkpoint.format,
    files: checkpoint.files,
    config,
    parameters,
    stored_dtypes: dtypes,
    float32_bytes: parameters * 4,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const lines = [
    `model      ${folder}`,
    `layout     ${layout} (${checkpoint.format}, ${checkpoint.files.length} file${checkpoint.files.length > 1 ? 's' : ''})`,
    `size       d_model ${config.dModel}, ${config.nLayer} layers, d_inner ${config.dInner}, d_state ${config.dState}, d_conv ${config.dConv}, dt_rank ${config.dtRank}, vocab ${config.vocabSize}`,
    `parameters ${parameters.toLocaleString('en-US')}${config.tieEmbeddings ? ' (head tied to the embedding)' : ''}`,
    `stored as  ${Object.entries(dtypes)
      .map(([d, n]) => `${d} (${n.toLocaleString('en-US')} values)`)
      .join(', ')}`,
    `memory     ${((parameters * 4) / 2 ** 20).toFixed(1)} MiB as float32, plus ${((((config.dConv - 1) * config.dInner + config.dInner * config.dState) * config.nLayer * 4) / 1024).toFixed(1)} KiB of state per sequence`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
