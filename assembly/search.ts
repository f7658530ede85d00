/**
 * sparsewire WebAssembly SIMD kernels for the candidate searches (src/rewire/exact-search.ts, §4.3).
 *
 * What it is: a FILTER in front of the plain search, not a second definition. For every admissible
 * pair (i, j) of one block of at most 32 target neurons it computes ⟨x_i, δ_j⟩ approximately in
 * float32 SIMD (four samples per lane), bounds the error of that approximation rigorously, and keeps
 * the pairs whose upper bound can still reach the result (the global top K, a target's best c, and
 * the threshold minScore). The caller (src/engine/wasm/exact-search.ts) then rescores only the
 * kept pairs exactly — float64 over the float32 activity, in sample order, as the plain search
 * does — and offers those to the same collector, so the result is bit-identical to the plain
 * search: a pair the filter drops provably cannot be in it.
 *
 * What it is not: it never decides a result by itself, allocates nothing, and keeps no state
 * between calls but the global lower-bound heap (below) and the counters in the context block.
 *
 * Why a filter: bit-identical float64 sums in sample order only vectorise over pairs (two f64 lanes),
 * while the float32 approximation runs four samples per lane and needs no conversions; the few pairs
 * near the cut are rescored.
 *
 * Error bound (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1): a lane sums S/4
 * float32 products, then two levels of horizontal adds, so |approx − exact| ≤ γ_{S/4+3}·Σ|x_b·δ_b|
 * + (underflow) ≤ γ·‖x‖·‖δ‖ + η (Cauchy–Schwarz), γ_n = n·u/(1 − n·u), u = 2⁻²⁴. The caller passes
 * errRel ≥ 4·γ_{S/4+3} (which also covers the float64 rounding of the exact sum and of the norms)
 * and errAbs for underflow. Sparse sources (one-hot inputs, mostly silent ReLUs) are summed here in
 * float64 exactly as the plain search sums them, so their bound is only a rounding margin.
 *
 * The filter (why it is exact): with lower/upper bounds ℓ_p ≤ score_p ≤ u_p per pair,
 *   - L_j = c-th largest ℓ over target j's pairs: c pairs of j score ≥ L_j, so a pair with u < L_j
 *     is beaten by c others and is not among j's best c;
 *   - G = K-th largest ℓ over all pairs: likewise for the global top K;
 *   - minScore: a pair with u < minScore is never kept.
 * A pair is kept iff u ≥ max(minScore, min(L_j, G)). Running values of L_j and G only grow, so
 * testing against them while scanning and once more at the end of the block is conservative.
 * Non-finite approximations keep the pair with ℓ = −∞, u = +∞ (the exact rescoring decides).
 *
 * Legend: S samples, Sp = S rounded up to 4 (rows are zero-padded), nd dense sources (padded to a
 * multiple of 4 with zero rows), ns sparse sources, c candidates per target, K global candidates.
 */

// The approximate search's hashing and bucket scans: same module, same memory as approxDots.
export * from "./lsh";

// ---- context block (byte offsets; mirrored by src/engine/wasm/search-kernels.ts) ----
export const SEARCH_LAYOUT_VERSION: i32 = 4; // 4: the approximate search's hashing (lsh.ts) and int8 scoring joined the module
export const S_WORDS: i32 = 0; // u32 [k]: bit t = source i → block target t admissible
export const S_X: i32 = 4; // f32 [nd·Sp] dense source rows
export const S_ND: i32 = 8; // dense sources (multiple of 4)
export const S_DENSE_ID: i32 = 12; // i32 [nd] neuron of each dense row (−1: padding)
export const S_XN_DENSE: i32 = 16; // f64 [nd] norms
export const S_SPARSE_START: i32 = 20; // i32 [ns + 1]
export const S_SPARSE_SAMPLE: i32 = 24; // i32 [nnz]
export const S_SPARSE_VALUE: i32 = 28; // f32 [nnz]
export const S_NS: i32 = 32;
export const S_SPARSE_ID: i32 = 36; // i32 [ns]
export const S_XN_SPARSE: i32 = 40; // f64 [ns]
export const S_D: i32 = 44; // f32 [32·Sp] the block's target rows (zero rows past nt)
export const S_EN: i32 = 48; // f64 [32] the block's target norms
export const S_SP: i32 = 52;
export const S_MODE: i32 = 56; // 0 correlation, 1 gradient
export const S_C: i32 = 60;
export const S_LB: i32 = 64; // f64 [32·c] scratch: per target, its best c lower bounds, descending
export const S_K: i32 = 68;
export const S_HEAP: i32 = 72; // f64 [K] min-heap of the best K lower bounds (kept across blocks)
export const S_HEAP_SIZE: i32 = 76;
export const S_OUT_SLOT: i32 = 80; // i32 [cap] dense row p ≥ 0 or −1 − sparse index
export const S_OUT_TARGET: i32 = 84; // i32 [cap] block target t
export const S_OUT_UPPER: i32 = 88; // f64 [cap]
export const S_TILES: i32 = 92; // out, cumulative: 4×4 dense tiles with an admissible pair
export const S_SPARSE_PAIRS: i32 = 96; // out, cumulative: admissible sparse pairs summed
export const S_ADMISSIBLE: i32 = 100; // out, cumulative: popcount of the words (all k sources)
export const S_K_NEURONS: i32 = 104; // k (length of the words)
export const S_DT: i32 = 108; // f32 [Sp·32] scratch: the block's target rows transposed (sample-major)
export const S_MIN_SCORE: i32 = 112; // f64
export const S_ERR_REL: i32 = 120; // f64
export const S_ERR_ABS: i32 = 128; // f64
export const S_G: i32 = 136; // f64 running K-th best lower bound (+∞ when K = 0)
export const S_L: i32 = 144; // f64 [32] running c-th best lower bound per block target
export const S_COUNT: i32 = 400; // i32 [32] lower bounds held per block target
export const S_S: i32 = 528; // true samples per row (S ≤ Sp)
export const S_OUT_INNER: i32 = 532; // f64 [cap] exact ⟨x_i, δ_j⟩ of the kept pairs (rescore)
export const S_SIZE: i32 = 576;

