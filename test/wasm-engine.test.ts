/**
 * The wasm engine against the reference engine (the oracle) on random and hand-made DAGs: loss,
 * every weight and bias gradient, per-sample σ(a) and δ, evaluate/predict, 50 steps of Adam, SGD,
 * determinism, and the rewiring hooks (push after an edit, resetEdgeState, resetTimestep).
 *
 * Tolerances (float32, stated once): both engines store float32 but sum in different orders (the
 * wasm engine per tile and per SIMD lane, the reference sample by sample; threads add their partial
 * gradients at the end), and the wasm softmax uses a polynomial exp. Rounding errors of a float32 sum
 * of n terms are bounded by about n·2^-24 times the sum of |terms|; with n up to a few hundred
 * samples and cancellations between them, a gradient may be off by ~1e-5 of the array's largest
 * gradient while being tiny itself. So: |wasm − ref| ≤ ATOL·max|ref| + RTOL·|ref| with RTOL = 1e-3,
 * ATOL = 1e-5 for gradients and δ, 1e-6 / 1e-4 for activations and logits; the mean loss within
 * 1e-5 relative. Failures print the seed, the case and the worst mismatch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Network } from "../src/graph/network.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createWasmEngine, wasmSupported } from "../src/engine/wasm/engine.js";
import { loadSearchKernels, searchKernels, searchKernelStatus } from "../src/engine/wasm/search-kernels.js";
import type { Batch, Engine, OptimizerConfig } from "../src/engine/types.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, assertLossClose, compareGradients, denseBatch, oneHotBatch, randomNetwork, VALUE_ATOL, VALUE_RTOL } from "./helpers.js";

/** Compares one gradients() call (with activity, and without: the one-hot input edges' sparse route) plus evaluate and predict. */
function compareOnce(wasm: Engine, ref: Engine, batch: Batch, label: string): void {
  const plain = compareGradients(wasm, ref, batch, label);
  assert.equal(plain.outputs, undefined);
  const er = ref.evaluate(batch);
  const ew = wasm.evaluate(batch);
  assertLossClose(ew.lossSum, er.lossSum, `${label}: evaluate`);
  assert.equal(ew.count, er.count);
  assert.ok(Math.abs(ew.correct - er.correct) <= 1, `${label}: correct ${ew.correct} vs ${er.correct}`);
  assertClose(wasm.predict(batch), ref.predict(batch), VALUE_ATOL, VALUE_RTOL, `${label}: predict`);
}

/** Counts the edge kinds the issue asks to cover. */
function edgeKinds(net: Network): { inputToOutput: number; outputToOutput: number; skip: number } {
  let inputToOutput = 0;
  let outputToOutput = 0;
  let skip = 0;
  const firstOutput = net.neurons - net.outputs;
  for (let i = net.inputs; i < net.neurons; i++) {
    for (let e = 0; e < net.inDegree; e++) {
      const s = net.sources[net.rowOf(i) + e]!;
      if (i >= firstOutput && s < net.inputs) inputToOutput++;
      if (i >= firstOutput && s >= firstOutput) outputToOutput++;
      if (net.levels[i]! - net.levels[s]! > 1) skip++;
    }
  }
  return { inputToOutput, outputToOutput, skip };
}

test("wasm SIMD is available here", () => {
  assert.equal(wasmSupported(), true);
});

