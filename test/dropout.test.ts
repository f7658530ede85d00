/**
 * Dropout of hidden neurons (issue 15 item 3): the mask is a hash of (seed, step, neuron, sample),
 * so it is the same in every engine and on any thread count. Checked: its statistics and
 * determinism; the reference's gradients against central finite differences in float64 with the
 * mask held fixed; the wasm engine against the reference over many steps (SGD with momentum and
 * Adam, dense and one-hot inputs, 1 and 2 threads, clipping); rate 0 is bit-identical to no dropout;
 * and a restored optimiser state continues with the masks an uninterrupted run draws.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { allocateWorkspace, backward, forward, loss } from "../src/engine/reference/kernels.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createEngine } from "../src/engine/create.js";
import { dropoutKeeps, dropoutMask, dropoutNeuronKey, dropoutStepKey, dropoutThreshold, type DropoutMask } from "../src/engine/dropout.js";
import type { Batch, OptimizerConfig } from "../src/engine/types.js";
import type { Network } from "../src/graph/network.js";
import { denseBatch, oneHotBatch, randomNetwork } from "./helpers.js";

const SGD: OptimizerConfig = { kind: "sgd", learningRate: 0.05, momentum: 0.9, weightDecay: 2e-4 };
const ADAM: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

test("dropout masks: the kept share is 1 − rate, the same (seed, step) gives the same mask, other seeds or steps another", () => {
  for (const rate of [0.2, 0.5]) {
    const threshold = dropoutThreshold(rate);
    let kept = 0;
    const total = 200 * 512;
    const key = dropoutStepKey(7, 3);
    for (let j = 0; j < 200; j++) for (let b = 0; b < 512; b++) if (dropoutKeeps(dropoutNeuronKey(key, j), b, threshold)) kept++;
    // Binomial standard deviation √(n·p·q) ≈ 143 for n = 102,400: 6 of them allowed.
    assert.ok(Math.abs(kept - (1 - rate) * total) < 6 * Math.sqrt(total * rate * (1 - rate)), `rate ${rate}: kept ${kept} of ${total}`);
  }
  const a = dropoutMask({ rate: 0.3, seed: 5 }, 10, 50, 8, 3);
  const b = dropoutMask({ rate: 0.3, seed: 5 }, 10, 50, 8, 3);
  assert.deepEqual(Array.from(a.keys), Array.from(b.keys));
  assert.notDeepEqual(Array.from(dropoutMask({ rate: 0.3, seed: 6 }, 10, 50, 8, 3).keys), Array.from(a.keys));
  assert.notDeepEqual(Array.from(dropoutMask({ rate: 0.3, seed: 5 }, 11, 50, 8, 3).keys), Array.from(a.keys));
  assert.equal(a.firstOutput, 47);
  assert.equal(a.keys[7], 0, "inputs have no key");
  assert.equal(a.keys[47], 0, "outputs have no key");
});

function lossOf(net: Network, w: Float64Array, bias: Float64Array, batch: Batch, mask: DropoutMask): number {
  const ws = allocateWorkspace(net, batch.size, "f64");
  forward(net, { weights: w, biases: bias }, batch, ws, mask);
  return loss(net, batch, ws, false).lossSum / batch.size;
}

test("dropout: the reference's gradients match central finite differences in float64 with the mask fixed", () => {
  for (const [seed, targets] of [[1, "class"], [2, "values"]] as const) {
    const net = randomNetwork(seed, { neurons: 70, inputs: 6, outputs: 3, inDegree: 4 });
    const batch = denseBatch(seed + 10, 9, 6, 3, targets);
    const mask = dropoutMask({ rate: 0.4, seed }, 0, net.neurons, net.inputs, net.outputs);
    const w = Float64Array.from(net.weights);
    const bias = Float64Array.from(net.biases);
    const ws = allocateWorkspace(net, batch.size, "f64");
    forward(net, { weights: w, biases: bias }, batch, ws, mask);
    loss(net, batch, ws, true);
    const gw = new Float64Array(w.length);
    const gb = new Float64Array(bias.length);
    backward(net, { weights: w, biases: bias }, batch, ws, gw, gb, false, mask);
    // Some hidden values are dropped and some kept (else the test would not test dropout).
    let dropped = 0;
    for (let j = net.inputs; j < net.neurons - net.outputs; j++) for (let b = 0; b < batch.size; b++) if (!dropoutKeeps(mask.keys[j]!, b, mask.threshold)) dropped++;
    assert.ok(dropped > 50, `dropped ${dropped}`);
    const h = 1e-6;
    let nonzero = 0;
    const check = (params: Float64Array, grads: Float64Array, i: number, what: string) => {
      const saved = params[i]!;
      params[i] = saved + h;
      const up = lossOf(net, w, bias, batch, mask);
      params[i] = saved - h;
      const down = lossOf(net, w, bias, batch, mask);
      params[i] = saved;
      const numeric = (up - down) / (2 * h);
      if (grads[i] !== 0) nonzero++;
      assert.ok(Math.abs(numeric - grads[i]!) <= 1e-6 + 1e-5 * Math.abs(numeric), `seed ${seed}: ${what} ${i}: analytic ${grads[i]} vs numeric ${numeric}`);
    };
    for (let e = 0; e < w.length; e++) check(w, gw, e, "weight");
    for (let j = net.inputs; j < net.neurons; j++) check(bias, gb, j, "bias");
    assert.ok(nonzero > w.length / 4, `most gradients are non-zero (${nonzero})`);
  }
});

test("dropout rate 0 is bit-identical to no dropout (reference and wasm)", async () => {
  const n0 = randomNetwork(3, { neurons: 90, inputs: 8, outputs: 3, inDegree: 3 });
  const batch = denseBatch(4, 64, 8, 3, "class");
  for (const engine of ["reference", "wasm"] as const) {
    const a = await createEngine(engine, n0.clone(), { optimizer: SGD, threads: 1 });
    const b = await createEngine(engine, n0.clone(), { optimizer: SGD, threads: 1, dropout: { rate: 0, seed: 9 } });
    try {
      for (let s = 0; s < 5; s++) assert.equal(b.step(batch), a.step(batch), `${engine}, step ${s}`);
      a.pull();
      b.pull();
      assert.deepEqual(Array.from(b.network.weights), Array.from(a.network.weights));
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }
});

test("dropout: the wasm engine tracks the reference step for step (SGD momentum, Adam, clipping; dense and one-hot; 1 and 2 threads)", async () => {
  const cases: { label: string; net: Network; batch: Batch; optimizer: OptimizerConfig }[] = [
    { label: "dense, SGD", net: randomNetwork(11, { neurons: 120, inputs: 8, outputs: 3, inDegree: 5 }), batch: denseBatch(12, 100, 8, 3, "class"), optimizer: SGD },
    { label: "dense values, Adam clipped", net: randomNetwork(13, { neurons: 120, inputs: 8, outputs: 3, inDegree: 5 }), batch: denseBatch(14, 100, 8, 3, "values"), optimizer: { ...ADAM, clipNorm: 0.5 } },
    { label: "one-hot, Adam", net: randomNetwork(15, { neurons: 150, inputs: 4 * 6, outputs: 6, inDegree: 6 }), batch: oneHotBatch(16, 130, 4, 6, 6), optimizer: ADAM },
  ];
  for (const c of cases) {
    for (const threads of [1, 2]) {
      const dropout = { rate: 0.3, seed: 21 };
      const ref = new ReferenceEngine(c.net.clone(), { optimizer: c.optimizer, dropout });
      const plain = new ReferenceEngine(c.net.clone(), { optimizer: c.optimizer });
      const wasm = await createEngine("wasm", c.net.clone(), { optimizer: c.optimizer, threads, dropout });
      try {
        let lossGap = 0;
        for (let s = 0; s < 20; s++) {
          const lr = ref.step(c.batch);
          const lw = wasm.step(c.batch);
          const lp = plain.step(c.batch);
          assert.ok(Math.abs(lw - lr) <= 2e-3 * Math.abs(lr) + 1e-6, `${c.label}, ${threads} thread(s), step ${s + 1}: ${lw} vs ${lr}`);
          lossGap = Math.max(lossGap, Math.abs(lp - lr));
        }
        assert.ok(lossGap > 1e-3, `${c.label}: dropout changes the losses (${lossGap})`);
        wasm.pull();
        let maxDiff = 0;
        let effect = 0;
        for (let e = 0; e < c.net.edges; e++) {
          maxDiff = Math.max(maxDiff, Math.abs(wasm.network.weights[e]! - ref.network.weights[e]!));
          effect = Math.max(effect, Math.abs(plain.network.weights[e]! - ref.network.weights[e]!));
        }
        assert.ok(maxDiff < 1e-3, `${c.label}, ${threads} thread(s): weights agree (max difference ${maxDiff})`);
        assert.ok(effect > 10 * maxDiff, `${c.label}: dropout changes the weights (${effect}) more than the engines differ (${maxDiff})`);
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("dropout is deterministic by seed in the wasm engine, and a restored state continues the masks", async () => {
  const n0 = randomNetwork(31, { neurons: 120, inputs: 8, outputs: 3, inDegree: 5 });
  const batch = denseBatch(32, 96, 8, 3, "class");
  const run = async (seed: number) => {
    const e = await createEngine("wasm", n0.clone(), { optimizer: ADAM, threads: 2, dropout: { rate: 0.25, seed } });
    const losses = Array.from({ length: 8 }, () => e.step(batch));
    await e.dispose();
    return losses;
  };
  assert.deepEqual(await run(4), await run(4));
  assert.notDeepEqual(await run(5), await run(4));
  // Uninterrupted reference run of 10 steps against 4 steps, a new engine from the state, 6 more.
  const dropout = { rate: 0.25, seed: 4 };
  const whole = new ReferenceEngine(n0.clone(), { optimizer: ADAM, dropout });
  const wholeLosses = Array.from({ length: 10 }, () => whole.step(batch));
  const first = new ReferenceEngine(n0.clone(), { optimizer: ADAM, dropout });
  const resumed = Array.from({ length: 4 }, () => first.step(batch));
  const state = first.optimizerState();
  assert.equal(state.updates, 4);
  const second = new ReferenceEngine(first.network.clone(), { optimizer: ADAM, dropout });
  second.setOptimizerState(state);
  for (let s = 0; s < 6; s++) resumed.push(second.step(batch));
  assert.deepEqual(resumed, wholeLosses);
  assert.deepEqual(Array.from(second.network.weights), Array.from(whole.network.weights));
});

test("dropout settings are checked: a rate outside [0, 1) is refused by name", () => {
  const net = randomNetwork(1, { neurons: 30, inputs: 4, outputs: 2, inDegree: 2 });
  assert.throws(() => new ReferenceEngine(net, { dropout: { rate: 1, seed: 1 } }), /dropout\.rate.*\[0, 1\)/);
  assert.throws(() => new ReferenceEngine(net, { dropout: { rate: -0.1, seed: 1 } }), /dropout\.rate/);
});
