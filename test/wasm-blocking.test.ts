/**
 * The wasm engine's cache-blocked backward pull (issue 16; tuning `block`) against the reference
 * engine: a forced small blocking (chunks of 7 rows, consumer blocks of 13 positions, so that every
 * network here has many chunks and blocks) on random DAGs with one-hot and dense inputs, class and
 * value targets, 1 and 2 threads, after a push of rewired edges, and under dropout. Tolerances as in
 * wasm-engine.test.ts (gradients and δ: |wasm − ref| ≤ 1e-5·max|ref| + 1e-3·|ref|; σ 1e-6 / 1e-4; the
 * mean loss 1e-5 relative). Also: blocking really takes another code path (its float32 sums differ
 * from the plain pull's), the automatic choice (on only where no tile fits in L2 and pieces stay long) can be overridden
 * with `block: false`, and invalid sizes are refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { blockSize, createWasmEngine, defaultBlock, defaultTile, noTileFitsInL2 } from "../src/engine/wasm/engine.js";
import type { OptimizerConfig } from "../src/engine/types.js";
import { Network } from "../src/graph/network.js";
import { UsageError } from "../src/util/errors.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, assertLossClose, compareGradients, denseBatch, GRAD_ATOL, GRAD_RTOL, oneHotBatch, randomNetwork } from "./helpers.js";

const SMALL = { rows: 7, span: 13 };
const ADAM: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

test("blocked backward (rows 7, span 13) matches the reference: one-hot inputs, classes, 1 and 2 threads, tiles 16 and 64", async () => {
  for (const seed of [1, 2]) {
    const net = randomNetwork(seed, { neurons: 260, inputs: 6 * 9, outputs: 9, inDegree: 7 });
    for (const i of [80, 120, 200]) net.biases[i] = -50; // dead neurons
    const ref = new ReferenceEngine(net.clone());
    for (const [threads, tile] of [[1, 64], [2, 64], [2, 16]] as const) {
      const wasm = await createWasmEngine(net.clone(), { threads }, { tile, block: SMALL });
      try {
        assert.deepEqual(wasm.block, SMALL);
        for (const size of [1, 17, 130, 300]) {
          compareGradients(wasm, ref, oneHotBatch(seed * 100 + size, size, 6, 9, 9), `seed ${seed}, one-hot, batch ${size}, ${threads} thread(s), tile ${tile}`);
        }
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("blocked backward matches the reference: dense signed inputs, classes and values, other K and D, other block sizes", async () => {
  const cases = [
    { seed: 3, neurons: 150, inputs: 20, outputs: 5, inDegree: 6, block: SMALL },
    { seed: 4, neurons: 400, inputs: 12, outputs: 4, inDegree: 3, block: SMALL },
    { seed: 5, neurons: 97, inputs: 10, outputs: 7, inDegree: 9, block: { rows: 1, span: 1 } },
    { seed: 6, neurons: 300, inputs: 16, outputs: 6, inDegree: 5, block: { rows: 64, span: 5 } },
    { seed: 7, neurons: 120, inputs: 8, outputs: 3, inDegree: 4, block: { rows: 1000, span: 1000 } }, // one chunk
  ];
  for (const c of cases) {
    const net = randomNetwork(c.seed, c);
    net.biases[c.inputs + 10] = -50;
    const ref = new ReferenceEngine(net.clone());
    for (const threads of [1, 2]) {
      const wasm = await createWasmEngine(net.clone(), { threads }, { block: c.block });
      try {
        for (const size of [1, 17, 130]) {
          for (const targets of ["class", "values"] as const) {
            compareGradients(wasm, ref, denseBatch(c.seed * 100 + size, size, c.inputs, c.outputs, targets), `seed ${c.seed}, K ${c.neurons}, D ${c.inDegree}, block ${JSON.stringify(c.block)}, dense, ${targets}, batch ${size}, ${threads} thread(s)`);
          }
        }
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("blocking changes the code path: gradients differ from block: false in the last bits, not beyond the tolerance", async () => {
  const net = randomNetwork(11, { neurons: 500, inputs: 6 * 9, outputs: 9, inDegree: 8 });
  const batch = oneHotBatch(12, 200, 6, 9, 9);
  const blocked = await createWasmEngine(net.clone(), { threads: 1 }, { block: SMALL });
  const plain = await createWasmEngine(net.clone(), { threads: 1 }, { block: false });
  const plainAgain = await createWasmEngine(net.clone(), { threads: 1 });
  try {
    assert.equal(plain.block, false);
    assert.equal(plainAgain.block, false, "no blocking by default at 500 neurons");
    const b = blocked.gradients(batch);
    const p = plain.gradients(batch);
    const p2 = plainAgain.gradients(batch);
    assert.deepEqual(Array.from(p2.weightGradients), Array.from(p.weightGradients), "block: false is the default path here, bit for bit");
    let differ = 0;
    for (let e = 0; e < p.weightGradients.length; e++) if (b.weightGradients[e] !== p.weightGradients[e]) differ++;
    assert.ok(differ > 0, "the blocked pull sums in another order, so some gradient differs in its last bits");
    assertClose(b.weightGradients, p.weightGradients, GRAD_ATOL, GRAD_RTOL, "blocked vs plain weight gradients");
    assertClose(b.biasGradients, p.biasGradients, GRAD_ATOL, GRAD_RTOL, "blocked vs plain bias gradients");
  } finally {
    await blocked.dispose();
    await plain.dispose();
    await plainAgain.dispose();
  }
});

test("blocked backward after a push of rewired edges and under dropout tracks the reference step for step", async () => {
  const seed = 21;
  for (const threads of [1, 2]) {
    const refNet = randomNetwork(seed, { neurons: 200, inputs: 6 * 8, outputs: 8, inDegree: 6 });
    const wasmNet = refNet.clone();
    const dropout = { rate: 0.3, seed: 5 };
    const ref = new ReferenceEngine(refNet, { optimizer: ADAM, dropout });
    const wasm = await createWasmEngine(wasmNet, { optimizer: ADAM, threads, dropout }, { block: SMALL });
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
      refNet.weights.set(wasmNet.weights);
      refNet.biases.set(wasmNet.biases);
      // Rewire some edges to new sources (any lower index keeps the random DAG acyclic) in both networks.
      const rng = new Rng(seed);
      const edited: number[] = [];
      for (let tries = 0; edited.length < 12 && tries < 1000; tries++) {
        const i = refNet.inputs + 30 + rng.nextInt(refNet.neurons - refNet.inputs - 30);
        const e = rng.nextInt(refNet.inDegree);
        const s = rng.nextInt(i);
        const row = refNet.rowOf(i);
        if (refNet.sources.subarray(row, row + refNet.inDegree).includes(s)) continue;
        for (const net of [refNet, wasmNet]) {
          net.sources[row + e] = s;
          net.weights[row + e] = 0.01 * (edited.length + 1);
        }
        edited.push(row + e);
      }
      assert.equal(edited.length, 12);
      refNet.validate();
      wasmNet.validate();
      wasm.push();
      for (const e of edited) {
        ref.resetEdgeState(e);
        wasm.resetEdgeState(e);
      }
      ref.resetTimestep();
      wasm.resetTimestep();
      compareGradients(wasm, ref, batches[0]!, `after the push, ${threads} thread(s)`);
      steps(10, 10, "after the push");
      wasm.pull();
      assertClose(wasmNet.weights, refNet.weights, 1e-3, 1e-2, `${threads} thread(s): weights after the push and 10 more steps`);
    } finally {
      await wasm.dispose();
    }
  }
});

test("blocked layout keeps per-edge state in network order: weights, Adam moments, utility statistics and a restored state match block: false", async () => {
  const net = randomNetwork(31, { neurons: 220, inputs: 6 * 8, outputs: 8, inDegree: 6 });
  const batches = [0, 1].map((i) => oneHotBatch(40 + i, 80, 6, 8, 8));
  const make = (block: { rows: number; span: number } | false) => createWasmEngine(net.clone(), { optimizer: ADAM, threads: 2, utilityStatistics: true }, { block });
  const blocked = await make(SMALL);
  const plain = await make(false);
  try {
    for (let s = 0; s < 6; s++) {
      const lb = blocked.step(batches[s % 2]!);
      const lp = plain.step(batches[s % 2]!);
      assert.ok(Math.abs(lb - lp) <= 1e-4 * lp, `step ${s + 1}: loss blocked ${lb} vs plain ${lp}`);
    }
    blocked.pull();
    plain.pull();
    assertClose(blocked.network.weights, plain.network.weights, 1e-4, 1e-3, "weights");
    const sb = blocked.optimizerState();
    const sp = plain.optimizerState();
    assertClose(sb.weightFirst, sp.weightFirst, 1e-4, 1e-2, "Adam m per edge");
    assertClose(sb.weightSecond, sp.weightSecond, 1e-4, 1e-2, "Adam v per edge");
    const ub = blocked.accumulatedUtility()!;
    const up = plain.accumulatedUtility()!;
    assertClose(ub.firstOrder, up.firstOrder, 1e-4, 1e-2, "utility Σ −w·g per edge");
    // The plain engine's state restored into the blocked one: the next step matches.
    blocked.network.weights.set(plain.network.weights);
    blocked.network.biases.set(plain.network.biases);
    blocked.push();
    blocked.setOptimizerState(sp);
    const lb = blocked.step(batches[0]!);
    const lp = plain.step(batches[0]!);
    assert.ok(Math.abs(lb - lp) <= 1e-5 * lp, `after restoring: loss blocked ${lb} vs plain ${lp}`);
    blocked.pull();
    plain.pull();
    assertClose(blocked.network.weights, plain.network.weights, 1e-5, 1e-3, "weights one step after restoring");
  } finally {
    await blocked.dispose();
    await plain.dispose();
  }
});

test("automatic blocking: on only where no tile fits in L2 and pieces hold an edge or more (d·P/K ≥ 1); sizes from the tile only; block: false selectable", async () => {
  assert.equal(defaultBlock(1700, defaultTile(1700), 29), false);
  assert.equal(defaultBlock(17000, defaultTile(17000), 29), false);
  assert.equal(defaultBlock(20480, defaultTile(20480), 29), false);
  assert.deepEqual(defaultBlock(20481, defaultTile(20481), 29), { rows: 8192, span: 8192 }); // tile 32
  assert.deepEqual(defaultBlock(50000, defaultTile(50000), 29), { rows: 8192, span: 8192 }); // d·P/K = 4.8
  assert.deepEqual(defaultBlock(170000, defaultTile(170000), 29), { rows: 8192, span: 8192 }); // d·P/K = 1.4
  assert.deepEqual(defaultBlock(237568, 32, 29), { rows: 8192, span: 8192 }); // the boundary: 29·8192 = 237,568
  assert.equal(defaultBlock(237569, 32, 29), false);
  assert.equal(defaultBlock(1000000, defaultTile(1000000), 29), false); // 0.24: measured 1.26–1.32× slower blocked
  assert.deepEqual(defaultBlock(170000, 16, 58), { rows: 16384, span: 16384 }); // 5.6
  assert.deepEqual(blockSize(32), { rows: 8192, span: 8192 });
  assert.equal(noTileFitsInL2(20480), false);
  assert.equal(noTileFitsInL2(20481), true);
  // A 30,000-neuron network with in-degree 8 (d·P/K = 2.2): the default blocks, block: false does not,
  // and both give the same gradients within the tolerance.
  const net = randomNetwork(3, { neurons: 30000, inputs: 6 * 9, outputs: 9, inDegree: 8 });
  const batch = oneHotBatch(4, 40, 6, 9, 9);
  const auto = await createWasmEngine(net.clone(), { threads: 1 });
  const plain = await createWasmEngine(net.clone(), { threads: 1 }, { block: false });
  try {
    assert.deepEqual(auto.block, { rows: 8192, span: 8192 });
    assert.deepEqual(auto.block, defaultBlock(30000, auto.tile, 8));
    assert.equal(plain.block, false);
    const a = auto.gradients(batch);
    const p = plain.gradients(batch);
    assertLossClose(a.loss, p.loss, "30,000 neurons, blocked vs plain");
    assertClose(a.weightGradients, p.weightGradients, GRAD_ATOL, GRAD_RTOL, "30,000 neurons: blocked vs plain weight gradients");
    assertClose(a.biasGradients, p.biasGradients, GRAD_ATOL, GRAD_RTOL, "30,000 neurons: blocked vs plain bias gradients");
  } finally {
    await auto.dispose();
    await plain.dispose();
  }
  // In-degree 3 at 30,000 neurons (d·P/K = 0.82): plain by default.
  const sparse = await createWasmEngine(randomNetwork(5, { neurons: 30000, inputs: 6 * 9, outputs: 9, inDegree: 3 }), { threads: 1 });
  try {
    assert.equal(sparse.block, false);
  } finally {
    await sparse.dispose();
  }
});

test("invalid block sizes are refused with a UsageError", async () => {
  const net = Network.random({ neurons: 30, inputs: 5, outputs: 2, inDegree: 2 }, new Rng(1));
  for (const block of [{ rows: 0, span: 4 }, { rows: 4, span: -1 }, { rows: 2.5, span: 4 }, { rows: 4 }, true, null, { rows: Number.NaN, span: 3 }, { rows: 65537, span: 8 }]) {
    await assert.rejects(createWasmEngine(net.clone(), { threads: 1 }, { block: block as never }), (e: unknown) => e instanceof UsageError && /invalid block/.test((e as Error).message), JSON.stringify(block));
  }
});
