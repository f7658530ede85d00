/**
 * The fuzzing driver of issue 14 item 4 (it defines no tests itself: fuzz-files.test.ts runs it
 * for a bounded number of cases, scripts/fuzz-campaign.mjs imports its compiled form for longer
 * campaigns). Valid files of every kind sparsewire reads (float and quantised model files in both
 * formats, checkpoints, gzip corpora) are mutated by seeded fast-check arbitraries (bit flips, byte
 * replacements, insertions, deletions, little-endian words, numbers and JSON tokens written over the
 * text, truncations) and loaded. The property: each load either gives a valid object (a Network
 * that passes validate(), a consistent quantisation, checkpoint or corpus) or throws a
 * SparsewireError whose message is one line naming the file; never another exception type, never
 * more than a second, never array buffers or heap far beyond what the file's size justifies.
 *
 * Each campaign runs in a worker thread that reports every case before it starts, so a case that
 * hangs (an endless loop cannot be interrupted from its own thread) is stopped by the caller's
 * watchdog and named with its mutations. A failure is reproducible from its seed (fast-check
 * replays the same cases) or directly: `mutate(fixture.bytes, ops)` with the reported ops.
 */
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { gzipSync } from "node:zlib";
import { Network, type Task } from "../src/graph/network.js";
import { modelFromJson, networkToJson } from "../src/io/json-format.js";
import { encodeSafetensors, littleEndian, modelFromSafetensors, networkToSafetensors } from "../src/io/safetensors.js";
import { loadModel, loadNetwork } from "../src/io/model-file.js";
import { quantizedFromJson, quantizedFromSafetensors, quantizedToJson, quantizedToSafetensors, readQuantizedModel, sourceBitsFor, type LoadedQuantizedModel } from "../src/io/quantized-format.js";
import { integerRange } from "../src/io/quantization.js";
import type { LoadedModel } from "../src/io/schema.js";
import { quantizeNetwork } from "../src/compress/quantize.js";
import { decodeCheckpoint, encodeCheckpoint, runTraining, adam, type LoadedCheckpoint, type RunCheckpoint, type RunData, type RunSettings } from "../src/run/index.js";
import { readTextCorpus } from "../src/data/files.js";
import { TEXT_ALPHABET } from "../src/data/text.js";
import { PRESETS } from "../src/rewire/schedule.js";
import { SparsewireError } from "../src/util/errors.js";
import { Rng } from "../src/util/rng.js";
import { randomNetwork } from "./helpers.js";

/** The kinds of file fuzzed. */
export type FuzzFormat = "float-json" | "float-safetensors" | "quantized-json" | "quantized-safetensors" | "checkpoint" | "gzip-corpus";
export const FUZZ_FORMATS: readonly FuzzFormat[] = ["float-json", "float-safetensors", "quantized-json", "quantized-safetensors", "checkpoint", "gzip-corpus"];

/** A valid file to mutate; mutations favour bytes before `hot` (the header, where the parsing is). */
export interface Fixture {
  name: string;
  bytes: Uint8Array;
  hot: number;
}

/** One edit of a file. Positions are taken modulo the current length, so any list applies to any file. */
export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; byte: number }
  /** Inserts bytes at `at`; `fix` as for "number". */
  | { op: "insert"; at: number; bytes: number[]; fix?: boolean }
  /** Deletes `count` bytes at `at`; `fix` as for "number". */
  | { op: "delete"; at: number; count: number; fix?: boolean }
  /** A little-endian unsigned integer over `size` bytes; `relative`: value + (length − 8), for length fields. */
  | { op: "word"; at: number; value: number; size: 2 | 4 | 8; relative: boolean }
  /**
   * Replaces the first number token at or after `at` (wrapping around) with `text`. `fix`: when the
   * edit is inside a safetensors header, its length field follows (so the edit reaches the checks
   * past the container's).
   */
  | { op: "number"; at: number; text: string; fix?: boolean }
  /** Replaces `remove` bytes at `at` with the UTF-8 of `text`; `fix` as for "number". */
  | { op: "token"; at: number; text: string; remove: number; fix?: boolean }
  | { op: "truncate"; at: number };

const utf8 = new TextEncoder();

