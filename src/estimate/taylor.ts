/**
 * A second-order estimate of an edge's utility (Def. 4.1): deleting edge i → j (weight w) changes
 * the loss by about
 *
 *     ΔL ≈ −w·∂L/∂w + ½·w²·∂²L/∂w²,
 *
 * the thesis's first-order term (eq. 4.3) plus the curvature term of optimal brain damage. The
 * first-order term alone is noisy over one batch and its noise grows with |w|: ranking by it deletes
 * large weights whose batch gradient happens to point towards zero, which wrecks a network when many
 * edges are rewired at once (measured in RESULTS.md). The curvature term protects large weights.
 *
 * The curvature comes for free from the activity a round already has: per sample b the gradient of
 * the edge is g_b = σ(a_i)[b]·∂ℓ_b/∂a_j, and the empirical Fisher information mean_b(g_b²) estimates
 * the Hessian diagonal of the cross-entropy (in nats; × ln 2 for bits). The engines return
 * δ = ∂(mean loss)/∂a = (1/S)·∂ℓ_b/∂a, so mean_b(g_b²) = S·Σ_b (σ_i[b]·δ_j[b])².
 */
import type { Network } from "../graph/network.js";
import { ShapeError } from "../util/errors.js";
import type { Activity } from "./activity.js";
import { firstOrderUtility } from "./utility.js";

/**
 * |w|·rms(σ(a_i)) for every edge i → j into `utility`: the root-mean-square size of the edge's term
 * in a_j over the activity's samples (Wanda, Sun et al. 2023, for the fixed in-degree network). Unlike
 * |w| it sees that an edge from a rarely active neuron (or a rare input symbol) contributes little.
 */
export function wandaUtility(net: Network, activity: Activity, utility: Float64Array): void {
  const k = net.neurons;
  if (activity.neurons !== k) throw new ShapeError(`activity of ${activity.neurons} neurons for a network of ${k}`);
  if (utility.length !== net.edges) throw new ShapeError(`utility needs ${net.edges} entries`);
  const S = activity.samples;
  const rms = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let b = 0; b < S; b++) {
      const v = activity.outputs[i * S + b]!;
      s += v * v;
    }
    rms[i] = Math.sqrt(s / S);
  }
  for (let p = 0; p < net.edges; p++) utility[p] = Math.abs(net.weights[p]!) * rms[net.sources[p]!]!;
}

/**
 * ΔL estimates for every edge into `utility` (length (k−n)·d). `gradient` is ∂(mean loss)/∂w
 * averaged over the batches; `activity` holds the same batches' samples; `batches` is their number
 * (stacked δ carry 1/B per batch, so S per batch is samples / batches).
 */
export function taylorUtility(net: Network, gradient: ArrayLike<number>, activity: Activity, batches: number, utility: Float64Array): void {
  const { inputs: n, inDegree: d, neurons: k } = net;
  if (activity.neurons !== k) throw new ShapeError(`activity of ${activity.neurons} neurons for a network of ${k}`);
  if (utility.length !== net.edges || gradient.length !== net.edges) throw new ShapeError(`utility and gradient need ${net.edges} entries`);
  const S = activity.samples;
  const perBatch = S / batches;
  // Hessian in bits ≈ ln 2 · Fisher (nats² → bits): mean over all samples of g_b², g_b = perBatch·σ·δ.
  const scale = (Math.LN2 * perBatch * perBatch) / S;
  const out = activity.outputs;
  const err = activity.errors;
  for (let j = n; j < k; j++) {
    const row = (j - n) * d;
    const ej = j * S;
    for (let e = 0; e < d; e++) {
      const i = net.sources[row + e]!;
      const oi = i * S;
      let f = 0;
      for (let b = 0; b < S; b++) {
        const g = out[oi + b]! * err[ej + b]!;
        f += g * g;
      }
      const w = net.weights[row + e]!;
      utility[row + e] = firstOrderUtility(w, gradient[row + e]!) + 0.5 * w * w * scale * f;
    }
  }
}
