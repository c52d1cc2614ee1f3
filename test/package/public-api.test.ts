import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import ts from 'typescript';
import { packAndInstall } from './packed-package.js';

// The public API as the packed package's declarations present it to a TypeScript user: what each
// entry exports, whether its classes and functions say what they do, and whether two entries
// that one program may import together ever give one name two meanings.

/** The entries one program may import together, per export condition. */
const GROUPS = {
  node: { conditions: [], entries: ['mamba-ts', 'mamba-ts/io', 'mamba-ts/formats', 'mamba-ts/train', 'mamba-ts/data'] },
  browser: { conditions: ['browser'], entries: ['mamba-ts', 'mamba-ts/formats'] },
} as const;

/** What each family of the library must offer, and where. */
const EXPECTED: Record<string, string[]> = {
  'mamba-ts': [
    ...['init', 'tensor', 'Tensor', 'nn', 'AdamW', 'warmupCosine', 'clipGradNorm', 'generate', 'sequenceNll'],
    ...['MambaLM', 'mambaConfig', 'MoEMambaLM', 'SwitchMoE', 'TransformerLM', 'transformerConfig'],
    ...['Vim', 'vimConfig', 'vimPreset', 'VIM_PRESETS', 'ViT', 'vitConfig', 'VIT_PRESETS'],
    ...['UMamba', 'umambaConfig', 'UNet', 'unetConfigForParameters', 'buildSegmentationNetwork'],
  ],
  'mamba-ts/io': ['loadModel', 'loadLanguageModel', 'saveLanguageModel', 'readImage', 'writePng', 'readNifti'],
  'mamba-ts/formats': ['openSafetensors', 'decodeImage', 'decodeNifti', 'encodeNifti'],
  'mamba-ts/train': [
    ...['train', 'trainMambaByte', 'MAMBABYTE_DEFAULTS', 'trainMoEMambaByte', 'trainImageClassifier'],
    ...['VISION_TASK_DEFAULTS', 'trainSegmentation', 'SEGMENTATION_DEFAULTS', 'latestCheckpoint'],
  ],
  'mamba-ts/data': [
    ...['ensureDataset', 'loadTextCorpus', 'loadTextFiles', 'splitBytes', 'loadDigits', 'loadIdxFolder'],
    ...['loadImageFolder', 'ImageBatches', 'loadSegmentationData', 'loadMricron', 'loadPngPairs'],
  ],
};

interface Exported {
  /** The name a user writes, with its namespace (nn.Linear). */
  name: string;
  symbol: ts.Symbol;
}

interface Entries {
  checker: ts.TypeChecker;
  /** Entry -> its exports, namespaces flattened. */
  exports: Map<string, Exported[]>;
}

function resolve(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function flatten(checker: ts.TypeChecker, module: ts.Symbol, prefix: string): Exported[] {
  return checker.getExportsOfModule(module).flatMap((s) => {
    const symbol = resolve(checker, s);
    const name = prefix + s.name;
    const inside = symbol.flags & ts.SymbolFlags.ValueModule ? flatten(checker, symbol, `${name}.`) : [];
    return [{ name, symbol }, ...inside];
  });
}

/** Loads the entries' declarations as a program in the consumer folder would, under the given export conditions. */
function loadEntries(consumer: string, entries: readonly string[], conditions: readonly string[]): Entries {
  const file = join(consumer, `entries-${conditions.join('-') || 'node'}.ts`);
  writeFileSync(file, entries.map((e, i) => `import * as e${i} from '${e}';\nvoid e${i};\n`).join(''));
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    strict: true,
    noEmit: true,
    customConditions: [...conditions],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const exports = new Map<string, Exported[]>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const entry = (statement.moduleSpecifier as ts.StringLiteral).text;
    const module = checker.getSymbolAtLocation(statement.moduleSpecifier);
    assert.ok(module, `${entry} does not resolve`);
    exports.set(entry, flatten(checker, module, ''));
  }
  return { checker, exports };
}