test("gradients, σ(a) and δ match the reference: one-hot inputs, cross-entropy, batch sizes and threads", async () => {
  for (const seed of [1, 2]) {
    const net = randomNetwork(seed, { neurons: 260, inputs: 6 * 9, outputs: 9, inDegree: 7 });
    for (const i of [80, 120, 200]) net.biases[i] = -50; // dead neurons (Example 3.19)
    const kinds = edgeKinds(net);
    assert.ok(kinds.inputToOutput > 0 && kinds.outputToOutput > 0 && kinds.skip > 0, `seed ${seed}: edge kinds ${JSON.stringify(kinds)}`);
    const ref = new ReferenceEngine(net.clone());
    for (const [threads, tile] of [[1, undefined], [2, undefined], [2, 16]] as const) {
      const wasm = await createWasmEngine(net.clone(), { threads }, tile === undefined ? {} : { tile });
      try {
        assert.equal(wasm.name, "wasm");
        assert.equal(wasm.threads, threads);
        for (const size of [1, 3, 17, 130, 512]) {
          compareOnce(wasm, ref, oneHotBatch(seed * 100 + size, size, 6, 9, 9), `seed ${seed}, one-hot, batch ${size}, ${threads} thread(s), tile ${wasm.tile}`);
        }
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("gradients, σ(a) and δ match the reference: dense signed inputs, both losses", async () => {
  for (const seed of [3, 4]) {
    const net = randomNetwork(seed, { neurons: 150, inputs: 20, outputs: 5, inDegree: 6 });
    net.biases[60] = -50;
    const ref = new ReferenceEngine(net.clone());
    for (const threads of [1, 2]) {
      const wasm = await createWasmEngine(net.clone(), { threads });
      try {
        for (const size of [1, 17, 130]) {
          for (const targets of ["class", "values"] as const) {
            compareOnce(wasm, ref, denseBatch(seed * 100 + size, size, 20, 5, targets), `seed ${seed}, dense, ${targets}, batch ${size}, ${threads} thread(s)`);
          }
        }
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("hand-made DAG: input edges straight into outputs, outputs feeding outputs, skip edges, a dead neuron", async () => {
  // 4 inputs (0..3), hidden 4..7, outputs 8..10; in-degree 2.
  //   4 ← 0,1   5 ← 4,2 (dead)   6 ← 4,1   7 ← 6,0 (skip from input)
  //   8 ← 0,3 (inputs straight into an output)   9 ← 8,7 (output feeds output)   10 ← 9,5
  const net = Network.fromArrays({
    neurons: 11, inputs: 4, outputs: 3, inDegree: 2,
    sources: Int32Array.from([0, 1, 4, 2, 4, 1, 6, 0, 0, 3, 8, 7, 9, 5]),
    weights: Float32Array.from([0.7, -0.4, 1.1, 0.3, -0.8, 0.9, 1.2, 0.5, 0.6, -1.3, 0.8, -0.7, 0.45, 0.9]),
    biases: Float32Array.from([0, 0, 0, 0, 0.1, -40, 0.2, -0.1, 0.05, 0.3, -0.2]),
  });
  const ref = new ReferenceEngine(net.clone());
  for (const threads of [1, 2]) {
    const wasm = await createWasmEngine(net.clone(), { threads });
    try {
      for (const size of [1, 3, 17, 130]) {
        compareOnce(wasm, ref, denseBatch(size, size, 4, 3, "values"), `hand-made, dense, batch ${size}, ${threads} thread(s)`);
        compareOnce(wasm, ref, oneHotBatch(size, size, 2, 2, 3), `hand-made, one-hot, batch ${size}, ${threads} thread(s)`);
      }
    } finally {
      await wasm.dispose();
    }
  }
});

const ADAM: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

test("50 steps of Adam track the reference at every step (1 and 2 threads, one-hot and dense)", async () => {
  const seed = 7;
  const cases: { label: string; net: Network; batches: Batch[] }[] = [
    {
      label: "one-hot",
      net: randomNetwork(seed, { neurons: 300, inputs: 8 * 10, outputs: 10, inDegree: 8 }),
      batches: [0, 1, 2, 3].map((i) => oneHotBatch(seed * 10 + i, 100, 8, 10, 10)),
    },
    {
      label: "dense values",
      net: randomNetwork(seed + 1, { neurons: 120, inputs: 12, outputs: 4, inDegree: 5 }),
      batches: [0, 1, 2].map((i) => denseBatch(seed * 10 + i, 70, 12, 4, "values")),
    },
  ];
  for (const c of cases) {
    for (const threads of [1, 2]) {
      const ref = new ReferenceEngine(c.net.clone(), { optimizer: ADAM });
      const wasm = await createWasmEngine(c.net.clone(), { optimizer: ADAM, threads });
      try {
        let first = 0;
        for (let s = 0; s < 50; s++) {
          const batch = c.batches[s % c.batches.length]!;
          const lr = ref.step(batch);
          const lw = wasm.step(batch);
          if (s === 0) first = lr;
          assert.ok(Math.abs(lw - lr) <= 2e-3 * Math.abs(lr) + 1e-6, `seed ${seed}, ${c.label}, ${threads} thread(s), step ${s + 1}: loss wasm ${lw} vs reference ${lr}`);
        }
        assert.equal(wasm.timestep, 50);
        wasm.pull();
        assertClose(wasm.network.weights, ref.network.weights, 1e-3, 1e-2, `${c.label}, ${threads} thread(s): weights after 50 steps`);
        assert.ok(ref.evaluate(c.batches[0]!).lossSum < first * c.batches[0]!.size, `${c.label}: training lowers the loss`);
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("SGD with momentum tracks the reference", async () => {
  const net = randomNetwork(41, { neurons: 90, inputs: 8, outputs: 3, inDegree: 3 });
  const sgd: OptimizerConfig = { kind: "sgd", learningRate: 0.05, momentum: 0.9 };
  const ref = new ReferenceEngine(net.clone(), { optimizer: sgd });
  const wasm = await createWasmEngine(net.clone(), { optimizer: sgd, threads: 1 });
  try {
    const batch = denseBatch(41, 40, 8, 3, "values");
    for (let s = 0; s < 10; s++) {
      const lr = ref.step(batch);
      const lw = wasm.step(batch);
      assert.ok(Math.abs(lw - lr) <= 1e-3 * lr, `step ${s + 1}: ${lw} vs ${lr}`);
    }
  } finally {
    await wasm.dispose();
  }
});

test("same seed and thread count give the same final loss and weights, bit for bit", async () => {
  const run = async (threads: number) => {
    const net = randomNetwork(11, { neurons: 400, inputs: 10 * 12, outputs: 12, inDegree: 9 });
    const wasm = await createWasmEngine(net, { optimizer: ADAM, threads });
    try {
      let loss = 0;
      for (let s = 0; s < 20; s++) loss = wasm.step(oneHotBatch(1000 + s, 300, 10, 12, 12));
      wasm.pull();
      return { loss, weights: net.weights.slice(), biases: net.biases.slice() };
    } finally {
      await wasm.dispose();
    }
  };
  for (const threads of [1, 2]) {
    const a = await run(threads);
    const b = await run(threads);
    assert.ok(Object.is(a.loss, b.loss), `${threads} thread(s): final loss ${a.loss} then ${b.loss}`);
    assert.deepEqual(Buffer.from(a.weights.buffer), Buffer.from(b.weights.buffer), `${threads} thread(s): weights differ`);
    assert.deepEqual(Buffer.from(a.biases.buffer), Buffer.from(b.biases.buffer), `${threads} thread(s): biases differ`);
  }
});

test("rewiring hooks: push after editing edges, resetEdgeState and resetTimestep behave like the reference", async () => {
  const seed = 21;
  for (const threads of [1, 2]) {
    const refNet = randomNetwork(seed, { neurons: 200, inputs: 6 * 8, outputs: 8, inDegree: 6 });
    const wasmNet = refNet.clone();
    const ref = new ReferenceEngine(refNet, { optimizer: ADAM });
    const wasm = await createWasmEngine(wasmNet, { optimizer: ADAM, threads });
    try {
      const batches = [0, 1, 2].map((i) => oneHotBatch(seed + i, 90, 6, 8, 8));
      const steps = (from: number, count: number, label: string) => {
        for (let s = from; s < from + count; s++) {
          const batch = batches[s % 3]!;
          const lr = ref.step(batch);
          const lw = wasm.step(batch);
          assert.ok(Math.abs(lw - lr) <= 2e-3 * lr, `${label}, ${threads} thread(s), step ${s + 1}: loss wasm ${lw} vs reference ${lr}`);
        }
      };
      steps(0, 10, "before the edit");
      wasm.pull();
      assertClose(wasmNet.weights, refNet.weights, 1e-4, 1e-3, "pulled weights");
      // Start the edited networks from identical parameters, so that the check right after the edit
      // sees only this edit, not ten steps of float32 drift.
      refNet.weights.set(wasmNet.weights);
      refNet.biases.set(wasmNet.biases);
      // Rewire like §4.6: move some edges to new sources (keeping the graph acyclic), give them new
      // weights, reset their optimiser state, reset Adam's timestep; edit both networks the same way.
      const rng = new Rng(seed);
      const edited: number[] = [];
      for (let tries = 0; edited.length < 12 && tries < 1000; tries++) {
        const i = refNet.inputs + 30 + rng.nextInt(refNet.neurons - refNet.inputs - 30);
        const e = rng.nextInt(refNet.inDegree);
        const s = rng.nextInt(i); // any lower index: the random DAG is ordered by index, so no cycle
        const row = refNet.rowOf(i);
        if (refNet.sources.subarray(row, row + refNet.inDegree).includes(s)) continue;
        for (const net of [refNet, wasmNet]) {
          net.sources[row + e] = s;
          net.weights[row + e] = 0.01 * (edited.length + 1);
        }
        edited.push(row + e);
      }
      assert.equal(edited.length, 12);
      // Also move a weight without rewiring (push must pick up edited weights and biases).
      refNet.weights[5] = wasmNet.weights[5] = 0.5;
      refNet.biases[refNet.inputs + 7] = wasmNet.biases[refNet.inputs + 7] = -0.25;
      refNet.validate();
      wasmNet.validate();
      wasm.push();
      for (const e of edited) {
        ref.resetEdgeState(e);
        wasm.resetEdgeState(e);
      }
      ref.resetTimestep();
      wasm.resetTimestep();
      assert.equal(wasm.timestep, 0);
      compareOnce(wasm, ref, batches[0]!, `after the edit, ${threads} thread(s)`);
      steps(10, 15, "after the edit");
      assert.equal(wasm.timestep, 15);
      wasm.pull();
      assertClose(wasmNet.weights, refNet.weights, 1e-3, 1e-2, "weights after the edit and 15 more steps");
      assertClose(wasmNet.biases, refNet.biases, 1e-3, 1e-2, "biases after the edit and 15 more steps");
    } finally {
      await wasm.dispose();
    }
  }
});

test("resetEdgeState still resets after the engine's memory grew (its cached views follow the buffer)", async () => {
  const seed = 23;
  const base = randomNetwork(seed, { neurons: 220, inputs: 6 * 8, outputs: 8, inDegree: 6 });
  const ref = new ReferenceEngine(base.clone(), { optimizer: ADAM });
  const reset = await createWasmEngine(base.clone(), { optimizer: ADAM, threads: 1 });
  const control = await createWasmEngine(base.clone(), { optimizer: ADAM, threads: 1 });
  try {
    const batch = oneHotBatch(seed, 90, 6, 8, 8);
    for (let s = 0; s < 8; s++) for (const e of [ref, reset, control]) e.step(batch);
    // Edges whose moments matter: the largest gradients (a dead edge's moments are 0 anyway).
    const g = ref.gradients(batch).weightGradients;
    const byGradient = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!) || a - b);
    const early = byGradient.slice(0, 2);
    const late = byGradient.slice(2, 4);
    for (const e of early) {
      ref.resetEdgeState(e);
      reset.resetEdgeState(e); // caches the views
      control.resetEdgeState(e);
    }
    const before = (reset as unknown as { memoryBytes(): number }).memoryBytes();
    reset.gradients(oneHotBatch(seed + 1, 4096, 6, 8, 8), { activity: true }); // grows the memory
    assert.ok((reset as unknown as { memoryBytes(): number }).memoryBytes() > before, "the big batch should grow the memory");
    for (const e of late) {
      ref.resetEdgeState(e);
      reset.resetEdgeState(e);
    }
    for (const e of [ref, reset, control]) e.step(batch);
    for (const e of [ref, reset, control]) e.pull();
    for (const e of late) {
      const r = ref.network.weights[e]!;
      const w = reset.network.weights[e]!;
      const c = control.network.weights[e]!;
      assert.ok(Math.abs(w - r) <= 1e-5 + 1e-3 * Math.abs(r), `edge ${e}: wasm ${w} vs reference ${r}`);
      assert.ok(Math.abs(c - r) > 3 * (1e-5 + 1e-3 * Math.abs(r)), `edge ${e}: without the reset the weight (${c}) should differ from the reference (${r})`);
    }
  } finally {
    await reset.dispose();
    await control.dispose();
  }
});

test("the exact search's WebAssembly filter loads here (synchronously in Node, or by loadSearchKernels)", async () => {
  const sync = searchKernels();
  const viaPromise = await loadSearchKernels();
  const status = searchKernelStatus();
  assert.ok(status.loaded, `not loaded: ${status.reason}`);
  assert.ok(viaPromise !== undefined && (sync === undefined || sync === viaPromise), "one instance per process");
});

test("push refuses an evaluation order that reads a neuron before it is computed", async () => {
  const net = randomNetwork(31, { neurons: 60, inputs: 10, outputs: 3, inDegree: 3 });
  const wasm = await createWasmEngine(net, { threads: 1 });
  try {
    const reversed = net.order.slice().reverse();
    net.order = reversed;
    assert.throws(() => wasm.push(), /not earlier in the evaluation order/);
  } finally {
    await wasm.dispose();
  }
});

test("a disposed engine refuses work; dispose is idempotent", async () => {
  const net = randomNetwork(5, { neurons: 40, inputs: 8, outputs: 2, inDegree: 3 });
  const wasm = await createWasmEngine(net, { threads: 2 });
  await wasm.dispose();
  await wasm.dispose();
  assert.throws(() => wasm.step(denseBatch(1, 4, 8, 2, "class")), /disposed/);
});
