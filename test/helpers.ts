/** Shared test helpers: random graphs and batches, seeded, plus comparison with a readable report. */
import assert from "node:assert/strict";
import { Network, type Task } from "../src/graph/network.js";
import type { Batch, Engine, GradientResult } from "../src/engine/types.js";
import { Rng } from "../src/util/rng.js";

export function randomNetwork(seed: number, o: { neurons: number; inputs: number; outputs: number; inDegree: number; task?: Task }): Network {
  const net = Network.random(o, new Rng(seed));
  const rng = new Rng(seed + 1000);
  // Non-zero biases so that ReLU kinks and dead neurons both occur.
  for (let i = o.inputs; i < o.neurons; i++) net.biases[i] = 0.3 * rng.nextNormal();
  return net;
}

/** A one-hot batch like text windows: perSample groups of `symbols` inputs, one active per group. */
export function oneHotBatch(seed: number, size: number, perSample: number, symbols: number, outputs: number): Batch {
  const rng = new Rng(seed);
  const active = new Int32Array(size * perSample);
  const classes = new Int32Array(size);
  for (let b = 0; b < size; b++) {
    for (let p = 0; p < perSample; p++) active[b * perSample + p] = p * symbols + rng.nextInt(symbols);
    classes[b] = rng.nextInt(outputs);
  }
  return { size, inputs: { kind: "one-hot", perSample, active }, targets: { kind: "class", classes } };
}

export function denseBatch(seed: number, size: number, inputs: number, outputs: number, targets: "class" | "values"): Batch {
  const rng = new Rng(seed);
  const values = new Float32Array(inputs * size);
  // Mixed signs: inputs pass through unchanged, so negative values must be handled too.
  for (let p = 0; p < values.length; p++) values[p] = rng.nextNormal();
  if (targets === "class") {
    const classes = new Int32Array(size);
    for (let b = 0; b < size; b++) classes[b] = rng.nextInt(outputs);
    return { size, inputs: { kind: "dense", values }, targets: { kind: "class", classes } };
  }
  const y = new Float32Array(outputs * size);
  for (let p = 0; p < y.length; p++) y[p] = rng.nextNormal();
  return { size, inputs: { kind: "dense", values }, targets: { kind: "values", values: y } };
}

/** Largest |a − b| / (atol + rtol·|b|); ≤ 1 means within tolerance. Returns the worst index too. */
export function worstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): { ratio: number; index: number; a: number; b: number } {
  let worst = { ratio: 0, index: -1, a: 0, b: 0 };
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!));
    if (!(r <= worst.ratio)) worst = { ratio: Number.isNaN(r) ? Infinity : r, index: i, a: a[i]!, b: b[i]! };
  }
  return worst;
}

/** The same network with every row's slots in a random order (as rewiring leaves them). */
export function shuffledSlots(net: Network, seed: number): Network {
  const rng = new Rng(seed);
  const c = net.clone();
  const d = net.inDegree;
  for (let r = 0; r < net.neurons - net.inputs; r++) {
    for (let e = d - 1; e > 0; e--) {
      const f = rng.nextInt(e + 1);
      for (const a of [c.sources, c.weights] as const) {
        const t = a[r * d + e]!;
        a[r * d + e] = a[r * d + f]!;
        a[r * d + f] = t;
      }
    }
  }
  c.validate();
  return c;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Wasm against the reference engine: asserts a ≈ b elementwise with an absolute tolerance scaled by max|b|; names the worst entry. */
export function assertClose(a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined, atol: number, rtol: number, what: string): void {
  assert.ok(a && b, `${what}: missing`);
  const scale = Math.max(maxAbs(b), 1e-30);
  const w = worstMismatch(a, b, atol * scale, rtol);
  assert.ok(w.ratio <= 1, `${what}: worst mismatch at ${w.index}: wasm ${w.a} vs reference ${w.b} (${w.ratio.toFixed(2)}× the tolerance; max|ref| ${scale})`);
}

/** Wasm against the reference engine: a loss within rtol (relative) + 1e-7. */
export function assertLossClose(a: number, b: number, what: string, rtol = 1e-5): void {
  assert.ok(Math.abs(a - b) <= rtol * Math.abs(b) + 1e-7, `${what}: loss wasm ${a} vs reference ${b}`);
}

/** The wasm-vs-reference tolerances of wasm-engine.test.ts: gradients and δ, and σ(a). */
export const GRAD_RTOL = 1e-3;
export const GRAD_ATOL = 1e-5;
export const VALUE_RTOL = 1e-4;
export const VALUE_ATOL = 1e-6;

/**
 * One gradients() call with activity (σ and δ of every neuron) and one without (the one-hot input
 * route), against the reference; returns the call without activity.
 */
export function compareGradients(wasm: Engine, ref: Engine, batch: Batch, label: string): GradientResult {
  const r = ref.gradients(batch, { activity: true });
  const g = wasm.gradients(batch, { activity: true });
  assertLossClose(g.loss, r.loss, label);
  assertClose(g.weightGradients, r.weightGradients, GRAD_ATOL, GRAD_RTOL, `${label}: weight gradients`);
  assertClose(g.biasGradients, r.biasGradients, GRAD_ATOL, GRAD_RTOL, `${label}: bias gradients`);
  assertClose(g.outputs, r.outputs, VALUE_ATOL, VALUE_RTOL, `${label}: σ(a)`);
  assertClose(g.errors, r.errors, GRAD_ATOL, GRAD_RTOL, `${label}: δ`);
  const plain = wasm.gradients(batch);
  assertLossClose(plain.loss, r.loss, `${label} (no activity)`);
  assertClose(plain.weightGradients, r.weightGradients, GRAD_ATOL, GRAD_RTOL, `${label}: weight gradients (no activity)`);
  assertClose(plain.biasGradients, r.biasGradients, GRAD_ATOL, GRAD_RTOL, `${label}: bias gradients (no activity)`);
  return plain;
}
