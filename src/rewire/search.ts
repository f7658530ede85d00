/**
 * Candidate edges (§4.3): the absent edges i → j with the largest |corr(i, j)| (Def. 4.6, the
 * thesis's criterion) or the largest |⟨σ(a_i), δ_j⟩| = |∂L/∂w| of a zero-weight edge (RigL's), among
 * the admissible ones (§4.5: no cycle, no duplicate, never into an input).
 *
 * Two outputs, because the strategies of §4.3/§4.6 need both: the top K pairs globally (strategy b,
 * "x % of the neuron pairs with largest absolute correlation"; RigL's top-k growth) and, per target
 * neuron, its best c candidates (strategy a and the §4.6 rule "rewire incoming edges of neuron j if
 * some corr(i, j) exceeds a threshold"; c > 1 when j has several free slots).
 *
 * The exact search scores every admissible pair: a blocked product of the k×S output matrix with
 * the S×(k−n) error matrix, O(k²·S) (§4.3: "computing the O(k²) correlations"). It is cache-blocked
 * (blocks of 64 sources × 32 targets), register-tiled (4 sources × 4 targets per pass over the
 * samples, 16 accumulators: 3–4× the speed of one dot product at a time in V8), skips whole blocks
 * with no admissible pair (sources and targets are visited in topological rank, so with a rank-based
 * admissibility about half the blocks vanish), and treats sparse sources — one-hot inputs, mostly
 * silent ReLUs — as lists of their non-zero samples: for a one-hot input ⟨x_i, δ_j⟩ is the sum of δ_j
 * over the samples where input i is active, ~1/27 of the work for text. The approximate search
 * (lsh.ts) returns the same result type.
 *
 * Legend: k neurons, n inputs, S samples, K global candidates, c candidates per target.
 */
import type { Network } from "../graph/network.js";
import { ShapeError, UsageError } from "../util/errors.js";
import { checkActivity, normalise, rowNorms, type Activity } from "./correlation.js";

export type GrowthCriterion = "correlation" | "gradient";

/**
 * Which absent edges may be added. `fill(target, into)` gets `into` (length ≥ k) zeroed and sets
 * into[i] = 1 for every admissible source i of `target`: not an existing source, not the target
 * itself, not reachable from the target (no cycle). This is the shape of online-order's
 * `admissibleSources(target, into)`.
 */
export interface Admissibility {
  fill(target: number, into: Uint8Array): void;
  /**
   * Optional O(d) test of one pair. The approximate search checks only a few candidates per target,
   * so with `admits` it never builds an O(k) mask per target (which would make it quadratic again).
   */
  admits?(source: number, target: number): boolean;
  /**
   * Optional topological rank per neuron (inputs lowest): only orders the work so that blocks of
   * sources ranked after a block of targets — mostly inadmissible — are skipped together. Never
   * used to decide admissibility.
   */
  rank?: Int32Array;
}

/**
 * The cheap conservative admissibility usable without the online order (§4.5: "neurons that come
 * before j in the evaluation order cannot depend on j"): i → j is allowed when j is not an input,
 * i ≠ j, i is not already a source of j, and level(i) ≤ level(j). A path j → … → i would force
 * level(i) > level(j), so this never closes a cycle; it contains the rule "position(i) < position(j)
 * in the evaluation order, or i is an input" (the order is sorted by level) and adds same-level
 * pairs in both directions. It misses admissible pairs with level(i) > level(j) where j still does
 * not reach i; an exact per-target DFS (online-order's `admissibleSources`) finds those too.
 * Levels must be current: after inserting edges, rebuild this (or re-read levels) before searching.
 */
