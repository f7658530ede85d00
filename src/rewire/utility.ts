/**
 * Edge utility (thesis §4.1): how much the loss would rise if an edge were deleted. One API,
 * `estimateUtility(source, batches, method, options)`, for four methods:
 *
 *  - "true"        Def. 4.1: L_T(w with w_e = 0) − L_T(w). Exact, one forward per edge.
 *  - "first-order" eq. 4.3: −w·∂L_T/∂w, the thesis's heuristic (Taylor's first term at Δ = −w).
 *  - "obd"         optimal brain damage (LeCun, Denker & Solla 1990): ½·w²·∂²L_T/∂w², the second
 *                  term of eq. 4.2, with the diagonal second derivative from a second backward pass
 *                  (LeCun 1987; see hessian.ts for what is exact and what is approximated).
 *  - "magnitude"   |w|, the naive heuristic the thesis argues against (it ignores the scale of σ(a)).
 *
 * Sign convention: HIGHER = MORE USEFUL for every method. "true" and "first-order" are in bits per
 * sample (the loss is the MEAN cross-entropy in bits over all samples of all batches, i.e. L_T with
 * T the union of the batches), positive when deleting the edge would raise the loss; a negative
 * value marks a harmful edge. The thesis deletes the edges with the LOWEST utility.
 *
 * Two kinds of source:
 *  - an Engine: gradients and the true utility go through the engine's own gradients()/evaluate()
 *    (float32, the wasm engine's speed); OBD, which no engine computes, runs on the reference
 *    kernels in float64 over the engine's current parameters (pull()).
 *  - a Network: everything runs on the reference kernels in float64 (the oracle path). Here the true
 *    utility does not re-run the whole network per edge: only neurons downstream of the edge's
 *    target are recomputed, incrementally, and only while their output actually changed (a dead
 *    ReLU stops the change). That is the optional optimisation of the brief, implemented here.
 */
import { Network, transpose } from "../graph/network.js";
import type { Batch, Engine } from "../engine/types.js";
import { checkBatch } from "../engine/reference/engine.js";
import { backward, float64Parameters, forward, loss, workspaceCache, type Graph, type Workspace } from "../engine/reference/kernels.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { gaussNewtonDiagonal, obdDiagonal } from "./hessian.js";

export type UtilityMethod = "first-order" | "magnitude" | "obd" | "true";

export const UTILITY_METHODS: readonly UtilityMethod[] = ["first-order", "magnitude", "obd", "true"];

export interface UtilityOptions {
  /**
   * Evaluate only this many edges, drawn uniformly without replacement by a seeded Rng; the others
   * are NaN. Meant for "true" (one forward per edge), but honoured by every method so that two
   * methods with the same sample and seed score the same edges.
   */
  sample?: number;
  /** Seed for `sample` (default 0). Same seed, same edges. */
  seed?: number;
  /** Exactly these edges (indices into network.sources/weights); overrides `sample`. */
  edges?: ArrayLike<number>;
  /**
   * The second derivative for "obd": LeCun's diagonal pass (default, one extra backward pass) or
   * the exact Gauss–Newton diagonal (one backward pass per output; equals the true ∂²L/∂w² for ReLU).
   */
  hessian?: "lecun" | "gauss-newton";
  /** Called as edges of "true" are finished (it costs a forward per edge). */
  onProgress?: (done: number, total: number) => void;
}

export interface UtilityResult {
  method: UtilityMethod;
  /** Per edge (parallel to network.weights), higher = more useful; NaN for edges not evaluated. */
  utility: Float32Array;
  /** The evaluated edges, ascending (= sorted by neuron, then slot). */
  edges: Int32Array;
  /** Mean loss over all samples of the batches, in bits for cross-entropy: L_T(w). */
  loss: number;
  /** Samples over all batches (|T|). */
  samples: number;
  /** "engine" (the engine's float32 passes) or "reference-f64" (float64 reference kernels; always for "obd"). */
  computedWith: "engine" | "reference-f64";
}

/** Per-edge utility (higher = more useful; NaN where not evaluated). See `estimateUtilityDetailed`. */
export function estimateUtility(source: Engine | Network, batches: readonly Batch[], method: UtilityMethod, options: UtilityOptions = {}): Float32Array {
  return estimateUtilityDetailed(source, batches, method, options).utility;
}

