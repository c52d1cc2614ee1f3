import assert from 'node:assert/strict';
import { it } from 'node:test';
import { trainDigitsClassifier } from '../../src/examples/digits.js';

it('a two-layer perceptron learns the sklearn digits to over 95% held-out accuracy', () => {
  const result = trainDigitsClassifier({ epochs: 15, seed: 0 });
  console.log(
    `digits: ${(result.testAccuracy * 100).toFixed(2)}% of ${result.testCount} held out, ${result.seconds.toFixed(1)} s`,
  );
  assert.equal(result.trainCount + result.testCount, 1797);
  assert.ok(result.testAccuracy > 0.95, `test accuracy ${result.testAccuracy}`);
});
