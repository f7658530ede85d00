/**
 * The .safetensors model file: the ML ecosystem's safe tensor format, so the Python and Rust
 * `safetensors` libraries read our networks (and we read theirs). Layout:
 *
 *   8 bytes   N, little-endian u64: length of the header
 *   N bytes   UTF-8 JSON {"<name>": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 *             "__metadata__": {string: string}}, padded with spaces to a multiple of 8
 *   rest      the data buffer; offsets are relative to its start; values little-endian
 *
 * Tensors: `sources` I32 [k-n, d], `weights` F32 [k-n, d], `biases` F32 [k]. Everything else
 * (format, version, counts, activation, task and training as JSON strings) is in `__metadata__`,
 * whose values are all strings as the format requires. The reader applies the reference library's
 * rules (header size, offsets contiguous and covering the buffer exactly) and also accepts I64
 * sources and F64 weights/biases from other writers. Browser-safe: works on Uint8Array only.
 */
import type { Network } from "../graph/network.js";
import { trainingText } from "./json-format.js";
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

const DEFAULT_SOURCE = "model safetensors";

/** The reference implementation refuses headers above 100 MB (MAX_HEADER_SIZE). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Bytes per element of every dtype the format defines. */
const DTYPE_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, F4: 1, F6_E2M3: 1, F6_E3M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8, C64: 8,
};

interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Serialises a network as a safetensors file. */
export function networkToSafetensors(net: Network, extra?: ModelExtra): Uint8Array {
  checkWritable(net, "safetensors");
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources, weights, biases } = net;
  const metadata: Record<string, string> = {
    format: FORMAT_NAME,
    version: String(FORMAT_VERSION),
    neurons: String(k),
    inputs: String(n),
    outputs: String(m),
    inDegree: String(d),
    activation: ACTIVATION,
    task: JSON.stringify(net.task),
  };
  if (extra?.training !== undefined) metadata["training"] = trainingText(extra.training, "safetensors");
  return encodeSafetensors(
    [
      { name: "sources", dtype: "I32", shape: [k - n, d], data: littleEndian(sources) },
      { name: "weights", dtype: "F32", shape: [k - n, d], data: littleEndian(weights) },
      { name: "biases", dtype: "F32", shape: [k], data: littleEndian(biases) },
    ],
    metadata,
  );
}

/** One tensor for `encodeSafetensors`: its bytes are already little-endian. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/**
 * The safetensors container: 8-byte little-endian header length, the JSON header (`__metadata__`
 * first, then the tensors in the given order, contiguous from offset 0), padded with spaces to a
 * multiple of 8 as the reference writer does so the data is 8-aligned, then the data.
 */
export function encodeSafetensors(entries: readonly SafetensorsEntry[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.data.length] };
    offset += e.data.length;
  }
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(headerBytes);
    headerBytes = p;
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const e of entries) {
    out.set(e.data, at);
    at += e.data.length;
  }
  return out;
}

/** Little-endian bytes of an Int32Array, Float32Array or Float64Array, whatever the platform's byte order. */
export function littleEndian(a: Int32Array | Float32Array | Float64Array): Uint8Array {
  const size = a instanceof Float64Array ? 8 : 4;
  const out = new Uint8Array(size * a.length);
  const v = new DataView(out.buffer);
  if (a instanceof Int32Array) for (let i = 0; i < a.length; i++) v.setInt32(4 * i, a[i]!, true);
  else if (a instanceof Float64Array) for (let i = 0; i < a.length; i++) v.setFloat64(8 * i, a[i]!, true);
  else for (let i = 0; i < a.length; i++) v.setFloat32(4 * i, a[i]!, true);
  return out;
}

/** The tensors and metadata of any safetensors file (checked like a model file's container). */
export interface SafetensorsContents {
  metadata: Record<string, string>;
  names: string[];
  /** A copy of tensor `name` as the typed array of its dtype; refuses a missing tensor, another dtype or another length. */
  int32(name: string, length?: number): Int32Array;
  float32(name: string, length?: number): Float32Array;
  float64(name: string, length?: number): Float64Array;
}

