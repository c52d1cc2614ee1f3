import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IReporterOutput, type OutputType } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

// The layering of docs/architecture.md, as .dependency-cruiser.cjs encodes it (npm run lint:deps runs the same).
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Cruises src/ under baseDir with the project's rules; exitCode counts the violations. */
async function check(baseDir: string, outputType: OutputType = 'json'): Promise<IReporterOutput> {
  const options = await extractDepcruiseOptions(join(root, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(join(root, 'tsconfig.json'));
  return cruise(['src'], { ...options, baseDir, outputType }, {}, { tsConfig });
}

describe('architecture', () => {
  it('src/ keeps to the layers', async () => {
    const { exitCode, output } = await check(root, 'err-long');
    assert.equal(exitCode, 0, output as string);
  });

  describe('the rules catch wrong imports', () => {
    // A tree shaped like src/: each comment names the rule that the import breaks, if any.
    const files: Record<string, string> = {
      'src/util/errors.ts': 'export class E extends Error {}',
      'src/util/fs.ts': "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;",
      'src/backends/backend.ts': 'export interface Backend { name: string }\nexport const dtypes = 1;',
      'src/backends/registry.ts': "export * from './reference/ref.js';", // allowed
      'src/backends/contract.ts': "export * from './reference/ref.js';", // backends-contract-no-implementations
      'src/backends/reference/ref.ts': "export * from '../wasm/wasm.js';", // backends-reference-no-wasm
      'src/backends/wasm/wasm.ts': 'export const wasm = 1;',
      'src/models/bad.ts': "import type { Backend } from '../backends/backend.js';\nexport type B = Backend;", // layer-models
      'src/nn/types.ts': "import type { Backend } from '../backends/backend.js';\nexport type B = Backend;", // allowed
      'src/nn/values.ts': "export { dtypes } from '../backends/backend.js';", // nn-backends-types-only
      'src/formats/ok.ts': "export { E } from '../util/errors.js';", // allowed
      'src/formats/x.ts': "export { readFileSync } from 'node:fs';", // formats-no-node
      'src/formats/y.ts': "export { read } from '../util/fs.js';", // formats-no-node, through util/fs.ts
      'src/ops/a.ts': "import { b } from './b.js';\nexport const a = () => b;", // no-circular (reported once)
      'src/ops/b.ts': "import { a } from './a.js';\nexport const b = () => a;",
      'src/load/files.ts': "export { read } from '../util/fs.js';", // load-no-node, through util/fs.ts
      'src/pipeline/ok.ts': "export { E } from '../util/errors.js';", // allowed
      'src/tensor/chain.ts': "export { read } from '../util/fs.js';",
      'src/api.ts': "export * from './tensor/chain.js';", // browser-no-node, through tensor/ and util/
      'src/misc/stray.ts': "export * from '../util/errors.js';", // unknown-folder
      'src/io/index.ts': "export * from '../backends/registry.js';", // allowed: a package entry
      'src/io/files.ts': "export * from '../backends/registry.js';", // layer-io
    };
    const expected = [
      'backends-contract-no-implementations: src/backends/contract.ts -> src/backends/reference/ref.ts',
      'backends-reference-no-wasm: src/backends/reference/ref.ts -> src/backends/wasm/wasm.ts',
      'browser-no-node: src/api.ts -> fs',
      'formats-no-node: src/formats/x.ts -> fs',
      'formats-no-node: src/formats/y.ts -> fs',
      'layer-io: src/io/files.ts -> src/backends/registry.ts',
      'layer-models: src/models/bad.ts -> src/backends/backend.ts',
      'load-no-node: src/load/files.ts -> fs',
      'nn-backends-types-only: src/nn/values.ts -> src/backends/backend.ts',
      'no-circular: src/ops/a.ts -> src/ops/b.ts',
      'unknown-folder: src/misc/stray.ts -> src/util/errors.ts',
    ];

    const dir = mkdtempSync(join(tmpdir(), 'mamba-ts-architecture-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reports each wrong import and nothing else', async () => {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), `${text}\n`);
      }
      const { violations } = (JSON.parse((await check(dir)).output as string) as ICruiseResult).summary;
      const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
      assert.deepEqual(found, expected);
    });
  });
});
