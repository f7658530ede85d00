/**
 * One character-prediction training run for the experiments (§4.6): build the thesis network, train
 * it with or without rewiring, and measure training, validation, test and out-of-domain bits per
 * character. The corpus is split contiguously (train / validation / test = 90 / 5 / 5 %), so the test
 * split is the last 5 %, never seen in training or tuning.
 */
import { basename } from "node:path";
import type { EngineName } from "../engine/types.js";
import type { Network } from "../graph/network.js";
import { readTextCorpus } from "../data/files.js";
import { splitCorpus } from "../data/windows.js";
import type { RewirerOptions } from "../rewire/rewire.js";
import type { RewireConfig } from "../rewire/schedule.js";
import { CONSTANT_SCHEDULE, describeLrSchedule, type LrSchedule, type LrScheduleKind } from "../train/lr-schedule.js";
import { DataError } from "../util/errors.js";
import type { GradualPruneConfig, GradualPruneEvent } from "../compress/gradual.js";
import { adam, runTraining, type RoundSummary, type TextRunData, type RunHooks } from "../run/index.js";
import { needsUtilityStatistics } from "../rewire/schedule.js";
import type { RunCheckpointing } from "./protocol.js";

export type { RoundSummary };

export interface TextCorpora {
  /** How the corpus is described in results: file name and length. */
  name: string;
  path: string;
  symbols: number;
  train: Uint8Array;
  valid: Uint8Array;
  test: Uint8Array;
  /** Out-of-domain texts (whole files, cleaned the same way). */
  ood: { name: string; symbols: Uint8Array }[];
}

export const SPLIT = [0.9, 0.05, 0.05] as const;

export async function loadCorpora(path: string, oodPaths: readonly string[] = [], context = 20): Promise<TextCorpora> {
  const corpus = await readTextCorpus(path);
  const [train, valid, test] = splitCorpus(corpus.symbols, SPLIT, context);
  const ood: TextCorpora["ood"] = [];
  for (const p of oodPaths) {
    const t = await readTextCorpus(p);
    if (t.symbols.length <= context) throw new DataError(`${p} has ${t.symbols.length} symbols, too few for context ${context}`);
    ood.push({ name: basename(p).replace(/\.(txt)?(\.gz)?$/, "").replace(/\.txt$/, ""), symbols: t.symbols });
  }
  return { name: basename(path), path, symbols: corpus.symbols.length, train: train!.symbols, valid: valid!.symbols, test: test!.symbols, ood };
}

/**
 * How a text run's learning rate moves and whether its gradients are clipped (issue 12). Absent
 * fields are the defaults (constant rate, no warmup, no clipping) and are never written into
 * recorded settings or protocols, so results recorded before these options existed still match.
 */
export interface TextRunRecipe {
  lrSchedule?: LrScheduleKind;
  /** Warmup steps. */
  warmup?: number;
  /** Final rate of the schedule (default: 0 for cosine and linear, lr/100 for step). */
  lrFinal?: number;
  /** Global-norm gradient clipping (0: off). */
  clipNorm?: number;
}

/** The fields of `r` that differ from the defaults, for recording. */
export function recipeFields(r: TextRunRecipe): TextRunRecipe {
  const scheduled = r.lrSchedule !== undefined && r.lrSchedule !== "constant";
  return {
    ...(scheduled ? { lrSchedule: r.lrSchedule! } : {}),
    ...(r.warmup ? { warmup: r.warmup } : {}),
    ...(r.lrFinal !== undefined ? { lrFinal: r.lrFinal } : {}),
    ...(r.clipNorm ? { clipNorm: r.clipNorm } : {}),
  };
}

/** The learning-rate schedule of a recipe; undefined when the rate stays constant. */
export function lrScheduleOf(r: TextRunRecipe): LrSchedule | undefined {
  const kind = r.lrSchedule ?? "constant";
  if (kind === "constant" && !r.warmup && r.lrFinal === undefined) return undefined;
  return { kind, warmup: r.warmup ?? 0, ...(r.lrFinal !== undefined ? { final: r.lrFinal } : {}) };
}

/** "Adam lr 0.01", plus the schedule and clipping when set (summaries of default runs read as before). */
export function recipeText(lr: number, r: TextRunRecipe): string {
  const schedule = lrScheduleOf(r);
  return `Adam lr ${lr}${schedule ? ` (${describeLrSchedule(schedule, lr)})` : ""}${r.clipNorm ? `, gradients clipped to global norm ${r.clipNorm}` : ""}`;
}

export interface TextRunSettings extends TextRunRecipe {
  neurons: number;
  inDegree: number;
  context: number;
  batch: number;
  steps: number;
  lr: number;
  seed: number;
  rewire?: RewireConfig;
  rewirerOptions?: RewirerOptions;
  engine?: EngineName;
  threads?: number;
  /** Gradual pruning from inDegree to prune.to during training (compress/gradual.ts); not with `rewire`. */
  prune?: GradualPruneConfig;
  /** Adam's bias correction per parameter (new edges restart it); absent: global, as before issue 12. */
  biasCorrection?: "per-parameter";
  /** Every hidden neuron starts with a path to an output (Network.random's `reachOutputs`); absent: §4.6's draw. */
  reachOutputs?: boolean;
}

