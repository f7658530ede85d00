/**
 * The dense layered baseline of the `versus` experiment (src/experiments/dense-mlp.ts): gradients
 * against central finite differences of the float64 loss, one-hot ≡ dense inputs, learning on the
 * bundled text8 excerpt, determinism, and parameter matching.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Batch } from "../src/engine/types.js";
import { DenseMlp, denseHiddenForParameters, denseParameterCount, evaluateDenseText, trainDenseText } from "../src/experiments/dense-mlp.js";
import { bundledCorpusPath, readTextCorpus } from "../src/data/files.js";
import { splitCorpus } from "../src/data/windows.js";
import { NumericError } from "../src/util/errors.js";
import { Rng } from "../src/util/rng.js";
import { denseBatch, oneHotBatch, worstMismatch } from "./helpers.js";

/** Mean loss (bits) of the batch, computed in float64 by the forward pass. */
function meanLoss(model: DenseMlp, batch: Batch): number {
  return model.evaluate(batch).lossSum / batch.size;
}

/** Central differences over every weight and bias; the step is the float32-rounded one actually taken. */
function finiteDifferences(model: DenseMlp, batch: Batch, eps: number): { weights: Float64Array[]; biases: Float64Array[] } {
  const diff = (params: Float32Array): Float64Array => {
    const out = new Float64Array(params.length);
    for (let p = 0; p < params.length; p++) {
      const w = params[p]!;
      params[p] = w + eps;
      const up = params[p]!;
      const lossUp = meanLoss(model, batch);
      params[p] = w - eps;
      const down = params[p]!;
      const lossDown = meanLoss(model, batch);
      params[p] = w;
      out[p] = (lossUp - lossDown) / (up - down);
    }
    return out;
  };
  return { weights: model.weights.map(diff), biases: model.biases.map(diff) };
}

for (const hidden of [[7], [7, 5]]) {
  for (const kind of ["one-hot", "dense"] as const) {
    test(`dense MLP gradients match finite differences (hidden ${hidden.join("-")}, ${kind} inputs)`, () => {
      const symbols = 5;
      const perSample = 3;
      const inputs = symbols * perSample;
      const outputs = 4;
      const model = new DenseMlp({ inputs, hidden, outputs }, new Rng(3));
      // Non-zero biases so that some ReLUs are off and some on.
      const rng = new Rng(4);
      for (const b of model.biases) for (let j = 0; j < b.length; j++) b[j] = 0.3 * rng.nextNormal();
      const batch = kind === "one-hot" ? oneHotBatch(5, 9, perSample, symbols, outputs) : denseBatch(5, 9, inputs, outputs, "class");
      const g = model.gradients(batch);
      assert.ok(Math.abs(g.loss - meanLoss(model, batch)) < 1e-12);
      const fd = finiteDifferences(model, batch, 1e-4);
      for (let l = 0; l < model.layers; l++) {
        const w = worstMismatch(g.weightGradients[l]!, fd.weights[l]!, 1e-6, 1e-4);
        assert.ok(w.ratio <= 1, `layer ${l} weight ${w.index}: analytic ${w.a} vs numeric ${w.b}`);
        const b = worstMismatch(g.biasGradients[l]!, fd.biases[l]!, 1e-6, 1e-4);
        assert.ok(b.ratio <= 1, `layer ${l} bias ${b.index}: analytic ${b.a} vs numeric ${b.b}`);
      }
      // Some gradient of the first layer is non-zero (the check is not vacuous).
      assert.ok(g.weightGradients[0]!.some((v) => Math.abs(v) > 1e-3));
    });
  }
}

test("dense MLP: a one-hot batch and the same batch written densely give the same loss and gradients", () => {
  const symbols = 6;
  const perSample = 4;
  const inputs = symbols * perSample;
  const hot = oneHotBatch(8, 11, perSample, symbols, 5);
  const values = new Float32Array(inputs * hot.size);
  const active = (hot.inputs as { active: Int32Array }).active;
  for (let b = 0; b < hot.size; b++) for (let p = 0; p < perSample; p++) values[active[b * perSample + p]! * hot.size + b] = 1;
  const dense: Batch = { size: hot.size, inputs: { kind: "dense", values }, targets: hot.targets };
  const model = new DenseMlp({ inputs, hidden: [9, 6], outputs: 5 }, new Rng(9));
  const a = model.gradients(hot);
  const b = model.gradients(dense);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-12, `${a.loss} vs ${b.loss}`);
  for (let l = 0; l < model.layers; l++) {
    assert.ok(worstMismatch(a.weightGradients[l]!, b.weightGradients[l]!, 1e-7, 1e-6).ratio <= 1);
    assert.ok(worstMismatch(a.biasGradients[l]!, b.biasGradients[l]!, 1e-7, 1e-6).ratio <= 1);
  }
});

