/**
 * The true utility of Def. 4.1: L_T(w with w_e = 0) − L_T(w), one deletion at a time, through an
 * engine (zero, push, evaluate, restore) or incrementally on the float64 reference kernels.
 */
import { transpose, type Network } from "../graph/network.js";
import type { Batch, Engine } from "../engine/types.js";
import { float64Parameters, forward, loss, workspaceCache, type Graph, type Workspace } from "../engine/reference/index.js";
import { engineLoss } from "./sums.js";

/**
 * Def. 4.1 through the engine: zero the weight, push it to the engine, evaluate every batch,
 * restore. push() re-reads the whole graph (O(edges)), cheap next to a forward over the batches.
 * Returns Σ_samples of (loss without − loss with) per edge, and the base loss sum.
 */
export function engineTrueUtility(engine: Engine, batches: readonly Batch[], edges: Int32Array, onProgress?: (done: number, total: number) => void): { base: number; deleted: Float64Array } {
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

/**
 * Def. 4.1 in float64, incrementally. Per batch, one full forward gives the base pre-activations;
 * per edge e = s → j, a_j changes by −w_e·σ(a_s), and the change is pushed to consumers in
 * evaluation order (a'_c = a_c + w·(σ(a'_i) − σ(a_i)), the forward's own sum, so the result is the
 * full re-evaluation up to float64 rounding). A neuron is visited only if one of its sources'
 * outputs actually changed, so the cost is the affected part of the network, not all of it.
 * Outer loop over batches so memory stays at one batch (k·B).
 */
export function referenceTrueUtility(net: Network, batches: readonly Batch[], edges: Int32Array, onProgress?: (done: number, total: number) => void): { base: number; deleted: Float64Array } {
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
