/**
 * Quantised model files (format "sparsewire.quantized-network", version 1), both extensions.
 * A different format name from "sparsewire.network" on purpose: an older reader refuses the file
 * by name instead of reading integers as float weights. Loading gives the network with the
 * DEQUANTISED weights fround(q·w′), so engines, eval and the rest never need to know.
 *
 * .safetensors (little-endian; the container is the standard one, readable by the safetensors
 * libraries as raw tensors):
 *   "sources"  U8 [bytes]   source neuron of every edge, row-major (neuron, slot) as in the float
 *                           file, as a bit stream of `sourceBits` = ceil(log2 k) unsigned bits
 *                           per edge, least significant bit first (edge p at bits p·sb .. p·sb+sb−1)
 *   "weights"  I8 [k−n, d]  w′ for 5..8 bits;
 *              U8 [bytes]   for 2..4 bits: b-bit two's-complement fields, the same LSB-first stream
 *   "scales"   F32 [1] (scale "network") or [k−n] (scale "neuron", row r = neuron n+r)
 *   "biases"   F32 [k]
 *   "__metadata__": format, version, neurons, inputs, outputs, inDegree, activation, task,
 *                   training (as the float file), and "quantization": JSON text
 *                   {"bits", "scale": "network"|"neuron", "by", "estimate"?, "weights": "I8" or
 *                    "U8-packed-lsb", "sources": "U8-packed-lsb", "sourceBits"}
 *
 * .json: the float JSON file's fields with "format": "sparsewire.quantized-network", plus
 *   "quantization": {"bits", "scale", "by", "estimate"?}, "scales": [q, ...] (floats, shortest
 *   round-trip text), and "weights" rows of integers w′ instead of floats.
 *
 * Both round-trip bit for bit: decode(encode(x)) has the same integers, scales, sources and
 * biases, and encoding it again gives identical bytes. Browser-safe.
 */
import type { Network } from "../graph/network.js";
import { describeJsonProblem, parseJson } from "../io/json-syntax.js";
import { trainingText } from "../io/json-format.js";
import { encodeSafetensors, littleEndian, type SafetensorsEntry } from "../io/safetensors.js";
import {
  ACTIVATION, buildNetwork, checkActivation, checkCount, checkCounts, fileError, isRecord, parseTask, show, typeName,
  type Header, type LoadedModel, type ModelExtra,
} from "../io/schema.js";
import { UsageError } from "../util/errors.js";
import { dequantizedWeights, integerRange, LOSS_ESTIMATES, MAX_BITS, MIN_BITS, QUANTIZE_BY, SCALE_MODES, type LossEstimate, type Quantization, type QuantizeBy, type ScaleMode } from "./quantize.js";

export const QUANTIZED_FORMAT_NAME = "sparsewire.quantized-network";
export const QUANTIZED_FORMAT_VERSION = 1;

export interface LoadedQuantizedModel extends LoadedModel {
  /** The integers and scales as stored; `network` carries the dequantised weights. */
  quantization: Quantization;
  /** Size of the file in bytes. */
  bytes: number;
}

function floatText(x: number): string {
  return Object.is(x, -0) ? "-0.0" : String(x);
}

function checkQuantization(net: Network, q: Quantization): void {
  const rows = net.neurons - net.inputs;
  if (q.integers.length !== net.edges) throw new UsageError(`quantisation has ${q.integers.length} integers, the network ${net.edges} edges`);
  if (q.scales.length !== (q.scale === "network" ? 1 : rows)) throw new UsageError(`quantisation with scale "${q.scale}" has ${q.scales.length} scales, expected ${q.scale === "network" ? 1 : rows}`);
  const { min, max } = integerRange(q.bits);
  for (let e = 0; e < q.integers.length; e++) {
    if (q.integers[e]! < min || q.integers[e]! > max) throw new UsageError(`edge ${e}: integer ${q.integers[e]} is outside the ${q.bits}-bit range ${min}..${max}`);
  }
}

function quantizationMeta(q: Quantization): Record<string, unknown> {
  return { bits: q.bits, scale: q.scale, by: q.by, ...(q.estimate !== undefined ? { estimate: q.estimate } : {}) };
}

function headerFields(net: Network): Record<string, unknown> {
  return { neurons: net.neurons, inputs: net.inputs, outputs: net.outputs, inDegree: net.inDegree, activation: ACTIVATION, task: net.task };
}

// ---- JSON ----

