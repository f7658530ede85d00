/**
 * Approximate candidate search, sub-quadratic in neurons (§4.3 "Inner product search and nearest
 * neighbour search", §2.6): locality-sensitive hashing for cosine similarity.
 *
 * By Prop. 4.7, on unit vectors the largest inner product is the nearest neighbour, and corr(i, j)
 * is the inner product of the unit vectors σ(a_i)/‖σ(a_i)‖ and δ_j/‖δ_j‖. So the sources' output
 * vectors are the indexed set (the haystack) and each target's error vector is a query (the
 * needle); the absolute value is found by querying with u and with −u (Prop. 4.7's last remark).
 *
 * Hash family: random hyperplanes (Charikar 2002, "SimHash"): bit m of a vector v is sign⟨r_m, v⟩,
 * and two vectors at angle θ agree on a bit with probability 1 − θ/π. A table keys every source by
 * b such bits; L tables with independent bits make a pair at a small angle collide in at least one
 * with high probability while unrelated pairs rarely do. Three details make it cheap and better:
 * - The hyperplanes are the rows of pseudo-random rotations H·D₃·H·D₂·H·D₁ (H the Walsh–Hadamard
 *   transform, Dᵢ random ±1 diagonals; Ailon & Chazelle 2006, as used by FALCONN, Andoni et al.
 *   2015): P projections cost O(P log P) instead of O(P·S), and the bits within a rotation come
 *   from orthogonal hyperplanes. Signs need no normalisation: sign⟨r, v⟩ = sign⟨r, v/‖v‖⟩.
 * - The hash of −u is the complement of the hash of u, so the "−u" query costs no hashing.
 * - Query-directed multi-probe (Lv et al. 2007): each table is also probed at the keys that flip
 *   the query's least certain bits (smallest |⟨r_m, u⟩|), raising recall per table.
 * Every candidate that collides is scored exactly (its true inner product and correlation over the
 * samples, in the same summation order as the exact search), so the result has no false values,
 * only possibly missed pairs; it has the same shape as the exact search, and `recallOf` (search.ts)
 * measures the misses. Candidates can be capped per target (`budget`) by how many buckets they
 * shared with the query.
 *
 * |gradient| (RigL's criterion) is an inner product, not a cosine: its top pairs on a trained
 * network have |corr| ≈ 0.1 but sources of the largest norms. Its global top K comes from a
 * norm-bounded scan (Cauchy–Schwarz, exact when it finishes within its pair budget); its per-target
 * best from norm-ranging LSH plus an exact pass over the heaviest sources (`heavy`), and is only
 * approximate (see the recall figures in the issue-4 report).
 *
 * Two things keep it fast without changing its result: with a block admissibility (`fillBlocks`,
 * e.g. search.ts's orderAdmissibility) the targets are queried in rank order and a candidate's
 * admissibility is one bit, where a per-candidate graph search (online-order's canInsert) made the
 * 17,000-neuron search 50× slower; and where the WebAssembly module is loaded, the candidates are
 * scored in float32 SIMD with the exact search's error bound and only those that can still enter the
 * result are rescored exactly (the same sums as below, so the same values).
 *
 * Cost: hashing O((k + targets)·L·b·log S), tables O(L·(k + 2^b)) memory, queries
 * O(targets·L·(1 + probes)·2·k/2^b·S) — with b ≈ log₂(k) − 3 that is O(k·L·S) per round, linear in
 * k for fixed L (plus O(targets·H·S) for the heavy sources), against O(k²·S) for the exact search.
 * Random data is the hard case: its top correlations are only ~5σ above 0 (≈ 0.45 at S = 128), so
 * recall there is lower than on a trained network, whose large correlations hash together easily.
 */
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { checkActivity, rowNorms, type Activity } from "../estimate/activity.js";
import { normalise } from "./correlation.js";
import { searchKernels, searchKernelStatus } from "../engine/wasm/search-kernels.js";
import { SparsewireError } from "../util/errors.js";
import { BLOCK_TARGETS, byRank, CandidateCollector, FILTER_MARGIN, FILTER_TINY, fillWordBlocks, filterErrorBound, SUPER_BLOCK_TARGETS, targetList, type SearchOptions, type SearchResult } from "./search.js";

