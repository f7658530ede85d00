/**
 * What both model file formats share: the format name and version, the checks on the task and on
 * the scalar header fields, and the final step that turns validated arrays into a Network while
 * naming the file in every error. Browser-safe: no Node imports. This file validates metadata; it
 * does not parse either file format (json-format.ts and safetensors.ts do).
 */
import { Network, type Task } from "../graph/network.js";
import { GraphError, ModelFileError, ShapeError, SparsewireError } from "../util/errors.js";

export const FORMAT_NAME = "sparsewire.network";
export const FORMAT_VERSION = 1;
/** Networks are evaluated with ReLU (Def. 3.20 with σ = ReLU, §4.6); the only activation we read. */
export const ACTIVATION = "relu";

/** Optional data stored beside the network (e.g. the trainer's step count and settings). */
export interface ModelExtra {
  training?: Record<string, unknown>;
}

/** A loaded model file: the network plus whatever extra data the file carried. */
export interface LoadedModel {
  network: Network;
  training?: Record<string, unknown>;
}

/** A one-line error naming the file; the rest of the message names the field. */
export function fileError(source: string, message: string, hint?: string): ModelFileError {
  return new ModelFileError(`${source}: ${message}`, hint);
}

/** Short, single-line rendering of an unknown value for error messages. */
export function show(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A cycle, or a corrupt file's [[[[…]]]] nested deeper than the stack (String() of an array recurses too).
    text = Array.isArray(value) ? "[...]" : typeof value === "object" && value !== null ? "{...}" : String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Deepest nesting of arrays and objects accepted in "training" metadata: a loaded model can always be written and printed again. */
export const MAX_TRAINING_DEPTH = 64;

/**
 * Refuses "training" metadata nested deeper than MAX_TRAINING_DEPTH (counted without recursion):
 * JSON.parse reads any depth, but JSON.stringify, which saving and printing the metadata use,
 * overflows the stack on a corrupt file's thousands of levels.
 */
export function checkTrainingDepth(source: string, training: Record<string, unknown>, path: string): void {
  const stack: Array<[unknown, number]> = [[training, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > MAX_TRAINING_DEPTH) throw fileError(source, `${path} is nested more than ${MAX_TRAINING_DEPTH} levels deep (corrupt?)`);
    if (typeof value === "object" && value !== null) for (const v of Object.values(value)) if (typeof v === "object" && v !== null) stack.push([v, depth + 1]);
  }
}

/** "a string", "an array", … for "must be X, got Y" messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "object":
      return "an object";
    case "string":
      return `a string (${show(value)})`;
    case "number":
      return `a number (${show(value)})`;
    case "boolean":
      return `a boolean (${value})`;
    default:
      return typeof value;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The scalar fields every model file carries, before the arrays are read. */
export interface Header {
  neurons: number;
  inputs: number;
  outputs: number;
  /** undefined when the file does not say; then the arrays decide. */
  inDegree: number | undefined;
  task: Task;
}

/** Checks "format" and "version" first, so a foreign file is named as such, not as a bad field. */
export function checkFormatAndVersion(source: string, format: unknown, version: unknown, prefix: string): void {
  if (format === undefined) throw fileError(source, `missing ${prefix}"format" (expected "${FORMAT_NAME}"): not a sparsewire model file`);
  if (format !== FORMAT_NAME) throw fileError(source, `${prefix}"format" must be "${FORMAT_NAME}", got ${show(format)}`);
  if (version === undefined) throw fileError(source, `missing ${prefix}"version" (expected ${FORMAT_VERSION})`);
  if (typeof version !== "number" || !Number.isInteger(version)) throw fileError(source, `${prefix}"version" must be an integer, got ${typeName(version)}`);
  if (version !== FORMAT_VERSION) {
    throw fileError(source, `unsupported version ${version} (this sparsewire reads version ${FORMAT_VERSION})`, version > FORMAT_VERSION ? "upgrade sparsewire to read this file" : undefined);
  }
}

export function checkActivation(source: string, activation: unknown, path: string): void {
  // A file without "activation" is taken as ReLU, the only activation sparsewire implements.
  if (activation === undefined) return;
  if (activation !== ACTIVATION) throw fileError(source, `unsupported ${path} ${show(activation)} (this sparsewire evaluates "${ACTIVATION}" only)`);
}

/** A count field (`path` e.g. `"neurons"`): a positive integer; n + m <= k etc. come after. */
export function checkCount(source: string, path: string, value: unknown): number {
  if (value === undefined) throw fileError(source, `missing ${path}`);
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw fileError(source, `${path} must be a positive integer, got ${typeName(value)}`);
  }
  return value;
}