const MODE_CORRELATION: i32 = 0;
/** Relative margin on every score for the rounding of |·|, ·/(‖x‖‖δ‖) and the bound itself. */
const MARGIN: f64 = 1.0 / 1099511627776.0; // 2⁻⁴⁰
/** Absolute margin (scores are ≥ 0; a true 0 stays below any positive threshold's upper bound). */
const TINY: f64 = 1e-300;

export function heapBase(): usize {
  return __heap_base;
}

@inline function i32At(ctx: usize, field: i32): i32 {
  return load<i32>(ctx + <usize>field);
}
@inline function ptrAt(ctx: usize, field: i32): usize {
  return load<usize>(ctx + <usize>field);
}
@inline function f64At(ctx: usize, field: i32): f64 {
  return load<f64>(ctx + <usize>field);
}

/** [hsum(a), hsum(b), hsum(c), hsum(d)] (as in index.ts). */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(f32x4.shuffle(a, b, 0, 4, 2, 6), f32x4.shuffle(a, b, 1, 5, 3, 7));
  const cd = f32x4.add(f32x4.shuffle(c, d, 0, 4, 2, 6), f32x4.shuffle(c, d, 1, 5, 3, 7));
  return f32x4.add(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** Lane i (0..3) of a float32 vector. */
@inline function laneOf(v: v128, i: i32): f32 {
  return i == 0 ? f32x4.extract_lane(v, 0) : i == 1 ? f32x4.extract_lane(v, 1) : i == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

/** The running thresholds max(minScore, min(L_t, G)) of block targets t and t + 1. */
@inline function thresholds(ctx: usize, t: i32): v128 {
  const L = v128.load(ctx + <usize>S_L + (<usize>t << 3));
  return f64x2.max(f64x2.splat(f64At(ctx, S_MIN_SCORE)), f64x2.min(L, f64x2.splat(f64At(ctx, S_G))));
}

/**
 * Which of four pairs (one source, targets t..t+3 with approximations v, norms enA = [t, t+1],
 * enB = [t+2, t+3]) may reach their thresholds: bit i set unless the pair's upper bound is surely
 * below. The bound is `consider`'s, computed in another order and inflated by 2⁻⁴⁵ (more than the
 * few roundings in which the two can differ), so a pair `consider` would keep always survives;
 * NaN survives too.
 */
@inline function survivors(mode: i32, v: v128, xn: f64, enA: v128, enB: v128, thrA: v128, thrB: v128, errRel: f64, errAbs: f64): i32 {
  const absV = f32x4.abs(v);
  const vA = f64x2.promote_low_f32x4(absV);
  const vB = f64x2.promote_low_f32x4(f32x4.shuffle(absV, absV, 2, 3, 0, 1));
  const x = f64x2.splat(xn);
  const inflate = f64x2.splat(1.0 + 1.0 / 35184372088832.0); // 1 + 2⁻⁴⁵
  const margin = f64x2.splat(1.0 + MARGIN);
  const tiny = f64x2.splat(TINY);
  let uA: v128;
  let uB: v128;
  if (mode == MODE_CORRELATION) {
    const pA = f64x2.mul(x, enA);
    const pB = f64x2.mul(x, enB);
    const rel = f64x2.splat(errRel + TINY);
    const abs = f64x2.splat(errAbs);
    uA = f64x2.add(f64x2.add(f64x2.mul(f64x2.div(vA, pA), margin), rel), f64x2.div(abs, pA));
    uB = f64x2.add(f64x2.add(f64x2.mul(f64x2.div(vB, pB), margin), rel), f64x2.div(abs, pB));
  } else {
    const rel = f64x2.splat(errRel * xn);
    const abs = f64x2.splat(errAbs + TINY);
    uA = f64x2.add(f64x2.add(f64x2.mul(vA, margin), f64x2.mul(rel, enA)), abs);
    uB = f64x2.add(f64x2.add(f64x2.mul(vB, margin), f64x2.mul(rel, enB)), abs);
  }
  uA = f64x2.mul(uA, inflate);
  uB = f64x2.mul(uB, inflate);
  // not(u < thr): NaN survives.
  const below = i64x2.bitmask(f64x2.lt(uA, thrA)) | (i64x2.bitmask(f64x2.lt(uB, thrB)) << 2);
  return ~below & 15;
}

/** Start a search: empty the global heap, zero the counters. */
export function beginSearch(ctx: usize): void {
  store<i32>(ctx + <usize>S_HEAP_SIZE, 0);
  store<i32>(ctx + <usize>S_TILES, 0);
  store<i32>(ctx + <usize>S_SPARSE_PAIRS, 0);
  store<i32>(ctx + <usize>S_ADMISSIBLE, 0);
  store<f64>(ctx + <usize>S_G, i32At(ctx, S_K) > 0 ? -Infinity : Infinity);
}

/**
 * Offer one pair's approximation `value` (±err) for block target t; append it to the output when
 * its upper bound reaches the running threshold. Returns the new output count.
 */
@inline function consider(ctx: usize, value: f64, errRel: f64, errAbs: f64, xn: f64, en: f64, slot: i32, t: i32, out: i32): i32 {
  const prod = xn * en;
  let score: f64;
  let err: f64;
  if (i32At(ctx, S_MODE) == MODE_CORRELATION) {
    score = Math.abs(value) / prod;
    err = errRel + errAbs / prod;
  } else {
    score = Math.abs(value);
    err = errRel * prod + errAbs;
  }
  err += score * MARGIN + TINY;
  let upper = score + err;
  let lower = score - err;
  if (!(upper < Infinity) || !(lower > -Infinity)) {
    // NaN or overflow in the approximation: only the exact rescoring can tell.
    upper = Infinity;
    lower = -Infinity;
  }
  const minScore = f64At(ctx, S_MIN_SCORE);
  const L = ctx + <usize>S_L + (<usize>t << 3);
  const G = f64At(ctx, S_G);
  if (!(upper >= Math.max(minScore, Math.min(load<f64>(L), G)))) return out;
  // Best c lower bounds of target t, descending.
  const c = i32At(ctx, S_C);
  if (c > 0) {
    const cnt = ctx + <usize>S_COUNT + (<usize>t << 2);
    let n = load<i32>(cnt);
    const row = ptrAt(ctx, S_LB) + (<usize>(t * c) << 3);
    if (n < c || lower > load<f64>(row + (<usize>(c - 1) << 3))) {
      let p = n < c ? n : c - 1;
      while (p > 0 && load<f64>(row + (<usize>(p - 1) << 3)) < lower) {
        store<f64>(row + (<usize>p << 3), load<f64>(row + (<usize>(p - 1) << 3)));
        p--;
      }
      store<f64>(row + (<usize>p << 3), lower);
      if (n < c) store<i32>(cnt, ++n);
      if (n == c) store<f64>(L, load<f64>(row + (<usize>(c - 1) << 3)));
    }
  }
  // Best K lower bounds overall: a min-heap whose root is the K-th best.
  const K = i32At(ctx, S_K);
  if (K > 0) {
    const heap = ptrAt(ctx, S_HEAP);
    const size = i32At(ctx, S_HEAP_SIZE);
    if (size < K) {
      let p = size;
      while (p > 0) {
        const parent = (p - 1) >> 1;
        const pv = load<f64>(heap + (<usize>parent << 3));
        if (!(pv > lower)) break;
        store<f64>(heap + (<usize>p << 3), pv);
        p = parent;
      }
      store<f64>(heap + (<usize>p << 3), lower);
      store<i32>(ctx + <usize>S_HEAP_SIZE, size + 1);
      if (size + 1 == K) store<f64>(ctx + <usize>S_G, load<f64>(heap));
    } else if (lower > load<f64>(heap)) {
      let p = 0;
      for (;;) {
        const l = 2 * p + 1;
        if (l >= K) break;
        let w = l;
        if (l + 1 < K && load<f64>(heap + (<usize>(l + 1) << 3)) < load<f64>(heap + (<usize>l << 3))) w = l + 1;
        const wv = load<f64>(heap + (<usize>w << 3));
        if (!(wv < lower)) break;
        store<f64>(heap + (<usize>p << 3), wv);
        p = w;
      }
      store<f64>(heap + (<usize>p << 3), lower);
      store<f64>(ctx + <usize>S_G, load<f64>(heap));
    }
  }
  store<i32>(ptrAt(ctx, S_OUT_SLOT) + (<usize>out << 2), slot);
  store<i32>(ptrAt(ctx, S_OUT_TARGET) + (<usize>out << 2), t);
  store<f64>(ptrAt(ctx, S_OUT_UPPER) + (<usize>out << 3), upper);
  return out + 1;
}

/**
 * One block of nt ≤ 32 targets (rows of S_D, norms S_EN, admissibility S_WORDS). Returns the number
 * of pairs kept in S_OUT_* (dense row or sparse index, block target), all of which the caller must
 * rescore exactly; everything else provably cannot be in the result.
 */
export function searchBlock(ctx: usize, nt: i32): i32 {
  const Sp = i32At(ctx, S_SP);
  const rowBytes = <usize>Sp << 2;
  const words = ptrAt(ctx, S_WORDS);
  const errRel = f64At(ctx, S_ERR_REL);
  const errAbs = f64At(ctx, S_ERR_ABS);
  const c = i32At(ctx, S_C);
  for (let t = 0; t < 32; t++) {
    store<f64>(ctx + <usize>S_L + (<usize>t << 3), c > 0 ? -Infinity : Infinity);
    store<i32>(ctx + <usize>S_COUNT + (<usize>t << 2), 0);
  }
  // Admissible pairs of the block, silent sources included (the plain search counts them too).
  const k = i32At(ctx, S_K_NEURONS);
  let admissible = 0;
  for (let i = 0; i < k; i++) admissible += <i32>popcnt<u32>(load<u32>(words + (<usize>i << 2)));
  store<i32>(ctx + <usize>S_ADMISSIBLE, i32At(ctx, S_ADMISSIBLE) + admissible);

  const X = ptrAt(ctx, S_X);
  const nd = i32At(ctx, S_ND);
  const denseId = ptrAt(ctx, S_DENSE_ID);
  const xnDense = ptrAt(ctx, S_XN_DENSE);
  const Dblk = ptrAt(ctx, S_D);
  const en = ptrAt(ctx, S_EN);
  const groups = (nt + 3) & ~3;
  const mode = i32At(ctx, S_MODE);
  let out = 0;
  let tiles = 0;
  for (let p = 0; p < nd; p += 4) {
    const id0 = load<i32>(denseId + (<usize>p << 2));
    const id1 = load<i32>(denseId + (<usize>(p + 1) << 2));
    const id2 = load<i32>(denseId + (<usize>(p + 2) << 2));
    const id3 = load<i32>(denseId + (<usize>(p + 3) << 2));
    const w0 = id0 >= 0 ? load<u32>(words + (<usize>id0 << 2)) : 0;
    const w1 = id1 >= 0 ? load<u32>(words + (<usize>id1 << 2)) : 0;
    const w2 = id2 >= 0 ? load<u32>(words + (<usize>id2 << 2)) : 0;
    const w3 = id3 >= 0 ? load<u32>(words + (<usize>id3 << 2)) : 0;
    if ((w0 | w1 | w2 | w3) == 0) continue;
    const x0 = X + <usize>p * rowBytes;
    const x1 = x0 + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    for (let q = 0; q < groups; q += 4) {
      const bits = ((w0 >>> q) & 15) | (((w1 >>> q) & 15) << 4) | (((w2 >>> q) & 15) << 8) | (((w3 >>> q) & 15) << 12);
      if (bits == 0) continue;
      tiles++;
      const d0 = Dblk + <usize>q * rowBytes;
      const d1 = d0 + rowBytes;
      const d2 = d1 + rowBytes;
      const d3 = d2 + rowBytes;
      // 4 sources × 4 targets as two passes of 4 × 2, four samples per lane: 8 accumulators and
      // 6 operands stay in the 16 SIMD registers (one pass of 4 × 4 spills).
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
      let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
      for (let o: usize = 0; o < rowBytes; o += 16) {
        const e0 = v128.load(d0 + o);
        const e1 = v128.load(d1 + o);
        let x = v128.load(x0 + o);
        a00 = f32x4.add(a00, f32x4.mul(x, e0));
        a01 = f32x4.add(a01, f32x4.mul(x, e1));
        x = v128.load(x1 + o);
        a10 = f32x4.add(a10, f32x4.mul(x, e0));
        a11 = f32x4.add(a11, f32x4.mul(x, e1));
        x = v128.load(x2 + o);
        a20 = f32x4.add(a20, f32x4.mul(x, e0));
        a21 = f32x4.add(a21, f32x4.mul(x, e1));
        x = v128.load(x3 + o);
        a30 = f32x4.add(a30, f32x4.mul(x, e0));
        a31 = f32x4.add(a31, f32x4.mul(x, e1));
      }
      let a02 = f32x4.splat(0), a03 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
      let a22 = f32x4.splat(0), a23 = f32x4.splat(0), a32 = f32x4.splat(0), a33 = f32x4.splat(0);
      if (bits & 0xcccc) {
        for (let o: usize = 0; o < rowBytes; o += 16) {
          const e2 = v128.load(d2 + o);
          const e3 = v128.load(d3 + o);
          let x = v128.load(x0 + o);
          a02 = f32x4.add(a02, f32x4.mul(x, e2));
          a03 = f32x4.add(a03, f32x4.mul(x, e3));
          x = v128.load(x1 + o);
          a12 = f32x4.add(a12, f32x4.mul(x, e2));
          a13 = f32x4.add(a13, f32x4.mul(x, e3));
          x = v128.load(x2 + o);
          a22 = f32x4.add(a22, f32x4.mul(x, e2));
          a23 = f32x4.add(a23, f32x4.mul(x, e3));
          x = v128.load(x3 + o);
          a32 = f32x4.add(a32, f32x4.mul(x, e2));
          a33 = f32x4.add(a33, f32x4.mul(x, e3));
        }
      }
      const r0 = hsum4(a00, a01, a02, a03);
      const r1 = hsum4(a10, a11, a12, a13);
      const r2 = hsum4(a20, a21, a22, a23);
      const r3 = hsum4(a30, a31, a32, a33);
      // Quick reject, four pairs per source row at a time; `consider` re-tests the survivors exactly.
      const enA = v128.load(en + (<usize>q << 3));
      const enB = v128.load(en + (<usize>(q + 2) << 3));
      const thrA = thresholds(ctx, q);
      const thrB = thresholds(ctx, q + 2);
      let pass = survivors(mode, r0, load<f64>(xnDense + (<usize>p << 3)), enA, enB, thrA, thrB, errRel, errAbs) & bits;
      pass |= (survivors(mode, r1, load<f64>(xnDense + (<usize>(p + 1) << 3)), enA, enB, thrA, thrB, errRel, errAbs) << 4) & bits;
      pass |= (survivors(mode, r2, load<f64>(xnDense + (<usize>(p + 2) << 3)), enA, enB, thrA, thrB, errRel, errAbs) << 8) & bits;
      pass |= (survivors(mode, r3, load<f64>(xnDense + (<usize>(p + 3) << 3)), enA, enB, thrA, thrB, errRel, errAbs) << 12) & bits;
      while (pass != 0) {
        const b = <i32>ctz<i32>(pass);
        pass &= pass - 1;
        const row = b >> 2;
        const t = q + (b & 3);
        const r = row == 0 ? r0 : row == 1 ? r1 : row == 2 ? r2 : r3;
        out = consider(ctx, <f64>laneOf(r, b & 3), errRel, errAbs, load<f64>(xnDense + (<usize>(p + row) << 3)), load<f64>(en + (<usize>t << 3)), p + row, t, out);
      }
    }
  }
  store<i32>(ctx + <usize>S_TILES, i32At(ctx, S_TILES) + tiles);

  // Sparse sources: their few non-zero samples against all 32 targets at once, from the block's
  // rows transposed to sample-major (128 bytes per sample); float32 with the same bound as above
  // (a lane sums at most S/4 products), the survivors rescored exactly by the caller.
  const ns = i32At(ctx, S_NS);
  const start = ptrAt(ctx, S_SPARSE_START);
  const sample = ptrAt(ctx, S_SPARSE_SAMPLE);
  const value = ptrAt(ctx, S_SPARSE_VALUE);
  const sparseId = ptrAt(ctx, S_SPARSE_ID);
  const xnSparse = ptrAt(ctx, S_XN_SPARSE);
  const Dt = ptrAt(ctx, S_DT);
  if (ns > 0) {
    for (let t = 0; t < 32; t++) {
      const row = Dblk + <usize>t * rowBytes;
      for (let b = 0; b < Sp; b++) store<f32>(Dt + (<usize>((b << 5) + t) << 2), load<f32>(row + (<usize>b << 2)));
    }
  }
  let sparsePairs = 0;
  for (let p = 0; p < ns; p++) {
    const m = load<u32>(words + (<usize>load<i32>(sparseId + (<usize>p << 2)) << 2));
    if (m == 0) continue;
    sparsePairs += <i32>popcnt<u32>(m);
    const from = load<i32>(start + (<usize>p << 2));
    const to = load<i32>(start + (<usize>(p + 1) << 2));
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
    for (let z = from; z < to; z++) {
      const v = f32x4.splat(load<f32>(value + (<usize>z << 2)));
      const row = Dt + (<usize>load<i32>(sample + (<usize>z << 2)) << 7);
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(row)));
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(row, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v, v128.load(row, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v, v128.load(row, 48)));
      a4 = f32x4.add(a4, f32x4.mul(v, v128.load(row, 64)));
      a5 = f32x4.add(a5, f32x4.mul(v, v128.load(row, 80)));
      a6 = f32x4.add(a6, f32x4.mul(v, v128.load(row, 96)));
      a7 = f32x4.add(a7, f32x4.mul(v, v128.load(row, 112)));
    }
    const xn = load<f64>(xnSparse + (<usize>p << 3));
    for (let g = 0; g < 8; g++) {
      const bits4 = (m >>> (g << 2)) & 15;
      if (bits4 == 0) continue;
      const r = g == 0 ? a0 : g == 1 ? a1 : g == 2 ? a2 : g == 3 ? a3 : g == 4 ? a4 : g == 5 ? a5 : g == 6 ? a6 : a7;
      const q = g << 2;
      let pass = survivors(mode, r, xn, v128.load(en + (<usize>q << 3)), v128.load(en + (<usize>(q + 2) << 3)), thresholds(ctx, q), thresholds(ctx, q + 2), errRel, errAbs) & bits4;
      while (pass != 0) {
        const b = <i32>ctz<i32>(pass);
        pass &= pass - 1;
        const t = q + b;
        out = consider(ctx, <f64>laneOf(r, b), errRel, errAbs, xn, load<f64>(en + (<usize>t << 3)), -1 - p, t, out);
      }
    }
  }
  store<i32>(ctx + <usize>S_SPARSE_PAIRS, i32At(ctx, S_SPARSE_PAIRS) + sparsePairs);

  // Final thresholds of the block (L_t is final now; G may still grow in later blocks).
  const minScore = f64At(ctx, S_MIN_SCORE);
  const G = f64At(ctx, S_G);
  const outSlot = ptrAt(ctx, S_OUT_SLOT);
  const outTarget = ptrAt(ctx, S_OUT_TARGET);
  const outUpper = ptrAt(ctx, S_OUT_UPPER);
  let kept = 0;
  for (let e = 0; e < out; e++) {
    const t = load<i32>(outTarget + (<usize>e << 2));
    const upper = load<f64>(outUpper + (<usize>e << 3));
    if (!(upper >= Math.max(minScore, Math.min(load<f64>(ctx + <usize>S_L + (<usize>t << 3)), G)))) continue;
    store<i32>(outSlot + (<usize>kept << 2), load<i32>(outSlot + (<usize>e << 2)));
    store<i32>(outTarget + (<usize>kept << 2), t);
    store<f64>(outUpper + (<usize>kept << 3), upper);
    kept++;
  }
  return kept;
}

