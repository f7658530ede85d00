/**
 * Rewiring = prune criterion × growth criterion × schedule (issue 4). This file holds the
 * configuration and the schedule: when a round happens and how many edges it may rewire. The thesis's
 * method (§4.6), SET (Mocanu et al. 2018) and RigL (Evci et al. 2020) are presets of one mechanism.
 *
 * Fixed in-degree couples pruning and growth: an edge removed from neuron j frees a slot of j, so the
 * new edge always enters j. A round therefore picks (target, slot) pairs to free and, for each, the
 * best admissible new source of that target under the growth criterion.
 */
import { settingError } from "../util/errors.js";

/**
 * taylor: −w·∂L/∂w + ½w²·(empirical Fisher), see taylor.ts. wanda: |w|·rms(σ(a_source)) over the
 * round's samples, the size of the edge's contribution to its neuron's input (Sun et al. 2023,
 * "Wanda"; the thesis's objection to |w| is that it ignores the scale of σ(a), §4.1).
 * accumulated: eq. 4.3's −w·∂L/∂w averaged over every training step since the last round (the engine
 * sums it in its update, Engine.accumulatedUtility) instead of one batch; accumulated-taylor adds
 * ½·ln 2·B·mean((w·g)²), the curvature term from the steps' squared gradients (issue 12 item 5).
 */
export type PruneCriterion = "first-order" | "magnitude" | "obd" | "taylor" | "wanda" | "accumulated" | "accumulated-taylor";

/** Whether a prune criterion reads the engine's accumulated utility statistics. */
export function needsUtilityStatistics(c: { pruneBy: PruneCriterion }): boolean {
  return c.pruneBy === "accumulated" || c.pruneBy === "accumulated-taylor";
}
/** How new edges are chosen: |corr| (Def. 4.6, the thesis), |⟨σ(a_i), δ_j⟩| (RigL's gradient) or at random among admissible sources (SET). */
/** l3: gradient-free, length-3 paths damped by degree (l3.ts; Cannistraci-Hebb training's predictor). */
export type GrowthCriterion = "correlation" | "gradient" | "random" | "l3";
import type { NewWeightRule } from "./new-weights.js";
export type { NewWeightRule };
/**
 * How many edges a round rewires:
 * - threshold: the thesis's §4.6 rule: every neuron j with some admissible |corr(i, j)| above the
 *   threshold swaps its lowest-utility in-edge for the best such i;
 * - fraction: the lowest-utility `fraction` of all edges are freed and regrown (SET, RigL);
 * - per-pair: §4.3 strategy (b): candidate pairs ranked by score, each accepted pair rewires its
 *   target's lowest-utility edge, up to `fraction` of edges.
 */
export type CountRule = { kind: "threshold"; threshold: number } | { kind: "fraction" } | { kind: "per-pair" };
/** How a round's fraction changes over training: constant, cosine decay to 0 at 75 % (RigL), or constant until `at`·steps then 0. */
export type FractionSchedule = { kind: "constant" } | { kind: "cosine" } | { kind: "stop"; at: number };

/** One rewiring method: prune criterion × growth criterion × schedule. `PRESETS` holds the thesis's, SET's and RigL's. */
export interface RewireConfig {
  /** Steps between rounds (thesis: 2048; RigL: 100). */
  every: number;
  /** Share of edges a round may rewire at full strength (before the schedule scales it). */
  fraction: number;
  /** How `fraction` changes over training. */
  schedule: FractionSchedule;
  /** Steps during which a new edge cannot be pruned (§4.6's open question). */
  grace: number;
  /** Which edges are freed: those of lowest utility by this criterion (higher = more useful). */
  pruneBy: PruneCriterion;
  /** Which sources the freed slots get. */
  growBy: GrowthCriterion;
  /** How many edges a round rewires. */
  count: CountRule;
  /**
   * With the fraction rule: the lowest-utility share of all edges ("network", default), or of each
   * layer's in-edges ("layer", as SET's code removes ζ of every layer; needs the rewirer's `layers`).
   */
  budgetBy?: "network" | "layer";
  /**
   * With the fraction rule: the budget counts swaps that can happen. Slots of a target with no
   * candidate left are skipped for the next-lowest ones (without it, a target whose errors were all 0
   * on the search's samples, or that frees more slots than it has candidates, keeps those edges and
   * the round rewires less than its fraction: 62 % of RigL's planned swaps at d = 29).
   */
  refill?: boolean;
  /** With the fraction rule: never free a hidden neuron's last out-edge (it would stop learning, its errors all 0). */
  keepReaders?: boolean;
  /** Weights of new edges: eq. 4.8 ("optimal"), zero or random. */
  newWeights: NewWeightRule;
  /** Standard deviation of random new weights (default: He's √(2/d), as the initialisation; SET's code uses 0.1). */
  newWeightStd?: number;
  /** Reset Adam's timestep after a round, as the thesis did (§4.6). */
  resetTimestep: boolean;
  /** Only swap when the candidate's estimated gain |⟨σ(a_i), δ_j⟩|·|w| (w the removed edge's weight) exceeds the removed utility. */
  requireGain: boolean;
  /** Batches over which utility and correlation are estimated. */
  batches: number;
  /** Candidate search: exact (all pairs) or approximate (LSH, Prop. 4.7). */
  search: "exact" | "approximate";
}

