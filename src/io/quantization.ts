/**
 * The stored form of a quantised network (thesis §4.2): b-bit two's-complement integers w′ and
 * float32 scales q, one per network or one per neuron, dequantised as fround(q·w′). What a model
 * file holds and what compress/quantize.ts produces; the choice of q and w′ is compress's business.
 * Browser-safe.
 */
import { settingError } from "../util/errors.js";

export type ScaleMode = "network" | "neuron";
export type QuantizeBy = "utility" | "mse" | "max";
export type LossEstimate = "signed" | "absolute" | "second-order";

export const SCALE_MODES: readonly ScaleMode[] = ["network", "neuron"];
export const QUANTIZE_BY: readonly QuantizeBy[] = ["utility", "mse", "max"];
export const LOSS_ESTIMATES: readonly LossEstimate[] = ["signed", "absolute", "second-order"];

export const MIN_BITS = 2;
export const MAX_BITS = 8;

/** Integer range of b-bit two's complement. */
export function integerRange(bits: number): { min: number; max: number } {
  checkBits(bits);
  return { min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 };
}

export function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw settingError("bits", `must be an integer from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`, "weights are stored as b-bit signed integers: 8 in I8, 2..4 packed into U8");
  }
}

export interface Quantization {
  bits: number;
  scale: ScaleMode;
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

