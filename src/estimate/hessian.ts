/**
 * Second derivatives of the loss with respect to every edge weight, ∂²L/∂w², for optimal brain
 * damage (thesis §4.1, eq. 4.2's second term; LeCun 1987 §3.12.2; LeCun, Denker & Solla 1990).
 * Runs on the reference kernels' workspace after `forward` (float32 or float64), like `backward`.
 *
 * Why the weight part is exact and only the neuron part is approximated: edge e = s → j enters
 * a_j linearly, a_j = … + w_e·σ(a_s), and σ(a_s) does not depend on w_e (s precedes j in the DAG),
 * so per sample ∂²L/∂w_e² = σ(a_s)²·∂²L/∂a_j² exactly. Everything hinges on ∂²L/∂a_j², which has
 * two implementations here:
 *
 *  - `obdDiagonal`: LeCun's second backward pass. It assumes the Hessian is diagonal (drops every
 *    ∂²L/∂a_c∂a_c' between two consumers, including the softmax's off-diagonal −p_o·p_o'):
 *      ∂²L/∂a_j² ≈ [j output] ∂²L/∂a_j²|direct + σ'(a_j)²·Σ_consumers c w_jc²·∂²L/∂a_c²
 *                  (+ σ''(a_j)·∂L/∂σ(a_j), which is 0 almost everywhere for ReLU).
 *    Cost: one extra backward pass. Exact where a neuron reaches the loss through a single path to a
 *    single output (e.g. edges into an output that feeds nothing else, or any tree-shaped network),
 *    since then there is no cross term to drop.
 *
 *  - `gaussNewtonDiagonal`: the exact diagonal of the Gauss–Newton matrix Jᵀ·H_out·J, one backward
 *    pass per output (m passes). A ReLU network is piecewise linear in every a_j, so ∂²z/∂a_j² = 0
 *    almost everywhere and Gauss–Newton equals the true Hessian: this is ∂²L/∂w² exactly (away from
 *    ReLU kinks). It is the yardstick for how much LeCun's diagonal assumption loses.
 *
 * Loss conventions follow kernels.ts: mean over the batch, cross-entropy in bits (hence 1/ln 2),
 * squared error Σ_o (a_o − y_o)² per sample (second derivative 2).
 *
 * Legend: k neurons, n inputs, m outputs, d in-degree, B batch; buffers neuron-major [i·B + b].
 */
import type { Batch } from "../engine/types.js";
import { softmaxStats } from "../engine/softmax.js";
import { UsageError } from "../util/errors.js";
import { backward, type FloatArray, type Graph, type Parameters, type Workspace } from "../engine/reference/index.js";

/**
 * The loss's own second derivative with respect to each output pre-activation, per sample, for the
 * MEAN loss (divided by B): softmax cross-entropy in bits p_o(1 − p_o)/ln 2 (the diagonal of the
 * softmax Hessian diag(p) − p·pᵀ), squared error 2. Written into `into` at the output rows
 * [(k−m+o)·B + b]; other rows untouched. Expects `forward` to have filled ws.pre.
 */
export function outputCurvature(graph: Graph, batch: Batch, ws: Workspace, into: FloatArray): void {
  const { neurons: k, outputs: m } = graph;
  const B = batch.size;
  const first = k - m;
  refuseSigmoid(batch);
  if (batch.targets.kind === "values") {
    for (let p = first * B; p < k * B; p++) into[p] = 2 / B;
    return;
  }
  for (let b = 0; b < B; b++) {
    const { max, logSum } = softmaxStats(ws.pre, first * B + b, B, m);
    for (let o = 0; o < m; o++) {
      const p = Math.exp(ws.pre[(first + o) * B + b]! - max - logSum);
      into[(first + o) * B + b] = (p * (1 - p)) / Math.LN2 / B;
    }
  }
}

/**
 * LeCun's diagonal second-derivative pass (OBD). Expects `forward(graph, params, batch, ws)`.
 * Writes ∂²L/∂a² (approximate, per sample, for the mean loss) of every non-input neuron into
 * `curvature` (k·B) and ∂²L/∂w_e² = Σ_b σ(a_s)[b]²·∂²L/∂a_j²[b] of every edge into `hessian`
 * ((k−n)·d). Uses ws.upstream as scratch (it holds Σ_consumers w²·∂²L/∂a_c² here).
 */
export function obdDiagonal(graph: Graph, params: Parameters, batch: Batch, ws: Workspace, curvature: FloatArray, hessian: FloatArray): void {
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources, order } = graph;
  const B = batch.size;
  const firstOutput = k - m;
  const oneHot = batch.inputs.kind === "one-hot";
  outputCurvature(graph, batch, ws, curvature);
  const up = ws.upstream;
  up.fill(0);
  // Reverse evaluation order (Example 4.9): every consumer is finished before its sources.
  for (let r = order.length - 1; r >= 0; r--) {
    const j = order[r]!;
    const base = j * B;
    // σ'(a)² is 1 where a > 0 and 0 elsewhere for ReLU (the same convention at 0 as backward's σ').
    for (let b = 0; b < B; b++) {
      const direct = j >= firstOutput ? curvature[base + b]! : 0;
      curvature[base + b] = direct + (ws.pre[base + b]! > 0 ? up[base + b]! : 0);
    }
    const row = (j - n) * d;
    for (let e = 0; e < d; e++) {
      const s = sources[row + e]!;
      const w = params.weights[row + e]!;
      let h = 0;
      if (s < n && oneHot) {
        // One-hot source: σ² = 1 exactly where the input is active, 0 elsewhere.
        for (let q = ws.activeStart[s]!; q < ws.activeStart[s + 1]!; q++) h += curvature[base + ws.activeSamples[q]!]!;
      } else if (s < n) {
        for (let b = 0; b < B; b++) {
          const x = ws.pre[s * B + b]!;
          h += curvature[base + b]! * x * x;
        }
      } else {
        for (let b = 0; b < B; b++) {
          const a = ws.pre[s * B + b]!;
          if (a > 0) h += curvature[base + b]! * a * a;
        }
        // Only non-inputs need their curvature (inputs have no in-edges to weigh).
        const w2 = w * w;
        for (let b = 0; b < B; b++) up[s * B + b]! += w2 * curvature[base + b]!;
      }
      hessian[row + e] = h;
    }
  }
}

