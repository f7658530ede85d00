/**
 * Candidate search (§4.3): correlation (Def. 4.6) against a direct float64 computation, the inner
 * product against the reference engine's gradient of a zero-weight edge, the exact top-k search
 * against brute force with a DFS admissibility written here, the recall of the approximate (LSH)
 * search against the exact one on random data and on a trained network, above stated bounds; the
 * WebAssembly filters (assembly/search.ts) against the plain TypeScript kernels on random data —
 * bit for bit, since the filter only decides which pairs are rescored exactly — and the order-based
 * admissibility (one pass per block of targets, TypeScript and WebAssembly) against online-order;
 * the gradient criterion's norm-bounded scan reading block words against the same scan by pair tests.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Network } from "../src/graph/network.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createEngine } from "../src/engine/create.js";
import type { Batch } from "../src/engine/types.js";
import { bundledCorpusPath, readTextCorpus } from "../src/data/files.js";
import { makeSampler, textShape, textTask, TextBatch } from "../src/train/text.js";
import { Rng } from "../src/util/rng.js";
import {
  correlation,
  innerProduct,
  PairAccumulator,
} from "../src/rewire/correlation.js";
import { activityFrom, stackActivity, subBatch, type Activity } from "../src/estimate/activity.js";
import { exactSearch } from "../src/rewire/exact-search.js";
import { recallOf, type GrowthCriterion, type SearchOptions, type SearchResult } from "../src/rewire/collector.js";
import { fillBlockWords, levelAdmissibility, maskAdmissibility, orderAdmissibility, type Admissibility } from "../src/graph/admissibility.js";
import { descendantWordsKernel } from "../src/engine/search-kernel.js";
import { approximateSearch, type ApproximateSearchOptions } from "../src/rewire/approximate-search.js";
import { OnlineOrder } from "../src/graph/online-order.js";
import { searchKernels, searchKernelStatus } from "../src/engine/wasm/search-kernels.js";
import { denseBatch, oneHotBatch, randomNetwork } from "./helpers.js";

/**
 * Random activity shaped like a text network's: one-hot inputs (groups of 27, one active per sample),
 * ReLU(N(0,1)) hidden outputs with some always-silent and some rarely active neurons, N(0,1)/S errors
 * with some error-free neurons. Exercises both the dense and the sparse source paths.
 */
function randomActivity(seed: number, k: number, n: number, S: number): Activity {
  const rng = new Rng(seed);
  const outputs = new Float32Array(k * S);
  const errors = new Float32Array(k * S);
  for (let b = 0; b < S; b++) {
    for (let g = 0; g * 27 < n; g++) outputs[(g * 27 + rng.nextInt(Math.min(27, n - g * 27))) * S + b] = 1;
  }
  for (let i = n; i < k; i++) {
    const kind = rng.nextInt(10); // 0: silent, 1: rarely active, else ReLU(N)
    for (let b = 0; b < S; b++) {
      const v = kind === 1 ? rng.nextNormal() - 1.8 : rng.nextNormal();
      outputs[i * S + b] = kind === 0 || v < 0 ? 0 : v;
      errors[i * S + b] = i % 13 === 0 ? 0 : rng.nextNormal() / S;
    }
  }
  return { neurons: k, inputs: n, samples: S, outputs, errors };
}

/** Does `from` reach `to` (from ≠ to)? DFS over the sources of `to`, backwards. */
function reaches(net: Network, from: number, to: number): boolean {
  const { inputs: n, inDegree: d, sources } = net;
  const seen = new Uint8Array(net.neurons);
  const stack = [to];
  while (stack.length > 0) {
    const w = stack.pop()!;
    if (w < n) continue;
    for (let e = 0; e < d; e++) {
      const s = sources[(w - n) * d + e]!;
      if (s === from) return true;
      if (!seen[s]) {
        seen[s] = 1;
        stack.push(s);
      }
    }
  }
  return false;
}

/** Brute-force admissibility (§4.5): not into an input, no self-loop, no duplicate, no cycle. */
function admissibleBrute(net: Network, i: number, j: number): boolean {
  if (j < net.inputs || i === j) return false;
  for (let e = 0; e < net.inDegree; e++) if (net.sources[net.rowOf(j) + e] === i) return false;
  return !reaches(net, j, i);
}

function dfsAdmissibility(net: Network): Admissibility {
  return maskAdmissibility((j, into) => {
    for (let i = 0; i < net.neurons; i++) into[i] = admissibleBrute(net, i, j) ? 1 : 0;
  });
}

