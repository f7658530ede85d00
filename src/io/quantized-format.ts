/**
 * Quantised model files (format "sparsewire.quantized-network", version 2; version 1 files are still
 * read), both extensions. A different format name from "sparsewire.network" on purpose: an older
 * reader refuses the file by name instead of reading integers as float weights. Loading gives the
 * network with the DEQUANTISED weights fround(q·w′), so engines, eval and the rest never need to know.
 *
 * Canonical slot order: the order of a neuron's in-edges (its d slots) means nothing for the network
 * function, so both writers store each neuron's slots sorted by ascending source, the integers w′
 * moved along with their sources (per-neuron scales and biases are per neuron, so unaffected). A
 * loaded network therefore has sorted rows (sortedSlots gives them without a file); it computes the
 * same function as the one saved (a float32 sum over the slots may round differently in the last
 * bit when its terms come in another order), and saving it again gives identical bytes.
 * quantizeNetwork itself keeps the input's order, so that its integers stay parallel to the float
 * weights and gradients.
 *
 * .safetensors, version 2 (little-endian; the container is the standard one, readable by the
 * safetensors libraries as raw tensors):
 *   "sources"  U8 [bytes]   the graph as a bit stream ("U8-rice-gaps-lsb", below)
 *   "weights"  I8 [k−n, d]  w′ for 5..8 bits, rows in neuron order, slots in the sorted order;
 *              U8 [bytes]   for 2..4 bits: b-bit two's-complement fields, least significant bit
 *                           first (edge p at bits p·b .. p·b+b−1 of the stream), zero padding bits
 *   "scales"   F32 [1] (scale "network") or [k−n] (scale "neuron", row r = neuron n+r)
 *   "biases"   F32 [k−n]    neurons n..k−1; inputs have no bias (Def. 3.20: ±0 in memory) and load as +0
 *   "__metadata__": format, version "2", neurons, inputs, outputs, inDegree, activation, task,
 *                   training (as the float file), and "quantization": JSON text
 *                   {"bits", "scale": "network"|"neuron", "by", "estimate"?, "weights": "I8" or
 *                    "U8-packed-lsb", "sources": "U8-rice-gaps-lsb"}
 *
 * The "U8-rice-gaps-lsb" stream: bits are numbered from the least significant bit of byte 0 (bit t
 * of the stream is bit t mod 8 of byte ⌊t/8⌋); multi-bit fields are written least significant bit
 * first. Let R = bit length of k−1 (11 for k = 1,700), unary(u) = u one-bits then one zero-bit, and
 * zigzag(δ) = 2δ for δ ≥ 0, −2δ−1 for δ < 0. With r₋ = 0 before the first neuron, for every neuron
 * i = n..k−1 in index order, whose sources sorted ascending are s₀ < s₁ < … < s_{d−1}:
 *   1. its Rice parameter r (0..R) as unary(zigzag(r − r₋)); then r₋ = r;
 *   2. d values v₀ = s₀ and v_j = s_j − s_{j−1} − 1 (j ≥ 1; ≥ 0 because the sources are distinct),
 *      each as unary(⌊v / 2^r⌋) followed by the low r bits of v (v mod 2^r).
 * The stream ends with zero bits up to the next byte boundary, and the tensor has no bytes after it.
 * Duplicate sources cannot be written (gaps are ≥ 1); a loader refuses a stream that ends early,
 * a parameter outside 0..R, a source above k−1, non-zero padding or trailing bytes, and then (as
 * for every model file) self-loops and cycles. The file stores nothing per input neuron, so its
 * "inputs" cannot be checked against data: more than MAX_UNSTORED_INPUTS (2^20; text with the
 * largest context, 4,096, has 110,592) are refused before anything is allocated, by the writer too. A writer may pick any r per neuron; sparsewire picks
 * the one giving the fewest bits for that neuron, parameter code included (ties: the smallest r).
 * A random thesis network (k = 1,700, n = 540, d = 29) needs 6.66 bits per edge, parameter codes
 * included, against log₂ C(i, d) ≈ 6.49 (the information in rows of d sources below i) and 11 for
 * fixed-width indices (version 1); its 8-bit file with one scale is 0.242 of the float file.
 *
 * .safetensors, version 1 (read only): "sources" U8, every edge's source in `sourceBits` =
 *   ⌈log₂ k⌉ unsigned bits, LSB-first as above, slots in any order; "biases" F32 [k]; the
 *   quantization metadata says "sources": "U8-packed-lsb" and "sourceBits".
 *
 * .json (versions 1 and 2 are the same layout): the float JSON file's fields with "format":
 *   "sparsewire.quantized-network", plus "quantization": {"bits", "scale", "by", "estimate"?},
 *   "scales": [q, ...] (floats, shortest round-trip text), and "weights" rows of integers w′ instead
 *   of floats. The writer sorts slots as above; the reader accepts any slot order.
 *
 * Both round-trip bit for bit: decode(encode(x)) has the same integers, scales, sources and
 * biases as x with its slots sorted (and, in .safetensors, input biases +0), and encoding it again
 * gives identical bytes. Browser-safe.
 */
