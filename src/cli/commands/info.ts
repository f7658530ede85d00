/** `sparsewire info`: what a model file holds, with the training metadata `train --save` stored in it. */
import { statSync } from "node:fs";
import { loadModel } from "../../io/model-file.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { printJson } from "../common.js";

export const infoSpec: CommandSpec = {
  name: "info",
  summary: "neurons, edges, depth, level sizes, parameters, bytes and training settings of a model file",
  usage: "sparsewire info --model PATH [--json]",
  flags: [
    { name: "model", type: "string", value: "PATH", help: "model file (.json or .safetensors)" },
    { name: "json", type: "boolean", help: "print one JSON object" },
  ],
};

export async function infoCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(formatHelp(infoSpec) + "\n");
    return 0;
  }
  const flags = parseFlags(infoSpec, argv);
  const path = flags.requireString("model");
  const model = loadModel(path);
  const net = model.network;
  // Quantised files (issue 6) carry their integers and scales next to the dequantised network.
  const q = "quantization" in model ? (model as { quantization: { bits: number; scale: string; by: string; scales: Float32Array } }).quantization : undefined;
  // In memory: 4-byte source + 4-byte weight per edge, 4-byte bias per neuron.
  const memoryBytes = net.edges * 8 + net.neurons * 4;
  const info = {
    model: path,
    task: net.task,
    neurons: net.neurons,
    inputs: net.inputs,
    outputs: net.outputs,
    hidden: net.neurons - net.inputs - net.outputs,
    inDegree: net.inDegree,
    edges: net.edges,
    parameters: net.parameters,
    depth: net.depth,
    levelSizes: net.levelSizes(),
    edgesFromInputs: countInputEdges(net.sources, net.inputs),
    hiddenWithoutPathToOutput: net.hiddenWithoutPathToOutput(),
    fileBytes: statSync(path).size,
    ...(q ? { quantization: { bits: q.bits, scale: q.scale, by: q.by, scales: q.scales.length } } : {}),
    memoryBytes,
    ...(model.training !== undefined ? { training: model.training } : {}),
  };
  if (flags.boolean("json")) printJson(info);
  else {
    const t = net.task;
    const lines = [
      `model       ${path}`,
      `task        ${t.kind === "next-symbol" ? `next symbol, alphabet of ${t.alphabet.length}, context ${t.context}` : t.kind === "classification" ? `classification into ${t.classes} classes, input shape ${t.inputShape.join("×")}` : "none"}`,
      `neurons     ${info.neurons} (${info.inputs} inputs, ${info.hidden} hidden, ${info.outputs} outputs)`,
      `edges       ${info.edges.toLocaleString("en")} (in-degree ${info.inDegree}; ${((100 * info.edgesFromInputs) / info.edges).toFixed(1)} % read inputs)`,
      `parameters  ${info.parameters.toLocaleString("en")} (weights + biases)`,
      `depth       ${info.depth} (Def. 3.16: neurons on the longest path)`,
      `levels      ${info.levelSizes.join(" ")}`,
      ...(info.hiddenWithoutPathToOutput > 0 ? [`stranded    ${info.hiddenWithoutPathToOutput} hidden neuron${info.hiddenWithoutPathToOutput > 1 ? "s" : ""} without a path to an output (their ${(info.hiddenWithoutPathToOutput * info.inDegree).toLocaleString("en")} in-edges cannot learn; train --reach-outputs avoids it at initialisation)`] : []),
      ...(q ? [`quantised   ${q.bits}-bit integers × ${q.scales.length} float32 scale${q.scales.length > 1 ? "s" : ""} (per ${q.scale}, chosen by ${q.by}); biases float32`] : []),
      `bytes       ${info.fileBytes.toLocaleString("en")} on disk, ${info.memoryBytes.toLocaleString("en")} in memory`,
      ...(model.training !== undefined && Object.keys(model.training).length > 0 ? [`trained     ${formatTraining(model.training)}`] : []),
    ];
    process.stdout.write(lines.join("\n") + "\n");
  }
  return 0;
}

function countInputEdges(sources: Int32Array, inputs: number): number {
  let c = 0;
  for (const s of sources) if (s < inputs) c++;
  return c;
}

/**
 * The training metadata on one line, in the file's key order: `seed 1, steps 3000, lr 0.005, …`.
 * Numbers, booleans and plain strings as they are; objects, arrays, null and strings that would
 * break the line or the list (a newline, ", ") as JSON.
 */
export function formatTraining(training: Record<string, unknown>): string {
  return Object.entries(training).map(([key, value]) => `${key} ${formatValue(value)}`).join(", ");
}

function formatValue(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  // eslint-disable-next-line no-control-regex
  if (typeof value === "string") return value === "" || /[\u0000-\u001f\u007f]|, /.test(value) ? JSON.stringify(value) : value;
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}
