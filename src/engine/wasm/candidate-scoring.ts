/**
 * The approximate search's candidate scoring in WebAssembly (declared in engine/search-kernel.ts):
 * a query's candidates are scored in float32 SIMD first (assembly/search.ts approxDots, with the
 * exact search's error bound), then exactly only those whose upper bound can still enter the
 * result: the target's best c by upper bound first, then whatever `mayAccept` still lets through.
 * Exact scores are the plain scoring's sums (float64, sample order), so the result is the same.
 *
 * The sources' outputs are staged once per search (rows padded to Sp floats) in the module's
 * arena; the views below are valid until the next search on the module lays out its memory.
 *
 * Legend: k neurons, S samples (Sp: rounded up to a multiple of 4), c candidates per target.
 */
import type { CandidateScoringKernel, CandidateSink, SearchActivity } from "../search-kernel-types.js";
import type { WasmArena } from "./arena.js";
import { FILTER_MARGIN, FILTER_TINY, filterErrorBound, type SearchKernels } from "./search-kernels.js";

/** Byte offsets of the scoring's buffers in the module's arena (lsh.ts reads X, q and list too). */
export interface ScoringLayout {
  /** Sp: floats per staged row. */
  Sp: number;
  /** f32 [k·Sp] the sources' outputs. */
  X: number;
  /** f32 [Sp] the query's errors. */
  q: number;
  /** i32 [k] the query's candidates. */
  list: number;
  /** i32 [k] those left after the int8 filter. */
  kept: number;
  /** f32 [k] their float32 inner products. */
  out: number;
  /** Sq: bytes per int8 row (0: no int8 filter; S too large for exact int32 sums). */
  Sq: number;
  /** i8 [k·Sq] the sources' int8 rows, f64 [k] their scales and residuals (assembly/search.ts quantizeRows). */
  Q: number;
  xScale: number;
  xResidual: number;
  /** i16 [Sq] the query's int8 values, f64 [1] its scale and residual, i32 [k] the int8 inner products. */
  q16: number;
  qScale: number;
  qResidual: number;
  dots: number;
}

/** Sq ≤ 2¹⁷ keeps the int8 filter's int32 sums exact (Sq·127² < 2³¹). */
const MAX_INT8_SAMPLES = 131072;

/** Reserve the scoring's buffers for k neurons and S samples (before `arena.ensure()`). */
export function takeScoringLayout(arena: WasmArena, k: number, S: number): ScoringLayout {
  const Sp = (S + 3) & ~3;
  const Sq = ((S + 15) & ~15) <= MAX_INT8_SAMPLES ? (S + 15) & ~15 : 0;
  return {
    Sp, X: arena.take(4 * k * Sp), q: arena.take(4 * Sp), list: arena.take(4 * k), kept: arena.take(4 * k), out: arena.take(4 * k),
    Sq, Q: arena.take(k * Sq), xScale: arena.take(8 * k), xResidual: arena.take(8 * k),
    q16: arena.take(2 * Sq), qScale: arena.take(8), qResidual: arena.take(8), dots: arena.take(4 * k),
  };
}

/**
 * Relative margin on the int8 filter's error bound, for the float64 rounding of the residuals,
 * norms and scales (each off by ~S·2⁻⁵³); generous on purpose, a looser bound only rescores more.
 */
const INT8_MARGIN = 2 ** -20;

function ownLayout(arena: WasmArena, k: number, S: number): ScoringLayout {
  arena.reset();
  const at = takeScoringLayout(arena, k, S);
  arena.ensure();
  return at;
}

/**
 * The WebAssembly scoring of candidates for `a`, with its source and target row norms. With `at`
 * the caller has laid out (and ensured) the arena, sharing it with other kernels; else this lays it out.
 */
