import { bytesSource, MemorySink } from '../formats/byte-source.js';
import { parseJson } from '../formats/json.js';
import { openSafetensors, writeSafetensors } from '../formats/safetensors.js';
import { disposeState, type LanguageModel, type LMState } from '../models/language-model.js';
import { fromArray } from '../ops/create.js';
import { keep } from '../tensor/scope.js';
import { MambaError } from '../util/errors.js';

/** What a saved session holds: the recurrent state of one sequence and the ids chosen but not yet read. */
export interface SavedSession<S extends LMState = LMState> {
  state: S;
  /** Ids the state has not read yet (the last generated token): the next call feeds them first. */
  pending: number[];
}

// The metadata that marks the bytes as a session of a model type; the version changes when the layout does.
const FORMAT = 'mamba-ts-session';
const VERSION = '1';

/**
 * A session as safetensors bytes: tensor `layers.<i>.<name>` per state tensor, the lengths, the
 * pending ids and the model type in the metadata. A state is a few tensors per layer (Mamba: the
 * conv window and the SSM state), so the bytes are small and do not grow with the text.
 */
export async function sessionToBytes(model: LanguageModel, session: SavedSession): Promise<Uint8Array> {
  const tensors = session.state.layers.flatMap((layer, i) =>
    Object.entries(layer).map(([name, t]) => ({
      name: `layers.${i}.${name}`,
      shape: t.shape,
      data: t.toArray() as Float32Array,
    })),
  );
  const sink = new MemorySink('session');
  await writeSafetensors(sink, tensors, {
    metadata: {
      format: FORMAT,
      version: VERSION,
      model_type: model.modelType,
      lengths: JSON.stringify(session.state.lengths),
      pending: JSON.stringify(session.pending),
    },
  });
  return sink.bytes();
}

/**
 * Reads bytes sessionToBytes wrote, for `model`: the state's tensors must have the names and the
 * shapes (past the first axis, which counts sequences or cached positions) of the model's own.
 */
export async function sessionFromBytes<S extends LMState>(
  model: LanguageModel<S>,
  bytes: Uint8Array,
): Promise<SavedSession<S>> {
  const file = await openSafetensors(bytesSource(bytes, 'the saved session'));
  const meta = file.metadata ?? {};
  if (meta['format'] !== FORMAT)
    throw new MambaError('these bytes are not a saved session: pass what Session.save() returned');
  if (meta['version'] !== VERSION)
    throw new MambaError(`the session was saved in layout ${meta['version']}, this version reads ${VERSION}`);
  if (meta['model_type'] !== model.modelType)
    throw new MambaError(
      `the session was saved from a ${meta['model_type']} model and cannot continue in a ${model.modelType} model`,
    );
  const lengths = parseIds(meta['lengths'], 'lengths');
  const pending = parseIds(meta['pending'], 'pending');
  const template = model.initialState(1);
  try {
    template.layers.forEach((layer, i) => {
      for (const [name, t] of Object.entries(layer)) {
        const entry = file.tensors.get(`layers.${i}.${name}`);
        if (!entry || entry.shape.length !== t.shape.length || entry.shape.some((n, a) => a > 0 && n !== t.shape[a]))
          throw new MambaError(
            `the saved session does not fit this model: its state tensor layers.${i}.${name} is ${entry ? `[${entry.shape.join(', ')}]` : 'missing'}, the model's is [${t.shape.join(', ')}] (past the first axis); continue it with the model that saved it`,
          );
      }
    });
    if (file.tensors.size !== template.layers.reduce((n, layer) => n + Object.keys(layer).length, 0))
      throw new MambaError(
        'the saved session has more state tensors than this model; continue it with the model that saved it',
      );
    const layers = await Promise.all(
      template.layers.map(async (layer, i) =>
        Object.fromEntries(
          await Promise.all(
            Object.entries(layer).map(async ([name, t]) => {
              const entry = file.tensors.get(`layers.${i}.${name}`)!;
              const data = (await entry.read()) as Float32Array;
              return [name, keep(fromArray(data, entry.shape, { dtype: t.dtype, backend: t.backend }))] as const;
            }),
          ),
        ),
      ),
    );
    return { state: { ...template, layers, lengths } as S, pending };
  } finally {
    disposeState(template);
  }
}

function parseIds(text: string | undefined, what: string): number[] {
  let value: unknown;
  try {
    value = parseJson(text ?? '', `the saved session's ${what}`);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.some((n) => !Number.isInteger(n) || n < 0))
    throw new MambaError(`the saved session's ${what} are not a list of non-negative integers`);
  return value as number[];
}
