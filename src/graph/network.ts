/**
 * A sparse network (Def. 3.14, 3.20): an acyclic weighted directed graph of k neurons with biases.
 *
 * Legend: k = neurons, n = inputs (neurons 0..n-1), m = outputs (neurons k-m..k-1), d = in-degree.
 * Every non-input neuron i has exactly d incoming edges, stored in row r = i - n of the fixed-size
 * arrays `sources` and `weights` (both (k-n)·d, row-major). Inputs have no in-edges and no bias
 * (Def. 3.20, "for simplicity"). Memory is O(k·d): nothing here is ever k².
 *
 * The class keeps an evaluation order (a topological order of the non-input neurons, §4.5) and the
 * level of every neuron (the layers of Fig. 4.4: level 0 = inputs, level(i) = 1 + max level of its
 * sources), from which depth (Def. 3.16) follows. Rewiring edits `sources`/`weights` in place and
 * then repairs the order; `validate()` refuses anything that is not a valid network, naming the
 * neuron and the edge.
 */
import { GraphError, ShapeError } from "../util/errors.js";
import { Rng } from "../util/rng.js";

/** What the inputs and outputs mean. Stored in the model file. */
export type Task =
  | { kind: "next-symbol"; alphabet: string; context: number }
  | { kind: "classification"; classes: number; inputShape: number[] }
  | { kind: "none" };

/** The raw arrays of a network, as `Network.fromArrays` takes them: sources and weights (k−n)·d, row i−n for neuron i; biases k. */
export interface NetworkArrays {
  neurons: number;
  inputs: number;
  outputs: number;
  inDegree: number;
  sources: Int32Array;
  weights: Float32Array;
  biases: Float32Array;
  task?: Task;
}

/** The shape of a random network (`Network.random`): neurons k, inputs n, outputs m, in-degree d. */
export interface RandomNetworkOptions {
  neurons: number;
  inputs: number;
  outputs: number;
  inDegree: number;
  task?: Task;
  /**
   * Give every hidden neuron a path to an output (`giveEveryHiddenNeuronAReader`). §4.6's draw alone
   * leaves some late hidden neurons unread (60 of 1,133 in the thesis network): their d in-edges can
   * never learn, since their error is always 0. Default false: §4.6's draw unchanged.
   */
  reachOutputs?: boolean;
}

/**
 * A network of Def. 3.14 in the fixed-in-degree form: k neurons, inputs first and outputs last, every
 * non-input with exactly d in-edges, plus its evaluation order and levels. Make one with `random` or
 * `fromArrays`; both refuse anything that is not a valid network.
 */
export class Network {
  /** k: all neurons, inputs and outputs included. */
  readonly neurons: number;
  /** n: input neurons 0..n-1. */
  readonly inputs: number;
  /** m: output neurons k-m..k-1. */
  readonly outputs: number;
  /** d: in-edges of every non-input neuron. */
  readonly inDegree: number;
  /** (k-n)·d source neuron indices, row i-n for neuron i. */
  readonly sources: Int32Array;
  /** (k-n)·d edge weights, parallel to `sources`. */
  readonly weights: Float32Array;
  /** k biases; 0 for inputs. */
  readonly biases: Float32Array;
  task: Task;
  /** Non-input neurons in a valid evaluation order (length k-n). */
  order: Int32Array;
  /** Level of every neuron (length k); inputs are level 0. */
  levels: Int32Array;

  private constructor(a: NetworkArrays) {
    this.neurons = a.neurons;
    this.inputs = a.inputs;
    this.outputs = a.outputs;
    this.inDegree = a.inDegree;
    this.sources = a.sources;
    this.weights = a.weights;
    this.biases = a.biases;
    this.task = a.task ?? { kind: "none" };
    this.order = new Int32Array(0);
    this.levels = new Int32Array(0);
  }

  /** Wrap arrays as a network after full validation (throws GraphError / ShapeError). */
  static fromArrays(a: NetworkArrays): Network {
    checkSizes(a);
    const net = new Network(a);
    net.validate();
    return net;
  }

