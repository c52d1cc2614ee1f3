import { niftiLike, type NiftiImage } from '../formats/nifti.js';

/** NIFTI_INTENT_LABEL: the voxel values are indices of labels. */
const INTENT_LABEL = 1002;

/**
 * A predicted label volume as a NIfTI image on the grid of the image it was predicted from: its
 * dim, pixdim, qform, sform and byte order, uint8 labels (int16 beyond 255 classes), no scaling.
 */
export function predictionNifti(like: NiftiImage, labels: ArrayLike<number>, classes: number): NiftiImage {
  return niftiLike(like, Float32Array.from(labels), classes <= 256 ? 'uint8' : 'int16', {
    intentCode: INTENT_LABEL,
    intentName: 'labels',
    descrip: 'mamba-ts segmentation',
    calMin: 0,
    calMax: classes - 1,
  });
}
