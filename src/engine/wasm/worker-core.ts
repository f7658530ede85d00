/**
 * A wasm engine worker, platform-free: instantiate the kernels on the shared memory, say ready, then
 * serve commands from the control block until told to exit (pool.ts). The entry files
 * worker-node.ts and worker-browser.ts only wire up the first message.
 */
import { workerLoop, type Kernels } from "./pool.js";
import type { WorkerInit } from "./platform.js";

export function startWorker(init: WorkerInit, post: (message: { ready?: true; error?: string }) => void): void {
  let kernels: Kernels;
  try {
    const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory, abort: () => { throw new Error("wasm abort"); } } });
    kernels = instance.exports as unknown as Kernels;
  } catch (e) {
    post({ error: e instanceof Error ? e.message : String(e) });
    return;
  }
  workerLoop(kernels, init.memory, init.control, init.ctx, init.thread, () => post({ ready: true }));
}
