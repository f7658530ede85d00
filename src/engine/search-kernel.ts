/**
 * The candidate-search kernels (§4.3), declared once: what rewire/'s exact and approximate searches
 * ask of an engine, and which implementation answers. Each kernel has a plain TypeScript version
 * (engine/reference/) and a WebAssembly SIMD one (engine/wasm/), chosen by availability as
 * `SearchKernel` says; both give the same result bit for bit, because the WebAssembly scorers only
 * *filter* (a float32 score with a rigorous error bound decides which pairs are scored exactly) and
 * every score that reaches a sink is the float64 sum in sample order, and the WebAssembly hashing
 * (the approximate search's LshKernel) repeats the plain one's float64 operations.
 *
 * What it is not: kernels never rank or keep candidates. They report pairs to a `CandidateSink`
 * (rewire/collector.ts implements it), and the sink alone applies the criterion (Def. 4.6 |corr| or
 * RigL's |gradient|), minScore, the per-target best c and the global top K. A WebAssembly kernel
 * mirrors those rules only to skip pairs the sink would surely reject.
 *
 * Legend: k neurons, S samples, K global candidates, c candidates per target.
 */
import type { DescendantWordsKernel } from "../graph/admissibility.js";
import { SparsewireError } from "../util/errors.js";
import { referenceCandidateScoring } from "./reference/candidate-scoring.js";
import { referenceExactSearch } from "./reference/exact-search.js";
import { referenceLsh } from "./reference/lsh.js";
import { wasmCandidateScoring } from "./wasm/candidate-scoring.js";
import { wasmExactSearch } from "./wasm/exact-search.js";
import { wasmApproximateKernels } from "./wasm/lsh.js";
import { graphKernels, loadSearchKernels, searchKernels, searchKernelStatus, type SearchKernels } from "./wasm/search-kernels.js";

export type { CandidateScoringKernel, CandidateSink, ExactSearchCounts, ExactSearchKernel, LshIndex, LshKernel, SearchActivity, SearchKernel } from "./search-kernel-types.js";
import type { CandidateScoringKernel, ExactSearchKernel, LshIndex, LshKernel, SearchActivity, SearchKernel } from "./search-kernel-types.js";

/** The WebAssembly search module for `choice`, or undefined for the plain kernels. */
function wasmFor(choice: SearchKernel): SearchKernels | undefined {
  const kernels = choice === "js" ? undefined : searchKernels();
  if (choice === "wasm" && !kernels) {
    throw new SparsewireError("engine", `the WebAssembly search kernel is not available: ${searchKernelStatus().reason ?? "unknown reason"}`, 'use kernel "auto" or "js"');
  }
  return kernels;
}

/** The exact search's kernel for `choice` (see `SearchKernel`). */
export function exactSearchKernel(choice: SearchKernel): ExactSearchKernel {
  const kernels = wasmFor(choice);
  return kernels ? wasmExactSearch(kernels) : referenceExactSearch;
}

/** The approximate search's candidate scoring for `choice` on one activity with its row norms. */
export function candidateScoringKernel(choice: SearchKernel, activity: SearchActivity, sourceNorms: Float64Array, targetNorms: Float64Array): CandidateScoringKernel {
  const kernels = wasmFor(choice);
  return kernels ? wasmCandidateScoring(kernels, activity, sourceNorms, targetNorms) : referenceCandidateScoring(activity, sourceNorms, targetNorms);
}

/**
 * The approximate search's kernels for `choice` on one activity with its row norms and hash index:
 * the hashing and bucket scans, and the scoring of the candidates they write into
 * `scoring.candidates`. Both plain TypeScript, or both WebAssembly (one layout of the module's memory).
 */
export function approximateSearchKernels(choice: SearchKernel, activity: SearchActivity, sourceNorms: Float64Array, targetNorms: Float64Array, index: LshIndex): { scoring: CandidateScoringKernel; lsh: LshKernel } {
  const kernels = wasmFor(choice);
  if (kernels) return wasmApproximateKernels(kernels, activity, sourceNorms, targetNorms, index);
  const scoring = referenceCandidateScoring(activity, sourceNorms, targetNorms);
  return { scoring, lsh: referenceLsh(activity, index, scoring.candidates) };
}

/**
 * graph/admissibility.ts orderAdmissibility's 512-target pass in WebAssembly, where the search
 * module is loaded (asked on every call: in browsers it arrives after the first rounds); undefined
 * otherwise, and the admissibility computes its blocks in TypeScript.
 */
export const descendantWordsKernel: DescendantWordsKernel = {
  descendantWords: (owner, net, targets, r0, minLevel) => graphKernels()?.descendantWords(owner, net, targets, r0, minLevel),
};

/**
 * Start loading the WebAssembly search module: Node loads it synchronously on first use anyway; in
 * browsers this starts the fetch, and searches use it once it is there. Never rejects.
 */
export async function prepareSearchKernels(): Promise<void> {
  await loadSearchKernels();
}