export function levelAdmissibility(net: Network): Admissibility {
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const levels = net.levels;
  if (levels.length !== k) throw new ShapeError(`network levels hold ${levels.length} entries, expected ${k}; call validate() or computeOrder() first`);
  return {
    rank: levels,
    fill(target: number, into: Uint8Array): void {
      if (target < n) return;
      const lt = levels[target]!;
      for (let i = 0; i < k; i++) into[i] = levels[i]! <= lt ? 1 : 0;
      into[target] = 0;
      const row = (target - n) * d;
      for (let e = 0; e < d; e++) into[sources[row + e]!] = 0;
    },
    admits(source: number, target: number): boolean {
      if (target < n || source === target || levels[source]! > levels[target]!) return false;
      const row = (target - n) * d;
      for (let e = 0; e < d; e++) if (sources[row + e] === source) return false;
      return true;
    },
  };
}

/** Wrap a mask callback (e.g. online-order's admissibleSources) and optional pair test and rank. */
export function maskAdmissibility(
  fill: (target: number, into: Uint8Array) => void,
  extra: { admits?: (source: number, target: number) => boolean; rank?: Int32Array } = {},
): Admissibility {
  const a: Admissibility = { fill };
  if (extra.admits) a.admits = extra.admits;
  if (extra.rank) a.rank = extra.rank;
  return a;
}

export interface SearchOptions {
  /** |corr| (thesis, Def. 4.6) or |⟨σ(a_i), δ_j⟩| (RigL's gradient magnitude). */
  criterion: GrowthCriterion;
  /** K: how many pairs to return globally (0: none). */
  top: number;
  /** c: best candidates kept per target neuron (default 1; 0: none). */
  perTarget?: number;
  admissibility: Admissibility;
  /** Search only these targets (non-inputs; default all non-inputs). */
  targets?: ArrayLike<number>;
  /** Keep only pairs whose score is at least this (the §4.6 threshold); default 0 (keep all). */
  minScore?: number;
}

/** Candidate pairs sorted best first: score descending, then source, then target ascending. */
export interface CandidateList {
  count: number;
  sources: Int32Array;
  targets: Int32Array;
  /** ⟨σ(a_i), δ_j⟩ over the samples = ∂(mean loss)/∂w of the absent edge (one batch). */
  inner: Float64Array;
  /** corr(i, j), Def. 4.6. */
  correlation: Float64Array;
  /** The criterion's score: |correlation| or |inner|. */
  score: Float64Array;
}

/** Per target neuron j: row j (length c) of the best candidates, best first; source −1 = none. */
export interface PerTargetCandidates {
  perTarget: number;
  sources: Int32Array;
  inner: Float64Array;
  correlation: Float64Array;
  score: Float64Array;
}

export interface SearchStats {
  /** Pairs whose inner product was computed exactly. */
  pairsScored: number;
  /** Candidate pairs looked at, duplicates and inadmissible ones included (= pairsScored for the exact search). */
  visited: number;
  /** Admissible pairs into the searched targets with non-zero error (exact search only; the approximate search reports −1). */
  admissiblePairs: number;
  samples: number;
  seconds: number;
}

export interface SearchResult {
  criterion: GrowthCriterion;
  top: CandidateList;
  perTarget: PerTargetCandidates;
  stats: SearchStats;
}

/**
 * Keeps the global top K (a bounded min-heap whose root is the worst kept pair) and the best c per
 * target (a sorted row per target) without allocating per offer.
 */
export class CandidateCollector {
  private readonly K: number;
  private readonly c: number;
  private readonly minScore: number;
  private readonly useCorrelation: boolean;
  private size = 0;
  private readonly hScore: Float64Array;
  private readonly hSource: Int32Array;
  private readonly hTarget: Int32Array;
  private readonly hInner: Float64Array;
  private readonly hCorr: Float64Array;
  private readonly tScore: Float64Array;
  private readonly tSource: Int32Array;
  private readonly tInner: Float64Array;
  private readonly tCorr: Float64Array;
  readonly criterion: GrowthCriterion;

