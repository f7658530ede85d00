/**
 * Rewiring (thesis chapter 4): the Rewirer that runs a round, its configuration and the presets
 * (thesis, SET, RigL), and the parts a round is made of: correlation (Def. 4.6), the candidate
 * searches (§4.3), new weights (eq. 4.8). Browser-safe.
 *
 * @module
 */
export { Rewirer, accumulatedUtility, lowestFinite, type RewirerOptions, type RewirerState, type RoundReport, type RoundPhases } from "./rewire.js";
export {
  PRESETS, COSINE_END, checkRewireConfig, isRewireStep, needsUtilityStatistics, parseSchedule, scheduledFraction,
  type CountRule, type FractionSchedule, type GrowthCriterion, type PresetName, type PruneCriterion, type RewireConfig,
} from "./schedule.js";
export { correlation, innerProduct, normalise, PairAccumulator } from "./correlation.js";
export { fitNewWeights, newEdgeWeights, type EdgeSwap, type NewWeightRule, type NewWeights } from "./new-weights.js";
export { CandidateCollector, recallOf, type CandidateList, type PerTargetCandidates, type SearchOptions, type SearchResult, type SearchStats } from "./collector.js";
// collector.ts calls the search's criterion GrowthCriterion too; schedule.ts's GrowthCriterion (above) adds "random".
export type { GrowthCriterion as SearchCriterion } from "./collector.js";
export { exactSearch } from "./exact-search.js";
export { approximateSearch, type ApproximateSearchOptions, type LshOptions } from "./approximate-search.js";
