/**
 * The two engine additions of issue 12: setLearningRate (schedules) and global-norm gradient
 * clipping. The reference engine is checked against hand computations of one update; the wasm
 * engine against the reference on random DAGs, as in wasm-engine.test.ts (same tolerances and
 * reasons: float32 sums in different orders, so ~1e-3 relative on weights after many steps).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Network } from "../src/graph/network.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createWasmEngine } from "../src/engine/wasm/engine.js";
import type { Batch, Engine, OptimizerConfig } from "../src/engine/types.js";
import { DenseMlp } from "../src/experiments/dense-mlp.js";
import { Rng } from "../src/util/rng.js";
import { denseBatch, oneHotBatch, randomNetwork, worstMismatch } from "./helpers.js";

const ADAM: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const SGD: OptimizerConfig = { kind: "sgd", learningRate: 0.05, momentum: 0.9 };

/** 4 inputs, hidden 4..7 (5 dead), outputs 8..10, in-degree 2: every kind of edge (see wasm-engine.test.ts). */
function handMade(): Network {
  return Network.fromArrays({
    neurons: 11, inputs: 4, outputs: 3, inDegree: 2,
    sources: Int32Array.from([0, 1, 4, 2, 4, 1, 6, 0, 0, 3, 8, 7, 9, 5]),
    weights: Float32Array.from([0.7, -0.4, 1.1, 0.3, -0.8, 0.9, 1.2, 0.5, 0.6, -1.3, 0.8, -0.7, 0.45, 0.9]),
    biases: Float32Array.from([0, 0, 0, 0, 0.1, -40, 0.2, -0.1, 0.05, 0.3, -0.2]),
  });
}

/** L2 norm (float64) of all weight gradients and the non-input bias gradients. */
function globalNorm(engine: Engine, batch: Batch): { norm: number; weights: Float32Array; biases: Float32Array } {
  const g = engine.gradients(batch);
  let squares = 0;
  for (const x of g.weightGradients) squares += x * x;
  for (let j = engine.network.inputs; j < engine.network.neurons; j++) squares += g.biasGradients[j]! ** 2;
  return { norm: Math.sqrt(squares), weights: g.weightGradients, biases: g.biasGradients };
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  let scale = 1e-30;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  const w = worstMismatch(a, b, atol * scale, rtol);
  assert.ok(w.ratio <= 1, `${what}: worst mismatch at ${w.index}: wasm ${w.a} vs reference ${w.b} (${w.ratio.toFixed(2)}× the tolerance)`);
}

test("setLearningRate: the reference engine's next Adam update uses the new rate (hand-computed)", () => {
  const net = randomNetwork(3, { neurons: 40, inputs: 12, outputs: 3, inDegree: 6 });
  const batch = denseBatch(3, 32, 12, 3, "values");
  const engine = new ReferenceEngine(net, { optimizer: ADAM });
  const g = engine.gradients(batch).weightGradients;
  const before = net.weights.slice();
  engine.setLearningRate(0.003);
  assert.equal(engine.learningRate, 0.003);
  engine.step(batch);
  // Adam at t = 1 from m = v = 0, as optimizer.ts computes it (float64, stored as float32).
  const c1 = 1 / (1 - 0.9);
  const c2 = 1 / (1 - 0.999);
  let moved = 0;
  for (let p = 0; p < before.length; p++) {
    const m = 0.1 * g[p]!;
    const v = 0.001 * g[p]! * g[p]!;
    const expected = Math.fround(before[p]! - (0.003 * (m * c1)) / (Math.sqrt(v * c2) + 1e-8));
    assert.equal(net.weights[p], expected, `weight ${p}`);
    if (g[p] !== 0) moved++;
  }
  assert.ok(moved > before.length / 2, "most weights moved");
  // Rate 0: the step counts (Adam's t and moments advance) but no parameter moves.
  const frozen = net.weights.slice();
  engine.setLearningRate(0);
  engine.step(batch);
  assert.equal(engine.timestep, 2);
  assert.deepEqual(net.weights, frozen);
});