  constructor(neurons: number, criterion: GrowthCriterion, top: number, perTarget: number, minScore: number) {
    if (!(Number.isInteger(top) && top >= 0)) throw new UsageError(`top must be a non-negative integer, got ${top}`);
    if (!(Number.isInteger(perTarget) && perTarget >= 0)) throw new UsageError(`perTarget must be a non-negative integer, got ${perTarget}`);
    if (!(minScore >= 0)) throw new UsageError(`minScore must be a non-negative number, got ${minScore}`);
    this.criterion = criterion;
    this.useCorrelation = criterion === "correlation";
    this.K = top;
    this.c = perTarget;
    this.minScore = minScore;
    this.hScore = new Float64Array(top);
    this.hSource = new Int32Array(top);
    this.hTarget = new Int32Array(top);
    this.hInner = new Float64Array(top);
    this.hCorr = new Float64Array(top);
    this.tScore = new Float64Array(neurons * perTarget).fill(-1);
    this.tSource = new Int32Array(neurons * perTarget).fill(-1);
    this.tInner = new Float64Array(neurons * perTarget);
    this.tCorr = new Float64Array(neurons * perTarget);
  }

  /** Offer pair i → j with inner product `inner` and correlation `corr`. */
  offer(source: number, target: number, inner: number, corr: number): void {
    const score = this.useCorrelation ? Math.abs(corr) : Math.abs(inner);
    if (!(score >= this.minScore)) return;
    const K = this.K;
    if (K > 0) {
      if (this.size < K) {
        // Sift up: the root stays the worst kept pair.
        let p = this.size++;
        while (p > 0) {
          const parent = (p - 1) >> 1;
          if (!better(this.hScore[parent]!, this.hSource[parent]!, this.hTarget[parent]!, score, source, target)) break;
          this.move(parent, p);
          p = parent;
        }
        this.put(p, score, source, target, inner, corr);
      } else if (better(score, source, target, this.hScore[0]!, this.hSource[0]!, this.hTarget[0]!)) {
        // Replace the root and sift down.
        let p = 0;
        for (;;) {
          const l = 2 * p + 1;
          if (l >= K) break;
          let w = l;
          const r = l + 1;
          if (r < K && better(this.hScore[l]!, this.hSource[l]!, this.hTarget[l]!, this.hScore[r]!, this.hSource[r]!, this.hTarget[r]!)) w = r;
          if (!better(score, source, target, this.hScore[w]!, this.hSource[w]!, this.hTarget[w]!)) break;
          this.move(w, p);
          p = w;
        }
        this.put(p, score, source, target, inner, corr);
      }
    }
    const c = this.c;
    if (c > 0) {
      const row = target * c;
      const last = row + c - 1;
      if (this.tSource[last]! >= 0 && !better(score, source, target, this.tScore[last]!, this.tSource[last]!, target)) return;
      let p = last;
      while (p > row && (this.tSource[p - 1]! < 0 || better(score, source, target, this.tScore[p - 1]!, this.tSource[p - 1]!, target))) {
        this.tScore[p] = this.tScore[p - 1]!;
        this.tSource[p] = this.tSource[p - 1]!;
        this.tInner[p] = this.tInner[p - 1]!;
        this.tCorr[p] = this.tCorr[p - 1]!;
        p--;
      }
      this.tScore[p] = score;
      this.tSource[p] = source;
      this.tInner[p] = inner;
      this.tCorr[p] = corr;
    }
  }

  /** The score the K-th kept pair has (−1 while fewer than K are kept): anything below cannot enter. */
  get threshold(): number {
    return this.size < this.K ? -1 : this.hScore[0]!;
  }

  private move(from: number, to: number): void {
    this.hScore[to] = this.hScore[from]!;
    this.hSource[to] = this.hSource[from]!;
    this.hTarget[to] = this.hTarget[from]!;
    this.hInner[to] = this.hInner[from]!;
    this.hCorr[to] = this.hCorr[from]!;
  }

  private put(p: number, score: number, source: number, target: number, inner: number, corr: number): void {
    this.hScore[p] = score;
    this.hSource[p] = source;
    this.hTarget[p] = target;
    this.hInner[p] = inner;
    this.hCorr[p] = corr;
  }

