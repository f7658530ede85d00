/**
 * A layered sparse network (issue 15): inputs, hidden layers of given sizes, outputs, where every
 * non-input neuron takes its fixed in-degree d of sources from the layer just before it, so the
 * classic sparse-MLP set-ups (SET, RigL's MLPs) can be built in the thesis's representation. Neurons
 * are numbered layer by layer (inputs first, outputs last, as Def. 3.14's form wants). Rewiring
 * relaxes the layering by default (it keeps the graph acyclic, not layered); with the layers given
 * to the rewirer (`layeredAdmissibility`) it keeps every new edge between consecutive layers.
 */
import { ShapeError, UsageError } from "../util/errors.js";
import type { Admissibility } from "./admissibility.js";
import type { Rng } from "../util/rng.js";
import { Network, type Task } from "./network.js";

/** Shape of a layered network. */
export interface LayeredOptions {
  inputs: number;
  /** Sizes of the hidden layers, first to last (may be empty: outputs read the inputs). */
  layers: readonly number[];
  outputs: number;
  /** Sources of every non-input neuron, all from the previous layer. */
  inDegree: number;
  task?: Task;
  /** Standard deviation of the initial weights (default He's √(2/d); SET's code uses 0.1). */
  initStd?: number;
}

/** Random layered network: sources drawn uniformly without repetition from the previous layer, weights N(0, 2/d) (He) or N(0, initStd²), biases 0. */
export function layeredNetwork(o: LayeredOptions, rng: Rng): Network {
  const sizes = [o.inputs, ...o.layers, o.outputs];
  const d = o.inDegree;
  for (let l = 0; l < sizes.length; l++) {
    if (!(Number.isInteger(sizes[l]) && sizes[l]! >= 1)) throw new UsageError(`layer ${l} must have a positive whole number of neurons, got ${sizes[l]}`);
  }
  if (!(Number.isInteger(d) && d >= 1)) throw new UsageError(`in-degree must be a positive integer, got ${d}`);
  for (let l = 1; l < sizes.length; l++) {
    if (d > sizes[l - 1]!) {
      const what = l === 1 ? `the ${sizes[0]} inputs` : `layer ${l - 1} (${sizes[l - 1]} neurons)`;
      throw new UsageError(`in-degree ${d} exceeds ${what}: every neuron of ${l === sizes.length - 1 ? "the output layer" : `layer ${l}`} takes ${d} distinct sources from it`, "use a smaller in-degree or wider layers");
    }
  }
  const k = sizes.reduce((a, b) => a + b, 0);
  const n = o.inputs;
  const sources = new Int32Array((k - n) * d);
  const weights = new Float32Array((k - n) * d);
  const std = o.initStd ?? Math.sqrt(2 / d);
  if (!(std >= 0 && Number.isFinite(std))) throw new UsageError(`initial weight scale must be a number ≥ 0, got ${std}`);
  const chosen = new Set<number>();
  const row = new Int32Array(d);
  let prevStart = 0;
  let start = n;
  for (let l = 1; l < sizes.length; l++) {
    const prev = sizes[l - 1]!;
    for (let i = start; i < start + sizes[l]!; i++) {
      // Floyd's algorithm: d distinct offsets in [0, prev) in O(d).
      chosen.clear();
      for (let j = prev - d; j < prev; j++) {
        const t = rng.nextInt(j + 1);
        chosen.add(chosen.has(t) ? j : t);
      }
      let e = 0;
      for (const c of chosen) row[e++] = prevStart + c;
      row.sort();
      const base = (i - n) * d;
      for (let e2 = 0; e2 < d; e2++) {
        sources[base + e2] = row[e2]!;
        weights[base + e2] = std * rng.nextNormal();
      }
    }
    prevStart = start;
    start += sizes[l]!;
  }
  return Network.fromArrays({ neurons: k, inputs: n, outputs: o.outputs, inDegree: d, sources, weights, biases: new Float32Array(k), ...(o.task ? { task: o.task } : {}) });
}

