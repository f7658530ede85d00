/** Prune criteria computed from a round's activity (estimate/taylor.ts): wanda = |w|·rms(σ(a_source)). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { activityFrom, stackActivity } from "../src/estimate/activity.js";
import { wandaUtility } from "../src/estimate/taylor.js";
import { Rewirer } from "../src/rewire/rewire.js";
import { PRESETS } from "../src/rewire/schedule.js";
import { textTask } from "../src/train/text.js";
import { Rng } from "../src/util/rng.js";
import { oneHotBatch, randomNetwork } from "./helpers.js";

test("wanda utility is |w| times the root-mean-square output of the edge's source, over every sample of the round", () => {
  const net = randomNetwork(51, { neurons: 160, inputs: 27 * 3, outputs: 27, inDegree: 8, task: textTask(3) });
  const engine = new ReferenceEngine(net);
  const batches = [oneHotBatch(1, 40, 3, 27, 27), oneHotBatch(2, 24, 3, 27, 27)];
  const activity = stackActivity(batches.map((b) => activityFrom(net, b.size, engine.gradients(b, { activity: true }))));
  const utility = new Float64Array(net.edges);
  wandaUtility(net, activity, utility);
  const S = 64;
  let inputEdges = 0;
  for (const p of [0, 7, 100, 333, net.edges - 1]) {
    const i = net.sources[p]!;
    // σ(a_i) by hand from the reference engine's outputs: inputs are 1 when their symbol is active.
    let sum = 0;
    for (let b = 0; b < S; b++) sum += activity.outputs[i * S + b]! ** 2;
    assert.ok(Math.abs(utility[p]! - Math.abs(net.weights[p]!) * Math.sqrt(sum / S)) < 1e-12, `edge ${p}`);
  }
  for (let p = 0; p < net.edges; p++) {
    const i = net.sources[p]!;
    if (i >= net.inputs) continue;
    inputEdges++;
    // A one-hot input's rms is sqrt(share of samples in which its symbol was active).
    let active = 0;
    for (const b of batches) for (let s = 0; s < b.size; s++) if (b.inputs.kind === "one-hot" && Array.from(b.inputs.active.subarray(s * 3, s * 3 + 3)).includes(i)) active++;
    assert.ok(Math.abs(utility[p]! - Math.abs(net.weights[p]!) * Math.sqrt(active / S)) < 1e-7, `input edge ${p}`);
  }
  assert.ok(inputEdges > 0);
});

test("a RigL round that prunes by wanda removes edges of the lowest |w|·rms(σ), and keeps the in-degree", () => {
  const net = randomNetwork(52, { neurons: 160, inputs: 27 * 3, outputs: 27, inDegree: 8, task: textTask(3) });
  const engine = new ReferenceEngine(net);
  const batch = oneHotBatch(3, 64, 3, 27, 27);
  const before = new Float64Array(net.edges);
  wandaUtility(net, activityFrom(net, batch.size, engine.gradients(batch, { activity: true })), before);
  const sorted = Array.from(before).sort((a, b) => a - b);
  const rewirer = new Rewirer(net, engine, { ...PRESETS.rigl, pruneBy: "wanda", fraction: 0.1 }, new Rng(1));
  const report = rewirer.round(100, 1000, [batch]);
  assert.ok(report.rewired > 0);
  // The removed edges are among the lowest 10 % (the plan) by the criterion.
  assert.ok(report.meanUtilityRemoved <= sorted[Math.round(0.1 * net.edges)]!, `${report.meanUtilityRemoved}`);
  assert.ok(report.meanUtilityRemoved < sorted.reduce((a, b) => a + b, 0) / sorted.length);
  assert.equal(net.inDegree, 8);
  net.validate();
});
