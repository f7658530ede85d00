/**
 * Losses and metrics on plain numbers (Examples 3.5, 3.6, Def. 3.9). The engines compute the same
 * losses batched; these scalar versions are the readable definitions the tests pin down.
 */
import { crossEntropyBitsFrom, softmaxStats } from "../engine/softmax.js";

/** Cross-entropy L(y', y) = −⟨y, log₂ y'⟩ in bits (Example 3.6). Zero entries of y are skipped. */
export function crossEntropyBits(predicted: ArrayLike<number>, target: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < target.length; i++) {
    const y = target[i]!;
    if (y !== 0) sum -= y * Math.log2(predicted[i]!);
  }
  return sum;
}

/** Cross-entropy in bits of class `target` under softmax(logits), max-shifted so it never overflows. */
export function softmaxCrossEntropyBits(logits: ArrayLike<number>, target: number): number {
  return crossEntropyBitsFrom(softmaxStats(logits, 0, 1, logits.length), logits[target]!);
}

/** Squared error ‖y − y'‖² (Example 3.5). */
export function squaredError(predicted: ArrayLike<number>, target: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < target.length; i++) {
    const diff = predicted[i]! - target[i]!;
    sum += diff * diff;
  }
  return sum;
}

/** Set perplexity 2^H with H = L_T / |T| (Def. 3.9), from a summed cross-entropy in bits. */
export function setPerplexity(lossBitsSum: number, count: number): number {
  return Math.pow(2, lossBitsSum / count);
}

/** Bits per symbol of a uniform guess over `symbols` classes (log₂ 27 ≈ 4.75 for text). */
export function uniformBits(symbols: number): number {
  return Math.log2(symbols);
}
