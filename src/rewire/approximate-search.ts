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
 * Three things keep it fast without changing its result: with a block admissibility (`fillBlocks`,
 * e.g. graph/admissibility.ts's orderAdmissibility) the targets are queried in rank order and a
 * candidate's admissibility is one bit, where a per-candidate graph search (online-order's
 * canInsert) made the 17,000-neuron search 50× slower (the norm-bounded scan reads such bits too,
 * for its targets in its own order, by error norm); and where the WebAssembly module is loaded,
 * (1) the hashing, the tables and each query's bucket scan run there (engine/search-kernel.ts
 * approximateSearchKernels, assembly/lsh.ts: the same float64 rotations as the plain kernel,
 * engine/reference/lsh.ts, so the same keys, candidates and order), and (2) the candidates are
 * filtered on int8 rows (512 queued queries at a time), then in float32 SIMD, each with a rigorous
 * error bound, and only those that can still enter the result are rescored exactly
 * (CandidateScoringKernel: the same sums as the plain scoring, so the same values).
 *
 * The search runs in named steps (`approximateSearch`): settings, norm ranges, sources by norm, the
 * hash index (hyperplanes), the norm-bounded scan, the kernels (which hash and bucket the sources),
 * then per target a query (heavy sources, multi-probe over the tables, the budget) whose
 * candidates the scoring kernel scores.
 *
 * Cost: hashing O((k + targets)·⌈L·b/P⌉·P·log P) with P ≥ S the rotation length, tables
 * O(L·(k + 2^b)) memory, queries O(targets·L·(1 + probes)·2·k/2^b·S) — with b ≈ log₂(k) − 3 that is
 * O(k·L·S) per round, linear in k for fixed L (plus O(targets·H·S) for the heavy sources), against
 * O(k²·S) for the exact search. Measured (bench/results/2026-12-03-lsh-wasm.txt, random activity):
 * with the hashing in WebAssembly, what is left at 170,000 neurons is mostly the int8 sums of the
 * ≈ 940 candidates per target, the admissibility pass per 512 targets and the scans' random accesses.
 * The gradient criterion adds the norm-bounded scan: up to `boundedPairs` (64 per source) exact
 * inner products, O(64·k·S), plus one admissibility pass per 512 targets it reaches (with a graph
 * search per pair it was 77 % of the search; reading words made the 17,000-neuron gradient search
 * 4.6× faster, bench/results/2026-12-03-gradient-scan.txt).
 * Random data is the hard case: its top correlations are only ~5σ above 0 (≈ 0.45 at S = 128), so
 * recall there is lower than on a trained network, whose large correlations hash together easily.
 *
 * Legend: k neurons, S samples, L tables, b bits per key, R norm ranges, H heavy sources, c
 * candidates per target.
 */
