/**
 * Weights for new edges (§4.4 "Optimal weight updates"). When neuron j loses in-edges u → j (weights
 * w_u) and gains edges i → j, choose the new weights α_i and a bias change β so that j's
 * pre-activation over the batch changes as little as possible, so the change does not cascade
 * through j's consumers and training restarts warm:
 *
 *     v = Σ_u w_u·σ(a_u)  (removed contribution, a vector over the samples)
 *     minimise ‖Δ‖² = ‖Σ_i α_i·σ(a_i) + β·1 − v‖²   subject to ⟨Δ, 1⟩ = 0 (mean preserved).
 *
 * The constraint gives β = v̄ − Σ_i α_i·ū_i, and what remains is the least-squares projection of the
 * centred v − v̄ onto the span of the centred new sources u_i − ū_i (§4.4: "the closest point on the
 * hyperplane spanned by V = {u − ū}"); for one new edge that is eq. 4.8,
 *
 *     α = ⟨u − ū, v − v̄⟩ / ‖u − ū‖².
 *
 * Several new edges into one neuron are fitted jointly (the thesis's generalisation): the small
 * normal equations G·α = r with G_ab = ⟨u_a − ū_a, u_b − ū_b⟩ are solved by a Cholesky
 * factorisation that drops a column whose remaining pivot is below 1e-9 of its diagonal (a
 * zero-variance source — a silent ReLU, an input active in every or no sample — or one collinear
 * with earlier ones) and gives it α = 0: the fit is then the projection onto the span of the kept
 * columns, which is the same span, so ‖Δ‖ is still minimal and nothing is NaN. Centring is done
 * explicitly in float64 (no E[u²] − E[u]² cancellation).
 *
 * Also the baselines' rules: zero (RigL, Evci et al. 2020: new edges start at 0, so the network
 * function is unchanged only because the removed edges had small magnitude) and random (SET,
 * Mocanu et al. 2018: N(0, 2/d), the He scale of the initial network), with no bias change.
 */
import type { Rng } from "../util/rng.js";
import { ShapeError, UsageError } from "../util/errors.js";
import { checkActivity, type Activity } from "../estimate/activity.js";

/** How new edges get their weights: eq. 4.8 and its least-squares form ("optimal"), 0 (RigL) or N(0, 2/d) (SET). */
export type NewWeightRule = "optimal" | "zero" | "random";

/** One swap: edge `slot` of neuron `target` read `oldSource` with `oldWeight` and now reads `newSource`. */
export interface EdgeSwap {
  target: number;
  slot: number;
  oldSource: number;
  oldWeight: number;
  newSource: number;
}

/** What `newEdgeWeights` returns: a weight per swap and, for "optimal", each target's bias change and fit. */
export interface NewWeights {
  /** New weight per swap, parallel to the swaps. */
  weights: Float64Array;
  /** Bias change β per target neuron that has swaps (optimal rule only; others: empty). */
  biasChanges: Map<number, number>;
  /**
   * Per target (optimal rule only): mean over samples of Δ² with the new edges at weight 0 and no
   * bias change (`zero`, = ‖v‖²/S), and after the fit (`fitted`, the minimised ‖Δ‖²/S).
   */
  change: Map<number, { zero: number; fitted: number }>;
}

/** Relative pivot below which a centred source counts as zero or collinear (α = 0). */
export const PIVOT_TOLERANCE = 1e-9;

/**
 * New weights for `swaps` by `rule`. The optimal rule reads the sources' outputs from `activity`
 * (taken before the swaps); zero and random need none. Random weights are N(0, randomStd²),
 * by default He's N(0, 2/d) with `net`'s in-degree d; `rng` is used by random init only.
 */
export function newEdgeWeights(
  rule: NewWeightRule,
  swaps: readonly EdgeSwap[],
  activity: Activity | undefined,
  net: { neurons: number; inputs: number; inDegree: number },
  rng: Rng,
  randomStd?: number,
): NewWeights {
  checkSwaps(swaps, net);
  if (rule === "optimal") {
    if (activity === undefined) throw new ShapeError("optimal new-edge weights need the per-sample outputs of the batch", "pass the activity of engine.gradients(batch, { activity: true })");
    return fitNewWeights(swaps, activity);
  }
  const weights = new Float64Array(swaps.length);
  if (rule === "random") {
    const std = randomStd ?? Math.sqrt(2 / net.inDegree);
    for (let q = 0; q < swaps.length; q++) weights[q] = std * rng.nextNormal();
  } else if (rule !== "zero") {
    throw new UsageError(`unknown new-weight rule "${String(rule)}": use optimal, zero or random`);
  }
  return { weights, biasChanges: new Map(), change: new Map() };
}

/**
 * Least-squares weights and bias changes (§4.4, eq. 4.8 and its multi-edge generalisation), one
 * joint fit per target neuron over the samples of `activity`.
 */
