/**
 * The exact candidate search's plain TypeScript kernel (§4.3; declared in engine/search-kernel.ts):
 * every admissible pair scored exactly, a blocked product of the k×S output matrix with the S×(k−n)
 * error matrix, O(k²·S) (§4.3: "computing the O(k²) correlations"). It is cache-blocked (blocks of
 * 64 sources × 32 targets), register-tiled (4 sources × 4 targets per pass over the samples, 16
 * accumulators: 3–4× the speed of one dot product at a time in V8), skips whole blocks with no
 * admissible pair (sources and targets are visited in topological rank, so with a rank-based
 * admissibility about half the blocks vanish), and treats sparse sources — one-hot inputs, mostly
 * silent ReLUs — as lists of their non-zero samples: for a one-hot input ⟨x_i, δ_j⟩ is the sum of
 * δ_j over the samples where input i is active, ~1/27 of the work for text.
 *
 * Sums run in float64 over the float32 activity, in sample order, so a pair's inner product is
 * bit-identical to the plain loop in rewire/correlation.ts `innerProduct`. It is the definition the
 * WebAssembly kernel (engine/wasm/exact-search.ts) must match bit for bit, and it exports the
 * visiting order both share.
 *
 * Legend: k neurons, n inputs, S samples.
 */
import { BLOCK_TARGETS, byRank, fillWordBlocks, popcount32, SUPER_BLOCK_TARGETS, type Admissibility } from "../../graph/admissibility.js";
import type { CandidateSink, ExactSearchCounts, ExactSearchKernel, SearchActivity } from "../search-kernel-types.js";

/** A source is stored as a list of its non-zero samples when at most this share of them is non-zero. */
const SPARSE_SHARE = 0.25;
const SOURCE_BLOCK = 64;
/** Targets per block: one admissibility word (and, in WebAssembly, one filter call). */
export const TARGET_BLOCK = BLOCK_TARGETS;

/** What the kernel works on: norms, visiting order, sparse source lists. */
interface ExactPlan {
  k: number;
  S: number;
  outputs: Float32Array;
  errors: Float32Array;
  xNorm: Float64Array;
  eNorm: Float64Array;
  /** Searched targets with non-zero error, in visiting order. */
  targets: Int32Array;
  /** Dense sources (non-silent), in visiting order. */
  dense: Int32Array;
  /** Sparse sources and their (sample, value) lists. */
  sparse: Int32Array;
  sparseStart: Int32Array;
  sparseSample: Int32Array;
  sparseValue: Float32Array;
  admissibility: Admissibility;
  sink: CandidateSink;
}

/**
 * The visiting order of the exact search: searched targets with non-zero error, and the non-silent
 * sources split into dense and sparse (at most SPARSE_SHARE of the samples non-zero), each sorted
 * by (rank, id).
 */
export function visitingOrder(k: number, S: number, requested: Int32Array, xNorm: Float64Array, eNorm: Float64Array, nnzOf: Int32Array, rank: Int32Array | undefined): { targets: Int32Array; dense: Int32Array; sparse: Int32Array } {
  // A silent source or an error-free target has inner product 0 with everything: never a candidate.
  const targetIds: number[] = [];
  for (const j of requested) if (eNorm[j]! > 0) targetIds.push(j);
  const denseIds: number[] = [];
  const sparseIds: number[] = [];
  for (let i = 0; i < k; i++) {
    if (!(xNorm[i]! > 0)) continue;
    (nnzOf[i]! <= SPARSE_SHARE * S ? sparseIds : denseIds).push(i);
  }
  return { targets: byRank(targetIds, rank), dense: byRank(denseIds, rank), sparse: byRank(sparseIds, rank) };
}

/** The plain kernel: norms, non-zero counts and sparse lists in TypeScript, then `jsKernel`. */
export const referenceExactSearch: ExactSearchKernel = { name: "js", search: jsExact };

