import { segmentationConfigJson, type SegmentationModelInfo } from '../../models/segmentation-schema.js';
import type { SegmentationNetwork } from '../../models/unet.js';
import { writeModelFolder } from '../model-folder.js';

/** Writes config.json (see models/segmentation-schema.ts) and model.safetensors. */
export async function saveSegmentationModel(
  net: SegmentationNetwork,
  info: SegmentationModelInfo,
  folder: string,
): Promise<string[]> {
  return await writeModelFolder(folder, net, segmentationConfigJson(info));
}