export function wasmCandidateScoring(kernels: SearchKernels, a: SearchActivity, xNorm: Float64Array, eNorm: Float64Array, layout?: ScoringLayout): CandidateScoringKernel {
  const { neurons: k, samples: S, outputs, errors } = a;
  const arena = kernels.arena;
  const at = layout ?? ownLayout(arena, k, S);
  const Sp = at.Sp;
  const X = arena.f32(at.X, k * Sp);
  if (Sp === S) X.set(outputs);
  else {
    X.fill(0);
    for (let i = 0; i < k; i++) X.set(outputs.subarray(i * S, (i + 1) * S), i * Sp);
  }
  const query = arena.f32(at.q, Sp);
  query.fill(0);
  const approx = arena.f32(at.out, k);
  const candidates = arena.i32(at.list, k);
  const kept = arena.i32(at.kept, k);
  const Sq = at.Sq;
  const dots = arena.i32(at.dots, k);
  const xScale = arena.f64(at.xScale, k);
  const xResidual = arena.f64(at.xResidual, k);
  const qScale = arena.f64(at.qScale, 1);
  const qResidual = arena.f64(at.qResidual, 1);
  if (Sq > 0) kernels.quantizeRows(at.X, Sp, S, k, at.Q, Sq, false, at.xScale, at.xResidual);
  const { errRel, errAbs } = filterErrorBound(S);
  const exactRel = (S + 4) * 2 ** -52; // the float64 sum in sample order against the real inner product
  const upper = new Float64Array(k);
  /** An upper bound of the score from |approximate inner| v and its error bound err (NaN, overflow: +∞, only the exact score can tell). */
  const upperOf = (correlationScores: boolean, v: number, err: number, prod: number): number => {
    const u = correlationScores ? (v + err) / prod + (v / prod) * FILTER_MARGIN + FILTER_TINY : v + err + v * FILTER_MARGIN + FILTER_TINY;
    return u < Infinity ? u : Infinity;
  };
  return {
    name: "wasm",
    candidates,
    score(j: number, count: number, sink: CandidateSink): number {
      const e = j * S;
      const en = eNorm[j]!;
      const correlationScores = sink.criterion === "correlation";
      const c = sink.perTarget;
      let rescored = 0;
      query.set(errors.subarray(e, e + S));
      // 1. int8 rows, exact int32 sums (a quarter of the bytes): |⟨x, δ⟩ − s_x·s_δ·⟨q_x, q_δ⟩| ≤
      //    (‖x‖ + r_x)·r_δ + r_x·‖δ‖; only pairs the sink may still accept go on.
      let n = count;
      if (Sq > 0) {
        kernels.quantizeRows(at.q, Sp, S, 1, at.q16, Sq, true, at.qScale, at.qResidual);
        kernels.exactDotsI8(at.Q, Sq, at.q16, at.list, count, at.dots);
        const sd = qScale[0]!;
        const rd = qResidual[0]!;
        n = 0;
        for (let f = 0; f < count; f++) {
          const i = candidates[f]!;
          const xn = xNorm[i]!;
          const v = Math.abs(xScale[i]! * sd * dots[f]!);
          const err = ((xn + xResidual[i]!) * rd + xResidual[i]! * en) * (1 + INT8_MARGIN) + xn * en * exactRel + v * INT8_MARGIN;
          if (sink.mayAccept(j, upperOf(correlationScores, v, err, xn * en))) kept[n++] = i;
        }
        candidates.set(kept.subarray(0, n));
      }
      // 2. float32 rows (the exact search's bound) for those left.
      kernels.approxDots(at.X, Sp, at.q, at.list, n, at.out);
      for (let f = 0; f < n; f++) {
        const v = Math.abs(approx[f]!);
        const prod = xNorm[candidates[f]!]! * en;
        let score: number;
        let err: number;
        if (correlationScores) {
          score = v / prod;
          err = errRel + errAbs / prod;
        } else {
          score = v;
          err = errRel * prod + errAbs;
        }
        const u = score + err + score * FILTER_MARGIN + FILTER_TINY;
        upper[f] = u < Infinity ? u : Infinity; // NaN or overflow: only the exact score can tell
      }
      // The c best by upper bound first, so that the target's row holds exact scores early.
      for (let r = 0; r < c; r++) {
        let best = -1;
        for (let f = 0; f < n; f++) if (upper[f]! !== -Infinity && (best < 0 || upper[f]! > upper[best]!)) best = f;
        if (best < 0 || !sink.mayAccept(j, upper[best]!)) break;
        scoreExactly(sink, outputs, errors, S, candidates[best]!, j, e, xNorm, en);
        upper[best] = -Infinity;
        rescored++;
      }
      for (let f = 0; f < n; f++) {
        if (upper[f]! === -Infinity || !sink.mayAccept(j, upper[f]!)) continue;
        scoreExactly(sink, outputs, errors, S, candidates[f]!, j, e, xNorm, en);
        rescored++;
      }
      return rescored;
    },
  };
}

/** ⟨x_i, δ_j⟩ summed as everywhere (float64, sample order), offered to the sink. */
function scoreExactly(sink: CandidateSink, outputs: Float32Array, errors: Float32Array, S: number, i: number, j: number, e: number, xNorm: Float64Array, en: number): void {
  const x = i * S;
  let s = 0;
  for (let m = 0; m < S; m++) s += outputs[x + m]! * errors[e + m]!;
  sink.offer(i, j, s, xNorm[i]!, en);
}