/** The quantised JSON file of a network (its arrays give sources and biases) and a quantisation. */
export function quantizedToJson(net: Network, q: Quantization, extra?: ModelExtra): string {
  checkQuantization(net, q);
  const { neurons: k, inputs: n, inDegree: d } = net;
  const out: string[] = ["{", `  "format": ${JSON.stringify(QUANTIZED_FORMAT_NAME)},`, `  "version": ${QUANTIZED_FORMAT_VERSION},`];
  for (const [key, value] of Object.entries(headerFields(net))) out.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  if (extra?.training !== undefined) out.push(`  "training": ${trainingText(extra.training, "JSON")},`);
  out.push(`  "quantization": ${JSON.stringify(quantizationMeta(q))},`);
  out.push(`  "scales": [${Array.from(q.scales, floatText).join(", ")}],`);
  const rows = (cell: (p: number) => string): string => {
    const lines = [`    ${new Array<string>(n).fill("[]").join(", ")}`];
    for (let i = n; i < k; i++) {
      const cells = new Array<string>(d);
      for (let e = 0; e < d; e++) cells[e] = cell((i - n) * d + e);
      lines.push(`    [${cells.join(", ")}]`);
    }
    return lines.join(",\n");
  };
  out.push(`  "sources": [\n${rows((p) => String(net.sources[p]!))}\n  ],`);
  out.push(`  "weights": [\n${rows((p) => String(q.integers[p]!))}\n  ],`);
  out.push(`  "biases": [${Array.from(net.biases, floatText).join(", ")}]`);
  out.push("}");
  return out.join("\n") + "\n";
}

function parseQuantizationMeta(source: string, value: unknown, path: string): { bits: number; scale: ScaleMode; by: QuantizeBy; estimate?: LossEstimate } {
  if (!isRecord(value)) throw fileError(source, `${path} must be an object, got ${typeName(value)}`);
  const bits = value["bits"];
  if (typeof bits !== "number" || !Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) throw fileError(source, `${path}."bits" must be an integer ${MIN_BITS}..${MAX_BITS}, got ${show(bits)}`);
  const scale = value["scale"];
  if (!SCALE_MODES.includes(scale as ScaleMode)) throw fileError(source, `${path}."scale" must be ${SCALE_MODES.map((s) => `"${s}"`).join(" or ")}, got ${show(scale)}`);
  const by = value["by"];
  if (!QUANTIZE_BY.includes(by as QuantizeBy)) throw fileError(source, `${path}."by" must be one of ${QUANTIZE_BY.join(", ")}, got ${show(by)}`);
  const estimate = value["estimate"];
  if (estimate !== undefined && !LOSS_ESTIMATES.includes(estimate as LossEstimate)) throw fileError(source, `${path}."estimate" must be one of ${LOSS_ESTIMATES.join(", ")}, got ${show(estimate)}`);
  return { bits, scale: scale as ScaleMode, by: by as QuantizeBy, ...(estimate !== undefined ? { estimate: estimate as LossEstimate } : {}) };
}

function readScale(source: string, value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw fileError(source, `${path} must be a finite number, got ${typeName(value)}`);
  const f = Math.fround(value);
  if (!(f > 0) || !Number.isFinite(f)) throw fileError(source, `${path} is ${show(value)}, not a positive float32 scale`);
  return f;
}

function readBias(source: string, value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw fileError(source, `${path} must be a finite number, got ${typeName(value)}`);
  const f = Math.fround(value);
  if (!Number.isFinite(f)) throw fileError(source, `${path} is ${show(value)}, outside the float32 range`);
  return f;
}

function finish(source: string, header: Header & { inDegree: number }, sources: Int32Array, q: Quantization, biases: Float32Array, training: unknown, bytes: number): LoadedQuantizedModel {
  const edges = sources.length;
  const weights = dequantizedWeights(q, edges, header.inDegree);
  const network = buildNetwork(source, header, sources, weights, biases);
  if (training !== undefined && !isRecord(training)) throw fileError(source, `"training" must be an object, got ${typeName(training)}`);
  return training === undefined ? { network, quantization: q, bytes } : { network, quantization: q, bytes, training };
}

