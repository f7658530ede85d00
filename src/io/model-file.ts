/**
 * Model files on disk (Node only): the format follows the extension (`.json` or `.safetensors`),
 * saving is atomic (atomic.ts), and every failure is one line naming the path. The formats
 * themselves live in the browser-safe json-format.ts and safetensors.ts.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { Network } from "../graph/network.js";
import { SparsewireError, UsageError } from "../util/errors.js";
import { writeFileAtomic } from "./atomic.js";
import { readQuantizedModel } from "./quantized-format.js";
import { modelFromJson, networkToJson } from "./json-format.js";
import { modelFromSafetensors, networkToSafetensors } from "./safetensors.js";
import { fileError, networkDifference, type LoadedModel, type ModelExtra } from "./schema.js";

/** A model file's format, chosen by its extension (.json or .safetensors). */
export type ModelFormat = "json" | "safetensors";

/** The format a path's extension asks for (case-insensitive); UsageError for anything else. */
export function modelFormatOf(path: string): ModelFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".json") return "json";
  if (ext === ".safetensors") return "safetensors";
  if (ext === "") throw new UsageError(`model file ${path} has no extension: use .json or .safetensors`);
  throw new UsageError(`unknown model file extension '${extname(path)}': use .json or .safetensors`);
}

/** The bytes (or text) of a model file in the given format. */
export function encodeModel(net: Network, format: ModelFormat, extra?: ModelExtra): Uint8Array | string {
  return format === "json" ? networkToJson(net, extra) : networkToSafetensors(net, extra);
}

/**
 * Saves atomically: an interrupted save leaves the previous file intact. Read after write: the
 * temporary file is loaded back and must be the same network, bit for bit, before it replaces
 * the previous file (issue 10); otherwise the save fails and the previous file stays.
 */
export function saveNetwork(path: string, net: Network, extra?: ModelExtra): void {
  const format = modelFormatOf(path);
  writeFileAtomic(path, encodeModel(net, format, extra), undefined, (temp) => checkReadBack(path, net, () => decodeModel(readModelBytes(temp, path), format, path).network));
}

/**
 * Throws if the file just written (`read` loads it) does not load, or loads as a network other
 * than `expected`. The message names the first difference; writeFileAtomic then removes the
 * temporary file and keeps the previous one.
 */
export function checkReadBack<T extends { network: Network } | Network>(path: string, expected: Network, read: () => T): T {
  let loaded: T;
  try {
    loaded = read();
  } catch (e) {
    throw new SparsewireError("io", `cannot save ${path}: the file written does not load back (${e instanceof Error ? e.message : String(e)}); the previous file is unchanged`, BUG_HINT);
  }
  const difference = networkDifference(expected, loaded instanceof Network ? loaded : loaded.network);
  if (difference !== undefined) {
    throw new SparsewireError("io", `cannot save ${path}: the file written loads back as a different network (${difference}); the previous file is unchanged`, BUG_HINT);
  }
  return loaded;
}

const BUG_HINT = "this is a bug in sparsewire's model format: please report it with the command that wrote the file";

/**
 * A file's bytes as a plain Uint8Array. readFileSync gives a Node Buffer, whose slice() is a view,
 * not a copy (issue 10): decoders see only standard typed-array behaviour.
 */
export function readModelBytes(path: string, shownPath = path): Uint8Array {
  let buffer: Uint8Array;
  try {
    buffer = readFileSync(path);
  } catch (e) {
    throw readError(e, shownPath);
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Loads a model file's network (float or quantised; quantised weights come dequantised). */
export function loadNetwork(path: string): Network {
  return loadModel(path).network;
}

/** Loads a model file and the "training" metadata it carries, if any. */
export function loadModel(path: string): LoadedModel {
  const format = modelFormatOf(path); // an unknown extension is a usage error before any reading
  return decodeModel(readModelBytes(path), format, path);
}

/** Decodes a model file's bytes in the given format; `source` names the file in errors. */
export function decodeModel(bytes: Uint8Array, format: ModelFormat, source: string): LoadedModel {
  const path = source;
  // Quantised networks (issue 6) load as their dequantised weights; nothing else needs to know.
  const quantized = readQuantizedModel(bytes, format, path);
  if (quantized) return quantized;
  if (format === "safetensors") return modelFromSafetensors(bytes, path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fileError(path, "not valid UTF-8 text, so not a JSON model file");
  }
  return modelFromJson(text, path);
}

function readError(e: unknown, path: string): SparsewireError {
  const code = typeof e === "object" && e !== null && "code" in e ? e.code : undefined;
  const message =
    code === "ENOENT" ? `model file not found: ${path}`
    : code === "EISDIR" ? `${path} is a folder, not a model file`
    : code === "EACCES" || code === "EPERM" ? `no permission to read model file ${path}`
    : `cannot read model file ${path} (${e instanceof Error ? e.message : String(e)})`;
  const error = new SparsewireError("io", message);
  error.cause = e;
  return error;
}
