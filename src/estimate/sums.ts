/**
 * The loss, gradient and curvature sums over a set of batches T that every estimate starts from:
 * through an engine (float32, its own passes) or on the float64 reference kernels (the oracle).
 * Sums, not means: Σ_batches size·(batch-mean value), so that dividing by |T| gives the mean over the
 * union of the batches. Used by the utilities (utility.ts) and the quantisation sensitivity.
 */
import type { Network } from "../graph/network.js";
import type { Batch, Engine } from "../engine/types.js";
import { backward, float64Parameters, forward, loss, workspaceCache } from "../engine/reference/index.js";
import { gaussNewtonDiagonal, obdDiagonal } from "./hessian.js";

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

/** Σ over samples of the loss on the float64 reference kernels. */
export function referenceLoss(net: Network, batches: readonly Batch[]): number {
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