  finish(stats: SearchStats): SearchResult {
    const n = this.size;
    const idx = Array.from({ length: n }, (_, p) => p);
    idx.sort((a, b) => (better(this.hScore[a]!, this.hSource[a]!, this.hTarget[a]!, this.hScore[b]!, this.hSource[b]!, this.hTarget[b]!) ? -1 : 1));
    const top: CandidateList = {
      count: n,
      sources: new Int32Array(n),
      targets: new Int32Array(n),
      inner: new Float64Array(n),
      correlation: new Float64Array(n),
      score: new Float64Array(n),
    };
    idx.forEach((p, r) => {
      top.sources[r] = this.hSource[p]!;
      top.targets[r] = this.hTarget[p]!;
      top.inner[r] = this.hInner[p]!;
      top.correlation[r] = this.hCorr[p]!;
      top.score[r] = this.hScore[p]!;
    });
    const tScore = this.tScore.slice();
    for (let p = 0; p < tScore.length; p++) if (this.tSource[p]! < 0) tScore[p] = 0;
    return {
      criterion: this.criterion,
      top,
      perTarget: { perTarget: this.c, sources: this.tSource.slice(), inner: this.tInner.slice(), correlation: this.tCorr.slice(), score: tScore },
      stats,
    };
  }
}

/** Strict total order on candidates: higher score first, then lower source, then lower target. */
export function better(scoreA: number, sourceA: number, targetA: number, scoreB: number, sourceB: number, targetB: number): boolean {
  if (scoreA !== scoreB) return scoreA > scoreB;
  if (sourceA !== sourceB) return sourceA < sourceB;
  return targetA < targetB;
}

/** The targets to search: the given list (checked) or every non-input. */
export function targetList(a: Activity, targets: ArrayLike<number> | undefined): Int32Array {
  const { neurons: k, inputs: n } = a;
  if (targets === undefined) {
    const all = new Int32Array(k - n);
    for (let j = n; j < k; j++) all[j - n] = j;
    return all;
  }
  const list = Int32Array.from(targets);
  const seen = new Uint8Array(k);
  for (const j of list) {
    if (!(Number.isInteger(j) && j >= n && j < k)) throw new ShapeError(`target ${j} is not a non-input neuron (${n}..${k - 1})`);
    if (seen[j]) throw new ShapeError(`target ${j} is listed twice`);
    seen[j] = 1;
  }
  return list;
}

/** Sort neuron ids by (rank, id) when a rank is given; by id otherwise. */
function byRank(ids: number[], rank: Int32Array | undefined): Int32Array {
  if (rank) ids.sort((a, b) => rank[a]! - rank[b]! || a - b);
  else ids.sort((a, b) => a - b);
  return Int32Array.from(ids);
}

/** A source is stored as a list of its non-zero samples when at most this share of them is non-zero. */
const SPARSE_SHARE = 0.25;
const SOURCE_BLOCK = 64;
const TARGET_BLOCK = 32;

/**
 * Exact search over all admissible pairs, O(k²·S) multiply-adds (fewer for sparse sources and
 * skipped blocks). Sums run in float64 over the float32 activity, in sample order, so a pair's
 * inner product is bit-identical to the plain loop in `innerProduct`.
 */
