/** Quantised model files on disk (Node only): atomic save by extension, and load. */
import { readFileSync } from "node:fs";
import type { Network } from "../graph/network.js";
import { writeFileAtomic } from "../io/atomic.js";
import { modelFormatOf } from "../io/model-file.js";
import { fileError, type ModelExtra } from "../io/schema.js";
import { SparsewireError } from "../util/errors.js";
import type { Quantization } from "./quantize.js";
import { quantizedToJson, quantizedToSafetensors, readQuantizedModel, type LoadedQuantizedModel } from "./quantized-file.js";

export function encodeQuantized(path: string, net: Network, q: Quantization, extra?: ModelExtra): Uint8Array | string {
  return modelFormatOf(path) === "json" ? quantizedToJson(net, q, extra) : quantizedToSafetensors(net, q, extra);
}

/** Saves a quantised network atomically; the format follows the extension. Returns the bytes written. */
export function saveQuantizedNetwork(path: string, net: Network, q: Quantization, extra?: ModelExtra): number {
  const data = encodeQuantized(path, net, q, extra);
  writeFileAtomic(path, data);
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

/** Loads a quantised model file (refuses a float model file by name). */
export function loadQuantizedModel(path: string): LoadedQuantizedModel {
  const format = modelFormatOf(path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SparsewireError("io", `cannot read model file ${path} (${e instanceof Error ? e.message : String(e)})`);
  }
  const model = readQuantizedModel(bytes, format, path);
  if (!model) throw fileError(path, "not a quantised model file (format is not \"sparsewire.quantized-network\")");
  return model;
}
