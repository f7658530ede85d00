/**
 * Pruning to a smaller fixed in-degree (thesis §4.1 used for compression, §4.2's "sparsification"):
 * every non-input neuron keeps its D2 most useful in-edges by a per-edge utility (higher = more
 * useful, as estimateUtility returns it), so the network stays a fixed-in-degree network with
 * d = D2. Optional bias compensation adds the removed edges' mean contribution w·E[σ(a_s)] to the
 * target's bias, so that each neuron's mean pre-activation is unchanged. Browser-safe.
 */
import { Network } from "../graph/network.js";
import { ShapeError, UsageError } from "../util/errors.js";

/** Options of `pruneToInDegree`. */
export interface PruneOptions {
  /** Mean σ(a) of every neuron (inputs: mean input value), length k: enables bias compensation. */
  meanOutputs?: ArrayLike<number>;
}

/** What `pruneToInDegree` returns: the smaller network and which edges went where. */
export interface PruneResult {
  /** A new network of the smaller in-degree (the input network is not changed). */
  network: Network;
  /** Removed edges, as indices into the ORIGINAL network's sources/weights, ascending. */
  removed: Int32Array;
  /** For each kept edge of the new network, its index in the original network. */
  kept: Int32Array;
}

/**
 * Keeps, in every row, the `inDegree` edges with the highest utility (ties: the earlier slot wins),
 * in their original slot order. Refuses NaN utilities and an in-degree that prunes nothing.
 */
export function pruneToInDegree(net: Network, utility: ArrayLike<number>, inDegree: number, options: PruneOptions = {}): PruneResult {
  const d = net.inDegree;
  if (!Number.isInteger(inDegree) || inDegree < 1) throw new UsageError(`the new in-degree must be a positive integer, got ${inDegree}`);
  if (inDegree >= d) {
    throw new UsageError(`the model's in-degree is ${d}, so pruning to in-degree ${inDegree} would remove nothing`, `give an in-degree below ${d}`);
  }
  if (utility.length !== net.edges) throw new ShapeError(`utility has ${utility.length} entries, expected one per edge (${net.edges})`);
  for (let e = 0; e < net.edges; e++) {
    if (Number.isNaN(utility[e]!)) throw new UsageError(`edge ${e} has no utility (NaN): pruning needs the utility of every edge`);
  }
  const means = options.meanOutputs;
  if (means !== undefined && means.length !== net.neurons) throw new ShapeError(`mean outputs have ${means.length} entries, expected one per neuron (${net.neurons})`);
  const rows = net.neurons - net.inputs;
  const sources = new Int32Array(rows * inDegree);
  const weights = new Float32Array(rows * inDegree);
  const biases = net.biases.slice();
  const kept = new Int32Array(rows * inDegree);
  const removed: number[] = [];
  const slots = new Array<number>(d);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    for (let s = 0; s < d; s++) slots[s] = s;
    slots.sort((a, b) => utility[base + b]! - utility[base + a]! || a - b);
    const keep = slots.slice(0, inDegree).sort((a, b) => a - b);
    const drop = new Set(slots.slice(inDegree));
    for (let t = 0; t < inDegree; t++) {
      const e = base + keep[t]!;
      sources[r * inDegree + t] = net.sources[e]!;
      weights[r * inDegree + t] = net.weights[e]!;
      kept[r * inDegree + t] = e;
    }
    let shift = 0;
    for (let s = 0; s < d; s++) {
      if (!drop.has(s)) continue;
      removed.push(base + s);
      if (means !== undefined) shift += net.weights[base + s]! * means[net.sources[base + s]!]!;
    }
    if (means !== undefined) biases[net.inputs + r] = biases[net.inputs + r]! + shift;
  }
  const network = Network.fromArrays({
    neurons: net.neurons,
    inputs: net.inputs,
    outputs: net.outputs,
    inDegree,
    sources,
    weights,
    biases,
    task: structuredClone(net.task),
  });
  return { network, removed: Int32Array.from(removed), kept };
}
