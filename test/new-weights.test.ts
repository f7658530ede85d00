/**
 * New-edge weights (§4.4, eq. 4.8 and the multi-edge least-squares generalisation): the fitted
 * weights and bias change minimise the change of the neuron's pre-activation over the batch (checked
 * against brute-force grid and random searches that know nothing of least squares), preserve its
 * mean, survive degenerate sources, and do what they promise inside a real network.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Network } from "../src/graph/network.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { Rng } from "../src/util/rng.js";
import { activityFrom, type Activity } from "../src/estimate/activity.js";
import { fitNewWeights, newEdgeWeights, solveDropping, type EdgeSwap } from "../src/rewire/new-weights.js";
import { denseBatch, randomNetwork } from "./helpers.js";

/** Outputs of k neurons over S samples; row i filled by `row(i, b)`. Errors are unused here. */
function activityOf(k: number, S: number, row: (i: number, b: number) => number): Activity {
  const outputs = new Float32Array(k * S);
  for (let i = 0; i < k; i++) for (let b = 0; b < S; b++) outputs[i * S + b] = row(i, b);
  return { neurons: k, inputs: 0, samples: S, outputs, errors: new Float32Array(k * S) };
}

/** Σ_b Δ_b² and Σ_b Δ_b for neuron `target` with new weights `alpha` (per swap into it) and bias change β. */
function change(a: Activity, swaps: EdgeSwap[], target: number, alpha: number[], beta: number): { squares: number; sum: number } {
  const S = a.samples;
  let squares = 0;
  let sum = 0;
  for (let b = 0; b < S; b++) {
    let d = beta;
    let q = 0;
    for (const s of swaps) {
      if (s.target !== target) continue;
      d += alpha[q++]! * a.outputs[s.newSource * S + b]! - s.oldWeight * a.outputs[s.oldSource * S + b]!;
    }
    squares += d * d;
    sum += d;
  }
  return { squares, sum };
}

/** The best β for given α: the mean of the removed minus added contribution (any other β is worse). */
function bestBeta(a: Activity, swaps: EdgeSwap[], target: number, alpha: number[]): number {
  return -change(a, swaps, target, alpha, 0).sum / a.samples;
}

function randomSources(seed: number, k: number, S: number): Activity {
  const rng = new Rng(seed);
  // ReLU-like outputs (non-negative, many zeros) so means are far from 0 and centring matters.
  return activityOf(k, S, () => Math.max(0, 0.5 + rng.nextNormal()));
}

test("one new edge: eq. 4.8 minimises the pre-activation change (grid search) and preserves the mean", () => {
  const S = 50;
  for (let trial = 0; trial < 20; trial++) {
    const a = randomSources(100 + trial, 6, S);
    const swaps: EdgeSwap[] = [{ target: 5, slot: 0, oldSource: 1, oldWeight: 0.3 + trial * 0.1 - 1, newSource: 2 }];
    const fit = fitNewWeights(swaps, a);
    const alpha = fit.weights[0]!;
    const beta = fit.biasChanges.get(5)!;
    // Eq. 4.8 written out directly.
    let um = 0;
    let vm = 0;
    for (let b = 0; b < S; b++) {
      um += a.outputs[2 * S + b]!;
      vm += swaps[0]!.oldWeight * a.outputs[1 * S + b]!;
    }
    um /= S;
    vm /= S;
    let num = 0;
    let den = 0;
    for (let b = 0; b < S; b++) {
      const u = a.outputs[2 * S + b]! - um;
      num += u * (swaps[0]!.oldWeight * a.outputs[1 * S + b]! - vm);
      den += u * u;
    }
    assert.ok(Math.abs(alpha - num / den) <= 1e-12 * Math.abs(num / den) + 1e-15, `α ${alpha} vs eq. 4.8 ${num / den}`);
    assert.ok(Math.abs(beta - (vm - alpha * um)) <= 1e-12, `β ${beta} vs v̄ − α ū ${vm - alpha * um}`);
    const at = change(a, swaps, 5, [alpha], beta);
    assert.ok(Math.abs(at.sum) <= 1e-9, `mean of the change is ${at.sum / S}, not 0`);
    assert.ok(Math.abs(fit.change.get(5)!.fitted - at.squares / S) <= 1e-12 * (1 + at.squares));
    // Grid over (α, β) around the optimum and far away: nothing is better.
    for (let da = -2; da <= 2; da += 0.01) {
      for (const db of [-0.1, -0.001, 0, 0.001, 0.1]) {
        const other = change(a, swaps, 5, [alpha + da], beta + db).squares;
        assert.ok(other >= at.squares * (1 - 1e-12), `α=${alpha + da}, β=${beta + db} gives ${other} < ${at.squares}`);
      }
    }
    assert.ok(at.squares <= change(a, swaps, 5, [0], 0).squares, "better than zero init");
  }
});

