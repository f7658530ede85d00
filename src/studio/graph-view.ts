/**
 * Canvas view of a network in the level layout of Fig. 4.4, fast enough for ~1,700 neurons and
 * ~34,000 edges. The full graph is drawn into an offscreen "base" canvas only when the snapshot, the
 * size or the colouring changes, with edges batched into one stroke path per colour bucket; hovering
 * and the rewiring highlight are drawn on top of a copy of that base, so moving the mouse never
 * re-strokes 34k lines. Redraws are coalesced to one per animation frame.
 */
import { columnLabels, layoutByLevels, neuronKind, outEdgeIndex } from "./graph-layout.js";
import type { EdgeDiff, GraphLayout, GraphSnapshot, OutEdgeIndex } from "./graph-layout.js";

/** What decides an edge's colour: its weight (sign and magnitude) or its utility (quantile). */
export type EdgeColouring = "weight" | "utility";

/** Stroke style of one edge bucket. */
interface BucketStyle {
  colour: string;
  width: number;
}

/** Valid edges sorted by bucket (counting sort): bucket b is `order[start[b] .. start[b+1])`. */
interface Buckets {
  order: Int32Array;
  start: Int32Array;
  styles: BucketStyle[];
}

/** Everything that depends on snapshot and size but not on colouring. */
interface Geometry {
  layout: GraphLayout;
  /** Neurons of each column, top to bottom (ascending y). */
  members: Int32Array[];
  /** x of each column (NaN when empty). */
  colX: Float32Array;
  /** Dot radius of each column, from its spacing. */
  radius: Float32Array;
  labels: string[];
  out: OutEdgeIndex;
}

const POSITIVE = "37, 99, 235"; // blue
const NEGATIVE = "234, 88, 12"; // orange-red
/** |weight| quantiles splitting each sign into 4 buckets; the top ones are rare, so strong edges stand out. */
const WEIGHT_QUANTILES = [0.5, 0.8, 0.95];
const WEIGHT_ALPHA = [0.05, 0.1, 0.2, 0.4];
const WEIGHT_WIDTH = [0.5, 0.6, 0.8, 1];
const UTILITY_QUANTILES = [0.3, 0.5, 0.7, 0.85, 0.95];
const UTILITY_RAMP = ["68, 1, 84", "65, 68, 135", "42, 120, 142", "34, 168, 132", "122, 209, 81", "253, 200, 37"]; // viridis-like
const UTILITY_ALPHA = [0.04, 0.07, 0.12, 0.2, 0.32, 0.5];
const UTILITY_WIDTH = [0.5, 0.5, 0.6, 0.7, 0.85, 1];
const NEURON_COLOUR = { input: "#8b949e", hidden: "#7c5cff", output: "#f0a202" } as const;
const IN_EDGE = "rgba(0, 170, 200, 0.95)";
const OUT_EDGE = "rgba(214, 51, 108, 0.95)";
const INSERTED_RGB = "22, 163, 74";
const DELETED_RGB = "229, 72, 77";
/** Deleted edges fade from strong to faint over this long, then stay faint until the next round. */
const FADE_MS = 2000;
const LABEL_BAND = 14;
const LABEL_FONT = "10px system-ui, sans-serif";
const MARGIN = 12;

/** Thresholds at the given quantiles of `values` (which it sorts in place). */
function quantiles(values: Float32Array, qs: number[]): number[] {
  values.sort();
  const last = values.length - 1;
  return qs.map((q) => (last < 0 ? 0 : values[Math.floor(q * last)]!));
}

/** Number of thresholds strictly below v: the bucket of v (NaN lands in bucket 0). */
function bucketOf(v: number, thresholds: number[]): number {
  let b = 0;
  for (const t of thresholds) if (v > t) b++;
  return b;
}

function formatNumber(b: number): string {
  const a = Math.abs(b);
  return a >= 1000 || (a !== 0 && a < 0.001) ? b.toExponential(2) : b.toFixed(3);
}