/** The layer of every neuron of a network built by `layeredNetwork` with these sizes (inputs 0). */
export function layerOf(o: Pick<LayeredOptions, "inputs" | "layers" | "outputs">): Int32Array {
  const sizes = [o.inputs, ...o.layers, o.outputs];
  const out = new Int32Array(sizes.reduce((a, b) => a + b, 0));
  let at = 0;
  sizes.forEach((size, l) => {
    out.fill(l, at, at + size);
    at += size;
  });
  return out;
}

/** Admissibility of a layered network, and where each target's sources may come from. */
export interface LayeredAdmissibility extends Admissibility {
  /** The neurons [first, last + 1) of the layer before `target`'s ([0, 0) for an input). */
  previousLayer(target: number): [number, number];
}

/**
 * Admissibility (§4.5) that keeps a layered network layered: i → j is admissible iff i is in the
 * layer just before j's and not already a source of j. Such an edge never closes a cycle, so no
 * search of the graph is needed. `layer`: the layer of every neuron, numbered contiguously as
 * `layerOf` gives them. Reads the network's live sources, so it stays right across rewiring rounds.
 */
export function layeredAdmissibility(net: Network, layer: Int32Array): LayeredAdmissibility {
  const k = net.neurons;
  const d = net.inDegree;
  const n = net.inputs;
  checkLayers(net, layer);
  // start[l]: first neuron of layer l (contiguous numbering), start[L] = k.
  const layers = layer[k - 1]! + 1;
  const start = new Int32Array(layers + 1).fill(k);
  for (let i = k - 1; i >= 0; i--) start[layer[i]!] = i;
  const previousLayer = (target: number): [number, number] => {
    const l = layer[target]!;
    return l === 0 ? [0, 0] : [start[l - 1]!, start[l]!];
  };
  const isSource = (s: number, t: number): boolean => {
    const base = (t - n) * d;
    for (let e = 0; e < d; e++) if (net.sources[base + e] === s) return true;
    return false;
  };
  return {
    previousLayer,
    fill(target, into) {
      const [lo, hi] = previousLayer(target);
      into.fill(1, lo, hi);
      const base = (target - n) * d;
      for (let e = 0; e < d; e++) into[net.sources[base + e]!] = 0;
    },
    fillBlock(targets, words) {
      words.fill(0, 0, k);
      for (let t = 0; t < targets.length; t++) {
        const j = targets[t]!;
        const bit = 1 << t;
        const [lo, hi] = previousLayer(j);
        for (let i = lo; i < hi; i++) words[i]! |= bit;
        const base = (j - n) * d;
        for (let e = 0; e < d; e++) words[net.sources[base + e]!]! &= ~bit;
      }
    },
    admits(s, t) {
      return t >= n && layer[s] === layer[t]! - 1 && !isSource(s, t);
    },
  };
}

/** A layer per neuron, inputs in layer 0, non-decreasing (contiguous layers), every edge from the layer before. */
function checkLayers(net: Network, layer: Int32Array): void {
  const k = net.neurons;
  if (layer.length !== k) throw new ShapeError(`layers: ${layer.length} entries for ${k} neurons`);
  for (let i = 0; i < k; i++) {
    if (i < net.inputs ? layer[i] !== 0 : !(layer[i]! >= 1)) throw new ShapeError(`layers: neuron ${i} is in layer ${layer[i]}, but inputs are layer 0 and only inputs are`);
    if (i > 0 && layer[i]! < layer[i - 1]!) throw new ShapeError(`layers: neuron ${i} (layer ${layer[i]}) follows neuron ${i - 1} (layer ${layer[i - 1]}): layers must be numbered contiguously`);
  }
  const d = net.inDegree;
  for (let j = net.inputs; j < k; j++) {
    for (let e = 0; e < d; e++) {
      const s = net.sources[(j - net.inputs) * d + e]!;
      if (layer[s] !== layer[j]! - 1) throw new ShapeError(`layers: edge ${s} → ${j} joins layers ${layer[s]} and ${layer[j]}, not consecutive ones`);
    }
  }
}
