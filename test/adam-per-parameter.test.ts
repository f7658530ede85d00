/**
 * Adam with per-parameter bias correction (issue 12 item 4): each parameter's own step count τ,
 * restarted for a new edge. Checked against a hand computation, against the global correction when
 * nothing is reset, and between the reference and WebAssembly engines with edges reset on the way.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createWasmEngine } from "../src/engine/wasm/engine.js";
import type { Batch, OptimizerConfig } from "../src/engine/types.js";
import { oneHotBatch, randomNetwork, worstMismatch } from "./helpers.js";

const GLOBAL: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const PER: OptimizerConfig = { ...GLOBAL, biasCorrection: "per-parameter" };
const net = () => randomNetwork(61, { neurons: 160, inputs: 27 * 3, outputs: 27, inDegree: 7 });
const batches: Batch[] = Array.from({ length: 6 }, (_, i) => oneHotBatch(300 + i, 48, 3, 27, 27));

test("a new edge's first update: per-parameter correction moves it by about the rate; the global correction by several times it (hand computation)", () => {
  const edge = 100;
  for (const [config, expected] of [[PER, "per"], [GLOBAL, "global"]] as const) {
    const e = new ReferenceEngine(net(), { optimizer: config });
    for (let s = 0; s < 200; s++) e.step(batches[s % batches.length]!);
    // Far into training (t = 5000: the cold start is largest once Adam's own correction is ≈ 1).
    const { powers: _powers, ...moments } = e.optimizerState();
    e.setOptimizerState({ ...moments, timestep: 5000 }); // without powers: every τ = 5000
    e.resetEdgeState(edge);
    const batch = batches[0]!;
    const g = e.gradients(batch).weightGradients[edge]!;
    const before = e.network.weights[edge]!;
    e.step(batch);
    const change = e.network.weights[edge]! - before;
    // After the reset: m = (1 − β1)·g, v = (1 − β2)·g², in float32 as the state stores them.
    const m = Math.fround(0.1 * g);
    const v = Math.fround(Math.fround(1 - 0.999) * Math.fround(g * g));
    const t = 5001;
    const hand = expected === "per"
      ? -(0.01 * (m / (1 - Math.fround(0.9)))) / (Math.sqrt(v / (1 - Math.fround(0.999))) + 1e-8)
      : -(0.01 * (m * (1 / (1 - 0.9 ** t)))) / (Math.sqrt(v * (1 / (1 - 0.999 ** t))) + 1e-8);
    assert.ok(Math.abs(change - hand) <= 1e-6 + 1e-4 * Math.abs(hand), `${expected}: change ${change}, by hand ${hand}`);
    if (expected === "per") assert.ok(Math.abs(Math.abs(change) - 0.01) < 1e-4, `per-parameter: |Δw| ≈ lr, got ${change}`);
    else assert.ok(Math.abs(change) > 2.5 * 0.01, `global: the cold start moves the new edge by ${change}, several times lr`);
  }
});

test("without resets, per-parameter correction is the global one (τ = t for every parameter)", () => {
  const a = new ReferenceEngine(net(), { optimizer: GLOBAL });
  const b = new ReferenceEngine(net(), { optimizer: PER });
  for (let s = 0; s < 40; s++) {
    const la = a.step(batches[s % batches.length]!);
    const lb = b.step(batches[s % batches.length]!);
    assert.ok(Math.abs(la - lb) < 1e-4, `step ${s + 1}: ${la} vs ${lb}`);
  }
  const worst = worstMismatch(b.network.weights, a.network.weights, 1e-5, 1e-3);
  assert.ok(worst.ratio <= 1, JSON.stringify(worst));
  // resetTimestep restarts every τ, as it restarts t for the global correction.
  a.resetTimestep();
  b.resetTimestep();
  for (let s = 0; s < 5; s++) assert.ok(Math.abs(a.step(batches[s]!) - b.step(batches[s]!)) < 1e-4);
});

test("per-parameter correction: the wasm engine tracks the reference with edges reset on the way, and its state continues bit for bit", async () => {
  for (const threads of [1, 2]) {
    const ref = new ReferenceEngine(net(), { optimizer: PER });
    const wasm = await createWasmEngine(net(), { optimizer: PER, threads });
    try {
      for (let s = 0; s < 60; s++) {
        if (s === 20 || s === 40) for (const e of [3, 50, 200, 400]) {
          ref.resetEdgeState(e + s);
          wasm.resetEdgeState(e + s);
        }
        const batch = batches[s % batches.length]!;
        const lr = ref.step(batch);
        const lw = wasm.step(batch);
        assert.ok(Math.abs(lw - lr) <= 2e-3 * Math.abs(lr) + 1e-6, `${threads} thread(s), step ${s + 1}: wasm ${lw} vs reference ${lr}`);
      }
      wasm.pull();
      const worst = worstMismatch(wasm.network.weights, ref.network.weights, 1e-3, 1e-2);
      assert.ok(worst.ratio <= 1, JSON.stringify(worst));
      const sr = ref.optimizerState();
      const sw = wasm.optimizerState();
      assert.ok(sr.powers && sw.powers, "both snapshots carry β^τ");
      const young = 20 + 3 + 20; // reset at step 40: τ = 20
      assert.ok(Math.abs(sw.powers.weightBeta1[young]! - 0.9 ** 20) < 1e-5, `edge reset 20 steps ago: β1^τ = ${sw.powers.weightBeta1[young]}`);
      assert.ok(Math.abs(sw.powers.weightBeta1[0]! - 0.9 ** 60) < 1e-6);
      for (const k of ["weightBeta1", "weightBeta2", "biasBeta1", "biasBeta2"] as const) {
        const w = worstMismatch(sw.powers[k], sr.powers[k], 1e-6, 1e-4);
        assert.ok(w.ratio <= 1, `${k}: ${JSON.stringify(w)}`);
      }
      // A second engine given the state continues exactly as the first.
      const copy = await createWasmEngine(wasm.network.clone(), { optimizer: PER, threads });
      copy.setOptimizerState(sw);
      for (let s = 0; s < 5; s++) assert.ok(Object.is(wasm.step(batches[s]!), copy.step(batches[s]!)), `continued step ${s}`);
      await copy.dispose();
    } finally {
      await wasm.dispose();
    }
  }
});
