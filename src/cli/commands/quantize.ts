/**
 * `sparsewire quantize`: quantise a trained model's weights to b-bit integers times a scale per
 * network or per neuron (thesis §4.2), choosing the scale by the largest |w| (max), the squared
 * weight error (mse) or the estimated loss increase of eq. 4.5 (utility), and report the held-out
 * bits per symbol before and after, the estimated and the true loss change. Never overwrites IN.
 */
import { statSync } from "node:fs";
import { saveQuantizedNetwork } from "../../io/quantized-model-file.js";
import { quantizedFileNetwork } from "../../io/quantized-format.js";
import { estimationBatches } from "../../train/text.js";
import { estimateLossChange, LOSS_ESTIMATES, MAX_BITS, MIN_BITS, QUANTIZE_BY, quantizedWeightBytes, quantizeNetwork, SCALE_MODES, type LossEstimate, type QuantizeBy, type Rounding, type ScaleMode } from "../../compress/quantize.js";
import { meanLoss, measureSensitivity } from "../../estimate/sensitivity.js";
import { loadNetwork } from "../../io/model-file.js";
import { checkTextNetwork, contextOf, evaluateText } from "../../train/text.js";
import { Rng } from "../../util/rng.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { checkOutputPath, ENGINE_FLAGS, engineFromFlags, loadText, printJson, round, textParts } from "../common.js";

export const quantizeSpec: CommandSpec = {
  name: "quantize",
  summary: "quantise the weights to b-bit integers × a scale per network or per neuron, by utility (eq. 4.5), mse or max",
  usage: "sparsewire quantize --model IN --bits 2..8 --scale network|neuron --by utility|mse|max [--text PATH] --save OUT [--json]",
  flags: [
    { name: "model", type: "string", value: "IN", help: "trained model file (.json or .safetensors); never overwritten" },
    { name: "bits", type: "int", min: MIN_BITS, max: MAX_BITS, value: "B", help: `bits per weight, ${MIN_BITS}..${MAX_BITS} (signed integers −2^(B−1)..2^(B−1)−1)` },
    { name: "scale", type: "string", default: "neuron", choices: SCALE_MODES, help: "one scale for the whole network, or one per neuron (its in-edges)" },
    { name: "by", type: "string", default: "utility", choices: QUANTIZE_BY, help: "utility = least estimated loss increase (eq. 4.5); mse = least squared weight error; max = largest |w|" },
    { name: "estimate", type: "string", default: "absolute", choices: LOSS_ESTIMATES, help: "for --by utility: signed Σ Δ·∂L/∂w (the thesis's rule), absolute Σ|Δ·∂L/∂w|, or second-order Σ Δ·∂L/∂w + ½hΔ² (OBD diagonal)" },
    { name: "rounding", type: "string", default: "nearest", choices: ["estimate", "nearest"], help: "for --by utility: round each weight up or down by the estimate, or always to nearest" },
    { name: "hessian", type: "string", default: "lecun", choices: ["lecun", "gauss-newton"], help: "curvature for the second-order estimate: LeCun's diagonal pass or the exact Gauss–Newton diagonal" },
    { name: "text", type: "string", value: "PATH", help: "text, plain or gzip (default: the bundled excerpt); gradients from its training split" },
    { name: "fractions", type: "string", default: "0.9,0.05,0.05", value: "T,V,E", help: "contiguous train/validation/test split of the text" },
    { name: "batches", type: "int", default: 8, min: 1, max: 1 << 16, help: "random training-split batches the gradient (and curvature) are averaged over" },
    { name: "batch", type: "int", default: 512, min: 1, max: 1 << 20, help: "windows per batch" },
    { name: "seed", type: "int", default: 1, min: 0, max: 0xffffffff, help: "seed for the estimation batches" },
    { name: "eval-split", type: "string", default: "test", choices: ["test", "valid", "none"], help: "held-out split to report bits per symbol on, before and after" },
    { name: "save", type: "string", value: "OUT", help: "write the quantised model (.safetensors: I8 / packed U8 integers + F32 scales; or .json), atomically" },
    { name: "overwrite", type: "boolean", help: "allow --save to be the same path as --model" },
    ...ENGINE_FLAGS,
    { name: "json", type: "boolean", help: "print one JSON object with the results as the last line of stdout" },
  ],
  examples: [
    "sparsewire quantize --model model.safetensors --bits 4 --scale neuron --by utility --save model-q4.safetensors",
    "sparsewire quantize --model model.safetensors --bits 8 --by max --save model-q8.json --json",
  ],
};

