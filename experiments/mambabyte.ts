import { mkdirSync } from 'node:fs';
import '../src/backends/node.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureCompressors, compressorLabel } from '../src/data/compressors.js';
import { loadTextCorpus, splitBytes } from '../src/data/text.js';
import { windowedNll } from '../src/eval/window-nll.js';
import { saveModuleWeights } from '../src/io/module-weights.js';
import { TransformerLM, transformerConfigForParameters } from '../src/models/transformer.js';
import { Generator } from '../src/tensor/random.js';
import { byteLmTask } from '../src/train/byte-lm.js';
import { bitsPerByte, MAMBABYTE_DEFAULTS, MAMBABYTE_TRAINER, trainMambaByte } from '../src/train/mambabyte.js';
import { train, type MetricsRecord } from '../src/train/trainer.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { writeLineChart } from '../src/util/plot.js';
import { runNumpy } from '../bench/numpy.js';

/**
 * `npm run experiment:mambabyte [-- --minutes M --out DIR]`: MambaByte against a byte-level
 * Transformer of the same parameter count, trained on the same text for the same wall-clock time,
 * and against gzip -9, xz -9e and zstd -19, all scored on the same held-out text. Writes
 * report.json and bpb.svg (held-out bits per byte against training time).
 */
const { values } = parseArgs({
  options: { minutes: { type: 'string' }, out: { type: 'string' }, 'held-out-bytes': { type: 'string' } },
});
const minutes = Number(values.minutes ?? MAMBABYTE_TRAINER.minutes);
const out = values.out ?? 'runs/experiment-mambabyte';
const heldOutBytes = Number(values['held-out-bytes'] ?? 262144);
mkdirSync(out, { recursive: true });
const log = (line: string) => process.stderr.write(line + '\n');

const split = splitBytes(loadTextCorpus('default', log), 0.05, { seed: MAMBABYTE_DEFAULTS.seed });
const data = { train: split.train.bytes, validation: split.validation.bytes };
const heldOut = data.validation.subarray(0, heldOutBytes);
log(`training text ${data.train.length} bytes; held-out text ${heldOut.length} bytes`);

const compressors = await measureCompressors(heldOut);
log(compressors.map(compressorLabel).join(', '));

const trainer = { ...MAMBABYTE_TRAINER, minutes };
log(`training MambaByte for ${minutes} minutes`);
const mamba = await trainMambaByte(data, MAMBABYTE_DEFAULTS, trainer, { out: join(out, 'mambabyte'), log });
const mambaBpb = bitsPerByte(mamba.model, heldOut, MAMBABYTE_DEFAULTS.seqLen);

const tConfig = transformerConfigForParameters(mamba.parameters, {
  vocabSize: 256,
  maxLength: MAMBABYTE_DEFAULTS.seqLen,
  nLayer: 4,
  nHead: 4,
});
const transformer = new TransformerLM(tConfig, { generator: new Generator(MAMBABYTE_DEFAULTS.seed) });
const window = (bytes: Uint8Array) => windowedNll(transformer, Array.from(bytes), tConfig.maxLength) / Math.LN2;
log(
  `training a Transformer of ${transformer.numParameters()} parameters (d_model ${tConfig.dModel}) for ${minutes} minutes`,
);
const tResult = await train(
  byteLmTask(transformer, data, MAMBABYTE_DEFAULTS, {
    bitsPerByte: window,
    saveModel: async (dir) => {
      mkdirSync(dir, { recursive: true });
      await saveModuleWeights(transformer, join(dir, 'model.safetensors'));
      writeFileAtomic(join(dir, 'transformer.json'), JSON.stringify(tConfig) + '\n');
    },
    settings: { model: 'transformer', ...tConfig },
  }),
  trainer,
  { out: join(out, 'transformer'), log },
);
const transformerBpb = window(heldOut);

const numpy = runNumpy([{ kind: 'matmul', m: 1024, k: 1024, n: 1024, repeats: 5 }], 2);
const peakFlops = 'results' in numpy ? (2 * 1024 ** 3) / numpy.results[0]!.min : null;
const describe = (
  name: string,
  params: number,
  r: { steps: number; elapsedSeconds: number; unitsSeen: number; history: MetricsRecord[] },
  bpb: number,
) => {
  const bytesPerS = r.unitsSeen / r.elapsedSeconds;
  return {
    name,
    parameters: params,
    steps: r.steps,
    training_seconds: r.elapsedSeconds,
    bytes_per_s: bytesPerS,
    // Training costs about 6 flops per parameter per byte (forward 2, backward 4).
    fraction_of_matmul_peak: peakFlops ? (6 * params * bytesPerS) / peakFlops : null,
    held_out_bits_per_byte: bpb,
    curve: r.history
      .filter((h) => h['val_bpb'] !== undefined)
      .map((h) => ({ elapsed_s: h.elapsed_s, val_bpb: h['val_bpb'] })),
  };
};
const report = {
  held_out_bytes: heldOut.length,
  training_bytes: data.train.length,
  minutes_per_model: minutes,
  numpy_matmul_gflops_2_threads: peakFlops ? peakFlops / 1e9 : null,
  compressors,
  mambabyte: describe('MambaByte', mamba.parameters, mamba, mambaBpb),
  transformer: describe('Transformer', transformer.numParameters(), tResult, transformerBpb),
};
writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
const curve = (d: { curve: { elapsed_s: number; val_bpb: number }[] }) =>
  d.curve.map((p) => [p.elapsed_s, p.val_bpb] as const);
writeLineChart(
  join(out, 'bpb.svg'),
  [
    { name: `MambaByte (${mamba.parameters} params)`, points: curve(report.mambabyte) },
    { name: `Transformer (${transformer.numParameters()} params)`, points: curve(report.transformer) },
  ],
  {
    title: 'Held-out bits per byte against training time',
    xLabel: 'training time (s)',
    yLabel: 'bits per byte',
    references: compressors.filter((c) => c.available).map((c) => ({ y: c.bitsPerByte, label: compressorLabel(c) })),
  },
);
process.stdout.write(
  JSON.stringify(
    {
      ...report,
      mambabyte: { ...report.mambabyte, curve: undefined },
      transformer: { ...report.transformer, curve: undefined },
    },
    null,
    2,
  ) + '\n',
);