/** Per-edge utility over the union of `batches`, with the loss and the edges evaluated. */
export function estimateUtilityDetailed(source: Engine | Network, batches: readonly Batch[], method: UtilityMethod, options: UtilityOptions = {}): UtilityResult {
  if (!UTILITY_METHODS.includes(method)) throw new UsageError(`unknown utility method "${String(method)}": use ${UTILITY_METHODS.join(", ")}`);
  if (batches.length === 0) throw new UsageError("utility needs at least one batch");
  const engine = source instanceof Network ? undefined : source;
  // The engine may hold newer parameters than its network's arrays (wasm keeps them in its memory).
  engine?.pull();
  const net = engine ? engine.network : (source as Network);
  for (const batch of batches) checkBatch(net, batch);
  const edges = selectEdges(net.edges, options);
  const samples = batches.reduce((sum, b) => sum + b.size, 0);
  const utility = new Float32Array(net.edges).fill(NaN);
  let lossMean: number;
  switch (method) {
    case "magnitude": {
      lossMean = engine ? engineLoss(engine, batches) / samples : referenceLoss(net, batches) / samples;
      for (const e of edges) utility[e] = Math.abs(net.weights[e]!);
      break;
    }
    case "first-order": {
      const { lossSum, gradient } = engine ? engineGradient(engine, batches) : referenceGradient(net, batches);
      lossMean = lossSum / samples;
      // eq. 4.3 with L_T the mean over all samples: ∂L_T/∂w = Σ_batches size·(batch-mean gradient)/|T|.
      // Product of the average, not the average of per-batch products: w is the same in every batch,
      // so the two are equal up to rounding, and this is literally −w·∂L_T/∂w.
      for (const e of edges) utility[e] = -net.weights[e]! * (gradient[e]! / samples);
      break;
    }
    case "obd": {
      const { lossSum, hessian } = referenceHessian(net, batches, options.hessian ?? "lecun");
      lossMean = lossSum / samples;
      for (const e of edges) {
        const w = net.weights[e]!;
        utility[e] = 0.5 * w * w * (hessian[e]! / samples);
      }
      break;
    }
    case "true": {
      const { base, deleted } = engine ? engineTrueUtility(engine, batches, edges, options.onProgress) : referenceTrueUtility(net, batches, edges, options.onProgress);
      lossMean = base / samples;
      for (let t = 0; t < edges.length; t++) utility[edges[t]!] = deleted[t]! / samples;
      break;
    }
  }
  // OBD's second derivative always comes from the float64 reference kernels (no engine has that pass).
  return { method, utility, edges, loss: lossMean, samples, computedWith: engine && method !== "obd" ? "engine" : "reference-f64" };
}

/**
 * `count` distinct edges out of `total`, uniformly (Floyd's algorithm, O(count)), ascending.
 * All edges when count ≥ total. Deterministic in the Rng's state.
 */
