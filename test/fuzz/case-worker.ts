import { setReadLimits, type ReadLimits } from '../../src/formats/limits.js';
import { MambaError } from '../../src/util/errors.js';
import type { FolderBytes, ModelFolderType } from './model-folders.js';
import { fuzzReaders, type FormatName, type Reader } from './readers.js';

/**
 * The child process that runs fuzz cases (isolate.ts starts it): one case at a time, each
 * classified as a clean refusal (a MambaError), a valid result, or a crash (any other error).
 * The parent owns the time and memory limits, since a hang or an abort cannot report itself.
 */
export interface InitMessage {
  kind: 'init';
  limits: Partial<ReadLimits>;
  folders: Record<ModelFolderType, FolderBytes>;
  shards: FolderBytes;
}
export interface CaseMessage {
  kind: 'case';
  id: number;
  format: FormatName;
  bytes: Uint8Array;
}
export interface DoneMessage {
  kind: 'done';
  id: number;
  outcome: 'ok' | 'error' | 'crash';
  message: string;
  /** Right after the case, before its garbage is collected: what it cost outside and inside V8's heap. */
  rss: number;
  arrayBuffers: number;
}

declare const gc: (() => void) | undefined;

export async function runCase(reader: Reader, message: CaseMessage): Promise<DoneMessage> {
  const done = (outcome: DoneMessage['outcome'], text: string): DoneMessage => {
    const { rss, arrayBuffers } = process.memoryUsage();
    return { kind: 'done', id: message.id, outcome, message: text, rss, arrayBuffers };
  };
  try {
    const result = await reader(message.bytes);
    return done('ok', typeof result === 'object' ? 'read' : String(result));
  } catch (error) {
    if (error instanceof MambaError) return done('error', error.message);
    const text = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
    return done('crash', text);
  }
}

// Inert when node --test runs this file as one of the tests: only the fuzz runner sets the variable.
if (process.env['MAMBA_TS_FUZZ_WORKER'] === '1' && process.send) {
  const send = process.send.bind(process);
  let readers: Record<FormatName, Reader> | undefined;
  process.on('message', (message: InitMessage | CaseMessage) => {
    if (message.kind === 'init') {
      setReadLimits(message.limits);
      readers = fuzzReaders(message.folders, message.shards);
      send({ kind: 'ready' });
      return;
    }
    void runCase(readers![message.format], message).then((done) => {
      send(done);
      if (typeof gc === 'function') gc();
    });
  });
}