/** Brute-force search: every admissible pair, scored by the plain definitions, sorted. */
function bruteSearch(a: Activity, admits: (i: number, j: number) => boolean, criterion: GrowthCriterion, top: number, perTarget: number, minScore = 0, targets?: number[]) {
  const pairs: { i: number; j: number; inner: number; corr: number; score: number }[] = [];
  const js = targets ?? Array.from({ length: a.neurons - a.inputs }, (_, q) => a.inputs + q);
  for (const j of js) {
    for (let i = 0; i < a.neurons; i++) {
      if (!admits(i, j)) continue;
      const inner = innerProduct(a, i, j);
      const corr = correlation(a, i, j);
      const score = criterion === "correlation" ? Math.abs(corr) : Math.abs(inner);
      // Pairs with a silent source or an error-free target have no correlation: never candidates.
      if (innerProduct({ ...a, errors: a.outputs }, i, i) > 0 && innerProduct({ ...a, outputs: a.errors }, j, j) > 0 && score >= minScore) pairs.push({ i, j, inner, corr, score });
    }
  }
  pairs.sort((p, q) => q.score - p.score || p.i - q.i || p.j - q.j);
  const best = new Map<number, typeof pairs>();
  for (const p of pairs) {
    const list = best.get(p.j) ?? [];
    if (list.length < perTarget) list.push(p);
    best.set(p.j, list);
  }
  return { top: pairs.slice(0, top), best };
}

function assertMatchesBrute(label: string, got: SearchResult, brute: ReturnType<typeof bruteSearch>, perTarget: number, k: number): void {
  assert.equal(got.top.count, brute.top.length, `${label}: number of top pairs`);
  for (let r = 0; r < brute.top.length; r++) {
    const p = brute.top[r]!;
    const where = `${label}: top pair ${r}`;
    assert.equal(got.top.sources[r], p.i, `${where} source`);
    assert.equal(got.top.targets[r], p.j, `${where} target`);
    assert.ok(Math.abs(got.top.inner[r]! - p.inner) <= 1e-12 * Math.abs(p.inner) + 1e-300, `${where} inner ${got.top.inner[r]} vs ${p.inner}`);
    assert.ok(Math.abs(got.top.correlation[r]! - p.corr) <= 1e-12, `${where} correlation ${got.top.correlation[r]} vs ${p.corr}`);
  }
  for (let j = 0; j < k; j++) {
    const list = brute.best.get(j) ?? [];
    for (let c = 0; c < perTarget; c++) {
      const s = got.perTarget.sources[j * perTarget + c]!;
      if (c >= list.length) {
        assert.equal(s, -1, `${label}: target ${j} candidate ${c} should be empty`);
        continue;
      }
      assert.equal(s, list[c]!.i, `${label}: target ${j} candidate ${c}`);
      assert.ok(Math.abs(got.perTarget.correlation[j * perTarget + c]! - list[c]!.corr) <= 1e-12);
    }
  }
}

test("correlation and inner product equal a direct float64 computation; batches accumulate", () => {
  const k = 120;
  const n = 30;
  const a = randomActivity(3, k, n, 37);
  const b = randomActivity(4, k, n, 21);
  const direct = (acts: Activity[], i: number, j: number) => {
    let dot = 0;
    let xx = 0;
    let ee = 0;
    for (const act of acts) {
      for (let s = 0; s < act.samples; s++) {
        const x = act.outputs[i * act.samples + s]!;
        const e = act.errors[j * act.samples + s]!;
        dot += x * e;
        xx += x * x;
        ee += e * e;
      }
    }
    return { dot, corr: xx > 0 && ee > 0 ? dot / Math.sqrt(xx * ee) : 0 };
  };
  const stacked = stackActivity([a, b]);
  assert.equal(stacked.samples, 58);
  const rng = new Rng(9);
  const si: number[] = [];
  const sj: number[] = [];
  for (let p = 0; p < 300; p++) {
    si.push(rng.nextInt(k));
    sj.push(n + rng.nextInt(k - n));
  }
  const acc = new PairAccumulator(si, sj);
  acc.add(a);
  acc.add(b);
  let nonzero = 0;
  for (let p = 0; p < si.length; p++) {
    const i = si[p]!;
    const j = sj[p]!;
    const one = direct([a], i, j);
    assert.ok(Math.abs(innerProduct(a, i, j) - one.dot) <= 1e-15 + 1e-12 * Math.abs(one.dot), `inner ${i} → ${j}`);
    assert.ok(Math.abs(correlation(a, i, j) - one.corr) <= 1e-12, `corr ${i} → ${j}`);
    assert.ok(Math.abs(correlation(a, i, j)) <= 1 + 1e-12);
    const two = direct([a, b], i, j);
    assert.ok(Math.abs(correlation(stacked, i, j) - two.corr) <= 1e-12, `stacked corr ${i} → ${j}`);
    assert.ok(Math.abs(acc.correlation(p) - two.corr) <= 1e-12, `accumulated corr ${i} → ${j}`);
    assert.ok(Math.abs(acc.inner[p]! - two.dot) <= 1e-15 + 1e-12 * Math.abs(two.dot));
    if (one.corr !== 0) nonzero++;
  }
  assert.ok(nonzero > 200, `only ${nonzero} non-zero correlations: the test data is degenerate`);
  // Silent neurons and error-free neurons correlate with nothing (0, not NaN).
  let silent = -1;
  for (let i = n; i < k && silent < 0; i++) if (a.outputs.subarray(i * 37, (i + 1) * 37).every((v) => v === 0)) silent = i;
  assert.ok(silent >= 0);
  assert.equal(correlation(a, silent, n + 5), 0);
  assert.equal(correlation(a, 5, 13 * 5), 0); // neuron 65 has δ = 0
  const sb = subBatch(a, 10, 5);
  assert.equal(sb.samples, 10);
  assert.equal(sb.outputs[3 * 10 + 2], a.outputs[3 * 37 + 7]);
});

