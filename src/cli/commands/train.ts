/** `sparsewire train`: train a sparse network on character prediction (§4.6). */
import { adam } from "../../engine/optimizer.js";
import { openSync, writeSync, closeSync, existsSync, accessSync, constants as fsConstants, statSync } from "node:fs";
import { dirname, extname } from "node:path";
import { Network as NetworkClass, type Network } from "../../graph/network.js";
import { splitCorpus } from "../../data/windows.js";
import type { OptimizerConfig } from "../../engine/types.js";
import { loadNetwork, saveNetwork } from "../../io/model-file.js";
import { checkTextNetwork, contextOf, textShape } from "../../train/text.js";
import { checkLrSchedule, describeLrSchedule, finalRate, LR_SCHEDULE_KINDS, type LrSchedule, type LrScheduleKind } from "../../train/lr-schedule.js";
import { uniformBits } from "../../train/metrics.js";
import { UsageError } from "../../util/errors.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { commonRunSettings } from "../run-flags.js";
import { DATA_ONLY, trainOnData } from "./train-data.js";
import { ENGINE_FLAGS, loadText, printJson, round } from "../common.js";
import { formatDuration, ProgressBar } from "../progress.js";
import { REWIRE_FLAGS, rewireConfigFromFlags } from "../rewire-flags.js";
import { RUN_DEFAULTS, runTraining, type RunCheckpoint, type RunSettings } from "../../run/index.js";
import { announceResume, checkpointPathOf, checkpointSaver, fnv1a, Interrupted, InterruptGuard, readCheckpointFile, reportInterrupted, RESUME_OVERRIDABLE, storedFlags } from "../checkpointing.js";
import { GRADUAL_FLAGS, gradualConfigFromFlags, rewireFlags } from "../gradual-flags.js";

