/**
 * The approximate search's candidate scoring in WebAssembly (declared in engine/search-kernel.ts):
 * a query's candidates are scored on int8 rows first (assembly/search.ts blockDotsI8: exact int32
 * sums, source-major over a block of queued queries, bound from the rows' residual norms), those
 * left in float32 SIMD (approxDots, the exact search's error bound), then exactly only those whose
 * upper bound can still enter the result: the target's best c by upper bound first, then whatever
 * `mayAccept` still lets through. Queries are scored in the order queued, against the same sink,
 * and exact scores are the plain scoring's sums (float64, sample order), so the result is the same.
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
  /**
   * The queued block: up to BLOCK_QUERIES queries' int8 rows (i16 [BLOCK_QUERIES·Sq]), scales and
   * residuals (f64 each), and up to `capacity` candidate pairs (source, owning query, order scratch,
   * int8 inner product: i32 each), with i32 [k + 1] counting scratch.
   */
  q16: number;
  qScale: number;
  qResidual: number;
  capacity: number;
  pairSource: number;
  pairOwner: number;
  pairOrder: number;
  pairDot: number;
  sourceCount: number;
}

/** Queries whose candidates are scored together (int8 stage, source-major). */
const BLOCK_QUERIES = 512;

/** Sq ≤ 2¹⁷ keeps the int8 filter's int32 sums exact (Sq·127² < 2³¹). */
const MAX_INT8_SAMPLES = 131072;

/** Reserve the scoring's buffers for k neurons and S samples (before `arena.ensure()`). */
export function takeScoringLayout(arena: WasmArena, k: number, S: number): ScoringLayout {
  const Sp = (S + 3) & ~3;
  const Sq = ((S + 15) & ~15) <= MAX_INT8_SAMPLES ? (S + 15) & ~15 : 0;
  // At least one query's worth (k); at most 2²¹ pairs (32 MB) or what a block can hold.
  const capacity = Sq > 0 ? Math.max(k, Math.min(BLOCK_QUERIES * k, 1 << 21)) : 0;
  const queries = Sq > 0 ? BLOCK_QUERIES : 0;
  return {
    Sp, X: arena.take(4 * k * Sp), q: arena.take(4 * Sp), list: arena.take(4 * k), kept: arena.take(4 * k), out: arena.take(4 * k),
    Sq, Q: arena.take(k * Sq), xScale: arena.take(8 * k), xResidual: arena.take(8 * k),
    q16: arena.take(2 * Sq * queries), qScale: arena.take(8 * queries), qResidual: arena.take(8 * queries),
    capacity, pairSource: arena.take(4 * capacity), pairOwner: arena.take(4 * capacity), pairOrder: arena.take(4 * capacity),
    pairDot: arena.take(4 * capacity), sourceCount: arena.take(Sq > 0 ? 4 * (k + 1) : 0),
  };
}

/**
 * Error bound of the int8 estimate v = |s_x·s_δ·⟨q_x, q_δ⟩| of ⟨x, δ⟩ (norms xn, en; residual norms
 * rx, rd; exactRel: the float64 sample-order sum's relative error): x = s_x·q_x + e_x and likewise δ,
 * so the estimate is off by ⟨s_x·q_x, e_δ⟩ + ⟨e_x, δ⟩ ≤ (xn + rx)·rd + rx·en (Cauchy–Schwarz, and
 * ‖s_x·q_x‖ ≤ xn + rx), plus roundings.
 */