test("several new edges into one neuron: the joint least-squares fit beats random search", () => {
  const S = 40;
  const rng = new Rng(7);
  for (const m of [2, 3]) {
    for (let trial = 0; trial < 10; trial++) {
      const a = randomSources(200 + 10 * m + trial, 12, S);
      const swaps: EdgeSwap[] = [];
      for (let c = 0; c < m; c++) swaps.push({ target: 11, slot: c, oldSource: c, oldWeight: rng.nextNormal(), newSource: 5 + c });
      // A second neuron with one swap in the same call: fitted independently.
      swaps.push({ target: 10, slot: 2, oldSource: 3, oldWeight: 0.7, newSource: 9 });
      const fit = fitNewWeights(swaps, a);
      const alpha = Array.from(fit.weights.subarray(0, m));
      const beta = fit.biasChanges.get(11)!;
      const best = change(a, swaps, 11, alpha, beta);
      assert.ok(Math.abs(best.sum) <= 1e-9, "mean preserved");
      assert.ok(Math.abs(beta - bestBeta(a, swaps, 11, alpha)) <= 1e-12);
      // Random search: perturbations of every size, β re-optimised for each (so only α is compared).
      for (let p = 0; p < 3000; p++) {
        const scale = 10 ** (-4 + 5 * rng.nextFloat());
        const other = alpha.map((x) => x + scale * rng.nextNormal());
        const worse = change(a, swaps, 11, other, bestBeta(a, swaps, 11, other)).squares;
        assert.ok(worse >= best.squares * (1 - 1e-12), `m=${m}: ${other} gives ${worse} < ${best.squares}`);
      }
      // Coordinate grid from zero: also never better.
      for (let c = 0; c < m; c++) {
        for (let x = -3; x <= 3; x += 0.05) {
          const other = alpha.slice();
          other[c] = x;
          assert.ok(change(a, swaps, 11, other, bestBeta(a, swaps, 11, other)).squares >= best.squares * (1 - 1e-12));
        }
      }
      // The other neuron got its own eq. 4.8 fit.
      const single = fitNewWeights([swaps[m]!], a);
      assert.ok(Math.abs(single.weights[0]! - fit.weights[m]!) <= 1e-12 * (1 + Math.abs(single.weights[0]!)));
      assert.equal(single.biasChanges.get(10), fit.biasChanges.get(10));
    }
  }
});

test("degenerate sources: zero variance gives α = 0, collinear sources stay finite and optimal", () => {
  const S = 30;
  const rng = new Rng(3);
  // Neuron 0 silent, neuron 1 constant 2.5, neuron 2 random, neuron 3 = 2·neuron 2, neuron 4 random.
  const base = Array.from({ length: S }, () => Math.max(0, rng.nextNormal() + 0.3));
  const other = Array.from({ length: S }, () => rng.nextNormal());
  const a = activityOf(6, S, (i, b) => [0, 2.5, base[b]!, 2 * base[b]!, other[b]!, 0][i]!);
  for (const source of [0, 1]) {
    const swaps: EdgeSwap[] = [{ target: 5, slot: 0, oldSource: 4, oldWeight: 1.3, newSource: source }];
    const fit = fitNewWeights(swaps, a);
    assert.equal(fit.weights[0], 0, `zero-variance source ${source}: α`);
    const beta = fit.biasChanges.get(5)!;
    assert.ok(Number.isFinite(beta));
    let vm = 0;
    for (let b = 0; b < S; b++) vm += 1.3 * a.outputs[4 * S + b]!;
    assert.ok(Math.abs(beta - vm / S) <= 1e-12, "β keeps the mean");
  }
  // Collinear pair (2 and 3 = 2·2) plus a zero-variance one: same residual as the single best fit.
  const swaps: EdgeSwap[] = [
    { target: 5, slot: 0, oldSource: 4, oldWeight: 1.3, newSource: 2 },
    { target: 5, slot: 1, oldSource: 0, oldWeight: 0.4, newSource: 3 },
    { target: 5, slot: 2, oldSource: 1, oldWeight: -0.2, newSource: 1 },
  ];
  const fit = fitNewWeights(swaps, a);
  for (const w of fit.weights) assert.ok(Number.isFinite(w), `weight ${w}`);
  assert.equal(fit.weights[2], 0);
  const alpha = Array.from(fit.weights);
  const got = change(a, swaps, 5, alpha, fit.biasChanges.get(5)!);
  assert.ok(Math.abs(got.sum) <= 1e-9);
  for (let x = -3; x <= 3; x += 0.01) {
    const trial = [x, 0, 0];
    assert.ok(change(a, swaps, 5, trial, bestBeta(a, swaps, 5, trial)).squares >= got.squares * (1 - 1e-9) - 1e-12);
  }
  // All new sources degenerate: weights 0, only the bias moves.
  const allZero = fitNewWeights([{ target: 5, slot: 0, oldSource: 2, oldWeight: 1, newSource: 0 }], a);
  assert.equal(allZero.weights[0], 0);
  assert.ok(Number.isFinite(allZero.biasChanges.get(5)!));
  // The solver alone on an exactly singular system.
  const x = new Float64Array(3);
  solveDropping(Float64Array.from([1, 2, 0, 2, 4, 0, 0, 0, 0]), Float64Array.from([3, 6, 0]), 3, x);
  assert.deepEqual(Array.from(x), [3, 0, 0]);
});

