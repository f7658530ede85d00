/**
 * The gradual-pruning flags of `train` (compress/gradual.ts): --prune-to D2 turns it on. The
 * criterion is --prune-by, a flag `train` shares with rewiring (where it picks the edges a rewiring
 * round deletes); the two never run together, so it is unambiguous.
 */
import { checkGradualConfig, GRADUAL_DEFAULTS, type GradualPruneBy, type GradualPruneConfig } from "../compress/gradual.js";
import { UsageError } from "../util/errors.js";
import type { FlagSpec, Flags } from "./args.js";

export const GRADUAL_FLAGS: FlagSpec[] = [
  { name: "prune-to", type: "int", min: 1, value: "D2", help: "gradual pruning: the in-degree falls from --in-degree to D2 on the cubic schedule of Zhu & Gupta 2017 (criterion: --prune-by, default magnitude: first-order utility prunes large weights and fails, see RESULTS.md)" },
  { name: "prune-start", type: "number", min: 0, max: 1, value: "F", help: `fraction of the steps at which gradual pruning starts (default ${GRADUAL_DEFAULTS.start})` },
  { name: "prune-end", type: "number", min: 0, max: 1, value: "F", help: `fraction of the steps at which the in-degree reaches D2 (default ${GRADUAL_DEFAULTS.end})` },
  { name: "prune-every", type: "int", min: 1, value: "N", help: `steps between checks of the pruning schedule (default ${GRADUAL_DEFAULTS.every})` },
  { name: "prune-batches", type: "int", min: 1, max: 64, value: "N", help: `fresh training batches the utility is estimated over at each pruning step (default ${GRADUAL_DEFAULTS.batches})` },
];

/**
 * undefined when --prune-to is absent (then the other --prune-* flags of this list are refused).
 * `inDegree` is the network's in-degree, `steps` the step budget (Infinity with only --minutes).
 */
export function gradualConfigFromFlags(flags: Flags, inDegree: number, steps: number): GradualPruneConfig | undefined {
  if (!flags.given("prune-to")) {
    const stray = GRADUAL_FLAGS.map((f) => f.name).filter((n) => flags.given(n));
    if (stray.length > 0) throw new UsageError(`--${stray[0]} has no effect without --prune-to D2`);
    return undefined;
  }
  if (flags.string("rewire") !== undefined && flags.string("rewire") !== "none") {
    throw new UsageError("--prune-to (gradual pruning) cannot be combined with --rewire: each pruning step rebuilds the network and its engine", "use one of them");
  }
  const by = (flags.string("prune-by") ?? "magnitude") as GradualPruneBy;
  const config: GradualPruneConfig = {
    to: flags.number("prune-to"),
    by,
    start: flags.optionalNumber("prune-start") ?? GRADUAL_DEFAULTS.start,
    end: flags.optionalNumber("prune-end") ?? GRADUAL_DEFAULTS.end,
    every: flags.optionalNumber("prune-every") ?? GRADUAL_DEFAULTS.every,
    batches: flags.optionalNumber("prune-batches") ?? GRADUAL_DEFAULTS.batches,
  };
  checkGradualConfig(inDegree, config, steps);
  return config;
}

/**
 * The flags the rewiring flags' reader should see: without --prune-by when it belongs to gradual
 * pruning (--prune-to given). Refuses --prune-by given with neither.
 */
export function rewireFlags(flags: Flags): Flags {
  const rewire = flags.string("rewire");
  if (flags.given("prune-by") && !flags.given("prune-to") && (rewire === undefined || rewire === "none")) {
    throw new UsageError("--prune-by has no effect without --prune-to D2 (gradual pruning) or --rewire thesis|set|rigl");
  }
  return flags.given("prune-to") ? flags.without(["prune-by"]) : flags;
}
