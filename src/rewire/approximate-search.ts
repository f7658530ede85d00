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
 * only possibly missed pairs; it has the same shape as the exact search, and `recallOf`
 * (collector.ts) measures the misses. Candidates can be capped per target (`budget`) by how many
 * buckets they shared with the query.
 *
 * |gradient| (RigL's criterion) is an inner product, not a cosine: its top pairs on a trained
 * network have |corr| ≈ 0.1 but sources of the largest norms. Its global top K comes from a
 * norm-bounded scan (Cauchy–Schwarz, exact when it finishes within its pair budget); its per-target
 * best from norm-ranging LSH plus an exact pass over the heaviest sources (`heavy`), and is only
 * approximate (see the recall figures in the issue-4 report).
 *
 * Two things keep it fast without changing its result: with a block admissibility (`fillBlocks`,
 * e.g. graph/admissibility.ts's orderAdmissibility) the targets are queried in rank order and a
 * candidate's admissibility is one bit, where a per-candidate graph search (online-order's
 * canInsert) made the 17,000-neuron search 50× slower; and where the WebAssembly module is loaded,
 * the candidates are scored in float32 SIMD with the exact search's error bound and only those that
 * can still enter the result are rescored exactly (engine/search-kernel.ts CandidateScoringKernel:
 * the same sums as the plain scoring, so the same values).
 *
 * The search runs in named steps (`approximateSearch`): settings, norm ranges, hyperplanes, tables,
 * sources by norm, the norm-bounded scan, then per target a query (heavy sources, multi-probe over
 * the tables, the budget) whose candidates the engine's kernel scores.
 *
 * Cost: hashing O((k + targets)·L·b·log S), tables O(L·(k + 2^b)) memory, queries
 * O(targets·L·(1 + probes)·2·k/2^b·S) — with b ≈ log₂(k) − 3 that is O(k·L·S) per round, linear in
 * k for fixed L (plus O(targets·H·S) for the heavy sources), against O(k²·S) for the exact search.
 * Random data is the hard case: its top correlations are only ~5σ above 0 (≈ 0.45 at S = 128), so
 * recall there is lower than on a trained network, whose large correlations hash together easily.
 *
 * Legend: k neurons, S samples, L tables, b bits per key, R norm ranges, H heavy sources, c
 * candidates per target.
 */
import { BLOCK_TARGETS, byRank, fillWordBlocks, SUPER_BLOCK_TARGETS, type Admissibility } from "../graph/admissibility.js";
import { candidateScoringKernel } from "../engine/search-kernel.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { checkActivity, rowNorms, type Activity } from "../estimate/activity.js";
import { CandidateCollector, targetList, type SearchOptions, type SearchResult } from "./collector.js";

/** Tuning of the approximate search's locality-sensitive hashing (random hyperplanes, multi-probe); every field has a measured default. */
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

/** Options of `approximateSearch`: the search's and the hashing's. */
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
  const settings = lshSettings(options);
  const collector = new CandidateCollector(k, options.criterion, options.top, options.perTarget ?? 1, options.minScore ?? 0);
  const admissibility = options.admissibility;
  const xNorm = rowNorms(outputs, k, S);
  const eNorm = rowNorms(errors, k, S);

  const mips = options.criterion === "gradient";
  const ranges = normRanges(xNorm, mips, options);
  const probesUsed = Math.min(settings.probes, ranges.bMax);
  const planes = new Hyperplanes(S, settings.tables * ranges.bMax, mips, new Rng(options.seed ?? 1));
  const tables = buildTables(a, xNorm, ranges, planes, settings.tables, mips);
  const byNorm = bySourceNorm(ranges.sourceIds, xNorm, k);
  const H = heavyCount(options, ranges.sourceIds.length);
  const targets = targetList(a, options.targets);
  const access = new QueryAdmissibility(admissibility, k);

  let pairsScored = 0;
  const stopAt = new Int32Array(k);
  if (mips && options.top > 0 && ranges.sourceIds.length > 0) pairsScored += boundedScan(a, xNorm, eNorm, targets, byNorm.order, access, collector, options.boundedPairs, stopAt);

  const kernel = candidateScoringKernel(options.kernel ?? "auto", a, xNorm, eNorm);
  const probe = new TableProbe(k, ranges, tables, settings, probesUsed, byNorm, H, planes);
  let rescored = 0;
  const queries = access.blockMode ? byRank(Array.from(targets).filter((j) => eNorm[j]! > 0), admissibility.rank) : targets;
  for (let q = 0; q < queries.length; q++) {
    const j = queries[q]!;
    if (!(eNorm[j]! > 0)) continue;
    access.forQuery(queries, q);
    const found = probe.collect(errors, j * S, q, j, stopAt[j]!, access, kernel.candidates);
    rescored += kernel.score(j, found, collector);
    pairsScored += found;
  }
  return collector.finish({ pairsScored, visited: probe.visited, admissiblePairs: -1, samples: S, seconds: (performance.now() - started) / 1000, kernel: kernel.name, ...(kernel.name === "wasm" ? { rescored } : {}) });
}

