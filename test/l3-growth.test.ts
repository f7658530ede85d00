/** Gradient-free L3 growth (rewire/l3.ts): scores by brute-force path enumeration, and a RigL round with it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { l3Candidates } from "../src/rewire/l3.js";
import { Rewirer } from "../src/rewire/rewire.js";
import { PRESETS } from "../src/rewire/schedule.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { Rng } from "../src/util/rng.js";
import { oneHotBatch, randomNetwork } from "./helpers.js";

test("l3 candidates: the best sources by Σ over paths i → a → b → j of 1/√(deg a·deg b), never a source already, always upstream", () => {
  const net = randomNetwork(81, { neurons: 120, inputs: 30, outputs: 8, inDegree: 4 });
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const src = (x: number) => (x < n ? [] : Array.from(sources.subarray((x - n) * d, (x - n + 1) * d)));
  const outDeg = new Int32Array(k);
  for (let p = 0; p < sources.length; p++) outDeg[sources[p]!]!++;
  const deg = (x: number) => (x >= n ? d : 0) + outDeg[x]!;
  const perTarget = 5;
  const got = l3Candidates(net, perTarget);
  let nonEmpty = 0;
  for (let j = n; j < k; j++) {
    // Brute force: every directed path of length 3 ending in j.
    const score = new Map<number, number>();
    for (const b of src(j)) for (const a of src(b)) for (const i of src(a)) score.set(i, (score.get(i) ?? 0) + 1 / Math.sqrt(deg(a) * deg(b)));
    const want = [...score.entries()].filter(([i]) => !src(j).includes(i) && i !== j).sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, perTarget).map(([i]) => i);
    const have = Array.from(got.subarray(j * perTarget, (j + 1) * perTarget)).filter((i) => i >= 0);
    // Equal scores may tie up to rounding: compare the score lists, and the sets where scores differ clearly.
    assert.deepEqual(have.map((i) => score.get(i)!.toFixed(9)), want.map((i) => score.get(i)!.toFixed(9)), `neuron ${j}`);
    for (const i of have) assert.ok(!src(j).includes(i), `neuron ${j}: ${i} is a source already`);
    if (have.length > 0) nonEmpty++;
  }
  assert.ok(nonEmpty > 20, `${nonEmpty} targets have L3 candidates`);
});

test("a RigL round growing by l3 rewires, keeps the in-degree and never needs a refused candidate for a cycle", () => {
  const net = randomNetwork(82, { neurons: 160, inputs: 27 * 3, outputs: 27, inDegree: 8 });
  const engine = new ReferenceEngine(net);
  const rewirer = new Rewirer(net, engine, { ...PRESETS.rigl, growBy: "l3", fraction: 0.05 }, new Rng(3), { perTarget: 16 });
  const report = rewirer.round(100, 1000, [oneHotBatch(4, 32, 3, 27, 27)]);
  assert.ok(report.rewired > 0, `${report.rewired} rewired, ${report.refused} refused`);
  assert.equal(net.inDegree, 8);
  net.validate();
});