function jsExact(a: SearchActivity, requested: Int32Array, admissibility: Admissibility, sink: CandidateSink): ExactSearchCounts {
  const { neurons: k, samples: S, outputs, errors } = a;
  // Source norms and non-zero counts, and target norms, in one pass (norms as rowNorms computes them).
  const xNorm = new Float64Array(k);
  const eNorm = new Float64Array(k);
  const nnzOf = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    const base = i * S;
    let sum = 0;
    let nnz = 0;
    for (let b = 0; b < S; b++) {
      const v = outputs[base + b]!;
      sum += v * v;
      if (v !== 0) nnz++;
    }
    xNorm[i] = Math.sqrt(sum);
    nnzOf[i] = nnz;
    let squares = 0;
    for (let b = 0; b < S; b++) {
      const v = errors[base + b]!;
      squares += v * v;
    }
    eNorm[i] = Math.sqrt(squares);
  }
  const { targets, dense, sparse } = visitingOrder(k, S, requested, xNorm, eNorm, nnzOf, admissibility.rank);
  // Sparse sources as (sample, value) lists.
  const sparseStart = new Int32Array(sparse.length + 1);
  for (let p = 0; p < sparse.length; p++) sparseStart[p + 1] = sparseStart[p]! + nnzOf[sparse[p]!]!;
  const nnzTotal = sparseStart[sparse.length]!;
  const sparseSample = new Int32Array(nnzTotal);
  const sparseValue = new Float32Array(nnzTotal);
  for (let p = 0, q = 0; p < sparse.length; p++) {
    const base = sparse[p]! * S;
    for (let b = 0; b < S; b++) {
      const v = outputs[base + b]!;
      if (v !== 0) {
        sparseSample[q] = b;
        sparseValue[q++] = v;
      }
    }
  }
  return jsKernel({ k, S, outputs, errors, xNorm, eNorm, targets, dense, sparse, sparseStart, sparseSample, sparseValue, admissibility, sink });
}

/**
 * The plain kernel: every admissible pair scored exactly, cache-blocked (blocks of 64 sources × 32
 * targets), register-tiled (4 sources × 4 targets per pass over the samples, 16 accumulators),
 * blocks without an admissible pair skipped, sparse sources gathered.
 */