import { BLOCK_TARGETS, byRank, fillWordBlocks, SUPER_BLOCK_TARGETS, type Admissibility } from "../graph/admissibility.js";
import { approximateSearchKernels, type LshIndex } from "../engine/search-kernel.js";
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
  const byNorm = bySourceNorm(ranges.sourceIds, xNorm, k);
  const H = heavyCount(options, ranges.sourceIds.length);
  const index = lshIndex(S, settings, ranges, xNorm, mips, byNorm, H, new Rng(options.seed ?? 1));
  const targets = targetList(a, options.targets);
  const access = new QueryAdmissibility(admissibility, k);

  let pairsScored = 0;
  const stopAt = new Int32Array(k);
  if (mips && options.top > 0 && ranges.sourceIds.length > 0) pairsScored += boundedScan(a, xNorm, eNorm, targets, byNorm.order, access, collector, options.boundedPairs, stopAt);

  // Hashing, tables and bucket scans (lsh), and the candidates' scores (kernel): engine/search-kernel.ts.
  const { scoring: kernel, lsh } = approximateSearchKernels(options.kernel ?? "auto", a, xNorm, eNorm, index);
  let rescored = 0;
  const queries = access.blockMode ? byRank(Array.from(targets).filter((j) => eNorm[j]! > 0), admissibility.rank) : targets;
  let j = -1;
  const admitsQuery = (i: number): boolean => access.admitsQuery(i, j);
  for (let q = 0; q < queries.length; q++) {
    j = queries[q]!;
    if (!(eNorm[j]! > 0)) continue;
    let found: number;
    if (access.blockMode) {
      if (access.forQuery(queries, q)) lsh.loadWords(access.blockWords);
      found = lsh.collectByWords(j, q, stopAt[j]!, access.wordBase, access.shift);
    } else {
      access.forQuery(queries, q);
      found = lsh.collect(j, q, stopAt[j]!, admitsQuery);
    }
    rescored += kernel.queue(j, found, collector);
    pairsScored += found;
  }
  rescored += kernel.flush(collector);
  return collector.finish({ pairsScored, visited: lsh.visited, admissiblePairs: -1, samples: S, seconds: (performance.now() - started) / 1000, kernel: kernel.name, ...(kernel.name === "wasm" ? { rescored } : {}) });
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
 * The hash index (engine/search-kernel-types.ts LshIndex): pseudo-random rotations of R^P (P a
 * power of two ≥ S, > S for the MIPS coordinate) giving L·bMax sign bits per vector, with their
 * ±1 diagonals drawn from `rng`; per indexed source of range g (gradient) the coordinate
 * √(M_g² − ‖x‖²) that gives every source of the range the norm M_g.
 */
