/**
 * One character-prediction training run for the experiments (§4.6): build the thesis network, train
 * it with or without rewiring, and measure training, validation, test and out-of-domain bits per
 * character. The corpus is split contiguously (train / validation / test = 90 / 5 / 5 %), so the test
 * split is the last 5 %, never seen in training or tuning.
 */
import { basename } from "node:path";
import { availableParallelism } from "node:os";
import { createEngine } from "../engine/create.js";
import type { Batch, EngineName } from "../engine/types.js";
import { Network } from "../graph/network.js";
import { readTextCorpus } from "../data/files.js";
import { splitCorpus } from "../data/windows.js";
import { Rewirer, type RewirerOptions } from "../rewire/rewire.js";
import { isRewireStep, type RewireConfig } from "../rewire/schedule.js";
import { evaluateText, textShape, textTask } from "../train/text.js";
import { trainText } from "../train/trainer.js";
import { describeLrSchedule, type LrSchedule, type LrScheduleKind } from "../train/lr-schedule.js";
import { DataError, UsageError } from "../util/errors.js";
import { GradualPruner, type GradualPruneConfig, type GradualPruneEvent } from "../compress/gradual.js";
import { Rng } from "../util/rng.js";

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
}

export interface TextRunOptions {
  /** Which held-out sets to measure at the end (validation always). */
  test?: boolean;
  ood?: boolean;
  /** Out-of-domain texts are long (the Bible: 4 M characters); read at most this many windows of each. */
  oodWindows?: number;
  onStep?: (step: number, total: number, smoothedLoss: number) => void;
}

export interface RoundSummary {
  step: number;
  rewired: number;
  fraction: number;
  seconds: number;
  recall?: number;
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
  /** Share of all edges rewired per round, and its mean. */
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

/** Train one network; the network is initialised from `seed` exactly as `sparsewire train` does. */
export async function runText(s: TextRunSettings, corpora: TextCorpora, o: TextRunOptions = {}): Promise<TextRun> {
  const rng = new Rng(s.seed);
  const { inputs, outputs } = textShape(s.context);
  const initRng = rng.fork();
  const network = Network.random({ neurons: s.neurons, inputs, outputs, inDegree: s.inDegree, task: textTask(s.context) }, initRng);
  const samplingRng = rng.fork();
  const rewireRng = rng.fork();
  if (s.prune && s.rewire) throw new UsageError("gradual pruning rebuilds the network and its engine, so it cannot be combined with rewiring");
  const lrSchedule = lrScheduleOf(s);
  const makeEngine = (net: Network) =>
    createEngine(s.engine ?? "wasm", net, {
      optimizer: { kind: "adam", learningRate: s.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, ...(s.clipNorm ? { clipNorm: s.clipNorm } : {}) },
      threads: s.threads ?? ((s.engine ?? "wasm") === "wasm" ? availableParallelism() : 1),
    });
  let engine = await makeEngine(network);
  const started = performance.now();
  try {
    const pruner = s.prune ? new GradualPruner(engine, s.prune, s.steps, makeEngine) : undefined;
    const rewirer = s.rewire ? new Rewirer(network, engine, s.rewire, rewireRng, s.rewirerOptions ?? {}) : undefined;
    const rounds: RoundSummary[] = [];
    const config = s.rewire;
    const afterStep = pruner
      ? pruner.afterStep
      : rewirer && config
        ? (step: number, total: number, draw: (count: number) => Batch[]) => {
            if (!isRewireStep(config, step, total)) return;
            const r = rewirer.round(step, total, draw(config.batches));
            rounds.push({ step, rewired: r.rewired, fraction: r.rewired / network.edges, seconds: r.seconds, ...(r.recall !== undefined ? { recall: r.recall } : {}) });
          }
        : undefined;
    const trained = await trainText(engine, corpora.train, corpora.valid, {
      context: s.context,
      batch: s.batch,
      steps: s.steps,
      evalEvery: 0,
      evalWindows: 0,
      rng: samplingRng,
      ...(lrSchedule ? { lrSchedule } : {}),
      ...(afterStep ? { afterStep } : {}),
      ...(o.onStep ? { onStep: (i) => o.onStep!(i.step, i.totalSteps, i.smoothedLoss) } : {}),
    }).finally(() => {
      if (pruner) engine = pruner.engine;
    });
    const final = engine.network;
    const result: TextRunResult = {
      steps: trained.steps,
      edges: final.edges,
      depth: 0,
      trainBits: trained.trainBitsPerSymbol,
      validBits: trained.valid.bitsPerSymbol,
      seconds: 0,
      trainSeconds: trained.seconds,
      rewireSeconds: trained.hookSeconds,
      rewireTimeShare: trained.hookSeconds / Math.max(trained.seconds, 1e-9),
      rewireRounds: rounds.length,
      edgesRewired: rounds.reduce((a, r) => a + r.rewired, 0),
      rounds,
      edgeSamplesPerSecond: (network.edges * s.batch * trained.steps) / Math.max(trained.seconds, 1e-9),
      ...(pruner ? { inDegree: final.inDegree, prunings: pruner.events } : {}),
    };
    if (o.test) result.testBits = evaluateText(engine, corpora.test, s.context, s.batch).bitsPerSymbol;
    if (o.ood && corpora.ood.length > 0) {
      result.ood = {};
      for (const t of corpora.ood) result.ood[t.name] = evaluateText(engine, t.symbols, s.context, s.batch, o.oodWindows ?? 500_000).bitsPerSymbol;
    }
    engine.pull();
    final.computeOrder();
    result.depth = final.depth;
    result.seconds = (performance.now() - started) / 1000;
    return { result, losses: trained.losses, network: final };
  } finally {
    await engine.dispose();
  }
}
