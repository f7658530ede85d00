/** Node entry of a wasm engine worker (worker_threads); the work itself is in worker-core.ts. */
import { parentPort } from "node:worker_threads";
import { startWorker } from "./worker-core.js";
import type { WorkerInit } from "./platform.js";

// `once`: after the loop returns nothing keeps this thread alive, so it ends by itself.
parentPort?.once("message", (init: WorkerInit) => {
  startWorker(init, (message) => parentPort?.postMessage(message));
});
