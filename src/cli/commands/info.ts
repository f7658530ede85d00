/** `sparsewire info`: what a model file holds. */
import { statSync } from "node:fs";
import { loadModel } from "../../io/model-file.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { printJson } from "../common.js";

export const infoSpec: CommandSpec = {
  name: "info",
  summary: "neurons, edges, depth, level sizes, parameters and bytes of a model file",
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
    fileBytes: statSync(path).size,
    ...(q ? { quantization: { bits: q.bits, scale: q.scale, by: q.by, scales: q.scales.length } } : {}),
    memoryBytes,
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
      ...(q ? [`quantised   ${q.bits}-bit integers × ${q.scales.length} float32 scale${q.scales.length > 1 ? "s" : ""} (per ${q.scale}, chosen by ${q.by}); biases float32`] : []),
      `bytes       ${info.fileBytes.toLocaleString("en")} on disk, ${info.memoryBytes.toLocaleString("en")} in memory`,
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
