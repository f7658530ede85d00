/**
 * The second-order utility (src/estimate/taylor.ts) against a direct computation: per-sample
 * gradients from single-sample batches of the reference engine, their mean (the first-order term)
 * and mean square (the empirical Fisher curvature).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import type { Batch } from "../src/engine/types.js";
import { activityFrom, stackActivity } from "../src/estimate/activity.js";
import { taylorUtility } from "../src/estimate/taylor.js";
import { denseBatch, oneHotBatch, randomNetwork } from "./helpers.js";

function sample(batch: Batch, b: number): Batch {
  const inputs = batch.inputs.kind === "one-hot"
    ? { kind: "one-hot" as const, perSample: batch.inputs.perSample, active: batch.inputs.active.slice(b * batch.inputs.perSample, (b + 1) * batch.inputs.perSample) }
    : { kind: "dense" as const, values: Float32Array.from({ length: batch.inputs.values.length / batch.size }, (_, i) => (batch.inputs as { values: Float32Array }).values[i * batch.size + b]!) };
  const targets = { kind: "class" as const, classes: Int32Array.of((batch.targets as { classes: Int32Array }).classes[b]!) };
  return { size: 1, inputs, targets };
}

for (const kind of ["one-hot", "dense"] as const) {
  test(`taylor utility = −w·mean(g_b) + ½w²·ln2·mean(g_b²) over one and two batches (${kind} inputs)`, () => {
    const net = randomNetwork(7, { neurons: 40, inputs: 12, outputs: 4, inDegree: 5 });
    const engine = new ReferenceEngine(net);
    const batches = kind === "one-hot" ? [oneHotBatch(1, 9, 3, 4, 4), oneHotBatch(2, 9, 3, 4, 4)] : [denseBatch(1, 9, 12, 4, "class"), denseBatch(2, 9, 12, 4, "class")];
    for (const count of [1, 2]) {
      const use = batches.slice(0, count);
      const gradient = new Float64Array(net.edges);
      const acts = use.map((b) => {
        const g = engine.gradients(b, { activity: true });
        for (let p = 0; p < net.edges; p++) gradient[p]! += g.weightGradients[p]! / count;
        return activityFrom(net, b.size, g);
      });
      const utility = new Float64Array(net.edges);
      taylorUtility(net, gradient, count === 1 ? acts[0]! : stackActivity(acts), count, utility);
      // Direct: per-sample gradients of every edge.
      const sum = new Float64Array(net.edges);
      const sq = new Float64Array(net.edges);
      let samples = 0;
      for (const b of use) {
        for (let s = 0; s < b.size; s++) {
          const g = engine.gradients(sample(b, s)).weightGradients;
          for (let p = 0; p < net.edges; p++) {
            sum[p]! += g[p]!;
            sq[p]! += g[p]! * g[p]!;
          }
          samples++;
        }
      }
      let checked = 0;
      for (let p = 0; p < net.edges; p++) {
        const w = net.weights[p]!;
        const want = -w * (sum[p]! / samples) + 0.5 * w * w * Math.LN2 * (sq[p]! / samples);
        assert.ok(Math.abs(utility[p]! - want) <= 1e-5 + 1e-3 * Math.abs(want), `edge ${p}: ${utility[p]} vs ${want} (${count} batches)`);
        if (sq[p]! > 0) checked++;
      }
      assert.ok(checked > net.edges / 3, "most edges carry curvature");
    }
  });
}
