import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MambaError } from '../../src/util/errors.js';
import { countProgress, Progress, type ProgressOptions } from '../../src/util/progress.js';

/** A stream that keeps what is written, and a clock the test moves by hand. */
function harness(
  isTTY: boolean,
  every?: number,
): { text: () => string; options: ProgressOptions; tick: (s: number) => void } {
  let written = '';
  let now = 1000;
  return {
    text: () => written,
    options: { stream: { isTTY, write: (t: string) => (written += t) }, clock: () => now, every },
    tick: (s) => {
      now += s;
    },
  };
}

describe('Progress', () => {
  it('on a pipe writes a full line at most every 5 s, with the count, a bar, the rate and the time left', () => {
    const h = harness(false);
    const p = new Progress({ label: 'scoring held-out text', unit: 'bytes', total: 100 }, h.options);
    // Two bytes a second, an update every half second for 20 s.
    for (let i = 1; i <= 40; i++) {
      h.tick(0.5);
      p.update(i);
    }
    const lines = h.text().split('\n').filter(Boolean);
    assert.deepEqual(lines, [
      'scoring held-out text 10/100 bytes [==                      ] 2 bytes/s | eta 45s',
      'scoring held-out text 20/100 bytes [=====                   ] 2 bytes/s | eta 40s',
      'scoring held-out text 30/100 bytes [=======                 ] 2 bytes/s | eta 35s',
      'scoring held-out text 40/100 bytes [==========              ] 2 bytes/s | eta 30s',
    ]);
    p.finish();
    assert.match(h.text(), /\nscoring held-out text 40 bytes in 20s \(2 bytes\/s\)\n$/);
  });

  it('writes nothing on a pipe for work that ends within the interval but its last line', () => {
    const h = harness(false);
    const report = countProgress('scoring', 'images', h.options);
    for (let done = 250; done <= 1000; done += 250) {
      h.tick(1);
      report(done, 1000);
    }
    assert.equal(h.text(), 'scoring 1,000 images in 4s (250 images/s)\n');
  });

  it('takes the interval from $MAMBA_TS_PROGRESS_EVERY, and rejects one that is not a number of seconds', () => {
    const saved = process.env['MAMBA_TS_PROGRESS_EVERY'];
    try {
      process.env['MAMBA_TS_PROGRESS_EVERY'] = '2';
      const h = harness(false);
      const p = new Progress({ label: 'x', unit: '', total: 10 }, h.options);
      for (let i = 1; i <= 10; i++) {
        h.tick(1);
        p.update(i);
      }
      assert.equal(h.text().split('\n').filter(Boolean).length, 5);
      process.env['MAMBA_TS_PROGRESS_EVERY'] = 'soon';
      assert.throws(
        () => new Progress({ label: 'x', unit: '' }, { stream: null }),
        (e: unknown) =>
          e instanceof MambaError && /MAMBA_TS_PROGRESS_EVERY must be a number of seconds, got 'soon'/.test(e.message),
      );
    } finally {
      if (saved === undefined) delete process.env['MAMBA_TS_PROGRESS_EVERY'];
      else process.env['MAMBA_TS_PROGRESS_EVERY'] = saved;
    }
  });

  it('on a terminal redraws one line in place, at most five times a second, and ends it with a newline', () => {
    const h = harness(true);
    const p = new Progress({ label: 'model.safetensors', unit: '', total: 5e8, bytes: true }, h.options);
    // An update every 1/8 s for 2 s (exact in binary, so the fake clock does not drift).
    for (let i = 1; i <= 16; i++) {
      h.tick(0.125);
      p.update(i * 1e7);
    }
    const draws = h.text().split('\r').filter(Boolean);
    // The first update, then every second one: 0.25 s apart, the first gap of at least 0.2 s.
    assert.equal(draws.length, 8);
    assert.ok(draws.every((d) => d.endsWith('\x1b[K')));
    assert.ok(!h.text().includes('\n'));
    assert.equal(draws[7], 'model.safetensors 150.0 MB/500.0 MB [=======                 ] 80.0 MB/s | eta 4s\x1b[K');
    p.finish();
    assert.ok(h.text().endsWith('\rmodel.safetensors 160.0 MB in 2s (80.0 MB/s)\x1b[K\n'));
  });

  it('clears its line for a message, and redraws it at the next update', () => {
    const h = harness(true);
    const p = new Progress({ label: 'step', unit: '', total: 10 }, h.options);
    h.tick(1);
    p.update(1);
    p.clear();
    assert.ok(h.text().endsWith('\r\x1b[K'));
    h.tick(0.01);
    p.update(2);
    assert.match(h.text(), /\r\x1b\[K\rstep 2\/10 /);
  });

  it('shows what it waits for, and no bar or total, until the total is known', () => {
    const h = harness(false, 0);
    const p = new Progress(
      { label: 'step', unit: '', pending: 'measuring speed', rateUnit: { unit: 'bytes', perCount: 2048 } },
      h.options,
    );
    h.tick(1);
    p.update(1, { detail: 'loss 5.5000' });
    h.tick(1);
    p.update(2, { total: 8, detail: 'loss 5.0000' });
    assert.deepEqual(h.text().split('\n').filter(Boolean), [
      'step 1 (measuring speed) 2.0k bytes/s | loss 5.5000',
      'step 2/8 [======                  ] 2.0k bytes/s | eta 6s | loss 5.0000',
    ]);
  });

  it('counts the rate and the time left from where a resumed run started', () => {
    const h = harness(false, 0);
    const p = new Progress({ label: 'step', unit: '', total: 200, start: 100 }, h.options);
    h.tick(10);
    p.update(110);
    assert.match(h.text(), /^step 110\/200 \[=+ *\] 1 items\/s \| eta 1m30s\n$/);
  });

  it('reports nothing to a null stream, nor a last line for work never reported', () => {
    const p = new Progress({ label: 'x', unit: '', total: 3 }, { stream: null });
    p.update(1);
    p.finish();
    const h = harness(false);
    new Progress({ label: 'x', unit: '', total: 3 }, h.options).finish();
    assert.equal(h.text(), '');
  });
});