/** Validates a task object read from a file; `path` names it in messages (e.g. `"task"`). */
export function parseTask(source: string, value: unknown, path: string): Task {
  if (value === undefined) return { kind: "none" };
  if (!isRecord(value)) throw fileError(source, `${path} must be an object, got ${typeName(value)}`);
  const kind = value["kind"];
  switch (kind) {
    case "none":
      return { kind: "none" };
    case "next-symbol": {
      const alphabet = value["alphabet"];
      const context = value["context"];
      if (typeof alphabet !== "string" || alphabet.length === 0) {
        throw fileError(source, `${path}."alphabet" must be a non-empty string, got ${typeName(alphabet)}`);
      }
      const symbols = [...alphabet];
      if (symbols.length !== alphabet.length) throw fileError(source, `${path}."alphabet" must hold single UTF-16 characters only`);
      const seen = new Set<string>();
      for (const c of symbols) {
        if (seen.has(c)) throw fileError(source, `${path}."alphabet" lists ${show(c)} twice`);
        seen.add(c);
      }
      if (typeof context !== "number" || !Number.isInteger(context) || context < 1) {
        throw fileError(source, `${path}."context" must be a positive integer, got ${typeName(context)}`);
      }
      return { kind: "next-symbol", alphabet, context };
    }
    case "classification": {
      const classes = value["classes"];
      const inputShape = value["inputShape"];
      if (typeof classes !== "number" || !Number.isInteger(classes) || classes < 1) {
        throw fileError(source, `${path}."classes" must be a positive integer, got ${typeName(classes)}`);
      }
      if (!Array.isArray(inputShape) || inputShape.length === 0) {
        throw fileError(source, `${path}."inputShape" must be a non-empty array of positive integers, got ${typeName(inputShape)}`);
      }
      const shape: number[] = [];
      for (let i = 0; i < inputShape.length; i++) {
        const s: unknown = inputShape[i];
        if (typeof s !== "number" || !Number.isInteger(s) || s < 1) {
          throw fileError(source, `${path}."inputShape"[${i}] must be a positive integer, got ${typeName(s)}`);
        }
        shape.push(s);
      }
      return { kind: "classification", classes, inputShape: shape };
    }
    default:
      throw fileError(source, `${path}."kind" must be "next-symbol", "classification" or "none", got ${show(kind)}`);
  }
}

/**
 * The task says what inputs and outputs mean, so it must agree with their counts; a mismatch would
 * only surface later as a shape error far from the file. Returns a message, or undefined when fine.
 */
export function taskMismatch(task: Task, inputs: number, outputs: number): string | undefined {
  if (task.kind === "next-symbol") {
    const a = task.alphabet.length;
    if (inputs !== a * task.context) return `task next-symbol with ${a} symbols and context ${task.context} needs ${a}·${task.context} = ${a * task.context} inputs, but the network has ${inputs}`;
    if (outputs !== a) return `task next-symbol with ${a} symbols needs ${a} outputs, but the network has ${outputs}`;
  } else if (task.kind === "classification") {
    const size = task.inputShape.reduce((p, s) => p * s, 1);
    if (inputs !== size) return `task classification with inputShape [${task.inputShape.join(", ")}] needs ${size} inputs, but the network has ${inputs}`;
    if (outputs !== task.classes) return `task classification with ${task.classes} classes needs ${task.classes} outputs, but the network has ${outputs}`;
  }
  return undefined;
}

/** Cheap structural checks on the counts, before any array of size k or (k-n)·d is allocated. */
export function checkCounts(source: string, h: Header): void {
  const { neurons: k, inputs: n, outputs: m } = h;
  if (n + m > k) throw fileError(source, `${k} "neurons" cannot hold ${n} "inputs" and ${m} "outputs" (need neurons >= inputs + outputs)`);
  if (h.inDegree !== undefined && h.inDegree > k - 1) throw fileError(source, `"inDegree" ${h.inDegree} is more than the ${k - 1} other neurons`);
  const mismatch = taskMismatch(h.task, n, m);
  if (mismatch !== undefined) throw fileError(source, mismatch);
}

