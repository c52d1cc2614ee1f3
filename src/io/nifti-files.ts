import { decodeNifti, encodeNifti, type NiftiImage } from '../formats/nifti.js';
import { MambaError } from '../util/errors.js';
import { readFileBytes, writeFileAtomic } from '../util/fs.js';

/** Reads a .nii or .nii.gz file (gzip told apart by its bytes). */
export function readNifti(path: string): NiftiImage {
  return decodeNifti(readFileBytes(path), path);
}

/** Writes a .nii or (by the name) .nii.gz file atomically. */
export function writeNifti(path: string, image: NiftiImage): void {
  if (!/\.nii(\.gz)?$/i.test(path)) throw new MambaError(`${path}: a NIfTI file name must end in .nii or .nii.gz`);
  writeFileAtomic(path, encodeNifti(image, { gzip: /\.gz$/i.test(path), source: path }));
}