export function exactSearch(a: Activity, options: SearchOptions): SearchResult {
  const started = performance.now();
  checkActivity(a);
  const { neurons: k, samples: S, outputs, errors } = a;
  const admissibility = options.admissibility;
  const rank = admissibility.rank;
  if (rank !== undefined && rank.length !== k) throw new ShapeError(`admissibility rank holds ${rank.length} entries, expected ${k}`);
  const collector = new CandidateCollector(k, options.criterion, options.top, options.perTarget ?? 1, options.minScore ?? 0);

  const xNorm = rowNorms(outputs, k, S);
  const eNorm = rowNorms(errors, k, S);
  // A silent source or an error-free target has inner product 0 with everything: never a candidate.
  const targetIds: number[] = [];
  for (const j of targetList(a, options.targets)) if (eNorm[j]! > 0) targetIds.push(j);
  const targets = byRank(targetIds, rank);
  const denseIds: number[] = [];
  const sparseIds: number[] = [];
  for (let i = 0; i < k; i++) {
    if (!(xNorm[i]! > 0)) continue;
    let nnz = 0;
    const base = i * S;
    for (let b = 0; b < S; b++) if (outputs[base + b] !== 0) nnz++;
    (nnz <= SPARSE_SHARE * S ? sparseIds : denseIds).push(i);
  }
  const dense = byRank(denseIds, rank);
  const sparse = byRank(sparseIds, rank);

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
  // Sparse sources as (sample, value) lists.
  const sparseStart = new Int32Array(sparse.length + 1);
  let nnzTotal = 0;
  for (let p = 0; p < sparse.length; p++) {
    const base = sparse[p]! * S;
    for (let b = 0; b < S; b++) if (outputs[base + b] !== 0) nnzTotal++;
    sparseStart[p + 1] = nnzTotal;
  }
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

  const mask = new Uint8Array(TARGET_BLOCK * k);
  let pairsScored = 0;
  let admissiblePairs = 0;
  for (let t0 = 0; t0 < ntPad; t0 += TARGET_BLOCK) {
    const t1 = Math.min(t0 + TARGET_BLOCK, ntPad);
    mask.fill(0);
    for (let q = t0; q < t1; q++) {
      const j = targetId[q]!;
      if (j >= 0) admissibility.fill(j, mask.subarray((q - t0) * k, (q - t0 + 1) * k));
    }
    // Admissible pairs include silent sources too (their score is 0 and they are never offered).
    for (let q = t0; q < t1; q++) {
      if (targetId[q]! < 0) continue;
      const row = (q - t0) * k;
      for (let i = 0; i < k; i++) admissiblePairs += mask[row + i]!;
    }

    for (let s0 = 0; s0 < ndPad; s0 += SOURCE_BLOCK) {
      const s1 = Math.min(s0 + SOURCE_BLOCK, ndPad);
      // Skip the block when no pair in it is admissible (sources ranked after the targets).
      let anyAdmissible = 0;
      for (let q = t0; q < t1 && anyAdmissible === 0; q++) {
        const row = (q - t0) * k;
        for (let p = s0; p < s1; p++) {
          const i = denseId[p]!;
          if (i >= 0 && mask[row + i] !== 0) { anyAdmissible = 1; break; }
        }
      }
      if (anyAdmissible === 0) continue;
      for (let q = t0; q < t1; q += 4) {
        const m0 = (q - t0) * k;
        const m1 = m0 + k;
        const m2 = m1 + k;
        const m3 = m2 + k;
        const c0 = q * S;
        const c1 = c0 + S;
        const c2 = c1 + S;
        const c3 = c2 + S;
        for (let p = s0; p < s1; p += 4) {
          // Which of the 16 pairs are admissible (padding rows have id −1: never).
          const i0 = denseId[p]!;
          const i1 = denseId[p + 1]!;
          const i2 = denseId[p + 2]!;
          const i3 = denseId[p + 3]!;
          let bits = 0;
          if (i0 >= 0) bits |= mask[m0 + i0]! | (mask[m1 + i0]! << 1) | (mask[m2 + i0]! << 2) | (mask[m3 + i0]! << 3);
          if (i1 >= 0) bits |= (mask[m0 + i1]! << 4) | (mask[m1 + i1]! << 5) | (mask[m2 + i1]! << 6) | (mask[m3 + i1]! << 7);
          if (i2 >= 0) bits |= (mask[m0 + i2]! << 8) | (mask[m1 + i2]! << 9) | (mask[m2 + i2]! << 10) | (mask[m3 + i2]! << 11);
          if (i3 >= 0) bits |= (mask[m0 + i3]! << 12) | (mask[m1 + i3]! << 13) | (mask[m2 + i3]! << 14) | (mask[m3 + i3]! << 15);
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
          if (bits & 0x000f) offerRow(collector, bits, i0, xNorm, eNorm, j0, j1, j2, j3, s00, s01, s02, s03);
          if (bits & 0x00f0) offerRow(collector, bits >> 4, i1, xNorm, eNorm, j0, j1, j2, j3, s10, s11, s12, s13);
          if (bits & 0x0f00) offerRow(collector, bits >> 8, i2, xNorm, eNorm, j0, j1, j2, j3, s20, s21, s22, s23);
          if (bits & 0xf000) offerRow(collector, bits >> 12, i3, xNorm, eNorm, j0, j1, j2, j3, s30, s31, s32, s33);
        }
      }
    }

    // Sparse sources: gather the target errors at the source's non-zero samples only.
    for (let p = 0; p < sparse.length; p++) {
      const i = sparse[p]!;
      const from = sparseStart[p]!;
      const to = sparseStart[p + 1]!;
      for (let q = t0; q < t1; q++) {
        const j = targetId[q]!;
        if (j < 0 || mask[(q - t0) * k + i] === 0) continue;
        const c = q * S;
        let s = 0;
        for (let z = from; z < to; z++) s += sparseValue[z]! * D[c + sparseSample[z]!]!;
        pairsScored++;
        collector.offer(i, j, s, normalise(s, xNorm[i]!, eNorm[j]!));
      }
    }
  }
  return collector.finish({ pairsScored, visited: pairsScored, admissiblePairs, samples: S, seconds: (performance.now() - started) / 1000 });
}

