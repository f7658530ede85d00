/**
 * Candidate edges (§4.3): what a search returns and how it keeps them. A candidate is an absent edge
 * i → j scored by |corr(i, j)| (Def. 4.6, the thesis's criterion) or by |⟨σ(a_i), δ_j⟩| = |∂L/∂w|
 * of a zero-weight edge (RigL's), among the admissible ones (§4.5: no cycle, no duplicate, never
 * into an input; graph/admissibility.ts).
 *
 * Two outputs, because the strategies of §4.3/§4.6 need both: the top K pairs globally (strategy b,
 * "x % of the neuron pairs with largest absolute correlation"; RigL's top-k growth) and, per target
 * neuron, its best c candidates (strategy a and the §4.6 rule "rewire incoming edges of neuron j if
 * some corr(i, j) exceeds a threshold"; c > 1 when j has several free slots).
 *
 * The exact search (exact-search.ts) and the approximate one (approximate-search.ts) share the
 * options, the collector and the result type; `recallOf` compares their results.
 *
 * Legend: k neurons, n inputs, S samples, K global candidates, c candidates per target.
 */
import type { Admissibility } from "../graph/admissibility.js";
import type { CandidateSink, SearchKernel } from "../engine/search-kernel.js";
import { ShapeError, UsageError } from "../util/errors.js";
import type { Activity } from "../estimate/activity.js";
import { normalise } from "./correlation.js";

/** A search's score: |corr| (Def. 4.6) or |⟨σ(a_i), δ_j⟩|. Exported as `SearchCriterion`; schedule.ts's GrowthCriterion adds "random". */
export type GrowthCriterion = "correlation" | "gradient";

/** Options of `exactSearch` and `approximateSearch`: the criterion, how many candidates to keep, where to look. */
export interface SearchOptions {
  /** |corr| (thesis, Def. 4.6) or |⟨σ(a_i), δ_j⟩| (RigL's gradient magnitude). */
  criterion: GrowthCriterion;
  /** K: how many pairs to return globally (0: none). */
  top: number;
  /** c: best candidates kept per target neuron (default 1; 0: none). */
  perTarget?: number;
  /** Which absent edges may be added (no cycle, no duplicate, §4.5). */
  admissibility: Admissibility;
  /** Search only these targets (non-inputs; default all non-inputs). */
  targets?: ArrayLike<number>;
  /** Keep only pairs whose score is at least this (the §4.6 threshold); default 0 (keep all). */
  minScore?: number;
  /**
   * "auto" (default) runs the WebAssembly kernels where they are loaded (exact search: the filter
   * of all pairs; approximate search: the hashing, bucket scans and the filter of the colliding
   * candidates), else plain TypeScript; "js" forces the plain kernels; "wasm" forces the
   * WebAssembly ones (throws where they are missing). Same result either way (engine/search-kernel.ts).
   */
  kernel?: SearchKernel;
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

/** A search's work counters and time. */
export interface SearchStats {
  /** Pairs whose inner product was computed exactly. */
  pairsScored: number;
  /** Candidate pairs looked at, duplicates and inadmissible ones included (= pairsScored for the exact search). */
  visited: number;
  /** Admissible pairs into the searched targets with non-zero error (exact search only; the approximate search reports −1). */
  admissiblePairs: number;
  /** S: samples the scores were computed over. */
  samples: number;
  /** Wall time of the search. */
  seconds: number;
  /** Which kernel scored the pairs: the WebAssembly filter or plain TypeScript. */
  kernel?: "wasm" | "js";
  /** WebAssembly kernel: pairs its filter kept and that were rescored exactly. */
  rescored?: number;
}

/** What a candidate search returns (the same shape for the exact and the approximate search). */
export interface SearchResult {
  /** The score the candidates were ranked by. */
  criterion: GrowthCriterion;
  /** The best K pairs overall. */
  top: CandidateList;
  /** The best c sources of every target neuron. */
  perTarget: PerTargetCandidates;
  stats: SearchStats;
}

/**
 * Keeps the global top K (a bounded min-heap whose root is the worst kept pair) and the best c per
 * target (a sorted row per target) without allocating per offer. The search kernels' sink
 * (engine/search-kernel.ts): it alone turns an offer into a correlation (Def. 4.6) and a score.
 */
export class CandidateCollector implements CandidateSink {
  private readonly K: number;
  private readonly c: number;
  /** Pairs scoring below this are never kept. */
  readonly minScore: number;
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

  /** K: pairs kept globally. */
  get top(): number {
    return this.K;
  }

  /** c: candidates kept per target. */
  get perTarget(): number {
    return this.c;
  }

  /**
   * Could a pair into `target` whose score is at most `upper` still be kept (by minScore, the
   * target's best c, or the global top K)? False only when it surely cannot (ties count as "could").
   */
  mayAccept(target: number, upper: number): boolean {
    if (!(upper >= this.minScore)) return false;
    const c = this.c;
    if (c > 0) {
      const last = target * c + c - 1;
      if (this.tSource[last]! < 0 || upper >= this.tScore[last]!) return true;
    }
    return this.K > 0 && (this.size < this.K || upper >= this.hScore[0]!);
  }

  /** Offer pair i → j with inner product `inner` = ⟨σ(a_i), δ_j⟩ and the norms ‖σ(a_i)‖, ‖δ_j‖. */
  offer(source: number, target: number, inner: number, sourceNorm: number, targetNorm: number): void {
    const corr = normalise(inner, sourceNorm, targetNorm);
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

  /** The kept candidates, best first, as a SearchResult with `stats` attached. */
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
