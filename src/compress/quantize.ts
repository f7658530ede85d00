/**
 * Weight quantisation guided by estimated loss change (thesis §4.2, eq. 4.5, Example 4.4).
 *
 * Weights w become q·w′ with w′ a b-bit two's-complement integer in [−2^(b−1), 2^(b−1) − 1] (the
 * range of Example 4.4: 3 bits → −4..3) and q a float32 scale, one per network or one per neuron
 * (the neuron's d in-edges share it). Biases stay float. The dequantised weight is fround(q·w′),
 * exact and reproducible from the file.
 *
 * How q and w′ are chosen (`by`):
 *  - "max"     q = max|w| / (2^(b−1) − 1): nothing clips; round to nearest.
 *  - "mse"     q minimising Σ(w − q·w′)² over a grid of scales (clipping allowed); round to nearest.
 *  - "utility" q, and for each weight whether to round down or up (to the two integers around w/q,
 *              clipped to the range), minimising an estimate of the loss increase built from
 *              eq. 4.5. Three estimates (`estimate`):
 *                "signed"        Σ Δ·∂L/∂w, the thesis's rule as stated (eq. 4.5 summed over the
 *                                weights). Terms of opposite sign cancel, and choosing the rounding
 *                                direction per weight makes every term ≤ 0 where it can: a coarse
 *                                scale then *predicts a loss decrease*, which is the first-order
 *                                model being fooled, not a property of the network.
 *                "absolute"      Σ |Δ·∂L/∂w|: no cancellation (an upper bound on |signed|); with it
 *                                the best direction is always the nearest integer.
 *                "second-order"  Σ Δ·∂L/∂w + ½·h·Δ² with h = ∂²L/∂w² from the OBD diagonal (eq. 4.2
 *                                with Δ for −w): a large step pays for itself quadratically, so
 *                                the estimate cannot run off to −∞ with a coarse scale.
 *
 * Per-neuron scales make the problem separable: each neuron's row is quantised on its own. Scale
 * candidates are a geometric grid below and just above the "max" scale, refined around the best
 * grid point; `candidates` replaces the grid (Example 4.4 compares exactly two proposals).
 * Browser-safe.
 */
import type { Network } from "../graph/network.js";
import { UsageError } from "../util/errors.js";
import { checkBits, dequantizedWeights, LOSS_ESTIMATES, QUANTIZE_BY, SCALE_MODES, integerRange, type LossEstimate, type Quantization, type QuantizeBy, type ScaleMode } from "../io/quantization.js";
export { checkBits, dequantizedWeights, integerRange, LOSS_ESTIMATES, MAX_BITS, MIN_BITS, QUANTIZE_BY, SCALE_MODES, type LossEstimate, type Quantization, type QuantizeBy, type ScaleMode } from "../io/quantization.js";

/** Utility quantisation's rounding: per weight by the lower estimated cost, or always to nearest. */
export type Rounding = "estimate" | "nearest";

/** Options of `quantizeGroup`: one group of weights sharing one scale. */
export interface GroupOptions {
  /** b: bits per integer (2..8). */
  bits: number;
  /** How q and w′ are chosen: "utility" (eq. 4.5), "mse" or "max". */
  by: QuantizeBy;
  /** For by = "utility" (default "second-order"). */
  estimate?: LossEstimate;
  /** ∂L/∂w of each weight (needed for "utility"). */
  gradient?: ArrayLike<number>;
  /** ∂²L/∂w² of each weight (needed for estimate "second-order"). */
  curvature?: ArrayLike<number>;
  /** Scales to choose from instead of the grid ("mse" and "utility"). */
  candidates?: readonly number[];
  /**
   * "utility" only: "estimate" (default) picks, per weight, the rounding direction with the lower
   * estimated cost; "nearest" always rounds to nearest and uses the estimate only to pick q.
   */
  rounding?: Rounding;
}

/** One group's quantisation: its scale, its integers and the cost the choice minimised. */
export interface GroupResult {
  /** The float32 scale q. */
  scale: number;
  /** w′, one per weight. */
  integers: Int8Array;
  /** The cost the choice minimised (squared error for mse, the estimate for utility, 0 for max). */
  cost: number;
}

/** Per-weight cost of changing weight e by Δ, under an estimate. */
function termCost(estimate: LossEstimate, g: number, h: number, delta: number): number {
  switch (estimate) {
    case "signed":
      return g * delta;
    case "absolute":
      return Math.abs(g * delta);
    case "second-order":
      return g * delta + 0.5 * h * delta * delta;
  }
}

/**
 * Quantises one group of weights (a whole network's, or one neuron's in-edges) with one scale.
 * Deterministic: ties between scales go to the earlier candidate, between directions to nearest.
 */