export async function quantizeCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(formatHelp(quantizeSpec) + "\n");
    return 0;
  }
  const flags = parseFlags(quantizeSpec, argv);
  const modelPath = flags.requireString("model");
  if (!flags.has("bits")) flags.requireString("bits"); // one-line "quantize needs --bits"
  const bits = flags.number("bits");
  const scale = flags.requireString("scale") as ScaleMode;
  const by = flags.requireString("by") as QuantizeBy;
  const estimate = flags.requireString("estimate") as LossEstimate;
  const rounding = flags.requireString("rounding") as Rounding;
  const savePath = flags.string("save");
  checkOutputPath(savePath, modelPath, flags.boolean("overwrite"));
  const network = loadNetwork(modelPath);
  const context = contextOf(network);
  checkTextNetwork(network, context);
  const text = await loadText(flags.string("text"));
  const parts = textParts(text.symbols, flags.requireString("fractions"), context, text.path);
  const seed = flags.number("seed");
  const batches = estimationBatches(parts.train, context, flags.number("batches"), flags.number("batch"), new Rng(seed), `the training split of ${text.path}`);
  const evalSplit = flags.requireString("eval-split");
  const held = evalSplit === "test" ? parts.test : evalSplit === "valid" ? parts.valid : undefined;
  const engine = await engineFromFlags(flags, network);
  try {
    const started = performance.now();
    const needCurvature = true; // every run reports all three estimates
    const sens = measureSensitivity(engine, batches, { curvature: needCurvature ? (flags.requireString("hessian") as "lecun" | "gauss-newton") : false });
    const before = held ? evaluateText(engine, held, context, flags.number("batch")) : undefined;
    const q = quantizeNetwork(network, { bits, scale, by, ...(by === "utility" ? { estimate, rounding } : {}), gradient: sens.gradient, curvature: sens.curvature! });
    const estimated = estimateLossChange(network.weights, q.network.weights, sens.gradient, sens.curvature);
    // The engine now evaluates the network exactly as the saved file loads (issue 10): dequantised
    // weights, each neuron's slots sorted by source (the file's order; the same graph, so the
    // evaluation order holds and a push is enough), input biases +0.
    const fileNetwork = quantizedFileNetwork(q.network, q);
    network.sources.set(fileNetwork.sources);
    network.weights.set(fileNetwork.weights);
    network.biases.set(fileNetwork.biases);
    engine.push();
    const trueChange = meanLoss(engine, batches) - sens.loss;
    const after = held ? evaluateText(engine, held, context, flags.number("batch")) : undefined;
    let savedBytes: number | undefined;
    if (savePath !== undefined) savedBytes = saveQuantizedNetwork(savePath, q.network, q, { training: { quantizedFrom: modelPath, bits, scale, by, ...(by === "utility" ? { estimate, rounding } : {}), batches: batches.length, seed } });
    let inputBytes: number | undefined;
    try {
      inputBytes = statSync(modelPath).size;
    } catch {
      inputBytes = undefined;
    }
    const summary = {
      model: modelPath,
      text: text.bundled ? "bundled:text8-excerpt" : text.path,
      bits,
      scale,
      by,
      ...(by === "utility" ? { estimate, rounding } : {}),
      scales: q.scales.length,
      edges: network.edges,
      weightBytes: quantizedWeightBytes(q),
      estimationWindows: sens.samples,
      estimationLoss: round(sens.loss, 6),
      estimatedChange: { signed: round(estimated.signed, 6), absolute: round(estimated.absolute, 6), secondOrder: round(estimated.secondOrder ?? NaN, 6) },
      trueChange: round(trueChange, 6),
      ...(before && after ? { evalSplit, windows: after.windows, bitsPerSymbolBefore: round(before.bitsPerSymbol, 6), bitsPerSymbolAfter: round(after.bitsPerSymbol, 6), bitsPerSymbolCost: round(after.bitsPerSymbol - before.bitsPerSymbol, 6) } : {}),
      ...(inputBytes !== undefined ? { inputBytes } : {}),
      ...(savePath !== undefined ? { saved: savePath, savedBytes, readBack: "identical" } : {}),
      engine: engine.name,
      seconds: round((performance.now() - started) / 1000, 3),
    };
    if (flags.boolean("json")) printJson(summary);
    else {
      const lines = [
        `quantised ${network.edges.toLocaleString("en")} weights to ${bits} bits, ${q.scales.length} scale${q.scales.length === 1 ? "" : "s"} (per ${scale}), by ${by}${by === "utility" ? ` (${estimate} estimate, ${rounding} rounding)` : ""}`,
        `loss change on ${sens.samples} training windows: true ${trueChange.toFixed(5)}, estimated signed ${estimated.signed.toFixed(5)}, absolute ${estimated.absolute.toFixed(5)}, second-order ${(estimated.secondOrder ?? NaN).toFixed(5)} bits/symbol`,
      ];
      if (before && after) lines.push(`${evalSplit} split: ${before.bitsPerSymbol.toFixed(4)} → ${after.bitsPerSymbol.toFixed(4)} bits/symbol (${(after.bitsPerSymbol - before.bitsPerSymbol >= 0 ? "+" : "")}${(after.bitsPerSymbol - before.bitsPerSymbol).toFixed(4)}) over ${after.windows.toLocaleString("en")} windows`);
      if (savePath !== undefined) lines.push(`saved ${savePath} (${savedBytes!.toLocaleString("en")} bytes${inputBytes !== undefined ? `; input ${inputBytes.toLocaleString("en")} bytes`: ""}; read back: the same network, bit for bit)`);
      process.stdout.write(lines.join("\n") + "\n");
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
