import * as mt from '../src/index.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { alternatingPattern, MoEMambaLM } from '../src/models/moe-mamba.js';
import { defaultMoE } from '../src/train/moe-mamba.js';
import { rate, time } from './timing.js';

/** The MoE experiment's models: 2 Mamba + 2 MoE layers of 8 experts, against 4 Mamba layers of about the same active size. */
const D_MODEL = 256;
const BATCH = 8;
const LENGTH = 256;
const DECODE = 64;
const RUNS = 5;

function models(): Record<string, mt.LanguageModel> {
  const mamba = mt.mambaConfig({ dModel: D_MODEL, nLayer: 4, vocabSize: 256 });
  const moe = {
    mamba: mt.mambaConfig({ dModel: D_MODEL, nLayer: 2, vocabSize: 256 }),
    moe: defaultMoE(D_MODEL, 2),
    pattern: alternatingPattern(2),
  };
  return {
    mamba: new mt.MambaLM(mamba, { generator: new mt.Generator(1) }),
    moe_mamba: new MoEMambaLM(moe, { generator: new mt.Generator(1) }),
  };
}

/** One training step (forward, the MoE layers' auxiliary loss, backward) on 8 x 256 bytes. */
function step(model: mt.LanguageModel, ids: mt.Tensor): void {
  mt.scope(() => {
    const logits = model.forward(mt.contiguous(mt.slice(ids, 1, 0, LENGTH)));
    const loss = mt.crossEntropy(logits, mt.contiguous(mt.slice(ids, 1, 1)));
    const aux = model instanceof MoEMambaLM ? model.auxLoss() : null;
    mt.backward(aux ? mt.add(loss, aux) : loss);
  });
  for (const p of model.parameters()) {
    p.grad?.dispose();
    p.grad = null;
  }
}

/**
 * MoE-Mamba's training step and greedy decoding beside a plain Mamba LM of about its active size,
 * on 2 threads. Switch routing runs on the device with fixed-capacity expert slots, so every
 * expert runs on its slots each call: in decoding that is every expert for every token.
 */
export function benchMoE(): object {
  mt.setBackend(createNodeWasmBackend({ threads: 2 }));
  const g = new mt.Generator(2);
  const ids = mt.fromArray(
    Int32Array.from({ length: BATCH * (LENGTH + 1) }, () => g.int(256)),
    [BATCH, LENGTH + 1],
  );
  const rows: Record<string, object> = {};
  for (const [name, model] of Object.entries(models())) {
    const steps = time(() => step(model, ids), RUNS);
    const decode = time(() => mt.generate(model, [[1, 2, 3, 4]], { maxNewTokens: DECODE, greedy: true }), RUNS);
    rows[name] = {
      active_parameters: model instanceof MoEMambaLM ? model.activeParameters() : model.numParameters(),
      step_seconds: steps,
      generated_tokens_per_s: rate(DECODE, decode),
    };
    model.dispose();
  }
  return rows;
}
