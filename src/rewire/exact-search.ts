/**
 * The exact candidate search (§4.3): every admissible pair scored, O(k²·S) multiply-adds (§4.3:
 * "computing the O(k²) correlations"; fewer for sparse sources and skipped blocks). This file checks
 * the options, builds the collector and the target list, and hands the pairs to an engine kernel
 * (engine/search-kernel.ts): the plain TypeScript one (engine/reference/exact-search.ts: blocked,
 * register-tiled, sparse sources gathered) or — where the WebAssembly module
 * dist/wasm/sparsewire-search.wasm is loaded (Node: always; browsers: once it has arrived) — a SIMD
 * filter (engine/wasm/exact-search.ts, assembly/search.ts) that scores every pair approximately in
 * float32 with a rigorous error bound and leaves only the pairs that can still reach the result to
 * be rescored exactly: the plain kernel's result, bit for bit, at 6–9× its speed (bench/README.md).
 *
 * Legend: k neurons, n inputs, S samples.
 */
import { exactSearchKernel } from "../engine/search-kernel.js";
import { ShapeError, UsageError } from "../util/errors.js";
import { checkActivity, type Activity } from "../estimate/activity.js";
import { CandidateCollector, targetList, type SearchOptions, type SearchResult } from "./collector.js";

/**
 * Exact search over all admissible pairs. Sums run in float64 over the float32 activity, in sample
 * order, so a pair's inner product is bit-identical to the plain loop in `innerProduct`.
 * `options.kernel` forces a kernel ("js", or "wasm", which throws where the module is missing);
 * `stats.kernel` says which ran.
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

  const kernel = exactSearchKernel(choice);
  const requested = targetList(a, options.targets);
  const counts = kernel.search(a, requested, admissibility, collector);
  return collector.finish({
    pairsScored: counts.pairsScored,
    visited: counts.pairsScored,
    admissiblePairs: counts.admissiblePairs,
    samples: S,
    seconds: (performance.now() - started) / 1000,
    kernel: kernel.name,
    ...(counts.rescored !== undefined ? { rescored: counts.rescored } : {}),
  });
}
