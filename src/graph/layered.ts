/**
 * A layered sparse network (issue 15): inputs, hidden layers of given sizes, outputs, where every
 * non-input neuron takes its fixed in-degree d of sources from the layer just before it, so the
 * classic sparse-MLP set-ups (SET, RigL's MLPs) can be built in the thesis's representation. Neurons
 * are numbered layer by layer (inputs first, outputs last, as Def. 3.14's form wants). Rewiring
 * relaxes the layering: it keeps the graph acyclic, not layered (rewire/ knows only admissibility).
 */
import { UsageError } from "../util/errors.js";
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
}

/** Random layered network: sources drawn uniformly without repetition from the previous layer, He-scaled weights N(0, 2/d), biases 0. */
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
  const std = Math.sqrt(2 / d);
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