function lshIndex(S: number, settings: LshSettings, ranges: NormRanges, xNorm: Float64Array, mips: boolean, byNorm: NormOrder, H: number, rng: Rng): LshIndex {
  const { sourceIds, groupStart, groupBits, bMax } = ranges;
  let P = 1;
  while (P < S + (mips ? 1 : 0)) P <<= 1;
  const rotations = Math.ceil((settings.tables * bMax) / P);
  const diagonals = new Float64Array(rotations * 3 * P);
  for (let p = 0; p < diagonals.length; p++) diagonals[p] = rng.nextUint32() & 1 ? 1 : -1;
  let extra: Float64Array | undefined;
  if (mips) {
    extra = new Float64Array(sourceIds.length);
    for (let g = 0; g + 1 < groupStart.length; g++) {
      let M = 0;
      for (let p = groupStart[g]!; p < groupStart[g + 1]!; p++) M = Math.max(M, xNorm[sourceIds[p]!]!);
      for (let p = groupStart[g]!; p < groupStart[g + 1]!; p++) {
        const x = xNorm[sourceIds[p]!]!;
        extra[p] = Math.sqrt(Math.max(0, M * M - x * x));
      }
    }
  }
  return {
    rotationLength: P,
    rotations,
    diagonals,
    tables: settings.tables,
    bMax,
    sourceIds: Int32Array.from(sourceIds),
    groupStart,
    groupBits,
    extra,
    probes: Math.min(settings.probes, bMax),
    budget: settings.budget,
    normOrder: byNorm.order,
    normRank: byNorm.rank,
    heavy: H,
  };
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
  /** Block mode: the words of the current super block, and where the current query reads them. */
  blockWords: Int32Array;
  wordBase = 0;
  shift = 0;
  /** Block mode, bounded scan: its current chunk of targets is [scanStart, scanEnd) of its order. */
  private scanStart = 0;
  private scanEnd = 0;

  constructor(admissibility: Admissibility, k: number) {
    this.admissibility = admissibility;
    this.k = k;
    this.mask = admissibility.admits === undefined ? new Uint8Array(k) : undefined;
    this.blockMode = admissibility.fillBlocks !== undefined || admissibility.fillBlock !== undefined;
    this.scratch = new Int32Array(this.blockMode ? 16 * k : 0);
    this.blockMask = new Uint8Array(this.blockMode ? k : 0);
    this.blockWords = this.scratch;
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

  /**
   * Before pair tests into queries[q] by `admitsQuery` (queries in order: by rank in block mode).
   * Returns whether `blockWords` now holds a new super block.
   */
  forQuery(queries: Int32Array, q: number): boolean {
    if (!this.blockMode) {
      this.forTarget(queries[q]!);
      return false;
    }
    const inSuper = q % SUPER_BLOCK_TARGETS;
    if (inSuper === 0) this.blockWords = fillWordBlocks(this.admissibility, queries.subarray(q, q + SUPER_BLOCK_TARGETS), this.k, this.scratch, this.blockMask);
    this.wordBase = Math.floor(inSuper / BLOCK_TARGETS) * this.k;
    this.shift = q % BLOCK_TARGETS;
    return inSuper === 0;
  }

  /**
   * The bounded scan's targets come by error norm, not by rank, and the scan often stops after a few:
   * in block mode their words are computed in chunks of 32, 64, …, 512 targets of that order (one
   * pass over the graph per chunk), so a short scan pays one small pass and a long one about one pass
   * per 512 targets. Before pair tests into targets[t] by `admitsQuery`; t must run 0, 1, 2, ….
   */
  forScanTarget(targets: Int32Array, t: number): void {
    if (!this.blockMode) {
      this.forTarget(targets[t]!);
      return;
    }
    if (t === this.scanEnd) {
      const size = t === 0 ? BLOCK_TARGETS : Math.min(SUPER_BLOCK_TARGETS, 2 * (this.scanEnd - this.scanStart));
      this.scanStart = t;
      this.scanEnd = Math.min(targets.length, t + size);
      this.blockWords = fillWordBlocks(this.admissibility, targets.subarray(t, this.scanEnd), this.k, this.scratch, this.blockMask);
    }
    const c = t - this.scanStart;
    this.wordBase = Math.floor(c / BLOCK_TARGETS) * this.k;
    this.shift = c % BLOCK_TARGETS;
  }

  /** i → j admissible, for j = the query prepared by `forQuery` or `forScanTarget`. */
  admitsQuery(i: number, j: number): boolean {
    return this.blockMode ? ((this.blockWords[this.wordBase + i]! >>> this.shift) & 1) !== 0 : this.admits(i, j);
  }
}

/**
 * |gradient| top K by the Cauchy–Schwarz bound (Fagin's threshold algorithm, as in LEMP,
 * Teflioudi et al. 2015): targets by decreasing ‖δ_j‖, each scanning sources by decreasing ‖x_i‖
 * until ‖x_i‖·‖δ_j‖ falls below the K-th best score so far; a target whose bound with the
 * heaviest source is already below it costs nothing. Exact for the global top K when it finishes
 * within `boundedPairs` scanned pairs (norms on a trained network are skewed, so it does); pairs
 * scanned for target j (sources of rank < stopAt[j]) are not scored again by the queries. Returns
 * the pairs scored. Admissibility comes from block words where there are some (`forScanTarget`):
 * the same bits as the pair test, so the same pairs in the same order, without a graph search per pair.
 */
function boundedScan(a: Activity, xNorm: Float64Array, eNorm: Float64Array, targets: Int32Array, normOrder: Int32Array, access: QueryAdmissibility, collector: CandidateCollector, boundedPairs: number | undefined, stopAt: Int32Array): number {
  const { samples: S, outputs, errors } = a;
  const ns = normOrder.length;
  const cap = boundedPairs ?? DEFAULT_BOUNDED_PAIRS_PER_SOURCE * ns;
  const byError = Int32Array.from(Array.from(targets).filter((j) => eNorm[j]! > 0).sort((x, y) => eNorm[y]! - eNorm[x]! || x - y));
  let scanned = 0;
  let pairsScored = 0;
  for (let t = 0; t < byError.length && scanned < cap; t++) {
    const j = byError[t]!;
    const en = eNorm[j]!;
    if (xNorm[normOrder[0]!]! * en < collector.threshold) break; // later targets have smaller bounds
    access.forScanTarget(byError, t);
    const e = j * S;
    let p = 0;
    for (; p < ns && scanned < cap; p++) {
      const i = normOrder[p]!;
      if (xNorm[i]! * en < collector.threshold) break;
      scanned++;
      if (!access.admitsQuery(i, j)) continue;
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
