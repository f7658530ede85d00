/** Pieces shared by the commands: engine flags, corpus loading, JSON output. */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { splitCorpus } from "../data/windows.js";
import { modelFormatOf } from "../io/model-file.js";
import { DataError, UsageError } from "../util/errors.js";
import { createEngine } from "../engine/create.js";
import type { Engine, EngineName, OptimizerConfig } from "../engine/types.js";
import type { Network } from "../graph/network.js";
import { bundledCorpusPath, corpusWarning, readTextCorpus } from "../data/files.js";
import type { FlagSpec, Flags } from "./args.js";

export const ENGINE_FLAGS: FlagSpec[] = [
  { name: "engine", type: "string", default: "wasm", choices: ["wasm", "reference"], help: "compute engine: WebAssembly SIMD on all cores, or the plain TypeScript reference" },
  { name: "threads", type: "int", min: 1, max: 256, value: "N", help: "worker threads for the wasm engine (default: all cores)" },
];

export async function engineFromFlags(flags: Flags, network: Network, optimizer?: OptimizerConfig): Promise<Engine> {
  const name = flags.string("engine") as EngineName;
  const threads = flags.optionalNumber("threads") ?? (name === "wasm" ? availableParallelism() : 1);
  return createEngine(name, network, optimizer ? { optimizer, threads } : { threads });
}

export interface LoadedText {
  symbols: Uint8Array;
  path: string;
  bundled: boolean;
}

/**
 * Reads --text (or the bundled corpus). A file that is probably not text (most bytes dropped by
 * cleaning, or a NUL byte near the start) gets one warning line on stderr; one that keeps under
 * 1 % of its bytes is refused by readTextCorpus with a DataError.
 */
export async function loadText(path: string | undefined): Promise<LoadedText> {
  const bundled = path === undefined;
  const file = path ?? bundledCorpusPath();
  const corpus = await readTextCorpus(file);
  const warning = corpusWarning(corpus);
  if (warning !== undefined) process.stderr.write(`sparsewire: warning: ${warning}\n`);
  return { symbols: corpus.symbols, path: file, bundled };
}

/** Print one JSON object as the last line of stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface TextParts {
  train: Uint8Array;
  valid: Uint8Array;
  test: Uint8Array;
}

/** Train/validation/test parts of a text; one-line DataError if the text is too short. */
export function textParts(symbols: Uint8Array, fractionsText: string, context: number, path: string): TextParts {
  const fractions = fractionsText.split(",").map(Number);
  if (fractions.length !== 3) throw new UsageError(`--fractions needs three fractions T,V,E, got "${fractionsText}"`);
  let parts;
  try {
    parts = splitCorpus(symbols, fractions, context);
  } catch (e) {
    if (e instanceof DataError) throw new DataError(`${path}: ${e.message}`, e.hint);
    throw e;
  }
  return { train: parts[0]!.symbols, valid: parts[1]!.symbols, test: parts[2]!.symbols };
}

/** Refuses to write the output over the input model (unless allowed) and checks the extension early. */
export function checkOutputPath(save: string | undefined, model: string, allowOverwrite: boolean): void {
  if (save === undefined) return;
  modelFormatOf(save);
  if (resolve(save) === resolve(model) && !allowOverwrite) {
    throw new UsageError(`--save ${save} is the input model: refusing to overwrite it`, "save to another path, or add --overwrite");
  }
}

export function describeNetwork(net: Network): { neurons: number; inputs: number; outputs: number; inDegree: number; edges: number } {
  return { neurons: net.neurons, inputs: net.inputs, outputs: net.outputs, inDegree: net.inDegree, edges: net.edges };
}