export function int8ErrorBound(xn: number, rx: number, en: number, rd: number, v: number, exactRel: number): number {
  return ((xn + rx) * rd + rx * en) * (1 + INT8_MARGIN) + xn * en * exactRel + v * INT8_MARGIN;
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
  const xScale = arena.f64(at.xScale, k);
  const xResidual = arena.f64(at.xResidual, k);
  const qScale = arena.f64(at.qScale, Sq > 0 ? BLOCK_QUERIES : 0);
  const qResidual = arena.f64(at.qResidual, Sq > 0 ? BLOCK_QUERIES : 0);
  const pairSource = arena.i32(at.pairSource, at.capacity);
  const pairOwner = arena.i32(at.pairOwner, at.capacity);
  const pairDot = arena.i32(at.pairDot, at.capacity);
  if (Sq > 0) kernels.quantizeRows(at.X, Sp, S, k, at.Q, Sq, false, at.xScale, at.xResidual);
  const { errRel, errAbs } = filterErrorBound(S);
  const exactRel = (S + 4) * 2 ** -52; // the float64 sum in sample order against the real inner product
  const upper = new Float64Array(k);
  /** The queued queries: target, first pair, pair count. */
  const queuedTarget = new Int32Array(BLOCK_QUERIES);
  const queuedStart = new Int32Array(BLOCK_QUERIES + 1);
  let queued = 0;

  /** An upper bound of the score from |approximate inner| v and its error bound err (NaN, overflow: +∞, only the exact score can tell). */
  const upperOf = (correlationScores: boolean, v: number, err: number, prod: number): number => {
    const u = correlationScores ? (v + err) / prod + (v / prod) * FILTER_MARGIN + FILTER_TINY : v + err + v * FILTER_MARGIN + FILTER_TINY;
    return u < Infinity ? u : Infinity;
  };

  /**
   * Score count candidates → j: queued entry `block` (its pairs from `first` on), filtered first by
   * their int8 inner products, |⟨x, δ⟩ − s_x·s_δ·⟨q_x, q_δ⟩| ≤ (‖x‖ + r_x)·r_δ + r_x·‖δ‖
   * (int8ErrorBound); with block < 0, candidates[0..count) without that stage.
   */
  const scoreOne = (j: number, count: number, sink: CandidateSink, block: number, first: number): number => {
    const e = j * S;
    const en = eNorm[j]!;
    const correlationScores = sink.criterion === "correlation";
    const c = sink.perTarget;
    let rescored = 0;
    query.set(errors.subarray(e, e + S));
    // 1. int8 (a quarter of the bytes), from the queued pairs: only those the sink may still accept
    //    go on, into `kept` (`candidates` may already hold a later query's list).
    let n = count;
    let list = candidates;
    if (block >= 0) {
      const sd = qScale[block]!;
      const rd = qResidual[block]!;
      n = 0;
      for (let f = 0; f < count; f++) {
        const i = pairSource[first + f]!;
        const xn = xNorm[i]!;
        const v = Math.abs(xScale[i]! * sd * pairDot[first + f]!);
        const err = int8ErrorBound(xn, xResidual[i]!, en, rd, v, exactRel);
        if (sink.mayAccept(j, upperOf(correlationScores, v, err, xn * en))) kept[n++] = i;
      }
      list = kept;
    }
    // 2. float32 rows (the exact search's bound) for those left.
    kernels.approxDots(at.X, Sp, at.q, list === kept ? at.kept : at.list, n, at.out);
    for (let f = 0; f < n; f++) {
      const v = Math.abs(approx[f]!);
      const prod = xNorm[list[f]!]! * en;
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
    // 3. Exactly: the c best by upper bound first, so that the target's row holds exact scores early.
    for (let r = 0; r < c; r++) {
      let best = -1;
      for (let f = 0; f < n; f++) if (upper[f]! !== -Infinity && (best < 0 || upper[f]! > upper[best]!)) best = f;
      if (best < 0 || !sink.mayAccept(j, upper[best]!)) break;
      scoreExactly(sink, outputs, errors, S, list[best]!, j, e, xNorm, en);
      upper[best] = -Infinity;
      rescored++;
    }
    for (let f = 0; f < n; f++) {
      if (upper[f]! === -Infinity || !sink.mayAccept(j, upper[f]!)) continue;
      scoreExactly(sink, outputs, errors, S, list[f]!, j, e, xNorm, en);
      rescored++;
    }
    return rescored;
  };

  /** The queued block: its int8 inner products source-major, then each query in queue order. */
  const flush = (sink: CandidateSink): number => {
    if (queued === 0) return 0;
    const pairs = queuedStart[queued]!;
    kernels.blockDotsI8(at.Q, Sq, at.q16, at.pairSource, at.pairOwner, pairs, k, at.sourceCount, at.pairOrder, at.pairDot);
    let rescored = 0;
    for (let b = 0; b < queued; b++) {
      const first = queuedStart[b]!;
      const count = queuedStart[b + 1]! - first;
      rescored += scoreOne(queuedTarget[b]!, count, sink, b, first);
    }
    queued = 0;
    return rescored;
  };

  const queue = (j: number, count: number, sink: CandidateSink): number => {
    if (Sq === 0) return scoreOne(j, count, sink, -1, 0);
    let rescored = 0;
    if (queued === BLOCK_QUERIES || queuedStart[queued]! + count > at.capacity) rescored += flush(sink);
    const first = queuedStart[queued]!;
    pairSource.set(candidates.subarray(0, count), first);
    pairOwner.fill(queued, first, first + count);
    query.set(errors.subarray(j * S, (j + 1) * S));
    kernels.quantizeRows(at.q, Sp, S, 1, at.q16 + 2 * Sq * queued, Sq, true, at.qScale + 8 * queued, at.qResidual + 8 * queued);
    queuedTarget[queued] = j;
    queuedStart[++queued] = first + count;
    return rescored;
  };

  return {
    name: "wasm",
    candidates,
    queue,
    flush,
    score: (j, count, sink) => queue(j, count, sink) + flush(sink),
  };
}

/** ⟨x_i, δ_j⟩ summed as everywhere (float64, sample order), offered to the sink. */
function scoreExactly(sink: CandidateSink, outputs: Float32Array, errors: Float32Array, S: number, i: number, j: number, e: number, xNorm: Float64Array, en: number): void {
  const x = i * S;
  let s = 0;
  for (let m = 0; m < S; m++) s += outputs[x + m]! * errors[e + m]!;
  sink.offer(i, j, s, xNorm[i]!, en);
}
