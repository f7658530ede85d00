/** Quantised model files on disk (Node only): atomic save by extension, and load. */
import type { Network } from "../graph/network.js";
import { writeFileAtomic } from "./atomic.js";
import { checkReadBack, modelFormatOf, readModelBytes, type ModelFormat } from "./model-file.js";
import { fileError, type ModelExtra } from "./schema.js";
import { SparsewireError } from "../util/errors.js";
import type { Quantization } from "./quantization.js";
import { quantizedFileNetwork, quantizedToJson, quantizedToSafetensors, readQuantizedModel, sortedSlots, type LoadedQuantizedModel } from "./quantized-format.js";

/** The bytes (safetensors) or text (JSON) of a quantised model file, the format chosen by `path`'s extension. */
export function encodeQuantized(path: string, net: Network, q: Quantization, extra?: ModelExtra): Uint8Array | string {
  return modelFormatOf(path) === "json" ? quantizedToJson(net, q, extra) : quantizedToSafetensors(net, q, extra);
}

/**
 * Saves a quantised network atomically; the format follows the extension. Returns the bytes
 * written. Read after write (issue 10): the temporary file is loaded back and must hold the same
 * integers and scales, and load as quantizedFileNetwork(net, q) bit for bit (slots sorted, weights
 * dequantised), before it replaces the previous file.
 */
export function saveQuantizedNetwork(path: string, net: Network, q: Quantization, extra?: ModelExtra): number {
  const format = modelFormatOf(path);
  const data = encodeQuantized(path, net, q, extra);
  const expected = quantizedFileNetwork(net, q);
  const sorted = sortedSlots(net, q);
  writeFileAtomic(path, data, undefined, (temp) => {
    const loaded = checkReadBack(path, expected, () => readQuantized(readModelBytes(temp, path), format, path));
    const a = loaded.quantization;
    const wrong = a.bits !== q.bits ? `bits ${a.bits}, expected ${q.bits}`
      : a.scale !== q.scale ? `scale mode ${a.scale}, expected ${q.scale}`
      : a.scales.length !== q.scales.length || a.scales.some((s, i) => !Object.is(s, q.scales[i])) ? "different scales"
      : a.integers.some((v, i) => v !== sorted.integers[i]) ? "different integers"
      : undefined;
    if (wrong !== undefined) throw new SparsewireError("io", `cannot save ${path}: the file written loads back with ${wrong}; the previous file is unchanged`);
  });
  return typeof data === "string" ? new TextEncoder().encode(data).length : data.length;
}

function readQuantized(bytes: Uint8Array, format: ModelFormat, path: string): LoadedQuantizedModel {
  const model = readQuantizedModel(bytes, format, path);
  if (!model) throw fileError(path, "not a quantised model file (format is not \"sparsewire.quantized-network\")");
  return model;
}

/** Loads a quantised model file (refuses a float model file by name). */
export function loadQuantizedModel(path: string): LoadedQuantizedModel {
  const format = modelFormatOf(path);
  const bytes = readModelBytes(path);
  const model = readQuantizedModel(bytes, format, path);
  if (!model) throw fileError(path, "not a quantised model file (format is not \"sparsewire.quantized-network\")");
  return model;
}