/** The bytes after applying the mutations in order (the input is not changed). */
export function mutate(input: Uint8Array, ops: readonly Mutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const splice = (at: number, remove: number, insert: ArrayLike<number>, fix = false): Uint8Array => {
    const out = new Uint8Array(b.length - remove + insert.length);
    out.set(b.subarray(0, at));
    out.set(insert, at);
    out.set(b.subarray(at + remove), at + insert.length);
    if (fix && b.length >= 8) {
      // A safetensors header holding the whole edit: its length field follows the edit.
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const header = view.getUint32(0, true);
      if (view.getUint32(4, true) === 0 && at >= 8 && at + remove <= 8 + header && 8 + header <= b.length) {
        new DataView(out.buffer).setUint32(0, header + insert.length - remove, true);
      }
    }
    return out;
  };
  for (const m of ops) {
    const len = b.length;
    const at = len === 0 ? 0 : m.at % len; // a position inside the file
    switch (m.op) {
      case "flip":
        if (len > 0) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case "set":
        if (len > 0) b[at] = m.byte;
        break;
      case "insert":
        b = splice(m.at % (len + 1), 0, m.bytes, m.fix);
        break;
      case "delete":
        b = splice(at, Math.min(m.count, len - at), [], m.fix);
        break;
      case "word": {
        let v = m.relative ? m.value + (len - 8) : m.value;
        v = Math.max(0, v);
        for (let i = 0; i < m.size && at + i < len; i++) {
          b[at + i] = v % 256;
          v = Math.floor(v / 256);
        }
        break;
      }
      case "number": {
        const isStart = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2d;
        let start = -1;
        for (let i = 0; i < len; i++) {
          const p = (at + i) % len;
          if (isStart(b[p]!)) {
            start = p;
            break;
          }
        }
        if (start < 0) break;
        const text = new TextDecoder("latin1").decode(b.subarray(start, Math.min(len, start + 40)));
        const token = /^-?[0-9]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?/.exec(text)![0];
        b = splice(start, Math.max(1, token.length), utf8.encode(m.text), m.fix);
        break;
      }
      case "token":
        b = splice(at, Math.min(m.remove, len - at), utf8.encode(m.text), m.fix);
        break;
      case "truncate":
        b = b.slice(0, m.at % (len + 1));
        break;
    }
  }
  return b;
}

const NUMBERS = [
  "0", "1", "-1", "2", "3", "4", "8", "27", "255", "256", "1000", "65536", "1000000", "100000000", "2147483647", "2147483648",
  "4294967295", "4294967296", "9007199254740993", "1e999", "-1e999", "1.5", "-0", "0.5", "1e-45", "3.5e38", "1e308", "00", "1e2", "12345678901234567890",
];
const TOKENS = [
  ",", "]", "[", "}", "{", ":", '"', "\\", "null", "true", "[]", "{}", '""', '"x"', " ", "\n", "\u00e9", "\u{1F600}", "\\u0000", "\\ud800", "NaN", "-", "e", ".",
  '"__metadata__"', '"format"', '"neurons": ', '"task": {"kind": "none"}, ', "[[0]], ", "[-1]", "\ufeff",
];
const WORDS = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 53 - 1, 100_000_000, 100_000_001];

