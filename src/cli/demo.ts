import { trainDigitsClassifier } from '../examples/digits.js';
import { numberFlag, parse } from './args.js';

export const demoUsage = `usage: mamba-ts demo [--epochs N] [--seed S] [--json]

Trains a small network on the sklearn 8x8 digits (installed from Debian's python3-sklearn on
first use) and reports its accuracy on held-out images.`;

export function demo(argv: string[]): void {
  const { values } = parse(
    argv,
    { options: { epochs: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } } },
    demoUsage,
  );
  const epochs = numberFlag(values.epochs, 'epochs', demoUsage, 15, { integer: true, min: 1 });
  const seed = numberFlag(values.seed, 'seed', demoUsage, 0, { integer: true });
  const log = (line: string) => process.stderr.write(line + '\n');
  if (!values.json) log(`training a 64-128-10 perceptron on the sklearn digits for ${epochs} epochs`);
  const result = trainDigitsClassifier({
    epochs,
    seed,
    onEpoch: (epoch, loss, acc) => {
      if (!values.json)
        log(
          `epoch ${String(epoch).padStart(3)}/${epochs}  train loss ${loss.toFixed(4)}  test accuracy ${(acc * 100).toFixed(2)}%`,
        );
    },
  });
  if (values.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  process.stdout.write(
    `test accuracy ${(result.testAccuracy * 100).toFixed(2)}% on ${result.testCount} held-out digits ` +
      `(${result.parameters} parameters, ${result.trainCount} training images, ${result.seconds.toFixed(1)} s)\n`,
  );
}
