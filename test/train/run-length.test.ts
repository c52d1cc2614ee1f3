import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrainerState } from '../../src/train/checkpoint.js';
import { planResume } from '../../src/train/run-length.js';
import { MambaError } from '../../src/util/errors.js';

function state(o: Partial<TrainerState> & { length: { steps?: number; minutes?: number } }): TrainerState {
  return {
    step: 0,
    plannedSteps: 0,
    elapsedSeconds: 0,
    unitsSeen: 0,
    optimizerSteps: {},
    lastLoss: 1,
    ...o,
    settings: { trainer: { lr: 1, ...o.length } },
  };
}

describe('where a resumed run ends', () => {
  it('without a length: where it was planned to (still to plan while it was measuring its speed)', () => {
    assert.deepEqual(planResume(state({ step: 30, plannedSteps: 100, length: { steps: 100 } }), {}, 'r'), {
      length: { steps: 100, minutes: undefined },
      plannedSteps: 100,
    });
    const measuring = planResume(state({ step: 3, plannedSteps: 0, length: { minutes: 2 } }), {}, 'r');
    assert.deepEqual([measuring.plannedSteps, measuring.length.minutes], [0, 2]);
  });

  it('--minutes M on an unfinished run started with M finishes it as planned: the same run after a stop', () => {
    const s = state({ step: 40, plannedSteps: 120, elapsedSeconds: 20, length: { minutes: 3 } });
    assert.deepEqual(planResume(s, { minutes: 3 }, 'r').plannedSteps, 120);
  });

  it('--minutes M otherwise trains about M minutes more, at the speed measured when the run planned its steps', () => {
    const finished = state({
      step: 120,
      plannedSteps: 120,
      elapsedSeconds: 90,
      secondsPerStep: 0.5,
      length: { minutes: 1 },
    });
    const plan = planResume(finished, { minutes: 1 }, 'r');
    assert.equal(plan.plannedSteps, 240);
    assert.deepEqual(plan.length, { minutes: 1 });
    // An unfinished run given another M: M minutes from now; without a measured speed, its average.
    const unfinished = state({ step: 10, plannedSteps: 50, elapsedSeconds: 10, length: { steps: 50 } });
    assert.equal(planResume(unfinished, { minutes: 2 }, 'r').plannedSteps, 130);
    // Nothing trained yet: the speed is measured afresh.
    assert.equal(planResume(state({ length: { minutes: 5 } }), { minutes: 2 }, 'r').plannedSteps, 0);
  });

  it('--steps N is the new total; one behind the run is refused, naming --steps', () => {
    const s = state({ step: 60, plannedSteps: 60, length: { minutes: 1 } });
    assert.deepEqual(planResume(s, { steps: 100 }, 'r'), {
      length: { steps: 100 },
      plannedSteps: 100,
      note: 'the run now ends at step 100 (it was planned to end at 60)',
    });
    assert.match(
      planResume(s, { steps: 60 }, 'r').note!,
      /^the run has finished its 60 steps; --steps N or --minutes M/,
    );
    assert.throws(
      () => planResume(s, { steps: 50 }, 'runs/x'),
      (e: unknown) =>
        e instanceof MambaError &&
        e.message ===
          'the run in runs/x is already at step 60, past --steps 50; give --steps above 60 to train it further',
    );
  });
});
