/**
 * What compression needs to know about the loss near the trained weights, over a set of batches T:
 * the mean loss L_T, its gradient ∂L_T/∂w (eq. 4.5's slope), optionally the diagonal second
 * derivative ∂²L_T/∂w² (OBD's curvature, for the second-order estimate), and the mean output
 * σ(a) of every neuron (for bias compensation when pruning).
 *
 * Loss and gradient go through the engine if one is given (float32, fast) or the float64 reference
 * kernels for a bare Network. The curvature and the mean outputs always come from the float64
 * reference kernels (no engine computes them). Browser-safe.
 */
import type { Batch, Engine } from "../engine/types.js";
import { Network } from "../graph/network.js";
import { checkBatch } from "../engine/reference/index.js";
import { float64Parameters, forward, outputsOf, workspaceCache } from "../engine/reference/index.js";
import { engineGradient, engineLoss, referenceGradient, referenceHessian } from "./sums.js";
import { UsageError } from "../util/errors.js";

/** Which ∂²L/∂w² diagonal: LeCun's one extra backward pass (approximate), or the exact Gauss–Newton diagonal (m passes). */
export type CurvatureKind = "lecun" | "gauss-newton";

/** Options of `measureSensitivity`: what to compute besides loss and gradient. */
export interface SensitivityOptions {
  /** Also compute ∂²L_T/∂w² (LeCun's diagonal pass or the exact Gauss–Newton diagonal). */
  curvature?: CurvatureKind | false;
  /** Also compute the mean σ(a) of every neuron over all samples. */
  meanOutputs?: boolean;
}

/** What `measureSensitivity` returns: L_T and its derivatives, per sample (divided by |T|). */
export interface Sensitivity {
  /** L_T: mean loss per sample (bits for cross-entropy) over all samples of all batches. */
  loss: number;
  /** |T|: samples over all batches. */
  samples: number;
  /** ∂L_T/∂w, parallel to network.weights. */
  gradient: Float64Array;
  /** ∂²L_T/∂w² (diagonal), parallel to network.weights; only with `curvature`. */
  curvature?: Float64Array;
  /** Mean σ(a) per neuron (inputs: mean input value), length k; only with `meanOutputs`. */
  meanOutputs?: Float64Array;
  /** Where loss and gradient came from: the engine (float32) or the float64 reference kernels (a bare Network). */
  computedWith: "engine" | "reference-f64";
}

/** Loss, gradient (and optionally curvature and mean outputs) of L_T over the union of `batches`. */
export function measureSensitivity(source: Engine | Network, batches: readonly Batch[], options: SensitivityOptions = {}): Sensitivity {
  if (batches.length === 0) throw new UsageError("compression needs at least one batch to estimate the loss");
  const engine = source instanceof Network ? undefined : source;
  engine?.pull();
  const net = engine ? engine.network : (source as Network);
  for (const batch of batches) checkBatch(net, batch);
  const samples = batches.reduce((s, b) => s + b.size, 0);
  // The same sums the utility estimates use (utility.ts), divided by |T| here.
  const { lossSum, gradient } = engine ? engineGradient(engine, batches) : referenceGradient(net, batches);
  for (let e = 0; e < gradient.length; e++) gradient[e]! /= samples;
  const result: Sensitivity = { loss: lossSum / samples, samples, gradient, computedWith: engine ? "engine" : "reference-f64" };
  if (options.curvature) {
    const { hessian: curvature } = referenceHessian(net, batches, options.curvature);
    for (let e = 0; e < curvature.length; e++) curvature[e]! /= samples;
    result.curvature = curvature;
  }
  if (options.meanOutputs) {
    const params = float64Parameters(net);
    const get = workspaceCache(net, "f64");
    const means = new Float64Array(net.neurons);
    for (const batch of batches) {
      const B = batch.size;
      const ws = get(B);
      forward(net, params, batch, ws);
      const out = new Float64Array(net.neurons * B);
      outputsOf(net, batch, ws, out);
      for (let i = 0; i < net.neurons; i++) {
        let s = 0;
        for (let b = 0; b < B; b++) s += out[i * B + b]!;
        means[i]! += s;
      }
    }
    for (let i = 0; i < means.length; i++) means[i]! /= samples;
    result.meanOutputs = means;
  }
  return result;
}

/** Mean loss per sample over the batches, through the engine (after a push of the network). */
export function meanLoss(engine: Engine, batches: readonly Batch[]): number {
  return engineLoss(engine, batches) / batches.reduce((s, b) => s + b.size, 0);
}