test("⟨σ(a_i), δ_j⟩ is the reference engine's gradient of a zero-weight edge i → j", () => {
  for (const [label, kind] of [["one-hot inputs", "one-hot"], ["dense inputs", "dense"]] as const) {
    const shape = kind === "one-hot" ? { neurons: 160, inputs: 5 * 27, outputs: 7, inDegree: 6 } : { neurons: 90, inputs: 12, outputs: 4, inDegree: 5 };
    const base = randomNetwork(21, shape);
    const batch: Batch = kind === "one-hot" ? oneHotBatch(5, 64, 5, 27, 7) : denseBatch(5, 64, 12, 4, "values");
    const { inputs: n, inDegree: d } = base;
    const rng = new Rng(77);
    let checked = 0;
    let inputSources = 0;
    for (let trial = 0; trial < 40; trial++) {
      const j = n + rng.nextInt(base.neurons - n);
      const slot = rng.nextInt(d);
      // Silence the edge in the slot (weight 0): the function no longer depends on it.
      const net = base.clone();
      net.weights[net.rowOf(j) + slot] = 0;
      const engine = new ReferenceEngine(net);
      const activity = activityFrom(net, batch.size, engine.gradients(batch, { activity: true }));
      // Re-point the silent slot to another admissible source i (weight still 0: same function).
      let i = -1;
      for (let tries = 0; tries < 200 && i < 0; tries++) {
        const c = rng.nextInt(net.neurons);
        if (admissibleBrute(net, c, j)) i = c;
      }
      if (i < 0) continue;
      const sources = net.sources.slice();
      sources[net.rowOf(j) + slot] = i;
      const edited = Network.fromArrays({ ...net, sources, weights: net.weights.slice(), biases: net.biases.slice() });
      const g = new ReferenceEngine(edited).gradients(batch);
      const engineGradient = g.weightGradients[edited.rowOf(j) + slot]!;
      const ours = innerProduct(activity, i, j);
      // Both are ∂(mean loss)/∂w (δ already carries 1/B); float32 sums over 64 samples.
      let scale = 0;
      for (let p = 0; p < g.weightGradients.length; p++) scale = Math.max(scale, Math.abs(g.weightGradients[p]!));
      assert.ok(Math.abs(ours - engineGradient) <= 1e-5 * scale + 1e-4 * Math.abs(engineGradient), `${label}: ${i} → ${j}: ${ours} vs engine ${engineGradient}`);
      checked++;
      if (i < n) inputSources++;
    }
    assert.ok(checked >= 30, `${label}: only ${checked} pairs checked`);
    assert.ok(inputSources > 0 && inputSources < checked, `${label}: sources should mix inputs and hidden neurons (${inputSources}/${checked})`);
  }
});