test("setLearningRate: the wasm engine follows the reference through a changing rate (Adam and SGD, 1 and 2 threads)", async () => {
  const base = randomNetwork(13, { neurons: 260, inputs: 8 * 10, outputs: 10, inDegree: 7 });
  const batches = [0, 1, 2].map((i) => oneHotBatch(130 + i, 90, 8, 10, 10));
  for (const optimizer of [ADAM, SGD]) {
    for (const threads of [1, 2]) {
      const ref = new ReferenceEngine(base.clone(), { optimizer });
      const wasm = await createWasmEngine(base.clone(), { optimizer, threads });
      // The same run without rate changes, to show that the rates mattered.
      const fixed = await createWasmEngine(base.clone(), { optimizer, threads });
      try {
        for (let s = 0; s < 30; s++) {
          const rate = optimizer.learningRate * (s < 10 ? (s + 1) / 10 : 0.5 * (1 + Math.cos((Math.PI * (s - 10)) / 20)));
          ref.setLearningRate(rate);
          wasm.setLearningRate(rate);
          const batch = batches[s % 3]!;
          const lr = ref.step(batch);
          const lw = wasm.step(batch);
          fixed.step(batch);
          assert.ok(Math.abs(lw - lr) <= 2e-3 * lr + 1e-6, `${optimizer.kind}, ${threads} thread(s), step ${s + 1}: loss wasm ${lw} vs reference ${lr}`);
        }
        wasm.pull();
        fixed.pull();
        assertClose(wasm.network.weights, ref.network.weights, 1e-3, 1e-2, `${optimizer.kind}, ${threads} thread(s): weights after 30 steps`);
        const w = worstMismatch(fixed.network.weights, ref.network.weights, 1e-3, 1e-2);
        assert.ok(w.ratio > 1, `${optimizer.kind}: without the rate changes the weights should differ`);
      } finally {
        await wasm.dispose();
        await fixed.dispose();
      }
    }
  }
});

test("setting the rate the engine already has changes nothing, bit for bit (wasm)", async () => {
  const base = randomNetwork(17, { neurons: 200, inputs: 6 * 8, outputs: 8, inDegree: 6 });
  const batch = oneHotBatch(17, 70, 6, 8, 8);
  const run = async (set: boolean) => {
    const wasm = await createWasmEngine(base.clone(), { optimizer: ADAM, threads: 2 });
    try {
      for (let s = 0; s < 10; s++) {
        if (set) wasm.setLearningRate(0.01);
        wasm.step(batch);
      }
      wasm.pull();
      return wasm.network.weights.slice();
    } finally {
      await wasm.dispose();
    }
  };
  assert.deepEqual(Buffer.from((await run(true)).buffer), Buffer.from((await run(false)).buffer));
});

test("clipping, reference engine: SGD moves by −lr·g·(clip/‖g‖) on a hand-made DAG (hand-computed)", () => {
  for (const kind of ["dense", "one-hot"] as const) {
    const batch = kind === "dense" ? denseBatch(5, 13, 4, 3, "values") : oneHotBatch(5, 13, 2, 2, 3);
    const probe = new ReferenceEngine(handMade());
    const { norm, weights: g, biases: gb } = globalNorm(probe, batch);
    assert.ok(norm > 0.1, `${kind}: gradient norm ${norm}`);
    const clipNorm = norm / 4;
    const net = handMade();
    const engine = new ReferenceEngine(net, { optimizer: { ...SGD, momentum: 0, clipNorm } });
    engine.step(batch);
    const scale = Math.fround(clipNorm / norm);
    const start = handMade();
    for (let p = 0; p < g.length; p++) assert.equal(net.weights[p], Math.fround(start.weights[p]! - 0.05 * Math.fround(g[p]! * scale)), `${kind}: weight ${p}`);
    for (let j = 4; j < 11; j++) assert.equal(net.biases[j], Math.fround(start.biases[j]! - 0.05 * Math.fround(gb[j]! * scale)), `${kind}: bias ${j}`);
    for (let j = 0; j < 4; j++) assert.equal(net.biases[j], 0, "input biases are not parameters");
    // The clipped update has norm lr·clipNorm (up to float32 rounding of the weights).
    let moved = 0;
    for (let p = 0; p < g.length; p++) moved += (net.weights[p]! - start.weights[p]!) ** 2;
    for (let j = 4; j < 11; j++) moved += (net.biases[j]! - start.biases[j]!) ** 2;
    assert.ok(Math.abs(Math.sqrt(moved) - 0.05 * clipNorm) < 1e-6, `${kind}: step length ${Math.sqrt(moved)} vs ${0.05 * clipNorm}`);
  }
});

test("clipping above the gradient norm changes nothing, bit for bit (both engines)", async () => {
  const batch = oneHotBatch(8, 40, 2, 2, 3);
  const norm = globalNorm(new ReferenceEngine(handMade()), batch).norm;
  for (const make of [(o: OptimizerConfig) => Promise.resolve(new ReferenceEngine(handMade(), { optimizer: o })), (o: OptimizerConfig) => createWasmEngine(handMade(), { optimizer: o, threads: 2 })]) {
    const weights: Float32Array[] = [];
    for (const o of [ADAM, { ...ADAM, clipNorm: 100 * norm }]) {
      const e: Engine = await make(o);
      try {
        e.step(batch);
        e.pull();
        weights.push(e.network.weights.slice());
      } finally {
        await e.dispose();
      }
    }
    assert.deepEqual(weights[1], weights[0]);
  }
});

