/** `sparsewire eval`: bits per symbol of a saved model over every window of a text, optionally with gradients. */
import { splitCorpus } from "../../data/windows.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { loadNetwork } from "../../io/model-file.js";
import { checkTextNetwork, contextOf, evaluateText, TextBatch } from "../../train/text.js";
import { sequentialPositions } from "../../data/windows.js";
import { setPerplexity } from "../../train/metrics.js";
import { DataError } from "../../util/errors.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { ENGINE_FLAGS, engineFromFlags, loadText, printJson, round } from "../common.js";

export const evalSpec: CommandSpec = {
  name: "eval",
  summary: "mean cross-entropy (bits per symbol) of a saved model over every window of a text",
  usage: "sparsewire eval --model PATH --text PATH [--split all|train|valid|test] [--json] [--gradients OUT.json]",
  flags: [
    { name: "model", type: "string", value: "PATH", help: "model file (.json or .safetensors)" },
    { name: "text", type: "string", value: "PATH", help: "text file, plain or gzip (default: the bundled excerpt)" },
    { name: "split", type: "string", default: "all", choices: ["all", "train", "valid", "test"], help: "evaluate the whole text, or one part of the train/validation/test split" },
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
  const network = loadNetwork(modelPath);
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