function isCallable(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Function)) return true;
  return (
    (symbol.flags & ts.SymbolFlags.Variable) !== 0 && checker.getTypeOfSymbol(symbol).getCallSignatures().length > 0
  );
}

function isValue(symbol: ts.Symbol): boolean {
  return (symbol.flags & ts.SymbolFlags.Value) !== 0;
}

describe('the public API in the packed declarations', () => {
  let consumer = '';
  const loaded = new Map<keyof typeof GROUPS, Entries>();

  before(() => {
    consumer = packAndInstall().consumer;
    for (const [group, { entries, conditions }] of Object.entries(GROUPS))
      loaded.set(group as keyof typeof GROUPS, loadEntries(consumer, entries, conditions));
  });
  after(() => rmSync(dirname(consumer), { recursive: true, force: true }));

  it('each entry exports the models, trainers and readers of its family', () => {
    const { exports } = loaded.get('node')!;
    for (const [entry, names] of Object.entries(EXPECTED)) {
      const have = new Set(exports.get(entry)!.map((e) => e.name));
      const missing = names.filter((n) => !have.has(n));
      assert.deepEqual(missing, [], `${entry} lacks ${missing.join(', ')}`);
    }
    const browser = new Set(
      loaded
        .get('browser')!
        .exports.get('mamba-ts')!
        .map((e) => e.name),
    );
    const shared = EXPECTED['mamba-ts']!.filter((n) => !browser.has(n));
    assert.deepEqual(shared, [], `the browser entry lacks ${shared.join(', ')}`);
  });

  it('every exported class and function has a doc comment of a few words at least', () => {
    const undocumented = new Set<string>();
    for (const { checker, exports } of loaded.values()) {
      for (const [entry, list] of exports) {
        for (const { name, symbol } of list) {
          if (!isCallable(checker, symbol)) continue;
          const doc = ts.displayPartsToString(symbol.getDocumentationComment(checker));
          if (doc.trim().split(/\s+/).length < 3) undocumented.add(`${entry}: ${name}`);
        }
      }
    }
    assert.deepEqual([...undocumented].sort(), []);
  });

  it('no name means two things across the entries one program may import', () => {
    for (const [group, { exports }] of loaded) {
      const seen = new Map<string, { entry: string; symbol: ts.Symbol }>();
      for (const [entry, list] of exports) {
        for (const { name, symbol } of list) {
          const first = seen.get(name);
          if (!first) seen.set(name, { entry, symbol });
          else
            assert.equal(
              first.symbol,
              symbol,
              `${group}: ${name} from ${first.entry} and from ${entry} are different things`,
            );
        }
      }
    }
  });

  it('the JavaScript of each entry exports the values its declarations promise, and no others', async () => {
    const packageDir = join(consumer, 'node_modules', 'mamba-ts');
    const files: Record<string, string> = {
      'mamba-ts': 'dist/src/index.js',
      'mamba-ts/io': 'dist/src/io/index.js',
      'mamba-ts/formats': 'dist/src/formats/index.js',
      'mamba-ts/train': 'dist/src/train/index.js',
      'mamba-ts/data': 'dist/src/data/index.js',
      'mamba-ts (browser)': 'dist/src/browser.js',
    };
    const declared = (group: keyof typeof GROUPS, entry: string) =>
      loaded
        .get(group)!
        .exports.get(entry)!
        .filter((e) => isValue(e.symbol) && !e.name.includes('.'))
        .map((e) => e.name)
        .sort();
    for (const [entry, file] of Object.entries(files)) {
      const module = (await import(pathToFileURL(join(packageDir, file)).href)) as Record<string, unknown>;
      const group = entry.endsWith('(browser)') ? 'browser' : 'node';
      assert.deepEqual(Object.keys(module).sort(), declared(group, entry.replace(' (browser)', '')), entry);
    }
  });
});
