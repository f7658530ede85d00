/**
 * `sparsewire eval`: bits per symbol of a saved model over every window of a text, optionally with
 * gradients; or, for a model trained with `train --data`, its loss and accuracy on one split of the
 * same labelled samples (split and scaling rebuilt from the model's metadata).
 */
import { splitCorpus } from "../../data/windows.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { loadModel } from "../../io/model-file.js";
import type { Network } from "../../graph/network.js";
import type { ClassLoss } from "../../engine/types.js";
import type { Scaling } from "../../data/samples.js";
import { evaluateSamples } from "../../train/samples.js";
import { checkLoss, loadLabelledData, lossUnit } from "../labelled-data.js";
import type { Flags } from "../args.js";
import { checkTextNetwork, contextOf, evaluateText, TextBatch } from "../../train/text.js";
import { sequentialPositions } from "../../data/windows.js";
import { setPerplexity } from "../../train/metrics.js";
import { DataError, UsageError } from "../../util/errors.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { ENGINE_FLAGS, engineFromFlags, loadText, printJson, round } from "../common.js";

export const evalSpec: CommandSpec = {
  name: "eval",
  summary: "mean cross-entropy (bits per symbol) of a saved model over every window of a text, or loss and accuracy on labelled data",
  usage: "sparsewire eval --model PATH [--text PATH | --data mnist|fashion-mnist|DIR|FILE.csv] [--split all|train|valid|test] [--json] [--gradients OUT.json]",
  flags: [
    { name: "model", type: "string", value: "PATH", help: "model file (.json or .safetensors)" },
    { name: "text", type: "string", value: "PATH", help: "text file, plain or gzip (default: the bundled excerpt, or the data a `train --data` model names)" },
    { name: "data", type: "string", value: "mnist|fashion-mnist|DIR|FILE.csv", help: "labelled samples, as `train --data` reads them (default for a model trained with --data: the data it names); the split and scaling are rebuilt from the model's metadata" },
    { name: "label", type: "string", value: "COLUMN", help: "--data CSV: the label column (default: the model's, else the last)" },
    { name: "target", type: "string", choices: ["classes", "values"], value: "classes|values", help: "--data CSV: class labels or real values (default: the model's, else classes)" },
    { name: "scale", type: "string", choices: ["standard", "minmax", "none"], value: "standard|minmax|none", help: "--data: feature scaling fitted on the training part (default: the model's)" },
    { name: "seed", type: "int", min: 0, max: 0xffffffff, value: "S", help: "--data CSV: the seed of the 80/10/10 split (default: the model's training seed)" },
    { name: "loss", type: "string", choices: ["cross-entropy", "sigmoid-squared"], value: "cross-entropy|sigmoid-squared", help: "--data classes: the loss reported (default: the model's)" },
    { name: "split", type: "string", default: "all", choices: ["all", "train", "valid", "test"], help: "evaluate the whole text, or one part of the train/validation/test split (--data: default test)" },
    { name: "fractions", type: "string", default: "0.9,0.05,0.05", value: "T,V,E", help: "split fractions used with --split" },
    { name: "batch", type: "int", default: 512, min: 1, max: 1 << 20, help: "windows per batch (does not change the result beyond rounding)" },
    { name: "gradients", type: "string", value: "OUT.json", help: "also write ∂(mean loss in bits)/∂(every weight and bias) as JSON" },
    ...ENGINE_FLAGS,
    { name: "json", type: "boolean", help: "print one JSON object as the last line of stdout" },
  ],
  examples: ["sparsewire eval --model model.safetensors --text ../shared/data/text/alice29.txt.gz --json"],
};

