/**
 * The candidate-search kernel interfaces (§4.3): what rewire/'s exact and approximate searches ask
 * of an engine. search-kernel.ts chooses the implementation; the implementations (reference/ and
 * wasm/) import only these declarations, so nothing imports in a circle.
 *
 * Legend: k neurons, S samples, K global candidates, c candidates per target.
 */
import type { Admissibility } from "../graph/admissibility.js";

/**
 * Which kernel scores the pairs: "auto" (default) runs the WebAssembly one where its module is
 * loaded, else plain TypeScript; "js" forces the plain one; "wasm" forces WebAssembly (throws where
 * it is missing). Same result either way.
 */
export type SearchKernel = "auto" | "wasm" | "js";

/** What the kernels read of the per-sample activity (estimate/activity.ts `Activity` is one). */
export interface SearchActivity {
  readonly neurons: number;
  /** S: samples per neuron row. */
  readonly samples: number;
  /** σ(a_i), k·S neuron-major. */
  readonly outputs: Float32Array;
  /** δ_j, k·S neuron-major. */
  readonly errors: Float32Array;
}

/**
 * Where kernels report candidate pairs, and the rules by which it keeps them (so that a filtering
 * kernel may skip what it can prove would be rejected): a pair's score is |correlation| or |inner|
 * by `criterion`; pairs scoring below `minScore` are dropped; of the rest the sink keeps, in the
 * strict order (score descending, then source, then target ascending), the best `perTarget` per
 * target and the best `top` overall.
 */
export interface CandidateSink {
  readonly criterion: "correlation" | "gradient";
  /** K: pairs kept overall (0: none). */
  readonly top: number;
  /** c: pairs kept per target (0: none). */
  readonly perTarget: number;
  readonly minScore: number;
  /**
   * Pair source → target with its exact inner product ⟨σ(a_source), δ_target⟩ (float64 over the
   * float32 activity, in sample order) and the two row norms (float64, sample order: what
   * estimate/activity.ts `rowNorms` computes).
   */
  offer(source: number, target: number, inner: number, sourceNorm: number, targetNorm: number): void;
  /** Could a pair into `target` scoring at most `upper` still be kept? False only when it surely cannot. */
  mayAccept(target: number, upper: number): boolean;
}

/** What an exact-search kernel counted. */
export interface ExactSearchCounts {
  /** Pairs whose inner product was computed (exactly, or — WebAssembly — in the filter). */
  pairsScored: number;
  /** Admissible pairs into the searched targets with non-zero error. */
  admissiblePairs: number;
  /** WebAssembly: pairs the filter kept and that were rescored exactly. */
  rescored?: number;
}

/**
 * The exact search's kernel: every admissible pair into `targets` (non-inputs, each once) with a
 * non-silent source and a target with non-zero error is offered to the sink with its exact inner
 * product — except, for a filtering kernel, pairs that provably cannot be kept. Each pair is offered
 * at most once; kernels may offer in different orders (they visit sources and targets by
 * `admissibility.rank`, then id, in different tilings), which the sink's strict total order makes
 * irrelevant to its result.
 */
export interface ExactSearchKernel {
  readonly name: "js" | "wasm";
  search(activity: SearchActivity, targets: Int32Array, admissibility: Admissibility, sink: CandidateSink): ExactSearchCounts;
}

/**
 * The approximate search's candidate scoring, for one activity: the search writes one query's
 * candidate sources into `candidates` and calls `score`, which offers them to the sink with exact
 * inner products — all of them (plain), or those whose float32 upper bound the sink may still accept
 * (WebAssembly; the target's best c by upper bound first). Source and target norms are the search's.
 */
export interface CandidateScoringKernel {
  readonly name: "js" | "wasm";
  /** The candidate list of the current query (length k); only the first `count` entries are read. */
  readonly candidates: Int32Array;
  /** Offer candidates[0..count) → target; returns how many pairs were scored exactly. */
  score(target: number, count: number, sink: CandidateSink): number;
  /**
   * The same, possibly later: candidates[0..count) → target are copied and offered by this or a later
   * `queue`, or by `flush`, in queue order (so the sink sees what `score` would have shown it, query
   * by query). Returns the pairs scored exactly meanwhile.
   */
  queue(target: number, count: number, sink: CandidateSink): number;
  /** Offer everything queued; returns the pairs scored exactly. */
  flush(sink: CandidateSink): number;
}

/**
 * The approximate search's hash index as rewire/approximate-search.ts lays it out (§4.3: SimHash by
 * the rotations H·D₃·H·D₂·H·D₁, L tables per norm range, query-directed multi-probe). The kernels
 * build the tables from it and answer queries; every choice (the diagonals, the ranges, the bits,
 * the extra coordinate of norm-ranging LSH, the heavy sources) is made by the search.
 */
export interface LshIndex {
  /** P: rotation length, a power of two ≥ S (> S with the appended coordinate). */
  readonly rotationLength: number;
  readonly rotations: number;
  /** 3 diagonals of ±1 per rotation, P each, applied D₁ first. */
  readonly diagonals: Float64Array;
  /** L: tables per norm range; table t reads hyperplanes [t·bMax, t·bMax + b_g). */
  readonly tables: number;
  readonly bMax: number;
  /** Indexed sources range by range: range g is sourceIds[groupStart[g] .. groupStart[g + 1]). */
  readonly sourceIds: Int32Array;
  readonly groupStart: Int32Array;
  /** b_g: key bits of range g (1..24). */
  readonly groupBits: Int32Array;
  /** The coordinate appended to each indexed source (by position in sourceIds; norm-ranging LSH), or undefined: none. */
  readonly extra: Float64Array | undefined;
  /** Extra buckets probed per table and sign (least certain bits flipped). */
  readonly probes: number;
  /** Candidates kept per range and query, by hits (≥ 1; Infinity: all). */
  readonly budget: number;
  /** Indexed sources by decreasing norm (then id), and each neuron's place in that order (ns for the others). */
  readonly normOrder: Int32Array;
  readonly normRank: Int32Array;
  /** H: the first H of normOrder are candidates of every query. */
  readonly heavy: number;
}

/**
 * The approximate search's hashing and bucket scans, for one activity and index: the sources are
 * hashed and bucketed when the kernel is made; each query's candidates (heavy sources, then per
 * range the sources sharing a probed bucket with +δ or −δ in first-meeting order, cut to the budget
 * by hits) are written into the scoring kernel's `candidates`. Plain TypeScript (engine/reference/
 * lsh.ts) and WebAssembly (engine/wasm/lsh.ts) give the same keys, candidates and order.
 */
export interface LshKernel {
  readonly name: "js" | "wasm";
  /** Bucket entries looked at, over all queries so far. */
  readonly visited: number;
  /** Admissibility words of the next queries (block-major, as `Admissibility.fillBlocks` returns them); read by `collectByWords`. */
  loadWords(words: Int32Array): void;
  /**
   * Candidates of query number `query` (target's errors), admissible by bit `shift` of
   * words[wordBase + source] of the loaded words; sources of norm rank < `stop` are skipped.
   * Returns their count.
   */
  collectByWords(target: number, query: number, stop: number, wordBase: number, shift: number): number;
  /** The same with a pair test for admissibility (called once per met source). */
  collect(target: number, query: number, stop: number, admits: (source: number) => boolean): number;
  /** Keys of the indexed sources: table-major per range, the (g, t) block at L·groupStart[g] + t·size_g (for tests). */
  sourceKeys(): Int32Array;
  /** Per (range g, table t): the key of `target`'s errors, then its `probes` least certain bits (−1: none) (for tests). */
  queryKeys(target: number): Int32Array;
}