/** Parses a quantised JSON model file. */
export function quantizedFromJson(text: string, source = "quantized model JSON"): LoadedQuantizedModel {
  const parsed = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!parsed.ok) throw fileError(source, `invalid JSON: ${describeJsonProblem(parsed.error)}`);
  const doc = parsed.value;
  if (!isRecord(doc)) throw fileError(source, `the top level must be a JSON object, got ${typeName(doc)}`);
  if (doc["format"] !== QUANTIZED_FORMAT_NAME) throw fileError(source, `"format" must be "${QUANTIZED_FORMAT_NAME}", got ${show(doc["format"])}`);
  if (doc["version"] !== QUANTIZED_FORMAT_VERSION) throw fileError(source, `"version" must be ${QUANTIZED_FORMAT_VERSION}, got ${show(doc["version"])}`);
  checkActivation(source, doc["activation"], '"activation"');
  const header = {
    neurons: checkCount(source, '"neurons"', doc["neurons"]),
    inputs: checkCount(source, '"inputs"', doc["inputs"]),
    outputs: checkCount(source, '"outputs"', doc["outputs"]),
    inDegree: checkCount(source, '"inDegree"', doc["inDegree"]),
    task: parseTask(source, doc["task"], '"task"'),
  };
  checkCounts(source, header);
  const meta = parseQuantizationMeta(source, doc["quantization"], '"quantization"');
  const { neurons: k, inputs: n, inDegree: d } = header;
  const rows = k - n;
  const scaleList = doc["scales"];
  const expectScales = meta.scale === "network" ? 1 : rows;
  if (!Array.isArray(scaleList) || scaleList.length !== expectScales) throw fileError(source, `"scales" must be an array of ${expectScales} numbers (scale "${meta.scale}"), got ${Array.isArray(scaleList) ? `${scaleList.length} entries` : typeName(scaleList)}`);
  const scales = Float32Array.from(scaleList.map((v, i) => readScale(source, v, `"scales"[${i}]`)));
  const { min, max } = integerRange(meta.bits);
  const sources = new Int32Array(rows * d);
  const integers = new Int8Array(rows * d);
  for (const name of ["sources", "weights"] as const) {
    const list = doc[name];
    if (!Array.isArray(list) || list.length !== k) throw fileError(source, `"${name}" must be an array with one row per neuron (${k}), got ${Array.isArray(list) ? `${list.length} rows` : typeName(list)}`);
    for (let i = 0; i < k; i++) {
      const row: unknown = list[i];
      const want = i < n ? 0 : d;
      if (!Array.isArray(row) || row.length !== want) throw fileError(source, `"${name}"[${i}] must be an array of ${want} integers, got ${Array.isArray(row) ? `${row.length} entries` : typeName(row)}`);
      for (let e = 0; e < want; e++) {
        const v: unknown = row[e];
        if (typeof v !== "number" || !Number.isInteger(v)) throw fileError(source, `"${name}"[${i}][${e}] must be an integer, got ${typeName(v)}`);
        const p = (i - n) * d + e;
        if (name === "sources") {
          if (v < -0x80000000 || v > 0x7fffffff) throw fileError(source, `"sources"[${i}][${e}] is ${v}, outside 0..${k - 1}`);
          sources[p] = v;
        } else {
          if (v < min || v > max) throw fileError(source, `"weights"[${i}][${e}] is ${v}, outside the ${meta.bits}-bit range ${min}..${max}`);
          integers[p] = v;
        }
      }
    }
  }
  const biasList = doc["biases"];
  if (!Array.isArray(biasList) || biasList.length !== k) throw fileError(source, `"biases" must be an array of ${k} numbers`);
  const biases = Float32Array.from(biasList.map((v, i) => readBias(source, v, `"biases"[${i}]`)));
  return finish(source, header, sources, { ...meta, integers, scales }, biases, doc["training"], new TextEncoder().encode(text).length);
}

// ---- safetensors ----

/** Bits needed for a neuron index 0..k−1 (at least 1). */
export function sourceBitsFor(neurons: number): number {
  return Math.max(1, Math.ceil(Math.log2(neurons)));
}

function packBits(values: ArrayLike<number>, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  const mask = 2 ** bits - 1;
  let bit = 0;
  for (let p = 0; p < values.length; p++) {
    let v = values[p]! & mask;
    for (let t = 0; t < bits; t++, bit++) {
      if (v & 1) out[bit >> 3]! |= 1 << (bit & 7);
      v >>>= 1;
    }
  }
  return out;
}

function unpackBits(bytes: Uint8Array, count: number, bits: number, signed: boolean): Int32Array {
  const out = new Int32Array(count);
  let bit = 0;
  for (let p = 0; p < count; p++) {
    let v = 0;
    for (let t = 0; t < bits; t++, bit++) if (bytes[bit >> 3]! & (1 << (bit & 7))) v |= 1 << t;
    out[p] = signed && v >= 2 ** (bits - 1) ? v - 2 ** bits : v;
  }
  return out;
}