test("exact top-k search equals brute force, with DFS and level admissibility", () => {
  const net = randomNetwork(8, { neurons: 130, inputs: 2 * 27, outputs: 5, inDegree: 4 });
  const k = net.neurons;
  for (const S of [1, 7, 33]) {
    const a = randomActivity(10 + S, k, net.inputs, S);
    const dfs = dfsAdmissibility(net);
    const level = levelAdmissibility(net);
    const order = orderAdmissibility(net, { descendants: descendantWordsKernel });
    const dfsAdmits = (i: number, j: number) => admissibleBrute(net, i, j);
    const levelAdmits = (i: number, j: number) => level.admits!(i, j);
    for (const criterion of ["correlation", "gradient"] as const) {
      for (const [name, adm, admits] of [["dfs", dfs, dfsAdmits], ["level", level, levelAdmits], ["order", order, dfsAdmits]] as const) {
        const label = `S=${S}, ${criterion}, ${name}`;
        const got = exactSearch(a, { criterion, top: 50, perTarget: 3, admissibility: adm });
        const brute = bruteSearch(a, admits, criterion, 50, 3);
        assertMatchesBrute(label, got, brute, 3, k);
        // With one-bit keys every source shares a bucket with +δ or −δ: the approximate search then
        // scores every admissible pair exactly once (no duplicates from the heavy and norm-bounded
        // passes either) and must equal brute force too.
        const all = approximateSearch(a, { criterion, top: 50, perTarget: 3, admissibility: adm, tables: 1, bits: 1, probes: 0, budget: Infinity, heavy: 7 });
        assertMatchesBrute(`${label}, LSH with 1-bit keys`, all, brute, 3, k);
        if (name === "dfs") {
          let admissible = 0;
          for (let j = net.inputs; j < k; j++) {
            if (innerProduct({ ...a, outputs: a.errors }, j, j) === 0) continue; // error-free targets are not searched
            for (let i = 0; i < k; i++) if (dfsAdmits(i, j)) admissible++;
          }
          assert.equal(got.stats.admissiblePairs, admissible, `${label}: admissible pairs`);
        }
      }
      // A threshold and a subset of targets.
      const targets = [k - 1, net.inputs, 90, 100];
      const thr = criterion === "correlation" ? 0.3 : 0.02 / S;
      const got = exactSearch(a, { criterion, top: 1000, perTarget: 2, admissibility: dfs, targets, minScore: thr });
      assertMatchesBrute(`S=${S}, ${criterion}, threshold`, got, bruteSearch(a, dfsAdmits, criterion, 1000, 2, thr, targets), 2, k);
    }
  }
  // The level rule never admits a cycle or duplicate and contains the evaluation-order rule.
  const level = levelAdmissibility(net);
  const pos = new Int32Array(k).fill(-1);
  net.order.forEach((j, r) => (pos[j] = r));
  let levelCount = 0;
  let orderCount = 0;
  let dfsCount = 0;
  for (let j = net.inputs; j < k; j++) {
    for (let i = 0; i < k; i++) {
      const l = level.admits!(i, j);
      const dfs = admissibleBrute(net, i, j);
      const orderRule = i !== j && pos[i]! < pos[j]! && !net.sources.subarray(net.rowOf(j), net.rowOf(j) + net.inDegree).includes(i);
      if (l) assert.ok(dfs, `level rule admits ${i} → ${j}, which closes a cycle or duplicates an edge`);
      if (orderRule) assert.ok(l, `level rule misses ${i} → ${j}, which the order rule admits`);
      levelCount += +l;
      orderCount += +orderRule;
      dfsCount += +dfs;
    }
  }
  assert.ok(orderCount <= levelCount && levelCount <= dfsCount);
  const mask = new Uint8Array(k);
  for (let j = net.inputs; j < k; j++) {
    mask.fill(0);
    level.fill(j, mask);
    for (let i = 0; i < k; i++) assert.equal(mask[i] === 1, level.admits!(i, j), `fill and admits disagree on ${i} → ${j}`);
  }
});

/**
 * Recall bounds of the approximate search with its default settings (approximate-search.ts DEFAULTS, seed 1),
 * measured against the exact search on the same data (K = 100, one candidate per target):
 * topK = share of the exact top-100 pairs found; perTarget = share of targets whose exact best
 * source is also the approximate best; scoreRatio = mean approximate/exact best score per target.
 * Measured when written: random k=3000 correlation 0.69 / 0.66 / 0.973, gradient 0.85 / 0.64 / 0.963;
 * trained k=1700 correlation 1.0 / 0.90 / 0.989, gradient 1.0 / 0.91 / 0.986. Random data is the
 * hard case (its best correlations are barely above the bulk; recall falls as k grows, see the
 * issue-4 report); a trained network's strong correlations and skewed norms are easy.
 */
const RECALL_BOUNDS = {
  random: { correlation: { topK: 0.6, perTarget: 0.55, scoreRatio: 0.95 }, gradient: { topK: 0.75, perTarget: 0.55, scoreRatio: 0.93 } },
  trained: { correlation: { topK: 0.95, perTarget: 0.8, scoreRatio: 0.97 }, gradient: { topK: 0.95, perTarget: 0.75, scoreRatio: 0.95 } },
};

