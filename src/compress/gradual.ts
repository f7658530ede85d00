/**
 * Gradual pruning during training (Zhu & Gupta 2017, "To prune, or not to prune"), adapted to a
 * fixed-in-degree network: the in-degree goes from D (the network's) to D2 on the cubic schedule
 *
 *     d(t) = round(D2 + (D − D2)·(1 − p)³),   p = clamp((t − t₀) / (t₁ − t₀), 0, 1),
 *
 * with t₀ = round(start·T), t₁ = round(end·T) and T the training steps; d is checked every `every`
 * steps (and at t₁, so it always ends at D2). Since every neuron must keep exactly d in-edges, each
 * decrement of d REBUILDS the network at the smaller in-degree (pruneToInDegree: every neuron keeps
 * its d most useful edges, utilities estimated over a few fresh training batches) and a new engine
 * for it. The cubic prunes fast while the network is still redundant and slowly near the end.
 *
 * Optimiser state. The rebuilt engine continues with the old one's Adam state: every kept edge
 * its m and v, every neuron its bias moments, and the timestep (Engine.optimizerState). Before
 * issue 12 the rebuilt engine started at m = v = 0 and timestep 0, which cost +0.008 bits/char over
 * 16 rebuilds (experiment compress, "rebuild control": `rebuildOnly`, the same rebuilds without
 * pruning); `resetOptimizer` restores that behaviour for such controls. Browser-safe: engines come
 * from the caller's factory.
 */
import type { Batch, Engine, OptimizerSnapshot } from "../engine/types.js";
import type { Network } from "../graph/network.js";
import { estimateUtility, type UtilityMethod } from "../estimate/utility.js";
import { settingError, UsageError } from "../util/errors.js";
import { pruneToInDegree, type PruneResult } from "./prune.js";

/** Criteria gradual pruning can use ("true" costs one forward per edge: far too slow inside training). */
export type GradualPruneBy = Exclude<UtilityMethod, "true">;
/** Every criterion gradual pruning accepts. */
export const GRADUAL_PRUNE_BY: readonly GradualPruneBy[] = ["first-order", "magnitude", "obd"];

/** Gradual pruning from the network's in-degree D to `to` on the cubic schedule d(t) = round(D2 + (D − D2)(1 − p)³) (Zhu & Gupta 2017). */
export interface GradualPruneConfig {
  /** Final in-degree D2 (below the network's). */
  to: number;
  /** The utility each pruning step ranks edges by. */
  by: GradualPruneBy;
  /** Fraction of the training steps at which pruning starts (d = D until then). */
  start: number;
  /** Fraction of the training steps at which d reaches D2. */
  end: number;
  /** Check the schedule every this many steps. */
  every: number;
  /** Fresh training batches the utility is estimated over at each pruning step. */
  batches: number;
  /**
   * Control for measuring the optimiser-state reset: rebuild the engine at the steps where the
   * schedule would prune, at the SAME in-degree (nothing pruned). Not for normal use.
   */
  rebuildOnly?: boolean;
  /** Start each rebuilt engine with fresh optimiser state (m = v = 0, timestep 0) instead of carrying it. */
  resetOptimizer?: boolean;
}

/** Default schedule settings: what the CLI uses when `--prune-start`, `--prune-end`, `--prune-every`, `--prune-batches` are absent. */
export const GRADUAL_DEFAULTS = { start: 0.1, end: 0.6, every: 100, batches: 4 } as const;