function jsKernel(plan: ExactPlan): ExactSearchCounts {
  const { k, S, outputs, errors, xNorm, eNorm, targets, dense, sparse, sparseStart, sparseSample, sparseValue, admissibility, sink } = plan;
  // Pack dense sources and targets contiguously in visiting order, padded to multiples of 4 with
  // zero rows (id −1), so that tiles read consecutive rows.
  const nd = dense.length;
  const nt = targets.length;
  const ndPad = (nd + 3) & ~3;
  const ntPad = (nt + 3) & ~3;
  const X = new Float32Array(ndPad * S);
  const D = new Float32Array(ntPad * S);
  const denseId = new Int32Array(ndPad).fill(-1);
  const targetId = new Int32Array(ntPad).fill(-1);
  for (let p = 0; p < nd; p++) {
    const i = dense[p]!;
    X.set(outputs.subarray(i * S, (i + 1) * S), p * S);
    denseId[p] = i;
  }
  for (let q = 0; q < nt; q++) {
    const j = targets[q]!;
    D.set(errors.subarray(j * S, (j + 1) * S), q * S);
    targetId[q] = j;
  }
  // Admissibility of the current block: bit (q − t0) of words[i] = i → targetId[q] admissible,
  // computed for 16 blocks at a time.
  const scratch = new Int32Array(16 * k);
  const mask = new Uint8Array(k);
  let blocks: Int32Array = scratch;
  // Dense rows' words (0 for padding rows), refreshed per block.
  const denseWords = new Int32Array(ndPad);
  let pairsScored = 0;
  let admissiblePairs = 0;
  for (let t0 = 0; t0 < ntPad; t0 += TARGET_BLOCK) {
    const t1 = Math.min(t0 + TARGET_BLOCK, ntPad);
    if (t0 % SUPER_BLOCK_TARGETS === 0) blocks = fillWordBlocks(admissibility, targets.subarray(t0, Math.min(t0 + SUPER_BLOCK_TARGETS, nt)), k, scratch, mask);
    const b = (t0 % SUPER_BLOCK_TARGETS) / TARGET_BLOCK;
    const words = blocks.subarray(b * k, (b + 1) * k);
    // Admissible pairs include silent sources too (their score is 0 and they are never offered).
    for (let i = 0; i < k; i++) admissiblePairs += popcount32(words[i]!);
    for (let p = 0; p < nd; p++) denseWords[p] = words[denseId[p]!]!;

    for (let s0 = 0; s0 < ndPad; s0 += SOURCE_BLOCK) {
      const s1 = Math.min(s0 + SOURCE_BLOCK, ndPad);
      // Skip the block when no pair in it is admissible (sources ranked after the targets).
      let anyAdmissible = 0;
      for (let p = s0; p < s1; p++) anyAdmissible |= denseWords[p]!;
      if (anyAdmissible === 0) continue;
      for (let q = t0; q < t1; q += 4) {
        const shift = q - t0;
        const c0 = q * S;
        const c1 = c0 + S;
        const c2 = c1 + S;
        const c3 = c2 + S;
        for (let p = s0; p < s1; p += 4) {
          // Which of the 16 pairs are admissible: bit 4·s + t = source p + s, target q + t.
          const bits =
            ((denseWords[p]! >>> shift) & 15) |
            (((denseWords[p + 1]! >>> shift) & 15) << 4) |
            (((denseWords[p + 2]! >>> shift) & 15) << 8) |
            (((denseWords[p + 3]! >>> shift) & 15) << 12);
          if (bits === 0) continue;
          const a0 = p * S;
          const a1 = a0 + S;
          const a2 = a1 + S;
          const a3 = a2 + S;
          let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
          let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
          for (let b = 0; b < S; b++) {
            const x0 = X[a0 + b]!, x1 = X[a1 + b]!, x2 = X[a2 + b]!, x3 = X[a3 + b]!;
            const d0 = D[c0 + b]!, d1 = D[c1 + b]!, d2 = D[c2 + b]!, d3 = D[c3 + b]!;
            s00 += x0 * d0; s01 += x0 * d1; s02 += x0 * d2; s03 += x0 * d3;
            s10 += x1 * d0; s11 += x1 * d1; s12 += x1 * d2; s13 += x1 * d3;
            s20 += x2 * d0; s21 += x2 * d1; s22 += x2 * d2; s23 += x2 * d3;
            s30 += x3 * d0; s31 += x3 * d1; s32 += x3 * d2; s33 += x3 * d3;
          }
          pairsScored += 16;
          const j0 = targetId[q]!, j1 = targetId[q + 1]!, j2 = targetId[q + 2]!, j3 = targetId[q + 3]!;
          if (bits & 0x000f) offerRow(sink, bits, denseId[p]!, xNorm, eNorm, j0, j1, j2, j3, s00, s01, s02, s03);
          if (bits & 0x00f0) offerRow(sink, bits >> 4, denseId[p + 1]!, xNorm, eNorm, j0, j1, j2, j3, s10, s11, s12, s13);
          if (bits & 0x0f00) offerRow(sink, bits >> 8, denseId[p + 2]!, xNorm, eNorm, j0, j1, j2, j3, s20, s21, s22, s23);
          if (bits & 0xf000) offerRow(sink, bits >> 12, denseId[p + 3]!, xNorm, eNorm, j0, j1, j2, j3, s30, s31, s32, s33);
        }
      }
    }

    // Sparse sources: gather the target errors at the source's non-zero samples only.
    for (let p = 0; p < sparse.length; p++) {
      const i = sparse[p]!;
      const w = words[i]!;
      if (w === 0) continue;
      const from = sparseStart[p]!;
      const to = sparseStart[p + 1]!;
      for (let q = t0; q < t1; q++) {
        if (((w >>> (q - t0)) & 1) === 0) continue;
        const j = targetId[q]!;
        const c = j * S;
        let s = 0;
        for (let z = from; z < to; z++) s += sparseValue[z]! * errors[c + sparseSample[z]!]!;
        pairsScored++;
        sink.offer(i, j, s, xNorm[i]!, eNorm[j]!);
      }
    }
  }
  return { pairsScored, admissiblePairs };
}

/** Offer the admissible pairs of one source row of a 4×4 tile (bit t of `bits` = target t admissible). */
function offerRow(
  sink: CandidateSink,
  bits: number,
  i: number,
  xNorm: Float64Array,
  eNorm: Float64Array,
  j0: number,
  j1: number,
  j2: number,
  j3: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
): void {
  const xn = xNorm[i]!;
  if (bits & 1) sink.offer(i, j0, s0, xn, eNorm[j0]!);
  if (bits & 2) sink.offer(i, j1, s1, xn, eNorm[j1]!);
  if (bits & 4) sink.offer(i, j2, s2, xn, eNorm[j2]!);
  if (bits & 8) sink.offer(i, j3, s3, xn, eNorm[j3]!);
}
