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
 * Where the WebAssembly module is loaded (Node always; browsers after `loadSearchKernels()`), the
 * exact search runs a SIMD filter instead (assembly/search.ts): every admissible pair is scored in
 * float32 with a rigorous error bound, and only the pairs whose upper bound can still reach the
 * result are rescored exactly — so the result is the plain kernel's, bit for bit, at 6–9× its speed
 * (bench/README.md). Admissibility is read 32 targets at a time as bits (`fillBlock`); the
 * evaluation-order version (`orderAdmissibility`) finds the descendants of a whole block in one pass.
 *
 * Legend: k neurons, n inputs, S samples, K global candidates, c candidates per target.
 */
import type { Network } from "../graph/network.js";
import { graphKernels, searchKernelStatus, searchKernels, type SearchKernels } from "../engine/wasm/search-kernels.js";
import { ShapeError, SparsewireError, UsageError } from "../util/errors.js";
import { checkActivity, rowNorms, type Activity } from "../estimate/activity.js";
import { normalise } from "./correlation.js";

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
   * Optional: the admissible sources of up to 32 targets at once, as bits: into[i] (length ≥ k) gets
   * bit t set iff i → targets[t] is admissible, every other bit clear. Must agree with `fill`. The
   * searches visit targets in blocks of 32, so an implementation that shares work between the
   * targets of a block (`orderAdmissibility`: one pass over the order instead of 32) makes the
   * admissibility O(k·d/32) per target instead of O(k·d).
   */
  fillBlock?(targets: Int32Array, into: Int32Array): void;
  /**
   * Optional: the same for up to 512 targets (16 blocks of 32) at once, block-major: word b·k + i
   * of the returned array has bit t set iff i → targets[32b + t] is admissible. The result may be a
   * view that the next call overwrites. `orderAdmissibility` runs this in WebAssembly SIMD (one
   * 512-bit word per neuron) where the search module is loaded.
   */
  fillBlocks?(targets: Int32Array): Int32Array;
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

/** Targets per admissibility block (one bit each in a 32-bit word per source). */
export const BLOCK_TARGETS = 32;
/** Targets per `fillBlocks` call (sixteen blocks). */
export const SUPER_BLOCK_TARGETS = 512;

/**
 * Admissibility words of up to 512 targets, block-major (see `Admissibility.fillBlocks`): through
 * `fillBlocks` when there is one, else block by block into `scratch` (length ≥ 16·k).
 */
export function fillWordBlocks(admissibility: Admissibility, targets: Int32Array, k: number, scratch: Int32Array, mask: Uint8Array): Int32Array {
  if (targets.length > SUPER_BLOCK_TARGETS) throw new ShapeError(`an admissibility super-block holds at most ${SUPER_BLOCK_TARGETS} targets, got ${targets.length}`);
  if (admissibility.fillBlocks) return admissibility.fillBlocks(targets);
  for (let b = 0; b * BLOCK_TARGETS < targets.length; b++) {
    fillBlockWords(admissibility, targets.subarray(b * BLOCK_TARGETS, (b + 1) * BLOCK_TARGETS), scratch.subarray(b * k, (b + 1) * k), k, mask);
  }
  return scratch;
}

/**
 * Fill `words` (length ≥ k) with the admissibility bits of `targets` (≤ 32) through `fillBlock`, or
 * target by target through `fill` (using `mask`, length ≥ k, as scratch).
 */
export function fillBlockWords(admissibility: Admissibility, targets: Int32Array, words: Int32Array, k: number, mask: Uint8Array): void {
  if (targets.length > BLOCK_TARGETS) throw new ShapeError(`an admissibility block holds at most ${BLOCK_TARGETS} targets, got ${targets.length}`);
  if (admissibility.fillBlock) {
    admissibility.fillBlock(targets, words);
    return;
  }
  words.fill(0, 0, k);
  for (let t = 0; t < targets.length; t++) {
    mask.fill(0, 0, k);
    admissibility.fill(targets[t]!, mask);
    const bit = 1 << t;
    for (let i = 0; i < k; i++) if (mask[i] !== 0) words[i]! |= bit;
  }
}

