/**
 * `sparsewire utility`: per-edge utility of a saved model (thesis §4.1) over a few random batches of
 * a text: the true utility of Def. 4.1 (delete the edge, re-evaluate), the thesis's first-order
 * estimate −w·∂L/∂w (eq. 4.3), optimal brain damage ½w²·∂²L/∂w² or |w|. Higher = more useful.
 */
import { writeFileAtomic } from "../../io/atomic.js";
import { loadNetwork } from "../../io/model-file.js";
import { WindowSampler } from "../../data/windows.js";
import type { Batch } from "../../engine/types.js";
import type { Network } from "../../graph/network.js";
import { estimateUtilityDetailed, sampleEdges, UTILITY_METHODS, type UtilityMethod, type UtilityResult } from "../../estimate/utility.js";
import { checkTextNetwork, contextOf, TextBatch } from "../../train/text.js";
import { DataError } from "../../util/errors.js";
import { Rng } from "../../util/rng.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { ENGINE_FLAGS, engineFromFlags, loadText, printJson, round } from "../common.js";
import { ProgressBar } from "../progress.js";

export const utilitySpec: CommandSpec = {
  name: "utility",
  summary: "per-edge utility of a saved model: true (delete and re-evaluate), first-order −w·∂L/∂w, OBD or |w|",
  usage: "sparsewire utility --model PATH --text PATH --method first-order|magnitude|obd|true [--sample N] [--batches N] [--batch B] [--seed S] [--json] [--out FILE]",
  flags: [
    { name: "model", type: "string", value: "PATH", help: "model file (.json or .safetensors)" },
    { name: "text", type: "string", value: "PATH", help: "text file, plain or gzip (default: the bundled excerpt)" },
    { name: "method", type: "string", default: "first-order", choices: UTILITY_METHODS, help: "true = Def. 4.1 (one forward per edge); first-order = eq. 4.3; obd = ½w²·∂²L/∂w²; magnitude = |w|" },
    { name: "sample", type: "int", min: 1, value: "N", help: "evaluate only N edges drawn with --seed (same seed, same edges for every method)" },
    { name: "batches", type: "int", default: 4, min: 1, max: 1 << 16, help: "random batches of windows the loss L_T is taken over" },
    { name: "batch", type: "int", default: 512, min: 1, max: 1 << 20, help: "windows per batch" },
    { name: "seed", type: "int", default: 1, min: 0, max: 0xffffffff, help: "seed for the windows and the edge sample" },
    { name: "hessian", type: "string", default: "lecun", choices: ["lecun", "gauss-newton"], help: "obd's second derivative: LeCun's diagonal pass, or the exact Gauss–Newton diagonal (one pass per output)" },
    { name: "float64", type: "boolean", help: "compute with the float64 reference kernels instead of the engine (true utility then recomputes only the edge's descendants)" },
    { name: "out", type: "string", value: "FILE", help: "write per-edge values as JSON (parallel arrays neuron, slot, source, weight, utility; sorted by neuron, slot)" },
    ...ENGINE_FLAGS,
    { name: "json", type: "boolean", help: "print one JSON summary object as the last line of stdout" },
  ],
  examples: [
    "sparsewire utility --model model.safetensors --method true --sample 300 --out true.json",
    "sparsewire utility --model model.safetensors --method first-order --sample 300 --out first.json --json",
  ],
};

