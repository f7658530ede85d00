/**
 * The JSON model file (format "sparsewire.network", version 1), documented in the README:
 *
 *   {"format": "sparsewire.network", "version": 1, "neurons": k, "inputs": n, "outputs": m,
 *    "inDegree": d, "activation": "relu", "task": {...}, "training": {...} (optional),
 *    "sources": [[...], ...], "weights": [[...], ...], "biases": [...]}
 *
 * sources[i] and weights[i] are neuron i's in-edges ([] for inputs), biases[i] its bias (0 for
 * inputs). Weights round-trip bit for bit: each float32 is written as the shortest decimal of its
 * exact float64 value, so Math.fround(parsed) gives it back (and -0 is written as -0.0).
 * Everything read is validated from `unknown`; errors name the file and the JSON path.
 * Browser-safe: strings in, strings out; files are model-file.ts's business.
 */
import type { Network } from "../graph/network.js";
import { describeJsonProblem, parseJson } from "./json-syntax.js";
import {
  ACTIVATION,
  buildNetwork,
  checkActivation,
  checkCount,
  checkCounts,
  checkFormatAndVersion,
  checkTrainingDepth,
  checkWritable,
  fileError,
  FORMAT_NAME,
  FORMAT_VERSION,
  isRecord,
  parseTask,
  show,
  typeName,
  type Header,
  type LoadedModel,
  type ModelExtra,
} from "./schema.js";

const DEFAULT_SOURCE = "model JSON";

/**
 * Exact text for a float32 value: Number(f32) is exact and String gives its shortest round trip.
 * -0 is written "-0.0": String(-0) is "0", and Python's json reads "-0" as the integer 0.
 */
function floatText(x: number): string {
  return Object.is(x, -0) ? "-0.0" : String(x);
}

/** Serialises a network as the documented JSON model file: one line per neuron row. */
export function networkToJson(net: Network, extra?: ModelExtra): string {
  checkWritable(net, "JSON");
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources, weights, biases } = net;
  const out: string[] = [];
  out.push("{");
  out.push(`  "format": ${JSON.stringify(FORMAT_NAME)},`);
  out.push(`  "version": ${FORMAT_VERSION},`);
  out.push(`  "neurons": ${k},`);
  out.push(`  "inputs": ${n},`);
  out.push(`  "outputs": ${m},`);
  out.push(`  "inDegree": ${d},`);
  out.push(`  "activation": ${JSON.stringify(ACTIVATION)},`);
  out.push(`  "task": ${JSON.stringify(net.task)},`);
  if (extra?.training !== undefined) out.push(`  "training": ${trainingText(extra.training, "JSON")},`);
  const rows = (values: (i: number, e: number) => string): string => {
    // The inputs' empty rows share one line; then one line per non-input neuron.
    const lines: string[] = [`    ${new Array<string>(n).fill("[]").join(", ")}`];
    for (let i = n; i < k; i++) {
      const cells = new Array<string>(d);
      for (let e = 0; e < d; e++) cells[e] = values(i, (i - n) * d + e);
      lines.push(`    [${cells.join(", ")}]`);
    }
    return lines.join(",\n");
  };
  out.push(`  "sources": [\n${rows((_, p) => String(sources[p]!))}\n  ],`);
  out.push(`  "weights": [\n${rows((_, p) => floatText(weights[p]!))}\n  ],`);
  const b = new Array<string>(k);
  for (let i = 0; i < k; i++) b[i] = floatText(biases[i]!);
  out.push(`  "biases": [${b.join(", ")}]`);
  out.push("}");
  return out.join("\n") + "\n";
}

/** JSON text of the training metadata; refuses values JSON cannot hold (cycles, BigInt). */
export function trainingText(training: Record<string, unknown>, format: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(training);
  } catch (e) {
    throw fileError(`cannot save as ${format}`, `"training" metadata is not JSON-serialisable (${e instanceof Error ? e.message : String(e)})`);
  }
  if (text === undefined) throw fileError(`cannot save as ${format}`, `"training" metadata is not JSON-serialisable`);
  return text;
}

/** Parses and validates a JSON model file; `source` (e.g. the path) names it in errors. */
export function networkFromJson(text: string, source: string = DEFAULT_SOURCE): Network {
  return modelFromJson(text, source).network;
}

