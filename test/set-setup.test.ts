/**
 * What SET's MLP set-up needs besides dropout and weight decay (issue 15 items 2–4): sigmoid outputs
 * with squared error (finite differences in float64; wasm against the reference), rewiring that keeps
 * a layered network layered (SET's random growth and RigL's gradient growth), and training samples
 * read in shuffled epochs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { allocateWorkspace, backward, forward, loss } from "../src/engine/reference/kernels.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createEngine } from "../src/engine/create.js";
import type { Batch } from "../src/engine/types.js";
import { layeredAdmissibility, layeredNetwork, layerOf } from "../src/graph/layered.js";
import { Rewirer } from "../src/rewire/rewire.js";
import { PRESETS } from "../src/rewire/schedule.js";
import { SampleData } from "../src/train/samples.js";
import type { SampleSet } from "../src/data/samples.js";
import type { Network } from "../src/graph/network.js";
import { Rng } from "../src/util/rng.js";
import { denseBatch, randomNetwork } from "./helpers.js";

function sigmoidBatch(seed: number, size: number, inputs: number, outputs: number, lossKind: "sigmoid-squared" | "sigmoid-squared-set" = "sigmoid-squared"): Batch {
  const b = denseBatch(seed, size, inputs, outputs, "class");
  if (b.targets.kind !== "class") throw new Error("class targets expected");
  return { ...b, targets: { kind: "class", classes: b.targets.classes, loss: lossKind } };
}

test("SET's code's gradient (sigmoid-squared-set): the same loss, output deltas (σ − y)·σ'(σ(a))/B by hand", () => {
  const net = randomNetwork(5, { neurons: 60, inputs: 6, outputs: 4, inDegree: 4 });
  const w = Float64Array.from(net.weights);
  const bias = Float64Array.from(net.biases);
  const run = (kind: "sigmoid-squared" | "sigmoid-squared-set") => {
    const batch = sigmoidBatch(6, 7, 6, 4, kind);
    const ws = allocateWorkspace(net, batch.size, "f64");
    forward(net, { weights: w, biases: bias }, batch, ws);
    return { ...loss(net, batch, ws, true), ws, batch };
  };
  const truth = run("sigmoid-squared");
  const set = run("sigmoid-squared-set");
  assert.equal(set.lossSum, truth.lossSum, "the reported loss is the squared error either way");
  const B = set.batch.size;
  const classes = set.batch.targets.kind === "class" ? set.batch.targets.classes : new Int32Array(0);
  let differs = 0;
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < 4; o++) {
      const at = (net.neurons - 4 + o) * B + b;
      const p = 1 / (1 + Math.exp(-set.ws.pre[at]!));
      const q = 1 / (1 + Math.exp(-p));
      const y = o === classes[b] ? 1 : 0;
      assert.ok(Math.abs(set.ws.delta[at]! - ((p - y) * q * (1 - q)) / B) < 1e-15, `sample ${b}, output ${o}`);
      assert.ok(Math.abs(truth.ws.delta[at]! - (2 * (p - y) * p * (1 - p)) / B) < 1e-15);
      if (Math.abs(set.ws.delta[at]! - truth.ws.delta[at]!) > 1e-6) differs++;
    }
  }
  assert.ok(differs > B, "the two gradients differ");
});

test("sigmoid outputs with squared error: the loss is Σ_o (σ(a_o) − [o = t])² and its gradients match central differences in float64", () => {
  const net = randomNetwork(5, { neurons: 60, inputs: 6, outputs: 4, inDegree: 4 });
  const batch = sigmoidBatch(6, 7, 6, 4);
  const w = Float64Array.from(net.weights);
  const bias = Float64Array.from(net.biases);
  const lossOf = (): number => {
    const ws = allocateWorkspace(net, batch.size, "f64");
    forward(net, { weights: w, biases: bias }, batch, ws);
    return loss(net, batch, ws, false).lossSum / batch.size;
  };
  const ws = allocateWorkspace(net, batch.size, "f64");
  forward(net, { weights: w, biases: bias }, batch, ws);
  const { lossSum, correct } = loss(net, batch, ws, true);
  // The closed form from the outputs' pre-activations.
  const classes = batch.targets.kind === "class" ? batch.targets.classes : new Int32Array(0);
  let expected = 0;
  let hits = 0;
  for (let b = 0; b < batch.size; b++) {
    let arg = 0;
    for (let o = 0; o < 4; o++) {
      const a = ws.pre[(net.neurons - 4 + o) * batch.size + b]!;
      if (a > ws.pre[(net.neurons - 4 + arg) * batch.size + b]!) arg = o;
      expected += (1 / (1 + Math.exp(-a)) - (o === classes[b] ? 1 : 0)) ** 2;
    }
    if (arg === classes[b]) hits++;
  }
  assert.ok(Math.abs(lossSum - expected) < 1e-12, `${lossSum} vs ${expected}`);
  assert.equal(correct, hits);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(bias.length);
  backward(net, { weights: w, biases: bias }, batch, ws, gw, gb, false);
  const h = 1e-6;
  for (const [params, grads, from] of [[w, gw, 0], [bias, gb, net.inputs]] as const) {
    for (let i = from; i < params.length; i++) {
      const saved = params[i]!;
      params[i] = saved + h;
      const up = lossOf();
      params[i] = saved - h;
      const down = lossOf();
      params[i] = saved;
      const numeric = (up - down) / (2 * h);
      assert.ok(Math.abs(numeric - grads[i]!) <= 1e-7 + 1e-5 * Math.abs(numeric), `parameter ${i}: analytic ${grads[i]} vs numeric ${numeric}`);
    }
  }
});

test("sigmoid outputs with squared error (true and SET's gradient): the wasm engine tracks the reference (evaluate and 20 SGD steps with dropout; 1 and 2 threads)", async () => {
  const n0 = randomNetwork(7, { neurons: 140, inputs: 10, outputs: 5, inDegree: 5 });
  const optimizer = { kind: "sgd" as const, learningRate: 0.05, momentum: 0.9, weightDecay: 4e-4 };
  for (const [threads, lossKind] of [[1, "sigmoid-squared"], [2, "sigmoid-squared"], [1, "sigmoid-squared-set"], [2, "sigmoid-squared-set"]] as const) {
    const batch = sigmoidBatch(8, 90, 10, 5, lossKind);
    const ref = new ReferenceEngine(n0.clone(), { optimizer, dropout: { rate: 0.2, seed: 3 } });
    const wasm = await createEngine("wasm", n0.clone(), { optimizer, threads, dropout: { rate: 0.2, seed: 3 } });
    try {
      const er = ref.evaluate(batch);
      const ew = wasm.evaluate(batch);
      assert.ok(Math.abs(ew.lossSum - er.lossSum) <= 1e-5 * er.lossSum, `evaluate: ${ew.lossSum} vs ${er.lossSum}`);
      assert.equal(ew.correct, er.correct);
      // Cross-entropy on the same batch is another number: the loss really changed.
      const ce = ref.evaluate({ ...batch, targets: { kind: "class", classes: batch.targets.kind === "class" ? batch.targets.classes : new Int32Array(0) } });
      assert.ok(Math.abs(ce.lossSum - er.lossSum) > 1, "cross-entropy differs from the sigmoid squared error");
      for (let s = 0; s < 20; s++) {
        const lr = ref.step(batch);
        const lw = wasm.step(batch);
        assert.ok(Math.abs(lw - lr) <= 2e-3 * lr + 1e-6, `${threads} thread(s), step ${s + 1}: ${lw} vs ${lr}`);
      }
      wasm.pull();
      let maxDiff = 0;
      for (let e = 0; e < n0.edges; e++) maxDiff = Math.max(maxDiff, Math.abs(wasm.network.weights[e]! - ref.network.weights[e]!));
      assert.ok(maxDiff < 1e-3, `weights agree: ${maxDiff}`);
    } finally {
      await wasm.dispose();
    }
  }
});

function assertLayered(net: Network, layer: Int32Array, label: string): void {
  for (let j = net.inputs; j < net.neurons; j++) {
    const seen = new Set<number>();
    for (let e = 0; e < net.inDegree; e++) {
      const s = net.sources[(j - net.inputs) * net.inDegree + e]!;
      assert.equal(layer[s], layer[j]! - 1, `${label}: edge ${s} → ${j} joins layers ${layer[s]} and ${layer[j]}`);
      assert.ok(!seen.has(s), `${label}: duplicate source ${s} of ${j}`);
      seen.add(s);
    }
  }
}

test("rewiring keeps a layered network layered when given its layers (SET random growth, RigL gradient growth), and relaxes it otherwise", async () => {
  const shape = { inputs: 12, layers: [40, 40], outputs: 4, inDegree: 6 };
  const layer = layerOf(shape);
  const batches = [denseBatch(41, 64, 12, 4, "class")];
  for (const preset of ["set", "rigl"] as const) {
    for (const keep of [true, false]) {
      const net = layeredNetwork(shape, new Rng(40));
      const engine = await createEngine("reference", net);
      const rewirer = new Rewirer(net, engine, { ...PRESETS[preset], fraction: 0.5, schedule: { kind: "constant" } }, new Rng(42), keep ? { layers: layer } : {});
      let rewired = 0;
      for (let round = 1; round <= 4; round++) {
        engine.step(batches[0]!);
        rewired += rewirer.round(round * 100, 10_000, batches).rewired;
      }
      assert.ok(rewired > 100, `${preset}: rewired ${rewired}`);
      if (keep) assertLayered(net, layer, `${preset}, layers kept`);
      else {
        let across = 0;
        for (let j = net.inputs; j < net.neurons; j++) for (let e = 0; e < net.inDegree; e++) if (layer[net.sources[(j - net.inputs) * net.inDegree + e]!] !== layer[j]! - 1) across++;
        assert.ok(across > 0, `${preset}: without the layers, rewiring adds edges that skip layers`);
      }
      await engine.dispose();
    }
  }
});

test("layered admissibility: exactly the layer before, minus existing sources; a network that is not layered is refused", () => {
  const shape = { inputs: 5, layers: [7], outputs: 3, inDegree: 2 };
  const net = layeredNetwork(shape, new Rng(1));
  const layer = layerOf(shape);
  const adm = layeredAdmissibility(net, layer);
  for (let j = net.inputs; j < net.neurons; j++) {
    const into = new Uint8Array(net.neurons);
    adm.fill(j, into);
    const words = new Int32Array(net.neurons);
    adm.fillBlock!(Int32Array.of(j), words);
    for (let i = 0; i < net.neurons; i++) {
      const isSource = Array.from(net.sources.subarray((j - net.inputs) * 2, (j - net.inputs) * 2 + 2)).includes(i);
      const want = layer[i] === layer[j]! - 1 && !isSource;
      assert.equal(into[i] === 1, want, `fill ${i} → ${j}`);
      assert.equal((words[i]! & 1) === 1, want, `fillBlock ${i} → ${j}`);
      assert.equal(adm.admits!(i, j), want, `admits ${i} → ${j}`);
    }
  }
  const dag = randomNetwork(3, { neurons: 15, inputs: 5, outputs: 3, inDegree: 2 });
  assert.throws(() => layeredAdmissibility(dag, layer), /layers: edge \d+ → \d+ joins layers/);
});

test("samples in shuffled epochs: every sample once per epoch, in a new order each epoch, the same for the same seed", () => {
  const count = 10;
  const set: SampleSet = { count, featureCount: 1, features: Float32Array.from({ length: count }, (_, i) => i), labels: new Int32Array(count), outputs: 2, outputNames: ["a", "b"], featureNames: ["x"] };
  const draw = (seed: number) => {
    const sampler = new SampleData(set, set, { order: "epochs" }).sampler(new Rng(seed), 5);
    const seen: number[] = [];
    for (let s = 0; s < 6; s++) {
      const b = sampler.next();
      if (b.inputs.kind !== "dense") throw new Error("dense inputs expected");
      seen.push(...Array.from(b.inputs.values));
    }
    return seen;
  };
  const seen = draw(9);
  for (let epoch = 0; epoch < 3; epoch++) assert.deepEqual(seen.slice(epoch * 10, epoch * 10 + 10).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `epoch ${epoch}`);
  assert.notDeepEqual(seen.slice(0, 10), seen.slice(10, 20), "a new shuffle each epoch");
  assert.deepEqual(draw(9), seen);
  assert.notDeepEqual(draw(10), seen);
});

test("rewiring budget by layer: ζ of every layer's in-edges is freed, where the global budget takes the smallest weights wherever they are", async () => {
  const shape = { inputs: 12, layers: [40], outputs: 30, inDegree: 6 };
  const layer = layerOf(shape);
  const batches = [denseBatch(51, 64, 12, 30, "class")];
  const changedPerLayer = async (budgetBy: "network" | "layer") => {
    const net = layeredNetwork(shape, new Rng(50));
    // The output layer's weights are 100× larger: by |w| over the whole network none of them is small.
    for (let j = 52; j < net.neurons; j++) for (let e = 0; e < 6; e++) net.weights[(j - 12) * 6 + e]! *= 100;
    const before = net.sources.slice();
    const engine = await createEngine("reference", net);
    const rewirer = new Rewirer(net, engine, { ...PRESETS.set, fraction: 0.3, budgetBy, every: 1 }, new Rng(52), { layers: layer });
    rewirer.round(1, 10, batches);
    await engine.dispose();
    const changed = [0, 0];
    for (let p = 0; p < net.edges; p++) if (net.sources[p] !== before[p]) changed[layer[12 + Math.floor(p / 6)]! - 1]!++;
    return changed;
  };
  const [hidden, outputs] = await changedPerLayer("layer");
  // 30 % of 240 and of 180 in-edges freed; a redrawn source may equal the old one, or be refused.
  assert.ok(hidden! >= 50 && hidden! <= 72, `hidden layer: ${hidden} of 72 freed slots changed`);
  assert.ok(outputs! >= 35 && outputs! <= 54, `output layer: ${outputs} of 54 freed slots changed`);
  const [, outputsGlobal] = await changedPerLayer("network");
  assert.ok(outputsGlobal! <= 5, `the global budget frees almost none of the large output weights (${outputsGlobal})`);
  const net = layeredNetwork(shape, new Rng(50));
  const engine = await createEngine("reference", net);
  assert.throws(() => new Rewirer(net, engine, { ...PRESETS.set, budgetBy: "layer" }, new Rng(1)), /needs the network's layers/);
});

test("layered networks: initial weights N(0, initStd²) when asked (SET's 0.1), He's N(0, 2/d) by default", () => {
  const shape = { inputs: 50, layers: [400, 400], outputs: 10, inDegree: 20 };
  const stdOf = (w: Float32Array) => Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
  const he = stdOf(layeredNetwork(shape, new Rng(3)).weights);
  const set = stdOf(layeredNetwork({ ...shape, initStd: 0.1 }, new Rng(3)).weights);
  assert.ok(Math.abs(he - Math.sqrt(2 / 20)) < 0.01, `He: ${he}`);
  assert.ok(Math.abs(set - 0.1) < 0.003, `initStd 0.1: ${set}`);
});