/** Tables, probes and budget after defaults, checked. */
interface LshSettings {
  tables: number;
  probes: number;
  budget: number;
}

function lshSettings(options: ApproximateSearchOptions): LshSettings {
  const defaults = DEFAULTS[options.criterion];
  const L = options.tables ?? defaults.tables;
  const probes = options.probes ?? defaults.probes;
  const budget = options.budget ?? defaults.budget;
  if (!(budget >= 1)) throw new UsageError(`budget must be at least 1, got ${budget}`);
  if (!(Number.isInteger(L) && L >= 1)) throw new UsageError(`tables must be a positive integer, got ${L}`);
  if (!(Number.isInteger(probes) && probes >= 0)) throw new UsageError(`probes must be a non-negative integer, got ${probes}`);
  if (options.bits !== undefined && !(Number.isInteger(options.bits) && options.bits >= 1 && options.bits <= 24)) throw new UsageError(`bits must be an integer in 1..24, got ${options.bits}`);
  return { tables: L, probes, budget };
}

/** The indexed sources (non-zero output), split into R norm ranges, and the key bits per range. */
interface NormRanges {
  /** Sources with non-zero output; for |gradient| sorted by increasing norm (then id). */
  sourceIds: number[];
  /** Range g holds sourceIds[groupStart[g] .. groupStart[g + 1]). */
  groupStart: Int32Array;
  /** b_g: key bits of range g. */
  groupBits: Int32Array;
  /** The largest b_g (at least 1). */
  bMax: number;
}

/**
 * |gradient| = |⟨x, δ⟩| is a maximum inner product problem, not a cosine one. Norm-ranging LSH
 * (Yan et al. 2018): split the sources by norm into R ranges of equal size and, within range g,
 * append the coordinate √(M_g² − ‖x‖²) (M_g its largest norm) to every source and 0 to every
 * query, so that all sources of the range have norm M_g and, for one query, a smaller angle means
 * a larger inner product (the transform of Bachrach et al. 2014 / Neyshabur & Srebro 2015). One
 * global range would make the appended coordinate dominate every small-norm source and crowd
 * them into one bucket. For correlation the vectors are hashed as they are (signs ignore norms):
 * one range.
 */
function normRanges(xNorm: Float64Array, mips: boolean, options: ApproximateSearchOptions): NormRanges {
  const k = xNorm.length;
  const sourceIds: number[] = [];
  for (let i = 0; i < k; i++) if (xNorm[i]! > 0) sourceIds.push(i);
  const ns = sourceIds.length;
  const R = mips ? Math.max(1, Math.min(options.normRanges ?? DEFAULTS[options.criterion].normRanges, ns)) : 1;
  if (mips) sourceIds.sort((x, y) => xNorm[x]! - xNorm[y]! || x - y);
  const groupStart = new Int32Array(R + 1);
  for (let g = 0; g <= R; g++) groupStart[g] = Math.round((g * ns) / R);
  const groupBits = new Int32Array(R);
  let bMax = 1;
  for (let g = 0; g < R; g++) {
    groupBits[g] = options.bits ?? defaultBits(groupStart[g + 1]! - groupStart[g]!);
    bMax = Math.max(bMax, groupBits[g]!);
  }
  return { sourceIds, groupStart, groupBits, bMax };
}

/** The hash tables: for every (range g, table t), the range's sources bucketed by key (CSR). */
interface Tables {
  /** Buckets of (g, t) start at keyBase[g·L + t]: 2^b_g + 1 bucket starts each. */
  keyBase: Int32Array;
  /** Bucket starts, relative to the (g, t) block of bucketItem. */
  bucketStart: Int32Array;
  /** Sources in bucket order; the (g, t) block starts at L·groupStart[g] + t·(size of range g). */
  bucketItem: Int32Array;
}

/**
 * Index: for every (range g, table t), the range's sources bucketed by key (counting sort, CSR).
 * Table t of every range uses hyperplanes [t·bMax, t·bMax + b_g), so a query is projected once.
 */
function buildTables(a: Activity, xNorm: Float64Array, ranges: NormRanges, planes: Hyperplanes, L: number, mips: boolean): Tables {
  const { samples: S, outputs } = a;
  const { sourceIds, groupStart, groupBits, bMax } = ranges;
  const R = groupBits.length;
  const ns = sourceIds.length;
  const proj = new Float64Array(planes.rotations * planes.P);
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
  return { keyBase, bucketStart, bucketItem };
}