export async function evalCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(formatHelp(evalSpec) + "\n");
    return 0;
  }
  const flags = parseFlags(evalSpec, argv);
  const modelPath = flags.requireString("model");
  const { network, training } = loadModel(modelPath);
  const trainedOn = typeof training?.["data"] === "string" ? training["data"] : undefined;
  if (flags.given("data") || (trainedOn !== undefined && !flags.given("text"))) {
    if (flags.given("text")) throw new UsageError("--text and --data both name what to evaluate: give one");
    return evalOnData(flags, modelPath, network, training ?? {});
  }
  for (const f of DATA_ONLY) if (flags.given(f)) throw new UsageError(`--${f} is for --data`);
  const context = contextOf(network);
  checkTextNetwork(network, context);
  const text = await loadText(flags.string("text"));
  let symbols = text.symbols;
  const split = flags.requireString("split");
  if (split !== "all") {
    const parts = splitCorpus(symbols, flags.requireString("fractions").split(",").map(Number), context);
    symbols = parts[["train", "valid", "test"].indexOf(split)]!.symbols;
  }
  if (symbols.length <= context) {
    throw new DataError(`${text.path} has ${symbols.length} symbols after cleaning, fewer than context + 1 = ${context + 1}: no window to evaluate`);
  }
  const batch = flags.number("batch");
  const gradientsPath = flags.string("gradients");
  const engine = await engineFromFlags(flags, network);
  try {
    let result;
    let gradientFile: string | undefined;
    if (gradientsPath !== undefined) {
      // Mean over all T windows = Σ_batches (size/T)·(batch mean); accumulate in float64.
      const holder = new TextBatch(batch, context);
      const weightSum = new Float64Array(network.weights.length);
      const biasSum = new Float64Array(network.neurons);
      let lossSum = 0;
      let windows = 0;
      for (const { positions, count } of sequentialPositions(symbols, context, batch)) {
        const g = engine.gradients(holder.fill(symbols, positions, count));
        lossSum += g.loss * count;
        for (let p = 0; p < weightSum.length; p++) weightSum[p]! += g.weightGradients[p]! * count;
        for (let i = 0; i < biasSum.length; i++) biasSum[i]! += g.biasGradients[i]! * count;
        windows += count;
      }
      const weights: number[][] = [];
      const biases: number[] = [];
      for (let i = 0; i < network.neurons; i++) {
        if (i < network.inputs) {
          weights.push([]);
          biases.push(0);
          continue;
        }
        const row = network.rowOf(i);
        weights.push(Array.from(weightSum.subarray(row, row + network.inDegree), (v) => v / windows));
        biases.push(biasSum[i]! / windows);
      }
      result = { bitsPerSymbol: lossSum / windows, windows, accuracy: NaN };
      writeFileAtomic(gradientsPath, JSON.stringify({ bitsPerSymbol: result.bitsPerSymbol, windows, gradients: { weights, biases } }));
      gradientFile = gradientsPath;
      // Accuracy needs a forward pass; cheap next to the gradients.
      result.accuracy = evaluateText(engine, symbols, context, batch).accuracy;
    } else {
      result = evaluateText(engine, symbols, context, batch);
    }
    const summary = {
      model: modelPath,
      text: text.bundled ? "bundled:text8-excerpt" : text.path,
      split,
      bitsPerSymbol: round(result.bitsPerSymbol, 6),
      perplexity: round(setPerplexity(result.bitsPerSymbol * result.windows, result.windows), 4),
      accuracy: round(result.accuracy, 5),
      windows: result.windows,
      engine: engine.name,
      ...(gradientFile !== undefined ? { gradients: gradientFile } : {}),
    };
    if (flags.boolean("json")) printJson(summary);
    else {
      process.stdout.write(
        `${summary.bitsPerSymbol.toFixed(4)} bits/symbol (perplexity ${summary.perplexity.toFixed(3)}, accuracy ${(100 * summary.accuracy).toFixed(1)} %) over ${result.windows.toLocaleString("en")} windows of ${summary.text}${split !== "all" ? ` (${split} split)` : ""}\n` +
          (gradientFile !== undefined ? `gradients written to ${gradientFile}\n` : ""),
      );
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

const DATA_ONLY = ["label", "target", "scale", "seed", "loss"];

/** `eval --data`: loss and accuracy of a model on one split of labelled samples. */
async function evalOnData(flags: Flags, modelPath: string, network: Network, training: Record<string, unknown>): Promise<number> {
  for (const f of ["fractions", "gradients"]) if (flags.given(f)) throw new UsageError(`--${f} is for text; with --data the split is the data's own`);
  const stored = <T>(key: string): T | undefined => training[key] as T | undefined;
  const data = flags.string("data") ?? stored<string>("data")!;
  const sameData = stored<string>("data") === data;
  // What the model was trained with, unless the command line says otherwise (other data: only the command line).
  const pick = <T>(flag: string, key = flag): T | undefined => (flags.given(flag) ? (flags.string(flag) as T) : sameData ? stored<T>(key) : undefined);
  const seed = flags.optionalNumber("seed") ?? (sameData ? stored<number>("seed") : undefined) ?? 1;
  const d = await loadLabelledData({ data, scale: pick<Scaling>("scale", "scaling"), label: pick<string>("label"), target: pick<"classes" | "values">("target"), seed });
  if (network.inputs !== d.train.featureCount) throw new DataError(`${modelPath} has ${network.inputs} inputs, ${data} has ${d.train.featureCount} features`, "evaluate a model on the data it was trained for");
  if (network.outputs !== d.train.outputs) throw new DataError(`${modelPath} has ${network.outputs} outputs, ${data} has ${d.train.outputs} ${d.train.labels ? "classes" : "targets"}`, "evaluate a model on the data it was trained for");
  const loss = (pick<ClassLoss>("loss") ?? "cross-entropy");
  checkLoss(d, loss);
  const split = flags.given("split") ? flags.requireString("split") : "test";
  const sets = split === "all" ? [d.train, d.valid, d.test] : [split === "train" ? d.train : split === "valid" ? d.valid : d.test];
  const batch = flags.number("batch");
  const engine = await engineFromFlags(flags, network);
  try {
    let lossSum = 0;
    let correct = 0;
    let samples = 0;
    for (const set of sets) {
      const r = evaluateSamples(engine, set, batch, Infinity, "first", loss);
      lossSum += r.bitsPerSymbol * r.windows;
      correct += r.accuracy * r.windows;
      samples += r.windows;
    }
    const classes = d.train.labels !== undefined;
    const unit = lossUnit(d, loss);
    const summary = {
      model: modelPath,
      data,
      split,
      scaling: d.scaling,
      loss: round(lossSum / samples, 6),
      lossUnit: unit,
      ...(classes ? { accuracy: round(correct / samples, 5) } : {}),
      samples,
      engine: engine.name,
    };
    if (flags.boolean("json")) printJson(summary);
    else {
      process.stdout.write(`${summary.loss.toFixed(5)} ${unit}${classes ? `, accuracy ${(100 * summary.accuracy!).toFixed(2)} %` : ""} over ${samples.toLocaleString("en")} samples of ${data} (${split === "all" ? "all splits" : `${split} split`}: ${d.split}; features scaled: ${d.scaling})\n`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