export async function utilityCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(formatHelp(utilitySpec) + "\n");
    return 0;
  }
  const flags = parseFlags(utilitySpec, argv);
  const modelPath = flags.requireString("model");
  const method = flags.requireString("method") as UtilityMethod; // checked against choices
  const network = loadNetwork(modelPath);
  const context = contextOf(network);
  checkTextNetwork(network, context);
  const text = await loadText(flags.string("text"));
  const batchSize = flags.number("batch");
  const batchCount = flags.number("batches");
  const windows = Math.max(0, text.symbols.length - context);
  if (windows < batchSize) {
    throw new DataError(`${text.path} has ${windows} windows of context ${context}, fewer than one batch of ${batchSize}`, "use a longer text or a smaller --batch");
  }
  const seed = flags.number("seed");
  // One seed, two independent streams: the windows, and the edges (so the edge sample does not
  // depend on --batches and is the same for every method).
  const rng = new Rng(seed);
  const windowRng = rng.fork();
  const edgeRng = rng.fork();
  const sampler = new WindowSampler(text.symbols, context, windowRng);
  const batches: Batch[] = [];
  for (let i = 0; i < batchCount; i++) batches.push(new TextBatch(batchSize, context).sample(sampler));
  const sample = flags.optionalNumber("sample");
  const edges = sampleEdges(network.edges, sample ?? network.edges, edgeRng);
  const progress = new ProgressBar(process.stderr);
  const options = {
    edges,
    hessian: flags.requireString("hessian") as "lecun" | "gauss-newton",
    onProgress: (done: number, total: number) => progress.update(done / total, `${done}/${total} edges deleted and re-evaluated`),
  };
  const started = performance.now();
  let result: UtilityResult;
  let engineName: string;
  if (flags.boolean("float64")) {
    result = estimateUtilityDetailed(network, batches, method, options);
    engineName = "reference-f64";
  } else {
    const engine = await engineFromFlags(flags, network);
    try {
      result = estimateUtilityDetailed(engine, batches, method, options);
      engineName = result.computedWith === "engine" ? engine.name : "reference-f64";
    } finally {
      await engine.dispose();
    }
  }
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  const rows = edgeRows(network, result);
  const outPath = flags.string("out");
  if (outPath !== undefined) {
    writeFileAtomic(
      outPath,
      JSON.stringify({
        model: modelPath,
        method,
        ...(method === "obd" ? { hessian: options.hessian } : {}),
        signConvention: "higher = more useful; true and first-order in bits per sample (loss without the edge − loss with it)",
        loss: result.loss,
        samples: result.samples,
        batches: batchCount,
        batchSize,
        seed,
        edges: network.edges,
        evaluated: rows.length,
        neuron: rows.map((r) => r.neuron),
        slot: rows.map((r) => r.slot),
        source: rows.map((r) => r.source),
        weight: rows.map((r) => r.weight),
        utility: rows.map((r) => r.utility),
      }),
    );
  }
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const r of rows) {
    sum += r.utility;
    if (r.utility < min) min = r.utility;
    if (r.utility > max) max = r.utility;
  }
  const summary = {
    model: modelPath,
    text: text.bundled ? "bundled:text8-excerpt" : text.path,
    method,
    ...(method === "obd" ? { hessian: options.hessian } : {}),
    engine: engineName,
    edges: network.edges,
    edgesEvaluated: rows.length,
    meanUtility: rows.length > 0 ? sum / rows.length : NaN,
    minUtility: rows.length > 0 ? min : NaN,
    maxUtility: rows.length > 0 ? max : NaN,
    loss: round(result.loss, 6),
    batches: batchCount,
    batchSize,
    seed,
    seconds: round(seconds, 3),
    ...(outPath !== undefined ? { out: outPath } : {}),
  };
  if (flags.boolean("json")) printJson(summary);
  else process.stdout.write(humanReport(summary, rows));
  return 0;
}

interface EdgeRow {
  edge: number;
  neuron: number;
  slot: number;
  source: number;
  weight: number;
  utility: number;
}

/** Evaluated edges in edge order, which is neuron order then slot order (row-major storage). */
function edgeRows(net: Network, result: UtilityResult): EdgeRow[] {
  const d = net.inDegree;
  return Array.from(result.edges, (e) => ({
    edge: e,
    neuron: net.inputs + Math.floor(e / d),
    slot: e % d,
    source: net.sources[e]!,
    weight: net.weights[e]!,
    utility: result.utility[e]!,
  }));
}

function humanReport(s: { method: string; engine: string; edges: number; edgesEvaluated: number; meanUtility: number; minUtility: number; maxUtility: number; loss: number; batches: number; batchSize: number }, rows: EdgeRow[]): string {
  const byUtility = [...rows].sort((a, b) => a.utility - b.utility || a.edge - b.edge);
  const fmt = (x: number) => x.toExponential(3).padStart(11);
  const table = (title: string, list: EdgeRow[]) => [
    title,
    `  ${"neuron".padStart(7)} ${"slot".padStart(4)} ${"source".padStart(7)} ${"weight".padStart(11)} ${"utility".padStart(11)}`,
    ...list.map((r) => `  ${String(r.neuron).padStart(7)} ${String(r.slot).padStart(4)} ${String(r.source).padStart(7)} ${fmt(r.weight)} ${fmt(r.utility)}`),
  ];
  const count = Math.min(10, byUtility.length);
  return [
    `${s.method} utility of ${s.edgesEvaluated.toLocaleString("en")} of ${s.edges.toLocaleString("en")} edges over ${s.batches} × ${s.batchSize} windows (${s.engine}); loss ${s.loss.toFixed(4)} bits/symbol`,
    `utility mean ${s.meanUtility.toExponential(3)}, min ${s.minUtility.toExponential(3)}, max ${s.maxUtility.toExponential(3)} (higher = more useful)`,
    "",
    ...table(`${count} least useful:`, byUtility.slice(0, count)),
    "",
    ...table(`${count} most useful:`, byUtility.slice(byUtility.length - count).reverse()),
    "",
  ].join("\n");
}
