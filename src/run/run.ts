/**
 * One training run, the one way sparsewire trains a network: the `train` command, every experiment
 * and the browser page call `runTraining(settings, data, hooks)`. Settings in, a typed stream of
 * events out (`hooks.onEvent`: steps, validations, rewiring rounds, pruning steps, checkpoints) and
 * a result at the end. The run owns what every caller used to repeat: the seed forks, the engine and
 * its optimiser, the choice of rewirer (chapter 4) or gradual pruner (compress/gradual.ts), and the
 * held-out evaluation at the end.
 *
 * Seeds. A run's randomness comes from one Rng(seed), forked in a fixed order: the initial network
 * (only when the run builds it), then the training batches (train/trainer.ts forks those again), then
 * the rewirer. The same settings give the same run, bit for bit, with any caller. Browser-safe.
 */
import { createEngine } from "../engine/create.js";
import type { Batch, ClassLoss, Engine } from "../engine/types.js";
import { Network } from "../graph/network.js";
import { GradualPruner, type GradualPruneEvent } from "../compress/gradual.js";
import { Rewirer, type RoundReport } from "../rewire/rewire.js";
import { isRewireStep, needsUtilityStatistics } from "../rewire/schedule.js";
import { checkTextNetwork, contextOf, evaluateText, TextData, textShape, textTask, type TextEvaluation } from "../train/text.js";
import { trainOn, type StepInfo, type TrainerState } from "../train/trainer.js";
import { evaluateSamples, SampleData } from "../train/samples.js";
import type { SampleSet } from "../data/samples.js";
import { layeredNetwork, layerOf } from "../graph/layered.js";
export type { RoundSummary, RunCheckpoint } from "./checkpoint.js";
import type { RoundSummary, RunCheckpoint } from "./checkpoint.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { checkRunSettings, lrScheduleOfRun, optimizerOf, type NetworkSpec, type RunSettings } from "./settings.js";

/** The data a run trains on: text (contiguous splits of symbols) or labelled samples (images, table rows). */
export type RunData = TextRunData | SampleRunData;

/** The text a run trains on: contiguous training and validation splits, and texts to evaluate at the end. */
export interface TextRunData {
  kind?: "text";
  train: Uint8Array;
  valid: Uint8Array;
  /** Held-out texts evaluated once training ends (the test split, out-of-domain texts), by name. */
  heldOut?: Record<string, { symbols: Uint8Array; maxWindows?: number }>;
}

/** Labelled samples a run trains on (issue 15): training and validation sets, and sets evaluated at the end. */
export interface SampleRunData {
  kind: "samples";
  train: SampleSet;
  valid: SampleSet;
  /** Held-out sets evaluated once training ends (the test set), by name. */
  heldOut?: Record<string, SampleSet>;
  /** Loss of class targets (default softmax cross-entropy). */
  loss?: ClassLoss;
  /** Random samples with replacement (default) or shuffled epochs (train/samples.ts). */
  order?: "random" | "epochs";
}

/** What a run reports while it trains. */
export type RunEvent =
  /** The network is built and its engine ready; training starts next. */
  | {
      type: "start";
      network: Network;
      engine: { name: Engine["name"]; threads: number };
      /**
       * Pulls the parameters of the engine training now (gradual pruning replaces it) into its
       * network and returns that network: a live object the run keeps changing, so copy what you
       * keep. For a page that draws the graph or writes text while the run trains.
       */
      pull: () => Network;
      /**
       * The run's whole state now, between two steps (after the first): what `settings.resume`
       * continues from, bit for bit. Call it from a step event (a signal handler sets a flag, the
       * next step event saves).
       */
      checkpoint: () => RunCheckpoint;
    }
  | ({ type: "step" } & StepInfo)
  | { type: "validation"; step: number; seconds: number; trainBitsPerSymbol: number; valid: TextEvaluation; final: boolean }
  | { type: "rewire"; step: number; report: RoundReport }
  | { type: "prune"; step: number; event: GradualPruneEvent }
  | { type: "checkpoint"; step: number; network: Network };

