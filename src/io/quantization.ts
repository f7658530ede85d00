/**
 * The stored form of a quantised network (thesis §4.2): b-bit two's-complement integers w′ and
 * float32 scales q, one per network or one per neuron, dequantised as fround(q·w′). What a model
 * file holds and what compress/quantize.ts produces; the choice of q and w′ is compress's business.
 * Browser-safe.
 */
import { settingError } from "../util/errors.js";

/** One float32 scale q for the whole network, or one per non-input neuron (its d in-edges share it). */
export type ScaleMode = "network" | "neuron";
/** How q and w′ were chosen: by estimated loss change (eq. 4.5), least squared error, or max |w| (compress/quantize.ts). */
export type QuantizeBy = "utility" | "mse" | "max";
/** The loss-change estimate "utility" minimises: Σ Δ·∂L/∂w (eq. 4.5), Σ |Δ·∂L/∂w|, or Σ Δ·∂L/∂w + ½h·Δ². */
export type LossEstimate = "signed" | "absolute" | "second-order";

/** Every scale mode. */
export const SCALE_MODES: readonly ScaleMode[] = ["network", "neuron"];
/** Every way of choosing q and w′. */
export const QUANTIZE_BY: readonly QuantizeBy[] = ["utility", "mse", "max"];
/** Every loss-change estimate. */
export const LOSS_ESTIMATES: readonly LossEstimate[] = ["signed", "absolute", "second-order"];

/** Fewest bits per weight: 2 (integers −2..1). */
export const MIN_BITS = 2;
/** Most bits per weight: 8 (integers −128..127, stored as I8). */
export const MAX_BITS = 8;

/** Integer range of b-bit two's complement. */
export function integerRange(bits: number): { min: number; max: number } {
  checkBits(bits);
  return { min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 };
}

/** Refuses a bit width outside MIN_BITS..MAX_BITS (UsageError naming `bits`). */
export function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw settingError("bits", `must be an integer from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`, "weights are stored as b-bit signed integers: 8 in I8, 2..4 packed into U8");
  }
}

/** A quantisation as stored: b-bit integers w′ per edge and float32 scales q; weight = fround(q·w′). */
export interface Quantization {
  /** b: bits per integer (MIN_BITS..MAX_BITS). */
  bits: number;
  /** One scale, or one per neuron. */
  scale: ScaleMode;
  /** How q and w′ were chosen (recorded in the file). */
  by: QuantizeBy;
  /** The estimate "utility" minimised; undefined for mse and max. */
  estimate?: LossEstimate;
  /** w′ parallel to network.weights. */
  integers: Int8Array;
  /** q: one entry (scale "network") or one per non-input neuron (row), float32. */
  scales: Float32Array;
}

/** The dequantised weights fround(q·w′) of a quantisation, for a network of the given shape. */
export function dequantizedWeights(q: Quantization, edges: number, inDegree: number): Float32Array {
  const out = new Float32Array(edges);
  for (let e = 0; e < edges; e++) {
    const s = q.scales.length === 1 ? q.scales[0]! : q.scales[Math.floor(e / inDegree)]!;
    out[e] = s * q.integers[e]!; // the product is exact in float64; the store rounds once
  }
  return out;
}