/**
 * For the approximate search (src/engine/wasm/candidate-scoring.ts): out[f] ≈ ⟨X[list[f]], q⟩ in float32, summed as
 * `searchBlock` sums (four samples per lane, then the lanes), so the same error bound holds; the
 * caller rescores exactly only the candidates whose upper bound can still enter the result.
 * X: f32 rows of Sp by neuron; q: f32 [Sp] (zero-padded); list: i32 [n]; out: f32 [n].
 */
export function approxDots(X: usize, Sp: i32, q: usize, list: usize, n: i32, out: usize): void {
  const rowBytes = <usize>Sp << 2;
  let f = 0;
  for (; f + 4 <= n; f += 4) {
    const x0 = X + <usize>load<i32>(list + (<usize>f << 2)) * rowBytes;
    const x1 = X + <usize>load<i32>(list + (<usize>(f + 1) << 2)) * rowBytes;
    const x2 = X + <usize>load<i32>(list + (<usize>(f + 2) << 2)) * rowBytes;
    const x3 = X + <usize>load<i32>(list + (<usize>(f + 3) << 2)) * rowBytes;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let o: usize = 0; o < rowBytes; o += 16) {
      const e = v128.load(q + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(x0 + o), e));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(x1 + o), e));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(x2 + o), e));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(x3 + o), e));
    }
    v128.store(out + (<usize>f << 2), hsum4(a0, a1, a2, a3));
  }
  for (; f < n; f++) {
    const x0 = X + <usize>load<i32>(list + (<usize>f << 2)) * rowBytes;
    let a0 = f32x4.splat(0);
    for (let o: usize = 0; o < rowBytes; o += 16) a0 = f32x4.add(a0, f32x4.mul(v128.load(x0 + o), v128.load(q + o)));
    const z = f32x4.splat(0);
    store<f32>(out + (<usize>f << 2), f32x4.extract_lane(hsum4(a0, z, z, z), 0));
  }
}

