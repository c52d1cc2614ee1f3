/** One setting that differs between a run's checkpoint and the resume asking to continue it. */
export interface SettingChange {
  /** Dotted path in the settings, e.g. `trainer.lr`. */
  path: string;
  before: unknown;
  after: unknown;
}

/**
 * Settings a resume may change: the run's length (a resume with a new one extends the run), and
 * how often it evaluates, checkpoints and logs, which changes nothing that is trained.
 */
const RESUMABLE = new Set([
  'trainer.steps',
  'trainer.minutes',
  'trainer.evalEvery',
  'trainer.checkpointEvery',
  'trainer.logEvery',
]);

/**
 * The command-line flag behind a setting, where it is not the setting's own name in kebab case;
 * keyed by the setting's path or by a prefix of it. Sizes of the data stand for the data itself.
 */
const FLAG_OF: Record<string, string> = {
  model: 'the model to train',
  architecture: 'the model to train',
  network: 'the model to train',
  trainBytes: '--data',
  validationBytes: '--data',
  data: '--dataset',
  trainImages: '--dataset',
  testImages: '--dataset',
  trainSlices: '--dataset',
  testSlices: '--dataset',
  channels: '--dataset',
  numClasses: '--dataset',
  nHead: '--heads',
  augment: '--no-augment',
  deepSupervision: '--no-deep-supervision',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The settings that differ, leaf by leaf, leaving out those a resume may change. */
export function changedSettings(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  prefix = '',
): SettingChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.flatMap((key) => {
    const path = prefix + key;
    const [a, b] = [before[key], after[key]];
    if (RESUMABLE.has(path)) return [];
    if (isRecord(a) && isRecord(b)) return changedSettings(a, b, `${path}.`);
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, before: a, after: b }];
  });
}

/** The flag that sets a setting, as a person would type it. */
export function flagOf(path: string): string {
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const flag = FLAG_OF[parts.slice(0, n).join('.')];
    if (flag) return flag;
  }
  const leaf = parts[parts.length - 1]!;
  const kebab = leaf.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return `--${kebab}`;
}

/** `--lr 0.002 (now 0.001), --d-model 256 (now 16)`: each changed setting by its flag, once per flag. */
export function describeChanges(changes: readonly SettingChange[]): string {
  const seen = new Map<string, string>();
  for (const c of changes) {
    const flag = flagOf(c.path);
    if (seen.has(flag)) continue;
    const value = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
    seen.set(flag, `${flag} ${value(c.before)} (now ${value(c.after)})`);
  }
  return [...seen.values()].join(', ');
}
