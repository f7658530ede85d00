/**
 * What the wasm engine needs from its host, declared once: the Platform interface and the place of
 * the compiled kernels. Implemented by platform-node.ts and platform-browser.ts; platform.ts picks
 * one. A file of its own so that the implementations and the chooser do not import each other.
 */

/** Everything a worker needs to join the engine's threads. Structured-clonable. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the context block in the shared memory. */
  ctx: number;
  /** Byte offset of the control block (Int32 words, see pool.ts). */
  control: number;
  /** Thread index (the calling thread is 0, workers 1..threads−1). */
  thread: number;
}

export interface WorkerHandle {
  /** Ends the worker; resolves when it is gone. */
  terminate(): Promise<void>;
}

export interface Platform {
  readonly name: "node" | "browser";
  /** Compiles dist/wasm/<file> (Node: read from disk next to the package; browser: fetched). */
  loadModule(file: string): Promise<WebAssembly.Module>;
  /** Logical cores: os.availableParallelism() / navigator.hardwareConcurrency. */
  hardwareThreads(): number;
  /** Whether WebAssembly memory can be shared with workers here, and if not, why. */
  sharedMemory(): { ok: true } | { ok: false; reason: string };
  /** Whether this (calling) thread may block in Atomics.wait (not a browser window's main thread). */
  readonly mainThreadCanBlock: boolean;
  /** Starts one worker; resolves once it has instantiated the module and waits for work. */
  spawnWorker(init: WorkerInit): Promise<WorkerHandle>;
}

/** Where the compiled kernels live, relative to this file once compiled (dist/src/engine/wasm/). */
export function wasmUrl(file: string, base: string | URL): URL {
  return new URL(`../../../wasm/${file}`, base);
}
