/** Pieces the prune and quantize commands share: text splits, estimation batches, safe output paths. */
import { resolve } from "node:path";
import { splitCorpus, WindowSampler } from "../data/windows.js";
import type { Batch } from "../engine/types.js";
import type { Network } from "../graph/network.js";
import { modelFormatOf } from "../io/model-file.js";
import { TextBatch } from "../train/text.js";
import { DataError, UsageError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";

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

/** `count` random batches of `size` windows of `symbols`; refuses a text with fewer windows than one batch. */
export function estimationBatches(symbols: Uint8Array, context: number, count: number, size: number, rng: Rng, what: string): Batch[] {
  const windows = Math.max(0, symbols.length - context);
  if (windows < size) {
    throw new DataError(`${what} has ${windows} windows of context ${context}, fewer than one batch of ${size}`, "use a longer text or a smaller --batch");
  }
  const sampler = new WindowSampler(symbols, context, rng);
  const batches: Batch[] = [];
  for (let i = 0; i < count; i++) batches.push(new TextBatch(size, context).sample(sampler));
  return batches;
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