export const trainSpec: CommandSpec = {
  name: "train",
  summary: "train a sparse, non-layered network to predict the next character",
  usage: "sparsewire train [--text PATH] [--neurons K] [--in-degree D] [--steps N] [--save PATH] [--json]",
  flags: [
    { name: "text", type: "string", value: "PATH", help: "training text, plain or gzip (default: the bundled 2 M-character text8 excerpt)" },
    { name: "data", type: "string", value: "mnist|fashion-mnist|DIR|FILE.csv", help: "train on labelled samples instead of text: an MNIST-format idx folder (mnist and fashion-mnist are looked up in $SPARSEWIRE_DATA, data/, ../shared/data/) or a CSV table" },
    { name: "label", type: "string", value: "COLUMN", help: "--data CSV: the label column, by header name or 0-based index (default: the last)" },
    { name: "target", type: "string", default: "classes", choices: ["classes", "values"], value: "classes|values", help: "--data CSV: the label is a class (softmax cross-entropy) or a real value (squared error)" },
    { name: "scale", type: "string", choices: ["standard", "minmax", "none"], value: "standard|minmax|none", help: "--data: feature scaling fitted on the training part (default: standard for CSV, none for images, already in [0, 1])" },
    { name: "layers", type: "string", value: "A,B,…", help: "--data: a layered sparse MLP with these hidden layer sizes, every neuron reading --in-degree neurons of the layer before (instead of a random DAG of --neurons)" },
    { name: "neurons", type: "int", default: RUN_DEFAULTS.neurons, min: 2, value: "K", help: "total neurons, inputs and outputs included" },
    { name: "in-degree", type: "int", default: RUN_DEFAULTS.inDegree, min: 1, value: "D", help: "incoming edges per non-input neuron" },
    { name: "reach-outputs", type: "boolean", help: "build the random DAG so that every hidden neuron has a path to an output (§4.6's draw leaves some unread: their in-edges never learn)" },
    { name: "context", type: "int", default: RUN_DEFAULTS.context, min: 1, max: 4096, value: "C", help: "symbols of context (27·C input neurons)" },
    { name: "batch", type: "int", default: RUN_DEFAULTS.batch, min: 1, max: 1 << 20, value: "B", help: "windows per training step" },
    { name: "steps", type: "int", min: 1, value: "N", help: `training steps (default: ${RUN_DEFAULTS.steps}, the recipe's budget; with --minutes alone, as many as fit)` },
    { name: "minutes", type: "number", min: 0, value: "M", help: "stop after this much training time" },
    { name: "lr", type: "number", default: RUN_DEFAULTS.optimizer.learningRate, positive: true, value: "RATE", help: "learning rate (the peak of a schedule; the recipe of results/recipe: 0.005 decayed linearly to 0)" },
    { name: "lr-schedule", type: "string", default: RUN_DEFAULTS.lrSchedule.kind, choices: LR_SCHEDULE_KINDS, value: LR_SCHEDULE_KINDS.join("|"), help: "cosine, linear: decay from --lr to --lr-final after the warmup; step: ×√(final/lr) at 50 % and 75 % of it. On steps, or on elapsed time with --minutes alone" },
    { name: "warmup", type: "int", default: 0, min: 0, value: "N", help: "warmup steps: the rate rises linearly from lr/N to --lr over the first N steps (needs --steps)" },
    { name: "lr-final", type: "number", min: 0, value: "RATE", help: "final learning rate of the schedule (default: 0 for cosine and linear, lr/100 for step)" },
    { name: "clip-norm", type: "number", default: 0, min: 0, value: "X", help: "clip the gradients to global L2 norm X before each update; 0 = off" },
    { name: "weight-decay", type: "number", default: 0, min: 0, value: "λ", help: "L2 weight decay of the edge weights: the update uses g + λ·w (biases are not decayed); 0 = off" },
    { name: "dropout", type: "number", default: 0, min: 0, max: 0.99, value: "RATE", help: "dropout of hidden neurons in training steps (inverted: kept outputs ×1/(1−RATE)); the same masks in every engine for a seed; 0 = off" },
    { name: "loss", type: "string", choices: ["cross-entropy", "sigmoid-squared"], value: "cross-entropy|sigmoid-squared", help: "--data classes: softmax cross-entropy in bits (default), or sigmoid outputs with squared error against the one-hot class (SET's set-up)" },
    { name: "sampling", type: "string", choices: ["random", "epochs"], value: "random|epochs", help: "--data: training samples drawn at random with replacement (default) or in shuffled epochs" },
    { name: "keep-layers", type: "boolean", help: "--data --layers: rewiring keeps the network layered (new edges only from the layer before), as SET and RigL do; default: new edges may skip layers" },
    { name: "optimizer", type: "string", default: "adam", choices: ["adam", "sgd"], help: "adam (Kingma & Ba, bias-corrected) or sgd" },
    { name: "adam-correction", type: "string", default: "global", choices: ["global", "per-parameter"], help: "Adam's bias correction by the global step count, or per parameter (a rewired edge's steps count from its birth: no oversized first steps)" },
    { name: "momentum", type: "number", default: 0.9, min: 0, max: 0.999999, help: "SGD momentum" },
    { name: "seed", type: "int", default: 1, min: 0, max: 0xffffffff, value: "S", help: "random seed (same seed and settings, same result)" },
    { name: "split", type: "string", default: "0.9,0.05,0.05", value: "T,V,E", help: "contiguous train/validation/test fractions" },
    { name: "eval-every", type: "int", default: 500, min: 0, value: "N", help: "validate (and checkpoint) every N steps; 0 = only at the end" },
    { name: "eval-windows", type: "int", default: 20000, min: 1, value: "N", help: "validation windows read by the periodic check, spread evenly over the split (the final one reads all)" },
    { name: "init", type: "string", value: "PATH", help: "start from a saved model instead of a random network" },
    { name: "save", type: "string", value: "PATH", help: "save the model (.json or .safetensors), atomically, at every check and at the end" },
    { name: "log", type: "string", value: "PATH", help: "write JSON lines: one per validation check" },
    { name: "checkpoint", type: "string", value: "PATH", help: "where checkpoints go (the whole training state, for --resume): default NAME.ckpt.safetensors beside --save, else sparsewire-train.ckpt.safetensors; with --resume, that file" },
    { name: "checkpoint-every", type: "int", default: 0, min: 0, value: "N", help: "save a checkpoint every N steps (0: only when interrupted by Ctrl-C or SIGTERM)" },
    { name: "resume", type: "string", value: "CKPT", help: "continue the run a checkpoint was taken of, with its settings, bit for bit (only --steps, --minutes, --save, --log, --eval-every, --eval-windows, --checkpoint, --checkpoint-every, --threads, --json, --quiet may change)" },
    ...REWIRE_FLAGS,
    ...GRADUAL_FLAGS,
    ...ENGINE_FLAGS,
    { name: "json", type: "boolean", help: "print one JSON object with the results as the last line of stdout" },
    { name: "quiet", type: "boolean", help: "no progress output" },
  ],
  examples: [
    "sparsewire train --steps 3000 --save model.safetensors",
    "sparsewire train --text enwik8 --neurons 1700 --in-degree 58 --minutes 30 --log run.jsonl --json",
    "sparsewire train --in-degree 58 --prune-to 29 --prune-by first-order --steps 10240 --save d29.safetensors",
    "sparsewire train --steps 61440 --save m.safetensors --checkpoint-every 5000   # Ctrl-C saves m.ckpt.safetensors too",
    "sparsewire train --resume m.ckpt.safetensors",
  ],
};


