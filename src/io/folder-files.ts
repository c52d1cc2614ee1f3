import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelFiles } from '../load/model-files.js';
import { fileSource } from './files.js';

/** A model folder on disk as ModelFiles: the loaders' view of it. */
export function folderFiles(folder: string): ModelFiles {
  const root = resolve(folder);
  return {
    name: root,
    open: async (file) => {
      const path = join(root, file);
      return statSync(path, { throwIfNoEntry: false })?.isFile() ? await fileSource(path) : null;
    },
  };
}