/** Like networkFromJson, but also returns the "training" metadata if the file has it. */
export function modelFromJson(text: string, source: string = DEFAULT_SOURCE): LoadedModel {
  // A byte-order mark is not JSON, but editors on some platforms add one.
  const parsed = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!parsed.ok) throw fileError(source, `invalid JSON: ${describeJsonProblem(parsed.error)}`);
  const doc = parsed.value;
  if (!isRecord(doc)) throw fileError(source, `the top level must be a JSON object, got ${typeName(doc)}`);

  checkFormatAndVersion(source, doc["format"], doc["version"], "");
  checkActivation(source, doc["activation"], '"activation"');
  const header: Header = {
    neurons: checkCount(source, '"neurons"', doc["neurons"]),
    inputs: checkCount(source, '"inputs"', doc["inputs"]),
    outputs: checkCount(source, '"outputs"', doc["outputs"]),
    inDegree: doc["inDegree"] === undefined ? undefined : checkCount(source, '"inDegree"', doc["inDegree"]),
    task: parseTask(source, doc["task"], '"task"'),
  };
  checkCounts(source, header);
  const training = doc["training"];
  if (training !== undefined && !isRecord(training)) throw fileError(source, `"training" must be an object, got ${typeName(training)}`);
  if (training !== undefined) checkTrainingDepth(source, training, '"training"');

  const { neurons: k, inputs: n } = header;
  const sourceRows = checkRows(source, doc, "sources", k);
  const weightRows = checkRows(source, doc, "weights", k);
  const biasList = doc["biases"];
  if (biasList === undefined) throw fileError(source, `missing "biases"`);
  if (!Array.isArray(biasList)) throw fileError(source, `"biases" must be an array of ${k} numbers (one per neuron), got ${typeName(biasList)}`);
  if (biasList.length !== k) throw fileError(source, `"biases" has ${biasList.length} entries, expected one per neuron (neurons = ${k})`);

  // The in-degree: from "inDegree" if given, else from the first non-input row.
  const first = sourceRows[n]!;
  const d = header.inDegree ?? (Array.isArray(first) ? first.length : 0);
  const dFrom = header.inDegree !== undefined ? `"inDegree"` : `"sources"[${n}], the first non-input neuron`;
  if (d < 1) throw fileError(source, `"sources"[${n}] is empty, but neuron ${n} is not an input and needs at least one in-edge`);

  // First the row shapes, so that nothing of size (k-n)·d is allocated for a file that lies about d.
  for (let i = 0; i < k; i++) {
    const s: unknown = sourceRows[i];
    const w: unknown = weightRows[i];
    if (!Array.isArray(s)) throw fileError(source, `"sources"[${i}] must be an array of source neurons, got ${typeName(s)}`);
    if (!Array.isArray(w)) throw fileError(source, `"weights"[${i}] must be an array of numbers, got ${typeName(w)}`);
    if (i < n) {
      if (s.length !== 0) throw fileError(source, `"sources"[${i}] must be [] because neuron ${i} is an input (inputs have no in-edges), got ${s.length} entries`);
      if (w.length !== 0) throw fileError(source, `"weights"[${i}] must be [] because neuron ${i} is an input (inputs have no in-edges), got ${w.length} entries`);
      continue;
    }
    if (s.length !== d) throw fileError(source, `"sources"[${i}] has ${s.length} entries, expected in-degree ${d} (from ${dFrom})`);
    if (w.length !== d) throw fileError(source, `"weights"[${i}] has ${w.length} entries, expected in-degree ${d} (same as "sources"[${i}])`);
  }
  const sources = new Int32Array((k - n) * d);
  const weights = new Float32Array((k - n) * d);
  for (let i = n; i < k; i++) {
    const s = sourceRows[i] as unknown[];
    const w = weightRows[i] as unknown[];
    const base = (i - n) * d;
    for (let e = 0; e < d; e++) {
      const src: unknown = s[e];
      if (typeof src !== "number" || !Number.isInteger(src)) throw fileError(source, `"sources"[${i}][${e}] must be an integer neuron index, got ${typeName(src)}`);
      // Out-of-range indices are the graph's to report; only refuse what Int32Array would wrap.
      if (src < -0x80000000 || src > 0x7fffffff) throw fileError(source, `"sources"[${i}][${e}] is ${src}, outside 0..${k - 1}`);
      sources[base + e] = src;
      weights[base + e] = readFloat(source, w[e], `"weights"[${i}][${e}]`);
    }
  }
  const biases = new Float32Array(k);
  for (let i = 0; i < k; i++) biases[i] = readFloat(source, biasList[i], `"biases"[${i}]`);

  const network = buildNetwork(source, { ...header, inDegree: d }, sources, weights, biases);
  return training === undefined ? { network } : { network, training };
}

function checkRows(source: string, doc: Record<string, unknown>, name: string, k: number): unknown[] {
  const rows = doc[name];
  if (rows === undefined) throw fileError(source, `missing "${name}"`);
  if (!Array.isArray(rows)) throw fileError(source, `"${name}" must be an array with one row per neuron, got ${typeName(rows)}`);
  if (rows.length !== k) throw fileError(source, `"${name}" has ${rows.length} rows, expected one per neuron (neurons = ${k})`);
  return rows;
}

/** A finite number that fits float32 (JSON can hold 1e999, which parses as Infinity). */
function readFloat(source: string, value: unknown, path: string): number {
  if (typeof value !== "number") throw fileError(source, `${path} must be a number, got ${typeName(value)}`);
  if (!Number.isFinite(value)) throw fileError(source, `${path} is ${show(value)}, not a finite number`);
  const f = Math.fround(value);
  if (!Number.isFinite(f)) throw fileError(source, `${path} is ${show(value)}, outside the float32 range (±3.4e38)`);
  return f;
}
