/**
 * What a training run is: the settings `runTraining` takes, their defaults (the project's training
 * recipe), and their checks. Errors name the setting (`batch`, `rewire.every`, …); the CLI turns
 * setting names into its flags. Browser-safe.
 */
import type { EngineName, OptimizerConfig } from "../engine/types.js";
import { adam } from "../engine/optimizer.js";
import type { Network, Task } from "../graph/network.js";
import { checkGradualConfig, type GradualPruneConfig } from "../compress/gradual.js";
import type { RewirerOptions } from "../rewire/rewire.js";
import { checkRewireConfig, type RewireConfig } from "../rewire/schedule.js";
import { checkLrSchedule, type LrSchedule } from "../train/lr-schedule.js";
import { UsageError } from "../util/errors.js";
import type { RunCheckpoint } from "./checkpoint.js";

/** The network a run trains: a random thesis network of this shape (seeded), or a given one. */
export type NetworkSpec =
  /** The thesis's character network: 27·context one-hot inputs, 27 outputs. */
  | { kind: "random"; neurons: number; inDegree: number; context: number; reachOutputs?: boolean }
  /** A random DAG (§4.6's construction) for any data; `reachOutputs`: every hidden neuron gets a path to an output (graph/network.ts). */
  | { kind: "random-dag"; neurons: number; inDegree: number; inputs: number; outputs: number; task?: Task; reachOutputs?: boolean }
  /** A layered sparse MLP (graph/layered.ts): every neuron reads d neurons of the previous layer. */
  | {
      kind: "layered"; layers: number[]; inDegree: number; inputs: number; outputs: number; task?: Task;
      /** Rewiring keeps it layered (new edges only from the layer before the target); default: it may relax the layering. */
      keepLayers?: boolean;
      /** Standard deviation of the initial weights (default He's √(2/d)). */
      initStd?: number;
    }
  | { kind: "given"; network: Network };

/** Everything `runTraining` needs to know; `checkRunSettings` refuses what cannot run, naming the setting. */
export interface RunSettings {
  /** The network to train: a random thesis network of a given shape (seeded), or a given one. */
  network: NetworkSpec;
  /** Windows per step. */
  batch: number;
  /** Step budget (Infinity: only `maxSeconds` stops training). */
  steps: number;
  /** Time budget in seconds. */
  maxSeconds?: number;
  /** Optimiser (default: RUN_DEFAULTS.optimizer). Its learning rate is the schedule's peak. */
  optimizer?: OptimizerConfig;
  /** Learning-rate schedule (default: the recipe's, RUN_DEFAULTS.lrSchedule; `CONSTANT_SCHEDULE` for none). */
  lrSchedule?: LrSchedule;
  /** Seed of the run's one Rng (network initialisation, training batches, rewiring): same seed, same run. */
  seed: number;
  /** Engine (default wasm) and its threads (default: all cores). */
  engine?: EngineName;
  /** Worker threads of the wasm engine. */
  threads?: number;
  /** Validate every this many steps (default 0: only at the end) on the first `evalWindows` windows. */
  evalEvery?: number;
  /** Windows read by each periodic validation (the final one reads the whole validation split). */
  evalWindows?: number;
  /** Rewire while training (chapter 4); not with `prune`. */
  rewire?: RewireConfig;
  /** Search sample size, candidates per target and recall checks of the rewirer. */
  rewirerOptions?: RewirerOptions;
  /** Dropout rate of hidden neurons in training steps (engine/dropout.ts; default 0: off), masks seeded from `seed`. */
  dropout?: number;
  /** Gradual pruning to a smaller in-degree (compress/gradual.ts); not with `rewire`. */
  prune?: GradualPruneConfig;
  /**
   * Continue the run a checkpoint was taken of (run.ts `RunCheckpoint`), with the settings it ran
   * with: the same steps then follow, bit for bit (same engine and thread count).
   */
  resume?: RunCheckpoint;
}

export { adam };

/**
 * The defaults of a run: the thesis network (§4.6) and the training recipe, chosen on validation
 * only by `experiment recipe` (results/recipe/: learning rate × schedule × steps for static d = 29,
 * seed 101): Adam at 0.005 decayed linearly to 0 over 61,440 steps of 512 windows. At 30,720 steps
 * the thesis's constant 0.01 was 0.14 validation bits/char worse than the best decayed rate.
 */
export const RUN_DEFAULTS = {
  neurons: 1700,
  inDegree: 29,
  context: 20,
  batch: 512,
  steps: 61_440,
  optimizer: adam(0.005),
  lrSchedule: { kind: "linear", warmup: 0 } as LrSchedule,
} as const;

/** The optimiser a run uses. */
export function optimizerOf(s: RunSettings): OptimizerConfig {
  return s.optimizer ?? RUN_DEFAULTS.optimizer;
}

/** The learning-rate schedule a run uses. */
export function lrScheduleOfRun(s: RunSettings): LrSchedule {
  return s.lrSchedule ?? RUN_DEFAULTS.lrSchedule;
}

/** Refuses settings that cannot run, with one line naming the setting. */
export function checkRunSettings(s: RunSettings): void {
  if (!(Number.isInteger(s.batch) && s.batch >= 1)) throw new UsageError(`batch must be a positive integer, got ${s.batch}`);
  if (!(s.steps >= 1)) throw new UsageError(`steps must be at least 1 (or Infinity with maxSeconds), got ${s.steps}`);
  if (!Number.isFinite(s.steps) && s.maxSeconds === undefined) throw new UsageError("a run needs a budget: steps, maxSeconds or both");
  if (s.maxSeconds !== undefined && !(s.maxSeconds >= 0)) throw new UsageError(`maxSeconds must be ≥ 0, got ${s.maxSeconds}`);
  if (s.rewire && s.prune) throw new UsageError("gradual pruning rebuilds the network and its engine, so it cannot be combined with rewiring");
  if (s.rewire) checkRewireConfig(s.rewire);
  if (s.dropout !== undefined && !(s.dropout >= 0 && s.dropout < 1)) throw new UsageError(`dropout must be in [0, 1), got ${s.dropout}`, undefined, ["dropout"]);
  // A resumed pruning run started at the checkpoint's `from`; its network now has a smaller in-degree.
  if (s.prune) checkGradualConfig(s.resume?.pruner?.from ?? (s.network.kind === "given" ? s.network.network.inDegree : s.network.inDegree), s.prune, s.steps);
  checkLrSchedule(lrScheduleOfRun(s), optimizerOf(s).learningRate, Number.isFinite(s.steps) ? { steps: s.steps } : { seconds: s.maxSeconds ?? 0 });
}
