import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mt from '../../src/index.js';
import { saveLanguageModel, saveSegmentationModel, saveVisionModel } from '../../src/io/index.js';
import { alternatingPattern, MoEMambaLM } from '../../src/models/moe-mamba.js';
import { UMamba, umambaConfig } from '../../src/models/umamba.js';
import { UNet } from '../../src/models/unet.js';
import { Vim } from '../../src/models/vim.js';
import { ViT } from '../../src/models/vit.js';

/** A model folder as bytes by file name, ready for memoryFiles. */
export type FolderBytes = Record<string, Uint8Array>;

/** The model types the fuzz suite builds a tiny folder of: every model_type the registry reads. */
export const MODEL_FOLDER_TYPES = ['mamba', 'moe_mamba', 'transformer', 'vit', 'vim', 'unet', 'umamba'] as const;
export type ModelFolderType = (typeof MODEL_FOLDER_TYPES)[number];

const generator = (): { generator: mt.Generator } => ({ generator: new mt.Generator(7) });
const lm = (): mt.MambaConfig => mt.mambaConfig({ dModel: 8, nLayer: 2, vocabSize: 16, dState: 4 });
const classifier = { classNames: ['a', 'b'], normalisation: { mean: [0.5], std: [0.25] } };

/** Writes one tiny model of `type` into `folder` through the library's own writers. */
async function saveTiny(type: ModelFolderType, folder: string): Promise<void> {
  switch (type) {
    case 'mamba':
      await saveLanguageModel(new mt.MambaLM(lm(), generator()), folder);
      return;
    case 'moe_mamba': {
      const moe = { experts: 2, dExpert: 8, topK: 1, capacityFactor: 2, auxLossWeight: 0.01, zLossWeight: 0 };
      await saveLanguageModel(
        new MoEMambaLM({ mamba: lm(), moe, pattern: alternatingPattern(1) }, generator()),
        folder,
      );
      return;
    }
    case 'transformer':
      await saveLanguageModel(
        new mt.TransformerLM({ vocabSize: 16, dModel: 8, nLayer: 1, nHead: 2, maxLength: 8 }, generator()),
        folder,
      );
      return;
    case 'vit':
      await saveVisionModel(
        new ViT({ imageSize: 4, patchSize: 2, channels: 1, numClasses: 2, dModel: 8, depth: 1, nHead: 2 }, generator()),
        folder,
        classifier,
      );
      return;
    case 'vim':
      await saveVisionModel(
        new Vim(
          { imageSize: 4, patchSize: 2, channels: 1, numClasses: 2, dModel: 8, depth: 1, dState: 4 },
          generator(),
        ),
        folder,
        classifier,
      );
      return;
    case 'unet':
    case 'umamba': {
      const network =
        type === 'unet'
          ? new UNet(
              { inChannels: 1, classes: 2, features: [4, 8], convsPerStage: 1, deepSupervision: false },
              generator(),
            )
          : new UMamba(
              umambaConfig({ classes: 2, features: [4, 8], variant: 'bot', dState: 4, deepSupervision: false }),
              generator(),
            );
      await saveSegmentationModel(
        network,
        {
          network:
            network instanceof UNet
              ? { type: 'unet', config: network.config }
              : { type: 'umamba', config: network.config },
          classNames: ['background', 'a'],
          preprocessing: { normalisation: 'zscore', scale: 1, divisor: network.divisor },
          data: { kind: 'folder', path: 'data', testFraction: 0.2 },
        },
        folder,
      );
      return;
    }
  }
}

/** A model folder's files as bytes by name. */
export function folderBytes(folder: string): FolderBytes {
  return Object.fromEntries(readdirSync(folder).map((f) => [f, new Uint8Array(readFileSync(join(folder, f)))]));
}

/** One tiny folder of every model type, read back into memory (the temporary folder is removed). */
export async function tinyModelFolders(): Promise<Record<ModelFolderType, FolderBytes>> {
  const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-fuzz-'));
  try {
    const folders = {} as Record<ModelFolderType, FolderBytes>;
    for (const type of MODEL_FOLDER_TYPES) {
      const folder = join(scratch, type);
      await saveTiny(type, folder);
      folders[type] = folderBytes(folder);
    }
    return folders;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