/** Set bits of a 32-bit word. */
export function popcount32(x: number): number {
  x = (x - ((x >>> 1) & 0x55555555)) | 0;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * Exact admissibility (§4.5) read off the evaluation order, for the network as it is when this is
 * built (rebuild it after editing edges; `net.order` and `net.levels` must be valid): i → j is
 * admissible iff j is not an input, i ≠ j, i is not a source of j and j does not reach i — the
 * same set as online-order's `admissibleSources`.
 *
 * `fillBlock` finds the descendants of up to 32 targets in ONE pass over the order from the earliest
 * of them, carrying a 32-bit word per neuron (bit t: "descends from target t"): a neuron descends
 * from t iff one of its sources is t or descends from t, and the order decides its sources first;
 * neurons at a level ≤ the block's lowest target level cannot descend from any of them and are
 * skipped unread. Cost O(k·d) per block, i.e. O(k·d/32) per target, where `admissibleSources` costs
 * O(k·d) per target. `admits` tests one pair (default: a backward search from the source confined
 * to neurons after the target in the order and above its level; pass online-order's `canInsert`
 * to share its scratch). The rank is the position in the order (inputs −1), so targets and sources
 * are visited in order and blocks of later sources — never admissible — are skipped.
 */
export function orderAdmissibility(net: Network, extra: { admits?: (source: number, target: number) => boolean } = {}): Admissibility {
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const { order, levels } = net;
  const H = k - n;
  if (order.length !== H || levels.length !== k) {
    throw new ShapeError(`network order holds ${order.length} neurons and levels ${levels.length}, expected ${H} and ${k}`, "call validate() or computeOrder() first");
  }
  const position = new Int32Array(k).fill(-1);
  for (let r = 0; r < H; r++) position[order[r]!] = r;
  const fillBlock = (targets: Int32Array, into: Int32Array): void => {
    const count = targets.length;
    if (count > BLOCK_TARGETS) throw new ShapeError(`an admissibility block holds at most ${BLOCK_TARGETS} targets, got ${count}`);
    // While scanning, bit t of into[w] = "w is target t, a descendant of it, or one of its sources".
    into.fill(0, 0, k);
    let r0 = H;
    let minLevel = Infinity;
    for (let t = 0; t < count; t++) {
      const j = targets[t]!;
      if (!(Number.isInteger(j) && j >= n && j < k)) throw new ShapeError(`target ${j} is not a non-input neuron (${n}..${k - 1})`);
      into[j]! |= 1 << t;
      if (position[j]! < r0) r0 = position[j]!;
      if (levels[j]! < minLevel) minLevel = levels[j]!;
    }
    for (let r = r0 + 1; r < H; r++) {
      const w = order[r]!;
      if (levels[w]! <= minLevel) continue;
      const row = (w - n) * d;
      let m = 0;
      for (let e = 0; e < d; e++) m |= into[sources[row + e]!]!;
      if (m !== 0) into[w]! |= m;
    }
    for (let t = 0; t < count; t++) {
      const row = (targets[t]! - n) * d;
      const bit = 1 << t;
      for (let e = 0; e < d; e++) into[sources[row + e]!]! |= bit;
    }
    const full = count === 32 ? -1 : (1 << count) - 1;
    for (let i = 0; i < k; i++) into[i] = ~into[i]! & full;
  };
  const one = new Int32Array(1);
  const oneWords = new Int32Array(k);
  // Default pair test: does target reach source? Backward from source over neurons that come after
  // target in the order and sit above its level (both necessary for a path target ⇝ w).
  const seen = new Uint32Array(k);
  const stack = new Int32Array(k);
  let epoch = 0;
  const reaches = (target: number, source: number): boolean => {
    if (++epoch === 0xffffffff) {
      seen.fill(0);
      epoch = 1;
    }
    const pt = position[target]!;
    const lt = levels[target]!;
    let top = 0;
    stack[top++] = source;
    seen[source] = epoch;
    while (top > 0) {
      const w = stack[--top]!;
      const row = (w - n) * d;
      for (let e = 0; e < d; e++) {
        const s = sources[row + e]!;
        if (s === target) return true;
        if (s < n || seen[s] === epoch || position[s]! <= pt || levels[s]! <= lt) continue;
        seen[s] = epoch;
        stack[top++] = s;
      }
    }
    return false;
  };
  const admits =
    extra.admits ??
    ((source: number, target: number): boolean => {
      if (!(target >= n && target < k && source >= 0 && source < k) || source === target) return false;
      const row = (target - n) * d;
      for (let e = 0; e < d; e++) if (sources[row + e] === source) return false;
      if (source < n || position[source]! < position[target]! || levels[source]! <= levels[target]!) return true;
      return !reaches(target, source);
    });
  // Sixteen blocks at once: in WebAssembly (512-bit words) where the module is loaded, else block by block.
  const scratch = new Int32Array(16 * k);
  const owner = {};
  const fillBlocks = (targets: Int32Array): Int32Array => {
    if (targets.length > SUPER_BLOCK_TARGETS) throw new ShapeError(`an admissibility super-block holds at most ${SUPER_BLOCK_TARGETS} targets, got ${targets.length}`);
    const graph = graphKernels();
    if (!graph) {
      for (let b = 0; b * BLOCK_TARGETS < targets.length; b++) fillBlock(targets.subarray(b * BLOCK_TARGETS, (b + 1) * BLOCK_TARGETS), scratch.subarray(b * k, (b + 1) * k));
      return scratch;
    }
    let r0 = H;
    let minLevel = 0x7fffffff;
    for (let t = 0; t < targets.length; t++) {
      const j = targets[t]!;
      if (!(Number.isInteger(j) && j >= n && j < k)) throw new ShapeError(`target ${j} is not a non-input neuron (${n}..${k - 1})`);
      if (position[j]! < r0) r0 = position[j]!;
      if (levels[j]! < minLevel) minLevel = levels[j]!;
    }
    graph.load(owner, net);
    return graph.descendantWords(owner, targets, r0, minLevel);
  };
  return {
    rank: position,
    fillBlock,
    fillBlocks,
    admits,
    fill(target: number, into: Uint8Array): void {
      if (!(target >= n && target < k)) return;
      one[0] = target;
      fillBlock(one, oneWords);
      for (let i = 0; i < k; i++) into[i] = oneWords[i]! & 1;
    },
  };
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
  /**
   * "auto" (default) runs the WebAssembly filter where it is loaded (exact search: all pairs;
   * approximate search: the colliding candidates), else plain TypeScript; "js" forces the plain
   * kernel; "wasm" forces the filter (throws where it is missing). Same result either way.
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

export interface SearchStats {
  /** Pairs whose inner product was computed exactly. */
  pairsScored: number;
  /** Candidate pairs looked at, duplicates and inadmissible ones included (= pairsScored for the exact search). */
  visited: number;
  /** Admissible pairs into the searched targets with non-zero error (exact search only; the approximate search reports −1). */
  admissiblePairs: number;
  samples: number;
  seconds: number;
  /** Which kernel scored the pairs: the WebAssembly filter or plain TypeScript. */
  kernel?: "wasm" | "js";
  /** WebAssembly kernel: pairs its filter kept and that were rescored exactly. */
  rescored?: number;
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
export function byRank(ids: number[], rank: Int32Array | undefined): Int32Array {
  if (rank) ids.sort((a, b) => rank[a]! - rank[b]! || a - b);
  else ids.sort((a, b) => a - b);
  return Int32Array.from(ids);
}

/** A source is stored as a list of its non-zero samples when at most this share of them is non-zero. */
const SPARSE_SHARE = 0.25;
const SOURCE_BLOCK = 64;
const TARGET_BLOCK = BLOCK_TARGETS;

/** Which inner-product kernel the exact search runs; all give the same result. */
export type SearchKernel = "auto" | "wasm" | "js";

/** What both kernels of the exact search work on: norms, visiting order, sparse source lists. */
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
  collector: CandidateCollector;
}

interface KernelCounts {
  pairsScored: number;
  admissiblePairs: number;
  rescored?: number;
}

/**
 * Exact search over all admissible pairs, O(k²·S) multiply-adds (fewer for sparse sources and
 * skipped blocks). Sums run in float64 over the float32 activity, in sample order, so a pair's
 * inner product is bit-identical to the plain loop in `innerProduct`.
 *
 * Two kernels, one result: the plain TypeScript one below, and — where the WebAssembly module
 * dist/wasm/sparsewire-search.wasm is loaded (Node: always; browsers: once `loadSearchKernels()`
 * has resolved) — a SIMD filter (assembly/search.ts) that scores every pair approximately in
 * float32 with a rigorous error bound and leaves only the pairs that can still reach the result to
 * be rescored exactly here. `options.kernel` forces one ("js", or "wasm", which throws where the
 * module is missing); `stats.kernel` says which ran.
 */
export function exactSearch(a: Activity, options: SearchOptions): SearchResult {
  const started = performance.now();
  checkActivity(a);
  const { neurons: k, samples: S } = a;
  const admissibility = options.admissibility;
  const rank = admissibility.rank;
  if (rank !== undefined && rank.length !== k) throw new ShapeError(`admissibility rank holds ${rank.length} entries, expected ${k}`);
  const collector = new CandidateCollector(k, options.criterion, options.top, options.perTarget ?? 1, options.minScore ?? 0);
  const choice = options.kernel ?? "auto";
  if (choice !== "auto" && choice !== "wasm" && choice !== "js") throw new UsageError(`kernel must be "auto", "wasm" or "js", got "${String(choice)}"`);

  const kernels = choice === "js" ? undefined : searchKernels();
  if (choice === "wasm" && !kernels) {
    throw new SparsewireError("engine", `the WebAssembly search kernel is not available: ${searchKernelStatus().reason ?? "unknown reason"}`, 'use kernel "auto" or "js"');
  }
  const requested = targetList(a, options.targets);
  const counts = kernels ? wasmExact(a, requested, admissibility, collector, kernels) : jsExact(a, requested, admissibility, collector);
  return collector.finish({
    pairsScored: counts.pairsScored,
    visited: counts.pairsScored,
    admissiblePairs: counts.admissiblePairs,
    samples: S,
    seconds: (performance.now() - started) / 1000,
    kernel: kernels ? "wasm" : "js",
    ...(counts.rescored !== undefined ? { rescored: counts.rescored } : {}),
  });
}

/**
 * The visiting order of the exact search: searched targets with non-zero error, and the non-silent
 * sources split into dense and sparse (at most SPARSE_SHARE of the samples non-zero), each sorted
 * by (rank, id).
 */
function visitingOrder(k: number, S: number, requested: Int32Array, xNorm: Float64Array, eNorm: Float64Array, nnzOf: Int32Array, rank: Int32Array | undefined): { targets: Int32Array; dense: Int32Array; sparse: Int32Array } {
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

/** The plain path: norms, non-zero counts and sparse lists in TypeScript, then `jsKernel`. */
function jsExact(a: Activity, requested: Int32Array, admissibility: Admissibility, collector: CandidateCollector): KernelCounts {
  const { neurons: k, samples: S, outputs, errors } = a;
  // Source norms (as rowNorms computes them) and non-zero counts in one pass.
  const xNorm = new Float64Array(k);
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
  }
  const eNorm = rowNorms(errors, k, S);
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
  return jsKernel({ k, S, outputs, errors, xNorm, eNorm, targets, dense, sparse, sparseStart, sparseSample, sparseValue, admissibility, collector });
}

/**
 * The plain kernel: every admissible pair scored exactly, cache-blocked (blocks of 64 sources × 32
 * targets), register-tiled (4 sources × 4 targets per pass over the samples, 16 accumulators),
 * blocks without an admissible pair skipped, sparse sources gathered.
 */
function jsKernel(plan: ExactPlan): KernelCounts {
  const { k, S, outputs, errors, xNorm, eNorm, targets, dense, sparse, sparseStart, sparseSample, sparseValue, admissibility, collector } = plan;
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
          if (bits & 0x000f) offerRow(collector, bits, denseId[p]!, xNorm, eNorm, j0, j1, j2, j3, s00, s01, s02, s03);
          if (bits & 0x00f0) offerRow(collector, bits >> 4, denseId[p + 1]!, xNorm, eNorm, j0, j1, j2, j3, s10, s11, s12, s13);
          if (bits & 0x0f00) offerRow(collector, bits >> 8, denseId[p + 2]!, xNorm, eNorm, j0, j1, j2, j3, s20, s21, s22, s23);
          if (bits & 0xf000) offerRow(collector, bits >> 12, denseId[p + 3]!, xNorm, eNorm, j0, j1, j2, j3, s30, s31, s32, s33);
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
        collector.offer(i, j, s, normalise(s, xNorm[i]!, eNorm[j]!));
      }
    }
  }
  return { pairsScored, admissiblePairs };
}

