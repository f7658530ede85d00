/**
 * The wasm engine's fused multiply-add kernels (WasmTuning `fma`, issue 16 item 2: the kernels built
 * with WebAssembly relaxed SIMD) against the reference engine, with the tolerances of
 * wasm-engine.test.ts: one-hot and dense inputs, class and value targets, 1 and 2 threads, the plain
 * and the blocked backward pull, training steps with Adam. Also: they really are other kernels (their
 * float32 results differ from the plain build's in the last bits), they are deterministic, and a
 * runtime without relaxed SIMD gets a one-line error that says what to do.
 *
 * Node 20 has relaxed SIMD only behind a V8 flag, which this file sets for its own process (node
 * --test runs every file in a process of its own); Node 22+ and Chromium have it anyway.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { setFlagsFromString } from "node:v8";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createWasmEngine, relaxedSimdSupported } from "../src/engine/wasm/engine.js";
import type { OptimizerConfig } from "../src/engine/types.js";
import { assertClose, compareGradients, denseBatch, GRAD_ATOL, GRAD_RTOL, oneHotBatch, randomNetwork } from "./helpers.js";

const ADAM: OptimizerConfig = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const SMALL = { rows: 7, span: 13 };

// Before any module is compiled: V8 reads the flag when it validates and compiles.
const hadRelaxedSimd = relaxedSimdSupported();
setFlagsFromString("--experimental-wasm-relaxed-simd");

test("this runtime has relaxed SIMD once the flag is set (else every test below would fail, not skip)", () => {
  assert.ok(relaxedSimdSupported(), `relaxed SIMD unavailable even with --experimental-wasm-relaxed-simd (node ${process.version})`);
});

test("fma kernels match the reference: one-hot inputs, plain and blocked pull, 1 and 2 threads", async () => {
  for (const seed of [1, 2]) {
    const net = randomNetwork(seed, { neurons: 260, inputs: 6 * 9, outputs: 9, inDegree: 7 });
    for (const i of [80, 120, 200]) net.biases[i] = -50; // dead neurons
    const ref = new ReferenceEngine(net.clone());
    for (const threads of [1, 2]) {
      for (const block of [false, SMALL] as const) {
        const wasm = await createWasmEngine(net.clone(), { threads }, { fma: true, block });
        try {
          for (const size of [1, 17, 130, 300]) {
            compareGradients(wasm, ref, oneHotBatch(seed * 100 + size, size, 6, 9, 9), `fma, seed ${seed}, one-hot, batch ${size}, ${threads} thread(s), block ${JSON.stringify(block)}`);
          }
        } finally {
          await wasm.dispose();
        }
      }
    }
  }
});

test("fma kernels match the reference: dense signed inputs, classes and values, odd in-degrees (the forward gather's single-edge tail)", async () => {
  for (const c of [
    { seed: 3, neurons: 150, inputs: 20, outputs: 5, inDegree: 5 },
    { seed: 4, neurons: 97, inputs: 10, outputs: 7, inDegree: 9 },
  ]) {
    const net = randomNetwork(c.seed, c);
    const ref = new ReferenceEngine(net.clone());
    for (const threads of [1, 2]) {
      const wasm = await createWasmEngine(net.clone(), { threads }, { fma: true });
      try {
        for (const size of [1, 17, 130]) {
          for (const targets of ["class", "values"] as const) {
            compareGradients(wasm, ref, denseBatch(c.seed * 100 + size, size, c.inputs, c.outputs, targets), `fma, K ${c.neurons}, D ${c.inDegree}, dense, ${targets}, batch ${size}, ${threads} thread(s)`);
          }
        }
      } finally {
        await wasm.dispose();
      }
    }
  }
});

test("fma kernels are other kernels (last bits differ from the plain build), deterministic, and train like the reference", async () => {
  const net = randomNetwork(11, { neurons: 400, inputs: 6 * 9, outputs: 9, inDegree: 8 });
  const batches = [0, 1, 2].map((i) => oneHotBatch(12 + i, 200, 6, 9, 9));
  const fma = await createWasmEngine(net.clone(), { threads: 2, optimizer: ADAM }, { fma: true });
  const fmaAgain = await createWasmEngine(net.clone(), { threads: 2, optimizer: ADAM }, { fma: true });
  const plain = await createWasmEngine(net.clone(), { threads: 2, optimizer: ADAM });
  const ref = new ReferenceEngine(net.clone(), { optimizer: ADAM });
  try {
    const f = fma.gradients(batches[0]!);
    const p = plain.gradients(batches[0]!);
    let differ = 0;
    for (let e = 0; e < p.weightGradients.length; e++) if (f.weightGradients[e] !== p.weightGradients[e]) differ++;
    assert.ok(differ > 0, "fused multiply-adds round once, so some gradient differs from the plain build's in its last bits");
    assertClose(f.weightGradients, p.weightGradients, GRAD_ATOL, GRAD_RTOL, "fma vs plain weight gradients");
    for (let s = 0; s < 12; s++) {
      const b = batches[s % 3]!;
      const lf = fma.step(b);
      const lf2 = fmaAgain.step(b);
      const lr = ref.step(b);
      assert.equal(lf, lf2, `step ${s + 1}: two fma engines on the same network and batches give the same loss, bit for bit`);
      assert.ok(Math.abs(lf - lr) <= 2e-3 * lr, `step ${s + 1}: loss fma ${lf} vs reference ${lr}`);
    }
    fma.pull();
    fmaAgain.pull();
    assert.deepEqual(Array.from(fma.network.weights), Array.from(fmaAgain.network.weights), "same weights after 12 steps, bit for bit");
    assertClose(fma.network.weights, ref.network.weights, 1e-3, 1e-2, "weights after 12 steps: fma vs reference");
  } finally {
    await fma.dispose();
    await fmaAgain.dispose();
    await plain.dispose();
  }
});

test("without relaxed SIMD, fma: true is refused in one line that names the fix; an fma that is not a boolean is a UsageError", async () => {
  // A fresh process without the flag: on Node 20 relaxed SIMD is off there (the refusal); a runtime
  // that has it by default must create the engine instead.
  const script = `
    const { createWasmEngine, relaxedSimdSupported } = await import(${JSON.stringify(new URL("../src/engine/wasm/engine.js", import.meta.url).href)});
    const { Network } = await import(${JSON.stringify(new URL("../src/graph/network.js", import.meta.url).href)});
    const { Rng } = await import(${JSON.stringify(new URL("../src/util/rng.js", import.meta.url).href)});
    const net = Network.random({ neurons: 30, inputs: 5, outputs: 2, inDegree: 2 }, new Rng(1));
    const supported = relaxedSimdSupported();
    try {
      const e = await createWasmEngine(net, { threads: 1 }, { fma: true });
      await e.dispose();
      console.log(JSON.stringify({ supported, created: true }));
    } catch (err) {
      console.log(JSON.stringify({ supported, created: false, message: err.message, hint: err.hint }));
    }`;
  const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim()) as { supported: boolean; created: boolean; message?: string; hint?: string };
  assert.equal(out.supported, hadRelaxedSimd, "a fresh process sees what this one saw before setting the flag");
  if (out.supported) {
    assert.equal(out.created, true, "a runtime with relaxed SIMD creates the fma engine");
  } else {
    assert.equal(out.created, false);
    assert.match(out.message!, /fused multiply-add \(fma\) needs WebAssembly relaxed SIMD/);
    assert.ok(!out.message!.includes("\n"), "one line");
    assert.match(out.hint!, /--experimental-wasm-relaxed-simd/);
  }
  const net = randomNetwork(1, { neurons: 30, inputs: 5, outputs: 2, inDegree: 2 });
  await assert.rejects(createWasmEngine(net, { threads: 1 }, { fma: "yes" as never }), /invalid fma "yes": must be true or false/);
});