  /**
   * Random initialisation of §4.6: neurons are added one by one (in index order), each connected to
   * d distinct neurons drawn uniformly from those already in the graph, inputs included. Weights are
   * He-scaled by fan-in, N(0, 2/d); biases 0.
   */
  static random(o: RandomNetworkOptions, rng: Rng): Network {
    const { neurons: k, inputs: n, inDegree: d } = o;
    checkSizes({ ...o, sources: new Int32Array((k - n) * d), weights: new Float32Array((k - n) * d), biases: new Float32Array(k) });
    if (n < d) {
      throw new ShapeError(`in-degree ${d} exceeds the ${n} inputs: the first non-input neuron cannot get ${d} distinct sources`, "use an in-degree (`inDegree`) of at most the number of inputs", ["inDegree"]);
    }
    const sources = new Int32Array((k - n) * d);
    const weights = new Float32Array((k - n) * d);
    const std = Math.sqrt(2 / d);
    const chosen = new Set<number>();
    const row = new Int32Array(d);
    for (let i = n; i < k; i++) {
      // Floyd's algorithm: d distinct values from [0, i) in O(d).
      chosen.clear();
      for (let j = i - d; j < i; j++) {
        const t = rng.nextInt(j + 1);
        chosen.add(chosen.has(t) ? j : t);
      }
      let e = 0;
      for (const s of chosen) row[e++] = s;
      row.sort(); // ascending sources: sequential reads in the forward pass
      const base = (i - n) * d;
      for (let e2 = 0; e2 < d; e2++) {
        sources[base + e2] = row[e2]!;
        weights[base + e2] = std * rng.nextNormal();
      }
    }
    if (o.reachOutputs) giveEveryHiddenNeuronAReader({ neurons: k, inputs: n, outputs: o.outputs, inDegree: d, sources, weights }, rng);
    const { reachOutputs: _, ...shape } = o;
    const net = new Network({ ...shape, sources, weights, biases: new Float32Array(k) });
    net.computeOrder();
    return net;
  }

  /** Number of edges, (k-n)·d. */
  get edges(): number {
    return (this.neurons - this.inputs) * this.inDegree;
  }

  /** Trainable parameters: edge weights plus biases of non-input neurons. */
  get parameters(): number {
    return this.edges + (this.neurons - this.inputs);
  }

  /** Depth (Def. 3.16): the number of neurons on the longest path. */
  get depth(): number {
    let max = 0;
    for (let i = 0; i < this.levels.length; i++) if (this.levels[i]! > max) max = this.levels[i]!;
    return max + 1;
  }

  /** Number of neurons in each level, level 0 (the inputs) first (Fig. 4.4). */
  levelSizes(): number[] {
    const sizes = new Array<number>(this.depth).fill(0);
    for (let i = 0; i < this.neurons; i++) sizes[this.levels[i]!]!++;
    return sizes;
  }

  /**
   * Hidden neurons (neither input nor output) with no path to an output. Their error is always 0, so
   * their d in-edges never learn and their output is never read: edges spent for nothing. Walks the
   * evaluation order backwards from the outputs, O(k·d).
   */
  hiddenWithoutPathToOutput(): number {
    const { neurons: k, inputs: n, outputs: m, inDegree: d, sources } = this;
    const matters = new Uint8Array(k);
    for (let i = k - m; i < k; i++) matters[i] = 1;
    for (let r = this.order.length - 1; r >= 0; r--) {
      const j = this.order[r]!;
      if (matters[j]) for (let e = 0; e < d; e++) matters[sources[(j - n) * d + e]!] = 1;
    }
    let stranded = 0;
    for (let i = n; i < k - m; i++) if (!matters[i]) stranded++;
    return stranded;
  }

  /** Offset of neuron i's first in-edge in `sources`/`weights` (i must be a non-input). */
  rowOf(i: number): number {
    return (i - this.inputs) * this.inDegree;
  }

  /** A deep copy: arrays, task, evaluation order and levels (no revalidation). */
  clone(): Network {
    const c = new Network({
      neurons: this.neurons,
      inputs: this.inputs,
      outputs: this.outputs,
      inDegree: this.inDegree,
      sources: this.sources.slice(),
      weights: this.weights.slice(),
      biases: this.biases.slice(),
      task: structuredClone(this.task),
    });
    c.order = this.order.slice();
    c.levels = this.levels.slice();
    return c;
  }