/**
 * Error bound of the WebAssembly filters' float32 inner products over S samples (see wasmKernel):
 * |approx − exact| ≤ errRel·‖x‖·‖δ‖ + errAbs.
 */
export function filterErrorBound(S: number): { errRel: number; errAbs: number } {
  const Sp = (S + 3) & ~3;
  const u = 2 ** -24;
  const n = Sp / 4 + 3;
  return { errRel: (4 * n * u) / (1 - n * u) + Sp * 2 ** -50, errAbs: (Sp + 16) * 2 ** -147 };
}

/** Relative and absolute margins on every filtered score, as assembly/search.ts adds them. */
export const FILTER_MARGIN = 2 ** -40;
export const FILTER_TINY = 1e-300;

/**
 * The WebAssembly path: per block of 32 targets, the filter (assembly/search.ts searchBlock) scores
 * every admissible pair approximately and keeps those whose upper bound reaches the result; they are
 * rescored exactly (rescore: float64, sample order; the sparse gather over the same lists — the sums
 * `jsKernel` computes, bit for bit) and offered to the same collector. Everything that touches every
 * sample — norms, non-zero counts, packing, sparse lists, rescoring — runs in WebAssembly too, so a
 * round is fast from the first one (these loops run once per round: cold code in V8).
 *
 * Error bound handed to the filter (see assembly/search.ts): each float32 lane sums S/4 products,
 * then two levels of horizontal adds, so |approx − exact| ≤ γ_{S/4+3}·‖x‖·‖δ‖ (+ underflow) with
 * γ_n = n·u/(1 − n·u), u = 2⁻²⁴; errRel is 4× that plus the float64 rounding of the exact sum and
 * norms, errAbs 8× the underflow bound. Generous on purpose: a looser bound only rescores more.
 */
