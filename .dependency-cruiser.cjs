// The layering of src/ that docs/architecture.md describes, checked by dependency-cruiser:
// `npm run lint:deps` prints the violations, and test/architecture.test.ts fails on any.
const { builtinModules } = require('node:module');

// What each top-level folder of src/ may import from src/ besides itself, bottom to top.
// npm packages are allowed everywhere; cli/ and the entry files (index.ts, api.ts, browser.ts) may import anything.
const layers = {
  util: [],
  formats: ['util'],
  backends: ['util'],
  tensor: ['backends', 'util'],
  ops: ['tensor', 'backends', 'util'],
  nn: ['ops', 'tensor', 'backends', 'util'], // types only from backends/: rule nn-backends-types-only
  ssm: ['nn', 'ops', 'tensor', 'backends', 'util'],
  models: ['ssm', 'nn', 'ops', 'tensor', 'util'],
  generate: ['models', 'ops', 'tensor', 'util'],
  eval: ['generate', 'models', 'ops', 'tensor', 'util'],
  hub: ['formats', 'util'],
  load: ['formats', 'models', 'ssm', 'nn', 'ops', 'tensor', 'util'],
  pipeline: ['load', 'generate', 'eval', 'formats', 'models', 'ops', 'tensor', 'util'],
  io: ['load', 'pipeline', 'formats', 'hub', 'models', 'ssm', 'nn', 'ops', 'tensor', 'generate', 'util'],
  // io/ is allowed for now, while data/ still reads some files through it.
  data: ['formats', 'models', 'tensor', 'util', 'io'],
  train: ['data', 'eval', 'generate', 'io', 'formats', 'models', 'ssm', 'nn', 'ops', 'tensor', 'backends', 'util'],
  examples: ['train', 'data', 'models', 'nn', 'ops', 'tensor', 'util'],
};
const known = [...Object.keys(layers), 'cli'];
// The package's entries (package.json "exports"): they only re-export, so they may import any layer.
const entries = ['^src/(index|api|browser)\\.ts$', '^src/(io|formats|train|data)/index\\.ts$'];

// Node's core modules as dependency-cruiser names them (without the node: prefix).
const nodeCore = `^(${builtinModules.map((name) => name.replace(/^node:/, '')).join('|')})$`;

const layerRules = Object.entries(layers).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  comment:
    `src/${layer}/ may import only ${allowed.length ? allowed.map((l) => `${l}/`).join(', ') : 'itself'} from src/: ` +
    'a layer depends only on the layers below it (docs/architecture.md).',
  severity: 'error',
  from: { path: `^src/${layer}/`, pathNot: entries },
  to: { path: '^src/', pathNot: `^src/(${[layer, ...allowed].join('|')})/` },
}));

/** A rule that nothing the modules matching `from` reach, directly or through others, is a Node core module. */
const noNode = (name, from, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: nodeCore, reachable: true },
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'nn-backends-types-only',
      comment:
        'nn/ may import types from backends/ but no code: it computes through ops/ and tensor/ (docs/architecture.md).',
      severity: 'error',
      from: { path: '^src/nn/' },
      to: { path: '^src/backends/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'unknown-folder',
      comment:
        'Each module of src/ lives in a top-level folder that docs/architecture.md places in the layers, ' +
        'or is an entry file (index.ts, api.ts, browser.ts); add a new folder there and here first.',
      severity: 'error',
      from: { path: '^src/', pathNot: [`^src/(${known.join('|')})/`, entries[0]] },
      to: {},
    },
    noNode(
      'formats-no-node',
      '^src/formats/',
      'formats/ parses bytes the browser has too, so nothing it reaches may be a Node core module ' +
        '(so util/errors.ts is fine, util/fs.ts is not) (docs/architecture.md).',
    ),
    noNode(
      'load-no-node',
      '^src/(load|pipeline)/',
      'load/ and pipeline/ read models from any files (a folder, a URL, bytes in a page), so nothing they reach may be ' +
        'a Node core module: Node-only sources live in io/ (docs/architecture.md).',
    ),
    noNode(
      'browser-no-node',
      '^src/(api|browser)\\.ts$',
      'The browser loads api.ts and browser.ts, so nothing they reach may be a Node core module (docs/architecture.md).',
    ),
    {
      name: 'backends-reference-no-wasm',
      comment: 'The reference backend stands alone: it must not import the wasm backend (docs/architecture.md).',
      severity: 'error',
      from: { path: '^src/backends/reference/' },
      to: { path: '^src/backends/wasm/' },
    },
    {
      name: 'backends-contract-no-implementations',
      comment:
        'The contract files directly in backends/ do not import a backend; only registry.ts (which creates the ' +
        'reference backend) and node.ts (which registers the wasm one) do (docs/architecture.md).',
      severity: 'error',
      from: { path: '^src/backends/[^/]+$', pathNot: '^src/backends/(registry|node)\\.ts$' },
      to: { path: '^src/backends/(reference|wasm)/' },
    },
    {
      name: 'no-circular',
      comment: 'Modules of src/ do not import each other in a cycle (docs/architecture.md).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Resolves the `.js` of TypeScript's relative imports to the .ts files.
    tsConfig: { fileName: 'tsconfig.json' },
    // Counts type-only imports too: models/ may not even name a backend's types.
    tsPreCompilationDeps: true,
  },
};
