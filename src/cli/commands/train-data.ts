/**
 * `sparsewire train --data mnist|fashion-mnist|DIR|FILE.csv` (issue 15): train (and rewire, or prune
 * gradually) a sparse network on labelled samples instead of text, through the same run module.
 * Images come from MNIST-format idx folders (the data set's own test set is the test split; the last
 * 10 % of its training images validate), tables from CSV files (a seeded 80/10/10 split); features
 * are scaled by the training part's statistics. Prints loss and accuracy.
 */
import { resolve } from "node:path";
import type { Scaling } from "../../data/samples.js";
import type { ClassLoss, OptimizerConfig } from "../../engine/types.js";
import { saveNetwork } from "../../io/model-file.js";
import { runTraining, type LoadedCheckpoint, type RunCheckpoint, type RunResult, type NetworkSpec, type RunSettings } from "../../run/index.js";
import { announceResume, checkpointPathOf, checkpointSaver, Interrupted, InterruptGuard, reportInterrupted } from "../checkpointing.js";
import type { LrSchedule } from "../../train/lr-schedule.js";
import { UsageError } from "../../util/errors.js";
import type { Flags } from "../args.js";
import { printJson, round } from "../common.js";
import { formatDuration, ProgressBar } from "../progress.js";
import { rewireConfigFromFlags } from "../rewire-flags.js";
import { commonRunSettings } from "../run-flags.js";
import { gradualConfigFromFlags, rewireFlags } from "../gradual-flags.js";
import { checkLoss, loadLabelledData, lossUnit, samplesHash } from "../labelled-data.js";

/** Flags that only mean something for text. */
const TEXT_ONLY = ["text", "context", "split", "init"];
/** Flags that only mean something with --data. */
export const DATA_ONLY = ["label", "target", "scale", "layers", "loss", "sampling", "keep-layers"];

/** A checkpoint `train --data --resume` continues from (train.ts read it and took its flags). */
export interface DataResume {
  loaded: LoadedCheckpoint;
  path: string;
  /** --threads given on this command line (it may change: the run continues, not bit for bit). */
  threadsGiven: boolean;
}

