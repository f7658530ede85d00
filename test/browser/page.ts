/**
 * The browser test's page script (loaded by index.html as an ES module). Reads the configuration from
 * the query string (?config=<JSON>&where=window|worker), trains (train.ts) on this page's main thread
 * or inside a dedicated module Worker it starts, and leaves { result } or { error } in window.__result
 * for the test to poll.
 *
 * `node --test dist/test/` also runs every .js under a test/ directory, this file included: outside a
 * browser window it does nothing.
 */
import { train, type TrainConfig, type TrainResult } from "./train.js";

type Outcome = { result: TrainResult } | { error: string };
const w = globalThis as unknown as { __result?: Outcome };

function fail(e: unknown): void {
  w.__result = { error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e) };
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const config = JSON.parse(params.get("config") ?? "null") as TrainConfig;
  if (params.get("where") === "worker") {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    worker.onerror = (e) => fail(`the training worker failed: ${e.message}`);
    worker.onmessage = (e: MessageEvent<Outcome>) => {
      w.__result = e.data;
      worker.terminate();
    };
    worker.postMessage(config);
  } else {
    w.__result = { result: await train(config, "window") };
  }
}

if (typeof window !== "undefined" && typeof document !== "undefined") main().catch(fail);
