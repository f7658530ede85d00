/**
 * Engine registry: `createEngine("wasm" | "reference", network, options)`. The wasm engine is the
 * default wherever WebAssembly SIMD runs; it is loaded lazily so the reference path needs no wasm.
 */
import type { Network } from "../graph/network.js";
import { SparsewireError } from "../util/errors.js";
import { ReferenceEngine } from "./reference/engine.js";
import type { Engine, EngineName, EngineOptions } from "./types.js";

/** Every engine name, the default (wasm) first. */
export const ENGINE_NAMES: readonly EngineName[] = ["wasm", "reference"];

/**
 * An engine training `network`. Throws SparsewireError "engine" when WebAssembly SIMD is missing
 * for "wasm", "usage" for an unknown name.
 */
export async function createEngine(name: EngineName, network: Network, options: EngineOptions = {}): Promise<Engine> {
  if (name === "reference") return new ReferenceEngine(network, options);
  if (name === "wasm") {
    const wasm = await import("./wasm/engine.js");
    if (!wasm.wasmSupported()) {
      throw new SparsewireError("engine", "this runtime has no WebAssembly SIMD, so the wasm engine cannot run", 'use the reference engine (about 20× slower)');
    }
    return wasm.createWasmEngine(network, options);
  }
  throw new SparsewireError("usage", `unknown engine "${String(name)}": use ${ENGINE_NAMES.join(" or ")}`);
}