/** Sources by decreasing norm (then id), and each source's place in that order (ns for non-sources). */
interface NormOrder {
  order: Int32Array;
  rank: Int32Array;
}

function bySourceNorm(sourceIds: number[], xNorm: Float64Array, k: number): NormOrder {
  const ns = sourceIds.length;
  const order = Int32Array.from(sourceIds);
  order.sort((x, y) => xNorm[y]! - xNorm[x]! || x - y);
  const rank = new Int32Array(k).fill(ns);
  for (let p = 0; p < ns; p++) rank[order[p]!] = p;
  return { order, rank };
}

/**
 * H, the largest-norm sources scored against every target: for |gradient| the top pairs are
 * dominated by them (|⟨x, δ⟩| ≤ ‖x‖·‖δ‖, and on a trained network the global top-100 pairs have
 * |corr| ≈ 0.1 but sources among the heaviest 3 %), at angles no hash can single out; scoring the H
 * heaviest against every target costs O(targets·H·S), linear in k.
 */
function heavyCount(options: ApproximateSearchOptions, ns: number): number {
  const defaults = DEFAULTS[options.criterion];
  const H = Math.max(0, Math.min(options.heavy ?? Math.min(defaults.heavyMax, Math.max(defaults.heavyMin, Math.round(ns * defaults.heavyShare))), ns));
  if (!Number.isInteger(H)) throw new UsageError(`heavy must be a non-negative integer, got ${options.heavy}`);
  return H;
}

/**
 * Admissibility as the queries read it. With `fillBlock`/`fillBlocks` (orderAdmissibility), the
 * queries visit the targets in rank order, 32 at a time, and read admissibility as bits computed
 * once per block: O(k·d/32) per target and O(1) per candidate, where a per-candidate `admits` may
 * search the graph (canInsert) for every collision. Without `admits`, a per-target mask from `fill`.
 */
class QueryAdmissibility {
  readonly blockMode: boolean;
  private readonly admissibility: Admissibility;
  private readonly k: number;
  private readonly mask: Uint8Array | undefined;
  private readonly scratch: Int32Array;
  private readonly blockMask: Uint8Array;
  private words: Int32Array;
  private wordBase = 0;
  private shift = 0;

  constructor(admissibility: Admissibility, k: number) {
    this.admissibility = admissibility;
    this.k = k;
    this.mask = admissibility.admits === undefined ? new Uint8Array(k) : undefined;
    this.blockMode = admissibility.fillBlocks !== undefined || admissibility.fillBlock !== undefined;
    this.scratch = new Int32Array(this.blockMode ? 16 * k : 0);
    this.blockMask = new Uint8Array(this.blockMode ? k : 0);
    this.words = this.scratch;
  }

  /** Before pair tests into target j by `admits` (any order of targets). */
  forTarget(j: number): void {
    if (this.mask) {
      this.mask.fill(0);
      this.admissibility.fill(j, this.mask);
    }
  }

  /** i → j admissible, by the mask (after `forTarget(j)`) or the pair test. */
  admits(i: number, j: number): boolean {
    return this.mask ? this.mask[i] !== 0 : this.admissibility.admits!(i, j);
  }

  /** Before pair tests into queries[q] by `admitsQuery` (queries in order: by rank in block mode). */
  forQuery(queries: Int32Array, q: number): void {
    if (this.blockMode) {
      const inSuper = q % SUPER_BLOCK_TARGETS;
      if (inSuper === 0) this.words = fillWordBlocks(this.admissibility, queries.subarray(q, q + SUPER_BLOCK_TARGETS), this.k, this.scratch, this.blockMask);
      this.wordBase = Math.floor(inSuper / BLOCK_TARGETS) * this.k;
      this.shift = q % BLOCK_TARGETS;
    } else this.forTarget(queries[q]!);
  }

  /** i → j admissible, for j = the query prepared by `forQuery`. */
  admitsQuery(i: number, j: number): boolean {
    return this.blockMode ? ((this.words[this.wordBase + i]! >>> this.shift) & 1) !== 0 : this.admits(i, j);
  }
}

/**
 * |gradient| top K by the Cauchy–Schwarz bound (Fagin's threshold algorithm, as in LEMP,
 * Teflioudi et al. 2015): targets by decreasing ‖δ_j‖, each scanning sources by decreasing ‖x_i‖
 * until ‖x_i‖·‖δ_j‖ falls below the K-th best score so far; a target whose bound with the
 * heaviest source is already below it costs nothing. Exact for the global top K when it finishes
 * within `boundedPairs` scanned pairs (norms on a trained network are skewed, so it does); pairs
 * scanned for target j (sources of rank < stopAt[j]) are not scored again by the queries. Returns
 * the pairs scored.
 */
