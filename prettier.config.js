// Prettier's settings: `npm run format` applies them, `npm run format:check` (part of `npm run lint`) checks them.
// Indents of 2 spaces and semicolons are Prettier's defaults, as in the tree.
/** @type {import('prettier').Config} */
export default {
  printWidth: 120,
  singleQuote: true,
  trailingComma: 'all',
  overrides: [
    {
      // The AssemblyScript kernels decorate functions (`@inline function`), which Prettier's TypeScript parsers
      // reject; this plugin parses the file with AssemblyScript's own parser first and keeps the decorators.
      files: 'src/backends/wasm/assembly/**/*.ts',
      options: { plugins: ['assemblyscript-prettier'] },
    },
  ],
};
