/**
 * Reference kernels: the living definition of forward, loss and backward for a fixed-in-degree DAG.
 * Plain loops over flat arrays, no tricks; generic over Float32Array/Float64Array so the same code is
 * both the float32 oracle for fast engines and the float64 function that finite differences check.
 * This file is what the engine *means*; it refuses to be fast.
 *
 * Legend: k neurons, n inputs, m outputs, d in-degree, B batch; buffers are neuron-major [i·B + b].
 */
import { crossEntropyBitsFrom, softmaxStats } from "../softmax.js";
import type { Batch } from "../types.js";
import { dropoutKeeps, type DropoutMask } from "../dropout.js";

export type FloatArray = Float32Array | Float64Array;

export interface Graph {
  neurons: number;
  inputs: number;
  outputs: number;
  inDegree: number;
  sources: Int32Array;
  /** Non-input neurons in evaluation order. */
  order: Int32Array;
}

export interface Parameters {
  weights: FloatArray; // (k-n)·d
  biases: FloatArray; // k
}

/** Buffers for one batch; allocate with `allocateWorkspace`. */
export interface Workspace {
  batch: number;
  /** Pre-activations a (non-inputs) and, for dense inputs, input values x: k·B. */
  pre: FloatArray;
  /** δ = ∂L/∂a, k·B. For inputs: ∂L/∂x (only filled when asked). */
  delta: FloatArray;
  /** ∂L/∂σ(a) accumulated from consumers, k·B. */
  upstream: FloatArray;
  /** For one-hot inputs: samples in which input i is active, CSR over inputs. */
  activeStart: Int32Array;
  activeSamples: Int32Array;
}

export function allocateWorkspace(graph: Graph, batch: number, precision: "f32" | "f64"): Workspace {
  const size = graph.neurons * batch;
  const make = (len: number): FloatArray => (precision === "f64" ? new Float64Array(len) : new Float32Array(len));
  return {
    batch,
    pre: make(size),
    delta: make(size),
    upstream: make(size),
    activeStart: new Int32Array(graph.inputs + 1),
    activeSamples: new Int32Array(0),
  };
}

/** A float64 copy of a network's parameters, for the float64 reference path. */
export function float64Parameters(net: { weights: Float32Array; biases: Float32Array }): Parameters {
  return { weights: Float64Array.from(net.weights), biases: Float64Array.from(net.biases) };
}

/** One workspace per batch size, allocated on first use and reused. */
export function workspaceCache(graph: Graph, precision: "f32" | "f64"): (batch: number) => Workspace {
  const cache = new Map<number, Workspace>();
  return (batch) => {
    let ws = cache.get(batch);
    if (!ws) cache.set(batch, (ws = allocateWorkspace(graph, batch, precision)));
    return ws;
  };
}

/** Load inputs: dense values into pre[0..n·B); one-hot lists inverted to samples-per-input. */
export function loadInputs(graph: Graph, batch: Batch, ws: Workspace): void {
  const B = batch.size;
  const n = graph.inputs;
  if (batch.inputs.kind === "dense") {
    const x = batch.inputs.values;
    for (let p = 0; p < n * B; p++) ws.pre[p] = x[p]!;
    return;
  }
  const { perSample, active } = batch.inputs;
  const start = ws.activeStart;
  start.fill(0);
  for (let p = 0; p < B * perSample; p++) start[active[p]! + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  if (ws.activeSamples.length < B * perSample) ws.activeSamples = new Int32Array(B * perSample);
  const fill = start.slice(0, n);
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < perSample; p++) ws.activeSamples[fill[active[b * perSample + p]!]!++] = b;
  }
}

/**
 * Forward pass (Def. 3.20) in evaluation order: a_i = b_i + Σ_e w_e σ(a_source(e)). With `dropout`
 * (training steps only) a hidden neuron's stored a is multiplied by its mask factor (0 or the scale):
 * σ(s·a) = s·σ(a) for s ≥ 0, so consumers read the dropped output and backward sees σ' = 0 where dropped.
 */