/** The CLI's `--rewire` values: no rewiring, or one of `PRESETS`. */
export type PresetName = "none" | "thesis" | "set" | "rigl";

/** The three presets: the thesis's §4.6 rule, SET (Mocanu et al. 2018) and RigL (Evci et al. 2020). */
export const PRESETS: Record<Exclude<PresetName, "none">, RewireConfig> = {
  // The thesis's §4.6 rule has no cap of its own (the threshold sets the count); fraction 1 = no cap.
  thesis: {
    every: 2048, fraction: 1, schedule: { kind: "constant" }, grace: 0,
    pruneBy: "first-order", growBy: "correlation", count: { kind: "threshold", threshold: 0.3 },
    newWeights: "optimal", resetTimestep: true, requireGain: false, batches: 1, search: "exact",
  },
  // SET: magnitude pruning, random regrowth, ζ = 0.3 per round, new weights random.
  set: {
    every: 2048, fraction: 0.3, schedule: { kind: "constant" }, grace: 0,
    pruneBy: "magnitude", growBy: "random", count: { kind: "fraction" },
    newWeights: "random", resetTimestep: false, requireGain: false, batches: 1, search: "exact",
  },
  // RigL: magnitude pruning, gradient growth, zero init, fraction 0.3 cosine-decayed, stops at 75 %.
  rigl: {
    every: 100, fraction: 0.3, schedule: { kind: "cosine" }, grace: 0,
    pruneBy: "magnitude", growBy: "gradient", count: { kind: "fraction" },
    newWeights: "zero", resetTimestep: false, requireGain: false, batches: 1, search: "exact",
  },
};

/** RigL's cosine decay ends at 75 % of training (Evci et al. 2020, T_end = 0.75·T). */
export const COSINE_END = 0.75;

/** Is there a round after this step (1-based), given the total steps (Infinity if unknown)? */
export function isRewireStep(config: RewireConfig, step: number, totalSteps: number): boolean {
  if (config.every <= 0 || step % config.every !== 0 || step >= totalSteps) return false;
  return scheduledFraction(config, step, totalSteps) > 0;
}

/** The fraction of edges a round at `step` may rewire. */
export function scheduledFraction(config: RewireConfig, step: number, totalSteps: number): number {
  const s = config.schedule;
  const progress = Number.isFinite(totalSteps) ? step / totalSteps : 0;
  if (s.kind === "constant") return config.fraction;
  if (s.kind === "stop") return progress < s.at ? config.fraction : 0;
  if (progress >= COSINE_END) return 0;
  return (config.fraction / 2) * (1 + Math.cos((Math.PI * progress) / COSINE_END));
}

/** Refuses a configuration that cannot run (UsageError naming the setting, e.g. `rewire.every`). */
export function checkRewireConfig(c: RewireConfig): void {
  if (!Number.isInteger(c.every) || c.every < 1) throw settingError("rewire.every", `must be a positive integer, got ${c.every}`);
  if (!(c.fraction > 0 && c.fraction <= 1)) throw settingError("rewire.fraction", `must be in (0, 1], got ${c.fraction}`);
  if (c.schedule.kind === "stop" && !(c.schedule.at > 0 && c.schedule.at <= 1)) throw settingError("rewire.schedule", `stop:F needs F in (0, 1], got ${c.schedule.at}`);
  if (c.newWeightStd !== undefined && !(c.newWeightStd >= 0 && Number.isFinite(c.newWeightStd))) throw settingError("rewire.newWeightStd", `must be a number ≥ 0, got ${c.newWeightStd}`);
  if (!Number.isInteger(c.grace) || c.grace < 0) throw settingError("rewire.grace", `must be a non-negative integer, got ${c.grace}`);
  if (c.count.kind === "threshold" && !(c.count.threshold >= 0 && c.count.threshold <= 1)) throw settingError("rewire.count.threshold", `must be in [0, 1], got ${c.count.threshold}`);
  if ((c.refill || c.keepReaders) && c.count.kind !== "fraction") throw settingError(c.refill ? "rewire.refill" : "rewire.keepReaders", `applies to the fraction rule (count: fraction), not ${c.count.kind}`);
  if (c.refill && c.growBy === "random") throw settingError("rewire.refill", "needs a growth criterion with candidates (gradient, correlation or l3); random growth has none to run out of");
  if (!Number.isInteger(c.batches) || c.batches < 1) throw settingError("rewire.batches", `must be a positive integer, got ${c.batches}`);
}

/** Parse `constant`, `cosine` or `stop:F`. */
export function parseSchedule(text: string): FractionSchedule {
  if (text === "constant" || text === "cosine") return { kind: text };
  const m = /^stop:([0-9.]+)$/.exec(text);
  if (m) return { kind: "stop", at: Number(m[1]) };
  throw settingError("rewire.schedule", `must be constant, cosine or stop:F (e.g. stop:0.75), got "${text}"`);
}