/** The quantised safetensors file of a network (sources and biases from it) and a quantisation. */
export function quantizedToSafetensors(net: Network, q: Quantization, extra?: ModelExtra): Uint8Array {
  checkQuantization(net, q);
  const { neurons: k, inputs: n, inDegree: d } = net;
  const sourceBits = sourceBitsFor(k);
  const packedWeights = q.bits <= 4;
  const metadata: Record<string, string> = {
    format: QUANTIZED_FORMAT_NAME,
    version: String(QUANTIZED_FORMAT_VERSION),
    neurons: String(k),
    inputs: String(n),
    outputs: String(net.outputs),
    inDegree: String(d),
    activation: ACTIVATION,
    task: JSON.stringify(net.task),
    quantization: JSON.stringify({ ...quantizationMeta(q), weights: packedWeights ? "U8-packed-lsb" : "I8", sources: "U8-packed-lsb", sourceBits }),
  };
  if (extra?.training !== undefined) metadata["training"] = trainingText(extra.training, "safetensors");
  const sourceBytes = packBits(net.sources, sourceBits);
  const weightBytes = packedWeights ? packBits(q.integers, q.bits) : new Uint8Array(q.integers.buffer, q.integers.byteOffset, q.integers.length).slice();
  const entries: SafetensorsEntry[] = [
    { name: "sources", dtype: "U8", shape: [sourceBytes.length], data: sourceBytes },
    { name: "weights", dtype: packedWeights ? "U8" : "I8", shape: packedWeights ? [weightBytes.length] : [k - n, d], data: weightBytes },
    { name: "scales", dtype: "F32", shape: [q.scales.length], data: littleEndian(q.scales) },
    { name: "biases", dtype: "F32", shape: [k], data: littleEndian(net.biases) },
  ];
  return encodeSafetensors(entries, metadata);
}

/** The header of a safetensors file, or undefined if the bytes are not one. */
function safetensorsHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true);
  if (view.getUint32(4, true) !== 0 || length < 2 || length > bytes.length - 8) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + length));
  } catch {
    return undefined;
  }
  const parsed = parseJson(text);
  if (!parsed.ok || !isRecord(parsed.value)) return undefined;
  return { header: parsed.value, dataStart: 8 + length };
}

