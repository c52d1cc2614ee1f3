// Bundles the example page with esbuild, the recipe README.md's "In the browser" gives:
//   node examples/browser/build.mjs [OUTDIR]      (default: examples/browser/public)
// OUTDIR then holds index.html, app.js (the page's code with mamba-ts), worker-browser.js (the wasm
// backend's worker, bundled on its own) and kernels-*.wasm: the library looks for the last two next
// to the script that loaded it. Serve OUTDIR with a model folder in it (./model/ by default).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, 'public'));
// The installed package's wasm backend: dist/src/backends/wasm/ beside the entry Node resolves.
const wasm = join(dirname(fileURLToPath(import.meta.resolve('mamba-ts'))), 'backends', 'wasm');

mkdirSync(out, { recursive: true });
const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning' };
await build({ ...common, entryPoints: [join(here, 'app.js')], outfile: join(out, 'app.js') });
await build({ ...common, entryPoints: [join(wasm, 'worker-browser.js')], outfile: join(out, 'worker-browser.js') });
for (const file of readdirSync(wasm).filter((name) => /^kernels-.*\.wasm$/.test(name)))
  copyFileSync(join(wasm, file), join(out, file));
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
console.log(`bundled the page into ${out}`);