export interface TextRunOptions {
  /** Which held-out sets to measure at the end (validation always). */
  test?: boolean;
  ood?: boolean;
  /** Out-of-domain texts are long (the Bible: 4 M characters); read at most this many windows of each. */
  oodWindows?: number;
  onStep?: (step: number, total: number, smoothedLoss: number) => void;
  /** Checkpoint the run, and continue from a checkpoint (protocol.ts). Not for accumulated-utility criteria. */
  checkpoint?: RunCheckpointing;
}

export interface TextRunResult {
  steps: number;
  edges: number;
  depth: number;
  trainBits: number;
  validBits: number;
  testBits?: number;
  ood?: Record<string, number>;
  seconds: number;
  trainSeconds: number;
  rewireSeconds: number;
  rewireTimeShare: number;
  rewireRounds: number;
  edgesRewired: number;
  /** Every rewiring round: edges rewired, their share of all edges, seconds. */
  rounds: RoundSummary[];
  edgeSamplesPerSecond: number;
  /** With gradual pruning: the in-degree at the end and every rebuild. */
  inDegree?: number;
  prunings?: GradualPruneEvent[];
}

export interface TextRun {
  result: TextRunResult;
  losses: Float32Array;
  network: Network;
}

/** Train one network through the run module (src/run/); the network is initialised from `seed` exactly as `sparsewire train` does. */
export async function runText(s: TextRunSettings, corpora: TextCorpora, o: TextRunOptions = {}): Promise<TextRun> {
  const started = performance.now();
  const lrSchedule = lrScheduleOf(s);
  const heldOut: NonNullable<TextRunData["heldOut"]> = {};
  if (o.test) heldOut["test"] = { symbols: corpora.test };
  if (o.ood) for (const t of corpora.ood) heldOut[`ood:${t.name}`] = { symbols: t.symbols, maxWindows: o.oodWindows ?? 500_000 };
  // Runs whose criterion keeps utility sums in the engine cannot be checkpointed yet: they start again.
  const ck = o.checkpoint && !(s.rewire && needsUtilityStatistics(s.rewire)) ? o.checkpoint : undefined;
  const hooks: RunHooks = {
    ...(o.onStep ? { onEvent: (e) => { if (e.type === "step") o.onStep!(e.step, e.totalSteps, e.smoothedLoss); } } : {}),
    ...(ck && ck.every > 0 ? { checkpointEvery: ck.every, onCheckpoint: (c) => ck.save(c) } : {}),
  };
  const run = await runTraining(
    {
      network: { kind: "random", neurons: s.neurons, inDegree: s.inDegree, context: s.context, ...(s.reachOutputs ? { reachOutputs: true } : {}) },
      batch: s.batch,
      steps: s.steps,
      optimizer: adam(s.lr, { clipNorm: s.clipNorm, biasCorrection: s.biasCorrection }),
      lrSchedule: lrSchedule ?? CONSTANT_SCHEDULE,
      seed: s.seed,
      ...(s.engine ? { engine: s.engine } : {}),
      ...(s.threads !== undefined ? { threads: s.threads } : {}),
      ...(s.rewire ? { rewire: s.rewire } : {}),
      ...(s.rewirerOptions ? { rewirerOptions: s.rewirerOptions } : {}),
      ...(s.prune ? { prune: s.prune } : {}),
      ...(ck?.resume ? { resume: ck.resume } : {}),
    },
    { train: corpora.train, valid: corpora.valid, heldOut },
    hooks,
  );
  const result: TextRunResult = {
    steps: run.steps,
    edges: run.network.edges,
    depth: run.network.depth,
    trainBits: run.trainBitsPerSymbol,
    validBits: run.valid.bitsPerSymbol,
    seconds: 0,
    trainSeconds: run.seconds,
    rewireSeconds: run.hookSeconds,
    rewireTimeShare: run.hookSeconds / Math.max(run.seconds, 1e-9),
    rewireRounds: run.rounds.length,
    edgesRewired: run.edgesRewired,
    rounds: run.rounds,
    edgeSamplesPerSecond: (run.initialEdges * s.batch * run.steps) / Math.max(run.seconds, 1e-9),
    ...(s.prune ? { inDegree: run.network.inDegree, prunings: run.prunings } : {}),
  };
  if (o.test) result.testBits = run.heldOut["test"]!.bitsPerSymbol;
  if (o.ood && corpora.ood.length > 0) result.ood = Object.fromEntries(corpora.ood.map((t) => [t.name, run.heldOut[`ood:${t.name}`]!.bitsPerSymbol]));
  result.seconds = (performance.now() - started) / 1000;
  return { result, losses: run.losses, network: run.network };
}