function checkRecall(label: string, a: Activity, adm: Admissibility, bounds: (typeof RECALL_BOUNDS)["random"], note: (message: string) => void): void {
  for (const criterion of ["correlation", "gradient"] as const) {
    const opts = { criterion, top: 100, perTarget: 1, admissibility: adm };
    const exact = exactSearch(a, opts);
    const approx = approximateSearch(a, opts);
    const r = recallOf(exact, approx);
    const msg = `${label}, ${criterion}: recall@100 ${r.topK.toFixed(3)}, per-target ${r.perTarget.toFixed(3)}, score ratio ${r.scoreRatio.toFixed(3)}; scored ${approx.stats.pairsScored} of ${exact.stats.pairsScored} pairs; ${approx.stats.seconds.toFixed(3)} s vs exact ${exact.stats.seconds.toFixed(3)} s`;
    note(msg);
    const b = bounds[criterion];
    assert.ok(r.topK >= b.topK && r.perTarget >= b.perTarget && r.scoreRatio >= b.scoreRatio, msg);
    // Found pairs carry exact values: every approximate candidate is a true admissible pair.
    for (let q = 0; q < approx.top.count; q++) {
      const i = approx.top.sources[q]!;
      const j = approx.top.targets[q]!;
      assert.equal(approx.top.inner[q], innerProduct(a, i, j));
      assert.ok(adm.admits!(i, j));
    }
    // Sub-quadratic work: far fewer pairs scored than the exact search.
    assert.ok(approx.stats.pairsScored < exact.stats.pairsScored, msg);
  }
}

test("approximate search (LSH) recall on random activity is above the stated bound", (t) => {
  const k = 3000;
  const a = randomActivity(31, k, 540, 128);
  // Index rank as the topological rank: sources before targets.
  const rank = new Int32Array(k);
  for (let i = 0; i < k; i++) rank[i] = i < 540 ? 0 : i;
  const adm = maskAdmissibility((j, into) => into.fill(1, 0, j), { admits: (i, j) => j >= 540 && i < j, rank });
  checkRecall("random k=3000 S=128", a, adm, RECALL_BOUNDS.random, (m) => t.diagnostic(m));
});

test("approximate search (LSH) recall on a trained network is above the stated bound", async (t) => {
  // The thesis network (§4.6: 1,700 neurons, 20 symbols of context, in-degree 29), briefly trained.
  const context = 20;
  const { inputs, outputs } = textShape(context);
  const net = Network.random({ neurons: 1700, inputs, outputs, inDegree: 29, task: textTask(context) }, new Rng(4));
  const corpus = await readTextCorpus(bundledCorpusPath());
  const sampler = makeSampler(corpus.symbols, context, new Rng(5));
  const holder = new TextBatch(256, context);
  const engine = await createEngine("wasm", net, { optimizer: { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } });
  try {
    for (let step = 0; step < 400; step++) engine.step(holder.sample(sampler));
    const batch = holder.sample(sampler);
    const g = engine.gradients(batch, { activity: true });
    engine.pull();
    const a = subBatch(activityFrom(net, batch.size, g), 128);
    checkRecall("trained k=1700 S=128", a, levelAdmissibility(net), RECALL_BOUNDS.trained, (m) => t.diagnostic(m));
  } finally {
    await engine.dispose();
  }
});

// ---- the WebAssembly filters against the plain kernels, and the order-based admissibility ----

/** Every field of two search results, bit for bit (Object.is: −0 ≠ +0, NaN = NaN). */
function assertSameResult(label: string, a: SearchResult, b: SearchResult): void {
  assert.equal(a.top.count, b.top.count, `${label}: top count`);
  for (const f of ["sources", "targets", "inner", "correlation", "score"] as const) {
    for (let r = 0; r < a.top.count; r++) assert.ok(Object.is(a.top[f][r], b.top[f][r]), `${label}: top ${f}[${r}] ${a.top[f][r]} vs ${b.top[f][r]}`);
  }
  assert.equal(a.perTarget.perTarget, b.perTarget.perTarget);
  for (const f of ["sources", "inner", "correlation", "score"] as const) {
    const x = a.perTarget[f];
    const y = b.perTarget[f];
    assert.equal(x.length, y.length);
    for (let r = 0; r < x.length; r++) assert.ok(Object.is(x[r], y[r]), `${label}: perTarget ${f}[${r}] ${x[r]} vs ${y[r]}`);
  }
}

/**
 * Random activity with the awkward cases a float32 filter could get wrong: exact ties (duplicated
 * rows), values whose float32 products overflow (1e25·1e25) or underflow (1e-25·1e-25), NaN, and
 * errors of very different scales; plus the usual one-hot inputs and silent/rare ReLUs.
 */
