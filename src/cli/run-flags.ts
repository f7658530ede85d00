/**
 * The run settings that `train` and `train --data` read from the same flags (budget, optimiser,
 * schedule, seed, engine, validation cadence, rewiring or gradual pruning): one place, so both
 * commands always build them alike. The network and resume are each command's own.
 */
import type { GradualPruneConfig } from "../compress/gradual.js";
import type { EngineName, OptimizerConfig } from "../engine/types.js";
import type { RewireConfig } from "../rewire/schedule.js";
import type { RunSettings } from "../run/index.js";
import type { LrSchedule } from "../train/lr-schedule.js";
import type { Flags } from "./args.js";
import { rewirerOptionsFromFlags } from "./rewire-flags.js";

/** What the commands parse themselves before building the settings. */
export interface CommonRunFlags {
  batch: number;
  steps: number;
  minutes?: number;
  optimizer: OptimizerConfig;
  lrSchedule: LrSchedule;
  seed: number;
}

/** RunSettings but the network (and resume), from the flags both training commands share. */
export function commonRunSettings(flags: Flags, c: CommonRunFlags, rewire: RewireConfig | undefined, gradual: GradualPruneConfig | undefined): Omit<RunSettings, "network"> {
  const threads = flags.optionalNumber("threads");
  const dropout = flags.number("dropout");
  return {
    batch: c.batch,
    steps: c.steps,
    ...(c.minutes !== undefined ? { maxSeconds: c.minutes * 60 } : {}),
    optimizer: c.optimizer,
    lrSchedule: c.lrSchedule,
    seed: c.seed,
    engine: flags.requireString("engine") as EngineName,
    ...(threads !== undefined ? { threads } : {}),
    evalEvery: flags.number("eval-every"),
    evalWindows: flags.number("eval-windows"),
    ...(rewire ? { rewire, rewirerOptions: rewirerOptionsFromFlags(flags) } : {}),
    ...(gradual ? { prune: gradual } : {}),
    ...(dropout > 0 ? { dropout } : {}),
  };
}