/** A mutation list for a fixture: a plain truncation (1 in 6), one edit (1 in 2) or two to four. */
export function mutationsArb(f: Fixture): fc.Arbitrary<Mutation[]> {
  const length = Math.max(1, f.bytes.length);
  const pos = fc.oneof({ arbitrary: fc.nat(Math.max(0, Math.min(f.hot, length) - 1)), weight: 2 }, { arbitrary: fc.nat(length - 1), weight: 1 });
  // Mostly keep a safetensors header's length field right, so that edits get past the container checks.
  const fix = fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 });
  const op: fc.Arbitrary<Mutation> = fc.oneof(
    { arbitrary: fc.record({ op: fc.constant("flip" as const), at: pos, bit: fc.nat(7) }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant("set" as const), at: pos, byte: fc.oneof(fc.nat(255), fc.constantFrom(0, 0xff, 0x80, 0x7f, 0x22, 0x5b, 0x5d, 0x2c, 0x30, 0x39, 0x2d, 0xc3, 0xed)) }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant("insert" as const), at: pos, bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 4 }), fix }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant("delete" as const), at: pos, count: fc.integer({ min: 1, max: 16 }), fix }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant("word" as const), at: fc.oneof(fc.constant(0), fc.constant(4), pos), value: fc.oneof(fc.constantFrom(...WORDS), fc.integer({ min: -16, max: 16 })), size: fc.constantFrom(2 as const, 4 as const, 8 as const), relative: fc.boolean() }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant("number" as const), at: pos, text: fc.oneof(fc.constantFrom(...NUMBERS), fc.integer({ min: -3, max: 300 }).map(String)), fix }), weight: 3 },
    { arbitrary: fc.record({ op: fc.constant("token" as const), at: pos, text: fc.constantFrom(...TOKENS), remove: fc.nat(8), fix }), weight: 3 },
  );
  const truncation = fc.nat(length - 1).map((at): Mutation[] => [{ op: "truncate", at }]);
  // Single edits reach the checks past the syntax more often than several together.
  return fc.oneof({ arbitrary: truncation, weight: 1 }, { arbitrary: op.map((m) => [m]), weight: 3 }, { arbitrary: fc.array(op, { minLength: 2, maxLength: 4 }), weight: 2 });
}

// ---- fixtures ----

const nextSymbol = (context: number): Task => ({ kind: "next-symbol", alphabet: TEXT_ALPHABET, context });

/** The small networks the model fixtures hold: a text network with training metadata, a classifier, one without a task. */
export function fixtureNetworks(): Array<{ name: string; net: Network; training?: Record<string, unknown> }> {
  return [
    { name: "text", net: randomNetwork(1, { neurons: 100, inputs: 54, outputs: 27, inDegree: 4, task: nextSymbol(2) }), training: { seed: 1, steps: 30, rewire: "rigl" } },
    { name: "classifier", net: randomNetwork(2, { neurons: 20, inputs: 6, outputs: 3, inDegree: 3, task: { kind: "classification", classes: 3, inputShape: [2, 3] } }) },
    { name: "plain", net: randomNetwork(3, { neurons: 12, inputs: 3, outputs: 2, inDegree: 2 }) },
  ];
}

function safetensorsHot(bytes: Uint8Array): number {
  return 8 + new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
}

function jsonHot(text: string): number {
  return Math.max(1, utf8.encode(text.slice(0, text.indexOf('"sources"') + 40)).length);
}

/** A version 1 quantised safetensors file (fixed-width sources, all k biases), as older sparsewire wrote. */
export function quantizedVersionOne(net: Network, q: { bits: number; scale: string; by: string; integers: Int8Array; scales: Float32Array }): Uint8Array {
  const k = net.neurons;
  const sourceBits = sourceBitsFor(k);
  const pack = (values: ArrayLike<number>, bits: number): Uint8Array => {
    const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
    let bit = 0;
    for (let p = 0; p < values.length; p++) for (let t = 0; t < bits; t++, bit++) if ((values[p]! >> t) & 1) out[bit >> 3]! |= 1 << (bit & 7);
    return out;
  };
  const packed = q.bits <= 4;
  const weights = packed ? pack(Array.from(q.integers, (x) => x & ((1 << q.bits) - 1)), q.bits) : new Uint8Array(q.integers.buffer, q.integers.byteOffset, q.integers.length).slice();
  return encodeSafetensors([
    { name: "sources", dtype: "U8", shape: [Math.ceil((net.edges * sourceBits) / 8)], data: pack(net.sources, sourceBits) },
    { name: "weights", dtype: packed ? "U8" : "I8", shape: packed ? [weights.length] : [k - net.inputs, net.inDegree], data: weights },
    { name: "scales", dtype: "F32", shape: [q.scales.length], data: littleEndian(q.scales) },
    { name: "biases", dtype: "F32", shape: [k], data: littleEndian(net.biases) },
  ], {
    format: "sparsewire.quantized-network", version: "1", neurons: String(k), inputs: String(net.inputs), outputs: String(net.outputs), inDegree: String(net.inDegree),
    activation: "relu", task: JSON.stringify(net.task),
    quantization: JSON.stringify({ bits: q.bits, scale: q.scale, by: q.by, weights: packed ? "U8-packed-lsb" : "I8", sources: "U8-packed-lsb", sourceBits }),
  });
}