import { Network } from "../graph/network.js";
import { describeJsonProblem, parseJson } from "./json-syntax.js";
import { trainingText } from "./json-format.js";
import { encodeSafetensors, littleEndian, type SafetensorsEntry } from "./safetensors.js";
import {
  ACTIVATION, buildNetwork, checkActivation, checkCount, checkCounts, checkTrainingDepth, fileError, isRecord, parseTask, show, typeName,
  type Header, type LoadedModel, type ModelExtra,
} from "./schema.js";
import { ModelFileError, SparsewireError, UsageError } from "../util/errors.js";
import { dequantizedWeights, integerRange, LOSS_ESTIMATES, MAX_BITS, MIN_BITS, QUANTIZE_BY, SCALE_MODES, type LossEstimate, type Quantization, type QuantizeBy, type ScaleMode } from "./quantization.js";

/** The "format" field of quantised model files; float files say "sparsewire.network", so neither reader mistakes the other. */
export const QUANTIZED_FORMAT_NAME = "sparsewire.quantized-network";
/** The version written. */
export const QUANTIZED_FORMAT_VERSION = 2;
/** The versions read: 1 (fixed-width sources, all k biases) and 2. */
export const QUANTIZED_READABLE_VERSIONS: readonly number[] = [1, 2];
/**
 * Most input neurons a version 2 safetensors file may declare: it stores nothing per input, so a
 * corrupt count (2^31) would otherwise be allocated as given (issue 14: 700 bytes loaded as 7 GB).
 */
export const MAX_UNSTORED_INPUTS = 2 ** 20;
/** The "sources" coding of version 2 safetensors files (see the top of this file). */
export const SOURCE_CODING = "U8-rice-gaps-lsb";

/** A loaded quantised model file: the network (dequantised weights, sorted slots) and its quantisation. */
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

/**
 * The network's edges in file order: each neuron's slots sorted by ascending source, its integers
 * w′ and float weights moved along (the network function is unchanged). Copies; inputs untouched.
 */
export function sortedSlots(net: Network, q: Quantization): { sources: Int32Array; integers: Int8Array; weights: Float32Array } {
  checkQuantization(net, q);
  const { inDegree: d } = net;
  const rows = net.neurons - net.inputs;
  const sources = net.sources.slice();
  const integers = q.integers.slice();
  const weights = net.weights.slice();
  const order = Array.from({ length: d }, (_, e) => e);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    let sorted = true;
    for (let e = 1; e < d && sorted; e++) if (net.sources[base + e]! < net.sources[base + e - 1]!) sorted = false;
    if (sorted) continue;
    for (let e = 0; e < d; e++) order[e] = e;
    order.sort((a, b) => net.sources[base + a]! - net.sources[base + b]!);
    for (let e = 0; e < d; e++) {
      sources[base + e] = net.sources[base + order[e]!]!;
      integers[base + e] = q.integers[base + order[e]!]!;
      weights[base + e] = net.weights[base + order[e]!]!;
    }
  }
  return { sources, integers, weights };
}

