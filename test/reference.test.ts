/**
 * The reference engine is the oracle, so it is checked against mathematics, not against itself:
 * central finite differences in float64 on random non-layered DAGs, and the thesis's worked examples.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Network } from "../src/graph/network.js";
import { allocateWorkspace, backward, forward, loss, type Graph } from "../src/engine/reference/kernels.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import type { Batch } from "../src/engine/types.js";
import { crossEntropyBits, setPerplexity, softmaxCrossEntropyBits } from "../src/train/metrics.js";
import { denseBatch, oneHotBatch, randomNetwork } from "./helpers.js";

/** Mean loss and analytic gradients in float64 for parameters (w, b). */
function lossAndGradients(graph: Graph, w: Float64Array, b: Float64Array, batch: Batch, inputErrors = false) {
  const ws = allocateWorkspace(graph, batch.size, "f64");
  forward(graph, { weights: w, biases: b }, batch, ws);
  const { lossSum } = loss(graph, batch, ws, true);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(b.length);
  backward(graph, { weights: w, biases: b }, batch, ws, gw, gb, inputErrors);
  return { loss: lossSum / batch.size, gw, gb, delta: Float64Array.from(ws.delta), pre: Float64Array.from(ws.pre) };
}

function meanLoss(graph: Graph, w: Float64Array, b: Float64Array, batch: Batch): number {
  const ws = allocateWorkspace(graph, batch.size, "f64");
  forward(graph, { weights: w, biases: b }, batch, ws);
  return loss(graph, batch, ws, false).lossSum / batch.size;
}

function checkFiniteDifferences(net: Network, batch: Batch, label: string): void {
  const w = Float64Array.from(net.weights);
  const b = Float64Array.from(net.biases);
  const { gw, gb } = lossAndGradients(net, w, b, batch);
  const h = 1e-6;
  let checked = 0;
  const compare = (params: Float64Array, grads: Float64Array, index: number, what: string) => {
    const saved = params[index]!;
    params[index] = saved + h;
    const up = meanLoss(net, w, b, batch);
    params[index] = saved - h;
    const down = meanLoss(net, w, b, batch);
    params[index] = saved;
    const numeric = (up - down) / (2 * h);
    const analytic = grads[index]!;
    // Central differences in float64 are accurate to ~h² + ε/h ≈ 1e-9 relative to the loss scale.
    assert.ok(Math.abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.abs(numeric), `${label}: ${what} ${index}: analytic ${analytic} vs numeric ${numeric}`);
    checked++;
  };
  for (let p = 0; p < w.length; p++) compare(w, gw, p, "weight");
  for (let i = net.inputs; i < net.neurons; i++) compare(b, gb, i, "bias");
  assert.equal(checked, w.length + net.neurons - net.inputs);
}

test("gradients match central finite differences on random DAGs (one-hot, cross-entropy)", () => {
  for (const seed of [1, 2, 3]) {
    const net = randomNetwork(seed, { neurons: 60, inputs: 4 * 5, outputs: 5, inDegree: 4 });
    checkFiniteDifferences(net, oneHotBatch(seed, 7, 4, 5, 5), `seed ${seed}`);
  }
});

test("gradients match finite differences with dense signed inputs, both losses, dead neurons", () => {
  for (const seed of [4, 5]) {
    const net = randomNetwork(seed, { neurons: 45, inputs: 10, outputs: 4, inDegree: 5 });
    // Dead neurons: always-negative pre-activation, so their gradient paths are cut (Example 3.19).
    for (const i of [12, 20, 33]) net.biases[i] = -50;
    checkFiniteDifferences(net, denseBatch(seed, 6, 10, 4, "class"), `seed ${seed} class`);
    checkFiniteDifferences(net, denseBatch(seed + 50, 5, 10, 4, "values"), `seed ${seed} values`);
  }
});

test("random networks have skip edges, input→output edges and output→output edges", () => {
  const net = randomNetwork(9, { neurons: 120, inputs: 20, outputs: 30, inDegree: 6 });
  let inputToOutput = 0;
  let outputToOutput = 0;
  let skip = 0;
  for (let i = net.inputs; i < net.neurons; i++) {
    for (let e = 0; e < net.inDegree; e++) {
      const s = net.sources[net.rowOf(i) + e]!;
      if (i >= net.neurons - net.outputs && s < net.inputs) inputToOutput++;
      if (i >= net.neurons - net.outputs && s >= net.neurons - net.outputs) outputToOutput++;
      if (net.levels[i]! - net.levels[s]! > 1) skip++;
    }
  }
  assert.ok(inputToOutput > 0 && outputToOutput > 0 && skip > 0, `${inputToOutput} ${outputToOutput} ${skip}`);
  assert.ok(net.depth > 3, `depth ${net.depth}`);
});