/**
 * The exact diagonal of the Gauss–Newton matrix, which for a ReLU network is the true ∂²L/∂w²
 * (see the file comment). Expects `forward(graph, params, batch, ws)`. m backward passes, each
 * seeded with the unit vector of one output (so ws.delta becomes J_o = ∂z_o/∂a for every neuron);
 * per sample, with u = J(j) the column of neuron j:
 *   cross-entropy: ∂²L/∂a_j² = (Σ_o p_o·u_o² − (Σ_o p_o·u_o)²)/ln 2 = uᵀ(diag p − p·pᵀ)u/ln 2
 *   squared error: ∂²L/∂a_j² = 2·Σ_o u_o²
 * (both divided by B for the mean loss). Writes the per-neuron values into `curvature` (k·B) when
 * given, and ∂²L/∂w_e² into `hessian`. Overwrites ws.delta and ws.upstream.
 */
export function gaussNewtonDiagonal(graph: Graph, params: Parameters, batch: Batch, ws: Workspace, hessian: FloatArray, curvature?: FloatArray): void {
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources, order } = graph;
  const B = batch.size;
  const first = k - m;
  const f64 = ws.pre instanceof Float64Array;
  const make = (len: number): FloatArray => (f64 ? new Float64Array(len) : new Float32Array(len));
  // Σ_o p_o·u_o and Σ_o p_o·u_o² (cross-entropy), or Σ_o u_o² (squared error); float64 always.
  const s1 = new Float64Array(k * B);
  const s2 = new Float64Array(k * B);
  refuseSigmoid(batch);
  const classes = batch.targets.kind === "class";
  const prob = new Float64Array(m * B);
  if (classes) {
    for (let b = 0; b < B; b++) {
      const { max, logSum } = softmaxStats(ws.pre, first * B + b, B, m);
      for (let o = 0; o < m; o++) prob[o * B + b] = Math.exp(ws.pre[(first + o) * B + b]! - max - logSum);
    }
  }
  const weightScratch = make(params.weights.length);
  const biasScratch = make(k);
  for (let o = 0; o < m; o++) {
    // backward reads the outputs' direct terms from delta, so seeding them with e_o gives J_o.
    for (let q = 0; q < m; q++) ws.delta.fill(q === o ? 1 : 0, (first + q) * B, (first + q + 1) * B);
    backward(graph, params, batch, ws, weightScratch, biasScratch, false);
    for (let r = 0; r < order.length; r++) {
      const j = order[r]!;
      for (let b = 0; b < B; b++) {
        const u = ws.delta[j * B + b]!;
        const p = classes ? prob[o * B + b]! : 1;
        s1[j * B + b]! += p * u;
        s2[j * B + b]! += p * u * u;
      }
    }
  }
  const curv = curvature ?? new Float64Array(k * B);
  const scale = classes ? 1 / (Math.LN2 * B) : 2 / B;
  for (let r = 0; r < order.length; r++) {
    const j = order[r]!;
    for (let b = 0; b < B; b++) {
      const p = j * B + b;
      curv[p] = (classes ? s2[p]! - s1[p]! * s1[p]! : s2[p]!) * scale;
    }
  }
  const oneHot = batch.inputs.kind === "one-hot";
  for (let r = 0; r < order.length; r++) {
    const j = order[r]!;
    const base = j * B;
    const row = (j - n) * d;
    for (let e = 0; e < d; e++) {
      const s = sources[row + e]!;
      let h = 0;
      if (s < n && oneHot) {
        for (let q = ws.activeStart[s]!; q < ws.activeStart[s + 1]!; q++) h += curv[base + ws.activeSamples[q]!]!;
      } else {
        for (let b = 0; b < B; b++) {
          const a = ws.pre[s * B + b]!;
          const x = s < n ? a : a > 0 ? a : 0;
          h += curv[base + b]! * x * x;
        }
      }
      hessian[row + e] = h;
    }
  }
}



/** The curvature passes know softmax cross-entropy and squared error of linear outputs only. */
function refuseSigmoid(batch: Batch): void {
  if (batch.targets.kind === "class" && (batch.targets.loss === "sigmoid-squared" || batch.targets.loss === "sigmoid-squared-set")) {
    throw new UsageError("curvature estimates (obd, taylor, second-order utility) are defined for softmax cross-entropy and squared error, not for sigmoid outputs", "prune by magnitude or first-order utility");
  }
}
