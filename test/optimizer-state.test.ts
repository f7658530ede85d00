/**
 * Optimiser state in and out of engines (Engine.optimizerState / setOptimizerState), and gradual
 * pruning carrying it across rebuilds (issue 12 item 3).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createWasmEngine } from "../src/engine/wasm/engine.js";
import type { Batch, Engine, OptimizerConfig } from "../src/engine/types.js";
import { carriedState, GradualPruner } from "../src/compress/gradual.js";
import { pruneToInDegree } from "../src/compress/prune.js";
import { textTask } from "../src/train/text.js";
import { trainText } from "../src/train/trainer.js";
import { Rng } from "../src/util/rng.js";
import { oneHotBatch, randomNetwork, worstMismatch } from "./helpers.js";

const adam: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const net = () => randomNetwork(21, { neurons: 150, inputs: 27 * 3, outputs: 27, inDegree: 9, task: textTask(3) });
const batches: Batch[] = Array.from({ length: 12 }, (_, i) => oneHotBatch(100 + i, 32, 3, 27, 27));

async function engines(): Promise<Array<[string, (n: ReturnType<typeof net>) => Promise<Engine>]>> {
  return [
    ["reference", async (n) => new ReferenceEngine(n, { optimizer: adam })],
    ["wasm", (n) => createWasmEngine(n, { optimizer: adam, threads: 1 })],
  ];
}

test("optimizer state: a second engine given the first one's state continues bit for bit (both engines)", async () => {
  for (const [name, make] of await engines()) {
    const a = await make(net());
    for (const b of batches.slice(0, 6)) a.step(b);
    a.pull();
    const state = a.optimizerState();
    assert.equal(state.timestep, 6, name);
    assert.equal(state.weightFirst.length, a.network.edges);
    assert.equal(state.biasFirst.length, a.network.neurons);
    assert.ok(state.weightSecond.some((v) => v > 0), `${name}: v is filled`);
    const b = await make(a.network.clone());
    b.setOptimizerState(state);
    assert.equal(b.timestep, 6);
    const fresh = await make(a.network.clone()); // without the state: differs
    for (const batch of batches.slice(6)) {
      const la = a.step(batch);
      const lb = b.step(batch);
      assert.ok(Object.is(la, lb), `${name}: ${la} vs ${lb}`);
      fresh.step(batch);
    }
    a.pull();
    b.pull();
    fresh.pull();
    assert.deepEqual(b.network.weights, a.network.weights, name);
    assert.deepEqual(b.network.biases, a.network.biases, name);
    assert.notDeepEqual(fresh.network.weights, a.network.weights, `${name}: fresh state must differ (the test can fail)`);
    assert.throws(() => b.setOptimizerState({ ...state, weightFirst: new Float32Array(3) }), /weightFirst has 3 entries, expected/);
    await Promise.all([a.dispose(), b.dispose(), fresh.dispose()]);
  }
});

test("optimizer state: the wasm engine's snapshot is in network order, like the reference engine's", async () => {
  const r = new ReferenceEngine(net(), { optimizer: adam });
  const w = await createWasmEngine(net(), { optimizer: adam, threads: 2 });
  for (const b of batches.slice(0, 5)) {
    r.step(b);
    w.step(b);
  }
  const sr = r.optimizerState();
  const sw = w.optimizerState();
  assert.equal(sw.timestep, sr.timestep);
  for (const key of ["weightFirst", "weightSecond", "biasFirst", "biasSecond"] as const) {
    const worst = worstMismatch(sw[key], sr[key], 1e-6, 1e-3);
    assert.ok(worst.ratio <= 1, `${key}: ${JSON.stringify(worst)}`);
  }
  await w.dispose();
});

test("carriedState maps each kept edge's moments; gradual pruning that rebuilds without pruning equals no rebuild, bit for bit", async () => {
  const n = net();
  const state = { timestep: 7, weightFirst: Float32Array.from({ length: n.edges }, (_, e) => e), weightSecond: Float32Array.from({ length: n.edges }, (_, e) => 2 * e), biasFirst: new Float32Array(n.neurons), biasSecond: new Float32Array(n.neurons) };
  const utility = Float32Array.from({ length: n.edges }, (_, e) => (e * 7919) % 13);
  const pruned = pruneToInDegree(n, utility, 4);
  const c = carriedState(state, pruned.kept);
  assert.equal(c.weightFirst.length, pruned.network.edges);
  for (let e = 0; e < pruned.network.edges; e++) {
    assert.equal(c.weightFirst[e], pruned.kept[e]);
    assert.equal(c.weightSecond[e], 2 * pruned.kept[e]!);
  }
  assert.equal(c.timestep, 7);

  // Training with rebuilds that carry the state is the same run as training without them.
  const symbols = new Uint8Array(4000);
  const rng = new Rng(3);
  for (let i = 0; i < symbols.length; i++) symbols[i] = 1 + rng.nextInt(26);
  const steps = 80;
  const config = { to: 4, by: "magnitude" as const, start: 0.1, end: 0.5, every: 10, batches: 1, rebuildOnly: true };
  const run = async (o: { pruner?: "carry" | "reset" }) => {
    const make = (x: ReturnType<typeof net>) => createWasmEngine(x, { optimizer: adam, threads: 1 });
    const first = await make(net());
    const pruner = o.pruner ? new GradualPruner(first, { ...config, ...(o.pruner === "reset" ? { resetOptimizer: true } : {}) }, steps, make) : undefined;
    const r = await trainText(first, symbols.subarray(0, 3000), symbols.subarray(3000), { context: 3, batch: 32, steps, evalEvery: 0, evalWindows: 100, rng: new Rng(1), ...(pruner ? { afterStep: pruner.afterStep } : {}) });
    await r.engine.dispose();
    return { losses: r.losses, rebuilds: pruner?.events.length ?? 0 };
  };
  const plain = await run({});
  const carried = await run({ pruner: "carry" });
  const reset = await run({ pruner: "reset" });
  assert.ok(carried.rebuilds >= 3, `${carried.rebuilds} rebuilds`);
  assert.deepEqual(carried.losses, plain.losses);
  assert.notDeepEqual(reset.losses, plain.losses, "resetting the state changes the run (the test can fail)");
});