test("δ of inputs equals ∂L/∂x by finite differences", () => {
  const net = randomNetwork(11, { neurons: 30, inputs: 6, outputs: 3, inDegree: 3 });
  const batch = denseBatch(11, 4, 6, 3, "class");
  const w = Float64Array.from(net.weights);
  const b = Float64Array.from(net.biases);
  const { delta } = lossAndGradients(net, w, b, batch, true);
  if (batch.inputs.kind !== "dense") throw new Error("dense expected");
  const x = batch.inputs.values;
  for (let p = 0; p < x.length; p++) {
    const saved = x[p]!;
    // float32 inputs: use a larger step and a looser tolerance than for the float64 parameters.
    const h = 1e-2;
    x[p] = saved + h;
    const up = meanLoss(net, w, b, batch);
    x[p] = saved - h;
    const down = meanLoss(net, w, b, batch);
    x[p] = saved;
    const numeric = (up - down) / (x[p]! + h - (x[p]! - h));
    assert.ok(Math.abs(numeric - delta[p]!) < 2e-3 + 2e-2 * Math.abs(numeric), `input ${p}: ${delta[p]} vs ${numeric}`);
  }
});

test("Example 3.10: 9.61 bits and set perplexity 3.79", () => {
  // Basis (♠, ♥, ♦, ♣); g_w always outputs the marginal (2/5, 1/5, 1/5, 1/5).
  const marginal = [2 / 5, 1 / 5, 1 / 5, 1 / 5];
  const targets = [0, 2, 0, 3, 1]; // second symbols of T: ♠, ♦, ♠, ♣, ♥
  const oneHot = (t: number) => [0, 1, 2, 3].map((i) => (i === t ? 1 : 0));
  const total = targets.reduce((s, t) => s + crossEntropyBits(marginal, oneHot(t)), 0);
  assert.equal(total.toFixed(2), "9.61");
  assert.ok(Math.abs(total - (5 * Math.log2(5) - 2)) < 1e-12);
  assert.equal(setPerplexity(total, targets.length).toFixed(2), "3.79");
  // The same through a network: output biases log p, all weights 0, so softmax gives the marginal.
  const k = 4 + 4;
  const net = Network.fromArrays({
    neurons: k, inputs: 4, outputs: 4, inDegree: 1,
    sources: Int32Array.from([0, 1, 2, 3]), weights: new Float32Array(4),
    biases: Float32Array.from([0, 0, 0, 0, ...marginal.map(Math.log)]),
  });
  const engine = new ReferenceEngine(net);
  const firsts = [2, 0, 1, 0, 0]; // first symbols: ♦, ♠, ♥, ♠, ♠
  const result = engine.evaluate({
    size: 5,
    inputs: { kind: "one-hot", perSample: 1, active: Int32Array.from(firsts) },
    targets: { kind: "class", classes: Int32Array.from(targets) },
  });
  assert.ok(Math.abs(result.lossSum - total) < 1e-5, `${result.lossSum}`);
  assert.equal(setPerplexity(result.lossSum, 5).toFixed(2), "3.79");
  assert.ok(Math.abs(softmaxCrossEntropyBits([1000, 0, -1000], 0)) < 1e-12, "max-shift keeps huge logits finite");
});