/** Refuses a schedule that cannot work, with one clear line. `from` is the network's in-degree. */
export function checkGradualConfig(from: number, c: GradualPruneConfig, totalSteps?: number): void {
  if (!Number.isInteger(c.to) || c.to < 1) throw settingError("prune.to", `must be a positive integer, got ${c.to}`);
  if (c.to >= from) throw settingError("prune.to", `${c.to} must be below the network's in-degree ${from}`, `a final in-degree below ${from}, or a network of larger in-degree`);
  if (!GRADUAL_PRUNE_BY.includes(c.by)) throw settingError("prune.by", `must be one of ${GRADUAL_PRUNE_BY.join(", ")} for gradual pruning, got "${String(c.by)}"`);
  if (!(c.start >= 0 && c.start <= 1) || !(c.end >= 0 && c.end <= 1)) throw settingError("prune.start", `and \`prune.end\` are fractions of the training steps in [0, 1], got ${c.start} and ${c.end}`, undefined, ["prune.end"]);
  if (c.start > c.end) throw settingError("prune.start", `${c.start} is after \`prune.end\` ${c.end}`, undefined, ["prune.end"]);
  if (!Number.isInteger(c.every) || c.every < 1) throw settingError("prune.every", `must be a positive integer, got ${c.every}`);
  if (!Number.isInteger(c.batches) || c.batches < 1) throw settingError("prune.batches", `must be a positive integer (gradual pruning needs at least one utility batch), got ${c.batches}`);
  if (totalSteps !== undefined && !(Number.isFinite(totalSteps) && totalSteps >= 1)) {
    throw new UsageError("gradual pruning needs a step budget (`steps`): its schedule is a fraction of the training steps", "give a step budget (a time budget may be added)", ["steps"]);
  }
}

/** The steps t₀ and t₁ at which the schedule starts and ends (t₁ ≥ 1, so the last prune happens). */
export function gradualWindow(c: Pick<GradualPruneConfig, "start" | "end">, totalSteps: number): { first: number; last: number } {
  const last = Math.max(1, Math.round(c.end * totalSteps));
  const first = Math.min(last, Math.round(c.start * totalSteps));
  return { first, last };
}

/** d(t) of the cubic schedule: `from` until start, `to` from end on, rounded to an integer. */
export function gradualInDegree(from: number, c: Pick<GradualPruneConfig, "to" | "start" | "end">, step: number, totalSteps: number): number {
  const { first, last } = gradualWindow(c, totalSteps);
  if (step <= first && first < last) return from;
  const progress = last > first ? Math.min(1, Math.max(0, (step - first) / (last - first))) : step >= last ? 1 : 0;
  return Math.round(c.to + (from - c.to) * (1 - progress) ** 3);
}

/** Whether step t is one at which the schedule is consulted: every `every` steps in [t₀, t₁], and t₁. */
export function isGradualCheckStep(c: Pick<GradualPruneConfig, "start" | "end" | "every">, step: number, totalSteps: number): boolean {
  const { first, last } = gradualWindow(c, totalSteps);
  return step === last || (step > first && step < last && step % c.every === 0);
}

/** The in-degree after every check step that changes it: the exact rebuilds a run will do. */
export function gradualPlan(from: number, c: GradualPruneConfig, totalSteps: number): { step: number; inDegree: number }[] {
  const plan: { step: number; inDegree: number }[] = [];
  let d = from;
  for (let t = 1; t <= totalSteps; t++) {
    if (!isGradualCheckStep(c, t, totalSteps)) continue;
    const target = gradualInDegree(from, c, t, totalSteps);
    if (target < d) {
      d = target;
      plan.push({ step: t, inDegree: d });
    }
  }
  return plan;
}

/**
 * One pruning step: the engine's current weights (pulled), utilities over `batches` by `by`, every
 * neuron keeps its `inDegree` most useful in-edges. The engine is not changed.
 */
export function pruneStep(engine: Engine, batches: readonly Batch[], by: GradualPruneBy, inDegree: number): PruneResult {
  const utility = estimateUtility(engine, batches, by);
  return pruneToInDegree(engine.network, utility, inDegree);
}

/** One rebuild of gradual pruning at a smaller in-degree. */
export interface GradualPruneEvent {
  /** The training step after which it happened. */
  step: number;
  /** In-degree before and after. */
  from: number;
  to: number;
  /** Mean utility of the removed edges (by the criterion), NaN for rebuild-only. */
  meanUtilityRemoved: number;
  /** Time the rebuild took (utility, pruning, new engine), seconds. */
  seconds: number;
}

/** Makes an engine for a (rebuilt) network, with the run's optimiser, engine kind and threads. */
export type EngineFactory = (network: Network) => Promise<Engine>;

/** A GradualPruner's state between steps (see `exportState`). */
export interface GradualPrunerState {
  from: number;
  rebuilt: number;
  events: GradualPruneEvent[];
}

