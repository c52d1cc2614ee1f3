import { formatBytes } from '../util/format.js';
import { describeModel, TASK_COMMANDS } from '../io/registry.js';
import { parse } from './args.js';
import { resolveModelFlag } from './model.js';

export const infoUsage = `usage: mamba-ts info --model <dir|id> [--json]

Describes any model folder mamba-ts reads (Mamba, MoE-Mamba, Transformer, Vim, ViT, U-Mamba,
U-Net) without loading its weights: model type, what it does and the commands that take it,
layout, config, parameter count, stored dtypes, the memory its float32 weights take, and for a
language model the memory of its state.`;

const count = (n: number) => n.toLocaleString('en-US');

export async function info(argv: string[]): Promise<void> {
  const { values } = parse(argv, { options: { model: { type: 'string' }, json: { type: 'boolean' } } }, infoUsage);
  const { folder } = await resolveModelFlag(values.model, infoUsage);
  const d = await describeModel(folder);
  const commands = TASK_COMMANDS[d.task];
  const stateBytes = d.state && { bytes: d.state.values * 4, per: d.state.per };
  if (values.json) {
    const report = {
      folder: d.folder,
      model_type: d.modelType,
      task: d.task,
      description: d.description,
      commands,
      layout: d.layout,
      format: d.format,
      files: d.files,
      config: d.config,
      sizes: d.sizes,
      parameters: d.parameters,
      stored_dtypes: d.storedDtypes,
      float32_bytes: d.parameters * 4,
      state_float32_bytes: stateBytes ?? null,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const state = stateBytes
    ? `, plus ${formatBytes(stateBytes.bytes)} of ${stateBytes.per === 'sequence' ? 'state per sequence' : 'cached keys and values per token'}`
    : '';
  const lines = [
    `model      ${d.folder}`,
    `type       ${d.modelType}: ${d.description}; use it with mamba-ts ${commands.join(', ')}`,
    `layout     ${d.layout} (${d.format}, ${d.files.length} file${d.files.length > 1 ? 's' : ''})`,
    `size       ${d.sizes}`,
    `parameters ${count(d.parameters)}${d.tiedHead ? ' (head tied to the embedding)' : ''}`,
    `stored as  ${Object.entries(d.storedDtypes)
      .map(([dtype, n]) => `${dtype} (${count(n)} values)`)
      .join(', ')}`,
    `memory     ${formatBytes(d.parameters * 4)} as float32${state}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