/** Parses a quantised safetensors model file. */
export function quantizedFromSafetensors(bytes: Uint8Array, source = "quantized model safetensors"): LoadedQuantizedModel {
  const found = safetensorsHeader(bytes);
  if (!found) throw fileError(source, "not a safetensors file (bad header length or header JSON)");
  const { header, dataStart } = found;
  const metadata = header["__metadata__"];
  if (!isRecord(metadata)) throw fileError(source, `missing "__metadata__"`);
  const meta = (key: string): string | undefined => (typeof metadata[key] === "string" ? (metadata[key] as string) : undefined);
  if (meta("format") !== QUANTIZED_FORMAT_NAME) throw fileError(source, `"__metadata__"."format" must be "${QUANTIZED_FORMAT_NAME}", got ${show(meta("format"))}`);
  if (meta("version") !== String(QUANTIZED_FORMAT_VERSION)) throw fileError(source, `"__metadata__"."version" must be "${QUANTIZED_FORMAT_VERSION}", got ${show(meta("version"))}`);
  checkActivation(source, meta("activation"), '"__metadata__"."activation"');
  const int = (key: string): unknown => {
    const v = meta(key);
    return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : v;
  };
  const json = (key: string): unknown => {
    const v = meta(key);
    if (v === undefined) return undefined;
    const p = parseJson(v);
    if (!p.ok) throw fileError(source, `"__metadata__"."${key}" must hold JSON text: ${describeJsonProblem(p.error)}`);
    return p.value;
  };
  const h = {
    neurons: checkCount(source, '"__metadata__"."neurons"', int("neurons")),
    inputs: checkCount(source, '"__metadata__"."inputs"', int("inputs")),
    outputs: checkCount(source, '"__metadata__"."outputs"', int("outputs")),
    inDegree: checkCount(source, '"__metadata__"."inDegree"', int("inDegree")),
    task: parseTask(source, json("task"), '"__metadata__"."task"'),
  };
  checkCounts(source, h);
  const qm = json("quantization");
  const q = parseQuantizationMeta(source, qm, '"__metadata__"."quantization"');
  const { neurons: k, inputs: n, inDegree: d } = h;
  const rows = k - n;
  const edges = rows * d;
  const sourceBits = isRecord(qm) ? qm["sourceBits"] : undefined;
  if (sourceBits !== sourceBitsFor(k)) throw fileError(source, `"quantization"."sourceBits" must be ${sourceBitsFor(k)} for ${k} neurons, got ${show(sourceBits)}`);
  const packedWeights = q.bits <= 4;
  const dataLength = bytes.length - dataStart;
  const expected: Array<[string, string, number[], number]> = [
    ["sources", "U8", [Math.ceil((edges * sourceBits) / 8)], Math.ceil((edges * sourceBits) / 8)],
    ["weights", packedWeights ? "U8" : "I8", packedWeights ? [Math.ceil((edges * q.bits) / 8)] : [rows, d], packedWeights ? Math.ceil((edges * q.bits) / 8) : edges],
    ["scales", "F32", [q.scale === "network" ? 1 : rows], 4 * (q.scale === "network" ? 1 : rows)],
    ["biases", "F32", [k], 4 * k],
  ];
  const data = new Map<string, Uint8Array>();
  let covered = 0;
  for (const [name, dtype, shape, size] of expected) {
    const t = header[name];
    if (!isRecord(t)) throw fileError(source, `missing tensor "${name}"`);
    const offsets = t["data_offsets"];
    if (t["dtype"] !== dtype) throw fileError(source, `tensor "${name}" has dtype ${show(t["dtype"])}, expected ${dtype}`);
    if (JSON.stringify(t["shape"]) !== JSON.stringify(shape)) throw fileError(source, `tensor "${name}" has shape ${show(t["shape"])}, expected ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets[0] !== covered || offsets[1] !== covered + size) throw fileError(source, `tensor "${name}": "data_offsets" ${show(offsets)}, expected [${covered}, ${covered + size}]`);
    if (covered + size > dataLength) throw fileError(source, `tensor "${name}" runs past the end of the ${dataLength}-byte data buffer: the file is truncated`);
    data.set(name, bytes.subarray(dataStart + covered, dataStart + covered + size));
    covered += size;
  }
  for (const name of Object.keys(header)) {
    if (name !== "__metadata__" && !data.has(name)) throw fileError(source, `unexpected tensor "${name}"`);
  }
  if (covered !== dataLength) throw fileError(source, `the data buffer has ${dataLength} bytes but the tensors cover ${covered}`);
  const sources = unpackBits(data.get("sources")!, edges, sourceBits, false);
  const integers = packedWeights
    ? Int8Array.from(unpackBits(data.get("weights")!, edges, q.bits, true))
    : new Int8Array(data.get("weights")!.slice().buffer);
  const { min, max } = integerRange(q.bits);
  for (let p = 0; p < edges; p++) {
    if (integers[p]! < min || integers[p]! > max) throw fileError(source, `tensor "weights": neuron ${n + Math.floor(p / d)} edge ${p % d} is ${integers[p]}, outside the ${q.bits}-bit range ${min}..${max}`);
  }
  const floats = (name: string, count: number): Float32Array => {
    const b = data.get(name)!;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Float32Array.from({ length: count }, (_, i) => v.getFloat32(4 * i, true));
  };
  const scales = floats("scales", q.scale === "network" ? 1 : rows);
  for (let r = 0; r < scales.length; r++) if (!(scales[r]! > 0) || !Number.isFinite(scales[r]!)) throw fileError(source, `tensor "scales": entry ${r} is ${scales[r]}, not a positive finite scale`);
  const biases = floats("biases", k);
  for (let i = 0; i < k; i++) if (!Number.isFinite(biases[i]!)) throw fileError(source, `tensor "biases": neuron ${i} is ${biases[i]}, not a finite number`);
  return finish(source, h, sources, { ...q, integers, scales }, biases, json("training"), bytes.length);
}

// ---- detection (for loadModel) ----

/** True if the bytes are a quantised model file of the given format (cheap: header / prefix only). */
export function isQuantizedModelFile(bytes: Uint8Array, format: "json" | "safetensors"): boolean {
  if (format === "safetensors") {
    const found = safetensorsHeader(bytes);
    const meta = found?.header["__metadata__"];
    return isRecord(meta) && meta["format"] === QUANTIZED_FORMAT_NAME;
  }
  const text = new TextDecoder("utf-8").decode(bytes.subarray(0, Math.min(bytes.length, 1 << 16)));
  return /"format"\s*:\s*"sparsewire\.quantized-network"/.test(text);
}

/** Decodes a quantised model file from its bytes, or returns undefined if it is not one. */
export function readQuantizedModel(bytes: Uint8Array, format: "json" | "safetensors", source: string): LoadedQuantizedModel | undefined {
  if (!isQuantizedModelFile(bytes, format)) return undefined;
  if (format === "safetensors") return quantizedFromSafetensors(bytes, source);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fileError(source, "not valid UTF-8 text, so not a JSON model file");
  }
  return quantizedFromJson(text, source);
}