export interface LshOptions {
  /** L: number of hash tables (per norm range; default `DEFAULTS[criterion].tables`). */
  tables?: number;
  /** b: bits per table key (default: about log₂(sources) − 3, so buckets hold ~8 sources; 1..24). */
  bits?: number;
  /** Extra buckets probed per table and sign: the keys with one of the least certain bits flipped (default 2). */
  probes?: number;
  /**
   * At most this many candidates per norm range are scored exactly per target: those that collided
   * with the query in the most (table, probe, sign) buckets, the hash's own estimate of the angle
   * (default: all for correlation, 64 for gradient).
   */
  budget?: number;
  /** H: the H largest-norm sources are scored against every target (default: none for correlation; for gradient 1/16 of the sources, within 256..1,024). */
  heavy?: number;
  /** Gradient criterion only: number of norm ranges of norm-ranging LSH (default 4). */
  normRanges?: number;
  /**
   * Gradient criterion with top > 0: at most this many pairs are scanned by the norm-bounded pass
   * that finds the global top K exactly (default 64 per source; on trained networks it needs far
   * fewer, on random data with even norms it stops at the cap and the top K is approximate).
   */
  boundedPairs?: number;
  /** Seed of the random hyperplanes (default 1). */
  seed?: number;
}

export type ApproximateSearchOptions = SearchOptions & LshOptions;

/**
 * Defaults, chosen on measurements (issue-4 report): correlation 24 tables × 2 probes, every
 * collision scored; gradient 8 tables in 4 norm ranges, 64 scored per range and target, plus the
 * heaviest sources (1/16 of them, at least 256 and at most 1,024) scored against every target.
 */
export const DEFAULTS = {
  correlation: { tables: 24, probes: 2, budget: Infinity, normRanges: 1, heavyShare: 0, heavyMin: 0, heavyMax: 0 },
  gradient: { tables: 8, probes: 2, budget: 64, normRanges: 4, heavyShare: 1 / 16, heavyMin: 256, heavyMax: 1024 },
} as const;

export const DEFAULT_BOUNDED_PAIRS_PER_SOURCE = 64;

/** Default key length for `sources` indexed vectors: buckets of about 8. */
export function defaultBits(sources: number): number {
  return Math.max(1, Math.min(24, Math.round(Math.log2(Math.max(2, sources) / 8))));
}

/** Pseudo-random rotations of R^P (P a power of two ≥ S) producing `count` sign bits per vector. */
class Hyperplanes {
  readonly P: number;
  readonly rotations: number;
  readonly count: number;
  private readonly S: number;
  /** 3 diagonals of ±1 per rotation, P each. */
  private readonly diagonals: Float64Array;
  private readonly work: Float64Array;

  /** `extra`: reserve coordinate S for the norm-equalising term of the MIPS transform. */
  constructor(samples: number, count: number, extra: boolean, rng: Rng) {
    let P = 1;
    while (P < samples + (extra ? 1 : 0)) P <<= 1;
    this.P = P;
    this.S = samples;
    this.count = count;
    this.rotations = Math.ceil(count / P);
    this.diagonals = new Float64Array(this.rotations * 3 * P);
    for (let p = 0; p < this.diagonals.length; p++) this.diagonals[p] = rng.nextUint32() & 1 ? 1 : -1;
    this.work = new Float64Array(P);
  }

  /** Projections of (values[offset .. offset+S), extra) onto all hyperplanes, into out (rotations·P). */
  project(values: Float32Array, offset: number, extra: number, out: Float64Array): void {
    const { P, S, work, diagonals } = this;
    for (let r = 0; r < this.rotations; r++) {
      for (let m = 0; m < S; m++) work[m] = values[offset + m]!;
      for (let m = S; m < P; m++) work[m] = 0;
      if (S < P) work[S] = extra;
      const dBase = r * 3 * P;
      for (let round = 0; round < 3; round++) {
        const dOff = dBase + round * P;
        for (let m = 0; m < P; m++) work[m]! *= diagonals[dOff + m]!;
        hadamard(work, P);
      }
      out.set(work, r * P);
    }
  }
}

