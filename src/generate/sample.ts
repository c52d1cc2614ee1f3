import type { Generator } from '../tensor/random.js';
import { MambaError } from '../util/errors.js';

export interface SamplingOptions {
  /** Always take the most likely token (the default when no other option is set). */
  greedy?: boolean;
  /** Divides the logits; below 1 sharpens, above 1 flattens. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = all). */
  topP?: number;
  /** CTRL-style penalty on tokens already in the sequence: positive logits / r, negative * r. */
  repetitionPenalty?: number;
  /** Ids at or above this are never sampled (the padding rows of a padded vocabulary). */
  vocabLimit?: number;
}

export function checkSamplingOptions(o: SamplingOptions): void {
  if (o.temperature !== undefined && !(o.temperature > 0))
    throw new MambaError(`temperature must be > 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0))
    throw new MambaError(`top-k must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new MambaError(`top-p must be in (0, 1], got ${o.topP}`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0))
    throw new MambaError(`repetition penalty must be > 0, got ${o.repetitionPenalty}`);
}

/** Whether the options ask for anything but the most likely token. */
export function isStochastic(o: SamplingOptions): boolean {
  return !o.greedy && (o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined);
}

/**
 * Picks the next token from one row of logits. `history` are the ids the repetition penalty
 * applies to. The logits array is modified.
 */
export function sampleToken(
  logits: Float32Array,
  history: readonly number[],
  o: SamplingOptions,
  generator: Generator,
): number {
  const limit = Math.min(o.vocabLimit ?? logits.length, logits.length);
  const penalty = o.repetitionPenalty ?? 1;
  if (penalty !== 1) {
    for (const id of new Set(history)) {
      if (id < limit) logits[id] = logits[id]! < 0 ? logits[id]! * penalty : logits[id]! / penalty;
    }
  }
  if (!isStochastic(o)) {
    let best = 0;
    for (let i = 1; i < limit; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const temperature = o.temperature ?? 1;
  // Candidates by descending logit; top-k and top-p cut the list, then sample in proportion.
  let ids = Array.from({ length: limit }, (_, i) => i);
  const topK = o.topK ?? 0;
  if (topK > 0 && topK < limit) {
    ids.sort((a, b) => logits[b]! - logits[a]!);
    ids = ids.slice(0, topK);
  } else {
    ids.sort((a, b) => logits[b]! - logits[a]!);
  }
  const max = logits[ids[0]!]!;
  const weights = ids.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  const topP = o.topP ?? 1;
  let keep = ids.length;
  if (topP < 1) {
    let cumulative = 0;
    for (let j = 0; j < ids.length; j++) {
      cumulative += weights[j]! / total;
      if (cumulative >= topP) {
        keep = j + 1;
        break;
      }
    }
  }
  const kept = weights.slice(0, keep);
  const keptTotal = kept.reduce((a, b) => a + b, 0);
  let r = generator.uniform() * keptTotal;
  for (let j = 0; j < keep; j++) {
    r -= kept[j]!;
    if (r < 0) return ids[j]!;
  }
  return ids[keep - 1]!;
}