function awkwardActivity(seed: number, k: number, n: number, S: number): Activity {
  const a = randomActivity(seed, k, n, S);
  const rng = new Rng(seed + 1000);
  const { outputs, errors } = a;
  const row = (i: number) => i * S;
  for (let q = 0; q < 6; q++) {
    const i = n + rng.nextInt(k - n);
    const j = n + rng.nextInt(k - n);
    outputs.copyWithin(row(i), row(j), row(j) + S); // exact ties between sources
    errors.copyWithin(row(n + rng.nextInt(k - n)), row(j), row(j) + S); // and between targets
  }
  const huge = n + rng.nextInt(k - n);
  for (let b = 0; b < S; b++) outputs[row(huge) + b] = 1e25 * (1 + (b % 3));
  const hugeError = n + rng.nextInt(k - n);
  for (let b = 0; b < S; b++) errors[row(hugeError) + b] = b % 2 ? 1e25 : -2e25;
  const tiny = n + rng.nextInt(k - n);
  for (let b = 0; b < S; b++) outputs[row(tiny) + b] = 1e-25 * (b % 4);
  const tinyError = n + rng.nextInt(k - n);
  for (let b = 0; b < S; b++) errors[row(tinyError) + b] = b % 3 ? 1e-25 : -3e-25;
  const scaled = n + rng.nextInt(k - n);
  for (let b = 0; b < S; b++) errors[row(scaled) + b]! *= 1e6;
  if (S > 2) {
    outputs[row(n + rng.nextInt(k - n)) + 1] = NaN;
    errors[row(n + rng.nextInt(k - n)) + 2] = NaN;
  }
  return a;
}

function kernelLoaded(t: { skip(message?: string): void }): boolean {
  searchKernels();
  const status = searchKernelStatus();
  if (!status.loaded) t.skip(`the WebAssembly search module is not loaded: ${status.reason ?? "?"}`);
  return status.loaded;
}

test("exact search: the WebAssembly filter gives the plain kernel's result bit for bit (random data, seeds printed)", (t) => {
  if (!kernelLoaded(t)) return;
  const shapes = [
    { neurons: 130, inputs: 54, S: 1 },
    { neurons: 130, inputs: 54, S: 7 },
    { neurons: 400, inputs: 135, S: 33 },
    { neurons: 700, inputs: 540, S: 64 },
    { neurons: 1100, inputs: 540, S: 256 },
  ];
  let compared = 0;
  let rescoredAll = 0;
  let scoredAll = 0;
  for (const [index, shape] of shapes.entries()) {
    const seed = 100 + index;
    const net = randomNetwork(seed, { neurons: shape.neurons, inputs: shape.inputs, outputs: 5, inDegree: 6 });
    const activities: [string, Activity][] = [
      ["random", randomActivity(seed, shape.neurons, shape.inputs, shape.S)],
      ["awkward", awkwardActivity(seed, shape.neurons, shape.inputs, shape.S)],
    ];
    const admissibilities: [string, Admissibility][] = [["order", orderAdmissibility(net, { descendants: descendantWordsKernel })], ["level", levelAdmissibility(net)]];
    for (const [dataName, a] of activities) {
      for (const [admName, admissibility] of admissibilities) {
        for (const criterion of ["correlation", "gradient"] as const) {
          const rng = new Rng(seed * 7 + compared);
          const someTargets = Array.from(new Set(Array.from({ length: 40 }, () => shape.inputs + rng.nextInt(shape.neurons - shape.inputs))));
          const variants: Omit<SearchOptions, "admissibility" | "criterion">[] = [
            { top: 0, perTarget: 4 },
            { top: 50, perTarget: 1 },
            { top: 0, perTarget: 3, minScore: criterion === "correlation" ? 0.3 : 0.05 / shape.S },
            { top: 2000, perTarget: 2 },
            { top: 7, perTarget: 0 },
            { top: 20, perTarget: 5, targets: someTargets },
          ];
          for (const v of variants) {
            const label = `seed ${seed}, k=${shape.neurons}, S=${shape.S}, ${dataName}, ${admName}, ${criterion}, ${JSON.stringify({ ...v, targets: v.targets ? v.targets.length : undefined })}`;
            const options: SearchOptions = { criterion, admissibility, ...v };
            const plain = exactSearch(a, { ...options, kernel: "js" });
            const wasm = exactSearch(a, { ...options, kernel: "wasm" });
            assert.equal(plain.stats.kernel, "js");
            assert.equal(wasm.stats.kernel, "wasm");
            assertSameResult(label, plain, wasm);
            assert.equal(wasm.stats.pairsScored, plain.stats.pairsScored, `${label}: pairs scored`);
            assert.equal(wasm.stats.admissiblePairs, plain.stats.admissiblePairs, `${label}: admissible pairs`);
            compared++;
            rescoredAll += wasm.stats.rescored ?? 0;
            scoredAll += wasm.stats.pairsScored;
          }
        }
      }
    }
  }
  t.diagnostic(`${compared} searches compared; the filter rescored ${rescoredAll} of ${scoredAll} scored pairs exactly`);
});

