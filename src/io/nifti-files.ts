import { readFileSync } from 'node:fs';
import { decodeNifti, encodeNifti, type NiftiImage } from '../formats/nifti.js';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

/** Reads a .nii or .nii.gz file (gzip told apart by its bytes). */
export function readNifti(path: string): NiftiImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new MambaError(
      `cannot read the NIfTI image ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  return decodeNifti(bytes, path);
}

/** Writes a .nii or (by the name) .nii.gz file atomically. */
export function writeNifti(path: string, image: NiftiImage): void {
  if (!/\.nii(\.gz)?$/i.test(path)) throw new MambaError(`${path}: a NIfTI file name must end in .nii or .nii.gz`);
  writeFileAtomic(path, encodeNifti(image, { gzip: /\.gz$/i.test(path), source: path }));
}