/** Opens a safetensors container of I32, F32 and F64 tensors (checkpoints); `source` names it in errors. */
export function readSafetensors(bytes: Uint8Array, source: string): SafetensorsContents {
  const { tensors, metadata, view, dataStart } = readContainer(bytes, source);
  const read = <T extends Int32Array | Float32Array | Float64Array>(name: string, dtype: string, make: (n: number) => T, get: (at: number) => number, length?: number): T => {
    const info = tensor(source, tensors, name, [dtype]);
    const size = dtype === "F64" ? 8 : 4;
    const count = (info.end - info.begin) / size;
    if (length !== undefined && count !== length) throw fileError(source, `tensor "${name}" has ${count} values, expected ${length}`);
    const out = make(count);
    const at = dataStart + info.begin;
    for (let i = 0; i < count; i++) out[i] = get(at + size * i);
    return out;
  };
  return {
    metadata: metadata ?? {},
    names: [...tensors.keys()],
    int32: (name, length) => read(name, "I32", (n) => new Int32Array(n), (at) => view.getInt32(at, true), length),
    float32: (name, length) => read(name, "F32", (n) => new Float32Array(n), (at) => view.getFloat32(at, true), length),
    float64: (name, length) => read(name, "F64", (n) => new Float64Array(n), (at) => view.getFloat64(at, true), length),
  };
}

/** Parses and validates a safetensors model file; `source` (e.g. the path) names it in errors. */
export function networkFromSafetensors(bytes: Uint8Array, source: string = DEFAULT_SOURCE): Network {
  return modelFromSafetensors(bytes, source).network;
}

/** Like networkFromSafetensors, but also returns the "training" metadata if the file has it. */
export function modelFromSafetensors(bytes: Uint8Array, source: string = DEFAULT_SOURCE): LoadedModel {
  const { tensors, metadata, view, dataStart } = readContainer(bytes, source);

  // The sparsewire fields, all strings in safetensors metadata.
  if (metadata === undefined) throw fileError(source, `missing "__metadata__": a safetensors file, but not a sparsewire model (no "format", "version", ...)`);
  const meta = (key: string): string | undefined => (Object.hasOwn(metadata, key) ? metadata[key] : undefined);
  const M = (key: string): string => `"__metadata__"."${key}"`;
  checkFormatAndVersion(source, meta("format"), integerOrText(meta("version")), `"__metadata__".`);
  checkActivation(source, meta("activation"), M("activation"));
  const header: Header = {
    neurons: checkCount(source, M("neurons"), integerOrText(meta("neurons"))),
    inputs: checkCount(source, M("inputs"), integerOrText(meta("inputs"))),
    outputs: checkCount(source, M("outputs"), integerOrText(meta("outputs"))),
    inDegree: meta("inDegree") === undefined ? undefined : checkCount(source, M("inDegree"), integerOrText(meta("inDegree"))),
    task: parseTask(source, jsonField(source, meta("task"), M("task")), M("task")),
  };
  checkCounts(source, header);
  const training = jsonField(source, meta("training"), M("training"));
  if (training !== undefined && !isRecord(training)) throw fileError(source, `${M("training")} must hold a JSON object, got ${typeName(training)}`);
  if (training !== undefined) checkTrainingDepth(source, training, M("training"));

  // The three tensors, their dtypes and their shapes.
  const { neurons: k, inputs: n } = header;
  const sourcesInfo = tensor(source, tensors, "sources", ["I32", "I64"]);
  const weightsInfo = tensor(source, tensors, "weights", ["F32", "F64"]);
  const biasesInfo = tensor(source, tensors, "biases", ["F32", "F64"]);
  if (sourcesInfo.shape.length !== 2) throw fileError(source, `tensor "sources" has shape ${shapeText(sourcesInfo.shape)}, expected 2 dimensions [neurons - inputs, inDegree] = [${k - n}, d]`);
  const d = header.inDegree ?? sourcesInfo.shape[1]!;
  const dFrom = header.inDegree === undefined ? "" : ` (${M("inDegree")} = ${d})`;
  if (sourcesInfo.shape[0] !== k - n || sourcesInfo.shape[1] !== d) {
    throw fileError(source, `tensor "sources" has shape ${shapeText(sourcesInfo.shape)}, expected [neurons - inputs, inDegree] = [${k - n}, ${d}]${dFrom}`);
  }
  if (d < 1) throw fileError(source, `tensor "sources" has shape ${shapeText(sourcesInfo.shape)}: the in-degree must be at least 1`);
  if (weightsInfo.shape.length !== 2 || weightsInfo.shape[0] !== k - n || weightsInfo.shape[1] !== d) {
    throw fileError(source, `tensor "weights" has shape ${shapeText(weightsInfo.shape)}, expected [${k - n}, ${d}] (same as "sources")`);
  }
  if (biasesInfo.shape.length !== 1 || biasesInfo.shape[0] !== k) {
    throw fileError(source, `tensor "biases" has shape ${shapeText(biasesInfo.shape)}, expected [neurons] = [${k}]`);
  }

  // The values, read with DataView: little-endian whatever the platform, any alignment.
  const edges = (k - n) * d;
  const sources = new Int32Array(edges);
  const sourcesAt = dataStart + sourcesInfo.begin;
  for (let p = 0; p < edges; p++) {
    let s: number;
    if (sourcesInfo.dtype === "I32") {
      s = view.getInt32(sourcesAt + 4 * p, true);
    } else {
      const big = view.getBigInt64(sourcesAt + 8 * p, true);
      if (big < -0x80000000n || big > 0x7fffffffn) throw fileError(source, `tensor "sources": neuron ${n + Math.floor(p / d)} edge ${p % d} has source ${big}, outside 0..${k - 1}`);
      s = Number(big);
    }
    sources[p] = s;
  }
  const weights = readFloats(source, view, dataStart, weightsInfo, edges, (p) => `neuron ${n + Math.floor(p / d)} edge ${p % d}`);
  const biases = readFloats(source, view, dataStart, biasesInfo, k, (i) => `neuron ${i}`);

  const network = buildNetwork(source, { ...header, inDegree: d }, sources, weights, biases);
  return training === undefined ? { network } : { network, training };
}

