import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  formatTick,
  lineChartSvg,
  linearTicks,
  logTicks,
  writeLineChart,
  type PlotSeries,
} from '../../src/util/plot.js';
import { MambaError } from '../../src/util/errors.js';

interface Element {
  name: string;
  attributes: Record<string, string>;
  children: Element[];
  text: string;
}

const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function unescape(text: string, where: string): string {
  assert.doesNotMatch(text.replace(ENTITY, ''), /[&<]/, `a bare & or < in ${where}`);
  return text.replace(
    ENTITY,
    (_, e: string) =>
      ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e] ??
      String.fromCodePoint(Number(e.startsWith('#x') ? `0x${e.slice(2)}` : e.slice(1))),
  );
}

/** A strict little XML reader: one root, balanced tags, quoted and unique attributes, valid entities. */
function parseXml(xml: string): Element {
  const body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, '');
  assert.doesNotMatch(body, /<\?|<!/, 'no other declarations expected');
  const root: Element = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: Element[] = [root];
  for (const [token] of body.matchAll(/<[^>]*>|[^<]+/g)) {
    const top = stack.at(-1)!;
    if (!token.startsWith('<')) {
      if (stack.length === 1) assert.match(token, /^\s*$/, 'text outside the root element');
      top.text += unescape(token, top.name);
      continue;
    }
    const close = /^<\/([A-Za-z][\w:-]*)\s*>$/.exec(token);
    if (close) {
      assert.equal(close[1], top.name, `</${close[1]}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const open = /^<([A-Za-z][\w:-]*)((?:\s+[A-Za-z][\w:-]*="[^"]*")*)\s*(\/?)>$/.exec(token);
    assert.ok(open, `malformed tag ${token}`);
    const element: Element = { name: open[1]!, attributes: {}, children: [], text: '' };
    for (const [, name, value] of open[2]!.matchAll(/([A-Za-z][\w:-]*)="([^"]*)"/g)) {
      assert.ok(!(name! in element.attributes), `attribute ${name} twice in ${token}`);
      element.attributes[name!] = unescape(value!, `${open[1]} ${name}`);
    }
    if (stack.length === 1) assert.equal(root.children.length, 0, 'a second root element');
    top.children.push(element);
    if (open[3] !== '/') stack.push(element);
  }
  assert.equal(stack.length, 1, `unclosed <${stack.at(-1)!.name}>`);
  assert.equal(root.children.length, 1);
  return root.children[0]!;
}

function all(e: Element, predicate: (x: Element) => boolean): Element[] {
  return [...(predicate(e) ? [e] : []), ...e.children.flatMap((c) => all(c, predicate))];
}

const group = (svg: Element, cls: string) => all(svg, (e) => e.name === 'g' && e.attributes['class'] === cls);
const texts = (e: Element) => all(e, (x) => x.name === 'text').map((x) => x.text);

const loss: PlotSeries = {
  name: 'train <loss> & co',
  points: Array.from({ length: 50 }, (_, i) => [i * 10, 8 * Math.exp(-i / 10) + 2] as const),
};
const validation: PlotSeries = {
  name: 'validation',
  points: [
    [0, 9],
    [250, 3],
    [490, 2.2],
  ],
};

describe('SVG line charts', () => {
  const work = mkdtempSync(join(tmpdir(), 'mamba-ts-plot-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('is well-formed XML holding every series, its legend, the labels and the reference lines', () => {
    const xml = lineChartSvg([loss, validation], {
      title: 'MambaByte',
      xLabel: 'step',
      yLabel: 'bits per byte',
      references: [{ y: 2.35, label: 'xz -9e 2.35 bits/byte' }],
    });
    const svg = parseXml(xml);
    assert.equal(svg.name, 'svg');
    assert.equal(svg.attributes['xmlns'], 'http://www.w3.org/2000/svg');
    const series = group(svg, 'series');
    assert.deepEqual(
      series.map((s) => s.attributes['data-name']),
      ['train <loss> & co', 'validation'],
    );
    for (const s of series) {
      const d = s.children.find((c) => c.name === 'path')!.attributes['d']!;
      assert.equal(d.match(/[ML]/g)!.length, s.attributes['data-name'] === 'validation' ? 3 : 50);
    }
    assert.deepEqual(texts(group(svg, 'legend')[0]!), ['train <loss> & co', 'validation']);
    assert.deepEqual(texts(group(svg, 'reference')[0]!), ['xz -9e 2.35 bits/byte']);
    const all_ = texts(svg);
    for (const label of ['MambaByte', 'step', 'bits per byte']) assert.ok(all_.includes(label), label);
    assert.deepEqual(texts(group(svg, 'x-ticks')[0]!), ['0', '100', '200', '300', '400', '500']);
    assert.deepEqual(texts(group(svg, 'y-ticks')[0]!), ['2', '4', '6', '8', '10']);
  });

  it('puts log-axis ticks at powers of ten, evenly spaced', () => {
    const svg = parseXml(
      lineChartSvg(
        [
          {
            name: 'decades',
            points: [
              [0, 1],
              [1, 30],
              [2, 1000],
            ],
          },
        ],
        { yScale: 'log' },
      ),
    );
    const ticks = group(svg, 'y-ticks')[0]!.children;
    assert.deepEqual(
      ticks.map((t) => t.text),
      ['1', '10', '100', '1000'],
    );
    const ys = ticks.map((t) => Number(t.attributes['y']));
    const gaps = ys.slice(1).map((y, i) => ys[i]! - y);
    for (const gap of gaps) assert.ok(Math.abs(gap - gaps[0]!) < 0.02 && gap > 0, `gaps ${gaps}`);
  });

  it('chooses log ticks that fit the range', () => {
    assert.deepEqual(logTicks(1, 1000).values, [1, 10, 100, 1000]);
    assert.deepEqual(logTicks(0.003, 7), {
      values: [0.001, 0.01, 0.1, 1, 10],
      labels: ['0.001', '0.01', '0.1', '1', '10'],
    });
    assert.deepEqual(logTicks(1.8, 10.2).values, [1, 2, 5, 10, 20]);
    assert.deepEqual(logTicks(2, 5).values, [2, 3, 4, 5]);
    assert.deepEqual(logTicks(2.1, 2.9).labels, ['2.0', '2.2', '2.4', '2.6', '2.8', '3.0']);
    assert.deepEqual(logTicks(1e-5, 1e5).labels, [
      '1e-5',
      '1e-4',
      '0.001',
      '0.01',
      '0.1',
      '1',
      '10',
      '100',
      '1000',
      '10k',
      '100k',
    ]);
    assert.throws(() => logTicks(0, 1), MambaError);
  });

  it('chooses linear ticks at 1, 2 or 5 times a power of ten, with short labels', () => {
    assert.deepEqual(linearTicks(0, 2000).values, [0, 500, 1000, 1500, 2000]);
    assert.deepEqual(linearTicks(0, 123456).labels, ['0', '50k', '100k', '150k']);
    assert.deepEqual(linearTicks(-3, 3).values, [-4, -2, 0, 2, 4]);
    assert.deepEqual(linearTicks(0, 0.0004).labels, ['0', '1e-4', '2e-4', '3e-4', '4e-4']);
    assert.deepEqual(linearTicks(0.1, 0.7).labels, ['0', '0.2', '0.4', '0.6', '0.8']);
    assert.deepEqual(linearTicks(2.31, 2.38).labels, ['2.30', '2.32', '2.34', '2.36', '2.38']);
    assert.deepEqual(linearTicks(5, 5).values, [2, 3, 4, 5, 6, 7, 8]);
    assert.equal(formatTick(2_500_000, 500_000), '2.5M');
  });

  it('handles no series, empty series and series with gaps', () => {
    const none = parseXml(lineChartSvg([]));
    assert.ok(texts(none).includes('no data'));
    assert.equal(group(none, 'legend').length, 0);
    const empty = parseXml(
      lineChartSvg(
        [
          { name: 'a', points: [] },
          { name: 'b', points: [[0, Number.NaN]] },
        ],
        { yScale: 'log' },
      ),
    );
    assert.deepEqual(texts(group(empty, 'legend')[0]!), ['a (no data)', 'b (no data)']);
    assert.ok(texts(empty).includes('no data'));
    const gappy = parseXml(
      lineChartSvg(
        [
          {
            name: 'g',
            points: [
              [0, 4],
              [1, 3],
              [2, 0],
              [3, 2],
              [4, 1.5],
              [5, Number.POSITIVE_INFINITY],
              [6, 1],
            ],
          },
        ],
        { yScale: 'log' },
      ),
    );
    const s = group(gappy, 'series')[0]!;
    assert.equal(s.children.find((c) => c.name === 'path')!.attributes['d']!.match(/M/g)!.length, 2);
    assert.equal(s.children.filter((c) => c.name === 'circle').length, 1, 'the lone last point is drawn as a dot');
  });

  it('gives the same bytes for the same input and writes the file atomically', () => {
    const options = { title: 't', yScale: 'log' as const, references: [{ y: 2.8, label: 'gzip -9 2.80 bits/byte' }] };
    const a = lineChartSvg([loss, validation], options);
    assert.equal(lineChartSvg([loss, validation], options), a);
    const path = join(work, 'charts', 'loss.svg');
    writeLineChart(path, [loss, validation], options);
    assert.equal(readFileSync(path, 'utf8'), a);
    assert.deepEqual(readdirSync(join(work, 'charts')), ['loss.svg']);
  });

  it('rejects a chart too small to draw', () => {
    assert.throws(
      () => lineChartSvg([loss], { width: 100 }),
      (e: unknown) => e instanceof MambaError && e.message.includes('at least 200 x 150'),
    );
    assert.throws(
      () => lineChartSvg([{ name: 'x'.repeat(80), points: [[0, 1]] }], { width: 300 }),
      (e: unknown) => e instanceof MambaError && e.message.includes('no room'),
    );
  });
});