test("zero and random (SET) init; argument checks", () => {
  const net = { neurons: 10, inputs: 2, inDegree: 8 };
  const swaps: EdgeSwap[] = Array.from({ length: 4000 }, (_, q) => ({ target: 2 + (q % 8), slot: Math.floor(q / 8), oldSource: 0, oldWeight: 1, newSource: 1 }));
  const zero = newEdgeWeights("zero", swaps, undefined, net, new Rng(1));
  assert.ok(zero.weights.every((w) => w === 0));
  assert.equal(zero.biasChanges.size, 0);
  const r1 = newEdgeWeights("random", swaps, undefined, net, new Rng(1));
  const r2 = newEdgeWeights("random", swaps, undefined, net, new Rng(1));
  assert.deepEqual(r1.weights, r2.weights, "same seed, same weights");
  let sum = 0;
  let squares = 0;
  for (const w of r1.weights) {
    sum += w;
    squares += w * w;
  }
  const variance = squares / swaps.length - (sum / swaps.length) ** 2;
  assert.ok(Math.abs(variance - 2 / 8) < 0.03, `variance ${variance}, expected He 2/d = 0.25`);
  assert.equal(r1.biasChanges.size, 0);
  assert.throws(() => newEdgeWeights("optimal", swaps.slice(0, 1), undefined, net, new Rng(1)), /per-sample outputs/);
  assert.throws(() => newEdgeWeights("zero", [swaps[0]!, swaps[0]!], undefined, net, new Rng(1)), /swapped twice/);
  assert.throws(() => newEdgeWeights("zero", [{ ...swaps[0]!, target: 1 }], undefined, net, new Rng(1)), /not a non-input/);
});

test("inside a network: the output neuron's logits move by exactly the fitted change, mean preserved", () => {
  const net = randomNetwork(12, { neurons: 60, inputs: 10, outputs: 3, inDegree: 4 });
  const batch = denseBatch(4, 80, 10, 3, "values");
  const engine = new ReferenceEngine(net);
  const activity = activityFrom(net, batch.size, engine.gradients(batch, { activity: true }));
  const before = engine.predict(batch);
  const { inputs: n, inDegree: d } = net;
  const j = net.neurons - 1; // an output neuron: its pre-activation is its logit, and nothing reads it
  const rng = new Rng(5);
  for (const count of [1, 2, 3]) {
    // Swap `count` in-edges of j to other admissible sources (any non-output neuron not already a source).
    const swaps: EdgeSwap[] = [];
    const current = new Set(net.sources.subarray(net.rowOf(j), net.rowOf(j) + d));
    for (let slot = 0; slot < count; slot++) {
      let s = -1;
      while (s < 0 || current.has(s) || s >= net.neurons - net.outputs) s = rng.nextInt(net.neurons);
      current.add(s);
      swaps.push({ target: j, slot, oldSource: net.sources[net.rowOf(j) + slot]!, oldWeight: net.weights[net.rowOf(j) + slot]!, newSource: s });
    }
    for (const rule of ["optimal", "zero"] as const) {
      const fit = newEdgeWeights(rule, swaps, activity, net, rng);
      const sources = net.sources.slice();
      const weights = net.weights.slice();
      const biases = net.biases.slice();
      swaps.forEach((s, q) => {
        sources[net.rowOf(j) + s.slot] = s.newSource;
        weights[net.rowOf(j) + s.slot] = fit.weights[q]!;
      });
      for (const [t, beta] of fit.biasChanges) biases[t] = biases[t]! + beta;
      const edited = Network.fromArrays({ neurons: net.neurons, inputs: n, outputs: net.outputs, inDegree: d, sources, weights, biases });
      const after = new ReferenceEngine(edited).predict(batch);
      const o = (j - (net.neurons - net.outputs)) * batch.size;
      let sum = 0;
      let squares = 0;
      for (let b = 0; b < batch.size; b++) {
        const delta = after[o + b]! - before[o + b]!;
        sum += delta;
        squares += delta * delta;
      }
      if (rule === "optimal") {
        const predicted = fit.change.get(j)!;
        // float32 forward passes: agreement to float32 rounding of logits of size ~1.
        assert.ok(Math.abs(sum / batch.size) <= 1e-5, `${count} edges: mean change ${sum / batch.size}`);
        assert.ok(Math.abs(squares / batch.size - predicted.fitted) <= 1e-5 * (1 + predicted.fitted), `${count} edges: mean squared change ${squares / batch.size} vs fitted ${predicted.fitted}`);
        assert.ok(predicted.fitted <= predicted.zero, "the fit is no worse than zero init");
      } else {
        // Zero init, no bias change: the logit loses exactly the removed contribution v.
        const predicted = newEdgeWeights("optimal", swaps, activity, net, rng).change.get(j)!;
        assert.ok(Math.abs(squares / batch.size - predicted.zero) <= 1e-5 * (1 + predicted.zero));
      }
      // Other outputs are untouched (nothing reads an output neuron).
      for (let p = 0; p < (net.outputs - 1) * batch.size; p++) assert.equal(after[p], before[p]);
    }
  }
});