/** The run the checkpoint fixtures come from: tiny, on the reference engine, rewiring (RigL) or static. */
export function checkpointSettings(rewire: boolean): RunSettings {
  return {
    network: { kind: "random", neurons: 100, inDegree: 4, context: 2 },
    batch: 16,
    steps: 25,
    optimizer: adam(0.01),
    seed: 5,
    engine: "reference",
    evalWindows: 50,
    ...(rewire ? { rewire: { ...structuredClone(PRESETS.rigl), every: 5 } } : {}),
  };
}

/** Random text symbols for the checkpoint runs (no corpus needed). */
export function checkpointData(): RunData {
  const rng = new Rng(9);
  const symbols = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rng.nextInt(27));
  return { train: symbols(4000), valid: symbols(400) };
}

/** The checkpoints of a tiny run: at step 10 and 20, with or without rewiring state. */
export async function checkpointFixtures(): Promise<Array<{ name: string; checkpoint: RunCheckpoint; settings: RunSettings }>> {
  const out: Array<{ name: string; checkpoint: RunCheckpoint; settings: RunSettings }> = [];
  const data = checkpointData();
  for (const rewire of [true, false]) {
    const settings = checkpointSettings(rewire);
    await runTraining(settings, data, { checkpointEvery: 10, onCheckpoint: (c) => void out.push({ name: `${rewire ? "rigl" : "static"}@${c.step}`, checkpoint: c, settings }) });
  }
  return out;
}

/** A short English-like text (seeded), for the gzip fixtures. */
export function corpusText(seed: number, words: number): string {
  const vocabulary = ["the", "sparse", "network", "learns", "its", "graph", "while", "training", "a", "neuron", "has", "edges", "and", "weights", "of"];
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(vocabulary[rng.nextInt(vocabulary.length)]!);
  return out.join(" ") + "\n";
}

/** The valid files of one format, built deterministically. */
export async function fixtures(format: FuzzFormat): Promise<Fixture[]> {
  const nets = fixtureNetworks();
  const extra = (t?: Record<string, unknown>) => (t ? { training: t } : undefined);
  switch (format) {
    case "float-json":
      return nets.map(({ name, net, training }) => {
        const text = networkToJson(net, extra(training));
        return { name: `${name}.json`, bytes: utf8.encode(text), hot: jsonHot(text) };
      });
    case "float-safetensors":
      return nets.map(({ name, net, training }) => {
        const bytes = networkToSafetensors(net, extra(training));
        return { name: `${name}.safetensors`, bytes, hot: safetensorsHot(bytes) };
      });
    case "quantized-json":
    case "quantized-safetensors": {
      const [text, classifier, plain] = nets;
      const q8 = quantizeNetwork(text!.net, { bits: 8, scale: "network", by: "max" });
      const q3 = quantizeNetwork(classifier!.net, { bits: 3, scale: "neuron", by: "mse" });
      const q2 = quantizeNetwork(plain!.net, { bits: 2, scale: "neuron", by: "max" });
      if (format === "quantized-json") {
        const v2 = quantizedToJson(text!.net, q8, extra(text!.training));
        const v1 = quantizedToJson(classifier!.net, q3).replace('"version": 2', '"version": 1');
        const p = quantizedToJson(plain!.net, q2);
        return [
          { name: "q8-network.json", bytes: utf8.encode(v2), hot: jsonHot(v2) },
          { name: "q3-neuron-v1.json", bytes: utf8.encode(v1), hot: jsonHot(v1) },
          { name: "q2-neuron.json", bytes: utf8.encode(p), hot: jsonHot(p) },
        ];
      }
      const files: Array<[string, Uint8Array]> = [
        ["q8-network.safetensors", quantizedToSafetensors(text!.net, q8, extra(text!.training))],
        ["q2-neuron.safetensors", quantizedToSafetensors(plain!.net, q2)],
        ["q3-neuron-v1.safetensors", quantizedVersionOne(classifier!.net, q3)],
      ];
      return files.map(([name, bytes]) => ({ name, bytes, hot: safetensorsHot(bytes) }));
    }
    case "checkpoint":
      return (await checkpointFixtures()).map(({ name, checkpoint }) => {
        const bytes = encodeCheckpoint(checkpoint, { fixture: name });
        return { name: `${name}.ckpt`, bytes, hot: safetensorsHot(bytes) };
      });
    case "gzip-corpus": {
      const a = utf8.encode(corpusText(1, 600));
      const b = utf8.encode(corpusText(2, 200));
      const two = new Uint8Array([...gzipSync(a.subarray(0, 1000)), ...gzipSync(b)]);
      return [
        { name: "text.gz", bytes: gzipSync(a, { level: 9 }), hot: Infinity },
        { name: "stored.gz", bytes: gzipSync(b, { level: 0 }), hot: 64 },
        { name: "two-members.gz", bytes: two, hot: Infinity },
      ].map((f) => ({ ...f, hot: Math.min(f.hot, f.bytes.length) }));
    }
  }
}

