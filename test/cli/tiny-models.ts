import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as mt from '../../src/index.js';
import { fromGray } from '../../src/formats/rgba.js';
import { saveLanguageModel, saveSegmentationModel, saveVisionModel, writePng } from '../../src/io/index.js';
import { alternatingPattern, MoEMambaLM } from '../../src/models/moe-mamba.js';
import { UMamba, umambaConfig } from '../../src/models/umamba.js';
import { Vim } from '../../src/models/vim.js';

/** A folder of each model type the project writes, as small as each model allows. */
export interface TinyModels {
  moe: string;
  transformer: string;
  vim: string;
  umamba: string;
  /** PNGs of two classes, dark and light, in a folder each (for the Vim). */
  images: string;
  /** PNG images with 0/255 masks (images/, masks/), the data the U-Mamba records. */
  pairs: string;
  /** Each folder's parameter count, from the model that was saved. */
  parameters: Record<'moe' | 'transformer' | 'vim' | 'umamba', number>;
}

/** An 8x8 gray square, dark or light, with a lighter block in one corner. */
function square(light: boolean, seed: number): Uint8Array {
  return Uint8Array.from({ length: 64 }, (_, i) => (light ? 200 : 40) + (i % 8 < 4 && i < 32 ? 30 : 0) + (seed % 5));
}

/**
 * Data for the Vim and the U-Mamba: `images/` holds one folder of PNGs per class (dark, light),
 * `pairs/` PNG images with their 0/255 masks, which the U-Mamba records as its training data.
 */
function writeTinyData(root: string): { images: string; pairs: string } {
  const images = join(root, 'images');
  const pairs = join(root, 'pairs');
  for (const kind of ['dark', 'light']) mkdirSync(join(images, kind), { recursive: true });
  for (const sub of ['images', 'masks']) mkdirSync(join(pairs, sub), { recursive: true });
  for (let i = 0; i < 5; i++) {
    writePng(join(images, 'dark', `${i}.png`), fromGray(square(false, i), 8, 8));
    writePng(join(images, 'light', `${i}.png`), fromGray(square(true, i), 8, 8));
    writePng(join(pairs, 'images', `${i}.png`), fromGray(square(i % 2 === 0, i), 8, 8));
    writePng(
      join(pairs, 'masks', `${i}.png`),
      fromGray(
        square(true, 0).map((v) => (v > 210 ? 255 : 0)),
        8,
        8,
      ),
    );
  }
  return { images, pairs };
}

/** Byte-level language models (vocabulary 256, so the CLI gives them the byte tokenizer), a Vim and a U-Mamba. */
export async function saveTinyModels(root: string): Promise<TinyModels> {
  const data = writeTinyData(root);
  const generator = new mt.Generator(0);
  const moe = new MoEMambaLM(
    {
      mamba: mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 256, dState: 4 }),
      moe: { experts: 2, dExpert: 8, topK: 1, capacityFactor: 8, auxLossWeight: 0.01, zLossWeight: 0 },
      pattern: alternatingPattern(1),
    },
    { generator },
  );
  const transformer = new mt.TransformerLM(
    { vocabSize: 256, dModel: 16, nLayer: 2, nHead: 2, maxLength: 24 },
    { generator },
  );
  const vim = new Vim(
    { imageSize: 8, patchSize: 4, channels: 1, numClasses: 2, dModel: 8, depth: 1, dState: 4 },
    { generator },
  );
  const umamba = new UMamba(umambaConfig({ classes: 2, features: [4, 8], variant: 'bot', dState: 4 }), { generator });
  const folders = {
    moe: join(root, 'moe'),
    transformer: join(root, 'transformer'),
    vim: join(root, 'vim'),
    umamba: join(root, 'umamba'),
  };
  await saveLanguageModel(moe, folders.moe);
  await saveLanguageModel(transformer, folders.transformer);
  await saveVisionModel(vim, folders.vim, {
    classNames: ['dark', 'light'],
    normalisation: { mean: [0.5], std: [0.25] },
  });
  await saveSegmentationModel(
    umamba,
    {
      network: { type: 'umamba', config: umamba.config },
      classNames: ['background', 'object'],
      preprocessing: { normalisation: 'zscore', scale: 1, divisor: umamba.divisor },
      data: { kind: 'folder', path: data.pairs, testFraction: 0.4 },
    },
    folders.umamba,
  );
  const parameters = {
    moe: moe.numParameters(),
    transformer: transformer.numParameters(),
    vim: vim.numParameters(),
    umamba: umamba.numParameters(),
  };
  for (const model of [moe, transformer, vim, umamba]) model.dispose();
  return { ...folders, ...data, parameters };
}
