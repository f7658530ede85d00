/** The rewiring flags of `train`: a preset, then any part of it overridden flag by flag. */
import type { RewirerOptions } from "../rewire/rewire.js";
import { PRESETS, checkRewireConfig, parseSchedule, type CountRule, type PresetName, type RewireConfig } from "../rewire/schedule.js";
import { UsageError } from "../util/errors.js";
import type { FlagSpec, Flags } from "./args.js";

export const REWIRE_FLAGS: FlagSpec[] = [
  { name: "rewire", type: "string", default: "none", choices: ["none", "thesis", "set", "rigl"], help: "rewire the graph while training: a preset (thesis §4.6, SET, RigL) or none" },
  { name: "rewire-every", type: "int", min: 1, value: "N", help: "steps between rounds (thesis 2048, SET 2048, RigL 100)" },
  { name: "rewire-fraction", type: "number", min: 0, max: 1, value: "X", help: "share of edges a round may rewire (before the schedule)" },
  { name: "rewire-schedule", type: "string", value: "constant|cosine|stop:F", help: "how the fraction changes over training" },
  { name: "rewire-grace", type: "int", min: 0, value: "G", help: "steps during which a new edge cannot be pruned" },
  { name: "rewire-count", type: "string", choices: ["threshold", "fraction", "per-pair"], help: "how many: thesis threshold rule, lowest-utility fraction, or best pairs (§4.3 b)" },
  { name: "rewire-threshold", type: "number", min: 0, max: 1, value: "T", help: "|corr| threshold of the thesis rule" },
  { name: "prune-by", type: "string", choices: ["first-order", "magnitude", "obd", "taylor", "wanda", "accumulated", "accumulated-taylor"], help: "which edges to delete: −w·∂L/∂w (thesis), |w| (SET, RigL), OBD, taylor = −w·∂L/∂w + ½w²·Fisher, wanda = |w|·rms(σ(a_source)), accumulated = mean −w·∂L/∂w over every step since the last round, accumulated-taylor = that + ½·ln2·B·mean((w·g)²)" },
  { name: "grow-by", type: "string", choices: ["correlation", "gradient", "random", "l3"], help: "which edges to insert: |corr| (thesis), |⟨σ(a_i), δ_j⟩| (RigL) or random (SET); l3 = length-3 paths damped by degree, no gradients (Cannistraci-Hebb)" },
  { name: "new-weights", type: "string", choices: ["optimal", "zero", "random"], help: "weights of new edges: least activation change (eq. 4.8), zero (RigL) or random (SET)" },
  { name: "rewire-reset-timestep", type: "boolean", help: "reset Adam's timestep after a round (thesis); =false to keep it" },
  { name: "rewire-gain", type: "boolean", help: "only swap when the candidate's estimated gain exceeds the removed edge's utility" },
  { name: "rewire-refill", type: "boolean", help: "with the fraction rule: skip slots whose neuron has no candidate left and free the next-lowest instead, so a round swaps its whole fraction" },
  { name: "rewire-keep-readers", type: "boolean", help: "with the fraction rule: never free a hidden neuron's last out-edge (without a reader it stops learning)" },
  { name: "rewire-batches", type: "int", min: 1, max: 64, value: "N", help: "batches over which utility and correlation are estimated" },
  { name: "rewire-samples", type: "int", min: 8, value: "S", help: "samples used by the candidate search (default 256; cost grows with k²·S)" },
  { name: "rewire-search", type: "string", choices: ["exact", "approximate"], help: "exact candidate search (k²·batch) or locality-sensitive hashing" },
  { name: "rewire-recall-every", type: "int", min: 0, value: "N", help: "with --rewire-search approximate: every N rounds also run the exact search and log the recall (0: never)" },
];

/** The Rewirer's options from the flags (search samples, recall sampling); only what was given. */
export function rewirerOptionsFromFlags(flags: Flags): RewirerOptions {
  const options: RewirerOptions = {};
  const samples = flags.optionalNumber("rewire-samples");
  if (samples !== undefined) options.searchSamples = samples;
  const recallEvery = flags.optionalNumber("rewire-recall-every");
  if (recallEvery !== undefined) options.recallEvery = recallEvery;
  return options;
}

/** undefined when rewiring is off. */
export function rewireConfigFromFlags(flags: Flags): RewireConfig | undefined {
  const preset = flags.requireString("rewire") as PresetName;
  const given = (name: string) => flags.given(name);
  if (preset === "none") {
    const stray = REWIRE_FLAGS.map((f) => f.name).filter((n) => n !== "rewire" && given(n));
    if (stray.length > 0) throw new UsageError(`--${stray[0]} has no effect without --rewire thesis|set|rigl`);
    return undefined;
  }
  const c: RewireConfig = structuredClone(PRESETS[preset]);
  const n = (name: string) => flags.optionalNumber(name);
  if (n("rewire-every") !== undefined) c.every = n("rewire-every")!;
  if (n("rewire-fraction") !== undefined) c.fraction = n("rewire-fraction")!;
  const schedule = flags.string("rewire-schedule");
  if (schedule !== undefined) c.schedule = parseSchedule(schedule);
  if (n("rewire-grace") !== undefined) c.grace = n("rewire-grace")!;
  const count = flags.string("rewire-count");
  const threshold = n("rewire-threshold");
  if (count !== undefined) {
    c.count = count === "threshold" ? { kind: "threshold", threshold: threshold ?? 0.3 } : ({ kind: count } as CountRule);
  } else if (threshold !== undefined) {
    if (c.count.kind !== "threshold") throw new UsageError(`--rewire-threshold needs --rewire-count threshold (preset ${preset} counts by ${c.count.kind})`);
    c.count = { kind: "threshold", threshold };
  }
  const prune = flags.string("prune-by");
  if (prune !== undefined) c.pruneBy = prune as RewireConfig["pruneBy"];
  const grow = flags.string("grow-by");
  if (grow !== undefined) c.growBy = grow as RewireConfig["growBy"];
  const weights = flags.string("new-weights");
  if (weights !== undefined) c.newWeights = weights as RewireConfig["newWeights"];
  if (given("rewire-reset-timestep")) c.resetTimestep = flags.boolean("rewire-reset-timestep");
  if (given("rewire-gain")) c.requireGain = flags.boolean("rewire-gain");
  if (given("rewire-refill")) c.refill = flags.boolean("rewire-refill");
  if (given("rewire-keep-readers")) c.keepReaders = flags.boolean("rewire-keep-readers");
  if (n("rewire-batches") !== undefined) c.batches = n("rewire-batches")!;
  const search = flags.string("rewire-search");
  if (search !== undefined) c.search = search as RewireConfig["search"];
  if (given("rewire-recall-every") && (n("rewire-recall-every") ?? 0) > 0 && (c.search !== "approximate" || c.growBy === "random")) {
    throw new UsageError(`--rewire-recall-every measures the approximate search's recall: it needs --rewire-search approximate${c.growBy === "random" ? " and a growth criterion that searches (--grow-by correlation|gradient)" : ""}`);
  }
  if ((c.growBy === "random" || c.growBy === "l3") && c.count.kind !== "fraction") throw new UsageError(`--grow-by ${c.growBy} needs --rewire-count fraction (there is no correlation to threshold or rank)`);
  checkRewireConfig(c);
  return c;
}