/** A canvas view of one network; hand it snapshots with `setGraph` and rewiring rounds with `highlight`. */
export class GraphView {
  private readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly ctx: CanvasRenderingContext2D | null;
  private readonly base: HTMLCanvasElement;
  private readonly baseCtx: CanvasRenderingContext2D | null;
  private graph: GraphSnapshot | undefined;
  private colouring: EdgeColouring = "weight";
  private geometry: Geometry | undefined;
  private buckets: Buckets | undefined;
  private baseDirty = true;
  private diff: EdgeDiff | undefined;
  private diffSince = 0;
  private cssWidth = 0;
  private cssHeight = 0;
  private dpr = 1;
  private labelColour = "#888";
  private frame = 0;
  private pending = false;
  private disposed = false;
  private hoveredNeuron = -1;
  private neuronsDrawn = 0;
  private edgesDrawn = 0;

  constructor(canvas: HTMLCanvasElement, tooltip: HTMLElement) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.ctx = canvas.getContext("2d");
    this.base = canvas.ownerDocument.createElement("canvas");
    this.baseCtx = this.base.getContext("2d");
    canvas.addEventListener("mousemove", this.onMove);
    canvas.addEventListener("mouseleave", this.onLeave);
    this.hideTooltip();
    this.resize();
  }

  /** Neurons drawn in the last frame (the network's neuron count once a snapshot is drawn). */
  get drawnNeurons(): number {
    return this.neuronsDrawn;
  }

  /** Edges stroked in the last base drawing (edges whose source is a real neuron). */
  get drawnEdges(): number {
    return this.edgesDrawn;
  }

  /** Neuron under the mouse, or -1. */
  get hovered(): number {
    return this.hoveredNeuron;
  }

  /** Where neuron i is drawn, in CSS pixels from the canvas's top left (undefined before the first layout). */
  positionOf(i: number): { x: number; y: number } | undefined {
    const layout = this.geometry?.layout;
    if (!layout || i < 0 || i >= layout.x.length) return undefined;
    return { x: layout.x[i]!, y: layout.y[i]! };
  }

  /** Show a new snapshot; several calls within one frame cost one drawing. */
  setGraph(g: GraphSnapshot): void {
    this.graph = g;
    this.geometry = undefined;
    this.buckets = undefined;
    this.baseDirty = true;
    if (this.hoveredNeuron >= g.neurons) this.setHovered(-1);
    this.schedule();
  }

  /** Mark the edges of the last rewiring round (deleted: dashed red, fading; inserted: green) until the next call. */
  highlight(diff: EdgeDiff | undefined): void {
    this.diff = diff;
    this.diffSince = performance.now();
    this.schedule();
  }

  /** Colour edges by weight or by utility (weight when the snapshot has no utility). */
  setColouring(c: EdgeColouring): void {
    if (c === this.colouring) return;
    this.colouring = c;
    this.buckets = undefined;
    this.baseDirty = true;
    this.schedule();
  }

  /** Match the drawing buffer to the canvas's CSS size × devicePixelRatio; call when either changes. */
  resize(): void {
    const dpr = globalThis.devicePixelRatio > 0 ? globalThis.devicePixelRatio : 1;
    // A canvas not laid out (display: none) reports 0: keep the last size rather than draw into nothing.
    const w = this.canvas.clientWidth > 0 ? this.canvas.clientWidth : this.cssWidth > 0 ? this.cssWidth : this.canvas.width;
    const h = this.canvas.clientHeight > 0 ? this.canvas.clientHeight : this.cssHeight > 0 ? this.cssHeight : this.canvas.height;
    this.cssWidth = w;
    this.cssHeight = h;
    this.dpr = dpr;
    const pw = Math.max(0, Math.round(w * dpr));
    const ph = Math.max(0, Math.round(h * dpr));
    if (this.canvas.width !== pw) this.canvas.width = pw;
    if (this.canvas.height !== ph) this.canvas.height = ph;
    this.base.width = pw;
    this.base.height = ph;
    if (typeof getComputedStyle === "function") this.labelColour = getComputedStyle(this.canvas).color || this.labelColour;
    this.geometry = undefined;
    this.baseDirty = true;
    this.schedule();
  }

  /** Remove the listeners and stop drawing; the view is unusable afterwards. */
  dispose(): void {
    this.disposed = true;
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    if (this.pending && this.frame !== 0 && typeof cancelAnimationFrame === "function") cancelAnimationFrame(this.frame);
    this.pending = false;
    this.hideTooltip();
  }

  private readonly onMove = (ev: MouseEvent): void => {
    const i = this.pick(ev.offsetX, ev.offsetY);
    this.setHovered(i);
    if (i >= 0) this.placeTooltip(ev.clientX, ev.clientY);
  };

  private readonly onLeave = (): void => {
    this.setHovered(-1);
  };

  private setHovered(i: number): void {
    if (i === this.hoveredNeuron) return;
    this.hoveredNeuron = i;
    if (i < 0) this.hideTooltip();
    else this.fillTooltip();
    this.schedule();
  }

  private hideTooltip(): void {
    this.tooltip.hidden = true;
    this.tooltip.style.display = "none";
  }

  private fillTooltip(): void {
    const g = this.graph;
    const geo = this.ensureGeometry();
    const i = this.hoveredNeuron;
    if (!g || !geo || i < 0) return;
    let into = 0;
    if (i >= g.inputs) {
      const base = (i - g.inputs) * g.inDegree;
      for (let e = base; e < base + g.inDegree && e < g.sources.length; e++) {
        const s = g.sources[e]!;
        if (s >= 0 && s < g.neurons) into++;
      }
    }
    const out = geo.out.start[i + 1]! - geo.out.start[i]!;
    this.tooltip.textContent =
      `neuron ${i} · ${neuronKind(g, i)} · level ${g.levels[i] ?? 0} · in-edges ${into} · out-edges ${out} · bias ${formatNumber(g.biases[i] ?? 0)}`;
    this.tooltip.hidden = false;
    this.tooltip.style.display = "block";
  }

  /** Fixed positioning near the mouse, flipped to the other side near the window's right or bottom edge. */
  private placeTooltip(clientX: number, clientY: number): void {
    const t = this.tooltip;
    t.style.position = "fixed";
    t.style.pointerEvents = "none";
    const w = t.offsetWidth;
    const h = t.offsetHeight;
    const vw = globalThis.innerWidth || Infinity;
    const vh = globalThis.innerHeight || Infinity;
    const left = clientX + 14 + w > vw ? Math.max(0, clientX - 14 - w) : clientX + 14;
    const top = clientY + 14 + h > vh ? Math.max(0, clientY - 14 - h) : clientY + 14;
    t.style.left = `${left}px`;
    t.style.top = `${top}px`;
  }

  /** Nearest neuron within a few pixels: only columns near x are looked at, and within one a binary search on y. */
  private pick(mx: number, my: number): number {
    const geo = this.ensureGeometry();
    if (!geo) return -1;
    const { layout, members, colX, radius } = geo;
    let best = -1;
    let bestDist = Infinity;
    for (let c = 0; c < layout.columns; c++) {
      const tol = Math.max(6, radius[c]! + 3);
      if (!(Math.abs(colX[c]! - mx) <= tol)) continue;
      const col = members[c]!;
      let lo = 0;
      let hi = col.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (layout.y[col[mid]!]! < my) lo = mid + 1;
        else hi = mid;
      }
      for (const j of [lo - 1, lo]) {
        if (j < 0 || j >= col.length) continue;
        const i = col[j]!;
        const dist = Math.hypot(layout.x[i]! - mx, layout.y[i]! - my);
        if (dist <= tol && dist < bestDist) {
          best = i;
          bestDist = dist;
        }
      }
    }
    return best;
  }

  private schedule(): void {
    if (this.pending || this.disposed) return;
    this.pending = true;
    const run = (): void => {
      this.pending = false;
      this.frame = 0;
      if (!this.disposed) this.render();
    };
    if (typeof requestAnimationFrame === "function") this.frame = requestAnimationFrame(run);
    else queueMicrotask(run);
  }

  private plotHeight(): number {
    return this.cssHeight >= 120 && this.cssWidth >= 120 ? this.cssHeight - LABEL_BAND : this.cssHeight;
  }

  private ensureGeometry(): Geometry | undefined {
    const g = this.graph;
    if (!g) return undefined;
    if (this.geometry) return this.geometry;
    const layout = layoutByLevels(g, this.cssWidth, this.plotHeight(), MARGIN);
    const sizes = new Int32Array(layout.columns);
    for (let i = 0; i < layout.column.length; i++) sizes[layout.column[i]!]!++;
    const members = Array.from(sizes, (s) => new Int32Array(s));
    const fill = new Int32Array(layout.columns);
    // Index order is top-to-bottom order within a column (layoutByLevels places them so).
    for (let i = 0; i < layout.column.length; i++) {
      const c = layout.column[i]!;
      members[c]![fill[c]!++] = i;
    }
    const colX = new Float32Array(layout.columns).fill(NaN);
    const radius = new Float32Array(layout.columns);
    const inner = Math.max(0, this.plotHeight() - 2 * MARGIN);
    for (let c = 0; c < layout.columns; c++) {
      const col = members[c]!;
      if (col.length > 0) colX[c] = layout.x[col[0]!]!;
      const spacing = col.length > 0 ? inner / col.length : inner;
      radius[c] = Math.min(3.5, Math.max(1, 0.4 * spacing));
    }
    this.geometry = { layout, members, colX, radius, labels: columnLabels(g), out: outEdgeIndex(g) };
    return this.geometry;
  }

  private ensureBuckets(g: GraphSnapshot): Buckets {
    if (this.buckets) return this.buckets;
    const k = g.neurons;
    const slots = Math.min(g.sources.length, Math.max(0, k - g.inputs) * Math.max(0, g.inDegree));
    const valid = (e: number): boolean => {
      const s = g.sources[e]!;
      return s >= 0 && s < k;
    };
    let count = 0;
    for (let e = 0; e < slots; e++) if (valid(e)) count++;
    // Fewer edges overlap less, so a small graph gets more opaque lines to stay visible.
    const boost = Math.min(4, Math.max(1, Math.sqrt(4000 / Math.max(1, count))));
    const rgba = (rgb: string, a: number): string => `rgba(${rgb}, ${Math.min(0.9, a * boost).toFixed(3)})`;
    const utility = this.colouring === "utility" && g.utility && g.utility.length >= slots ? g.utility : undefined;
    const bucket = new Uint8Array(slots).fill(255);
    let styles: BucketStyle[];
    const sample = new Float32Array(count);
    let p = 0;
    if (utility) {
      for (let e = 0; e < slots; e++) if (valid(e)) sample[p++] = utility[e]!;
      const t = quantiles(sample, UTILITY_QUANTILES);
      for (let e = 0; e < slots; e++) if (valid(e)) bucket[e] = bucketOf(utility[e]!, t);
      styles = UTILITY_RAMP.map((rgb, b) => ({ colour: rgba(rgb, UTILITY_ALPHA[b]!), width: UTILITY_WIDTH[b]! }));
    } else {
      for (let e = 0; e < slots; e++) if (valid(e)) sample[p++] = Math.abs(g.weights[e] ?? 0);
      const t = quantiles(sample, WEIGHT_QUANTILES);
      const levels = WEIGHT_QUANTILES.length + 1;
      for (let e = 0; e < slots; e++) {
        if (!valid(e)) continue;
        const w = g.weights[e] ?? 0;
        bucket[e] = (w < 0 ? levels : 0) + bucketOf(Math.abs(w), t);
      }
      styles = [POSITIVE, NEGATIVE].flatMap((rgb) => WEIGHT_ALPHA.map((a, b) => ({ colour: rgba(rgb, a), width: WEIGHT_WIDTH[b]! })));
    }
    const start = new Int32Array(styles.length + 1);
    for (let e = 0; e < slots; e++) if (bucket[e] !== 255) start[bucket[e]! + 1]!++;
    for (let b = 0; b < styles.length; b++) start[b + 1]! += start[b]!;
    const fill = start.slice(0, styles.length);
    const order = new Int32Array(count);
    for (let e = 0; e < slots; e++) if (bucket[e] !== 255) order[fill[bucket[e]!]!++] = e;
    this.buckets = { order, start, styles };
    return this.buckets;
  }

  private render(): void {
    const ctx = this.ctx;
    if (this.baseDirty) this.renderBase();
    if (this.hoveredNeuron >= 0) this.fillTooltip(); // the snapshot may have changed its bias or edges
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.base.width > 0 && this.base.height > 0) ctx.drawImage(this.base, 0, 0); // drawImage throws on a 0-sized canvas
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const g = this.graph;
    const geo = this.ensureGeometry();
    if (!g || !geo) return;
    const fading = this.drawDiff(ctx, g, geo);
    this.drawHover(ctx, g, geo);
    if (fading) this.schedule();
  }

  private renderBase(): void {
    this.baseDirty = false;
    const ctx = this.baseCtx;
    const g = this.graph;
    const geo = this.ensureGeometry();
    this.neuronsDrawn = 0;
    this.edgesDrawn = 0;
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.base.width, this.base.height);
    if (!g || !geo) return;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const { x, y } = geo.layout;
    const { order, start, styles } = this.ensureBuckets(g);
    const n = g.inputs;
    const d = g.inDegree;
    ctx.lineCap = "butt";
    for (let b = 0; b < styles.length; b++) {
      if (start[b + 1] === start[b]) continue;
      ctx.beginPath();
      for (let q = start[b]!; q < start[b + 1]!; q++) {
        const e = order[q]!;
        const s = g.sources[e]!;
        const t = n + Math.floor(e / d);
        ctx.moveTo(x[s]!, y[s]!);
        ctx.lineTo(x[t]!, y[t]!);
      }
      ctx.strokeStyle = styles[b]!.colour;
      ctx.lineWidth = styles[b]!.width;
      ctx.stroke();
    }
    this.edgesDrawn = order.length;
    // Dots: one path per neuron kind, so 1,700 neurons cost three fills.
    for (const kind of ["input", "hidden", "output"] as const) {
      ctx.beginPath();
      for (let c = 0; c < geo.layout.columns; c++) {
        const r = geo.radius[c]!;
        for (const i of geo.members[c]!) {
          if (neuronKind(g, i) !== kind) continue;
          ctx.moveTo(x[i]! + r, y[i]!);
          ctx.arc(x[i]!, y[i]!, r, 0, 2 * Math.PI);
          this.neuronsDrawn++;
        }
      }
      ctx.fillStyle = NEURON_COLOUR[kind];
      ctx.fill();
    }
    this.drawLabels(ctx, geo);
  }

  /** Column names under the columns, skipping any that would overlap its left neighbour. */
  private drawLabels(ctx: CanvasRenderingContext2D, geo: Geometry): void {
    if (this.plotHeight() === this.cssHeight) return; // no room reserved
    ctx.font = LABEL_FONT;
    ctx.fillStyle = this.labelColour;
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    let rightmost = -Infinity;
    for (let c = 0; c < geo.labels.length; c++) {
      const cx = geo.colX[c]!;
      if (Number.isNaN(cx)) continue;
      const label = geo.labels[c]!;
      const w = ctx.measureText(label).width;
      const at = Math.min(Math.max(cx, w / 2 + 1), this.cssWidth - w / 2 - 1);
      if (at - w / 2 < rightmost + 6) continue;
      ctx.fillText(label, at, this.cssHeight - 3);
      rightmost = at + w / 2;
    }
  }

  /** The last rewiring round on top of the base; returns whether deleted edges are still fading. */
  private drawDiff(ctx: CanvasRenderingContext2D, g: GraphSnapshot, geo: Geometry): boolean {
    const diff = this.diff;
    if (!diff) return false;
    const { x, y } = geo.layout;
    const k = g.neurons;
    const inRange = (s: number, t: number): boolean => s >= 0 && s < k && t >= 0 && t < k;
    const elapsed = performance.now() - this.diffSince;
    const fade = 1 - Math.min(1, elapsed / FADE_MS);
    // A round may swap thousands of edges: thinner, fainter lines then, so the graph stays visible.
    const strength = (n: number) => Math.min(1, Math.max(0.12, 30 / Math.sqrt(Math.max(1, n))));
    const deletedAlpha = (0.25 + 0.65 * fade) * strength(diff.deleted.length);
    const insertedAlpha = 0.9 * strength(diff.inserted.length);
    ctx.save();
    ctx.beginPath();
    for (const [s, t] of diff.deleted) {
      if (!inRange(s, t)) continue;
      ctx.moveTo(x[s]!, y[s]!);
      ctx.lineTo(x[t]!, y[t]!);
    }
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = diff.deleted.length > 500 ? 0.7 : 1.1;
    ctx.strokeStyle = `rgba(${DELETED_RGB}, ${deletedAlpha.toFixed(3)})`;
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.beginPath();
    for (const [s, t] of diff.inserted) {
      if (!inRange(s, t)) continue;
      ctx.moveTo(x[s]!, y[s]!);
      ctx.lineTo(x[t]!, y[t]!);
    }
    ctx.lineWidth = diff.inserted.length > 500 ? 0.8 : 1.4;
    ctx.strokeStyle = `rgba(${INSERTED_RGB}, ${insertedAlpha.toFixed(3)})`;
    ctx.stroke();
    ctx.restore();
    return fade > 0 && diff.deleted.length > 0;
  }

  /** In-edges (cyan) and out-edges (magenta) of the hovered neuron, its neighbours and a ring around it. */
  private drawHover(ctx: CanvasRenderingContext2D, g: GraphSnapshot, geo: Geometry): void {
    const i = this.hoveredNeuron;
    if (i < 0 || i >= g.neurons) return;
    const { x, y, column } = geo.layout;
    const k = g.neurons;
    const into: number[] = [];
    if (i >= g.inputs) {
      const base = (i - g.inputs) * g.inDegree;
      for (let e = base; e < base + g.inDegree && e < g.sources.length; e++) {
        const s = g.sources[e]!;
        if (s >= 0 && s < k) into.push(s);
      }
    }
    const out: number[] = [];
    for (let q = geo.out.start[i]!; q < geo.out.start[i + 1]!; q++) out.push(g.inputs + Math.floor(geo.out.edge[q]! / g.inDegree));
    ctx.save();
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (const s of into) {
      ctx.moveTo(x[s]!, y[s]!);
      ctx.lineTo(x[i]!, y[i]!);
    }
    ctx.strokeStyle = IN_EDGE;
    ctx.stroke();
    ctx.beginPath();
    for (const t of out) {
      ctx.moveTo(x[i]!, y[i]!);
      ctx.lineTo(x[t]!, y[t]!);
    }
    ctx.strokeStyle = OUT_EDGE;
    ctx.stroke();
    for (const [list, colour] of [[into, IN_EDGE], [out, OUT_EDGE]] as const) {
      ctx.beginPath();
      for (const j of list) {
        const r = geo.radius[column[j]!]! + 1;
        ctx.moveTo(x[j]! + r, y[j]!);
        ctx.arc(x[j]!, y[j]!, r, 0, 2 * Math.PI);
      }
      ctx.fillStyle = colour;
      ctx.fill();
    }
    const r = geo.radius[column[i]!]! + 3;
    ctx.beginPath();
    ctx.arc(x[i]!, y[i]!, r, 0, 2 * Math.PI);
    ctx.fillStyle = NEURON_COLOUR[neuronKind(g, i)];
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = this.labelColour;
    ctx.stroke();
    ctx.restore();
  }
}
