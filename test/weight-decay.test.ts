/**
 * L2 weight decay (issue 15 item 3, SET's set-up): the update reads g + λ·w for every edge weight
 * and leaves biases alone. Checked against its closed form for plain SGD (one step with decay minus
 * one without is −lr·λ·w, biases equal), and the wasm engine against the reference for SGD with
 * momentum and Adam, with 1 and 2 threads and with clipping.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Network } from "../src/graph/network.js";
import { ReferenceEngine } from "../src/engine/reference/index.js";
import { createEngine } from "../src/engine/create.js";
import type { Batch, OptimizerConfig } from "../src/engine/types.js";
import { Rng } from "../src/util/rng.js";

function net(seed: number): Network {
  return Network.random({ neurons: 90, inputs: 8, outputs: 3, inDegree: 3 }, new Rng(seed));
}

function batch(seed: number, size: number): Batch {
  const rng = new Rng(seed);
  const values = new Float32Array(8 * size).map(() => rng.nextNormal());
  const classes = Int32Array.from({ length: size }, () => rng.nextInt(3));
  return { size, inputs: { kind: "dense", values }, targets: { kind: "class", classes } };
}

test("weight decay, closed form for SGD: w' − w'' = −lr·λ·w for every weight, biases untouched by it", () => {
  const n0 = net(3);
  const b = batch(4, 32);
  const lr = 0.1;
  const wd = 0.01;
  const plain = new ReferenceEngine(n0.clone(), { optimizer: { kind: "sgd", learningRate: lr, momentum: 0 } });
  const decayed = new ReferenceEngine(n0.clone(), { optimizer: { kind: "sgd", learningRate: lr, momentum: 0, weightDecay: wd } });
  plain.step(b);
  decayed.step(b);
  for (let e = 0; e < n0.edges; e++) {
    const expected = -lr * wd * n0.weights[e]!;
    const got = decayed.network.weights[e]! - plain.network.weights[e]!;
    assert.ok(Math.abs(got - expected) <= 1e-6 + 1e-3 * Math.abs(expected), `edge ${e}: ${got} vs ${expected}`);
  }
  assert.deepEqual(Array.from(decayed.network.biases), Array.from(plain.network.biases), "biases are not decayed");
});

test("weight decay: the wasm engine tracks the reference (SGD with momentum, Adam, clipping; 1 and 2 threads)", async () => {
  const configs: OptimizerConfig[] = [
    { kind: "sgd", learningRate: 0.05, momentum: 0.9, weightDecay: 2e-4 },
    { kind: "sgd", learningRate: 0.05, momentum: 0.9, weightDecay: 0.05 },
    { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 },
    { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, clipNorm: 0.5 },
    { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, biasCorrection: "per-parameter" },
  ];
  for (const optimizer of configs) {
    for (const threads of [1, 2]) {
      const n0 = net(11);
      const ref = new ReferenceEngine(n0.clone(), { optimizer });
      const wasm = await createEngine("wasm", n0.clone(), { optimizer, threads });
      const without = new ReferenceEngine(n0.clone(), { optimizer: { ...optimizer, weightDecay: 0 } });
      try {
        const b = batch(12, 128);
        for (let s = 0; s < 20; s++) {
          const lr = ref.step(b);
          const lw = wasm.step(b);
          without.step(b);
          assert.ok(Math.abs(lw - lr) <= 2e-3 * Math.abs(lr) + 1e-6, `${JSON.stringify(optimizer)}, ${threads} thread(s), step ${s + 1}: ${lw} vs ${lr}`);
        }
        wasm.pull();
        let maxDiff = 0;
        let decayEffect = 0;
        for (let e = 0; e < n0.edges; e++) {
          maxDiff = Math.max(maxDiff, Math.abs(wasm.network.weights[e]! - ref.network.weights[e]!));
          decayEffect = Math.max(decayEffect, Math.abs(ref.network.weights[e]! - without.network.weights[e]!));
        }
        assert.ok(maxDiff < 1e-3, `weights agree: max difference ${maxDiff}`);
        assert.ok(decayEffect > 10 * maxDiff, `the decay changes the weights (${decayEffect}) more than the engines differ (${maxDiff})`);
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("weight decay is checked: negative or non-finite values are refused by name", () => {
  assert.throws(() => new ReferenceEngine(net(1), { optimizer: { kind: "sgd", learningRate: 0.1, momentum: 0, weightDecay: -1 } }), /optimizer\.weightDecay.*must be a number ≥ 0/);
});