function boundedScan(a: Activity, xNorm: Float64Array, eNorm: Float64Array, targets: Int32Array, normOrder: Int32Array, access: QueryAdmissibility, collector: CandidateCollector, boundedPairs: number | undefined, stopAt: Int32Array): number {
  const { samples: S, outputs, errors } = a;
  const ns = normOrder.length;
  const cap = boundedPairs ?? DEFAULT_BOUNDED_PAIRS_PER_SOURCE * ns;
  const byError = Array.from(targets).filter((j) => eNorm[j]! > 0);
  byError.sort((x, y) => eNorm[y]! - eNorm[x]! || x - y);
  let scanned = 0;
  let pairsScored = 0;
  for (let t = 0; t < byError.length && scanned < cap; t++) {
    const j = byError[t]!;
    const en = eNorm[j]!;
    if (xNorm[normOrder[0]!]! * en < collector.threshold) break; // later targets have smaller bounds
    access.forTarget(j);
    const e = j * S;
    let p = 0;
    for (; p < ns && scanned < cap; p++) {
      const i = normOrder[p]!;
      if (xNorm[i]! * en < collector.threshold) break;
      scanned++;
      if (!access.admits(i, j)) continue;
      const x = i * S;
      let s = 0;
      for (let m = 0; m < S; m++) s += outputs[x + m]! * errors[e + m]!;
      pairsScored++;
      collector.offer(i, j, s, xNorm[i]!, en);
    }
    stopAt[j] = p;
  }
  return pairsScored;
}

/**
 * One query's candidates: the heavy sources, then per norm range the sources that share a bucket
 * with the query (+δ and −δ, each probed at its key and at the keys with one of its least certain
 * bits flipped), capped to the `budget` that collided most often. Scratch is kept across queries.
 */
class TableProbe {
  /** Bucket entries looked at, over all queries. */
  visited = 0;
  private readonly ranges: NormRanges;
  private readonly tables: Tables;
  private readonly L: number;
  private readonly budget: number;
  private readonly probesUsed: number;
  private readonly norms: NormOrder;
  private readonly H: number;
  private readonly planes: Hyperplanes;
  private readonly proj: Float64Array;
  /** stamp[i] = the last query that met source i; hits[i] = buckets it shared with that query. */
  private readonly stamp: Int32Array;
  private readonly hits: Int32Array;
  private readonly flips: Int32Array;
  private readonly histogram: Int32Array;

  constructor(k: number, ranges: NormRanges, tables: Tables, settings: LshSettings, probesUsed: number, norms: NormOrder, H: number, planes: Hyperplanes) {
    this.ranges = ranges;
    this.tables = tables;
    this.L = settings.tables;
    this.budget = settings.budget;
    this.probesUsed = probesUsed;
    this.norms = norms;
    this.H = H;
    this.planes = planes;
    this.proj = new Float64Array(planes.rotations * planes.P);
    this.stamp = new Int32Array(k).fill(-1);
    this.hits = new Int32Array(k);
    this.flips = new Int32Array(Math.max(1, probesUsed));
    this.histogram = new Int32Array(this.L * 2 * (1 + probesUsed) + 2);
  }

  /**
   * Write the candidates of query q (target j, errors at errors[e .. e + S)) into `found`; returns
   * their count. Sources of norm rank < `stop` were scored by the bounded scan and are skipped.
   */
  collect(errors: Float32Array, e: number, q: number, j: number, stop: number, access: QueryAdmissibility, found: Int32Array): number {
    const { L, budget, probesUsed, H, proj, stamp, hits, flips, histogram } = this;
    const { groupStart, groupBits, bMax } = this.ranges;
    const { keyBase, bucketStart, bucketItem } = this.tables;
    const normOrder = this.norms.order;
    const normRank = this.norms.rank;
    const R = groupBits.length;
    this.planes.project(errors, e, 0, proj);
    let nFound = 0;
    // The heaviest sources are scored against every target, outside the budget.
    for (let h = 0; h < H; h++) {
      const i = normOrder[h]!;
      stamp[i] = q;
      hits[i] = 0;
      if (h >= stop && access.admitsQuery(i, j)) found[nFound++] = i;
    }
    let visited = 0;
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
        leastCertainBits(proj, pb, bg, pg, flips);
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
              if (normRank[i]! < stop || !access.admitsQuery(i, j)) continue;
              found[nFound++] = i;
            }
          }
        }
      }
      // Per range, only the `budget` candidates that collided most often are scored.
      if (nFound - groupFirst > budget) nFound = groupFirst + keepMostHits(found.subarray(groupFirst, nFound), nFound - groupFirst, hits, budget, histogram);
    }
    this.visited += visited;
    return nFound;
  }
}

/** The `pg` least certain bits of a table (smallest |projection| among proj[pb .. pb + bg)), by selection, into flips. */
function leastCertainBits(proj: Float64Array, pb: number, bg: number, pg: number, flips: Int32Array): void {
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
