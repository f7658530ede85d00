/**
 * The approximate search's plain candidate scoring (declared in engine/search-kernel.ts): every
 * candidate of a query is scored exactly and offered. Four sources against the query at a time: four
 * independent sums hide the floating-point add latency, and each is still summed in sample order
 * (float64 over the float32 activity), so a pair's value is bit-identical to the exact search's.
 *
 * Legend: k neurons, S samples.
 */
import type { CandidateScoringKernel, CandidateSink, SearchActivity } from "../search-kernel-types.js";

/** The plain scoring of candidates for `a`, with its source and target row norms. */
export function referenceCandidateScoring(a: SearchActivity, xNorm: Float64Array, eNorm: Float64Array): CandidateScoringKernel {
  const { neurons: k, samples: S, outputs, errors } = a;
  const candidates = new Int32Array(k);
  const score = (j: number, count: number, sink: CandidateSink): number => {
    const e = j * S;
    const en = eNorm[j]!;
    let f = 0;
    for (; f + 4 <= count; f += 4) {
      const i0 = candidates[f]!, i1 = candidates[f + 1]!, i2 = candidates[f + 2]!, i3 = candidates[f + 3]!;
      const x0 = i0 * S, x1 = i1 * S, x2 = i2 * S, x3 = i3 * S;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let m = 0; m < S; m++) {
        const d = errors[e + m]!;
        s0 += outputs[x0 + m]! * d;
        s1 += outputs[x1 + m]! * d;
        s2 += outputs[x2 + m]! * d;
        s3 += outputs[x3 + m]! * d;
      }
      sink.offer(i0, j, s0, xNorm[i0]!, en);
      sink.offer(i1, j, s1, xNorm[i1]!, en);
      sink.offer(i2, j, s2, xNorm[i2]!, en);
      sink.offer(i3, j, s3, xNorm[i3]!, en);
    }
    for (; f < count; f++) {
      const i = candidates[f]!;
      const x = i * S;
      let s = 0;
      for (let m = 0; m < S; m++) s += outputs[x + m]! * errors[e + m]!;
      sink.offer(i, j, s, xNorm[i]!, en);
    }
    return count;
  };
  // Nothing to gain from queueing here: every query is scored at once.
  return { name: "js", candidates, score, queue: score, flush: () => 0 };
}
