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
import { checkBatch } from "../engine/reference/engine.js";
import { allocateWorkspace, backward, forward, loss, outputsOf, type Parameters, type Workspace } from "../engine/reference/kernels.js";
import { gaussNewtonDiagonal, obdDiagonal } from "../rewire/hessian.js";
import { UsageError } from "../util/errors.js";

export type CurvatureKind = "lecun" | "gauss-newton";

export interface SensitivityOptions {
  /** Also compute ∂²L_T/∂w² (LeCun's diagonal pass or the exact Gauss–Newton diagonal). */
  curvature?: CurvatureKind | false;
  /** Also compute the mean σ(a) of every neuron over all samples. */
  meanOutputs?: boolean;
}

export interface Sensitivity {
  /** L_T: mean loss per sample (bits for cross-entropy) over all samples of all batches. */
  loss: number;
  samples: number;
  /** ∂L_T/∂w, parallel to network.weights. */
  gradient: Float64Array;
  /** ∂²L_T/∂w² (diagonal), parallel to network.weights; only with `curvature`. */
  curvature?: Float64Array;
  /** Mean σ(a) per neuron (inputs: mean input value), length k; only with `meanOutputs`. */
  meanOutputs?: Float64Array;
  computedWith: "engine" | "reference-f64";
}

function parameters64(net: Network): Parameters {
  return { weights: Float64Array.from(net.weights), biases: Float64Array.from(net.biases) };
}

function workspaces(net: Network): (size: number) => Workspace {
  const cache = new Map<number, Workspace>();
  return (size) => {
    let ws = cache.get(size);
    if (!ws) cache.set(size, (ws = allocateWorkspace(net, size, "f64")));
    return ws;
  };
}

/** Loss, gradient (and optionally curvature and mean outputs) of L_T over the union of `batches`. */
export function measureSensitivity(source: Engine | Network, batches: readonly Batch[], options: SensitivityOptions = {}): Sensitivity {
  if (batches.length === 0) throw new UsageError("compression needs at least one batch to estimate the loss");
  const engine = source instanceof Network ? undefined : source;
  engine?.pull();
  const net = engine ? engine.network : (source as Network);
  for (const batch of batches) checkBatch(net, batch);
  const samples = batches.reduce((s, b) => s + b.size, 0);
  const gradient = new Float64Array(net.edges);
  let lossSum = 0;
  if (engine) {
    for (const batch of batches) {
      const g = engine.gradients(batch);
      lossSum += g.loss * batch.size;
      for (let e = 0; e < gradient.length; e++) gradient[e]! += g.weightGradients[e]! * batch.size;
    }
  } else {
    const params = parameters64(net);
    const get = workspaces(net);
    const g = new Float64Array(net.edges);
    const gb = new Float64Array(net.neurons);
    for (const batch of batches) {
      const ws = get(batch.size);
      forward(net, params, batch, ws);
      lossSum += loss(net, batch, ws, true).lossSum;
      backward(net, params, batch, ws, g, gb, false);
      for (let e = 0; e < gradient.length; e++) gradient[e]! += g[e]! * batch.size;
    }
  }
  for (let e = 0; e < gradient.length; e++) gradient[e]! /= samples;
  const result: Sensitivity = { loss: lossSum / samples, samples, gradient, computedWith: engine ? "engine" : "reference-f64" };
  if (options.curvature || options.meanOutputs) {
    const params = parameters64(net);
    const get = workspaces(net);
    const curvature = options.curvature ? new Float64Array(net.edges) : undefined;
    const h = new Float64Array(net.edges);
    const means = options.meanOutputs ? new Float64Array(net.neurons) : undefined;
    for (const batch of batches) {
      const B = batch.size;
      const ws = get(B);
      forward(net, params, batch, ws);
      if (curvature) {
        loss(net, batch, ws, false);
        if (options.curvature === "lecun") obdDiagonal(net, params, batch, ws, new Float64Array(net.neurons * B), h);
        else gaussNewtonDiagonal(net, params, batch, ws, h);
        for (let e = 0; e < curvature.length; e++) curvature[e]! += h[e]! * B;
      }
      if (means) {
        const out = new Float64Array(net.neurons * B);
        outputsOf(net, batch, ws, out);
        for (let i = 0; i < net.neurons; i++) {
          let s = 0;
          for (let b = 0; b < B; b++) s += out[i * B + b]!;
          means[i]! += s;
        }
      }
    }
    if (curvature) {
      for (let e = 0; e < curvature.length; e++) curvature[e]! /= samples;
      result.curvature = curvature;
    }
    if (means) {
      for (let i = 0; i < means.length; i++) means[i]! /= samples;
      result.meanOutputs = means;
    }
  }
  return result;
}

/** Mean loss per sample over the batches, through the engine (after a push of the network). */
export function meanLoss(engine: Engine, batches: readonly Batch[]): number {
  let sum = 0;
  let count = 0;
  for (const batch of batches) {
    sum += engine.evaluate(batch).lossSum;
    count += batch.size;
  }
  return sum / count;
}