function wasmExact(a: Activity, requested: Int32Array, admissibility: Admissibility, collector: CandidateCollector, kernels: SearchKernels): KernelCounts {
  const { neurons: k, samples: S, outputs, errors } = a;
  const L = kernels.layout;
  const ctx = kernels.ctx;
  const Sp = (S + 3) & ~3;
  let top = ctx + L.S_SIZE;
  const take = (bytes: number) => {
    const at = Math.ceil(top / 64) * 64;
    top = at + bytes;
    return at;
  };
  // Stage 1: the activity, its norms and non-zero counts.
  const A = take(4 * k * S);
  const E = take(4 * k * S);
  const xn = take(8 * k);
  const enAll = take(8 * k);
  const nnz = take(4 * k);
  let buffer = kernels.ensure(top);
  new Float32Array(buffer, A, k * S).set(outputs);
  new Float32Array(buffer, E, k * S).set(errors);
  kernels.rowStats(A, k, S, xn, nnz);
  kernels.rowStats(E, k, S, enAll, 0);
  const xNorm = new Float64Array(buffer, xn, k).slice();
  const eNorm = new Float64Array(buffer, enAll, k).slice();
  const nnzOf = new Int32Array(buffer, nnz, k).slice();
  const { targets, dense, sparse } = visitingOrder(k, S, requested, xNorm, eNorm, nnzOf, admissibility.rank);

  // Stage 2: packed rows, sparse lists, block buffers, outputs.
  const nd = dense.length;
  const ndPad = (nd + 3) & ~3;
  const ns = sparse.length;
  const sparseStart = new Int32Array(ns + 1);
  for (let p = 0; p < ns; p++) sparseStart[p + 1] = sparseStart[p]! + nnzOf[sparse[p]!]!;
  const nnzTotal = sparseStart[ns]!;
  const nt = targets.length;
  const c = collector.perTarget;
  const K = collector.top;
  const capacity = TARGET_BLOCK * (ndPad + ns);
  const at = {
    words: take(4 * k),
    X: take(4 * ndPad * Sp),
    denseId: take(4 * ndPad),
    xnDense: take(8 * ndPad),
    sparseStart: take(4 * (ns + 1)),
    sparseSample: take(4 * nnzTotal),
    sparseValue: take(4 * nnzTotal),
    sparseId: take(4 * ns),
    xnSparse: take(8 * ns),
    blockIds: take(4 * TARGET_BLOCK),
    D: take(4 * TARGET_BLOCK * Sp),
    Dt: take(4 * TARGET_BLOCK * Sp),
    en: take(8 * TARGET_BLOCK),
    lb: take(8 * TARGET_BLOCK * c),
    heap: take(8 * K),
    outSlot: take(4 * capacity),
    outTarget: take(4 * capacity),
    outUpper: take(8 * capacity),
    outInner: take(8 * capacity),
  };
  buffer = kernels.ensure(top);
  const i32 = new Int32Array(buffer);
  const f64 = new Float64Array(buffer);
  const setI32 = (field: number, value: number) => (i32[(ctx + field) >> 2] = value);
  const setF64 = (field: number, value: number) => (f64[(ctx + field) >> 3] = value);

  const denseId = new Int32Array(buffer, at.denseId, ndPad);
  denseId.fill(-1);
  denseId.set(dense);
  kernels.packRows(A, S, at.denseId, ndPad, at.X, Sp);
  const xnDense = new Float64Array(buffer, at.xnDense, ndPad);
  xnDense.fill(0);
  for (let p = 0; p < nd; p++) xnDense[p] = xNorm[dense[p]!]!;
  new Int32Array(buffer, at.sparseStart, ns + 1).set(sparseStart);
  new Int32Array(buffer, at.sparseId, ns).set(sparse);
  kernels.sparseLists(A, S, at.sparseId, ns, at.sparseStart, at.sparseSample, at.sparseValue);
  const xnSparse = new Float64Array(buffer, at.xnSparse, ns);
  for (let p = 0; p < ns; p++) xnSparse[p] = xNorm[sparse[p]!]!;
  const blockIds = new Int32Array(buffer, at.blockIds, TARGET_BLOCK);
  const en = new Float64Array(buffer, at.en, TARGET_BLOCK);
  const words = new Int32Array(buffer, at.words, k);
  const outSlot = new Int32Array(buffer, at.outSlot, capacity);
  const outTarget = new Int32Array(buffer, at.outTarget, capacity);
  const outInner = new Float64Array(buffer, at.outInner, capacity);

  setI32(L.S_WORDS, at.words);
  setI32(L.S_X, at.X);
  setI32(L.S_ND, ndPad);
  setI32(L.S_DENSE_ID, at.denseId);
  setI32(L.S_XN_DENSE, at.xnDense);
  setI32(L.S_SPARSE_START, at.sparseStart);
  setI32(L.S_SPARSE_SAMPLE, at.sparseSample);
  setI32(L.S_SPARSE_VALUE, at.sparseValue);
  setI32(L.S_NS, ns);
  setI32(L.S_SPARSE_ID, at.sparseId);
  setI32(L.S_XN_SPARSE, at.xnSparse);
  setI32(L.S_D, at.D);
  setI32(L.S_DT, at.Dt);
  setI32(L.S_EN, at.en);
  setI32(L.S_SP, Sp);
  setI32(L.S_S, S);
  setI32(L.S_MODE, collector.criterion === "correlation" ? 0 : 1);
  setI32(L.S_C, c);
  setI32(L.S_LB, at.lb);
  setI32(L.S_K, K);
  setI32(L.S_HEAP, at.heap);
  setI32(L.S_OUT_SLOT, at.outSlot);
  setI32(L.S_OUT_TARGET, at.outTarget);
  setI32(L.S_OUT_UPPER, at.outUpper);
  setI32(L.S_OUT_INNER, at.outInner);
  setI32(L.S_K_NEURONS, k);
  setF64(L.S_MIN_SCORE, collector.minScore);
  const bound = filterErrorBound(S);
  setF64(L.S_ERR_REL, bound.errRel);
  setF64(L.S_ERR_ABS, bound.errAbs);
  kernels.beginSearch();

  const mask = new Uint8Array(k);
  const scratch = new Int32Array(16 * k);
  let blocks: Int32Array = scratch;
  let rescored = 0;
  for (let t0 = 0; t0 < nt; t0 += TARGET_BLOCK) {
    const block = targets.subarray(t0, Math.min(t0 + TARGET_BLOCK, nt));
    if (t0 % SUPER_BLOCK_TARGETS === 0) blocks = fillWordBlocks(admissibility, targets.subarray(t0, Math.min(t0 + SUPER_BLOCK_TARGETS, nt)), k, scratch, mask);
    const b = (t0 % SUPER_BLOCK_TARGETS) / TARGET_BLOCK;
    words.set(blocks.subarray(b * k, (b + 1) * k));
    blockIds.fill(-1);
    blockIds.set(block);
    kernels.packRows(E, S, at.blockIds, TARGET_BLOCK, at.D, Sp);
    en.fill(0);
    for (let t = 0; t < block.length; t++) en[t] = eNorm[block[t]!]!;
    const kept = kernels.searchBlock(block.length);
    kernels.rescore(kept);
    rescored += kept;
    for (let e = 0; e < kept; e++) {
      const slot = outSlot[e]!;
      const i = slot >= 0 ? dense[slot]! : sparse[-1 - slot]!;
      const j = block[outTarget[e]!]!;
      const s = outInner[e]!;
      collector.offer(i, j, s, normalise(s, xNorm[i]!, eNorm[j]!));
    }
  }
  return { pairsScored: 16 * i32[(ctx + L.S_TILES) >> 2]! + i32[(ctx + L.S_SPARSE_PAIRS) >> 2]!, admissiblePairs: i32[(ctx + L.S_ADMISSIBLE) >> 2]!, rescored };
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