  /**
   * Check everything Def. 3.14/3.20 and the fixed-in-degree representation require; then recompute
   * the evaluation order and levels. Throws GraphError naming the neuron and the edge.
   */
  validate(): void {
    const { neurons: k, inputs: n, inDegree: d, sources, weights, biases } = this;
    checkSizes(this);
    const seen = new Int32Array(k).fill(-1);
    for (let i = n; i < k; i++) {
      const base = (i - n) * d;
      if (!Number.isFinite(biases[i]!)) throw new GraphError(`neuron ${i}: bias is ${biases[i]}, not a finite number`);
      for (let e = 0; e < d; e++) {
        const s = sources[base + e]!;
        if (!(s >= 0 && s < k)) throw new GraphError(`neuron ${i}: edge ${e} has source ${s}, outside 0..${k - 1}`);
        if (s === i) throw new GraphError(`neuron ${i}: edge ${e} is a self-loop`);
        if (seen[s] === i) throw new GraphError(`neuron ${i}: edge ${e} from ${s} duplicates an earlier edge from ${s}`);
        seen[s] = i;
        const w = weights[base + e]!;
        if (!Number.isFinite(w)) throw new GraphError(`neuron ${i}: edge ${e} from ${s} has weight ${w}, not a finite number`);
      }
    }
    for (let i = 0; i < n; i++) {
      if (biases[i] !== 0) throw new GraphError(`input neuron ${i}: bias is ${biases[i]}; inputs have no bias (Def. 3.20)`);
    }
    this.computeOrder();
  }

  /**
   * Evaluation order by levels (Kahn's algorithm over the transposed graph, O(k·d)): neurons sorted
   * by level, then by index. Detects cycles and names one.
   */
  computeOrder(): void {
    const { neurons: k, inputs: n, inDegree: d, sources } = this;
    const consumers = transpose(this);
    const pending = new Int32Array(k); // in-edges from non-inputs not yet resolved
    const levels = new Int32Array(k);
    for (let i = n; i < k; i++) {
      let c = 0;
      let lvl = 0;
      const base = (i - n) * d;
      for (let e = 0; e < d; e++) {
        if (sources[base + e]! >= n) c++;
        else lvl = 1;
      }
      pending[i] = c;
      levels[i] = lvl;
    }
    const queue = new Int32Array(k - n);
    let head = 0;
    let tail = 0;
    for (let i = n; i < k; i++) if (pending[i] === 0) queue[tail++] = i;
    while (head < tail) {
      const j = queue[head++]!;
      for (let p = consumers.start[j]!; p < consumers.start[j + 1]!; p++) {
        const c = consumers.neuron[p]!;
        if (levels[j]! + 1 > levels[c]!) levels[c] = levels[j]! + 1;
        if (--pending[c] === 0) queue[tail++] = c;
      }
    }
    if (tail < k - n) throw new GraphError(describeCycle(this, pending));
    // Counting sort by level; stable in neuron index.
    let maxLevel = 0;
    for (let i = 0; i < k; i++) if (levels[i]! > maxLevel) maxLevel = levels[i]!;
    const count = new Int32Array(maxLevel + 2);
    for (let i = n; i < k; i++) count[levels[i]! + 1]!++;
    for (let l = 1; l <= maxLevel + 1; l++) count[l]! += count[l - 1]!;
    const order = new Int32Array(k - n);
    for (let i = n; i < k; i++) order[count[levels[i]!]!++] = i;
    this.order = order;
    this.levels = levels;
  }
}

/**
 * Make every hidden neuron of an index-ordered network (every source below its target, outputs last)
 * read by at least one later neuron, in place. Then every hidden neuron has a path to an output:
 * following out-edges raises the index, and the only neurons without out-edges are outputs.
 *
 * Hidden neurons are visited from the last down; an unread neuron u takes over one edge of a later
 * non-input neuron v, chosen uniformly, whose source has another reader, so no neuron visited before
 * loses its last reader. The edge keeps its weight; rows stay sorted by source. Acyclic because
 * u < v. In-degrees are unchanged. Throws GraphError when no such edge exists (tiny networks).
 */
export function giveEveryHiddenNeuronAReader(a: { neurons: number; inputs: number; outputs: number; inDegree: number; sources: Int32Array; weights: Float32Array }, rng: Rng): void {
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources, weights } = a;
  const readers = new Int32Array(k);
  for (let p = 0; p < sources.length; p++) readers[sources[p]!]!++;
  const eligible: number[] = [];
  for (let u = k - m - 1; u >= n; u--) {
    if (readers[u]! > 0) continue;
    const lo = u + 1;
    // A few uniform draws of v, then every later neuron in turn, so a reader is found whenever one exists.
    let taken = -1;
    for (let attempt = 0; attempt < k - lo + 8 && taken < 0; attempt++) {
      const v = attempt < 8 ? lo + rng.nextInt(k - lo) : lo + ((attempt - 8) % (k - lo));
      eligible.length = 0;
      for (let e = 0; e < d; e++) if (readers[sources[(v - n) * d + e]!]! >= 2) eligible.push((v - n) * d + e);
      if (eligible.length > 0) taken = eligible[rng.nextInt(eligible.length)]!;
    }
    if (taken < 0) throw new GraphError(`neuron ${u}: no later neuron has an edge to give it, so it cannot reach an output (the network is too small for reachOutputs)`);
    readers[sources[taken]!]!--;
    sources[taken] = u;
    readers[u] = 1;
    sortRow(sources, weights, taken - (taken % d), d);
  }
}