test("approximate search: WebAssembly candidate scoring gives the plain scoring's result bit for bit", (t) => {
  if (!kernelLoaded(t)) return;
  for (const [index, shape] of [{ neurons: 600, inputs: 135, S: 29 }, { neurons: 1500, inputs: 540, S: 128 }].entries()) {
    const seed = 200 + index;
    const net = randomNetwork(seed, { neurons: shape.neurons, inputs: shape.inputs, outputs: 5, inDegree: 8 });
    for (const [dataName, a] of [["random", randomActivity(seed, shape.neurons, shape.inputs, shape.S)], ["awkward", awkwardActivity(seed, shape.neurons, shape.inputs, shape.S)]] as const) {
      for (const [admName, admissibility] of [["order", orderAdmissibility(net, { descendants: descendantWordsKernel })], ["level", levelAdmissibility(net)]] as const) {
        for (const criterion of ["correlation", "gradient"] as const) {
          for (const v of [{ top: 0, perTarget: 4 }, { top: 100, perTarget: 1 }, { top: 0, perTarget: 2, minScore: criterion === "correlation" ? 0.3 : 0.05 / shape.S }]) {
            const label = `seed ${seed}, k=${shape.neurons}, ${dataName}, ${admName}, ${criterion}, ${JSON.stringify(v)}`;
            const options: SearchOptions = { criterion, admissibility, ...v };
            const plain = approximateSearch(a, { ...options, kernel: "js" });
            const wasm = approximateSearch(a, { ...options, kernel: "wasm" });
            assert.equal(wasm.stats.kernel, "wasm");
            assertSameResult(label, plain, wasm);
            assert.equal(wasm.stats.pairsScored, plain.stats.pairsScored, `${label}: candidates`);
            assert.ok((wasm.stats.rescored ?? Infinity) <= wasm.stats.pairsScored);
          }
        }
      }
    }
  }
});

test("order admissibility (blocks of 32 in TypeScript, of 512 in WebAssembly) equals online-order's after random rewiring", () => {
  for (const [index, shape] of [{ neurons: 300, inputs: 40, d: 5 }, { neurons: 1400, inputs: 540, d: 12 }].entries()) {
    const seed = 300 + index;
    const net = randomNetwork(seed, { neurons: shape.neurons, inputs: shape.inputs, outputs: 5, inDegree: shape.d });
    const order = new OnlineOrder(net);
    const rng = new Rng(seed);
    const k = net.neurons;
    const n = net.inputs;
    for (let round = 0; round < 3; round++) {
      // Rewire a batch of random slots (the order repairs itself), then compare everything.
      for (let e = 0; e < 400; e++) order.replaceEdge(n + rng.nextInt(k - n), rng.nextInt(shape.d), rng.nextInt(k));
      const adm = orderAdmissibility(net, { descendants: descendantWordsKernel });
      const expected = new Uint8Array(k);
      const mask = new Uint8Array(k);
      const block = new Int32Array(k);
      // Targets in order positions, as the searches visit them, in blocks of 512 and 32.
      const targets = Int32Array.from(net.order);
      for (let t0 = 0; t0 < targets.length; t0 += 512) {
        const superBlock = targets.subarray(t0, Math.min(t0 + 512, targets.length));
        const words = adm.fillBlocks!(superBlock).slice();
        for (let b = 0; b * 32 < superBlock.length; b++) {
          const targets32 = superBlock.subarray(32 * b, 32 * b + 32);
          adm.fillBlock!(targets32, block);
          for (let t = 0; t < targets32.length; t++) {
            const j = targets32[t]!;
            order.admissibleSources(j, expected);
            mask.fill(0);
            adm.fill(j, mask);
            for (let i = 0; i < k; i++) {
              const want = expected[i]!;
              assert.equal((block[i]! >>> t) & 1, want, `seed ${seed} round ${round}: fillBlock ${i} → ${j}`);
              assert.equal((words[b * k + i]! >>> t) & 1, want, `seed ${seed} round ${round}: fillBlocks ${i} → ${j}`);
              assert.equal(mask[i], want, `seed ${seed} round ${round}: fill ${i} → ${j}`);
            }
          }
          // No bits for targets past the block's end.
          if (targets32.length < 32) for (let i = 0; i < k; i++) assert.equal(block[i]! >>> targets32.length, 0);
          if (targets32.length < 32) for (let i = 0; i < k; i++) assert.equal(words[b * k + i]! >>> targets32.length, 0, `fillBlocks: bits past the end`);
        }
      }
      // The default pair test against online-order's canInsert.
      for (let q = 0; q < 3000; q++) {
        const i = rng.nextInt(k);
        const j = n + rng.nextInt(k - n);
        assert.equal(adm.admits!(i, j), order.canInsert(i, j), `seed ${seed} round ${round}: admits ${i} → ${j}`);
      }
    }
  }
});

/**
 * The norm-bounded scan (gradient, top > 0) reads admissibility from block words when the
 * admissibility has them, and by a pair test (`admits`) or a per-target mask (`fill`) otherwise —
 * its old way, unchanged. The same admissibility with and without its block methods must give the
 * same result, stats included (the scan's stopping points decide what the queries skip). Variants
 * with one 24-bit table, no heavy sources and a budget of 1 leave the top K mostly to the scan.
 */