/**
 * int8 copies of `rows` rows (S floats, `stride` apart) for the approximate search's first filter
 * (src/engine/wasm/candidate-scoring.ts): row i becomes q_i = round(x_i / s_i) in [−127, 127]
 * (Sq bytes, zero-padded; Sq a multiple of 16) with s_i = max|x_i| / 127, and residual[i] =
 * ‖x_i − s_i·q_i‖ in float64, so that |⟨x, δ⟩ − s_x·s_δ·⟨q_x, q_δ⟩| ≤ (‖x‖ + r_x)·r_δ + r_x·‖δ‖.
 * A row with a non-finite value gets residual +∞ (its pairs are always rescored). With wide ≠ 0
 * the values are stored as i16 (the query, read once per candidate).
 */
export function quantizeRows(src: usize, stride: i32, S: i32, rows: i32, dst: usize, Sq: i32, wide: i32, scale: usize, residual: usize): void {
  const width: usize = wide != 0 ? 2 : 1;
  for (let i = 0; i < rows; i++) {
    const row = src + (<usize>(i * stride) << 2);
    const out = dst + <usize>(i * Sq) * width;
    let max: f64 = 0;
    for (let b = 0; b < S; b++) {
      const a = Math.abs(<f64>load<f32>(row + (<usize>b << 2)));
      if (a > max) max = a;
    }
    const s = max / 127;
    let finite = max < Infinity;
    // Any rounding is valid (the residual is of the q chosen): multiply by the inverse, round to nearest.
    const inverse = s > 0 && finite ? 127 / max : 0;
    let sum: f64 = 0;
    for (let b = 0; b < S; b++) {
      const x = <f64>load<f32>(row + (<usize>b << 2));
      let v = nearest<f64>(x * inverse);
      if (!(Math.abs(v) <= 127)) {
        v = 0;
        finite = false;
      }
      const e = x - s * v;
      sum += e * e;
      if (wide != 0) store<i16>(out + (<usize>b << 1), <i16>(<i32>v));
      else store<i8>(out + <usize>b, <i8>(<i32>v));
    }
    for (let b = S; b < Sq; b++) {
      if (wide != 0) store<i16>(out + (<usize>b << 1), 0);
      else store<i8>(out + <usize>b, 0);
    }
    store<f64>(scale + (<usize>i << 3), s);
    store<f64>(residual + (<usize>i << 3), finite && sum == sum ? Math.sqrt(sum) : Infinity);
  }
}

