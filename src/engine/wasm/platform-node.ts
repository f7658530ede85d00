/**
 * Node implementation of the wasm engine's host (see platform.ts): reads the .wasm from dist/wasm
 * with fs, counts cores with os.availableParallelism(), runs workers with worker_threads. Workers
 * are unref()'d so that a forgotten dispose() never keeps the process alive.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { SparsewireError } from "../../util/errors.js";
import { wasmUrl, type Platform, type WorkerHandle, type WorkerInit } from "./platform-api.js";

const modules = new Map<string, Promise<WebAssembly.Module>>();

export const nodePlatform: Platform = {
  name: "node",
  mainThreadCanBlock: true,

  loadModule(file: string): Promise<WebAssembly.Module> {
    let m = modules.get(file);
    if (!m) {
      const path = fileURLToPath(wasmUrl(file, import.meta.url));
      m = readFile(path).then(
        (bytes) => WebAssembly.compile(bytes),
        (e: unknown) => {
          throw new SparsewireError("engine", `cannot read the WebAssembly kernels ${path}: ${(e as Error).message}`, "run `npm run build` (it compiles assembly/ into dist/wasm/)");
        },
      );
      modules.set(file, m);
    }
    return m;
  },

  hardwareThreads(): number {
    return availableParallelism();
  },

  sharedMemory() {
    return { ok: true };
  },

  spawnWorker(init: WorkerInit): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL("./worker-node.js", import.meta.url));
      worker.unref();
      const fail = (e: unknown) => reject(new SparsewireError("engine", `wasm worker ${init.thread} failed to start: ${e instanceof Error ? e.message : String(e)}`));
      worker.once("error", fail);
      worker.once("message", (msg: { ready?: boolean; error?: string }) => {
        worker.off("error", fail);
        if (msg.error !== undefined) {
          void worker.terminate();
          fail(msg.error);
          return;
        }
        resolve({
          terminate: async () => {
            await worker.terminate();
          },
        });
      });
      worker.postMessage(init);
    });
  },
};
