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
import { Network } from "../graph/network.js";
import type { Batch, Engine } from "../engine/types.js";
import { checkBatch } from "../engine/reference/index.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { engineGradient, engineLoss, referenceGradient, referenceHessian, referenceLoss } from "./sums.js";
import { engineTrueUtility, referenceTrueUtility } from "./true-utility.js";

/** How `estimateUtility` scores an edge: −w·∂L/∂w (eq. 4.3), |w|, OBD ½w²·∂²L/∂w², or the true loss change (Def. 4.1). Higher = more useful. */
export type UtilityMethod = "first-order" | "magnitude" | "obd" | "true";

/** Every utility method. */
export const UTILITY_METHODS: readonly UtilityMethod[] = ["first-order", "magnitude", "obd", "true"];

/** Options of `estimateUtility`: which edges to score, and the curvature OBD uses. */
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

/** What `estimateUtilityDetailed` returns: per-edge utility, the edges scored and L_T. */
export interface UtilityResult {
  /** The method used. */
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

/**
 * Eq. 4.3, the thesis's first-order utility of an edge of weight w: −w·∂L/∂w, the first Taylor term
 * of the loss change when w goes to 0 (eq. 4.2 at Δ = −w). The one definition every caller uses.
 */
export function firstOrderUtility(weight: number, gradient: number): number {
  return -weight * gradient;
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
      // ∂L_T/∂w = Σ_batches size·(batch-mean gradient)/|T|. Product of the average, not the average
      // of per-batch products: w is the same in every batch, so the two are equal up to rounding.
      for (const e of edges) utility[e] = firstOrderUtility(net.weights[e]!, gradient[e]! / samples);
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

