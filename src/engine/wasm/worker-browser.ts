/** Browser entry of a wasm engine worker (module Web Worker); the work itself is in worker-core.ts. */
import { startWorker } from "./worker-core.js";
import type { WorkerInit } from "./platform.js";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerInit>) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}
const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  scope.onmessage = null;
  startWorker(event.data, (message) => scope.postMessage(message));
  scope.close();
};
