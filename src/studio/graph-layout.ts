/**
 * Geometry and bookkeeping for drawing a network in the studio: the level layout of Fig. 4.4
 * (inputs left, hidden neurons by level, outputs right), summary numbers, the edges one rewiring
 * round changed, and a neuron's neighbours. Pure and browser-safe: no DOM, no Node built-ins, so the
 * page, its worker and node:test can all use it.
 *
 * Everything here tolerates malformed snapshots (a source outside 0..k-1, a short `levels` array):
 * such edges are skipped rather than thrown on, because a drawing should never take the page down.
 */

/** What the page knows of a network: enough to draw it (a copy sent by the trainer worker). */
export interface GraphSnapshot {
  /** k: all neurons; inputs are 0..n-1, outputs are k-m..k-1. */
  neurons: number;
  /** n: input neurons. */
  inputs: number;
  /** m: output neurons. */
  outputs: number;
  /** d: every non-input neuron has exactly d in-edges. */
  inDegree: number;
  /** (k-n)·d source indices; the row of non-input neuron i starts at (i-n)·d. */
  sources: Int32Array;
  /** Edge weights, parallel to `sources`. */
  weights: Float32Array;
  /** k biases. */
  biases: Float32Array;
  /** Level of every neuron: inputs 0, otherwise 1 + the maximum level of its sources. */
  levels: Int32Array;
  /** Optional per-edge utility, parallel to `sources` (for colouring by utility). */
  utility?: Float32Array;
}

/** Where every neuron goes on the page (in the units of the box given to `layoutByLevels`). */
export interface GraphLayout {
  x: Float32Array;
  y: Float32Array;
  /** Number of columns: inputs, one per hidden level present, outputs. */
  columns: number;
  /** Column of each neuron. */
  column: Int32Array;
}

/** Summary numbers of a snapshot, for the page's status line. */
export interface GraphStats {
  neurons: number;
  edges: number;
  /** 1 + the maximum level (0 for an empty network). */
  depth: number;
  /** Neurons per level, inputs at level 0. */
  levelSizes: number[];
  inDegree: number;
  /** Share of edges whose source is an input neuron (0 without edges). */
  inputShare: number;
  outputs: number;
  inputs: number;
}

/** Edges one rewiring round removed and added, as [source, target] pairs. */
export interface EdgeDiff {
  deleted: Array<[source: number, target: number]>;
  inserted: Array<[source: number, target: number]>;
}

/** Out-edges in CSR form: the edges leaving neuron j are `edge[start[j] .. start[j+1])`, ascending. */
export interface OutEdgeIndex {
  /** k+1 offsets into `edge`. */
  start: Int32Array;
  /** Indices into `sources`/`weights`; the target of edge e is n + floor(e / d). */
  edge: Int32Array;
}

const DEFAULT_MARGIN = 16;

/** A neuron's role from its index alone; inputs win if a malformed snapshot overlaps the ranges. */
export function neuronKind(g: GraphSnapshot, i: number): "input" | "hidden" | "output" {
  if (i < g.inputs) return "input";
  if (i >= g.neurons - g.outputs) return "output";
  return "hidden";
}

/** Number of source slots that belong to real rows: guards against a `sources` array of the wrong length. */
function slotCount(g: GraphSnapshot): number {
  const rows = Math.max(0, g.neurons - g.inputs);
  return Math.min(g.sources.length, rows * Math.max(0, g.inDegree));
}

/** The distinct levels of hidden neurons, ascending: one column each, so a level with no hidden neuron takes no space. */
function hiddenLevels(g: GraphSnapshot): number[] {
  const seen = new Set<number>();
  const end = g.neurons - g.outputs;
  for (let i = Math.max(0, g.inputs); i < end; i++) seen.add(g.levels[i] ?? 0);
  return [...seen].sort((a, b) => a - b);
}

/**
 * Fig. 4.4 layout: column 0 holds the inputs, then one column per hidden level in level order, then
 * one column with all m outputs whatever their level (so the outputs are always found at the right).
 * Neurons are spread evenly down their column in index order, each at the centre of an equal slot,
 * so a lone neuron sits mid-height and no dot touches the box edge. Every coordinate lies inside
 * [0, width] × [0, height]; `margin` (default 16) is shrunk when the box is too small for it.
 */
export function layoutByLevels(g: GraphSnapshot, width: number, height: number, margin: number = DEFAULT_MARGIN): GraphLayout {
  const k = Math.max(0, g.neurons);
  const w = Math.max(0, width);
  const h = Math.max(0, height);
  const mx = Math.min(Math.max(0, margin), w / 2);
  const my = Math.min(Math.max(0, margin), h / 2);
  const levels = hiddenLevels(g);
  const columnOfLevel = new Map<number, number>();
  levels.forEach((l, idx) => columnOfLevel.set(l, idx + 1));
  const columns = levels.length + 2;
  const column = new Int32Array(k);
  const size = new Int32Array(columns);
  for (let i = 0; i < k; i++) {
    const kind = neuronKind(g, i);
    const c = kind === "input" ? 0 : kind === "output" ? columns - 1 : columnOfLevel.get(g.levels[i] ?? 0)!;
    column[i] = c;
    size[c]!++;
  }
  const x = new Float32Array(k);
  const y = new Float32Array(k);
  const rank = new Int32Array(columns);
  const innerW = w - 2 * mx;
  const innerH = h - 2 * my;
  for (let i = 0; i < k; i++) {
    const c = column[i]!;
    const j = rank[c]!++;
    x[i] = mx + ((c + 0.5) / columns) * innerW;
    y[i] = my + ((j + 0.5) / size[c]!) * innerH;
  }
  return { x, y, columns, column };
}

