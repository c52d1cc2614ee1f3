import { MambaError } from './errors.js';
import { writeFileAtomic } from './fs.js';

/**
 * A small line-chart writer with no dependencies: SVG only. PNG would need a font rasteriser for the
 * labels, which is not cheap without native code, so there is none; browsers and most viewers open
 * the SVG, and `rsvg-convert` or Chromium turn it into PNG where one is needed.
 *
 * The output is a pure function of the input (no ids, dates or random numbers), so the same data
 * always gives the same bytes.
 */

export interface PlotSeries {
  name: string;
  /** [x, y] pairs, drawn in the order given. */
  points: ReadonlyArray<readonly [number, number]>;
  /** Any SVG colour; by default the series takes the next colour of a fixed palette. */
  color?: string;
}

/** A labelled horizontal line, e.g. a compressor's bits per byte under a loss curve. */
export interface ReferenceLine {
  y: number;
  label: string;
  color?: string;
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** 'log' draws y on a base-10 log scale; points (and reference lines) with y <= 0 are then left out, like non-finite ones. */
  yScale?: 'linear' | 'log';
  width?: number;
  height?: number;
  references?: readonly ReferenceLine[];
}

/** Ticks that span an axis, and the axis's range, which runs from the first tick to the last. */
export interface Ticks {
  values: number[];
  labels: string[];
}

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
const FONT = 12;
/** A sans-serif character is about this wide, in units of the font size; used to make room for text. */
const CHAR_WIDTH = 0.6;

function niceNumber(x: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(x));
  const f = x / 10 ** exponent;
  const nice = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * 10 ** exponent;
}

function decimalsFor(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** A tick value as text, precise enough for ticks `step` apart: 0.25, 40k, 1.5M, 2e-5. */
export function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  const a = Math.abs(value);
  if (step < 1e-3 || a < 1e-3) {
    const digits = Math.floor(Math.log10(a) + 1e-9) - Math.floor(Math.log10(step) + 1e-9);
    return value.toExponential(Math.min(3, Math.max(0, digits))).replace('e+', 'e');
  }
  if (a >= 1e4) {
    const unit = a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : 1e3;
    const suffix = unit === 1e9 ? 'G' : unit === 1e6 ? 'M' : 'k';
    return (value / unit).toFixed(decimalsFor(step / unit)) + suffix;
  }
  return value.toFixed(decimalsFor(step));
}

/** About `count` ticks at 1, 2 or 5 times a power of ten that cover [min, max]. */
export function linearTicks(min: number, max: number, count = 6): Ticks {
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) / 2;
    min -= pad;
    max += pad;
  }
  const step = niceNumber(niceNumber(max - min, false) / (count - 1), true);
  const decimals = decimalsFor(step) + 1;
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const values: number[] = [];
  for (let i = first; i <= last; i++) values.push(Number((i * step).toFixed(decimals)));
  return { values, labels: values.map((v) => formatTick(v, step)) };
}

/**
 * Ticks for a log axis over [min, max] (both > 0): powers of ten when at least three fall in the
 * range, else 1-2-5 steps, else every integer mantissa (2, 3, ... 9, 10, 20, ...), widened to the
 * ticks just outside the range; for a range narrower than that, linear ticks.
 */
export function logTicks(min: number, max: number): Ticks {
  if (!(min > 0 && max > 0)) throw new MambaError(`logTicks: the range must be positive, got [${min}, ${max}]`);
  if (min === max) {
    min /= 2;
    max *= 2;
  }
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const candidates: number[] = [];
    for (let e = Math.floor(Math.log10(min) + 1e-9) - 1; e <= Math.ceil(Math.log10(max) - 1e-9) + 1; e++) {
      for (const m of mantissas) candidates.push(Number((m * 10 ** e).toPrecision(12)));
    }
    const inside = candidates.filter((v) => v >= min * (1 - 1e-12) && v <= max * (1 + 1e-12));
    if (inside.length < 3) continue;
    const low = candidates.filter((v) => v <= min * (1 + 1e-12)).at(-1)!;
    const high = candidates.find((v) => v >= max * (1 - 1e-12))!;
    const values = candidates.filter((v) => v >= low && v <= high);
    return { values, labels: values.map((v) => formatTick(v, v)) };
  }
  const linear = linearTicks(min, max);
  const positive = linear.values.map((v, i) => [v, linear.labels[i]!] as const).filter(([v]) => v > 0);
  return { values: positive.map(([v]) => v), labels: positive.map(([, l]) => l) };
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function textWidth(text: string, size = FONT): number {
  return text.length * size * CHAR_WIDTH;
}