/** ⟨x, q⟩ exactly in int32 for an int8 row x and an i16 row q of Sq values (16 samples per step). */
@inline function dotI8(x: usize, q: usize, Sq: i32): i32 {
  let a0 = i32x4.splat(0);
  let a1 = i32x4.splat(0);
  const rowBytes = <usize>Sq;
  for (let o: usize = 0; o < rowBytes; o += 16) {
    const v = v128.load(x + o);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(q + (o << 1))));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load(q + (o << 1), 16)));
  }
  return laneSum(i32x4.add(a0, a1));
}

/**
 * out[p] = ⟨Q[sources[p]], q16[owners[p]]⟩ exactly (int32: |q| ≤ 127 and Sq ≤ 2¹⁷ keep every sum
 * below 2³¹) for the n candidate pairs of a block of queries: int8 source rows of Sq bytes, i16
 * query rows of Sq values. Visited source-major (a counting sort by source; count: i32 [k + 1],
 * order: i32 [n] scratch), so each source row is read once per block and in address order, where
 * query by query at 170,000 neurons every pair was a row fetched at random from 43 MB.
 */
export function blockDotsI8(Q: usize, Sq: i32, q16: usize, sources: usize, owners: usize, n: i32, k: i32, count: usize, order: usize, out: usize): void {
  memory.fill(count, 0, <usize>(k + 1) << 2);
  for (let p = 0; p < n; p++) {
    const at = count + (<usize>(load<i32>(sources + (<usize>p << 2)) + 1) << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
  for (let i = 0; i < k; i++) store<i32>(count + (<usize>(i + 1) << 2), load<i32>(count + (<usize>(i + 1) << 2)) + load<i32>(count + (<usize>i << 2)));
  for (let p = 0; p < n; p++) {
    const at = count + (<usize>load<i32>(sources + (<usize>p << 2)) << 2);
    const z = load<i32>(at);
    store<i32>(at, z + 1);
    store<i32>(order + (<usize>z << 2), p);
  }
  const queryBytes = <usize>Sq << 1;
  const rowBytes = <usize>Sq;
  let z = 0;
  // Two pairs at a time: two independent chains of adds.
  for (; z + 2 <= n; z += 2) {
    const p0 = load<i32>(order + (<usize>z << 2));
    const p1 = load<i32>(order + (<usize>(z + 1) << 2));
    const x0 = Q + <usize>load<i32>(sources + (<usize>p0 << 2)) * rowBytes;
    const x1 = Q + <usize>load<i32>(sources + (<usize>p1 << 2)) * rowBytes;
    const y0 = q16 + <usize>load<i32>(owners + (<usize>p0 << 2)) * queryBytes;
    const y1 = q16 + <usize>load<i32>(owners + (<usize>p1 << 2)) * queryBytes;
    let a0 = i32x4.splat(0), b0 = i32x4.splat(0), a1 = i32x4.splat(0), b1 = i32x4.splat(0);
    for (let o: usize = 0; o < rowBytes; o += 16) {
      const v0 = v128.load(x0 + o);
      const v1 = v128.load(x1 + o);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), v128.load(y0 + (o << 1))));
      b0 = i32x4.add(b0, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), v128.load(y0 + (o << 1), 16)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), v128.load(y1 + (o << 1))));
      b1 = i32x4.add(b1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), v128.load(y1 + (o << 1), 16)));
    }
    store<i32>(out + (<usize>p0 << 2), laneSum(i32x4.add(a0, b0)));
    store<i32>(out + (<usize>p1 << 2), laneSum(i32x4.add(a1, b1)));
  }
  for (; z < n; z++) {
    const p = load<i32>(order + (<usize>z << 2));
    const x = Q + <usize>load<i32>(sources + (<usize>p << 2)) * rowBytes;
    store<i32>(out + (<usize>p << 2), dotI8(x, q16 + <usize>load<i32>(owners + (<usize>p << 2)) * queryBytes, Sq));
  }
}

