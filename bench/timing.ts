/** Seconds per call of fn over `repeats` timed runs after one warm-up: min and median. */
export function time(fn: () => void, repeats = 5): { min: number; median: number } {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    samples.push((performance.now() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { min: samples[0]!, median: samples[Math.floor(samples.length / 2)]! };
}

/** Work per second from seconds per call: the min time gives the max rate. */
export function rate(work: number, seconds: { min: number; median: number }): { best: number; median: number } {
  return { best: work / seconds.min, median: work / seconds.median };
}
