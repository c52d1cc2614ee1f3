import type { Module } from '../nn/module.js';
import { concat } from '../ops/shape-ops.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';

/**
 * What a language model carries from one call to the next for a batch of sequences: per layer,
 * named tensors whose first axis is the batch (a Mamba layer's conv and SSM state, a Transformer
 * layer's keys and values), and how many tokens each sequence has seen. The lengths are kept on
 * the host as the tokens go in, so no model reads them back from the device.
 */
export interface LMState {
  layers: Record<string, Tensor>[];
  lengths: number[];
}

export interface LMForwardOptions<S extends LMState> {
  /** Continue the sequences from this state, and update it (prefill, then a token at a time). */
  state?: S;
  /** Compute the logits of the last position alone, which is all that generation needs. */
  lastOnly?: boolean;
}

/**
 * The language models' one interface (MambaLM, MoEMambaLM, TransformerLM): what generation,
 * evaluation, training and saving need of any of them.
 */
export interface LanguageModel<S extends LMState = LMState> extends Module {
  /** config.json's model_type: the key of the model-type registry that loads and saves it. */
  readonly modelType: string;
  /** Rows of the output layer (the vocabulary, padded as the model pads it). */
  readonly vocabSize: number;
  /** Ids below this are tokens; the rows from it to vocabSize are padding, never sampled or scored. */
  readonly vocabLimit: number;
  /** The longest sequence (prompt and generated tokens) it can read; absent when there is no limit (a recurrent model). */
  readonly maxLength?: number;
  /** Logits [B, L, vocabSize] (or [B, 1, vocabSize] with lastOnly) for int32 ids [B, L]. */
  forward(ids: Tensor, options?: LMForwardOptions<S>): Tensor;
  /** A fresh state for `batch` sequences; free it with disposeState. */
  initialState(batch: number): S;
  /** The text of the config.json that rebuilds this model (the weights are its state dict). */
  configJson(): string;
}

/** Frees every tensor of a language model's state (the model's own state is not freed with it). */
export function disposeState(state: LMState): void {
  for (const layer of state.layers) for (const t of Object.values(layer)) t.dispose();
}

/** One state for several batches: each tensor joined along the batch axis, the lengths listed in order. */
export function joinStates<S extends LMState>(states: readonly S[]): S {
  const first = states[0]!;
  const layers = first.layers.map((layer, i) =>
    Object.fromEntries(
      Object.keys(layer).map((k) => [
        k,
        keep(
          concat(
            states.map((s) => s.layers[i]![k]!),
            0,
          ),
        ),
      ]),
    ),
  );
  return { ...first, layers, lengths: states.flatMap((s) => s.lengths) };
}

/**
 * Checks that a batch of ids [B, L] continues a state of B sequences, and counts the L tokens in.
 * Called before the layers run, so a mismatch leaves the state as it was.
 */
export function advanceLengths(model: string, state: LMState, idsShape: readonly number[]): void {
  const [batch, length] = idsShape as [number, number];
  if (state.lengths.length !== batch)
    throw new MambaError(`${model}: the state holds ${state.lengths.length} sequences but the input has ${batch}`);
  state.lengths = state.lengths.map((n) => n + length);
}