/** Offer the admissible pairs of one source row of a 4×4 tile (bit t of `bits` = target t admissible). */
function offerRow(
  collector: CandidateCollector,
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
  if (bits & 1) collector.offer(i, j0, s0, normalise(s0, xn, eNorm[j0]!));
  if (bits & 2) collector.offer(i, j1, s1, normalise(s1, xn, eNorm[j1]!));
  if (bits & 4) collector.offer(i, j2, s2, normalise(s2, xn, eNorm[j2]!));
  if (bits & 8) collector.offer(i, j3, s3, normalise(s3, xn, eNorm[j3]!));
}

/**
 * Recall of an approximate result against the exact one: the share of the exact top-K pairs that
 * the approximate top-K contains, and the share of targets whose exact best source the approximate
 * search also ranks first (targets with no exact candidate are not counted). `scoreRatio` is the
 * mean over targets of approximate best score / exact best score (1 = always as good).
 */
export function recallOf(exact: SearchResult, approx: SearchResult): { topK: number; perTarget: number; scoreRatio: number; targets: number } {
  const key = (i: number, j: number) => i * 4294967296 + j;
  const found = new Set<number>();
  for (let r = 0; r < approx.top.count; r++) found.add(key(approx.top.sources[r]!, approx.top.targets[r]!));
  let hit = 0;
  for (let r = 0; r < exact.top.count; r++) if (found.has(key(exact.top.sources[r]!, exact.top.targets[r]!))) hit++;
  const ce = exact.perTarget.perTarget;
  const ca = approx.perTarget.perTarget;
  let targets = 0;
  let same = 0;
  let ratio = 0;
  if (ce > 0 && ca > 0) {
    const rows = exact.perTarget.sources.length / ce;
    for (let j = 0; j < rows; j++) {
      const best = exact.perTarget.sources[j * ce]!;
      if (best < 0) continue;
      targets++;
      if (approx.perTarget.sources[j * ca] === best) same++;
      const es = exact.perTarget.score[j * ce]!;
      ratio += es > 0 ? approx.perTarget.score[j * ca]! / es : 1;
    }
  }
  return {
    topK: exact.top.count > 0 ? hit / exact.top.count : 1,
    perTarget: targets > 0 ? same / targets : 1,
    scoreRatio: targets > 0 ? ratio / targets : 1,
    targets,
  };
}