test("dense MLP: a non-finite loss throws NumericError and leaves the parameters alone", () => {
  const model = new DenseMlp({ inputs: 12, hidden: [4], outputs: 3 }, new Rng(1));
  model.biases[1]![0] = NaN;
  const before = model.weights.map((w) => w.slice());
  assert.throws(() => model.step(oneHotBatch(2, 5, 3, 4, 3)), NumericError);
  assert.deepEqual(model.weights, before);
  assert.equal(model.timestep, 0);
});

const corpus = readTextCorpus(bundledCorpusPath());
const quick = { context: 20, batch: 128, steps: 500, lr: 0.01, hidden: [32], evalWindows: 4096 };

test("dense MLP learns the bundled text8 excerpt well below the uniform 4.75 bits", async () => {
  const [train, valid] = splitCorpus((await corpus).symbols, [0.9, 0.05, 0.05], 20);
  const r = await trainDenseText(train!.symbols, valid!.symbols, { ...quick, seed: 1 });
  assert.equal(r.losses.length, quick.steps);
  assert.ok(r.losses.every((x) => Number.isFinite(x)));
  const first = r.losses.subarray(0, 10).reduce((a, b) => a + b, 0) / 10;
  assert.ok(first > 4, `first losses ${first}`);
  const last = r.losses.subarray(-50).reduce((a, b) => a + b, 0) / 50;
  // Uniform guess 4.75, unigram entropy ≈ 4.1; 500 small steps reach ≈ 3.2 bits (3,000 at batch 512 ≈ 2.4).
  assert.ok(last < 3.5, `training loss ${last} bits/char over the last 50 of ${quick.steps} steps`);
  assert.ok(r.valid.bitsPerSymbol < 3.5, `validation ${r.valid.bitsPerSymbol} bits/char`);
  assert.equal(r.valid.windows, 4096);
  assert.ok(r.valid.accuracy > 0.2 && r.valid.accuracy < 1);
  // evaluateDenseText is the same evaluation, batch size aside.
  const again = evaluateDenseText(r.model, valid!.symbols, 20, 1000, 4096);
  assert.ok(Math.abs(again.bitsPerSymbol - r.valid.bitsPerSymbol) < 1e-9);
});

test("dense MLP training is deterministic: same seed, same bits", async () => {
  const [train, valid] = splitCorpus((await corpus).symbols, [0.9, 0.05, 0.05], 20);
  const o = { ...quick, steps: 40, evalWindows: 512 };
  const a = await trainDenseText(train!.symbols, valid!.symbols, { ...o, seed: 7 });
  const b = await trainDenseText(train!.symbols, valid!.symbols, { ...o, seed: 7 });
  const c = await trainDenseText(train!.symbols, valid!.symbols, { ...o, seed: 8 });
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(a.model.weights, b.model.weights);
  assert.deepEqual(a.model.biases, b.model.biases);
  assert.equal(a.valid.bitsPerSymbol, b.valid.bitsPerSymbol);
  assert.notDeepEqual(a.losses, c.losses);
});

test("denseHiddenForParameters matches a parameter budget within 2 %", () => {
  // Sparse character networks of 1,700 neurons (1,160 non-input) at d = 15, 29, 58, 116: d·1160 + 1160.
  for (const d of [15, 29, 58, 116]) {
    const target = 1160 * d + 1160;
    for (const layers of [1, 2, 3]) {
      const hidden = denseHiddenForParameters(540, 27, target, layers);
      assert.equal(hidden.length, layers);
      const params = denseParameterCount(540, hidden, 27);
      assert.equal(new DenseMlp({ inputs: 540, hidden, outputs: 27 }, new Rng(0)).parameters, params);
      assert.ok(Math.abs(params - target) <= 0.02 * target, `d ${d}, ${layers} layers: ${hidden} gives ${params} for ${target}`);
    }
  }
  assert.deepEqual(denseHiddenForParameters(540, 27, 34_800), [61]);
});
