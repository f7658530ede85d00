/**
 * Dedicated module Worker for the browser test: runs train.ts off the page's main thread. Does nothing
 * outside a worker (`node --test dist/test/` runs every .js under a test/ directory, this one too).
 */
import { train, type TrainConfig } from "./train.js";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<TrainConfig>) => void) | null;
  postMessage(message: unknown): void;
};
const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
if (inWorker) scope.onmessage = (e) => {
  scope.onmessage = null;
  train(e.data, "worker").then(
    (result) => scope.postMessage({ result }),
    (err: unknown) => scope.postMessage({ error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err) }),
  );
};