export function forward(graph: Graph, params: Parameters, batch: Batch, ws: Workspace, dropout?: DropoutMask): void {
  const { inputs: n, inDegree: d, sources, order } = graph;
  const B = batch.size;
  const oneHot = batch.inputs.kind === "one-hot";
  loadInputs(graph, batch, ws);
  for (let r = 0; r < order.length; r++) {
    const j = order[r]!;
    const row = (j - n) * d;
    const out = j * B;
    for (let b = 0; b < B; b++) ws.pre[out + b] = params.biases[j]!;
    for (let e = 0; e < d; e++) {
      const s = sources[row + e]!;
      const w = params.weights[row + e]!;
      if (s < n && oneHot) {
        // One-hot source: add w only where the input is 1 (never multiply by zeros).
        for (let q = ws.activeStart[s]!; q < ws.activeStart[s + 1]!; q++) ws.pre[out + ws.activeSamples[q]!]! += w;
      } else if (s < n) {
        for (let b = 0; b < B; b++) ws.pre[out + b]! += w * ws.pre[s * B + b]!;
      } else {
        for (let b = 0; b < B; b++) {
          const a = ws.pre[s * B + b]!;
          if (a > 0) ws.pre[out + b]! += w * a;
        }
      }
    }
    if (dropout && j < dropout.firstOutput) {
      const key = dropout.keys[j]!;
      for (let b = 0; b < B; b++) ws.pre[out + b] = dropoutKeeps(key, b, dropout.threshold) ? ws.pre[out + b]! * dropout.scale : 0;
    }
  }
}

/**
 * Loss of the output neurons and its gradient ∂(mean loss)/∂a_o written into delta (outputs only).
 * Cross-entropy in bits with a max-shifted softmax (numerically stable, Example 3.6); squared error
 * Σ_o (a_o − y_o)² per sample (Example 3.5). Returns the SUM of per-sample losses; gradients are of
 * the MEAN (divided by B). `withGradient = false` skips the gradient. `correct` counts arg-max hits.
 */
export function loss(graph: Graph, batch: Batch, ws: Workspace, withGradient: boolean): { lossSum: number; correct: number } {
  const { neurons: k, outputs: m } = graph;
  const B = batch.size;
  const first = k - m;
  let lossSum = 0;
  let correct = 0;
  if (batch.targets.kind === "class" && (batch.targets.loss === "sigmoid-squared" || batch.targets.loss === "sigmoid-squared-set")) {
    // Sigmoid outputs, squared error against the one-hot target; arg-max of a (= of σ(a)), first wins.
    // SET's code's gradient instead of the true one: (σ − y)·σ'(σ), its derivative taken at σ(a).
    const setGradient = batch.targets.loss === "sigmoid-squared-set";
    const classes = batch.targets.classes;
    for (let b = 0; b < B; b++) {
      const t = classes[b]!;
      let arg = 0;
      for (let o = 0; o < m; o++) {
        const a = ws.pre[(first + o) * B + b]!;
        if (a > ws.pre[(first + arg) * B + b]!) arg = o;
        const p = 1 / (1 + Math.exp(-a));
        const diff = p - (o === t ? 1 : 0);
        lossSum += diff * diff;
        if (withGradient) {
          const q = setGradient ? 1 / (1 + Math.exp(-p)) : p;
          ws.delta[(first + o) * B + b] = ((setGradient ? diff : 2 * diff) * q * (1 - q)) / B;
        }
      }
      if (arg === t) correct++;
    }
  } else if (batch.targets.kind === "class") {
    const classes = batch.targets.classes;
    for (let b = 0; b < B; b++) {
      const stats = softmaxStats(ws.pre, first * B + b, B, m);
      const { max, logSum } = stats;
      const t = classes[b]!;
      lossSum += crossEntropyBitsFrom(stats, ws.pre[(first + t) * B + b]!);
      if (stats.arg === t) correct++;
      if (withGradient) {
        for (let o = 0; o < m; o++) {
          const p = Math.exp(ws.pre[(first + o) * B + b]! - max - logSum);
          ws.delta[(first + o) * B + b] = ((o === t ? p - 1 : p) / Math.LN2) / B;
        }
      }
    }
  } else {
    const y = batch.targets.values;
    for (let o = 0; o < m; o++) {
      for (let b = 0; b < B; b++) {
        const diff = ws.pre[(first + o) * B + b]! - y[o * B + b]!;
        lossSum += diff * diff;
        if (withGradient) ws.delta[(first + o) * B + b] = (2 * diff) / B;
      }
    }
  }
  return { lossSum, correct };
}

