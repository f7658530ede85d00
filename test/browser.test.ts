/**
 * The wasm engine in a browser (issue 3, point 5): headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core) loads the browser entry dist/src/index.js as an ES module from a tiny
 * static server, trains 20 steps of a small network with the wasm engine, and must get the same
 * losses as Node, bit for bit for the same thread count.
 *
 * The server serves dist/ (compiled modules and dist/wasm/) plus test/browser/index.html under two
 * prefixes: /coi/ with cross-origin isolation (COOP same-origin, COEP require-corp, CORP same-origin
 * on everything), where SharedArrayBuffer exists and the engine runs 2 threads; /plain/ without, where
 * the engine must fall back to 1 thread and say so with a console warning.
 *
 * The training code (test/browser/train.ts) is the same module on both sides. It runs on the page's
 * main thread (which may not block: the engine's thread 0 spins instead of Atomics.wait there) and in
 * a dedicated module Worker started by the page (where it may block), so both paths are covered.
 *
 * Batch 128, not 64: the engine splits the batch into tiles of 64 samples across threads, so a batch
 * of 64 would leave the second thread idle and "2 threads" would test nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { chromium, type Browser } from "playwright-core";
import { train, type TrainConfig, type TrainResult } from "./browser/train.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/test
const distRoot = resolve(here, ".."); // dist
const repoRoot = resolve(distRoot, ".."); // the repository (for test/browser/index.html)
const CHROMIUM = "/usr/bin/chromium";
const TIMEOUT_MS = 60_000;
const PAGE_TIMEOUT_MS = 20_000;
/** 1 vs 2 threads: partial gradients are summed in a different order, so the losses differ by float32 rounding. */
const THREADS_LOSS_RTOL = 1e-5;

const CONFIG: Omit<TrainConfig, "threads"> = {
  neurons: 700,
  inputs: 540,
  outputs: 27,
  inDegree: 15,
  netSeed: 5,
  batchSeed: 7,
  groups: 20,
  symbols: 27,
  batch: 128,
  steps: 20,
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
};

interface Served {
  server: Server;
  origin: string;
  /** Paths requested (with their status), for the report on failure and the no-Node-module check. */
  log: string[];
}

/** Static server on 127.0.0.1 (random port): /coi/<path> with isolation headers, /plain/<path> without. */
async function serve(): Promise<Served> {
  const log: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const m = /^\/(coi|plain)\/(.*)$/.exec(url.pathname);
      let status = 404;
      let body: Buffer | string = "not found";
      const headers: Record<string, string> = { "Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8" };
      if (m) {
        const [, mode, rest] = m as unknown as [string, string, string];
        if (mode === "coi") {
          headers["Cross-Origin-Opener-Policy"] = "same-origin";
          headers["Cross-Origin-Embedder-Policy"] = "require-corp";
          headers["Cross-Origin-Resource-Policy"] = "same-origin";
        }
        // The page itself comes from the sources; everything else (modules, wasm) from dist/.
        const base = rest.endsWith(".html") ? repoRoot : distRoot;
        try {
          const file = resolve(base, decodeURIComponent(rest));
          if (file.startsWith(base + sep) && (!rest.endsWith(".html") || rest.startsWith("test/browser/"))) {
            body = await readFile(file);
            status = 200;
            headers["Content-Type"] = TYPES[extname(file)] ?? "application/octet-stream";
          }
        } catch {
          /* 404 */
        }
      }
      log.push(`${status} ${url.pathname}`);
      res.writeHead(status, headers);
      res.end(body);
    })();
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, log };
}

interface PageRun {
  result: TrainResult;
  /** console messages of type "warning" seen by the browser (page and its workers). */
  consoleWarnings: string[];
}