export function quantizeGroup(weights: ArrayLike<number>, o: GroupOptions): GroupResult {
  const { min, max } = integerRange(o.bits);
  const count = weights.length;
  let maxAbs = 0;
  for (let e = 0; e < count; e++) maxAbs = Math.max(maxAbs, Math.abs(weights[e]!));
  const base = maxAbs > 0 ? maxAbs / max : 1;
  if (o.by === "utility" && o.gradient === undefined) throw new UsageError("utility quantisation needs the gradient ∂L/∂w of every weight");
  const estimate = o.estimate ?? "second-order";
  if (o.by === "utility" && estimate === "second-order" && o.curvature === undefined) throw new UsageError('the "second-order" estimate needs ∂²L/∂w² of every weight');
  const integers = new Int8Array(count);
  if (o.by === "max" || maxAbs === 0) {
    const q = Math.fround(base);
    fillNearest(weights, q, min, max, integers);
    return { scale: q, integers, cost: 0 };
  }
  const costOf = (q: number, into?: Int8Array): number => (o.by === "mse" ? mseCost(weights, q, min, max, into) : utilityCost(weights, q, min, max, estimate, o.rounding ?? "estimate", o.gradient!, o.curvature, into));
  let bestQ = NaN;
  let bestCost = Infinity;
  const consider = (raw: number): void => {
    const q = Math.fround(raw);
    if (!(q > 0) || !Number.isFinite(q)) return;
    const c = costOf(q);
    if (c < bestCost) {
      bestCost = c;
      bestQ = q;
    }
  };
  if (o.candidates !== undefined) {
    if (o.candidates.length === 0) throw new UsageError("no candidate scales given");
    for (const q of o.candidates) {
      if (!(q > 0) || !Number.isFinite(q)) throw new UsageError(`candidate scale ${q} is not a positive finite number`);
      consider(q);
    }
  } else {
    // Geometric grid from base/64 to base·1.5 (clipping allowed below base), then a finer grid
    // between the best point's neighbours.
    const steps = 96;
    const lo = Math.log(base / 64);
    const hi = Math.log(base * 1.5);
    const step = (hi - lo) / steps;
    consider(base);
    for (let t = 0; t <= steps; t++) consider(Math.exp(lo + t * step));
    const centre = Math.log(bestQ);
    for (let t = -16; t <= 16; t++) consider(Math.exp(centre + (t / 16) * step));
  }
  costOf(bestQ, integers);
  return { scale: bestQ, integers, cost: bestCost };
}

function clampRound(x: number, min: number, max: number): number {
  const r = Math.round(x);
  return r < min ? min : r > max ? max : r;
}

function fillNearest(weights: ArrayLike<number>, q: number, min: number, max: number, into: Int8Array): void {
  for (let e = 0; e < weights.length; e++) into[e] = clampRound(weights[e]! / q, min, max);
}

function mseCost(weights: ArrayLike<number>, q: number, min: number, max: number, into?: Int8Array): number {
  let sum = 0;
  for (let e = 0; e < weights.length; e++) {
    const w = weights[e]!;
    const i = clampRound(w / q, min, max);
    const diff = Math.fround(q * i) - w;
    sum += diff * diff;
    if (into) into[e] = i;
  }
  return sum;
}

function utilityCost(
  weights: ArrayLike<number>, q: number, min: number, max: number, estimate: LossEstimate, rounding: Rounding,
  gradient: ArrayLike<number>, curvature: ArrayLike<number> | undefined, into?: Int8Array,
): number {
  let sum = 0;
  for (let e = 0; e < weights.length; e++) {
    const w = weights[e]!;
    const g = gradient[e]!;
    const h = curvature ? curvature[e]! : 0;
    const x = w / q;
    const near = clampRound(x, min, max);
    let lo = Math.floor(x);
    lo = lo < min ? min : lo > max ? max : lo;
    const hi = lo + 1 > max ? max : lo + 1;
    // Nearest first, so that ties go to nearest rounding.
    const other = near === lo ? hi : lo;
    const cNear = termCost(estimate, g, h, Math.fround(q * near) - w);
    const cOther = other === near || rounding === "nearest" ? Infinity : termCost(estimate, g, h, Math.fround(q * other) - w);
    if (cOther < cNear) {
      sum += cOther;
      if (into) into[e] = other;
    } else {
      sum += cNear;
      if (into) into[e] = near;
    }
  }
  return sum;
}

/** Options of `quantizeNetwork`. */
export interface QuantizeOptions {
  /** b: bits per weight (2..8). */
  bits: number;
  /** One scale for the network, or one per neuron. */
  scale: ScaleMode;
  /** How q and w′ are chosen: "utility" (eq. 4.5), "mse" or "max". */
  by: QuantizeBy;
  /** For "utility": which loss-change estimate to minimise (default "second-order"). */
  estimate?: LossEstimate;
  /** ∂L_T/∂w parallel to network.weights (for "utility"). */
  gradient?: ArrayLike<number>;
  /** ∂²L_T/∂w² parallel to network.weights (for estimate "second-order"). */
  curvature?: ArrayLike<number>;
  /** For "utility": per-weight rounding direction by the estimate (default) or always nearest. */
  rounding?: Rounding;
}

