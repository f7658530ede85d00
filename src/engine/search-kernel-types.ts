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
}
