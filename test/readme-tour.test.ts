import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as mt from '../src/index.js';

// The README's tour, run as written: the package import points at the source and each printout
// became a check.
it('the README tour runs', () => {
  // Tensors: float32 by default (int32 for ids and labels; float64 on the reference backend).
  const x = mt.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const w = mt.randn([3, 2], { generator: new mt.Generator(0), requiresGrad: true });
  assert.match(x.toString(), /^tensor\(\[\[1\.0000, 2\.0000, 3\.0000\],/); // tensor([[1.0000, 2.0000, 3.0000], ...], shape=[2, 3], dtype=float32)

  // Compute: functions (mt.matmul) or methods (x.matmul), broadcasting like NumPy.
  const y = x.matmul(w).tanh().add(1);
  const loss = y.square().mean();

  // Backward: gradients land in .grad of the leaves that require them.
  loss.backward();
  assert.equal(w.grad!.shape.join(), '3,2');

  // Views are free: reshape, permute/transpose, slice, select, expand share storage.
  const t = x.transpose(); // [3, 2], no copy
  const col = x.select(1, 0); // [2]
  assert.deepEqual(
    [t.shape, col.toNested()],
    [
      [3, 2],
      [1, 4],
    ],
  ); // [3, 2] [1, 4]

  // Memory is released deterministically: a scope frees what it created but did not return.
  const total = mt.scope(() => x.mul(2).add(1).sum()); // intermediates are freed here
  total.dispose();
  assert.ok(mt.getBackend().bytesInUse() > 0);

  // Modules: named parameters with PyTorch's names and initialisations.
  class MLP extends mt.nn.Module {
    readonly fc1 = this.module('fc1', new mt.nn.Linear(64, 128));
    readonly fc2 = this.module('fc2', new mt.nn.Linear(128, 10));
    forward(x: mt.Tensor) {
      return this.fc2.forward(this.fc1.forward(x).relu());
    }
  }
  const model = new MLP();
  assert.deepEqual([...model.stateDict().keys()], ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']

  const opt = new mt.AdamW(model.parameters(), { lr: 1e-3 });
  const images = mt.rand([32, 64]);
  const labels = mt.randint(0, 10, [32]);
  mt.scope(() => {
    const l = mt.crossEntropy(model.forward(images), labels);
    opt.zeroGrad();
    l.backward();
    opt.step();
  });
});