/** Labels of the layout's columns: "inputs", "level L" for each hidden level present, "outputs". */
export function columnLabels(g: GraphSnapshot): string[] {
  return ["inputs", ...hiddenLevels(g).map((l) => `level ${l}`), "outputs"];
}

/** Summary numbers; edges counts only slots whose source is a real neuron. */
export function graphStats(g: GraphSnapshot): GraphStats {
  const k = Math.max(0, g.neurons);
  let maxLevel = -1;
  const level = (i: number): number => Math.max(0, g.levels[i] ?? 0); // a malformed negative level counts as 0
  for (let i = 0; i < k; i++) maxLevel = Math.max(maxLevel, level(i));
  const depth = maxLevel + 1;
  const levelSizes = new Array<number>(depth).fill(0);
  for (let i = 0; i < k; i++) levelSizes[level(i)]!++;
  let edges = 0;
  let fromInputs = 0;
  const slots = slotCount(g);
  for (let e = 0; e < slots; e++) {
    const s = g.sources[e]!;
    if (s < 0 || s >= k) continue;
    edges++;
    if (s < g.inputs) fromInputs++;
  }
  return {
    neurons: k,
    edges,
    depth,
    levelSizes,
    inDegree: g.inDegree,
    inputShare: edges > 0 ? fromInputs / edges : 0,
    outputs: g.outputs,
    inputs: g.inputs,
  };
}

/** The valid sources of neuron i's row (empty for inputs and for neurons the snapshot does not have). */
function row(g: GraphSnapshot, i: number): number[] {
  const out: number[] = [];
  if (i < g.inputs || i >= g.neurons) return out;
  const d = g.inDegree;
  const base = (i - g.inputs) * d;
  const end = Math.min(base + d, g.sources.length);
  for (let e = base; e < end; e++) {
    const s = g.sources[e]!;
    if (s >= 0 && s < g.neurons) out.push(s);
  }
  return out;
}

/**
 * Per target neuron, the multiset difference of its source lists: rewiring may move the surviving
 * edges to other slots, so comparing slot by slot would report edges that merely moved. Pairs come
 * ordered by target, then source. Snapshots of different shapes are compared neuron by neuron.
 */
export function edgeDiff(before: GraphSnapshot, after: GraphSnapshot): EdgeDiff {
  const deleted: Array<[number, number]> = [];
  const inserted: Array<[number, number]> = [];
  const k = Math.max(before.neurons, after.neurons, 0);
  for (let t = 0; t < k; t++) {
    const a = row(before, t);
    const b = row(after, t);
    if (a.length === b.length && a.every((s, e) => s === b[e])) continue; // the common case: untouched row
    a.sort((p, q) => p - q);
    b.sort((p, q) => p - q);
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i]! < b[j]!)) deleted.push([a[i++]!, t]);
      else if (i >= a.length || b[j]! < a[i]!) inserted.push([b[j++]!, t]);
      else { i++; j++; }
    }
  }
  return { deleted, inserted };
}

/** In- and out-neighbours of neuron i: sources in slot order, targets ascending (one entry per edge). */
export function neighbours(g: GraphSnapshot, i: number): { into: number[]; out: number[] } {
  const into = row(g, i);
  const out: number[] = [];
  if (i < 0 || i >= g.neurons) return { into, out };
  const d = g.inDegree;
  const slots = slotCount(g);
  for (let e = 0; e < slots; e++) if (g.sources[e] === i) out.push(g.inputs + Math.floor(e / d));
  return { into, out };
}

/** The out-edges of every neuron, built once per snapshot in O(k + edges) so hovering needs no scan. */
export function outEdgeIndex(g: GraphSnapshot): OutEdgeIndex {
  const k = Math.max(0, g.neurons);
  const slots = slotCount(g);
  const start = new Int32Array(k + 1);
  for (let e = 0; e < slots; e++) {
    const s = g.sources[e]!;
    if (s >= 0 && s < k) start[s + 1]!++;
  }
  for (let j = 0; j < k; j++) start[j + 1]! += start[j]!;
  const fill = start.slice(0, k);
  const edge = new Int32Array(start[k]!);
  for (let e = 0; e < slots; e++) {
    const s = g.sources[e]!;
    if (s >= 0 && s < k) edge[fill[s]!++] = e;
  }
  return { start, edge };
}