/**
 * Builds and validates the network (Network.fromArrays: cycles, duplicates, self-loops, indices,
 * finite values, input biases). Its GraphError/ShapeError is re-thrown as the same class with the
 * file named in front, so callers can still branch on the code.
 */
export function buildNetwork(
  source: string,
  h: Header & { inDegree: number },
  sources: Int32Array,
  weights: Float32Array,
  biases: Float32Array,
): Network {
  try {
    return Network.fromArrays({ neurons: h.neurons, inputs: h.inputs, outputs: h.outputs, inDegree: h.inDegree, sources, weights, biases, task: h.task });
  } catch (e) {
    if (e instanceof GraphError) throw new GraphError(`${source}: ${e.message}`, e.hint);
    if (e instanceof ShapeError) throw new ShapeError(`${source}: ${e.message}`, e.hint);
    if (e instanceof SparsewireError) throw fileError(source, e.message, e.hint);
    throw e;
  }
}

/**
 * Checks a network can be written so that it reads back: finite parameters (NaN/Infinity have no
 * JSON form and the reader refuses them) and a task that matches the counts.
 */
export function checkWritable(net: Network, format: string): void {
  const { neurons: k, inputs: n, inDegree: d, weights, biases } = net;
  for (let i = 0; i < k; i++) {
    if (!Number.isFinite(biases[i]!)) throw new ModelFileError(`cannot save as ${format}: neuron ${i} has bias ${biases[i]}, not a finite number`);
  }
  for (let p = 0; p < weights.length; p++) {
    if (!Number.isFinite(weights[p]!)) {
      throw new ModelFileError(`cannot save as ${format}: neuron ${n + Math.floor(p / d)} edge ${p % d} has weight ${weights[p]}, not a finite number`);
    }
  }
  const mismatch = taskMismatch(net.task, net.inputs, net.outputs);
  if (mismatch !== undefined) throw new ModelFileError(`cannot save as ${format}: ${mismatch}`);
}

/**
 * The first way `actual` differs from `expected` as a network, or undefined if they are the same:
 * counts, task, sources, and weights and non-input biases bit for bit (compared as float32 bit
 * patterns, so −0 ≠ +0 and nothing is "close enough"). Input biases are not parameters (Def. 3.20:
 * an input passes its value on), and quantised files do not store them, so those compare as numbers.
 * Used to read back every model file written (issue 10: a file must load as the network saved).
 */
export function networkDifference(expected: Network, actual: Network): string | undefined {
  for (const key of ["neurons", "inputs", "outputs", "inDegree"] as const) {
    if (expected[key] !== actual[key]) return `${key} ${actual[key]}, expected ${expected[key]}`;
  }
  if (JSON.stringify(expected.task) !== JSON.stringify(actual.task)) return `task ${JSON.stringify(actual.task)}, expected ${JSON.stringify(expected.task)}`;
  const { inputs: n, inDegree: d } = expected;
  const where = (p: number): string => `neuron ${n + Math.floor(p / d)} slot ${p % d}`;
  for (let p = 0; p < expected.sources.length; p++) {
    if (expected.sources[p] !== actual.sources[p]) return `${where(p)}: source ${actual.sources[p]}, expected ${expected.sources[p]}`;
  }
  const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ew = bits(expected.weights);
  const aw = bits(actual.weights);
  for (let p = 0; p < ew.length; p++) {
    if (ew[p] !== aw[p]) return `${where(p)}: weight ${show(actual.weights[p])}, expected ${show(expected.weights[p])}`;
  }
  const eb = bits(expected.biases);
  const ab = bits(actual.biases);
  for (let i = 0; i < eb.length; i++) {
    const same = i < n ? expected.biases[i] === actual.biases[i] : eb[i] === ab[i];
    if (!same) return `neuron ${i}: bias ${show(actual.biases[i])}, expected ${show(expected.biases[i])}`;
  }
  return undefined;
}
