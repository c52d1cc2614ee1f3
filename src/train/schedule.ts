/** Linear warmup from 0 to `peak` over `warmup` steps, then a cosine down to `peak * minRatio` at `total`. */
export function warmupCosine(
  step: number,
  o: { peak: number; warmup: number; total: number; minRatio?: number },
): number {
  const minLr = o.peak * (o.minRatio ?? 0.1);
  if (step < o.warmup) return (o.peak * (step + 1)) / o.warmup;
  const span = Math.max(1, o.total - o.warmup);
  const progress = Math.min(1, (step - o.warmup) / span);
  return minLr + 0.5 * (o.peak - minLr) * (1 + Math.cos(Math.PI * progress));
}
