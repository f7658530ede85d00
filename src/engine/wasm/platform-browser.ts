/**
 * Browser implementation of the wasm engine's host (see platform.ts): fetches the .wasm relative to
 * this module (dist/src/engine/wasm/ → dist/wasm/), counts cores with navigator.hardwareConcurrency,
 * runs module Web Workers. Threads need shared memory, which browsers only allow on cross-origin
 * isolated pages (COOP: same-origin, COEP: require-corp); without it the engine runs one thread.
 * No Node built-ins here.
 */
import { SparsewireError } from "../../util/errors.js";
import { wasmUrl, type Platform, type WorkerHandle, type WorkerInit } from "./platform-api.js";

const modules = new Map<string, Promise<WebAssembly.Module>>();

function canBlock(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  try {
    // Throws on a window's main thread before it compares the value; elsewhere returns "not-equal".
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export const browserPlatform: Platform = {
  name: "browser",
  mainThreadCanBlock: canBlock(),

  loadModule(file: string): Promise<WebAssembly.Module> {
    let m = modules.get(file);
    if (!m) {
      const url = wasmUrl(file, import.meta.url);
      m = fetch(url).then(async (response) => {
        if (!response.ok) throw new SparsewireError("engine", `cannot fetch the WebAssembly kernels ${url.href}: HTTP ${response.status}`, "serve dist/wasm/ next to dist/src/");
        return WebAssembly.compile(await response.arrayBuffer());
      });
      modules.set(file, m);
    }
    return m;
  },

  hardwareThreads(): number {
    const n = typeof navigator !== "undefined" ? navigator.hardwareConcurrency : 1;
    return Number.isInteger(n) && n > 0 ? n : 1;
  },

  sharedMemory() {
    if (typeof SharedArrayBuffer === "undefined") {
      return { ok: false, reason: "SharedArrayBuffer is not available (the page is not cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)" };
    }
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    if (isolated === false) {
      return { ok: false, reason: "the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)" };
    }
    if (typeof Worker === "undefined") return { ok: false, reason: "Web Workers are not available here" };
    return { ok: true };
  },

  spawnWorker(init: WorkerInit): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL("./worker-browser.js", import.meta.url), { type: "module" });
      worker.onerror = (e) => reject(new SparsewireError("engine", `wasm worker ${init.thread} failed to start: ${e.message}`));
      worker.onmessage = (e: MessageEvent<{ ready?: boolean; error?: string }>) => {
        worker.onmessage = null;
        worker.onerror = null;
        if (e.data.error !== undefined) {
          worker.terminate();
          reject(new SparsewireError("engine", `wasm worker ${init.thread} failed to start: ${e.data.error}`));
          return;
        }
        resolve({
          terminate: async () => {
            worker.terminate();
          },
        });
      };
      worker.postMessage(init);
    });
  },
};
