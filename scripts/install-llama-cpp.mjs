#!/usr/bin/env node
// `npm run peers:llama`: installs llama.cpp for Node (node-llama-cpp and its prebuilt Linux x64
// binaries, pinned) into the git-ignored .cache/peers/llama-cpp/, where `npm run bench -- decode`
// finds it and measures llama.cpp beside mamba-ts. Install scripts and optional packages are
// skipped: nothing is compiled or downloaded beyond the two npm packages. Running it again when
// both are present at the pinned version does nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSION = '3.21.1';
const PACKAGES = ['node-llama-cpp', '@node-llama-cpp/linux-x64'];
const folder = join(dirname(fileURLToPath(import.meta.url)), '..', '.cache', 'peers', 'llama-cpp');

function installedVersion(name) {
  const manifest = join(folder, 'node_modules', name, 'package.json');
  if (!existsSync(manifest)) return undefined;
  try {
    return JSON.parse(readFileSync(manifest, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function fail(message) {
  process.stderr.write(`peers:llama: ${message}\n`);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64')
  fail(
    `the pinned llama.cpp binaries are for Linux x64, and this is ${process.platform}-${process.arch}; the benchmark reports llama.cpp as unavailable here`,
  );

if (PACKAGES.every((name) => installedVersion(name) === VERSION)) {
  process.stdout.write(`peers:llama: node-llama-cpp ${VERSION} is already in ${folder}\n`);
  process.exit(0);
}

mkdirSync(folder, { recursive: true });
const specs = PACKAGES.map((name) => `${name}@${VERSION}`);
process.stdout.write(`peers:llama: installing ${specs.join(' and ')} into ${folder}\n`);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(
  npm,
  [
    'install',
    '--prefix',
    folder,
    '--ignore-scripts',
    '--omit=optional',
    '--no-save',
    '--no-audit',
    '--no-fund',
    ...specs,
  ],
  { stdio: 'inherit' },
);
if (result.error) fail(`npm could not be run (${result.error.message}); install Node.js with npm and try again`);
if (result.status !== 0)
  fail(
    `npm install failed (exit ${result.status}): check that the npm registry is reachable, then run npm run peers:llama again`,
  );
for (const name of PACKAGES) {
  const version = installedVersion(name);
  if (version !== VERSION) fail(`after npm install, ${name} is ${version ?? 'missing'} rather than ${VERSION}`);
}
process.stdout.write(`peers:llama: done; npm run bench -- decode now measures llama.cpp too\n`);