/** Sort one row's edges by source, carrying their weights (insertion sort: d is small). */
function sortRow(sources: Int32Array, weights: Float32Array, base: number, d: number): void {
  for (let e = base + 1; e < base + d; e++) {
    const s = sources[e]!;
    const w = weights[e]!;
    let f = e - 1;
    while (f >= base && sources[f]! > s) {
      sources[f + 1] = sources[f]!;
      weights[f + 1] = weights[f]!;
      f--;
    }
    sources[f + 1] = s;
    weights[f + 1] = w;
  }
}

/** The transposed graph in CSR form: consumers of neuron j are neuron[start[j] .. start[j+1]). */
export interface Consumers {
  start: Int32Array; // k+1
  neuron: Int32Array; // edges: consumer neuron
  edge: Int32Array; // edges: index into sources/weights of that edge
}

/** The consumers of every neuron (the transposed graph), O(k + edges); sources outside 0..k-1 are skipped. */
export function transpose(net: { neurons: number; inputs: number; inDegree: number; sources: Int32Array }): Consumers {
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const start = new Int32Array(k + 1);
  const total = (k - n) * d;
  for (let p = 0; p < total; p++) {
    const s = sources[p]!;
    if (s >= 0 && s < k) start[s + 1]!++;
  }
  for (let j = 0; j < k; j++) start[j + 1]! += start[j]!;
  const fill = start.slice(0, k);
  const neuron = new Int32Array(start[k]!);
  const edge = new Int32Array(start[k]!);
  for (let p = 0; p < total; p++) {
    const s = sources[p]!;
    if (!(s >= 0 && s < k)) continue;
    const q = fill[s]!++;
    neuron[q] = n + Math.floor(p / d);
    edge[q] = p;
  }
  return { start, neuron, edge };
}

function describeCycle(net: Network, pending: Int32Array): string {
  const { inputs: n, inDegree: d, sources } = net;
  // Every unresolved neuron has an unresolved source; walk sources until a neuron repeats.
  let start = -1;
  for (let i = n; i < net.neurons; i++) if (pending[i]! > 0) { start = i; break; }
  const visitedAt = new Map<number, number>();
  const path: number[] = [];
  let cur = start;
  while (!visitedAt.has(cur)) {
    visitedAt.set(cur, path.length);
    path.push(cur);
    const base = (cur - n) * d;
    let next = -1;
    for (let e = 0; e < d; e++) {
      const s = sources[base + e]!;
      if (s >= n && pending[s]! > 0) { next = s; break; }
    }
    cur = next;
  }
  // path goes consumer → source; the cycle in edge direction is the reverse.
  const cycle = path.slice(visitedAt.get(cur)!).reverse();
  const target = cycle[cycle.length - 1]!;
  const from = cycle[cycle.length - 2] ?? cycle[0]!;
  return `neuron ${target}: edge from ${from} closes a cycle (${[...cycle, cycle[0]!].join(" → ")})`;
}

function checkSizes(a: NetworkArrays | Network): void {
  const { neurons: k, inputs: n, outputs: m, inDegree: d } = a;
  for (const [name, v] of [["neurons", k], ["inputs", n], ["outputs", m], ["in-degree", d]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`${name} must be a positive integer, got ${v}`);
  }
  if (n + m > k) throw new ShapeError(`${k} neurons cannot hold ${n} inputs and ${m} outputs (need k >= n + m)`);
  if (d > k - 1) throw new ShapeError(`in-degree ${d} is more than the ${k - 1} other neurons`);
  const rows = (k - n) * d;
  if (a.sources.length !== rows) throw new ShapeError(`sources has ${a.sources.length} entries, expected (k-n)·d = ${rows}`);
  if (a.weights.length !== rows) throw new ShapeError(`weights has ${a.weights.length} entries, expected (k-n)·d = ${rows}`);
  if (a.biases.length !== k) throw new ShapeError(`biases has ${a.biases.length} entries, expected k = ${k}`);
}