async function runInPage(browser: Browser, origin: string, mode: "coi" | "plain", where: "window" | "worker", threads: number): Promise<PageRun> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const consoleWarnings: string[] = [];
    const problems: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "warning") consoleWarnings.push(msg.text());
      if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? "?"})`));
    const config: TrainConfig = { ...CONFIG, threads };
    const query = new URLSearchParams({ config: JSON.stringify(config), where });
    await page.goto(`${origin}/${mode}/test/browser/index.html?${query}`);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: PAGE_TIMEOUT_MS, polling: 50 })
      .catch((e: unknown) => {
        throw new Error(`${mode}/${where}: no result within ${PAGE_TIMEOUT_MS} ms (${(e as Error).message.split("\n")[0]}); ${problems.join("; ") || "no page errors"}`);
      });
    const outcome = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as { result?: TrainResult; error?: string };
    if (outcome.error !== undefined || !outcome.result) throw new Error(`${mode}/${where}: the page failed: ${outcome.error}; ${problems.join("; ")}`);
    assert.deepEqual(problems, [], `${mode}/${where}: no page errors or failed requests`);
    return { result: outcome.result, consoleWarnings };
  } finally {
    await context.close();
  }
}

function assertSameBits(browser: TrainResult, node: TrainResult, label: string): void {
  assert.equal(browser.initialHash, node.initialHash, `${label}: same initial network as Node`);
  for (let s = 0; s < node.lossBits.length; s++) {
    assert.equal(browser.lossBits[s], node.lossBits[s], `${label}: step ${s + 1} loss ${browser.losses[s]} in the browser vs ${node.losses[s]} in Node`);
  }
  assert.equal(browser.lossBits.length, node.lossBits.length, `${label}: number of steps`);
  assert.equal(browser.finalHash, node.finalHash, `${label}: same trained weights as Node`);
}

test("the wasm engine trains in headless Chromium with the same losses as Node, bit for bit", { timeout: TIMEOUT_MS }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (npm test does it: scripts/system-deps.mjs)`);
  assert.ok(existsSync(resolve(distRoot, "wasm/sparsewire-threads.wasm")), "dist/wasm is missing: run `npm run build`");

  // Node first: the same module, the same network and batches, 2 threads and 1.
  const node2 = await train({ ...CONFIG, threads: 2 }, "node");
  const node1 = await train({ ...CONFIG, threads: 1 }, "node");
  assert.equal(node2.threads, 2);
  assert.equal(node1.threads, 1);
  assert.ok(node2.losses.every(Number.isFinite) && node1.losses.every(Number.isFinite), "finite losses");
  // Random classes cannot be learnt, so the loss need not fall; the weights must move, though.
  assert.notEqual(node2.finalHash, node2.initialHash, "training changed the weights");
  for (let s = 0; s < node1.losses.length; s++) {
    const a = node2.losses[s]!;
    const b = node1.losses[s]!;
    assert.ok(Math.abs(a - b) <= THREADS_LOSS_RTOL * Math.abs(b), `step ${s + 1}: 2 threads ${a} vs 1 thread ${b}`);
  }

  t.diagnostic(`Node, 2 threads: losses ${JSON.stringify(node2.losses)}; weights ${node2.finalHash}`);
  t.diagnostic(`Node, 1 thread: losses ${JSON.stringify(node1.losses)}; weights ${node1.finalHash}`);

  let served: Served | undefined;
  let browser: Browser | undefined;
  try {
    served = await serve();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: PAGE_TIMEOUT_MS,
    });
    const b = browser;
    const origin = served.origin;

    for (const where of ["window", "worker"] as const) {
      await t.test(`cross-origin isolated page (${where}): 2 threads, same bits as Node on 2 threads`, async () => {
        const { result, consoleWarnings } = await runInPage(b, origin, "coi", where, 2);
        assert.equal(result.where, where);
        assert.equal(result.crossOriginIsolated, true, "the page is cross-origin isolated");
        assert.equal(result.sharedArrayBuffer, true, "SharedArrayBuffer is available");
        assert.equal(result.threads, 2, "the engine runs 2 threads");
        assert.deepEqual(result.warnings, [], "no fallback warning");
        assert.deepEqual(consoleWarnings.filter((m) => m.includes("sparsewire")), [], "no fallback warning on the console");
        assertSameBits(result, node2, `isolated ${where}, 2 threads`);
        t.diagnostic(`isolated ${where}: ${result.threads} threads, ${result.ms.toFixed(0)} ms, final loss ${result.losses.at(-1)} (0x${result.lossBits.at(-1)}), weights ${result.finalHash}`);
      });
      await t.test(`page without isolation (${where}): falls back to 1 thread with a warning, same bits as Node on 1 thread`, async () => {
        const { result, consoleWarnings } = await runInPage(b, origin, "plain", where, 2);
        assert.equal(result.where, where);
        assert.equal(result.crossOriginIsolated, false, "the page is not cross-origin isolated");
        assert.equal(result.sharedArrayBuffer, false, "no SharedArrayBuffer");
        assert.equal(result.threads, 1, "the engine falls back to 1 thread");
        assert.equal(result.warnings.length, 1, `one warning: ${JSON.stringify(result.warnings)}`);
        assert.match(result.warnings[0]!, /one thread instead of 2.*cross-origin isolated/);
        // Playwright reports console messages of the page and of its dedicated workers alike.
        assert.ok(consoleWarnings.some((m) => /sparsewire: the wasm engine runs on one thread instead of 2/.test(m)), `console warning seen by the browser: ${JSON.stringify(consoleWarnings)}`);
        assertSameBits(result, node1, `non-isolated ${where}, fallback to 1 thread`);
        t.diagnostic(`non-isolated ${where}: ${result.threads} thread, ${result.ms.toFixed(0)} ms, final loss ${result.losses.at(-1)} (0x${result.lossBits.at(-1)}), warning "${result.warnings[0]}"`);
      });
    }

    // The browser path fetched the modules it needed and never the Node host (platform-node.js).
    assert.ok(served.log.some((l) => l.startsWith("200 ") && l.endsWith("/src/index.js")), "the page loaded dist/src/index.js");
    assert.ok(served.log.some((l) => l.startsWith("200 ") && l.endsWith("/wasm/sparsewire-threads.wasm")), "the isolated page fetched the threaded kernels");
    assert.ok(served.log.some((l) => l.startsWith("200 /plain/") && l.endsWith("/wasm/sparsewire.wasm")), "the plain page fetched the one-thread kernels");
    assert.deepEqual(served.log.filter((l) => l.includes("platform-node")), [], "no request for the Node platform module");
    const missing = served.log.filter((l) => !l.startsWith("200 ") && !l.endsWith("/favicon.ico"));
    assert.deepEqual(missing, [], "every request the pages made was served");
  } finally {
    await browser?.close().catch(() => undefined);
    if (served) {
      served.server.closeAllConnections();
      await new Promise<void>((ok) => served!.server.close(() => ok()));
    }
  }
});