test("approximate search, gradient: the norm-bounded scan by block words equals the scan by pair tests", (t) => {
  let compared = 0;
  let longest = 0;
  let shortScans = 0;
  for (const [index, shape] of [{ neurons: 700, inputs: 135, S: 19, d: 6 }, { neurons: 2600, inputs: 300, S: 9, d: 11 }].entries()) {
    const seed = 400 + index;
    const net = randomNetwork(seed, { neurons: shape.neurons, inputs: shape.inputs, outputs: 5, inDegree: shape.d });
    const k = net.neurons;
    // Counts the word passes: the queries' (one per 512) plus the scan's chunks (32, 64, …, 512 targets).
    let passes = 0;
    const order = orderAdmissibility(net, { descendants: descendantWordsKernel });
    const counted: Admissibility = { ...order, fillBlocks: (targets) => (passes++, order.fillBlocks!(targets)) };
    const orderTs = orderAdmissibility(net);
    const level = levelAdmissibility(net);
    const mask = new Uint8Array(k);
    // Block variants and their plain ("old scan") counterparts: [name, blocks, plain ones].
    const admissibilities: [string, Admissibility, Admissibility[]][] = [
      ["order (wasm words)", counted, [{ fill: order.fill, admits: order.admits! }]],
      ["level (words from fill)", { ...level, fillBlock: (targets, into) => fillBlockWords({ fill: level.fill }, targets, into, k, mask) }, [level, maskAdmissibility(level.fill)]],
    ];
    if (index === 0) admissibilities.push(["order (TypeScript words)", orderTs, [{ fill: orderTs.fill, admits: orderTs.admits! }]]);
    const data: [string, Activity][] = [["random", randomActivity(seed, k, net.inputs, shape.S)]];
    if (index === 0) data.push(["awkward", awkwardActivity(seed, k, net.inputs, shape.S)]);
    for (const [dataName, a] of data) {
      const rng = new Rng(seed);
      const someTargets = Array.from(new Set(Array.from({ length: 300 }, () => net.inputs + rng.nextInt(k - net.inputs))));
      const all: Partial<ApproximateSearchOptions>[] = [
        { top: 40, perTarget: 2 },
        { top: 5000, perTarget: 1, tables: 1, bits: 24, probes: 0, heavy: 0, budget: 1 },
        { top: 60000, perTarget: 0, tables: 1, bits: 24, probes: 0, heavy: 0, budget: 1, boundedPairs: 1e9 },
        { top: 300, perTarget: 3, boundedPairs: 5000, targets: someTargets },
        { top: 100, perTarget: 1, minScore: 0.02 / shape.S, kernel: "js" },
      ];
      const variants = all.filter((_, q) => index === 0 || (q >= 1 && q <= 3)); // the larger shape: the scan-heavy variants (the old pair tests are slow)
      for (const [admName, blocks, plains] of admissibilities) {
        for (const v of variants) {
          const label = `seed ${seed}, k=${k}, ${dataName}, ${admName}, ${JSON.stringify({ ...v, targets: v.targets ? v.targets.length : undefined })}`;
          const options = { criterion: "gradient" as const, top: 0, ...v };
          passes = 0;
          const got = approximateSearch(a, { ...options, admissibility: blocks });
          if (blocks === counted) {
            let queried = 0;
            for (const j of Array.from(v.targets ?? Array.from({ length: k - net.inputs }, (_, q) => net.inputs + q))) if (innerProduct({ ...a, outputs: a.errors }, j, j) > 0) queried++;
            const chunks = passes - Math.ceil(queried / 512);
            longest = Math.max(longest, chunks);
            if (chunks >= 1 && chunks <= 2) shortScans++;
          }
          for (const [p, plain] of plains.entries()) {
            const want = approximateSearch(a, { ...options, admissibility: plain });
            assertSameResult(`${label} vs plain ${p}`, want, got);
            assert.equal(got.stats.pairsScored, want.stats.pairsScored, `${label} vs plain ${p}: pairs scored`);
            assert.equal(got.stats.visited, want.stats.visited, `${label} vs plain ${p}: bucket entries`);
            compared++;
          }
        }
      }
    }
  }
  // Scans of one or two chunks and a scan past the first 512-target chunk (chunks 32, 64, 128, 256, 512, 512, …).
  assert.ok(longest >= 6 && shortScans > 0, `scan chunks: longest ${longest}, short scans ${shortScans}`);
  t.diagnostic(`${compared} searches compared; longest scan ${longest} chunks of words, ${shortScans} scans of 1-2 chunks`);
});