/** How a caller follows a run: an event stream and a checkpoint callback. Both optional. */
export interface RunHooks {
  /** Every event, in order. Training waits while a returned promise is pending. */
  onEvent?: (event: RunEvent) => void | Promise<void>;
  /**
   * Called at every validation (and so at the end) with the live network, its parameters pulled
   * from the engine: save it there, the run then reports a "checkpoint" event.
   */
  checkpoint?: (network: Network, step: number) => void | Promise<void>;
  /** Aborting it stops training after the current step; the run then validates and returns as usual. */
  signal?: AbortSignal;
  /** Call `onCheckpoint` with the run's state every this many steps (0 or absent: never). */
  checkpointEvery?: number;
  /** Receives each checkpoint (encode it with `encodeCheckpoint` and save it); training waits for a returned promise. */
  onCheckpoint?: (checkpoint: RunCheckpoint) => void | Promise<void>;
}



/** What `runTraining` returns when training ends. */
export interface RunResult {
  /** Steps done. */
  steps: number;
  /** Training time (rewiring and pruning included), seconds. */
  seconds: number;
  /** Mean batch loss of the last ≤ 256 steps, bits per symbol. */
  trainBitsPerSymbol: number;
  /** The final validation over the whole validation split. */
  valid: TextEvaluation;
  /** Each held-out text of RunData, by name. */
  heldOut: Record<string, TextEvaluation>;
  /** The trained network, parameters pulled from the engine, its evaluation order recomputed. */
  network: Network;
  /** Edges of the network training started with (gradual pruning ends with fewer). */
  initialEdges: number;
  /** In-degree training started with. */
  initialInDegree: number;
  /** Loss of every step, bits per symbol. */
  losses: Float32Array;
  /** Time spent rewiring or pruning, seconds (part of `seconds`). */
  hookSeconds: number;
  /** Every rewiring round (empty without `rewire`). */
  rounds: RoundSummary[];
  /** Edges rewired over all rounds. */
  edgesRewired: number;
  /** Every in-degree decrement of gradual pruning (empty without `prune`). */
  prunings: GradualPruneEvent[];
  /** The engine that trained the network. */
  engine: { name: Engine["name"]; threads: number };
}

/**
 * Train one network by `settings` on `data`: build or take the network, make its engine, train with
 * rewiring or gradual pruning if asked, evaluate the held-out texts, dispose the engine.
 */