/** In-place unnormalised Walsh–Hadamard transform of work[0..P) (P a power of two). */
function hadamard(work: Float64Array, P: number): void {
  for (let h = 1; h < P; h <<= 1) {
    for (let i = 0; i < P; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const x = work[j]!;
        const y = work[j + h]!;
        work[j] = x + y;
        work[j + h] = x - y;
      }
    }
  }
}

/**
 * Approximate search by SimHash LSH over the sources' outputs, querying every target's errors with
 * +δ and −δ. Same options and result as `exactSearch` plus the LSH knobs; `stats.pairsScored`
 * counts the candidates scored exactly, `stats.admissiblePairs` is −1 (never enumerated).
 */
export function approximateSearch(a: Activity, options: ApproximateSearchOptions): SearchResult {
  const started = performance.now();
  checkActivity(a);
  const { neurons: k, samples: S, outputs, errors } = a;
  const defaults = DEFAULTS[options.criterion];
  const L = options.tables ?? defaults.tables;
  const probes = options.probes ?? defaults.probes;
  const budget = options.budget ?? defaults.budget;
  if (!(budget >= 1)) throw new UsageError(`budget must be at least 1, got ${budget}`);
  if (!(Number.isInteger(L) && L >= 1)) throw new UsageError(`tables must be a positive integer, got ${L}`);
  if (!(Number.isInteger(probes) && probes >= 0)) throw new UsageError(`probes must be a non-negative integer, got ${probes}`);
  if (options.bits !== undefined && !(Number.isInteger(options.bits) && options.bits >= 1 && options.bits <= 24)) throw new UsageError(`bits must be an integer in 1..24, got ${options.bits}`);
  const collector = new CandidateCollector(k, options.criterion, options.top, options.perTarget ?? 1, options.minScore ?? 0);
  const admissibility = options.admissibility;

  const xNorm = rowNorms(outputs, k, S);
  const eNorm = rowNorms(errors, k, S);
  const sourceIds: number[] = [];
  for (let i = 0; i < k; i++) if (xNorm[i]! > 0) sourceIds.push(i);
  const ns = sourceIds.length;

  // |gradient| = |⟨x, δ⟩| is a maximum inner product problem, not a cosine one. Norm-ranging LSH
  // (Yan et al. 2018): split the sources by norm into R ranges of equal size and, within range g,
  // append the coordinate √(M_g² − ‖x‖²) (M_g its largest norm) to every source and 0 to every
  // query, so that all sources of the range have norm M_g and, for one query, a smaller angle means
  // a larger inner product (the transform of Bachrach et al. 2014 / Neyshabur & Srebro 2015). One
  // global range would make the appended coordinate dominate every small-norm source and crowd
  // them into one bucket. For correlation the vectors are hashed as they are (signs ignore norms).
  const mips = options.criterion === "gradient";
  const R = mips ? Math.max(1, Math.min(options.normRanges ?? defaults.normRanges, ns)) : 1;
  if (mips) sourceIds.sort((x, y) => xNorm[x]! - xNorm[y]! || x - y);
  const groupStart = new Int32Array(R + 1);
  for (let g = 0; g <= R; g++) groupStart[g] = Math.round((g * ns) / R);
  const groupBits = new Int32Array(R);
  let bMax = 1;
  for (let g = 0; g < R; g++) {
    groupBits[g] = options.bits ?? defaultBits(groupStart[g + 1]! - groupStart[g]!);
    bMax = Math.max(bMax, groupBits[g]!);
  }
  const probesUsed = Math.min(probes, bMax);
  const planes = new Hyperplanes(S, L * bMax, mips, new Rng(options.seed ?? 1));
  const proj = new Float64Array(planes.rotations * planes.P);

  // Index: for every (range g, table t), the range's sources bucketed by key (counting sort, CSR).
  // Table t of every range uses hyperplanes [t·bMax, t·bMax + b_g), so a query is projected once.
  const T = R * L;
  const keyBase = new Int32Array(T + 1);
  for (let g = 0; g < R; g++) for (let t = 0; t < L; t++) keyBase[g * L + t + 1] = keyBase[g * L + t]! + (1 << groupBits[g]!) + 1;
  const bucketStart = new Int32Array(keyBase[T]!);
  const bucketItem = new Int32Array(L * ns);
  const sourceKey = new Int32Array(L * ns);
  for (let g = 0; g < R; g++) {
    const from = groupStart[g]!;
    const to = groupStart[g + 1]!;
    const size = to - from;
    const bg = groupBits[g]!;
    let M = 0;
    for (let p = from; p < to; p++) M = Math.max(M, xNorm[sourceIds[p]!]!);
    for (let p = from; p < to; p++) {
      const i = sourceIds[p]!;
      planes.project(outputs, i * S, mips ? Math.sqrt(Math.max(0, M * M - xNorm[i]! * xNorm[i]!)) : 0, proj);
      for (let t = 0; t < L; t++) {
        const pb = t * bMax;
        let key = 0;
        for (let m = 0; m < bg; m++) if (proj[pb + m]! > 0) key |= 1 << m;
        sourceKey[L * from + t * size + (p - from)] = key;
      }
    }
    const keys = 1 << bg;
    for (let t = 0; t < L; t++) {
      const kb = keyBase[g * L + t]!;
      const ib = L * from + t * size;
      for (let p = 0; p < size; p++) bucketStart[kb + sourceKey[ib + p]! + 1]!++;
      for (let key = 0; key < keys; key++) bucketStart[kb + key + 1]! += bucketStart[kb + key]!;
      // Fill by advancing the start of each bucket, then shift the starts back.
      for (let p = 0; p < size; p++) bucketItem[ib + bucketStart[kb + sourceKey[ib + p]!]!++] = sourceIds[from + p]!;
      for (let key = keys; key > 0; key--) bucketStart[kb + key] = bucketStart[kb + key - 1]!;
      bucketStart[kb] = 0;
    }
  }

  // Sources by decreasing norm, and each source's place in that order.
  const normOrder = Int32Array.from(sourceIds);
  normOrder.sort((x, y) => xNorm[y]! - xNorm[x]! || x - y);
  const normRank = new Int32Array(k).fill(ns);
  for (let p = 0; p < ns; p++) normRank[normOrder[p]!] = p;
  // The largest-norm sources: for |gradient| the top pairs are dominated by them (|⟨x, δ⟩| ≤ ‖x‖·‖δ‖,
  // and on a trained network the global top-100 pairs have |corr| ≈ 0.1 but sources among the
  // heaviest 3 %), at angles no hash can single out; scoring the H heaviest against every target
  // costs O(targets·H·S), linear in k.
  const H = Math.max(0, Math.min(options.heavy ?? Math.min(defaults.heavyMax, Math.max(defaults.heavyMin, Math.round(ns * defaults.heavyShare))), ns));
  if (!Number.isInteger(H)) throw new UsageError(`heavy must be a non-negative integer, got ${options.heavy}`);
  const targets = targetList(a, options.targets);
  const mask = admissibility.admits === undefined ? new Uint8Array(k) : undefined;
  const admits = (i: number, j: number): boolean => (mask ? mask[i] !== 0 : admissibility.admits!(i, j));
  // With `fillBlock` (orderAdmissibility), the queries visit the targets in rank order, 32 at a time,
  // and read admissibility as bits computed once per block: O(k·d/32) per target and O(1) per
  // candidate, where a per-candidate `admits` may search the graph (canInsert) for every collision.
  const blockMode = admissibility.fillBlocks !== undefined || admissibility.fillBlock !== undefined;
  const scratch = new Int32Array(blockMode ? 16 * k : 0);
  let words: Int32Array = scratch;
  let wordBase = 0;
  let shift = 0;
  const admitsQuery = (i: number, j: number): boolean => (blockMode ? ((words[wordBase + i]! >>> shift) & 1) !== 0 : admits(i, j));
  let pairsScored = 0;

  // |gradient| top K by the Cauchy–Schwarz bound (Fagin's threshold algorithm, as in LEMP,
  // Teflioudi et al. 2015): targets by decreasing ‖δ_j‖, each scanning sources by decreasing ‖x_i‖
  // until ‖x_i‖·‖δ_j‖ falls below the K-th best score so far; a target whose bound with the
  // heaviest source is already below it costs nothing. Exact for the global top K when it finishes
  // within `boundedPairs` scanned pairs (norms on a trained network are skewed, so it does); pairs
  // scanned for target j (sources of rank < stopAt[j]) are not scored again below.
  const stopAt = new Int32Array(k);
  if (mips && options.top > 0 && ns > 0) {
    const cap = options.boundedPairs ?? DEFAULT_BOUNDED_PAIRS_PER_SOURCE * ns;
    const byError = Array.from(targets).filter((j) => eNorm[j]! > 0);
    byError.sort((x, y) => eNorm[y]! - eNorm[x]! || x - y);
    let scanned = 0;
    for (let t = 0; t < byError.length && scanned < cap; t++) {
      const j = byError[t]!;
      const en = eNorm[j]!;
      if (xNorm[normOrder[0]!]! * en < collector.threshold) break; // later targets have smaller bounds
      if (mask) {
        mask.fill(0);
        admissibility.fill(j, mask);
      }
      const e = j * S;
      let p = 0;
      for (; p < ns && scanned < cap; p++) {
        const i = normOrder[p]!;
        if (xNorm[i]! * en < collector.threshold) break;
        scanned++;
        if (!admits(i, j)) continue;
        const x = i * S;
        let s = 0;
        for (let m = 0; m < S; m++) s += outputs[x + m]! * errors[e + m]!;
        pairsScored++;
        collector.offer(i, j, s, normalise(s, xNorm[i]!, en));
      }
      stopAt[j] = p;
    }
  }

  // Scoring the candidates: exactly in TypeScript, or — where the WebAssembly module is loaded — in
  // float32 SIMD first (assembly/search.ts approxDots, with the exact search's error bound), then
  // exactly only for the candidates whose upper bound can still enter the result: the target's best
  // c by upper bound first, then whatever `mayAccept` still lets through. Same result either way.
  const choice = options.kernel ?? "auto";
  const kernels = choice === "js" ? undefined : searchKernels();
  if (choice === "wasm" && !kernels) throw new SparsewireError("engine", `the WebAssembly search kernel is not available: ${searchKernelStatus().reason ?? "unknown reason"}`, 'use kernel "auto" or "js"');
  const Sp = (S + 3) & ~3;
  let filter: { X: number; q: number; list: number; out: number; query: Float32Array; approx: Float32Array; found: Int32Array } | undefined;
  if (kernels) {
    let top = kernels.ctx + kernels.layout.S_SIZE;
    const take = (bytes: number) => {
      const at = Math.ceil(top / 64) * 64;
      top = at + bytes;
      return at;
    };
    const at = { X: take(4 * k * Sp), q: take(4 * Sp), list: take(4 * k), out: take(4 * k) };
    const buffer = kernels.ensure(top);
    const X = new Float32Array(buffer, at.X, k * Sp);
    if (Sp === S) X.set(outputs);
    else {
      X.fill(0);
      for (let i = 0; i < k; i++) X.set(outputs.subarray(i * S, (i + 1) * S), i * Sp);
    }
    const query = new Float32Array(buffer, at.q, Sp);
    query.fill(0);
    filter = { ...at, query, approx: new Float32Array(buffer, at.out, k), found: new Int32Array(buffer, at.list, k) };
  }
  const { errRel, errAbs } = filterErrorBound(S);
  const upper = new Float64Array(filter ? k : 0);
  const correlationScores = options.criterion === "correlation";
  const c = collector.perTarget;
  let rescored = 0;

  // Queries.
  const stamp = new Int32Array(k).fill(-1);
  const flips = new Int32Array(Math.max(1, probesUsed));
  const found = filter ? filter.found : new Int32Array(k);
  const hits = new Int32Array(k);
  const histogram = new Int32Array(L * 2 * (1 + probesUsed) + 2);
  let visited = 0;
  const queries = blockMode ? byRank(Array.from(targets).filter((j) => eNorm[j]! > 0), admissibility.rank) : targets;
  const blockMask = new Uint8Array(blockMode ? k : 0);
  for (let q = 0; q < queries.length; q++) {
    const j = queries[q]!;
    const en = eNorm[j]!;
    if (!(en > 0)) continue;
    if (blockMode) {
      const inSuper = q % SUPER_BLOCK_TARGETS;
      if (inSuper === 0) words = fillWordBlocks(admissibility, queries.subarray(q, q + SUPER_BLOCK_TARGETS), k, scratch, blockMask);
      wordBase = Math.floor(inSuper / BLOCK_TARGETS) * k;
      shift = q % BLOCK_TARGETS;
    } else if (mask) {
      mask.fill(0);
      admissibility.fill(j, mask);
    }
    planes.project(errors, j * S, 0, proj);
    const e = j * S;
    let nFound = 0;
    const stop = stopAt[j]!;
    // The heaviest sources are scored against every target, outside the budget.
    for (let h = 0; h < H; h++) {
      const i = normOrder[h]!;
      stamp[i] = q;
      hits[i] = 0;
      if (h >= stop && admitsQuery(i, j)) found[nFound++] = i;
    }
    for (let g = 0; g < R; g++) {
      const bg = groupBits[g]!;
      const full = (1 << bg) - 1;
      const pg = Math.min(probesUsed, bg);
      const groupFirst = nFound;
      const ib0 = L * groupStart[g]!;
      const size = groupStart[g + 1]! - groupStart[g]!;
      for (let t = 0; t < L; t++) {
        const pb = t * bMax;
        let key = 0;
        for (let m = 0; m < bg; m++) if (proj[pb + m]! > 0) key |= 1 << m;
        // The `pg` least certain bits of this table (smallest |projection|), by selection.
        for (let f = 0; f < pg; f++) {
          let best = -1;
          let bestAbs = Infinity;
          for (let m = 0; m < bg; m++) {
            const v = Math.abs(proj[pb + m]!);
            if (v < bestAbs) {
              let used = false;
              for (let h = 0; h < f; h++) if (flips[h] === m) used = true;
              if (!used) { best = m; bestAbs = v; }
            }
          }
          flips[f] = best;
        }
        const kb = keyBase[g * L + t]!;
        const ib = ib0 + t * size;
        for (let sign = 0; sign < 2; sign++) {
          // −δ hashes to the complement key (Prop. 4.7: query u and −u for |corr|).
          const base = sign === 0 ? key : ~key & full;
          for (let f = -1; f < pg; f++) {
            const probe = f < 0 ? base : base ^ (1 << flips[f]!);
            const from = ib + bucketStart[kb + probe]!;
            const to = ib + bucketStart[kb + probe + 1]!;
            visited += to - from;
            for (let z = from; z < to; z++) {
              const i = bucketItem[z]!;
              if (stamp[i] === q) {
                hits[i]!++;
                continue;
              }
              stamp[i] = q;
              hits[i] = 1;
              if (normRank[i]! < stop || !admitsQuery(i, j)) continue;
              found[nFound++] = i;
            }
          }
        }
      }
      // Per range, only the `budget` candidates that collided most often are scored.
      if (nFound - groupFirst > budget) nFound = groupFirst + keepMostHits(found.subarray(groupFirst, nFound), nFound - groupFirst, hits, budget, histogram);
    }
    if (filter) {
      filter.query.set(errors.subarray(e, e + S));
      kernels!.approxDots(filter.X, Sp, filter.q, filter.list, nFound, filter.out);
      const approx = filter.approx;
      for (let f = 0; f < nFound; f++) {
        const v = Math.abs(approx[f]!);
        const prod = xNorm[found[f]!]! * en;
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
        for (let f = 0; f < nFound; f++) if (upper[f]! !== -Infinity && (best < 0 || upper[f]! > upper[best]!)) best = f;
        if (best < 0 || !collector.mayAccept(j, upper[best]!)) break;
        scoreExactly(collector, outputs, errors, S, found[best]!, j, e, xNorm, en);
        upper[best] = -Infinity;
        rescored++;
      }
      for (let f = 0; f < nFound; f++) {
        if (upper[f]! === -Infinity || !collector.mayAccept(j, upper[f]!)) continue;
        scoreExactly(collector, outputs, errors, S, found[f]!, j, e, xNorm, en);
        rescored++;
      }
      pairsScored += nFound;
      continue;
    }
    // Score the candidates exactly, four sources against the query at a time: four independent
    // sums hide the floating-point add latency, and each is still summed in sample order, so a
    // pair's value is bit-identical to the exact search's.
    let f = 0;
    for (; f + 4 <= nFound; f += 4) {
      const i0 = found[f]!, i1 = found[f + 1]!, i2 = found[f + 2]!, i3 = found[f + 3]!;
      const x0 = i0 * S, x1 = i1 * S, x2 = i2 * S, x3 = i3 * S;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let m = 0; m < S; m++) {
        const d = errors[e + m]!;
        s0 += outputs[x0 + m]! * d;
        s1 += outputs[x1 + m]! * d;
        s2 += outputs[x2 + m]! * d;
        s3 += outputs[x3 + m]! * d;
      }
      collector.offer(i0, j, s0, normalise(s0, xNorm[i0]!, en));
      collector.offer(i1, j, s1, normalise(s1, xNorm[i1]!, en));
      collector.offer(i2, j, s2, normalise(s2, xNorm[i2]!, en));
      collector.offer(i3, j, s3, normalise(s3, xNorm[i3]!, en));
    }
    for (; f < nFound; f++) {
      const i = found[f]!;
      const x = i * S;
      let s = 0;
      for (let m = 0; m < S; m++) s += outputs[x + m]! * errors[e + m]!;
      collector.offer(i, j, s, normalise(s, xNorm[i]!, en));
    }
    pairsScored += nFound;
  }
  return collector.finish({ pairsScored, visited, admissiblePairs: -1, samples: S, seconds: (performance.now() - started) / 1000, kernel: filter ? "wasm" : "js", ...(filter ? { rescored } : {}) });
}