test("Example 4.9: evaluation in a valid order, forward and backward equal the hand-derived formulas", () => {
  // Thesis neurons 1..5 are 1..5 here; neuron 0 is an extra always-zero input that pads neurons 2
  // and 3 to the fixed in-degree 2 with zero-weight (absent, Def. 3.11) edges.
  const net = Network.fromArrays({
    neurons: 6, inputs: 2, outputs: 1, inDegree: 2,
    sources: Int32Array.from([0, 1, /*3*/ 0, 1, /*4*/ 2, 3, /*5*/ 3, 4]),
    weights: Float32Array.from([0, 0.5, 0, -0.7, 1.5, 0.8, -1.1, 0.9]),
    biases: Float32Array.from([0, 0, 0.1, 0.9, -0.2, 0.3]),
  });
  assert.deepEqual([...net.order], [2, 3, 4, 5]);
  assert.equal(net.depth, 4); // 1 → 3 → 4 → 5
  const w = (i: number, j: number) => net.weights[net.rowOf(j) + [...net.sources.subarray(net.rowOf(j), net.rowOf(j) + 2)].indexOf(i)]!;
  const b = (i: number) => net.biases[i]!;
  const relu = (x: number) => Math.max(0, x);
  const x1 = 1.3;
  const a2 = b(2) + w(1, 2) * relu(x1);
  const a3 = b(3) + w(1, 3) * relu(x1);
  const a4 = b(4) + w(2, 4) * relu(a2) + w(3, 4) * relu(a3);
  const a5 = b(5) + w(3, 5) * relu(a3) + w(4, 5) * relu(a4);
  const target = 0.25;
  const dL5 = 2 * (a5 - target); // squared error
  const step = (a: number) => (a > 0 ? 1 : 0);
  const dL4 = dL5 * w(4, 5) * step(a4);
  const dL3 = (dL5 * w(3, 5) + dL4 * w(3, 4)) * step(a3);
  const dL2 = dL4 * w(2, 4) * step(a2);
  const dL1 = dL3 * w(1, 3) + dL2 * w(1, 2); // input passes unchanged
  const batch: Batch = { size: 1, inputs: { kind: "dense", values: Float32Array.from([0, x1]) }, targets: { kind: "values", values: Float32Array.from([target]) } };
  const r = lossAndGradients(net, Float64Array.from(net.weights), Float64Array.from(net.biases), batch, true);
  const close = (a: number, e: number, what: string) => assert.ok(Math.abs(a - e) < 1e-6, `${what}: ${a} vs ${e}`);
  close(r.pre[2]!, a2, "a2"); close(r.pre[3]!, a3, "a3"); close(r.pre[4]!, a4, "a4"); close(r.pre[5]!, a5, "a5");
  close(r.delta[5]!, dL5, "∂L/∂a5"); close(r.delta[4]!, dL4, "∂L/∂a4"); close(r.delta[3]!, dL3, "∂L/∂a3");
  close(r.delta[2]!, dL2, "∂L/∂a2"); close(r.delta[1]!, dL1, "∂L/∂a1");
});

test("float32 engine agrees with the float64 kernels", () => {
  const net = randomNetwork(21, { neurons: 300, inputs: 60, outputs: 12, inDegree: 8 });
  const batch = oneHotBatch(21, 33, 5, 12, 12);
  const r64 = lossAndGradients(net, Float64Array.from(net.weights), Float64Array.from(net.biases), batch);
  const r32 = new ReferenceEngine(net).gradients(batch);
  assert.ok(Math.abs(r32.loss - r64.loss) < 1e-5 * r64.loss);
  for (let p = 0; p < r64.gw.length; p++) assert.ok(Math.abs(r32.weightGradients[p]! - r64.gw[p]!) < 1e-5 + 1e-3 * Math.abs(r64.gw[p]!), `weight ${p}`);
});

test("training with Adam lowers the loss and is deterministic", () => {
  const run = () => {
    const net = randomNetwork(31, { neurons: 120, inputs: 30, outputs: 6, inDegree: 6 });
    const engine = new ReferenceEngine(net, { optimizer: { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } });
    const batch = oneHotBatch(31, 64, 5, 6, 6);
    const first = engine.step(batch);
    let last = first;
    for (let s = 0; s < 60; s++) last = engine.step(batch);
    return { first, last, timestep: engine.timestep };
  };
  const a = run();
  const b = run();
  assert.ok(a.last < 0.7 * a.first, `${a.first} → ${a.last}`);
  assert.equal(a.timestep, 61);
  assert.equal(Object.is(a.last, b.last), true);
});

test("SGD with momentum follows its definition for one step", () => {
  const net = randomNetwork(41, { neurons: 30, inputs: 8, outputs: 3, inDegree: 3 });
  const before = net.weights.slice();
  const batch = denseBatch(41, 5, 8, 3, "values");
  const g = new ReferenceEngine(net).gradients(batch).weightGradients;
  const engine = new ReferenceEngine(net, { optimizer: { kind: "sgd", learningRate: 0.1, momentum: 0.9 } });
  engine.step(batch);
  for (let p = 0; p < before.length; p++) assert.equal(net.weights[p], Math.fround(before[p]! - 0.1 * g[p]!));
});
