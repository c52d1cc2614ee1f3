/** Min, median and max of a non-empty list of samples (times or rates). */
export function spread(samples: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
}

/** Seconds per call of fn over `repeats` timed runs after one warm-up: min and median. */
export function time(fn: () => void, repeats = 5): { min: number; median: number } {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    samples.push((performance.now() - start) / 1000);
  }
  const { min, median } = spread(samples);
  return { min, median };
}

/** Best (largest), median and every run of measured rates. */
export function rates(runs: number[]): { best: number; median: number; runs: number[] } {
  const { median, max } = spread(runs);
  return { best: max, median, runs };
}

/** Work per second from seconds per call: the min time gives the max rate. */
export function rate(work: number, seconds: { min: number; median: number }): { best: number; median: number } {
  return { best: work / seconds.min, median: work / seconds.median };
}
