/**
 * Chooses the host platform (platform-api.ts declares it): `platform-node.ts` (fs, os,
 * worker_threads) or `platform-browser.ts` (fetch, Web Workers). This file imports nothing
 * platform-specific; the Node implementation is only ever reached through a dynamic import, so the
 * browser path never touches a Node built-in.
 */

export { wasmUrl, type Platform, type WorkerHandle, type WorkerInit } from "./platform-api.js";
import type { Platform } from "./platform-api.js";

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p === "object" && p !== null && typeof p.versions?.node === "string";
}

let cached: Promise<Platform> | undefined;

/** The host platform, chosen once: Node via dynamic import, otherwise the browser implementation. */
export function currentPlatform(): Promise<Platform> {
  if (!cached) {
    // A computed specifier keeps bundlers for the browser from following the Node implementation.
    const nodeModule = "./platform-node.js";
    cached = isNode()
      ? (import(nodeModule) as Promise<typeof import("./platform-node.js")>).then((m) => m.nodePlatform)
      : import("./platform-browser.js").then((m) => m.browserPlatform);
  }
  return cached;
}