/** The chart as an SVG document. Non-finite points (and y <= 0 on a log axis) break a series' line. */
export function lineChartSvg(series: readonly PlotSeries[], options: LineChartOptions = {}): string {
  const width = options.width ?? 800;
  const height = options.height ?? 480;
  if (!(width >= 200 && height >= 150))
    throw new MambaError(`lineChartSvg: the chart must be at least 200 x 150, got ${width} x ${height}`);
  const log = options.yScale === 'log';
  const references = options.references ?? [];
  const plottable = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0);

  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (plottable(x, y)) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  const hasData = xs.length > 0;
  for (const r of references) if (plottable(0, r.y)) ys.push(r.y);
  const bounds = (values: number[], empty: [number, number]): [number, number] =>
    values.length === 0 ? empty : [values.reduce((a, b) => Math.min(a, b)), values.reduce((a, b) => Math.max(a, b))];
  const [xMin, xMax] = bounds(xs, [0, 1]);
  const [yMin, yMax] = bounds(ys, log ? [1, 10] : [0, 1]);
  const xTicks = linearTicks(xMin, xMax);
  const yTicks = log ? logTicks(yMin, yMax) : linearTicks(yMin, yMax);

  const legendNames = series.map((s) => (s.points.some(([x, y]) => plottable(x, y)) ? s.name : `${s.name} (no data)`));
  const legendWidth = series.length === 0 ? 0 : 36 + Math.max(...legendNames.map((n) => textWidth(n)));
  const left = 24 + (options.yLabel ? FONT + 8 : 0) + Math.max(...yTicks.labels.map((l) => textWidth(l)));
  const right = 16 + legendWidth;
  const top = options.title ? 40 : 16;
  const bottom = 28 + (options.xLabel ? FONT + 14 : 0);
  const x0 = left;
  const x1 = width - right;
  const y0 = top;
  const y1 = height - bottom;
  if (x1 - x0 < 40)
    throw new MambaError(
      `lineChartSvg: a width of ${width} leaves no room for the plot beside the legend; make the chart wider or the series names shorter`,
    );

  const [xLo, xHi] = [xTicks.values[0]!, xTicks.values.at(-1)!];
  const [yLo, yHi] = [yTicks.values[0]!, yTicks.values.at(-1)!];
  const px = (x: number) => x0 + ((x - xLo) / (xHi - xLo)) * (x1 - x0);
  const py = log
    ? (y: number) => y1 - ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * (y1 - y0)
    : (y: number) => y1 - ((y - yLo) / (yHi - yLo)) * (y1 - y0);

  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT}">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title)
    out.push(
      `<text x="${num((x0 + x1) / 2)}" y="24" text-anchor="middle" font-size="${FONT + 3}" font-weight="bold">${escapeXml(options.title)}</text>`,
    );

  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const v of xTicks.values)
    out.push(`<line x1="${num(px(v))}" y1="${num(y0)}" x2="${num(px(v))}" y2="${num(y1)}"/>`);
  for (const v of yTicks.values)
    out.push(`<line x1="${num(x0)}" y1="${num(py(v))}" x2="${num(x1)}" y2="${num(py(v))}"/>`);
  out.push('</g>');

  out.push('<g class="x-ticks" text-anchor="middle">');
  xTicks.values.forEach((v, i) =>
    out.push(`<text x="${num(px(v))}" y="${num(y1 + FONT + 6)}">${escapeXml(xTicks.labels[i]!)}</text>`),
  );
  out.push('</g>');
  out.push('<g class="y-ticks" text-anchor="end">');
  yTicks.values.forEach((v, i) =>
    out.push(`<text x="${num(x0 - 6)}" y="${num(py(v) + FONT / 3)}">${escapeXml(yTicks.labels[i]!)}</text>`),
  );
  out.push('</g>');
  if (options.xLabel)
    out.push(
      `<text class="x-label" x="${num((x0 + x1) / 2)}" y="${num(height - 10)}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    );
  if (options.yLabel) {
    const cy = num((y0 + y1) / 2);
    out.push(
      `<text class="y-label" x="${FONT + 2}" y="${cy}" text-anchor="middle" transform="rotate(-90 ${FONT + 2} ${cy})">${escapeXml(options.yLabel)}</text>`,
    );
  }

  references.forEach((r) => {
    if (!plottable(0, r.y)) return;
    const color = escapeXml(r.color ?? '#555555');
    const y = num(py(r.y));
    out.push(
      `<g class="reference"><line x1="${num(x0)}" y1="${y}" x2="${num(x1)}" y2="${y}" stroke="${color}" stroke-width="1" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${num(x1 - 4)}" y="${num(py(r.y) - 4)}" text-anchor="end" fill="${color}">${escapeXml(r.label)}</text></g>`,
    );
  });

  series.forEach((s, i) => {
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]!);
    const runs: [number, number][][] = [[]];
    for (const [x, y] of s.points) {
      if (plottable(x, y)) runs.at(-1)!.push([px(x), py(y)]);
      else if (runs.at(-1)!.length > 0) runs.push([]);
    }
    const lines = runs.filter((r) => r.length > 1);
    const dots = runs.filter((r) => r.length === 1);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (lines.length > 0) {
      const d = lines.map((r) => r.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${num(x)} ${num(y)}`).join(' ')).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round"/>`);
    }
    // A point with no neighbour on either side would draw nothing as a line.
    for (const dot of dots)
      out.push(`<circle cx="${num(dot[0]![0])}" cy="${num(dot[0]![1])}" r="2.5" fill="${color}"/>`);
    out.push('</g>');
  });

  out.push(
    `<rect x="${num(x0)}" y="${num(y0)}" width="${num(x1 - x0)}" height="${num(y1 - y0)}" fill="none" stroke="#333333" stroke-width="1"/>`,
  );
  if (!hasData)
    out.push(
      `<text x="${num((x0 + x1) / 2)}" y="${num((y0 + y1) / 2)}" text-anchor="middle" fill="#888888">no data</text>`,
    );

  if (series.length > 0) {
    out.push('<g class="legend">');
    series.forEach((s, i) => {
      const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]!);
      const ly = y0 + 8 + i * (FONT + 8);
      out.push(
        `<line x1="${num(x1 + 12)}" y1="${num(ly)}" x2="${num(x1 + 32)}" y2="${num(ly)}" stroke="${color}" stroke-width="2"/>`,
      );
      out.push(`<text x="${num(x1 + 38)}" y="${num(ly + FONT / 3)}">${escapeXml(legendNames[i]!)}</text>`);
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Writes the chart as SVG to `path`, atomically (a reader sees the old file or the new one, whole). */
export function writeLineChart(path: string, series: readonly PlotSeries[], options: LineChartOptions = {}): void {
  writeFileAtomic(path, lineChartSvg(series, options));
}