/** FNV-1a over the symbols: a resumed run must read the same text. */
function textHash(symbols: Uint8Array): string {
  return fnv1a(symbols).toString(16).padStart(8, "0");
}

/** Refuse a --save path that cannot be written before hours of training, not after. */
function checkSavePath(path: string | undefined, flag: string): void {
  if (path === undefined) return;
  const ext = extname(path).toLowerCase();
  if (flag === "save" && ext !== ".json" && ext !== ".safetensors") throw new UsageError(`--save ${path}: the file name must end in .json or .safetensors`);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: the folder ${dir} does not exist`);
  try {
    accessSync(dir, fsConstants.W_OK);
  } catch {
    throw new UsageError(`--${flag} ${path}: the folder ${dir} is not writable`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--${flag} ${path} is a folder, not a file`);
}

/** Memory a network and its training state need, roughly: edges (source, weight, Adam m and v, gradient) and activations. */
function estimatedBytes(neurons: number, inputs: number, inDegree: number, batch: number): number {
  return (neurons - inputs) * inDegree * 24 + neurons * batch * 4 * 3;
}

export async function trainCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(formatHelp(trainSpec) + "\n");
    return 0;
  }
  const parsed = parseFlags(trainSpec, argv);
  const resumePath = parsed.string("resume");
  const resumed = resumePath !== undefined ? readCheckpointFile(resumePath) : undefined;
  const flags = resumed ? parsed.resumedFrom(storedFlags(resumed, resumePath!), RESUME_OVERRIDABLE, resumePath!) : parsed;
  const json = flags.boolean("json");
  const quiet = flags.boolean("quiet");
  const seed = flags.number("seed");
  const batch = flags.number("batch");
  const minutes = flags.optionalNumber("minutes");
  const steps = flags.optionalNumber("steps") ?? (minutes !== undefined ? Infinity : RUN_DEFAULTS.steps);
  const fractions = flags.requireString("split").split(",").map(Number);
  const clipNorm = flags.number("clip-norm");
  const optimizer: OptimizerConfig = {
    ...(flags.string("optimizer") === "sgd"
      ? { kind: "sgd", learningRate: flags.number("lr"), momentum: flags.number("momentum") }
      : adam(flags.number("lr"), { biasCorrection: flags.string("adam-correction") as "global" | "per-parameter" })),
    ...(clipNorm > 0 ? { clipNorm } : {}),
    ...(flags.number("weight-decay") > 0 ? { weightDecay: flags.number("weight-decay") } : {}),
  };
  const lrFinal = flags.optionalNumber("lr-final");
  const lrSchedule: LrSchedule = { kind: flags.requireString("lr-schedule") as LrScheduleKind, warmup: flags.number("warmup"), ...(lrFinal !== undefined ? { final: lrFinal } : {}) };
  if (flags.string("data") !== undefined) {
    checkLrSchedule(lrSchedule, optimizer.learningRate, Number.isFinite(steps) ? { steps } : { seconds: (minutes ?? 0) * 60 });
    checkSavePath(flags.string("save"), "save");
    return trainOnData(flags, { optimizer, lrSchedule, steps, ...(minutes !== undefined ? { minutes } : {}), batch, seed, json, quiet }, resumed && resumePath !== undefined ? { loaded: resumed, path: resumePath, threadsGiven: parsed.given("threads") } : undefined);
  }
  for (const f of DATA_ONLY) if (flags.given(f)) throw new UsageError(`--${f} is for --data (samples), not for text`);
  // Checked before the corpus is read: with --minutes alone the schedule runs on elapsed time.
  checkLrSchedule(lrSchedule, optimizer.learningRate, Number.isFinite(steps) ? { steps } : { seconds: (minutes ?? 0) * 60 });
  const scheduleRecord = { lrSchedule: lrSchedule.kind, warmup: lrSchedule.warmup, lrFinal: finalRate(lrSchedule, optimizer.learningRate), clipNorm, ...(optimizer.weightDecay ? { weightDecay: optimizer.weightDecay } : {}) };
  // With --prune-to, --prune-by is gradual pruning's criterion, not rewiring's.
  const rewireConfig = rewireConfigFromFlags(rewireFlags(flags));

  let initial: Network | undefined;
  let context: number;
  const init = flags.string("init");
  if (init !== undefined && resumed) {
    // The run started from --init; the checkpoint holds its network now (the file is not read again).
    const c = resumed.checkpoint.network;
    initial = loadedCheckpointNetwork(resumed.checkpoint);
    context = c.inputs / 27;
  } else if (init !== undefined) {
    if (flags.boolean("reach-outputs")) throw new UsageError(`--reach-outputs shapes a new random network; --init ${init} starts from a saved one`, "leave one of them out");
    initial = loadNetwork(init);
    context = contextOf(initial);
    // Every setting that contradicts the loaded model is refused, not silently ignored.
    for (const [flag, value, what] of [["context", context, "context"], ["neurons", initial.neurons, "neurons"], ["in-degree", initial.inDegree, "in-degree"]] as const) {
      if (flags.given(flag) && flags.number(flag) !== value) throw new UsageError(`--${flag} ${flags.number(flag)} differs from the ${what} ${value} of ${init}`, `leave --${flag} out: --init takes the network's shape from the file`);
    }
    checkTextNetwork(initial, context);
  } else {
    context = flags.number("context");
    const { inputs, outputs } = textShape(context);
    const neurons = flags.number("neurons");
    if (neurons < inputs + outputs + 0) {
      throw new UsageError(`--neurons ${neurons} is too small: context ${context} needs ${inputs} inputs + ${outputs} outputs = ${inputs + outputs} neurons at least`);
    }
    const d = flags.number("in-degree");
    if (d > inputs) throw new UsageError(`--in-degree ${d} exceeds the ${inputs} inputs of context ${context}: the first non-input neuron cannot get ${d} distinct sources`);
    const bytes = estimatedBytes(neurons, inputs, d, batch);
    const limit = flags.string("engine") === "reference" ? 16 * 2 ** 30 : 4 * 2 ** 30;
    if ((neurons - inputs) * d > 2 ** 31 - 1 || bytes > limit) {
      throw new UsageError(`--neurons ${neurons} with --in-degree ${d} and --batch ${batch} needs about ${(bytes / 2 ** 30).toFixed(1)} GiB, more than the ${flags.string("engine")} engine can hold (${limit / 2 ** 30} GiB)`, "use fewer neurons, a smaller in-degree or a smaller batch");
    }
  }
  const inDegree = initial?.inDegree ?? flags.number("in-degree");
  const gradual = gradualConfigFromFlags(flags, inDegree, steps);

  const text = await loadText(flags.string("text"));
  const [train, valid, test] = splitCorpus(text.symbols, fractions, context);
  if (!train || !valid || !test) throw new UsageError(`--split needs three fractions (train, validation, test), got "${flags.string("split")}"`);

  const savePath = flags.string("save");
  checkSavePath(savePath, "save");
  const checkpointPath = checkpointPathOf(flags, resumePath);
  checkSavePath(checkpointPath, "checkpoint");
  const checkpointEvery = flags.number("checkpoint-every");
  const textRecord = { text: text.bundled ? "bundled" : text.path, symbols: text.symbols.length, hash: textHash(text.symbols) };
  if (resumed) {
    const was = resumed.settings["text"] as typeof textRecord | undefined;
    if (!was || was.symbols !== textRecord.symbols || was.hash !== textRecord.hash) {
      throw new UsageError(`the text differs from the one the checkpoint ${resumePath} was trained on (${was ? `${was.text}: ${was.symbols} symbols, hash ${was.hash}` : "not recorded"}; now ${textRecord.text}: ${textRecord.symbols} symbols, hash ${textRecord.hash})`, "give the same --text");
    }
  }
  const checkpointRecord = { flags: flags.toRecord(), text: textRecord };
  const logPath = flags.string("log");
  const logFd = logPath !== undefined ? openSync(logPath, "w") : undefined;
  const progress = new ProgressBar(process.stderr, !quiet && process.stderr.isTTY === true);
  const say = (line: string) => {
    if (!quiet && !json) progress.log(line);
  };
  const logLine = (value: unknown) => {
    if (logFd !== undefined) writeSync(logFd, JSON.stringify(value) + "\n");
  };
  const threads = flags.optionalNumber("threads");
  const settings: RunSettings = {
    network: initial ? { kind: "given", network: initial } : { kind: "random", neurons: flags.number("neurons"), inDegree, context, ...(flags.boolean("reach-outputs") ? { reachOutputs: true } : {}) },
    ...commonRunSettings(flags, { batch, steps, ...(minutes !== undefined ? { minutes } : {}), optimizer, lrSchedule, seed }, rewireConfig, gradual),
    ...(resumed ? { resume: resumed.checkpoint } : {}),
  };
  if (resumed) announceResume(resumed, resumePath!, parsed.given("threads"), threads, say);
  const meta = (step: number) => ({ training: { seed, steps: step, engine: settings.engine, lr: optimizer.learningRate, ...scheduleRecord, batch, text: text.bundled ? "bundled" : text.path, ...(gradual ? { gradualPruning: { from: inDegree, ...gradual } } : {}), ...(flags.boolean("reach-outputs") ? { reachOutputs: true } : {}) } });
  const started = performance.now();
  let trainSecondsAtLastRound = 0;
  // Ctrl-C or SIGTERM: save a checkpoint after the current step and stop (130 / 143); a second one stops at once.
  const guard = new InterruptGuard(progress);
  const saveCheckpoint = checkpointSaver(checkpointPath, () => checkpointRecord);
  let takeCheckpoint: (() => RunCheckpoint) | undefined;
  try {
    const result = await runTraining(settings, { train: train.symbols, valid: valid.symbols, heldOut: { test: { symbols: test.symbols } } }, {
      ...(savePath !== undefined ? { checkpoint: (net: Network, step: number) => saveNetwork(savePath, net, meta(step)) } : {}),
      ...(checkpointEvery > 0 ? { checkpointEvery, onCheckpoint: saveCheckpoint } : {}),
      onEvent: (e): Promise<void> | undefined => {
        switch (e.type) {
          case "start":
            takeCheckpoint = e.checkpoint;
            say(
              `sparsewire: ${e.network.neurons} neurons (${e.network.inputs} inputs, ${e.network.outputs} outputs), in-degree ${e.network.inDegree}, ${e.network.edges.toLocaleString("en")} edges, depth ${e.network.depth}; ` +
                `${text.bundled ? "bundled text8 excerpt" : text.path}: ${text.symbols.length.toLocaleString("en")} symbols; engine ${e.engine.name} × ${e.engine.threads} thread${e.engine.threads > 1 ? "s" : ""}`,
            );
            if (lrSchedule.kind !== "constant" || lrSchedule.warmup > 0 || clipNorm > 0) {
              say(`learning rate: ${describeLrSchedule(lrSchedule, optimizer.learningRate)}${Number.isFinite(steps) ? "" : " (on elapsed time)"}${clipNorm > 0 ? `; gradients clipped to global norm ${clipNorm}` : ""}`);
            }
            break;
          case "step": {
            const fraction = Number.isFinite(steps) ? e.step / steps : minutes ? e.seconds / (minutes * 60) : NaN;
            const rate = e.step / Math.max(e.seconds, 1e-9);
            const eta = Number.isFinite(steps) ? (steps - e.step) / rate : minutes ? minutes * 60 - e.seconds : NaN;
            const lr = lrSchedule.kind !== "constant" || lrSchedule.warmup > 0 ? ` · lr ${e.learningRate.toPrecision(3)}` : "";
            progress.update(fraction, `step ${e.step}${Number.isFinite(steps) ? `/${steps}` : ""} · loss ${e.smoothedLoss.toFixed(3)} bits/char${lr} · ${rate.toFixed(1)} steps/s · ETA ${formatDuration(eta)}`);
            return guard.afterStep(e.step, takeCheckpoint!, saveCheckpoint, checkpointPath);
          }
          case "prune":
            logLine({ type: "prune", ...e.event, seconds: round(e.event.seconds, 3) });
            say(`step ${e.step}: pruned in-degree ${e.event.from} → ${e.event.to} (${gradual!.by} utility)`);
            break;
          case "rewire": {
            const trainSeconds = (performance.now() - started) / 1000;
            logLine({ type: "rewire", ...e.report, trainSecondsSinceLastRound: round(trainSeconds - e.report.seconds - trainSecondsAtLastRound, 3) });
            trainSecondsAtLastRound = trainSeconds;
            if (!Number.isFinite(e.report.meanUtilityRemoved)) say(`step ${e.step}: rewiring round gave a non-finite utility`);
            break;
          }
          case "validation":
            logLine({ type: "validation", step: e.step, seconds: round(e.seconds, 3), trainBitsPerChar: round(e.trainBitsPerSymbol, 5), validBitsPerChar: round(e.valid.bitsPerSymbol, 5), validWindows: e.valid.windows, validAccuracy: round(e.valid.accuracy, 5), final: e.final });
            if (!e.final) say(`step ${e.step}: train ${e.trainBitsPerSymbol.toFixed(3)} bits/char, validation ${e.valid.bitsPerSymbol.toFixed(3)} bits/char (a sample of ${e.valid.windows.toLocaleString("en")} windows spread over the split)`);
            break;
          case "checkpoint":
            break;
        }
        return undefined;
      },
    });
    progress.done();
    const testEval = result.heldOut["test"]!;
    const trained = result.network;
    const seconds = (performance.now() - started) / 1000;
    const summary = {
      steps: result.steps,
      trainBitsPerChar: round(result.trainBitsPerSymbol, 5),
      validBitsPerChar: round(result.valid.bitsPerSymbol, 5),
      testBitsPerChar: round(testEval.bitsPerSymbol, 5),
      validAccuracy: round(result.valid.accuracy, 5),
      testAccuracy: round(testEval.accuracy, 5),
      uniformBitsPerChar: round(uniformBits(27), 5),
      neurons: trained.neurons,
      inputs: trained.inputs,
      outputs: trained.outputs,
      inDegree: trained.inDegree,
      edges: trained.edges,
      depth: trained.depth,
      context,
      batch,
      lr: optimizer.learningRate,
      ...scheduleRecord,
      optimizer: optimizer.kind,
      ...(optimizer.kind === "adam" && optimizer.biasCorrection === "per-parameter" ? { adamCorrection: "per-parameter" } : {}),
      seed,
      engine: result.engine.name,
      threads: result.engine.threads,
      seconds: round(seconds, 3),
      trainSeconds: round(result.seconds, 3),
      stepsPerSecond: round(result.steps / result.seconds, 2),
      edgeSamplesPerSecond: Math.round((result.initialEdges * batch * result.steps) / result.seconds),
      text: text.bundled ? "bundled:text8-excerpt (first 2,000,000 chars of text8)" : text.path,
      symbols: text.symbols.length,
      windows: { train: train.symbols.length - context, valid: result.valid.windows, test: testEval.windows },
      finalLoss: result.losses.length ? result.losses[result.losses.length - 1] : null,
      rewire: rewireConfig ? flags.requireString("rewire") : "none",
      ...(rewireConfig ? { rewireConfig } : {}),
      // From the run (a resumed run's result includes the rounds before the checkpoint).
      edgesRewired: result.edgesRewired,
      rewireRounds: result.rounds.length,
      rewireTimeShare: round(result.hookSeconds / Math.max(result.seconds, 1e-9), 5),
      ...(gradual ? { gradualPruning: { from: result.initialInDegree, ...gradual, rebuilds: result.prunings.length, seconds: round(result.prunings.reduce((a, e) => a + e.seconds, 0), 3) } } : {}),
      ...(savePath !== undefined ? { saved: savePath } : {}),
    };
    if (json) printJson({ ...summary, ...(resumed ? { resumedFrom: { checkpoint: resumePath, step: resumed.checkpoint.step } } : {}) });
    else {
      process.stdout.write(
        [
          ...(gradual ? [`pruned     in-degree ${result.initialInDegree} → ${trained.inDegree} by ${gradual.by} utility in ${result.prunings.length} step${result.prunings.length === 1 ? "" : "s"} (steps ${result.prunings[0]?.step ?? "–"}…${result.prunings[result.prunings.length - 1]?.step ?? "–"}; Adam state carried across each)`] : []),
          ...(rewireConfig ? [`rewired    ${result.edgesRewired.toLocaleString("en")} edges in ${result.rounds.length} rounds (${(100 * summary.rewireTimeShare).toFixed(1)} % of training time)`] : []),
          `trained ${result.steps} steps in ${formatDuration(result.seconds)} (${summary.stepsPerSecond} steps/s, ${(summary.edgeSamplesPerSecond / 1e9).toFixed(2)} G edge-samples/s)`,
          `train      ${summary.trainBitsPerChar.toFixed(3)} bits/char (mean batch loss of the last ≤ 256 steps)`,
          `validation ${summary.validBitsPerChar.toFixed(3)} bits/char over ${result.valid.windows.toLocaleString("en")} windows (accuracy ${(100 * summary.validAccuracy).toFixed(1)} %)`,
          `test       ${summary.testBitsPerChar.toFixed(3)} bits/char over ${testEval.windows.toLocaleString("en")} windows (uniform guess: ${summary.uniformBitsPerChar.toFixed(2)})`,
          ...(savePath !== undefined ? [`saved      ${savePath}`] : []),
        ].join("\n") + "\n",
      );
    }
    return 0;
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    return reportInterrupted(error, progress);
  } finally {
    guard.dispose();
    progress.done();
    if (logFd !== undefined) closeSync(logFd);
  }
}

/** The network a checkpoint holds (for a resumed --init run's settings; the run itself reads the checkpoint). */
function loadedCheckpointNetwork(c: RunCheckpoint): Network {
  const a = c.network;
  return NetworkClass.fromArrays({ neurons: a.neurons, inputs: a.inputs, outputs: a.outputs, inDegree: a.inDegree, task: a.task, sources: a.sources, weights: a.weights, biases: a.biases });
}