/** What `quantizeNetwork` returns: the quantisation (integers, scales, settings) and the dequantised network. */
export interface QuantizedNetwork extends Quantization {
  /** A copy of the network with the dequantised weights fround(q·w′); biases unchanged. */
  network: Network;
}

/** Quantises every edge weight of a network; the input network is not changed. */
export function quantizeNetwork(net: Network, o: QuantizeOptions): QuantizedNetwork {
  checkBits(o.bits);
  if (!SCALE_MODES.includes(o.scale)) throw new UsageError(`unknown scale mode "${String(o.scale)}": use ${SCALE_MODES.join(" or ")}`);
  if (!QUANTIZE_BY.includes(o.by)) throw new UsageError(`unknown quantiser "${String(o.by)}": use ${QUANTIZE_BY.join(", ")}`);
  if (o.estimate !== undefined && !LOSS_ESTIMATES.includes(o.estimate)) throw new UsageError(`unknown estimate "${String(o.estimate)}": use ${LOSS_ESTIMATES.join(", ")}`);
  for (const [name, a] of [["gradient", o.gradient], ["curvature", o.curvature]] as const) {
    if (a !== undefined && a.length !== net.edges) throw new UsageError(`${name} has ${a.length} entries, expected one per edge (${net.edges})`);
  }
  const estimate = o.by === "utility" ? (o.estimate ?? "second-order") : undefined;
  const integers = new Int8Array(net.edges);
  const rows = net.neurons - net.inputs;
  const d = net.inDegree;
  let scales: Float32Array;
  const group = (from: number, to: number): GroupResult =>
    quantizeGroup(net.weights.subarray(from, to), {
      bits: o.bits,
      by: o.by,
      ...(estimate !== undefined ? { estimate } : {}),
      ...(o.rounding !== undefined ? { rounding: o.rounding } : {}),
      ...(o.gradient !== undefined ? { gradient: sub(o.gradient, from, to) } : {}),
      ...(o.curvature !== undefined ? { curvature: sub(o.curvature, from, to) } : {}),
    });
  if (o.scale === "network") {
    const r = group(0, net.edges);
    integers.set(r.integers);
    scales = Float32Array.of(r.scale);
  } else {
    scales = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const g = group(r * d, (r + 1) * d);
      integers.set(g.integers, r * d);
      scales[r] = g.scale;
    }
  }
  const q: Quantization = { bits: o.bits, scale: o.scale, by: o.by, ...(estimate !== undefined ? { estimate } : {}), integers, scales };
  return { ...q, network: dequantize(net, q) };
}

function sub(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (a instanceof Float64Array || a instanceof Float32Array) return a.subarray(from, to);
  return Array.prototype.slice.call(a, from, to) as number[];
}

/** A copy of `net` with its weights replaced by the dequantised ones. */
export function dequantize(net: Network, q: Quantization): Network {
  const rows = net.neurons - net.inputs;
  if (q.integers.length !== net.edges) throw new UsageError(`quantisation has ${q.integers.length} integers, the network ${net.edges} edges`);
  if (q.scales.length !== 1 && q.scales.length !== rows) throw new UsageError(`quantisation has ${q.scales.length} scales, expected 1 or ${rows}`);
  const c = net.clone();
  c.weights.set(dequantizedWeights(q, net.edges, net.inDegree));
  return c;
}

/** `estimateLossChange`'s three estimates of a weight change's effect on the loss, in the loss's units. */
export interface LossChangeEstimates {
  /** Σ Δ·∂L/∂w: eq. 4.5 summed over all weights (the thesis's rule). */
  signed: number;
  /** Σ |Δ·∂L/∂w|. */
  absolute: number;
  /** Σ Δ·∂L/∂w + ½·h·Δ² (only when the curvature is given). */
  secondOrder?: number;
}

/**
 * Estimated loss change of moving every weight from `before` to `after` (eq. 4.5 summed over the
 * weights, and the two variants), in the loss's units (bits per sample).
 */
export function estimateLossChange(before: ArrayLike<number>, after: ArrayLike<number>, gradient: ArrayLike<number>, curvature?: ArrayLike<number>): LossChangeEstimates {
  if (before.length !== after.length || before.length !== gradient.length) throw new UsageError(`estimateLossChange: lengths differ (${before.length}, ${after.length}, ${gradient.length})`);
  let signed = 0;
  let absolute = 0;
  let quad = 0;
  for (let e = 0; e < before.length; e++) {
    const delta = after[e]! - before[e]!;
    const t = delta * gradient[e]!;
    signed += t;
    absolute += Math.abs(t);
    if (curvature) quad += 0.5 * curvature[e]! * delta * delta;
  }
  return curvature ? { signed, absolute, secondOrder: signed + quad } : { signed, absolute };
}

/** Bytes the quantised weights need: b bits per edge, packed, plus 4 per scale. */
export function quantizedWeightBytes(q: Quantization): number {
  return Math.ceil((q.integers.length * q.bits) / 8) + 4 * q.scales.length;
}
