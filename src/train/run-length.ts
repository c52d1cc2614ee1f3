import { MambaError } from '../util/errors.js';
import type { TrainerState } from './checkpoint.js';

/** How long a run trains: a number of steps, or minutes that the trainer turns into steps. */
export interface RunLength {
  steps?: number;
  minutes?: number;
}

export interface ResumePlan {
  /** The length the resumed run records (what a later resume compares with). */
  length: RunLength;
  /** The step the run now ends at; 0 while it still has to measure its speed. */
  plannedSteps: number;
  /** A line for the log when the plan changes the run's end. */
  note?: string;
}

/** The run's length as its checkpoint recorded it. */
export function recordedLength(state: TrainerState): RunLength {
  const trainer = (state.settings['trainer'] ?? {}) as RunLength;
  return { steps: trainer.steps ?? undefined, minutes: trainer.minutes ?? undefined };
}

export function isFinished(state: TrainerState): boolean {
  return state.plannedSteps > 0 && state.step >= state.plannedSteps;
}

/**
 * Where a resumed run ends. Without a length it keeps its own (after a stop or a crash it
 * finishes as planned; a finished run has nothing left). `--steps N` makes N the run's total,
 * extending a finished run or moving an unfinished one's end. `--minutes M` continues an
 * unfinished run that was started with the same M; otherwise it trains about M more minutes, as
 * many steps as the run's measured speed fits in them.
 */
export function planResume(state: TrainerState, requested: RunLength, out: string): ResumePlan {
  const plan = resumeTarget(state, requested, out);
  if (plan.plannedSteps > 0 && state.step >= plan.plannedSteps)
    plan.note = `the run has finished its ${plan.plannedSteps} steps; --steps N or --minutes M trains it further`;
  return plan;
}

function resumeTarget(state: TrainerState, requested: RunLength, out: string): ResumePlan {
  const recorded = recordedLength(state);
  if (requested.steps === undefined && requested.minutes === undefined)
    return { length: recorded, plannedSteps: state.plannedSteps };
  if (requested.steps !== undefined) {
    const steps = requested.steps;
    if (steps < state.step) {
      throw new MambaError(
        `the run in ${out} is already at step ${state.step}, past --steps ${steps}; give --steps above ${state.step} to train it further`,
      );
    }
    const was = state.plannedSteps || 'a step not yet planned';
    const note =
      steps === state.plannedSteps ? undefined : `the run now ends at step ${steps} (it was planned to end at ${was})`;
    return { length: { steps }, plannedSteps: steps, note };
  }
  const minutes = requested.minutes!;
  if (!isFinished(state) && recorded.steps === undefined && recorded.minutes === minutes)
    return { length: recorded, plannedSteps: state.plannedSteps };
  const perStep = state.secondsPerStep ?? (state.step > 0 ? state.elapsedSeconds / state.step : undefined);
  if (perStep === undefined) return { length: { minutes }, plannedSteps: 0 };
  const plannedSteps = state.step + Math.max(1, Math.floor((minutes * 60) / perStep));
  return {
    length: { minutes },
    plannedSteps,
    note: `training about ${minutes} more minutes: to step ${plannedSteps}, ${plannedSteps - state.step} steps at the run's measured ${perStep.toFixed(3)} s per step`,
  };
}