export async function runTraining(settings: RunSettings, data: RunData, hooks: RunHooks = {}): Promise<RunResult> {
  checkRunSettings(settings);
  const s = settings;
  const resume = s.resume;
  const rng = new Rng(s.seed);
  // The same forks with or without resume, so the generators line up before their states are restored.
  const built = s.network.kind === "given" ? s.network.network : buildNetwork(s.network, rng.fork());
  const network = resume ? networkOfCheckpoint(resume) : built;
  const samples = data.kind === "samples";
  const context = samples ? 0 : contextOf(network);
  if (samples) checkSampleNetwork(network, data);
  else checkTextNetwork(network, context);
  const source = samples ? new SampleData(data.train, data.valid, { ...(data.loss ? { loss: data.loss } : {}), ...(data.order ? { order: data.order } : {}) }) : new TextData(data.train, data.valid, context);
  const samplingRng = rng.fork();
  const rewireRng = rng.fork();
  // Forked last and only with dropout, so runs without it keep their generators.
  const dropout = s.dropout ? { rate: s.dropout, seed: rng.fork().nextUint32() } : undefined;
  const optimizer = optimizerOf(s);
  const statistics = s.rewire !== undefined && needsUtilityStatistics(s.rewire);
  if (statistics && (resume || hooks.checkpointEvery)) {
    throw new UsageError(`checkpoints do not hold the accumulated utility sums yet: prune-by ${s.rewire!.pruneBy} cannot be checkpointed or resumed`);
  }
  const makeEngine = (net: Network) => createEngine(s.engine ?? "wasm", net, { optimizer, ...(s.threads !== undefined ? { threads: s.threads } : {}), ...(statistics ? { utilityStatistics: true } : {}), ...(dropout ? { dropout } : {}) });
  const emit = async (event: RunEvent): Promise<void> => {
    await hooks.onEvent?.(event);
  };
  const initialEdges = resume?.initialEdges ?? network.edges;
  const initialInDegree = resume?.initialInDegree ?? network.inDegree;
  let engine = await makeEngine(network);
  try {
    if (resume) engine.setOptimizerState(resume.optimizer);
    const pruner = s.prune ? new GradualPruner(engine, s.prune, s.steps, makeEngine, resume?.pruner) : undefined;
    const pull = (): Network => {
      const live = pruner?.engine ?? engine;
      live.pull();
      return live.network;
    };
    const keepLayers = s.network.kind === "layered" && s.network.keepLayers === true ? { layers: layerOf(s.network) } : {};
    const rewirer = s.rewire ? new Rewirer(network, engine, s.rewire, rewireRng, { ...(s.rewirerOptions ?? {}), ...keepLayers }) : undefined;
    if (rewirer && resume) {
      if (!resume.rewirer) throw new UsageError("the checkpoint has no rewiring state: it was not saved by a run that rewires");
      rewirer.importState(resume.rewirer);
    }
    const rounds: RoundSummary[] = resume ? resume.rounds.map((r) => ({ ...r })) : [];
    const control: { state?: () => TrainerState } = {};
    const checkpoint = (): RunCheckpoint => {
      if (!control.state) throw new UsageError("a checkpoint needs training to have started");
      const live = pruner?.engine ?? engine;
      live.pull();
      const net = live.network;
      const trainer = control.state();
      return {
        step: trainer.step,
        network: { neurons: net.neurons, inputs: net.inputs, outputs: net.outputs, inDegree: net.inDegree, task: net.task, sources: net.sources.slice(), weights: net.weights.slice(), biases: net.biases.slice(), order: net.order.slice(), levels: net.levels.slice() },
        optimizer: live.optimizerState(),
        trainer,
        ...(rewirer ? { rewirer: rewirer.exportState() } : {}),
        ...(pruner ? { pruner: pruner.exportState() } : {}),
        rounds: rounds.map((r) => ({ ...r })),
        initialEdges,
        initialInDegree,
      };
    };
    await emit({ type: "start", network, engine: { name: engine.name, threads: engine.threads }, pull, checkpoint });
    const every = hooks.checkpointEvery ?? 0;
    const rewire = s.rewire;
    const afterStep = pruner
      ? async (step: number, total: number, draw: (count: number) => Batch[]) => {
          const before = pruner.events.length;
          const next = await pruner.afterStep(step, total, draw);
          for (const event of pruner.events.slice(before)) await emit({ type: "prune", step, event });
          return next;
        }
      : rewirer && rewire
        ? (step: number, total: number, draw: (count: number) => Batch[]) => {
            if (!isRewireStep(rewire, step, total)) return undefined;
            const report = rewirer.round(step, total, draw(rewire.batches));
            rounds.push({ step, rewired: report.rewired, fraction: report.rewired / network.edges, seconds: report.seconds, ...(report.recall !== undefined ? { recall: report.recall } : {}), refused: report.refused, refusedBy: { ...report.refusedBy } });
            return emit({ type: "rewire", step, report });
          }
        : undefined;
    const trained = await trainOn(engine, source, {
      batch: s.batch,
      steps: s.steps,
      ...(s.maxSeconds !== undefined ? { maxSeconds: s.maxSeconds } : {}),
      lrSchedule: lrScheduleOfRun(s),
      evalEvery: s.evalEvery ?? 0,
      evalWindows: s.evalWindows ?? 0,
      rng: samplingRng,
      ...(afterStep ? { afterStep } : {}),
      ...(hooks.onEvent || (every > 0 && hooks.onCheckpoint)
        ? {
            onStep: async (info: StepInfo) => {
              if (every > 0 && hooks.onCheckpoint && info.step % every === 0 && info.step < info.totalSteps) await hooks.onCheckpoint(checkpoint());
              await hooks.onEvent?.({ type: "step", ...info });
            },
          }
        : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(resume ? { resume: resume.trainer } : {}),
      control,
      onEvaluation: async (e) => {
        await emit({ type: "validation", step: e.step, seconds: e.seconds, trainBitsPerSymbol: e.trainBitsPerSymbol, valid: e.valid, final: e.final });
        if (hooks.checkpoint) {
          const live = pruner?.engine ?? engine;
          live.pull();
          await hooks.checkpoint(live.network, e.step);
          await emit({ type: "checkpoint", step: e.step, network: live.network });
        }
      },
    }).finally(() => {
      if (pruner) engine = pruner.engine;
    });
    const heldOut: Record<string, TextEvaluation> = {};
    if (data.kind === "samples") for (const [name, set] of Object.entries(data.heldOut ?? {})) heldOut[name] = evaluateSamples(engine, set, s.batch, Infinity, "first", data.loss);
    else for (const [name, text] of Object.entries(data.heldOut ?? {})) heldOut[name] = evaluateText(engine, text.symbols, context, s.batch, text.maxWindows ?? Infinity);
    engine.pull();
    const final = engine.network;
    final.computeOrder();
    return {
      steps: trained.steps,
      seconds: trained.seconds,
      trainBitsPerSymbol: trained.trainBitsPerSymbol,
      valid: trained.valid,
      heldOut,
      network: final,
      initialEdges,
      initialInDegree,
      losses: trained.losses,
      hookSeconds: trained.hookSeconds,
      rounds,
      edgesRewired: rounds.reduce((a, r) => a + r.rewired, 0),
      prunings: pruner ? pruner.events : [],
      engine: { name: engine.name, threads: engine.threads },
    };
  } finally {
    await engine.dispose();
  }
}

/** The network a checkpoint holds, with its evaluation order and levels as they were (not recomputed). */
function networkOfCheckpoint(c: RunCheckpoint): Network {
  const a = c.network;
  const net = Network.fromArrays({ neurons: a.neurons, inputs: a.inputs, outputs: a.outputs, inDegree: a.inDegree, task: a.task, sources: a.sources, weights: a.weights, biases: a.biases });
  // fromArrays validated the graph and computed an order; the run continues with the one it had.
  const k = a.neurons;
  const n = a.inputs;
  if (a.order.length !== k - n || a.levels.length !== k) throw new UsageError(`checkpoint: order has ${a.order.length} neurons and levels ${a.levels.length}, expected ${k - n} and ${k}`);
  const position = new Int32Array(k).fill(-1);
  for (let r = 0; r < a.order.length; r++) {
    const i = a.order[r]!;
    if (!(i >= n && i < k) || position[i] !== -1) throw new UsageError(`checkpoint: evaluation order entry ${r} (${i}) is not a distinct non-input neuron`);
    position[i] = r;
  }
  for (let r = 0; r < a.order.length; r++) {
    const i = a.order[r]!;
    for (let e = 0; e < a.inDegree; e++) {
      const src = a.sources[(i - n) * a.inDegree + e]!;
      if (src >= n && position[src]! >= r) throw new UsageError(`checkpoint: evaluation order puts neuron ${i} before its source ${src}`);
    }
  }
  net.order = a.order.slice();
  net.levels = a.levels.slice();
  return net;
}

/** The network a spec describes, initialised from `rng`. */
function buildNetwork(spec: Exclude<NetworkSpec, { kind: "given" }>, rng: Rng): Network {
  switch (spec.kind) {
    case "random":
      return randomTextNetwork(spec, rng);
    case "random-dag": {
      if (spec.neurons < spec.inputs + spec.outputs) throw new UsageError(`neurons ${spec.neurons} is too small for ${spec.inputs} inputs + ${spec.outputs} outputs`);
      if (spec.inDegree > spec.inputs) throw new UsageError(`in-degree ${spec.inDegree} exceeds the ${spec.inputs} inputs: the first non-input neuron cannot get ${spec.inDegree} distinct sources`);
      return Network.random({ neurons: spec.neurons, inputs: spec.inputs, outputs: spec.outputs, inDegree: spec.inDegree, ...(spec.task ? { task: spec.task } : {}), ...(spec.reachOutputs ? { reachOutputs: true } : {}) }, rng);
    }
    case "layered":
      return layeredNetwork(spec, rng);
    default:
      throw new UsageError(`unknown network kind ${JSON.stringify((spec as { kind?: unknown }).kind)}`);
  }
}

/** A network for samples must read every feature and give one output per class (or target). */
function checkSampleNetwork(net: Network, data: SampleRunData): void {
  if (net.inputs !== data.train.featureCount) throw new UsageError(`the network has ${net.inputs} inputs, the data ${data.train.featureCount} features`);
  if (net.outputs !== data.train.outputs) throw new UsageError(`the network has ${net.outputs} outputs, the data ${data.train.outputs} ${data.train.labels ? "classes" : "targets"}`);
}

/** The thesis's character-prediction network (§4.6): 27·context one-hot inputs, 27 outputs. */
function randomTextNetwork(spec: { neurons: number; inDegree: number; context: number; reachOutputs?: boolean }, rng: Rng): Network {
  const { inputs, outputs } = textShape(spec.context);
  if (spec.neurons < inputs + outputs) {
    throw new UsageError(`neurons ${spec.neurons} is too small: context ${spec.context} needs ${inputs} inputs + ${outputs} outputs = ${inputs + outputs} neurons at least`);
  }
  return Network.random({ neurons: spec.neurons, inputs, outputs, inDegree: spec.inDegree, task: textTask(spec.context), ...(spec.reachOutputs ? { reachOutputs: true } : {}) }, rng);
}