/** Runs `train --data`; the common settings (optimiser, schedule, budget, engine) come from train.ts. */
export async function trainOnData(flags: Flags, common: { optimizer: OptimizerConfig; lrSchedule: LrSchedule; steps: number; minutes?: number; batch: number; seed: number; json: boolean; quiet: boolean }, resumed?: DataResume): Promise<number> {
  for (const f of TEXT_ONLY) if (flags.given(f)) throw new UsageError(`--${f} is for text; with --data the samples are the data`);
  const { optimizer, lrSchedule, steps, batch, seed, json, quiet } = common;
  const label = flags.string("label");
  const target = flags.requireString("target") as "classes" | "values";
  const d = await loadLabelledData({ data: flags.requireString("data"), scale: flags.string("scale") as Scaling | undefined, label, target: flags.given("target") ? target : undefined, seed });
  const n = d.train.featureCount;
  const m = d.train.outputs;
  const layersText = flags.string("layers");
  const inDegree = flags.given("in-degree") ? flags.number("in-degree") : Math.min(flags.number("in-degree"), n);
  let network: NetworkSpec;
  if (layersText !== undefined) {
    const layers = layersText.split(",").map((x) => Number(x));
    if (layers.some((x) => !(Number.isInteger(x) && x >= 1))) throw new UsageError(`--layers must be positive whole numbers separated by commas, got "${layersText}"`);
    if (flags.given("neurons")) throw new UsageError("--neurons and --layers both size the network: give one");
    network = { kind: "layered", layers, inDegree, inputs: n, outputs: m, task: d.task, ...(flags.boolean("keep-layers") ? { keepLayers: true } : {}) };
  } else {
    const neurons = flags.given("neurons") ? flags.number("neurons") : n + m + 1000;
    network = { kind: "random-dag", neurons, inDegree, inputs: n, outputs: m, task: d.task, ...(flags.boolean("reach-outputs") ? { reachOutputs: true } : {}) };
  }
  if (flags.boolean("reach-outputs") && layersText !== undefined) throw new UsageError("--reach-outputs shapes the random DAG, not a layered network (--layers): give one of them");
  if (flags.boolean("keep-layers") && layersText === undefined) throw new UsageError("--keep-layers needs --layers: only a layered network has layers to keep");
  const loss = (flags.string("loss") ?? "cross-entropy") as ClassLoss;
  checkLoss(d, loss);
  const sampling = (flags.string("sampling") ?? "random") as "random" | "epochs";
  const rewire = rewireConfigFromFlags(rewireFlags(flags));
  const gradual = gradualConfigFromFlags(flags, inDegree, steps);
  const settings: RunSettings = { network, ...commonRunSettings(flags, common, rewire, gradual), ...(resumed ? { resume: resumed.loaded.checkpoint } : {}) };
  const savePath = flags.string("save");
  const checkpointPath = checkpointPathOf(flags, resumed?.path);
  const checkpointEvery = flags.number("checkpoint-every");
  // The samples' hash reads every value: only for runs that resume or save a checkpoint.
  const dataRecord = () => ({ data: d.name, train: d.train.count, valid: d.valid.count, test: d.test.count, hash: samplesHash(d) });
  if (resumed) {
    const now = dataRecord();
    const was = resumed.loaded.settings["data"] as ReturnType<typeof dataRecord> | undefined;
    if (!was || was.hash !== now.hash || was.train !== now.train) {
      throw new UsageError(`the samples differ from those the checkpoint ${resumed.path} was trained on (${was ? `${was.data}: ${was.train} training samples, hash ${was.hash}` : "not recorded"}; now ${now.data}: ${now.train}, hash ${now.hash})`, "give the same --data and the same file contents");
    }
  }
  const saveCheckpoint = checkpointSaver(checkpointPath, () => ({ flags: flags.toRecord(), data: dataRecord() }));
  const progress = new ProgressBar(process.stderr, !quiet && process.stderr.isTTY === true);
  const say = (line: string) => {
    if (!quiet && !json) progress.log(line);
  };
  const classes = d.train.labels !== undefined;
  const meta = (step: number) => ({ training: { data: d.name, split: d.split, scaling: d.scaling, ...(d.csv ? { target, ...(label !== undefined ? { label } : {}) } : {}), seed, steps: step, lr: optimizer.learningRate, lrSchedule: lrSchedule.kind, batch, ...(layersText ? { layers: layersText } : {}), ...(loss !== "cross-entropy" ? { loss } : {}), ...(sampling !== "random" ? { sampling } : {}), ...(settings.dropout ? { dropout: settings.dropout } : {}), ...(flags.boolean("keep-layers") ? { keepLayers: true } : {}), ...(flags.boolean("reach-outputs") ? { reachOutputs: true } : {}) } });
  if (resumed) announceResume(resumed.loaded, resumed.path, resumed.threadsGiven, flags.optionalNumber("threads"), say);
  // Ctrl-C or SIGTERM: save a checkpoint after the current step and stop (130 / 143).
  const guard = new InterruptGuard(progress);
  let takeCheckpoint: (() => RunCheckpoint) | undefined;
  let result: RunResult;
  try {
    result = await runTraining(settings, { kind: "samples", train: d.train, valid: d.valid, heldOut: { test: d.test }, loss, order: sampling }, {
      ...(savePath !== undefined ? { checkpoint: (net, step) => saveNetwork(savePath, net, meta(step)) } : {}),
      ...(checkpointEvery > 0 ? { checkpointEvery, onCheckpoint: saveCheckpoint } : {}),
      onEvent: (e) => {
        if (e.type === "start") {
          takeCheckpoint = e.checkpoint;
          say(`sparsewire: ${d.name}: ${d.split}; ${n} features → ${m} ${classes ? "classes" : "targets"} (features scaled: ${d.scaling}); ${e.network.neurons} neurons${layersText ? ` in layers ${n},${layersText},${m}` : ""}, in-degree ${e.network.inDegree}, ${e.network.edges.toLocaleString("en")} edges; engine ${e.engine.name} × ${e.engine.threads}`);
        }
        if (e.type === "step") progress.update(Number.isFinite(steps) ? e.step / steps : NaN, `step ${e.step} · loss ${e.smoothedLoss.toFixed(3)} · ${(e.step / Math.max(e.seconds, 1e-9)).toFixed(1)} steps/s`);
        if (e.type === "validation" && !e.final) say(`step ${e.step}: train ${e.trainBitsPerSymbol.toFixed(4)}, validation ${e.valid.bitsPerSymbol.toFixed(4)}${classes ? `, accuracy ${(100 * e.valid.accuracy).toFixed(2)} %` : ""} (a sample of ${e.valid.windows.toLocaleString("en")})`);
        if (e.type === "step") return guard.afterStep(e.step, takeCheckpoint!, saveCheckpoint, checkpointPath);
        return undefined;
      },
    });
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    return reportInterrupted(error, progress);
  } finally {
    guard.dispose();
    progress.done();
  }
  const test = result.heldOut["test"]!;
  const unit = lossUnit(d, loss);
  const summary = {
    data: d.name,
    split: d.split,
    scaling: d.scaling,
    steps: result.steps,
    trainLoss: round(result.trainBitsPerSymbol, 5),
    validLoss: round(result.valid.bitsPerSymbol, 5),
    testLoss: round(test.bitsPerSymbol, 5),
    loss: unit,
    ...(classes ? { validAccuracy: round(result.valid.accuracy, 5), testAccuracy: round(test.accuracy, 5) } : {}),
    neurons: result.network.neurons,
    inputs: n,
    outputs: m,
    inDegree: result.network.inDegree,
    edges: result.network.edges,
    depth: result.network.depth,
    ...(layersText ? { layers: layersText } : {}),
    edgesRewired: result.edgesRewired,
    rewireRounds: result.rounds.length,
    seed,
    engine: result.engine.name,
    threads: result.engine.threads,
    trainSeconds: round(result.seconds, 3),
    ...(savePath !== undefined ? { saved: resolve(savePath) === savePath ? savePath : savePath } : {}),
  };
  if (json) printJson({ ...summary, ...(resumed ? { resumedFrom: { checkpoint: resumed.path, step: resumed.loaded.checkpoint.step } } : {}) });
  else {
    const acc = (a: number) => (classes ? `, accuracy ${(100 * a).toFixed(2)} %` : "");
    process.stdout.write(
      [
        `trained ${result.steps} steps in ${formatDuration(result.seconds)}${result.rounds.length ? `; rewired ${result.edgesRewired.toLocaleString("en")} edges in ${result.rounds.length} rounds` : ""}`,
        `train      ${summary.trainLoss.toFixed(4)} ${unit} (mean batch loss of the last ≤ 256 steps)`,
        `validation ${summary.validLoss.toFixed(4)} ${unit}${acc(result.valid.accuracy)} over ${result.valid.windows.toLocaleString("en")} samples`,
        `test       ${summary.testLoss.toFixed(4)} ${unit}${acc(test.accuracy)} over ${test.windows.toLocaleString("en")} samples`,
        ...(savePath !== undefined ? [`saved      ${savePath}`] : []),
      ].join("\n") + "\n",
    );
  }
  return 0;
}