@inline function laneSum(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/**
 * Admissibility of up to 512 targets at once for src/graph/admissibility.ts's orderAdmissibility (§4.5):
 * one pass over the evaluation order from position r0 + 1 carrying a 512-bit word per neuron (four
 * v128, one cache line; bit t: "is target t, descends from it, or is one of its sources"); a neuron
 * descends from target t iff one of its sources is t or descends from t, and the order decides its
 * sources first. Neurons at a level ≤ minLevel (the targets' lowest) cannot descend from any target
 * and are skipped unread. At 170,000 neurons the pass is bound by one cache miss per edge, so wider
 * words (more targets per pass) are nearly free: 512 bits made it ~3× faster than 128.
 * A bit per neuron (`nonzero`, k/8 bytes, stays in cache) says whether its word has been written:
 * the words of neurons before r0 and of non-descendants are then never read, and the 64·k bytes of
 * words need no clearing per call; the result is written in one pass over the words, not one per
 * block of 32. Same bits (bench/results/2026-12-03-gradient-scan.txt).
 * Writes out[b·k + i] = bits of block b (targets 32b..32b+31) for which i → target is admissible.
 * sources: i32 [(k − n)·d] rows of the non-inputs; order: i32 [H]; levels: i32 [k];
 * targets: i32 [count ≤ 512]; words: 64 bytes × k scratch; nonzero: u32 [ceil(k/32)] scratch;
 * out: i32 [ceil(count/32)·k].
 */
export function descendantWords(sources: usize, n: i32, d: i32, order: usize, H: i32, levels: usize, k: i32, targets: usize, count: i32, r0: i32, minLevel: i32, words: usize, nonzero: usize, out: usize): void {
  const zero = i32x4.splat(0);
  memory.fill(nonzero, 0, <usize>((k + 31) >> 5) << 2);
  for (let t = 0; t < count; t++) {
    const j = load<i32>(targets + (<usize>t << 2));
    const at = wordFor(words, nonzero, j) + (<usize>(t >> 5) << 2);
    store<u32>(at, load<u32>(at) | (<u32>1 << <u32>(t & 31)));
  }
  const rowBytes = <usize>d << 2;
  for (let r = r0 + 1; r < H; r++) {
    const w = load<i32>(order + (<usize>r << 2));
    if (load<i32>(levels + (<usize>w << 2)) <= minLevel) continue;
    const row = sources + <usize>(w - n) * rowBytes;
    let m0 = zero, m1 = zero, m2 = zero, m3 = zero;
    for (let e: usize = 0; e < rowBytes; e += 4) {
      const s = load<i32>(row + e);
      if (!hasBit(nonzero, s)) continue;
      const src = words + (<usize>s << 6);
      m0 = v128.or(m0, v128.load(src));
      m1 = v128.or(m1, v128.load(src, 16));
      m2 = v128.or(m2, v128.load(src, 32));
      m3 = v128.or(m3, v128.load(src, 48));
    }
    if (v128.any_true(v128.or(v128.or(m0, m1), v128.or(m2, m3)))) {
      const at = wordFor(words, nonzero, w);
      v128.store(at, v128.or(v128.load(at), m0));
      v128.store(at, v128.or(v128.load(at, 16), m1), 16);
      v128.store(at, v128.or(v128.load(at, 32), m2), 32);
      v128.store(at, v128.or(v128.load(at, 48), m3), 48);
    }
  }
  for (let t = 0; t < count; t++) {
    const row = sources + <usize>(load<i32>(targets + (<usize>t << 2)) - n) * rowBytes;
    const lane = <usize>(t >> 5) << 2;
    const bit = <u32>1 << <u32>(t & 31);
    for (let e: usize = 0; e < rowBytes; e += 4) {
      const at = wordFor(words, nonzero, load<i32>(row + e)) + lane;
      store<u32>(at, load<u32>(at) | bit);
    }
  }
  const blocks = (count + 31) >> 5;
  const last: u32 = <u32>laneBits(count - ((blocks - 1) << 5));
  const stride = <usize>k << 2;
  for (let i = 0; i < k; i++) {
    const dst = out + (<usize>i << 2);
    if (!hasBit(nonzero, i)) {
      for (let b = 0; b < blocks - 1; b++) store<u32>(dst + <usize>b * stride, 0xffffffff);
      store<u32>(dst + <usize>(blocks - 1) * stride, last);
      continue;
    }
    const src = words + (<usize>i << 6);
    for (let b = 0; b < blocks - 1; b++) store<u32>(dst + <usize>b * stride, ~load<u32>(src + (<usize>b << 2)));
    store<u32>(dst + <usize>(blocks - 1) * stride, ~load<u32>(src + (<usize>(blocks - 1) << 2)) & last);
  }
}

@inline function hasBit(bits: usize, i: i32): bool {
  return (load<u32>(bits + (<usize>(i >>> 5) << 2)) & (<u32>1 << <u32>(i & 31))) != 0;
}

/** Neuron i's word, cleared first if it had not been written in this call (its `nonzero` bit then set). */
@inline function wordFor(words: usize, nonzero: usize, i: i32): usize {
  const at = words + (<usize>i << 6);
  const bitAt = nonzero + (<usize>(i >>> 5) << 2);
  const bits = load<u32>(bitAt);
  const bit = <u32>1 << <u32>(i & 31);
  if ((bits & bit) == 0) {
    const zero = i32x4.splat(0);
    v128.store(at, zero);
    v128.store(at, zero, 16);
    v128.store(at, zero, 32);
    v128.store(at, zero, 48);
    store<u32>(bitAt, bits | bit);
  }
  return at;
}

/** The low min(32, max(0, left)) bits set. */
@inline function laneBits(left: i32): i32 {
  return left >= 32 ? -1 : left <= 0 ? 0 : <i32>((<u32>1 << <u32>left) - 1);
}

// ---- exact helpers: float64 in sample order, bit-identical to the TypeScript loops they replace ----

/**
 * norms[i] = √(Σ_b src[i·S + b]²) summed in float64 in sample order (as correlation.ts rowNorms),
 * and, when nnz ≠ 0, nnz[i] = the row's non-zero count. Rows of S floats.
 */
export function rowStats(src: usize, rows: i32, S: i32, norms: usize, nnz: usize): void {
  for (let i = 0; i < rows; i++) {
    const row = src + (<usize>(i * S) << 2);
    let sum: f64 = 0;
    let count = 0;
    for (let b = 0; b < S; b++) {
      const v = <f64>load<f32>(row + (<usize>b << 2));
      sum += v * v;
      if (v != 0) count++;
    }
    store<f64>(norms + (<usize>i << 3), Math.sqrt(sum));
    if (nnz != 0) store<i32>(nnz + (<usize>i << 2), count);
  }
}

/** dst row p (Sp floats) = src row ids[p] (S floats) zero-padded; a zero row where ids[p] < 0. */
export function packRows(src: usize, S: i32, ids: usize, count: i32, dst: usize, Sp: i32): void {
  for (let p = 0; p < count; p++) {
    const id = load<i32>(ids + (<usize>p << 2));
    const to = dst + (<usize>(p * Sp) << 2);
    let b = 0;
    if (id >= 0) {
      const from = src + (<usize>(id * S) << 2);
      memory.copy(to, from, <usize>S << 2);
      b = S;
    }
    for (; b < Sp; b++) store<f32>(to + (<usize>b << 2), 0);
  }
}

/** The (sample, value) lists of the rows ids[0..count) of src, at the offsets start[p] (precomputed). */
export function sparseLists(src: usize, S: i32, ids: usize, count: i32, start: usize, sample: usize, value: usize): void {
  for (let p = 0; p < count; p++) {
    const row = src + (<usize>(load<i32>(ids + (<usize>p << 2)) * S) << 2);
    let q = load<i32>(start + (<usize>p << 2));
    for (let b = 0; b < S; b++) {
      const v = load<f32>(row + (<usize>b << 2));
      if (v != 0) {
        store<i32>(sample + (<usize>q << 2), b);
        store<f32>(value + (<usize>q << 2), v);
        q++;
      }
    }
  }
}

/**
 * The exact inner products of the first `kept` pairs that searchBlock kept, into S_OUT_INNER:
 * dense Σ_{b<S} x_b·δ_b, sparse Σ_z value_z·δ_{sample_z}, in float64 and in that order — the sums
 * the plain TypeScript search computes, bit for bit.
 */
export function rescore(ctx: usize, kept: i32): void {
  const S = i32At(ctx, S_S);
  const rowBytes = <usize>i32At(ctx, S_SP) << 2;
  const X = ptrAt(ctx, S_X);
  const Dblk = ptrAt(ctx, S_D);
  const start = ptrAt(ctx, S_SPARSE_START);
  const sample = ptrAt(ctx, S_SPARSE_SAMPLE);
  const value = ptrAt(ctx, S_SPARSE_VALUE);
  const outSlot = ptrAt(ctx, S_OUT_SLOT);
  const outTarget = ptrAt(ctx, S_OUT_TARGET);
  const outInner = ptrAt(ctx, S_OUT_INNER);
  for (let e = 0; e < kept; e++) {
    const slot = load<i32>(outSlot + (<usize>e << 2));
    const d = Dblk + <usize>load<i32>(outTarget + (<usize>e << 2)) * rowBytes;
    let s: f64 = 0;
    if (slot >= 0) {
      const x = X + <usize>slot * rowBytes;
      for (let b = 0; b < S; b++) s += <f64>load<f32>(x + (<usize>b << 2)) * <f64>load<f32>(d + (<usize>b << 2));
    } else {
      const p = -1 - slot;
      const to = load<i32>(start + (<usize>(p + 1) << 2));
      for (let z = load<i32>(start + (<usize>p << 2)); z < to; z++) {
        s += <f64>load<f32>(value + (<usize>z << 2)) * <f64>load<f32>(d + (<usize>load<i32>(sample + (<usize>z << 2)) << 2));
      }
    }
    store<f64>(outInner + (<usize>e << 3), s);
  }
}
