/**
 * Accumulated utility (issue 12 item 5): the engines sum −w·g and (w·g)² of every edge at every
 * step, inside the update. Checked against the sum of per-step −w·∂L/∂w from the reference engine's
 * gradients, between the engines (clipped and not), and through a rewiring round that prunes by it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createWasmEngine } from "../src/engine/wasm/engine.js";
import type { Batch, OptimizerConfig } from "../src/engine/types.js";
import { Rewirer } from "../src/rewire/rewire.js";
import { PRESETS } from "../src/rewire/schedule.js";
import { Rng } from "../src/util/rng.js";
import { oneHotBatch, randomNetwork, worstMismatch } from "./helpers.js";

const ADAM: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const net = () => randomNetwork(71, { neurons: 150, inputs: 27 * 3, outputs: 27, inDegree: 6 });
const batches: Batch[] = Array.from({ length: 5 }, (_, i) => oneHotBatch(500 + i, 40, 3, 27, 27));

test("the reference engine's sums are Σ over steps of −w·∂L/∂w and (w·∂L/∂w)², w before each update", () => {
  const engine = new ReferenceEngine(net(), { optimizer: ADAM, utilityStatistics: true });
  const probe = new ReferenceEngine(engine.network, { optimizer: ADAM }); // same arrays: gradients only
  const first = new Float64Array(engine.network.edges);
  const squared = new Float64Array(engine.network.edges);
  for (let s = 0; s < 25; s++) {
    const batch = batches[s % batches.length]!;
    const g = probe.gradients(batch).weightGradients;
    for (let e = 0; e < first.length; e++) {
      const wg = engine.network.weights[e]! * g[e]!;
      first[e]! -= wg;
      squared[e]! += wg * wg;
    }
    engine.step(batch);
  }
  const stats = engine.accumulatedUtility()!;
  assert.equal(stats.steps, 25);
  for (const [name, got, want] of [["Σ −w·g", stats.firstOrder, first], ["Σ (w·g)²", stats.squared, squared]] as const) {
    const worst = worstMismatch(got, want, 1e-7, 1e-4);
    assert.ok(worst.ratio <= 1, `${name}: ${JSON.stringify(worst)}`);
  }
  assert.ok(first.some((x) => x > 0) && first.some((x) => x < 0), "both signs occur");
  engine.resetEdgeState(7);
  assert.equal(engine.accumulatedUtility()!.firstOrder[7], 0, "a new edge starts with empty sums");
  engine.clearAccumulatedUtility();
  const cleared = engine.accumulatedUtility()!;
  assert.equal(cleared.steps, 0);
  assert.ok(cleared.firstOrder.every((x) => x === 0));
  assert.equal(new ReferenceEngine(net()).accumulatedUtility(), undefined, "off unless asked for");
});

test("the wasm engine's sums track the reference engine's (1 and 2 threads, with and without clipping)", async () => {
  for (const optimizer of [ADAM, { ...ADAM, clipNorm: 0.05 }]) {
    for (const threads of [1, 2]) {
      const ref = new ReferenceEngine(net(), { optimizer, utilityStatistics: true });
      const wasm = await createWasmEngine(net(), { optimizer, threads, utilityStatistics: true });
      try {
        for (let s = 0; s < 20; s++) {
          ref.step(batches[s % batches.length]!);
          wasm.step(batches[s % batches.length]!);
        }
        const a = wasm.accumulatedUtility()!;
        const b = ref.accumulatedUtility()!;
        assert.equal(a.steps, 20);
        for (const k of ["firstOrder", "squared"] as const) {
          const worst = worstMismatch(a[k], b[k], 1e-6, 2e-2);
          assert.ok(worst.ratio <= 1, `${threads} thread(s), clip ${optimizer.clipNorm ?? "off"}, ${k}: ${JSON.stringify(worst)}`);
        }
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("a RigL round pruning by accumulated utility removes low-utility edges and starts the sums again", async () => {
  for (const pruneBy of ["accumulated", "accumulated-taylor"] as const) {
    const network = net();
    const engine = await createWasmEngine(network, { optimizer: ADAM, threads: 1, utilityStatistics: true });
    try {
      for (let s = 0; s < 30; s++) engine.step(batches[s % batches.length]!);
      const stats = engine.accumulatedUtility()!;
      const mean = Array.from(stats.firstOrder, (x) => x / stats.steps).sort((a, b) => a - b);
      const rewirer = new Rewirer(network, engine, { ...PRESETS.rigl, pruneBy, fraction: 0.1 }, new Rng(2));
      const report = rewirer.round(30, 1000, [batches[0]!]);
      assert.ok(report.rewired > 0, pruneBy);
      if (pruneBy === "accumulated") assert.ok(report.meanUtilityRemoved <= mean[Math.round(0.1 * mean.length)]!, `${report.meanUtilityRemoved}`);
      assert.equal(engine.accumulatedUtility()!.steps, 0, "cleared after the round");
      network.validate();
    } finally {
      await engine.dispose();
    }
  }
  // Without statistics the criterion refuses by name.
  const plain = new ReferenceEngine(net(), { optimizer: ADAM });
  const rewirer = new Rewirer(plain.network, plain, { ...PRESETS.rigl, pruneBy: "accumulated" }, new Rng(2));
  assert.throws(() => rewirer.round(10, 100, [batches[0]!]), /utilityStatistics: true/);
});