/**
 * The network a quantised file of (net, q) loads as: slots sorted by source, weights dequantised,
 * input biases +0 (the .safetensors file does not store them). Evaluate this one to report the
 * numbers the saved file will give: the slot order can change a float32 sum in its last bit.
 */
export function quantizedFileNetwork(net: Network, q: Quantization): Network {
  const sorted = sortedSlots(net, q);
  const biases = net.biases.slice();
  biases.fill(0, 0, net.inputs);
  const weights = dequantizedWeights({ ...q, integers: sorted.integers }, net.edges, net.inDegree);
  return Network.fromArrays({ neurons: net.neurons, inputs: net.inputs, outputs: net.outputs, inDegree: net.inDegree, sources: sorted.sources, weights, biases, task: net.task });
}

/** A corrupt graph in a quantised file is a bad file: one ModelFileError (buildNetwork's messages already name the file). */
function asFileError(e: unknown): unknown {
  return e instanceof SparsewireError && !(e instanceof ModelFileError) ? new ModelFileError(e.message, e.hint) : e;
}

// ---- JSON ----

/** The quantised JSON file of a network (its arrays give sources and biases) and a quantisation. */
export function quantizedToJson(net: Network, q: Quantization, extra?: ModelExtra): string {
  const sorted = sortedSlots(net, q);
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
  out.push(`  "sources": [\n${rows((p) => String(sorted.sources[p]!))}\n  ],`);
  out.push(`  "weights": [\n${rows((p) => String(sorted.integers[p]!))}\n  ],`);
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

function readableHint(version: unknown): string | undefined {
  return typeof version === "number" && version > QUANTIZED_FORMAT_VERSION ? "upgrade sparsewire to read this file" : undefined;
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
  let network: Network;
  try {
    network = buildNetwork(source, header, sources, weights, biases);
  } catch (e) {
    throw asFileError(e);
  }
  if (training !== undefined && !isRecord(training)) throw fileError(source, `"training" must be an object, got ${typeName(training)}`);
  if (training !== undefined) checkTrainingDepth(source, training, '"training"');
  return training === undefined ? { network, quantization: q, bytes } : { network, quantization: q, bytes, training };
}

/** Parses a quantised JSON model file. */
export function quantizedFromJson(text: string, source = "quantized model JSON"): LoadedQuantizedModel {
  const parsed = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!parsed.ok) throw fileError(source, `invalid JSON: ${describeJsonProblem(parsed.error)}`);
  const doc = parsed.value;
  if (!isRecord(doc)) throw fileError(source, `the top level must be a JSON object, got ${typeName(doc)}`);
  if (doc["format"] !== QUANTIZED_FORMAT_NAME) throw fileError(source, `"format" must be "${QUANTIZED_FORMAT_NAME}", got ${show(doc["format"])}`);
  if (!QUANTIZED_READABLE_VERSIONS.includes(doc["version"] as number)) throw fileError(source, `"version" must be ${QUANTIZED_READABLE_VERSIONS.join(" or ")}, got ${show(doc["version"])}`, readableHint(doc["version"]));
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
  // First the row shapes, so that nothing of size (k−n)·d is allocated for a file that lies about k or d.
  for (const name of ["sources", "weights"] as const) {
    const list = doc[name];
    if (!Array.isArray(list) || list.length !== k) throw fileError(source, `"${name}" must be an array with one row per neuron (${k}), got ${Array.isArray(list) ? `${list.length} rows` : typeName(list)}`);
    for (let i = 0; i < k; i++) {
      const row: unknown = list[i];
      const want = i < n ? 0 : d;
      if (!Array.isArray(row) || row.length !== want) throw fileError(source, `"${name}"[${i}] must be an array of ${want} integers, got ${Array.isArray(row) ? `${row.length} entries` : typeName(row)}`);
    }
  }
  const sources = new Int32Array(rows * d);
  const integers = new Int8Array(rows * d);
  for (const name of ["sources", "weights"] as const) {
    const list = doc[name] as unknown[];
    for (let i = n; i < k; i++) {
      const row = list[i] as unknown[];
      for (let e = 0; e < d; e++) {
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

/** Bits needed for a neuron index 0..k−1 (at least 1): the field width of version 1 files. */
export function sourceBitsFor(neurons: number): number {
  return Math.max(1, Math.ceil(Math.log2(neurons)));
}

/** R: the largest Rice parameter of the gap stream, the bit length of k−1. */
export function maxRiceParameter(neurons: number): number {
  return neurons <= 1 ? 0 : 32 - Math.clz32(neurons - 1);
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

const zigzag = (delta: number): number => (delta >= 0 ? 2 * delta : -2 * delta - 1);

/**
 * The "U8-rice-gaps-lsb" stream of a graph whose rows (neurons n..k−1, d slots each) hold ascending,
 * distinct sources in 0..k−1 (see the top of this file). Throws UsageError for rows that do not.
 */
export function encodeSourceGaps(sources: Int32Array, neurons: number, inputs: number, inDegree: number): Uint8Array {
  const k = neurons;
  const d = inDegree;
  const rows = k - inputs;
  if (sources.length !== rows * d) throw new UsageError(`encodeSourceGaps: ${sources.length} sources, expected (k−n)·d = ${rows * d}`);
  const R = maxRiceParameter(k);
  const values = new Float64Array(d);
  const params = new Uint8Array(rows);
  // Pass 1: the values, each neuron's cheapest parameter (ties: the smallest) and the length.
  let totalBits = 0;
  let prev = 0;
  for (let row = 0; row < rows; row++) {
    const base = row * d;
    let next = 0; // smallest source the next slot may have
    for (let e = 0; e < d; e++) {
      const s = sources[base + e]!;
      if (!(s >= next && s <= k - 1)) throw new UsageError(`encodeSourceGaps: neuron ${inputs + row} slot ${e} has source ${s}: the sources of a row must be ascending, distinct and in 0..${k - 1}`);
      values[e] = s - next;
      next = s + 1;
    }
    let best = Infinity;
    let bestR = 0;
    for (let r = 0; r <= R; r++) {
      const scale = 2 ** r;
      let bits = zigzag(r - prev) + 1;
      for (let e = 0; e < d; e++) bits += Math.floor(values[e]! / scale) + 1 + r;
      if (bits < best) {
        best = bits;
        bestR = r;
      }
    }
    params[row] = bestR;
    prev = bestR;
    totalBits += best;
  }
  // Pass 2: write.
  const out = new Uint8Array(Math.ceil(totalBits / 8));
  let bit = 0;
  const ones = (count: number): void => {
    for (let t = 0; t < count; t++, bit++) out[bit >> 3]! |= 1 << (bit & 7);
    bit++; // the terminating zero
  };
  prev = 0;
  for (let row = 0; row < rows; row++) {
    const base = row * d;
    const r = params[row]!;
    ones(zigzag(r - prev));
    prev = r;
    let next = 0;
    for (let e = 0; e < d; e++) {
      const v = sources[base + e]! - next;
      next = sources[base + e]! + 1;
      const scale = 2 ** r;
      ones(Math.floor(v / scale));
      let low = v % scale;
      for (let t = 0; t < r; t++, bit++) {
        if (low & 1) out[bit >> 3]! |= 1 << (bit & 7);
        low = Math.floor(low / 2);
      }
    }
  }
  if (bit !== totalBits) throw new Error(`encodeSourceGaps: wrote ${bit} bits, planned ${totalBits}`);
  return out;
}

/**
 * Decodes a "U8-rice-gaps-lsb" stream into (k−n)·d sources, rows ascending. Every way the stream
 * can be wrong is one ModelFileError naming the neuron and slot; self-loops and cycles are left to
 * the network's validation.
 */
export function decodeSourceGaps(bytes: Uint8Array, neurons: number, inputs: number, inDegree: number, source = "quantized model safetensors"): Int32Array {
  const k = neurons;
  const d = inDegree;
  const R = maxRiceParameter(k);
  const out = new Int32Array((k - inputs) * d);
  const totalBits = bytes.length * 8;
  const bad = (message: string): ModelFileError => fileError(source, `tensor "sources" (${SOURCE_CODING}): ${message}`);
  let bit = 0;
  let where = "";
  const readBit = (): number => {
    if (bit >= totalBits) throw bad(`the stream ends inside ${where} after ${bytes.length} bytes: the file is truncated or corrupt`);
    const b = (bytes[bit >> 3]! >> (bit & 7)) & 1;
    bit++;
    return b;
  };
  let prev = 0;
  for (let i = inputs; i < k; i++) {
    where = `the Rice parameter of neuron ${i}`;
    let z = 0;
    while (readBit() === 1) if (++z > 2 * R) throw bad(`neuron ${i}: the Rice parameter code runs on past the largest possible one (0..${R}): corrupt`);
    const r = prev + (z & 1 ? -(z + 1) / 2 : z / 2);
    if (r < 0 || r > R) throw bad(`neuron ${i}: Rice parameter ${r}, outside 0..${R}: corrupt`);
    prev = r;
    const scale = 2 ** r;
    const base = (i - inputs) * d;
    let next = 0;
    for (let e = 0; e < d; e++) {
      where = `neuron ${i} slot ${e}`;
      const room = k - 1 - next; // the largest value that keeps the source ≤ k−1
      const tooLarge = (): ModelFileError => bad(`neuron ${i} slot ${e}: the source would exceed ${k - 1} (the sources before it end at ${next - 1}, and every slot needs a distinct larger one): corrupt`);
      if (room < 0) throw tooLarge();
      const qMax = Math.floor(room / scale);
      let q = 0;
      while (readBit() === 1) if (++q > qMax) throw tooLarge();
      let low = 0;
      for (let t = 0, f = 1; t < r; t++, f *= 2) low += readBit() * f;
      const v = q * scale + low;
      if (v > room) throw tooLarge();
      out[base + e] = next + v;
      next = next + v + 1;
    }
  }
  const used = Math.ceil(bit / 8);
  if (used < bytes.length) throw bad(`${bytes.length - used} byte${bytes.length - used === 1 ? "" : "s"} after the end of the stream (${used} bytes): corrupt`);
  if (bit < totalBits && bytes[used - 1]! >> (bit & 7) !== 0) throw bad(`non-zero padding bits after the end of the stream: corrupt`);
  return out;
}

/**
 * The quantised safetensors file (version 2) of a network (sources and biases from it) and a
 * quantisation; slots are stored sorted by source.
 */
export function quantizedToSafetensors(net: Network, q: Quantization, extra?: ModelExtra): Uint8Array {
  if (net.inputs > MAX_UNSTORED_INPUTS) throw new UsageError(`cannot save ${net.inputs} inputs as quantised safetensors: a version 2 file may declare at most ${MAX_UNSTORED_INPUTS}`, "save the quantised model as .json");
  const sorted = sortedSlots(net, q);
  const { neurons: k, inputs: n, inDegree: d } = net;
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
    quantization: JSON.stringify({ ...quantizationMeta(q), weights: packedWeights ? "U8-packed-lsb" : "I8", sources: SOURCE_CODING }),
  };
  if (extra?.training !== undefined) metadata["training"] = trainingText(extra.training, "safetensors");
  const sourceBytes = encodeSourceGaps(sorted.sources, k, n, d);
  const weightBytes = packedWeights ? packBits(sorted.integers, q.bits) : new Uint8Array(sorted.integers.buffer, sorted.integers.byteOffset, sorted.integers.length).slice();
  const entries: SafetensorsEntry[] = [
    { name: "sources", dtype: "U8", shape: [sourceBytes.length], data: sourceBytes },
    { name: "weights", dtype: packedWeights ? "U8" : "I8", shape: packedWeights ? [weightBytes.length] : [k - n, d], data: weightBytes },
    { name: "scales", dtype: "F32", shape: [q.scales.length], data: littleEndian(q.scales) },
    { name: "biases", dtype: "F32", shape: [k - n], data: littleEndian(net.biases.subarray(n)) },
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

/**
 * The bytes as signed integers, copied. Not `new Int8Array(bytes.slice().buffer)`: on a Node Buffer
 * (what readFileSync returns) slice() is a view, so `.buffer` is the whole file (or Node's shared
 * pool) and the integers would be read from its byte 0 (issue 10).
 */
function int8Copy(bytes: Uint8Array): Int8Array {
  const out = new Int8Array(bytes.length);
  out.set(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  return out;
}

/** Parses a quantised safetensors model file (version 1 or 2). */
export function quantizedFromSafetensors(bytes: Uint8Array, source = "quantized model safetensors"): LoadedQuantizedModel {
  const found = safetensorsHeader(bytes);
  if (!found) throw fileError(source, "not a safetensors file (bad header length or header JSON)");
  const { header, dataStart } = found;
  const metadata = header["__metadata__"];
  if (!isRecord(metadata)) throw fileError(source, `missing "__metadata__"`);
  const meta = (key: string): string | undefined => (typeof metadata[key] === "string" ? (metadata[key] as string) : undefined);
  if (meta("format") !== QUANTIZED_FORMAT_NAME) throw fileError(source, `"__metadata__"."format" must be "${QUANTIZED_FORMAT_NAME}", got ${show(meta("format"))}`);
  const version = QUANTIZED_READABLE_VERSIONS.find((v) => meta("version") === String(v));
  if (version === undefined) {
    const v = meta("version");
    throw fileError(source, `"__metadata__"."version" must be ${QUANTIZED_READABLE_VERSIONS.map((x) => `"${x}"`).join(" or ")}, got ${show(v)}`, readableHint(v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : v));
  }
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
  if (version === 2 && h.inputs > MAX_UNSTORED_INPUTS) {
    throw fileError(source, `"__metadata__"."inputs" is ${h.inputs}, more than the ${MAX_UNSTORED_INPUTS} a version 2 file may declare (it stores nothing per input): corrupt?`);
  }
  const qm = json("quantization");
  const q = parseQuantizationMeta(source, qm, '"__metadata__"."quantization"');
  const { neurons: k, inputs: n, inDegree: d } = h;
  const rows = k - n;
  const edges = rows * d;
  const coding = isRecord(qm) ? qm["sources"] : undefined;
  const sourceBits = sourceBitsFor(k);
  if (version === 1) {
    const bits = isRecord(qm) ? qm["sourceBits"] : undefined;
    if (bits !== sourceBits) throw fileError(source, `"quantization"."sourceBits" must be ${sourceBits} for ${k} neurons, got ${show(bits)}`);
  } else if (coding !== SOURCE_CODING) {
    throw fileError(source, `"quantization"."sources" must be "${SOURCE_CODING}" (version 2), got ${show(coding)}`);
  }
  const packedWeights = q.bits <= 4;
  const dataLength = bytes.length - dataStart;
  // Version 2's source stream has no fixed length: its shape must match its data_offsets.
  const streamBytes = (): number => {
    const t = header["sources"];
    const offsets = isRecord(t) ? t["data_offsets"] : undefined;
    const size = Array.isArray(offsets) && offsets.length === 2 && offsets[0] === 0 && Number.isInteger(offsets[1]) && (offsets[1] as number) >= 0 ? (offsets[1] as number) : -1;
    if (size < 0) throw fileError(source, `tensor "sources": "data_offsets" ${show(offsets)}, expected [0, length of the stream]`);
    return size;
  };
  const sourceSize = version === 1 ? Math.ceil((edges * sourceBits) / 8) : streamBytes();
  const biasCount = version === 1 ? k : rows;
  const expected: Array<[string, string, number[], number]> = [
    ["sources", "U8", [sourceSize], sourceSize],
    ["weights", packedWeights ? "U8" : "I8", packedWeights ? [Math.ceil((edges * q.bits) / 8)] : [rows, d], packedWeights ? Math.ceil((edges * q.bits) / 8) : edges],
    ["scales", "F32", [q.scale === "network" ? 1 : rows], 4 * (q.scale === "network" ? 1 : rows)],
    ["biases", "F32", [biasCount], 4 * biasCount],
  ];
  const data = new Map<string, Uint8Array>();
  let covered = 0;
  for (const [name, dtype, shape, size] of expected) {
    const t = header[name];
    if (!isRecord(t)) throw fileError(source, `missing tensor "${name}"`);
    const offsets = t["data_offsets"];
    if (t["dtype"] !== dtype) throw fileError(source, `tensor "${name}" has dtype ${show(t["dtype"])}, expected ${dtype}`);
    const stored = t["shape"];
    if (!Array.isArray(stored) || stored.length !== shape.length || stored.some((s, i) => s !== shape[i])) throw fileError(source, `tensor "${name}" has shape ${show(t["shape"])}, expected ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets[0] !== covered || offsets[1] !== covered + size) throw fileError(source, `tensor "${name}": "data_offsets" ${show(offsets)}, expected [${covered}, ${covered + size}]`);
    if (covered + size > dataLength) throw fileError(source, `tensor "${name}" runs past the end of the ${dataLength}-byte data buffer: the file is truncated`);
    data.set(name, bytes.subarray(dataStart + covered, dataStart + covered + size));
    covered += size;
  }
  for (const name of Object.keys(header)) {
    if (name !== "__metadata__" && !data.has(name)) throw fileError(source, `unexpected tensor ${show(name)}`);
  }
  if (covered !== dataLength) throw fileError(source, `the data buffer has ${dataLength} bytes but the tensors cover ${covered}`);
  const sources = version === 1 ? unpackBits(data.get("sources")!, edges, sourceBits, false) : decodeSourceGaps(data.get("sources")!, k, n, d, source);
  const integers = packedWeights
    ? Int8Array.from(unpackBits(data.get("weights")!, edges, q.bits, true))
    : int8Copy(data.get("weights")!);
  const { min, max } = integerRange(q.bits);
  for (let p = 0; p < edges; p++) {
    if (integers[p]! < min || integers[p]! > max) throw fileError(source, `tensor "weights": neuron ${n + Math.floor(p / d)} edge ${p % d} is ${integers[p]}, outside the ${q.bits}-bit range ${min}..${max}`);
  }
  if (packedWeights && version === 2) {
    const w = data.get("weights")!;
    const used = (edges * q.bits) % 8;
    if (used !== 0 && w[w.length - 1]! >> used !== 0) throw fileError(source, `tensor "weights": non-zero padding bits after the last ${q.bits}-bit field: corrupt`);
  }
  const floats = (name: string, count: number): Float32Array => {
    const b = data.get(name)!;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Float32Array.from({ length: count }, (_, i) => v.getFloat32(4 * i, true));
  };
  const scales = floats("scales", q.scale === "network" ? 1 : rows);
  for (let r = 0; r < scales.length; r++) if (!(scales[r]! > 0) || !Number.isFinite(scales[r]!)) throw fileError(source, `tensor "scales": entry ${r} is ${scales[r]}, not a positive finite scale`);
  const stored = floats("biases", biasCount);
  const biases = new Float32Array(k);
  biases.set(stored, k - biasCount);
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