export function sampleEdges(total: number, count: number, rng: Rng): Int32Array {
  if (!Number.isInteger(count) || count < 0) throw new UsageError(`edge sample must be a non-negative integer, got ${count}`);
  if (count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = rng.nextInt(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}

/**
 * Spearman's rank correlation of two equally long series, over the pairs where both are finite
 * (ties get their average rank). For comparing a heuristic with the true utility (Fig. 4.2).
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new UsageError(`spearman: lengths differ (${a.length} vs ${b.length})`);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      x.push(a[i]!);
      y.push(b[i]!);
    }
  }
  const rx = ranks(x);
  const ry = ranks(y);
  const n = rx.length;
  if (n < 2) return NaN;
  const mean = (n + 1) / 2;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i]! - mean) * (ry[i]! - mean);
    sxx += (rx[i]! - mean) ** 2;
    syy += (ry[i]! - mean) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function ranks(v: readonly number[]): Float64Array {
  const idx = v.map((_, i) => i).sort((i, j) => v[i]! - v[j]!);
  const r = new Float64Array(v.length);
  for (let p = 0; p < idx.length; ) {
    let q = p;
    while (q + 1 < idx.length && v[idx[q + 1]!] === v[idx[p]!]) q++;
    for (let t = p; t <= q; t++) r[idx[t]!] = (p + q) / 2 + 1;
    p = q + 1;
  }
  return r;
}

// ---- edge selection ----

function selectEdges(total: number, options: UtilityOptions): Int32Array {
  if (options.edges !== undefined) {
    const list = Array.from(options.edges);
    for (const e of list) {
      if (!(Number.isInteger(e) && e >= 0 && e < total)) throw new UsageError(`edge ${e} is outside 0..${total - 1}`);
    }
    return Int32Array.from(new Set(list)).sort();
  }
  if (options.sample !== undefined) return sampleEdges(total, options.sample, new Rng(options.seed ?? 0));
  return sampleEdges(total, total, new Rng(0));
}

// ---- engine path (float32, the engine's own passes) ----

/** Σ over samples of the loss, through the engine. */
export function engineLoss(engine: Engine, batches: readonly Batch[]): number {
  let sum = 0;
  for (const batch of batches) sum += engine.evaluate(batch).lossSum;
  return sum;
}

/** Σ_batches size·(batch-mean gradient) in float64, and the loss sum. */
export function engineGradient(engine: Engine, batches: readonly Batch[]): { lossSum: number; gradient: Float64Array } {
  const gradient = new Float64Array(engine.network.edges);
  let lossSum = 0;
  for (const batch of batches) {
    const g = engine.gradients(batch);
    lossSum += g.loss * batch.size;
    for (let e = 0; e < gradient.length; e++) gradient[e]! += g.weightGradients[e]! * batch.size;
  }
  return { lossSum, gradient };
}

/**
 * Def. 4.1 through the engine: zero the weight, push it to the engine, evaluate every batch,
 * restore. push() re-reads the whole graph (O(edges)), cheap next to a forward over the batches.
 * Returns Σ_samples of (loss without − loss with) per edge, and the base loss sum.
 */
function engineTrueUtility(engine: Engine, batches: readonly Batch[], edges: Int32Array, onProgress?: (done: number, total: number) => void): { base: number; deleted: Float64Array } {
  const weights = engine.network.weights;
  const base = engineLoss(engine, batches);
  const deleted = new Float64Array(edges.length);
  try {
    for (let t = 0; t < edges.length; t++) {
      const e = edges[t]!;
      const w = weights[e]!;
      // An edge of weight 0 is already absent as far as the loss is concerned.
      if (w !== 0) {
        weights[e] = 0;
        engine.push();
        try {
          deleted[t] = engineLoss(engine, batches) - base;
        } finally {
          weights[e] = w;
        }
      }
      onProgress?.(t + 1, edges.length);
    }
  } finally {
    engine.push();
  }
  return { base, deleted };
}

// ---- reference path (float64 kernels) ----

function referenceLoss(net: Network, batches: readonly Batch[]): number {
  const params = float64Parameters(net);
  const get = workspaceCache(net, "f64");
  let sum = 0;
  for (const batch of batches) {
    const ws = get(batch.size);
    forward(net, params, batch, ws);
    sum += loss(net, batch, ws, false).lossSum;
  }
  return sum;
}

/** Σ_batches size·(batch-mean gradient) in float64 on the reference kernels, and the loss sum. */
export function referenceGradient(net: Network, batches: readonly Batch[]): { lossSum: number; gradient: Float64Array } {
  const params = float64Parameters(net);
  const get = workspaceCache(net, "f64");
  const gradient = new Float64Array(net.edges);
  const g = new Float64Array(net.edges);
  const gb = new Float64Array(net.neurons);
  let lossSum = 0;
  for (const batch of batches) {
    const ws = get(batch.size);
    forward(net, params, batch, ws);
    lossSum += loss(net, batch, ws, true).lossSum;
    backward(net, params, batch, ws, g, gb, false);
    for (let e = 0; e < gradient.length; e++) gradient[e]! += g[e]! * batch.size;
  }
  return { lossSum, gradient };
}

/** Σ_batches size·∂²(batch-mean loss)/∂w², float64, and the loss sum. */
export function referenceHessian(net: Network, batches: readonly Batch[], kind: "lecun" | "gauss-newton"): { lossSum: number; hessian: Float64Array } {
  const params = float64Parameters(net);
  const get = workspaceCache(net, "f64");
  const hessian = new Float64Array(net.edges);
  const h = new Float64Array(net.edges);
  let lossSum = 0;
  for (const batch of batches) {
    const ws = get(batch.size);
    forward(net, params, batch, ws);
    lossSum += loss(net, batch, ws, false).lossSum;
    if (kind === "lecun") obdDiagonal(net, params, batch, ws, new Float64Array(net.neurons * batch.size), h);
    else gaussNewtonDiagonal(net, params, batch, ws, h);
    for (let e = 0; e < hessian.length; e++) hessian[e]! += h[e]! * batch.size;
  }
  return { lossSum, hessian };
}

/**
 * Def. 4.1 in float64, incrementally. Per batch, one full forward gives the base pre-activations;
 * per edge e = s → j, a_j changes by −w_e·σ(a_s), and the change is pushed to consumers in
 * evaluation order (a'_c = a_c + w·(σ(a'_i) − σ(a_i)), the forward's own sum, so the result is the
 * full re-evaluation up to float64 rounding). A neuron is visited only if one of its sources'
 * outputs actually changed, so the cost is the affected part of the network, not all of it.
 * Outer loop over batches so memory stays at one batch (k·B).
 */
function referenceTrueUtility(net: Network, batches: readonly Batch[], edges: Int32Array, onProgress?: (done: number, total: number) => void): { base: number; deleted: Float64Array } {
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources, order } = net;
  const params = float64Parameters(net);
  const w64 = params.weights;
  const consumers = transpose(net);
  const position = new Int32Array(k).fill(-1);
  for (let r = 0; r < order.length; r++) position[order[r]!] = r;
  const first = k - m;
  const deleted = new Float64Array(edges.length);
  const stamp = new Int32Array(k).fill(-1);
  let id = 0;
  let base = 0;
  const get = workspaceCache(net, "f64");
  const total = edges.length * batches.length;
  let done = 0;
  for (const batch of batches) {
    const B = batch.size;
    const ws = get(B);
    forward(net, params, batch, ws);
    const pre = ws.pre;
    const scratch = new Float64Array(k * B);
    const logits = new Float64Array(m * B);
    const outputLoss = outputLossOf(m, batch, logits);
    logits.set(pre.subarray(first * B, k * B));
    const baseSum = outputLoss();
    base += baseSum;
    for (let t = 0; t < edges.length; t++) {
      const e = edges[t]!;
      const w = w64[e]!;
      done++;
      if (w === 0) continue;
      const j = n + Math.floor(e / d);
      const s = sources[e]!;
      id++;
      // Target row: a'_j = a_j − w·σ(a_s).
      const jB = j * B;
      for (let b = 0; b < B; b++) scratch[jB + b] = pre[jB + b]!;
      if (s < n && batch.inputs.kind === "one-hot") {
        for (let q = ws.activeStart[s]!; q < ws.activeStart[s + 1]!; q++) scratch[jB + ws.activeSamples[q]!]! -= w;
      } else if (s < n) {
        for (let b = 0; b < B; b++) scratch[jB + b]! -= w * pre[s * B + b]!;
      } else {
        for (let b = 0; b < B; b++) {
          const a = pre[s * B + b]!;
          if (a > 0) scratch[jB + b]! -= w * a;
        }
      }
      stamp[j] = id;
      let outputTouched = j >= first;
      // Consumers come later in the order, so one forward sweep from j's position settles everything.
      for (let r = position[j]!; r < order.length; r++) {
        const i = order[r]!;
        if (stamp[i] !== id) continue;
        const iB = i * B;
        let changed = false;
        for (let b = 0; b < B; b++) {
          if (relu(scratch[iB + b]!) !== relu(pre[iB + b]!)) { changed = true; break; }
        }
        if (!changed) continue; // e.g. a ReLU that stays dead: nothing downstream moves
        for (let p = consumers.start[i]!; p < consumers.start[i + 1]!; p++) {
          const c = consumers.neuron[p]!;
          const wc = w64[consumers.edge[p]!]!;
          const cB = c * B;
          if (stamp[c] !== id) {
            stamp[c] = id;
            for (let b = 0; b < B; b++) scratch[cB + b] = pre[cB + b]!;
            if (c >= first) outputTouched = true;
          }
          for (let b = 0; b < B; b++) {
            const change = relu(scratch[iB + b]!) - relu(pre[iB + b]!);
            if (change !== 0) scratch[cB + b]! += wc * change;
          }
        }
      }
      if (outputTouched) {
        for (let o = 0; o < m; o++) {
          const row = stamp[first + o] === id ? scratch : pre;
          logits.set(row.subarray((first + o) * B, (first + o + 1) * B), o * B);
        }
        deleted[t]! += outputLoss() - baseSum;
      }
      if (onProgress && (done % 16 === 0 || done === total)) onProgress(Math.ceil((done * edges.length) / total), edges.length);
    }
  }
  return { base, deleted };
}

function relu(a: number): number {
  return a > 0 ? a : 0;
}

/**
 * Loss sum of the batch from an m·B logits buffer, through the kernels' own `loss` (one definition
 * of the loss): viewed as a network of m neurons that are all outputs, its pre-activations are the
 * logits. `loss` without gradient reads nothing but graph.neurons/outputs and ws.pre.
 */
function outputLossOf(m: number, batch: Batch, logits: Float64Array): () => number {
  const graph: Graph = { neurons: m, inputs: 0, outputs: m, inDegree: 0, sources: new Int32Array(0), order: new Int32Array(0) };
  const ws: Workspace = { batch: batch.size, pre: logits, delta: new Float64Array(0), upstream: new Float64Array(0), activeStart: new Int32Array(1), activeSamples: new Int32Array(0) };
  return () => loss(graph, batch, ws, false).lossSum;
}