/**
 * Runs the schedule inside trainText: pass `pruner.afterStep` as the `afterStep` option. When d
 * drops it returns the new engine (trainText trains on it from the next step on) after disposing
 * the old one, so `pruner.engine` is always the live engine: dispose that one at the end.
 */
export class GradualPruner {
  engine: Engine;
  readonly from: number;
  readonly events: GradualPruneEvent[] = [];
  private readonly config: GradualPruneConfig;
  private readonly makeEngine: EngineFactory;
  private readonly totalSteps: number;
  private rebuilt: number;

  /** `resume`: continue a pruning that started at in-degree `from` and has done `events` (checkpoints). */
  constructor(engine: Engine, config: GradualPruneConfig, totalSteps: number, makeEngine: EngineFactory, resume?: GradualPrunerState) {
    this.from = resume?.from ?? engine.network.inDegree;
    checkGradualConfig(this.from, config, totalSteps);
    this.engine = engine;
    this.config = { ...config };
    this.totalSteps = totalSteps;
    this.makeEngine = makeEngine;
    this.rebuilt = resume?.rebuilt ?? this.from;
    if (resume) this.events.push(...resume.events.map((e) => ({ ...e })));
  }

  /** What the rest of the schedule depends on (for checkpoints). */
  exportState(): GradualPrunerState {
    return { from: this.from, rebuilt: this.rebuilt, events: this.events.map((e) => ({ ...e })) };
  }

  /** The in-degree the network has now. */
  get inDegree(): number {
    return this.engine.network.inDegree;
  }

  /**
   * trainText's `afterStep` hook: at a check step where d(t) drops, prune (or, `rebuildOnly`, copy),
   * build and return the new engine (carrying the optimiser state unless `resetOptimizer`) and dispose
   * the old one; otherwise undefined.
   */
  readonly afterStep = async (step: number, _total: number, draw: (count: number) => Batch[]): Promise<Engine | undefined> => {
    const c = this.config;
    if (!isGradualCheckStep(c, step, this.totalSteps)) return undefined;
    const target = gradualInDegree(this.from, c, step, this.totalSteps);
    // rebuildOnly tracks the schedule's in-degree without applying it.
    const current = c.rebuildOnly ? this.rebuilt : this.inDegree;
    if (target >= current) return undefined;
    const started = performance.now();
    const old = this.engine;
    let network: Network;
    let kept: Int32Array | undefined; // old edge of every new edge (undefined: the same edges)
    let meanUtilityRemoved = NaN;
    if (c.rebuildOnly) {
      old.pull();
      network = old.network.clone();
    } else {
      const batches = draw(c.batches);
      const utility = estimateUtility(old, batches, c.by);
      const pruned = pruneToInDegree(old.network, utility, target);
      let sum = 0;
      for (const e of pruned.removed) sum += utility[e]!;
      meanUtilityRemoved = pruned.removed.length > 0 ? sum / pruned.removed.length : NaN;
      network = pruned.network;
      kept = pruned.kept;
    }
    const state = c.resetOptimizer ? undefined : carriedState(old.optimizerState(), kept);
    const next = await this.makeEngine(network);
    if (state) next.setOptimizerState(state);
    await old.dispose();
    this.engine = next;
    this.rebuilt = target;
    this.events.push({ step, from: current, to: target, meanUtilityRemoved, seconds: (performance.now() - started) / 1000 });
    return next;
  };
}

/** The optimiser state of a pruned network: each kept edge's m and v (kept[e] = its old index); biases and timestep unchanged. */
export function carriedState(state: OptimizerSnapshot, kept?: Int32Array): OptimizerSnapshot {
  if (!kept) return state;
  const pick = (a: Float32Array) => Float32Array.from(kept, (e) => a[e]!);
  const p = state.powers;
  return {
    ...state,
    weightFirst: pick(state.weightFirst),
    weightSecond: pick(state.weightSecond),
    ...(p ? { powers: { ...p, weightBeta1: pick(p.weightBeta1), weightBeta2: pick(p.weightBeta2) } } : {}),
  };
}