/**
 * Backward pass in reverse evaluation order (Example 4.9). Expects `loss(…, true)` to have written
 * the outputs' direct gradients into delta. Fills delta for all non-inputs (and for inputs when
 * `inputErrors`), and the gradients of the mean loss w.r.t. every weight and bias.
 * Push style (each neuron scatters w·δ into its sources' upstream): simplest to read; the fast
 * engine pulls over the transposed graph instead.
 */
export function backward(
  graph: Graph,
  params: Parameters,
  batch: Batch,
  ws: Workspace,
  weightGradients: FloatArray,
  biasGradients: FloatArray,
  inputErrors: boolean,
  dropout?: DropoutMask,
): void {
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources, order } = graph;
  const B = batch.size;
  const firstOutput = k - m;
  ws.upstream.fill(0);
  biasGradients.fill(0);
  for (let r = order.length - 1; r >= 0; r--) {
    const j = order[r]!;
    const base = j * B;
    // δ_j = direct loss term (outputs) + σ'(a_j)·Σ_consumers w·δ  (consumers are later in the order).
    // A dropped-out neuron stored 0 (σ' = 0); a kept one s·a, so its δ gets the factor s.
    const scale = dropout && j < firstOutput ? dropout.scale : 1;
    for (let b = 0; b < B; b++) {
      const direct = j >= firstOutput ? ws.delta[base + b]! : 0;
      ws.delta[base + b] = direct + (ws.pre[base + b]! > 0 ? (scale === 1 ? ws.upstream[base + b]! : ws.upstream[base + b]! * scale) : 0);
    }
    let biasGradient = 0;
    for (let b = 0; b < B; b++) biasGradient += ws.delta[base + b]!;
    biasGradients[j] = biasGradient;
    const row = (j - n) * d;
    for (let e = 0; e < d; e++) {
      const s = sources[row + e]!;
      const w = params.weights[row + e]!;
      let g = 0;
      if (s < n && batch.inputs.kind === "one-hot") {
        // One-hot source: σ = 1 exactly where active, so ∂L/∂w sums δ over those samples only.
        for (let q = ws.activeStart[s]!; q < ws.activeStart[s + 1]!; q++) g += ws.delta[base + ws.activeSamples[q]!]!;
      } else if (s < n) {
        for (let b = 0; b < B; b++) g += ws.delta[base + b]! * ws.pre[s * B + b]!;
      } else {
        for (let b = 0; b < B; b++) {
          const a = ws.pre[s * B + b]!;
          if (a > 0) g += ws.delta[base + b]! * a;
        }
      }
      if (s >= n || inputErrors) {
        for (let b = 0; b < B; b++) ws.upstream[s * B + b]! += w * ws.delta[base + b]!;
      }
      weightGradients[row + e] = g;
    }
  }
  if (inputErrors) {
    // Inputs pass through unchanged, so ∂L/∂x_i = upstream_i.
    for (let p = 0; p < n * B; p++) ws.delta[p] = ws.upstream[p]!;
  }
}

/** σ(a) of every neuron for every sample (inputs: their values), k·B. */
export function outputsOf(graph: Graph, batch: Batch, ws: Workspace, into: FloatArray): void {
  const B = batch.size;
  const n = graph.inputs;
  for (let i = 0; i < graph.neurons; i++) {
    if (i < n && batch.inputs.kind === "one-hot") {
      for (let b = 0; b < B; b++) into[i * B + b] = 0;
      for (let q = ws.activeStart[i]!; q < ws.activeStart[i + 1]!; q++) into[i * B + ws.activeSamples[q]!] = 1;
    } else {
      for (let b = 0; b < B; b++) {
        const a = ws.pre[i * B + b]!;
        into[i * B + b] = i < n || a > 0 ? a : 0;
      }
    }
  }
}