test("clipping, wasm against the reference on random DAGs: one-hot and dense, Adam and SGD, 1 and 2 threads", async () => {
  const cases: { label: string; net: Network; batches: Batch[] }[] = [
    { label: "one-hot", net: randomNetwork(7, { neurons: 300, inputs: 8 * 10, outputs: 10, inDegree: 8 }), batches: [0, 1, 2, 3].map((i) => oneHotBatch(70 + i, 100, 8, 10, 10)) },
    { label: "dense values", net: randomNetwork(8, { neurons: 120, inputs: 12, outputs: 4, inDegree: 5 }), batches: [0, 1, 2].map((i) => denseBatch(80 + i, 70, 12, 4, "values")) },
  ];
  for (const c of cases) {
    // Clip at a third of the first batch's norm: clipping is active in most steps.
    const clipNorm = globalNorm(new ReferenceEngine(c.net.clone()), c.batches[0]!).norm / 3;
    for (const base of [ADAM, SGD]) {
      const optimizer = { ...base, clipNorm };
      for (const threads of [1, 2]) {
        const label = `${c.label}, ${base.kind}, ${threads} thread(s)`;
        const ref = new ReferenceEngine(c.net.clone(), { optimizer });
        const unclipped = new ReferenceEngine(c.net.clone(), { optimizer: base });
        const wasm = await createWasmEngine(c.net.clone(), { optimizer, threads });
        try {
          // The first step from identical parameters: the clipped update itself, tightly.
          const start = c.net.weights;
          ref.step(c.batches[0]!);
          wasm.step(c.batches[0]!);
          unclipped.step(c.batches[0]!);
          wasm.pull();
          const delta = (w: Float32Array) => Float32Array.from(w, (x, p) => x - start[p]!);
          if (base.kind === "sgd") assertClose(delta(wasm.network.weights), delta(ref.network.weights), 1e-4, 1e-3, `${label}: first clipped update`);
          for (let s = 1; s < 30; s++) {
            const batch = c.batches[s % c.batches.length]!;
            const lr = ref.step(batch);
            const lw = wasm.step(batch);
            unclipped.step(batch);
            assert.ok(Math.abs(lw - lr) <= 2e-3 * Math.abs(lr) + 1e-6, `${label}, step ${s + 1}: loss wasm ${lw} vs reference ${lr}`);
          }
          wasm.pull();
          assertClose(wasm.network.weights, ref.network.weights, 1e-3, 1e-2, `${label}: weights after 30 clipped steps`);
          assertClose(wasm.network.biases, ref.network.biases, 1e-3, 1e-2, `${label}: biases after 30 clipped steps`);
          const w = worstMismatch(unclipped.network.weights, ref.network.weights, 1e-3, 1e-2);
          assert.ok(w.ratio > 1, `${label}: clipping should have changed the weights`);
        } finally {
          await wasm.dispose();
        }
      }
    }
  }
});

test("clipped wasm steps are deterministic for a given thread count", async () => {
  const base = randomNetwork(11, { neurons: 400, inputs: 10 * 12, outputs: 12, inDegree: 9 });
  const run = async () => {
    const wasm = await createWasmEngine(base.clone(), { optimizer: { ...ADAM, clipNorm: 0.05 }, threads: 2 });
    try {
      let loss = 0;
      for (let s = 0; s < 10; s++) loss = wasm.step(oneHotBatch(900 + s, 300, 10, 12, 12));
      wasm.pull();
      return { loss, weights: wasm.network.weights.slice() };
    } finally {
      await wasm.dispose();
    }
  };
  const a = await run();
  const b = await run();
  assert.ok(Object.is(a.loss, b.loss));
  assert.deepEqual(Buffer.from(a.weights.buffer), Buffer.from(b.weights.buffer));
});

test("an invalid clip norm is refused by name", () => {
  assert.throws(() => new ReferenceEngine(handMade(), { optimizer: { ...ADAM, clipNorm: -1 } }), /`optimizer.clipNorm` must be a number ≥ 0 \(0 = off\), got -1/);
  assert.throws(() => new ReferenceEngine(handMade(), { optimizer: { ...ADAM, clipNorm: NaN } }), /`optimizer.clipNorm` must be a number ≥ 0 \(0 = off\), got NaN/);
});

test("the dense baseline (versus) clips and follows a rate the same way: SGD step by −rate·g·(clip/‖g‖)", () => {
  const config = { inputs: 12, hidden: [7], outputs: 3 };
  const batch = denseBatch(21, 16, 12, 3, "class");
  const probe = new DenseMlp(config, new Rng(4));
  const g = probe.gradients(batch);
  let squares = 0;
  for (const a of [...g.weightGradients, ...g.biasGradients]) for (const x of a) squares += x * x;
  const norm = Math.sqrt(squares);
  const model = new DenseMlp(config, new Rng(4), { kind: "sgd", learningRate: 0.5, momentum: 0, clipNorm: norm / 5 });
  const start = model.weights.map((w) => w.slice());
  model.setLearningRate(0.2);
  model.step(batch);
  const scale = Math.fround(norm / 5 / norm);
  model.weights.forEach((w, l) => {
    for (let p = 0; p < w.length; p++) assert.equal(w[p], Math.fround(start[l]![p]! - 0.2 * Math.fround(g.weightGradients[l]![p]! * scale)), `layer ${l}, weight ${p}`);
  });
});