/** A safetensors file with its header text edited (`edit` gets and returns the JSON text); the data is kept. */
export function editHeader(bytes: Uint8Array, edit: (header: string) => string): Uint8Array {
  const length = safetensorsHot(bytes) - 8;
  const header = utf8.encode(edit(new TextDecoder().decode(bytes.subarray(8, 8 + length))));
  const data = bytes.subarray(8 + length);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

// ---- the property ----

/** Upper bounds of one load: wall time, and growth of array buffers and heap beyond a multiple of the file size. */
export const CASE_LIMITS = { ms: 1000, bytesPerFileByte: 64, arrayBufferSlack: 16 << 20, heapSlack: 64 << 20 };

/**
 * What is wrong with an error thrown by a loader, or undefined if it is the one-line SparsewireError
 * expected. `names`: a string the message must contain (the file's path or source name).
 */
export function errorProblem(e: unknown, names?: string): string | undefined {
  if (!(e instanceof SparsewireError)) {
    const err = e as { name?: unknown; message?: unknown; stack?: unknown } | null;
    const where = typeof err?.stack === "string" ? err.stack.split("\n").slice(1, 4).map((s) => s.trim()).join(" < ") : "";
    return `threw ${typeof err?.name === "string" ? err.name : typeof e} (not a SparsewireError): ${String(err?.message ?? e).split("\n")[0]} ${where}`;
  }
  if (e.message.length === 0) return `${e.name} with an empty message`;
  if (/[\r\n]/.test(e.message)) return `${e.name} message has ${e.message.split(/\r\n|\r|\n/).length} lines: ${JSON.stringify(e.message.slice(0, 300))}`;
  if (e.hint !== undefined && /[\r\n]/.test(e.hint)) return `${e.name} hint has several lines: ${JSON.stringify(e.hint.slice(0, 300))}`;
  if (e.message.length > 1000) return `${e.name} message is ${e.message.length} characters: ${JSON.stringify(e.message.slice(0, 200))}…`;
  if (names !== undefined && !e.message.includes(names)) return `${e.name} message does not name ${names}: ${JSON.stringify(e.message)}`;
  return undefined;
}

/** What is wrong with a loaded model, or undefined: it validates, and it can be written again. */
export function modelProblem(m: LoadedModel): string | undefined {
  if (!(m?.network instanceof Network)) return "loaded something that is not a Network";
  try {
    m.network.clone().validate();
  } catch (e) {
    return `the loaded network does not validate: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (m.training !== undefined && (typeof m.training !== "object" || m.training === null || Array.isArray(m.training))) return "training metadata is not an object";
  // What loads can be saved again (the CLI prints and re-saves training metadata the same way).
  try {
    networkToSafetensors(m.network, m.training !== undefined ? { training: m.training } : undefined);
  } catch (e) {
    return `the loaded model cannot be saved again: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}

/** What is wrong with a loaded quantised model, or undefined. */
export function quantizedProblem(m: LoadedQuantizedModel): string | undefined {
  const bad = modelProblem(m);
  if (bad !== undefined) return bad;
  const { network: net, quantization: q } = m;
  const rows = net.neurons - net.inputs;
  if (q.integers.length !== net.edges) return `${q.integers.length} integers for ${net.edges} edges`;
  if (q.scales.length !== (q.scale === "network" ? 1 : rows)) return `${q.scales.length} scales with scale ${q.scale}`;
  const { min, max } = integerRange(q.bits);
  for (let e = 0; e < q.integers.length; e++) {
    if (q.integers[e]! < min || q.integers[e]! > max) return `integer ${q.integers[e]} outside ${min}..${max}`;
    const s = q.scales.length === 1 ? q.scales[0]! : q.scales[Math.floor(e / net.inDegree)]!;
    if (!Object.is(net.weights[e], Math.fround(s * q.integers[e]!))) return `edge ${e}: weight ${net.weights[e]} is not fround(${s}·${q.integers[e]})`;
  }
  for (const s of q.scales) if (!(s > 0 && Number.isFinite(s))) return `scale ${s}`;
  return undefined;
}

/** What is wrong with a decoded checkpoint, or undefined: every array has the length its counts say. */
export function checkpointProblem(l: LoadedCheckpoint): string | undefined {
  const c = l.checkpoint;
  const { neurons: k, inputs: n, inDegree: d } = c.network;
  const edges = (k - n) * d;
  const want: Array<[string, { length: number }, number]> = [
    ["sources", c.network.sources, edges], ["weights", c.network.weights, edges], ["biases", c.network.biases, k],
    ["order", c.network.order, k - n], ["levels", c.network.levels, k],
    ["weightFirst", c.optimizer.weightFirst, edges], ["biasSecond", c.optimizer.biasSecond, k], ["losses", c.trainer.losses, c.trainer.step],
  ];
  for (const [name, a, length] of want) if (a.length !== length) return `checkpoint ${name} has ${a.length} entries, expected ${length}`;
  if (typeof l.settings !== "object" || l.settings === null) return "settings is not an object";
  return undefined;
}

/** What is wrong with a corpus read, or undefined. */
function corpusProblem(c: { symbols: Uint8Array; bytesRead: number }): string | undefined {
  if (!(c.symbols instanceof Uint8Array) || c.symbols.length === 0) return "no symbols";
  if (c.symbols.some((s) => s >= 27)) return "a symbol outside 0..26";
  if (c.symbols.length > c.bytesRead) return `${c.symbols.length} symbols from ${c.bytesRead} bytes`;
  return undefined;
}

/**
 * Runs one loader under the property: its result must pass `check`, or it must throw the expected
 * error; within the time and memory limits for a file of `fileBytes` bytes. Returns the problem.
 */
export async function attempt<T>(label: string, fileBytes: number, names: string | undefined, load: () => T | Promise<T>, check: (value: T) => string | undefined): Promise<{ problem?: string; loaded: boolean }> {
  const before = process.memoryUsage();
  const started = performance.now();
  let value: T | undefined;
  let thrown: unknown;
  let threw = false;
  try {
    value = await load();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  const ms = performance.now() - started;
  const after = process.memoryUsage();
  const allowed = CASE_LIMITS.bytesPerFileByte * fileBytes;
  const grewBuffers = after.arrayBuffers - before.arrayBuffers;
  const grewHeap = after.heapUsed - before.heapUsed;
  const result = (problem?: string) => (problem === undefined ? { loaded: !threw } : { problem: `${label}: ${problem}`, loaded: !threw });
  if (ms > CASE_LIMITS.ms) return result(`took ${Math.round(ms)} ms (limit ${CASE_LIMITS.ms})`);
  if (grewBuffers > allowed + CASE_LIMITS.arrayBufferSlack) return result(`array buffers grew by ${(grewBuffers / 2 ** 20).toFixed(1)} MiB for a ${fileBytes}-byte file`);
  if (grewHeap > allowed + CASE_LIMITS.heapSlack) return result(`the heap grew by ${(grewHeap / 2 ** 20).toFixed(1)} MiB for a ${fileBytes}-byte file`);
  if (threw) return result(errorProblem(thrown, names));
  return result(check(value as T));
}

/** Everything one format's check needs: a scratch folder, and for checkpoints a resume check. */
export interface CheckContext {
  folder: string;
  /** Also resume a tiny run from every checkpoint that decodes (slower; src/run's business). */
  resume: boolean;
  settings?: Map<string, RunSettings>;
}

/** The loaders of one format applied to mutated bytes: every problem found (empty: the property holds). */
export async function checkBytes(format: FuzzFormat, bytes: Uint8Array, fixture: Fixture, ctx: CheckContext): Promise<{ problems: string[]; loaded: boolean }> {
  const problems: string[] = [];
  let loaded = false;
  const run = async <T>(label: string, names: string | undefined, load: () => T | Promise<T>, check: (value: T) => string | undefined, counts = true): Promise<void> => {
    let r = await attempt(label, bytes.length, names, load, check);
    // A busy machine can stall one load: only a load that is slow twice is a failure.
    if (r.problem?.includes(" ms (limit ")) r = await attempt(label, bytes.length, names, load, check);
    if (r.problem !== undefined) problems.push(r.problem);
    if (counts) loaded ||= r.loaded;
  };
  const file = (ext: string): string => {
    const path = join(ctx.folder, `fuzz.${ext}`);
    writeFileSync(path, bytes);
    return path;
  };
  const text = (): string => new TextDecoder().decode(bytes);
  const src = "fuzzed-source";
  switch (format) {
    case "float-json": {
      await run("modelFromJson", src, () => modelFromJson(text(), src), modelProblem);
      const path = file("json");
      await run("loadModel", path, () => loadModel(path), modelProblem);
      break;
    }
    case "float-safetensors": {
      await run("modelFromSafetensors", src, () => modelFromSafetensors(bytes, src), modelProblem);
      const path = file("safetensors");
      await run("loadNetwork", path, () => ({ network: loadNetwork(path) }), modelProblem);
      break;
    }
    case "quantized-json":
    case "quantized-safetensors": {
      const json = format === "quantized-json";
      await run(json ? "quantizedFromJson" : "quantizedFromSafetensors", src, () => (json ? quantizedFromJson(text(), src) : quantizedFromSafetensors(bytes, src)), quantizedProblem);
      await run("readQuantizedModel", src, () => readQuantizedModel(bytes, json ? "json" : "safetensors", src), (m) => (m === undefined ? undefined : quantizedProblem(m)), false);
      const path = file(json ? "json" : "safetensors");
      await run("loadModel", path, () => loadModel(path), modelProblem);
      break;
    }
    case "checkpoint": {
      let decoded: LoadedCheckpoint | undefined;
      await run("decodeCheckpoint", src, () => (decoded = decodeCheckpoint(bytes, src)), checkpointProblem);
      const settings = ctx.settings?.get(fixture.name);
      if (ctx.resume && decoded !== undefined && settings !== undefined) {
        const c = decoded.checkpoint;
        await run("runTraining (resume)", undefined, () => runTraining({ ...settings, steps: Math.max(c.step + 1, settings.steps), resume: c }, checkpointData()), () => undefined);
      }
      break;
    }
    case "gzip-corpus": {
      const path = file("gz");
      await run("readTextCorpus", path, () => readTextCorpus(path), corpusProblem);
      break;
    }
  }
  return { problems, loaded };
}

// ---- campaigns ----

/** Options of a campaign over one format. */
export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Count every failing case and go on (campaigns); otherwise stop at the first and shrink it (tests). */
  collect?: boolean;
  resume?: boolean;
  /** A test of the watchdog itself: the fifth case loops forever. */
  simulateHang?: boolean;
  /** Called before each case with its number and mutations (the worker reports them to the watchdog). */
  onCase?: (index: number, fixture: string, ops: readonly Mutation[]) => void;
}

/** A failing case: its fixture, its mutations and what went wrong. */
export interface FuzzFailure {
  fixture: string;
  ops: Mutation[];
  problems: string[];
}

/** What a campaign over one format found. */
export interface FuzzReport {
  format: FuzzFormat;
  seed: number;
  /** Cases run (shrinking steps included). */
  cases: number;
  /** Cases where some loader returned a (valid) object rather than an error. */
  loaded: number;
  failures: FuzzFailure[];
  ms: number;
  /** fast-check's replay path of the (shrunk) first failure, with `seed`. */
  path?: string;
}

/** Runs the property over `cases` mutated files of one format, in this thread. */
export async function fuzzFormat(format: FuzzFormat, o: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const files = await fixtures(format);
  const folder = mkdtempSync(join(tmpdir(), `sw-fuzz-${format}-`));
  const settings = format === "checkpoint" ? new Map((await checkpointFixtures()).map((c) => [`${c.name}.ckpt`, c.settings])) : undefined;
  const ctx: CheckContext = { folder, resume: o.resume ?? false, ...(settings ? { settings } : {}) };
  const arb = fc.nat(files.length - 1).chain((i) => mutationsArb(files[i]!).map((ops) => ({ fixture: i, ops })));
  const report: FuzzReport = { format, seed: o.seed, cases: 0, loaded: 0, failures: [], ms: 0 };
  const property = fc.asyncProperty(arb, async ({ fixture, ops }) => {
    const f = files[fixture]!;
    o.onCase?.(report.cases, f.name, ops);
    report.cases++;
    if (o.simulateHang && report.cases === 5) for (;;) { /* spin until the watchdog stops the worker */ }
    const r = await checkBytes(format, mutate(f.bytes, ops), f, ctx);
    if (r.loaded) report.loaded++;
    if (r.problems.length === 0) return true;
    if (o.collect) {
      report.failures.push({ fixture: f.name, ops, problems: r.problems });
      return true;
    }
    throw new Error(JSON.stringify({ fixture: f.name, ops, problems: r.problems }));
  });
  try {
    const details = await fc.check(property, { seed: o.seed, numRuns: o.cases });
    if (details.failed) {
      const e = details.errorInstance;
      let failure: FuzzFailure;
      try {
        failure = JSON.parse(e instanceof Error ? e.message : String(e)) as FuzzFailure;
      } catch {
        failure = { fixture: "?", ops: [], problems: [`the property itself failed: ${e instanceof Error ? e.stack : String(e)}`] };
      }
      report.failures.push(failure);
      if (details.counterexamplePath !== null) report.path = details.counterexamplePath;
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  report.ms = performance.now() - started;
  return report;
}

/** Messages from a fuzzing worker to its watchdog. */
type WorkerMessage = { type: "case"; index: number; fixture: string; ops: Mutation[] } | { type: "done"; report: FuzzReport } | { type: "error"; message: string };

/**
 * Runs `fuzzFormat` in a worker thread under a watchdog: a case that runs longer than `hangMs`
 * (an endless loop) is stopped and reported as a failure with its mutations.
 */
export function fuzzInWorker(format: FuzzFormat, o: Omit<FuzzOptions, "onCase">, hangMs = 20_000): Promise<FuzzReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { sparsewireFuzz: { format, ...o } } });
    let last: { index: number; fixture: string; ops: Mutation[] } | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        const what = last ? `case ${last.index} (${last.fixture}, ops ${JSON.stringify(last.ops)})` : "building the fixtures";
        finish(() =>
          resolve({ format, seed: o.seed, cases: (last?.index ?? -1) + 1, loaded: 0, ms: ms, failures: [{ fixture: last?.fixture ?? "?", ops: last?.ops ?? [], problems: [`hang: no progress for ${ms} ms in ${what}`] }] }),
        );
      }, ms);
    };
    arm(hangMs * 3); // building the fixtures includes two tiny training runs
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "case") {
        last = m;
        arm(hangMs);
      } else if (m.type === "done") finish(() => resolve(m.report));
      else finish(() => reject(new Error(m.message)));
    });
    worker.on("error", (e) => finish(() => reject(e)));
    worker.on("exit", (code) => finish(() => reject(new Error(`fuzzing worker exited with code ${code}`))));
  });
}

// The worker side: run the campaign it was given and report every case as it starts.
const job = (workerData as { sparsewireFuzz?: { format: FuzzFormat } & FuzzOptions } | null)?.sparsewireFuzz;
if (!isMainThread && job && parentPort) {
  const port = parentPort;
  fuzzFormat(job.format, { ...job, onCase: (index, fixture, ops) => port.postMessage({ type: "case", index, fixture, ops: [...ops] }) }).then(
    (report) => port.postMessage({ type: "done", report }),
    (e: unknown) => port.postMessage({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
}
