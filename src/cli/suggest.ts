/**
 * Edits that turn `a` into `b`: insertions, deletions, substitutions, and swaps of two neighbours
 * (the commonest typo) counted as one edit each.
 */
export function editDistance(a: string, b: string): number {
  // Three rows of the dynamic programme suffice: a swap looks two rows back.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate `word` is most likely a typo of: the nearest within a third of the word's length
 * (at least one edit), else the only candidate that starts with it. Undefined when none is close.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates].filter((c) => c !== word);
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of list) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  if (best !== undefined) return best;
  const extending = list.filter((c) => word.length >= 3 && c.toLowerCase().startsWith(lower));
  return extending.length === 1 ? extending[0] : undefined;
}

/** "; did you mean 'x'?" for the closest candidate (shown through `show`), or '' when none is close. */
export function didYouMean(word: string, candidates: Iterable<string>, show = (c: string) => c): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? '' : `; did you mean '${show(match)}'?`;
}