/** ⟨x_i, δ_j⟩ summed as everywhere (float64, sample order), offered to the collector. */
function scoreExactly(collector: CandidateCollector, outputs: Float32Array, errors: Float32Array, S: number, i: number, j: number, e: number, xNorm: Float64Array, en: number): void {
  const x = i * S;
  let s = 0;
  for (let m = 0; m < S; m++) s += outputs[x + m]! * errors[e + m]!;
  collector.offer(i, j, s, normalise(s, xNorm[i]!, en));
}

/**
 * Keep the `budget` entries of found[0..count) with the most hits (ties: earlier first), in their
 * order; returns the new count. Hits are small integers, so a histogram finds the cut in O(count).
 */
function keepMostHits(found: Int32Array, count: number, hits: Int32Array, budget: number, histogram: Int32Array): number {
  histogram.fill(0);
  const top = histogram.length - 1;
  for (let f = 0; f < count; f++) histogram[Math.min(hits[found[f]!]!, top)]!++;
  let cut = top;
  let above = 0; // entries with more hits than `cut`
  while (cut > 0 && above + histogram[cut]! < budget) above += histogram[cut--]!;
  let tiesLeft = budget - above;
  let kept = 0;
  for (let f = 0; f < count; f++) {
    const i = found[f]!;
    const h = Math.min(hits[i]!, top);
    if (h > cut || (h === cut && tiesLeft-- > 0)) found[kept++] = i;
  }
  return kept;
}