/**
 * The safetensors container itself, checked as the reference library does: header length, UTF-8
 * JSON object, every tensor entry well formed, byte sizes matching shapes, tensors contiguous
 * without gaps or overlaps, and together covering the data buffer exactly.
 */
function readContainer(
  bytes: Uint8Array,
  source: string,
): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> | undefined; view: DataView; dataStart: number } {
  if (bytes.length < 8) throw fileError(source, `the file is ${bytes.length} bytes, too short for the 8-byte header length of a safetensors file (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const headerLength = high * 0x100000000 + low;
  if (high !== 0 || headerLength > SAFETENSORS_MAX_HEADER) {
    throw fileError(source, `header length ${headerLength} exceeds the safetensors limit of ${SAFETENSORS_MAX_HEADER} bytes (not a safetensors file?)`);
  }
  if (headerLength < 2) throw fileError(source, `header length ${headerLength} is too small for a JSON header (not a safetensors file?)`);
  if (headerLength > bytes.length - 8) {
    throw fileError(source, `header length ${headerLength} is larger than the ${bytes.length - 8} bytes after the length field: the file is truncated or not safetensors`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw fileError(source, `the header (bytes 8..${8 + headerLength}) is not valid UTF-8: not a safetensors file?`);
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw fileError(source, `the header is not valid JSON: ${describeJsonProblem(parsed.error)}`);
  const header = parsed.value;
  if (!isRecord(header)) throw fileError(source, `the header must be a JSON object, got ${typeName(header)}`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> | undefined;
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isRecord(entry)) throw fileError(source, `"__metadata__" must be an object of strings, got ${typeName(entry)}`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") throw fileError(source, `"__metadata__".${show(key)} must be a string (safetensors metadata maps strings to strings), got ${typeName(value)}`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const t = `tensor ${show(name)}`;
    if (!isRecord(entry)) throw fileError(source, `${t} must be an object with "dtype", "shape" and "data_offsets", got ${typeName(entry)}`);
    const dtype = entry["dtype"];
    const shape = entry["shape"];
    const offsets = entry["data_offsets"];
    if (typeof dtype !== "string") throw fileError(source, `${t}: "dtype" must be a string, got ${typeName(dtype)}`);
    const size = DTYPE_SIZE[dtype];
    if (size === undefined) throw fileError(source, `${t}: unknown dtype ${show(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((s): s is number => typeof s === "number" && Number.isSafeInteger(s) && s >= 0)) {
      throw fileError(source, `${t}: "shape" must be an array of non-negative integers, got ${show(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o): o is number => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)) {
      throw fileError(source, `${t}: "data_offsets" must be [begin, end] with non-negative integers, got ${show(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw fileError(source, `${t}: "data_offsets" [${begin}, ${end}] end before they begin`);
    const elements = shape.reduce((p: number, s: number) => p * s, 1);
    if (elements * size !== end - begin) {
      throw fileError(source, `${t}: shape ${shapeText(shape)} of ${dtype} needs ${elements * size} bytes, but "data_offsets" [${begin}, ${end}] hold ${end - begin}`);
    }
    tensors.set(name, { name, dtype, shape, begin, end });
  }

  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorInfo | undefined;
  for (const info of sorted) {
    const t = `tensor ${show(info.name)}`;
    if (info.begin < covered && previous !== undefined) {
      throw fileError(source, `${t} [${info.begin}, ${info.end}] overlaps tensor ${show(previous.name)} [${previous.begin}, ${previous.end}] in the data buffer`);
    }
    if (info.begin > covered) {
      throw fileError(source, `gap in the data buffer between byte ${covered} and ${info.begin} (before ${t}): safetensors tensors must be contiguous`);
    }
    if (info.end > dataLength) {
      throw fileError(source, `${t} "data_offsets" [${info.begin}, ${info.end}] run past the end of the ${dataLength}-byte data buffer: the file is truncated`);
    }
    covered = info.end;
    previous = info;
  }
  if (covered !== dataLength) {
    throw fileError(source, `the data buffer has ${dataLength} bytes but the tensors cover ${covered}: ${dataLength - covered} unexpected trailing bytes`);
  }
  return { tensors, metadata, view, dataStart };
}

function tensor(source: string, tensors: Map<string, TensorInfo>, name: string, dtypes: string[]): TensorInfo {
  const info = tensors.get(name);
  if (info === undefined) {
    const names = [...tensors.keys()];
    const present = names.slice(0, 5).map(show).join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");
    throw fileError(source, `missing tensor "${name}" (the file has ${present === "" ? "no tensors" : present})`);
  }
  if (!dtypes.includes(info.dtype)) throw fileError(source, `tensor "${name}" has dtype ${info.dtype}, expected ${dtypes.join(" or ")}`);
  return info;
}

/** F32 or F64 values into float32; refuses NaN, infinities and F64 values beyond float32's range. */
function readFloats(source: string, view: DataView, dataStart: number, info: TensorInfo, count: number, what: (p: number) => string): Float32Array {
  const out = new Float32Array(count);
  const at = dataStart + info.begin;
  const f64 = info.dtype === "F64";
  for (let p = 0; p < count; p++) {
    const raw = f64 ? view.getFloat64(at + 8 * p, true) : view.getFloat32(at + 4 * p, true);
    const value = Math.fround(raw);
    if (!Number.isFinite(value)) {
      const why = Number.isFinite(raw) ? `${raw}, outside the float32 range (±3.4e38)` : `${raw}, not a finite number`;
      throw fileError(source, `tensor "${info.name}": ${what(p)} is ${why}`);
    }
    out[p] = value;
  }
  return out;
}

/** "60" → 60, so that checkCount can name anything else ("6e1", "x") as the string it is. */
function integerOrText(value: string | undefined): number | string | undefined {
  return value !== undefined && /^-?[0-9]+$/.test(value) ? Number(value) : value;
}

/** A metadata string that holds JSON (task, training). */
function jsonField(source: string, value: string | undefined, path: string): unknown {
  if (value === undefined) return undefined;
  const parsed = parseJson(value);
  if (!parsed.ok) throw fileError(source, `${path} must hold JSON text, but it is invalid: ${describeJsonProblem(parsed.error)}`);
  return parsed.value;
}

function shapeText(shape: readonly unknown[]): string {
  return `[${shape.join(", ")}]`;
}