export function fitNewWeights(swaps: readonly EdgeSwap[], activity: Activity): NewWeights {
  checkActivity(activity);
  checkSwaps(swaps, activity);
  const S = activity.samples;
  const out = activity.outputs;
  const weights = new Float64Array(swaps.length);
  const biasChanges = new Map<number, number>();
  const change = new Map<number, { zero: number; fitted: number }>();

  // Group swaps by target, keeping their order.
  const groups = new Map<number, number[]>();
  for (let q = 0; q < swaps.length; q++) {
    const t = swaps[q]!.target;
    const g = groups.get(t);
    if (g) g.push(q);
    else groups.set(t, [q]);
  }
  let maxM = 0;
  for (const g of groups.values()) maxM = Math.max(maxM, g.length);
  const v = new Float64Array(S);
  const U = new Float64Array(maxM * S); // centred new sources, row per new edge
  const mean = new Float64Array(maxM);
  const G = new Float64Array(maxM * maxM);
  const r = new Float64Array(maxM);
  const alpha = new Float64Array(maxM);
  const scratch = new Float64Array(maxM * maxM + maxM);

  for (const [target, group] of groups) {
    const m = group.length;
    // v: the removed contribution Σ w_u σ(a_u), centred.
    v.fill(0);
    for (const q of group) {
      const { oldSource, oldWeight } = swaps[q]!;
      const base = oldSource * S;
      for (let b = 0; b < S; b++) v[b]! += oldWeight * out[base + b]!;
    }
    let vMean = 0;
    let vSquares = 0;
    for (let b = 0; b < S; b++) {
      vMean += v[b]!;
      vSquares += v[b]! * v[b]!;
    }
    vMean /= S;
    for (let b = 0; b < S; b++) v[b]! -= vMean;
    // Centred new sources.
    for (let c = 0; c < m; c++) {
      const base = swaps[group[c]!]!.newSource * S;
      let s = 0;
      for (let b = 0; b < S; b++) s += out[base + b]!;
      const mu = s / S;
      mean[c] = mu;
      const row = c * S;
      for (let b = 0; b < S; b++) U[row + b] = out[base + b]! - mu;
    }
    // Normal equations G α = r.
    for (let a = 0; a < m; a++) {
      const ra = a * S;
      let s = 0;
      for (let b = 0; b < S; b++) s += U[ra + b]! * v[b]!;
      r[a] = s;
      for (let c = 0; c <= a; c++) {
        const rc = c * S;
        let g = 0;
        for (let b = 0; b < S; b++) g += U[ra + b]! * U[rc + b]!;
        G[a * m + c] = g;
        G[c * m + a] = g;
      }
    }
    solveDropping(G, r, m, alpha, scratch);
    let beta = vMean;
    for (let c = 0; c < m; c++) {
      weights[group[c]!] = alpha[c]!;
      beta -= alpha[c]! * mean[c]!;
    }
    biasChanges.set(target, beta);
    // ‖Δ‖² after the fit = ‖V − Σ α_c U_c‖² (the means cancel by construction of β).
    let fitted = 0;
    for (let b = 0; b < S; b++) {
      let d = -v[b]!;
      for (let c = 0; c < m; c++) d += alpha[c]! * U[c * S + b]!;
      fitted += d * d;
    }
    change.set(target, { zero: vSquares / S, fitted: fitted / S });
  }
  return { weights, biasChanges, change };
}

/**
 * Solve the symmetric positive semi-definite system G·x = r (m×m, row-major) by Cholesky; G and r
 * are only read, `scratch` (≥ m² + m) holds the factor. A column whose pivot, after eliminating the kept columns
 * before it, is at most PIVOT_TOLERANCE of its diagonal (or whose diagonal is 0) is dropped: x = 0
 * for it. The result is the least-squares solution restricted to the kept columns.
 */
export function solveDropping(G: Float64Array, r: Float64Array, m: number, x: Float64Array, scratch: Float64Array = new Float64Array(m * m + m)): void {
  const L = scratch;
  const y = scratch.subarray(m * m, m * m + m);
  const kept = new Uint8Array(m);
  for (let c = 0; c < m; c++) {
    const diag = G[c * m + c]!;
    let d = diag;
    for (let p = 0; p < c; p++) if (kept[p]) d -= L[c * m + p]! * L[c * m + p]!;
    if (!(diag > 0) || !(d > PIVOT_TOLERANCE * diag)) {
      kept[c] = 0;
      continue;
    }
    kept[c] = 1;
    const lcc = Math.sqrt(d);
    L[c * m + c] = lcc;
    // Column c of L below the diagonal, from the kept columns before c.
    for (let row = c + 1; row < m; row++) {
      let s = G[row * m + c]!;
      for (let p = 0; p < c; p++) if (kept[p]) s -= L[row * m + p]! * L[c * m + p]!;
      L[row * m + c] = s / lcc;
    }
  }
  // Forward then back substitution over the kept columns.
  for (let c = 0; c < m; c++) {
    if (!kept[c]) continue;
    let s = r[c]!;
    for (let p = 0; p < c; p++) if (kept[p]) s -= L[c * m + p]! * y[p]!;
    y[c] = s / L[c * m + c]!;
  }
  for (let c = m - 1; c >= 0; c--) {
    if (!kept[c]) {
      x[c] = 0;
      continue;
    }
    let s = y[c]!;
    for (let p = c + 1; p < m; p++) if (kept[p]) s -= L[p * m + c]! * x[p]!;
    x[c] = s / L[c * m + c]!;
  }
}

function checkSwaps(swaps: readonly EdgeSwap[], net: { neurons: number; inputs: number }): void {
  const seen = new Set<string>();
  for (let q = 0; q < swaps.length; q++) {
    const { target, slot, oldSource, oldWeight, newSource } = swaps[q]!;
    const ok = (i: number) => Number.isInteger(i) && i >= 0 && i < net.neurons;
    if (!ok(target) || target < net.inputs) throw new ShapeError(`swap ${q}: target ${target} is not a non-input neuron`);
    if (!ok(oldSource) || !ok(newSource)) throw new ShapeError(`swap ${q}: source ${ok(oldSource) ? newSource : oldSource} is outside 0..${net.neurons - 1}`);
    if (!Number.isFinite(oldWeight)) throw new ShapeError(`swap ${q}: old weight ${oldWeight} is not finite`);
    const key = `${target}:${slot}`;
    if (seen.has(key)) throw new ShapeError(`swap ${q}: slot ${slot} of neuron ${target} is swapped twice`);
    seen.add(key);
  }
}
