/**
 * Softmax cross-entropy in bits (Example 3.6), the one definition every TypeScript path uses: the
 * reference engine's loss, the scalar metric, the OBD curvature and the dense baseline. Max-shifted
 * so it never overflows. The WebAssembly kernel (assembly/index.ts) is its deliberate twin, checked
 * against the reference engine by the tests.
 *
 * Logits are read strided: logit o at values[start + o·stride] (stride B for the engines'
 * neuron-major buffers, 1 for a plain array).
 */

/** The softmax's normaliser of m logits: their max, Σ exp(x − max), its log, and the arg-max (first wins). */
export interface SoftmaxStats {
  max: number;
  sum: number;
  logSum: number;
  arg: number;
}

/** The normaliser of the m logits values[start + o·stride], o = 0..m−1, in float64. */
export function softmaxStats(values: ArrayLike<number>, start: number, stride: number, m: number): SoftmaxStats {
  let max = -Infinity;
  let arg = 0;
  for (let o = 0; o < m; o++) {
    const a = values[start + o * stride]!;
    if (a > max) {
      max = a;
      arg = o;
    }
  }
  let sum = 0;
  for (let o = 0; o < m; o++) sum += Math.exp(values[start + o * stride]! - max);
  return { max, sum, logSum: Math.log(sum), arg };
}

/** −log₂ softmax(x)_t given the logits' stats and the target's logit x_t. */
export function crossEntropyBitsFrom(stats: SoftmaxStats, targetLogit: number): number {
  return (stats.logSum - (targetLogit - stats.max)) / Math.LN2;
}
