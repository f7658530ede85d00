/**
 * The studio page (issue 13) in headless Chromium (Debian's /usr/bin/chromium via playwright-core),
 * served by the real studio server (src/studio/server.ts) from the real build (dist/studio/):
 * - the server starts on a free loopback port; the page loads with no console errors;
 * - 300 steps with RigL rewiring every 50 steps: the displayed training loss drops, the graph canvas
 *   is drawn with every neuron, rounds happen and the panel's edge statistics change, text appears;
 * - the same settings in Node (run module, wasm engine, same threads) give the same losses bit for
 *   bit, and the model saved from the page (a download) is the network Node trained, whose Node
 *   validation equals the page's;
 * - a model file (float and quantised) opens for inspection and writes text on request;
 * - without cross-origin isolation the page trains on one thread and says so.
 * Screenshots (idle, training with rewiring, inspecting a file) go to dist/studio-screenshots/, or to
 * $SPARSEWIRE_SCREENSHOTS (the README's come from `SPARSEWIRE_SCREENSHOTS=docs/studio`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { startStudioServer, type StudioServer } from "../src/studio/server.js";
import { runSettingsOf } from "../src/studio/worker.js";
import type { StudioSettings } from "../src/studio/protocol.js";
import { runTraining } from "../src/run/index.js";
import { readTextCorpus, bundledCorpusPath } from "../src/data/files.js";
import { splitCorpus } from "../src/data/windows.js";
import { loadNetwork } from "../src/io/model-file.js";
import { networkDifference } from "../src/io/schema.js";
import { createEngine } from "../src/engine/create.js";
import { evaluateText } from "../src/train/text.js";
import { quantizeNetwork } from "../src/compress/quantize.js";
import { saveQuantizedNetwork } from "../src/io/quantized-model-file.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/test
const distRoot = resolve(here, "..");
const CHROMIUM = "/usr/bin/chromium";
const TIMEOUT_MS = 120_000;
const shots = resolve(process.env["SPARSEWIRE_SCREENSHOTS"] ?? join(distRoot, "studio-screenshots"));

/** Small enough for seconds of training, big enough that 2 threads split the batch (tiles of 64). */
const SETTINGS: StudioSettings = { neurons: 800, inDegree: 15, context: 20, batch: 128, learningRate: 0.005, steps: 300, rewire: "rigl", rewireEvery: 50, seed: 3, evalEvery: 100, evalWindows: 5000 };

interface PageState {
  isolated: boolean;
  threads: number;
  running: boolean;
  done: boolean;
  step: number;
  losses: number[];
  validations: { step: number; bits: number; final: boolean }[];
  rounds: { step: number; rewired: number; refused: number }[];
  texts: string[];
  errors: string[];
  statsHistory: string[];
  engineThreads: number;
  corpus?: { name: string; symbols: number };
  model?: { name: string; neurons: number; edges: number };
  result?: { steps: number; trainBits: number; validBits: number; stopped: boolean };
}

const pageState = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { studio: { state: unknown } }).studio.state)) as unknown) as Promise<PageState>;

async function openPage(browser: Browser, url: string): Promise<{ page: Page; problems: string[]; warnings: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  const warnings: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    if (msg.type() === "warning") warnings.push(msg.text());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? "?"})`));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("ready"), undefined, { timeout: 20_000 });
  return { page, problems, warnings };
}

async function fillSettings(page: Page, s: StudioSettings): Promise<void> {
  await page.fill("#neurons", String(s.neurons));
  await page.fill("#in-degree", String(s.inDegree));
  await page.fill("#context", String(s.context));
  await page.fill("#batch", String(s.batch));
  await page.fill("#lr", String(s.learningRate));
  await page.fill("#steps", String(s.steps));
  await page.selectOption("#rewire", s.rewire);
  if (s.rewireEvery !== undefined && s.rewire !== "none") await page.fill("#rewire-every", String(s.rewireEvery));
  await page.fill("#eval-every", String(s.evalEvery));
  await page.fill("#seed", String(s.seed));
}

async function waitDone(page: Page, what: string): Promise<PageState> {
  await page.waitForFunction(() => {
    const s = (window as unknown as { studio: { state: { done: boolean; errors: string[] } } }).studio.state;
    return s.done || s.errors.length > 0;
  }, undefined, { timeout: TIMEOUT_MS, polling: 100 });
  const state = await pageState(page);
  assert.deepEqual(state.errors, [], `${what}: no error shown on the page`);
  return state;
}

/** Share of canvas pixels that are not the white background. */
const inkShare = (page: Page) =>
  page.evaluate(() => {
    const canvas = document.getElementById("graph") as HTMLCanvasElement;
    const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let p = 0; p < data.length; p += 4) if (data[p + 3]! > 0 && (data[p]! < 240 || data[p + 1]! < 240 || data[p + 2]! < 240)) ink++;
    return ink / (data.length / 4);
  });

test("studio: serve, train with rewiring, save, inspect, write (headless Chromium)", { timeout: 10 * 60_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (npm test does it: scripts/system-deps.mjs)`);
  assert.ok(existsSync(join(distRoot, "studio", "index.html")), "dist/studio is missing: run `npm run build`");
  mkdirSync(shots, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), "sparsewire-studio-"));
  let server: StudioServer | undefined;
  let plain: StudioServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startStudioServer({ port: 0 });
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, "loopback address, a free port");
    assert.notEqual(server.port, 0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 30_000,
    });
    const b = browser;
    const url = server.url;
    let saved = "";
    let pageResult: PageState | undefined;

    await t.test("loads with no console errors; cross-origin isolated; idle screenshot", async () => {
      const { page, problems } = await openPage(b, url);
      const state = await pageState(page);
      assert.equal(state.isolated, true, "the server's headers make the page cross-origin isolated");
      assert.match((await page.textContent("#status")) ?? "", /all \d+ cores/);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(shots, "studio-idle.jpg"), type: "jpeg", quality: 85, fullPage: true });
      assert.deepEqual(problems, []);
      await page.context().close();
    });

    await t.test("300 steps with RigL: loss drops, graph drawn, rounds change the edge statistics, text appears, model saved", async () => {
      const { page, problems } = await openPage(b, url);
      await fillSettings(page, SETTINGS);
      await page.click("#start");
      await page.waitForFunction(() => (window as unknown as { studio: { state: { losses: number[] } } }).studio.state.losses.length > 0, undefined, { timeout: 30_000, polling: 20 });
      const state = await waitDone(page, "training");
      pageResult = state;
      assert.equal(state.losses.length, SETTINGS.steps, "a loss for every step");
      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const first = mean(state.losses.slice(0, 20));
      const last = mean(state.losses.slice(-20));
      assert.ok(last < first - 0.3, `training loss drops: first 20 steps ${first.toFixed(3)}, last 20 ${last.toFixed(3)} bits/char`);
      const shown = Number((await page.textContent("#n-train")) ?? "NaN");
      assert.ok(shown < first - 0.2, `the displayed (smoothed) training loss ${shown} is below the first steps' ${first.toFixed(3)}`);
      // The canvas: every neuron drawn, and real ink on it.
      const drawn = await page.evaluate(() => (window as unknown as { studio: { view: () => { drawnNeurons: number; drawnEdges: number } } }).studio.view().drawnNeurons);
      assert.equal(drawn, SETTINGS.neurons, "the graph view drew every neuron");
      const ink = await inkShare(page);
      assert.ok(ink > 0.01, `the graph canvas is not blank (${(100 * ink).toFixed(1)} % of pixels drawn)`);
      // Rewiring: RigL every 50 steps until 75 % of training: rounds at 50, 100, 150, 200.
      assert.deepEqual(state.rounds.map((r) => r.step), [50, 100, 150, 200], "RigL rounds every 50 steps up to 75 % of training");
      // The cosine-decayed fraction is small by step 200, where every planned swap may be refused.
      assert.ok(state.rounds.slice(0, 3).every((r) => r.rewired > 0), `the first rounds rewired edges: ${JSON.stringify(state.rounds)}`);
      assert.ok(new Set(state.statsHistory).size > 1, `the panel's edge statistics change with the rounds: ${JSON.stringify(state.statsHistory.slice(0, 3))}`);
      assert.notEqual(state.statsHistory.at(-1), state.statsHistory[0], "the final graph's statistics differ from the initial graph's");
      assert.ok(Number(await page.textContent("#g-rounds")) === 4, "the panel counts 4 rounds");
      // Text: written at the end of training (and every few seconds while training).
      assert.ok(state.texts.length >= 1, "the model wrote text");
      assert.match(state.texts.at(-1)!, /^[a-z ]{150,}$/, "generated text: lowercase letters and spaces");
      assert.ok(((await page.textContent("#sample")) ?? "").length > 100, "the text is shown");
      await page.fill("#prompt", "the studio ");
      await page.fill("#length", "80");
      await page.click("#write");
      await page.waitForFunction(() => (document.getElementById("generated")?.textContent ?? "").length >= 80, undefined, { timeout: 20_000 });
      // Save: the page offers the file as a download.
      const [download] = await Promise.all([page.waitForEvent("download", { timeout: 20_000 }), page.click("#save-safetensors")]);
      saved = join(tmp, download.suggestedFilename());
      await download.saveAs(saved);
      assert.match(download.suggestedFilename(), /\.safetensors$/);
      assert.deepEqual(problems, [], "no console errors");
      await page.context().close();
    });

    await t.test("a long run with RigL: pause holds the step, resume continues, stop ends it with a model; screenshot", async () => {
      const { page, problems } = await openPage(b, url);
      await fillSettings(page, { ...SETTINGS, neurons: 1700, inDegree: 29, batch: 256, steps: 50_000, rewireEvery: 100, evalEvery: 500 });
      await page.click("#start");
      // Wait for three rounds and a text sample (written every 4 s), then pause.
      await page.waitForFunction(() => {
        const s = (window as unknown as { studio: { state: { rounds: unknown[]; texts: unknown[]; errors: unknown[] } } }).studio.state;
        return (s.rounds.length >= 3 && s.texts.length >= 1) || s.errors.length > 0;
      }, undefined, { timeout: TIMEOUT_MS, polling: 100 });
      await page.click("#pause");
      await page.waitForFunction(() => (window as unknown as { studio: { state: { paused: boolean } } }).studio.state.paused, undefined, { timeout: 10_000 });
      const held = (await pageState(page)).step;
      await page.waitForTimeout(600);
      assert.equal((await pageState(page)).step, held, "no step while paused");
      assert.equal(await page.textContent("#pause"), "Resume");
      await page.waitForTimeout(200);
      await page.screenshot({ path: join(shots, "studio-training.jpg"), type: "jpeg", quality: 85, fullPage: true });
      await page.click("#pause");
      await page.waitForFunction((h) => (window as unknown as { studio: { state: { step: number } } }).studio.state.step > h + 20, held, { timeout: 20_000 });
      await page.click("#stop");
      const state = await waitDone(page, "stopped run");
      assert.equal(state.result?.stopped, true, "the run reports it was stopped");
      assert.ok(state.result!.steps > held && state.result!.steps < 50_000, `stopped at step ${state.result!.steps}`);
      assert.ok(Number.isFinite(state.result!.validBits), "a stopped run is validated on the whole split");
      assert.equal(await page.isEnabled("#save-safetensors"), true, "a stopped run's model can be saved");
      assert.deepEqual(problems, [], "no console errors");
      await page.context().close();
    });

    await t.test("the same settings in Node: same losses bit for bit, the saved file is Node's network, same validation", async () => {
      assert.ok(pageResult && saved, "the training test ran");
      const page = pageResult;
      const symbols = (await readTextCorpus(bundledCorpusPath())).symbols;
      const [train, valid] = splitCorpus(symbols, [0.9, 0.05, 0.05], SETTINGS.context);
      const node = await runTraining({ ...runSettingsOf(SETTINGS), threads: page.engineThreads }, { train: train!.symbols, valid: valid!.symbols });
      assert.equal(node.losses.length, page.losses.length);
      for (let s = 0; s < node.losses.length; s++) {
        assert.equal(Math.fround(page.losses[s]!), node.losses[s], `step ${s + 1}: page ${page.losses[s]} vs Node ${node.losses[s]} (${page.engineThreads} threads)`);
      }
      const loaded = loadNetwork(saved);
      assert.equal(networkDifference(node.network, loaded), undefined, "the downloaded model is the network Node trained");
      const engine = await createEngine("wasm", loaded, { threads: page.engineThreads });
      try {
        const bits = evaluateText(engine, valid!.symbols, SETTINGS.context, SETTINGS.batch).bitsPerSymbol;
        assert.equal(bits, page.result!.validBits, "Node evaluates the saved file to the page's validation bits");
        assert.equal(bits, node.valid.bitsPerSymbol);
      } finally {
        await engine.dispose();
      }
    });

    await t.test("inspect a model file (float and quantised): shape shown, graph drawn, it writes on request", async () => {
      assert.ok(saved, "the training test saved a model");
      const { page, problems } = await openPage(b, url);
      const net = loadNetwork(saved);
      const q = quantizeNetwork(net, { bits: 4, scale: "neuron", by: "mse" });
      const quantizedPath = join(tmp, "model-q4.safetensors");
      saveQuantizedNetwork(quantizedPath, net, q);
      for (const [file, label] of [[saved, "float"], [quantizedPath, "quantised"]] as const) {
        await page.setInputFiles("#model-file", file);
        await page.waitForFunction((name) => (window as unknown as { studio: { state: { model?: { name: string } } } }).studio.state.model?.name === name, file.split("/").pop(), { timeout: 20_000 });
        const info = (await page.textContent("#model-info")) ?? "";
        assert.match(info, new RegExp(`${net.neurons} neurons .*in-degree ${net.inDegree}`), `${label}: the model's shape is shown`);
        if (label === "quantised") assert.match(info, /quantised to 4 bits/);
        const drawn = await page.evaluate(() => (window as unknown as { studio: { view: () => { drawnNeurons: number } } }).studio.view().drawnNeurons);
        assert.equal(drawn, net.neurons, `${label}: every neuron drawn`);
      }
      // Colour by utility: the worker estimates |−w·∂L/∂w| on validation windows of the bundled text.
      await page.selectOption("#colouring", "utility");
      await page.waitForFunction(() => (window as unknown as { studio: { state: { graph?: { utility?: unknown } } } }).studio.state.graph?.utility !== undefined, undefined, { timeout: 20_000 });
      const utility = await page.evaluate(() => {
        const u = (window as unknown as { studio: { state: { graph: { utility: Float32Array } } } }).studio.state.graph.utility;
        let positive = 0;
        let bad = 0;
        for (const x of u) {
          if (x > 0 && Number.isFinite(x)) positive++;
          if (!(x >= 0 && Number.isFinite(x))) bad++;
        }
        return { length: u.length, positive, bad };
      });
      assert.equal(utility.length, net.edges, "a utility for every edge");
      assert.equal(utility.bad, 0, "every |utility| is finite and ≥ 0");
      // Edges into neurons that are dead on the batch (ReLU off for all 128 windows) have utility 0.
      assert.ok(utility.positive > net.edges / 5, `many edges have a positive |utility| (${utility.positive} of ${net.edges})`);
      await page.fill("#prompt", "in the year ");
      await page.fill("#length", "60");
      await page.click("#write");
      await page.waitForFunction(() => (document.getElementById("generated")?.textContent ?? "").length >= 60, undefined, { timeout: 20_000 });
      // Hover the first hidden neuron: the tooltip names it.
      const at = await page.evaluate((i) => (window as unknown as { studio: { view: () => { positionOf(i: number): { x: number; y: number } | undefined } } }).studio.view().positionOf(i), net.inputs);
      assert.ok(at, "the view knows where it drew the neuron");
      await page.hover("#graph", { position: at });
      await page.waitForFunction(() => !(document.getElementById("tooltip") as HTMLElement).hidden, undefined, { timeout: 5_000 });
      assert.match((await page.textContent("#tooltip")) ?? "", new RegExp(`neuron ${net.inputs}\\b.*hidden`), "the tooltip names the hovered neuron");
      await page.screenshot({ path: join(shots, "studio-inspect.jpg"), type: "jpeg", quality: 85, fullPage: true });
      assert.deepEqual(problems, [], "no console errors");
      await page.context().close();
    });

    await t.test("without cross-origin isolation: one thread, and the page says so", async () => {
      plain = await startStudioServer({ port: 0, isolation: false });
      const { page, problems } = await openPage(b, plain.url);
      const state = await pageState(page);
      assert.equal(state.isolated, false);
      assert.match((await page.textContent("#status")) ?? "", /not cross-origin isolated.*one thread/);
      await fillSettings(page, { ...SETTINGS, steps: 40, rewire: "none" });
      // A text of the user's, picked with the file input (the drop zone takes the same path).
      const own = join(tmp, "own-text.txt");
      writeFileSync(own, "It was the best of times, it was the worst of times, it was the age of wisdom. ".repeat(2_000));
      await page.setInputFiles("#text-file", own);
      assert.equal(await page.inputValue("#corpus"), "dropped", "the picked file becomes the training text");
      await page.click("#start");
      const done = await waitDone(page, "one-thread training");
      assert.equal(done.corpus?.name, "own-text.txt", "trained on the user's text");
      assert.equal(done.corpus?.symbols, 2_000 * "it was the best of times it was the worst of times it was the age of wisdom ".length, "cleaned like the CLI cleans");
      assert.equal(done.engineThreads, 1, "the engine ran one thread");
      assert.match((await page.textContent("#n-engine")) ?? "", /wasm, 1 thread$/);
      assert.equal(done.losses.length, 40);
      assert.deepEqual(problems, [], "no console errors");
      await page.context().close();
    });

    t.diagnostic(`screenshots in ${shots}`);
  } finally {
    await browser?.close();
    await server?.close();
    await plain?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

// A bad --model or an unbuilt page is refused with one line (no server started).
test("studio server: refuses a missing model file and a missing build", async () => {
  await assert.rejects(startStudioServer({ port: 0, model: "/nonexistent/model.safetensors" }), /model file \/nonexistent\/model\.safetensors does not exist/);
  await assert.rejects(startStudioServer({ port: 0, root: tmpdir() + "/no-studio-here" }), /the studio page is not built/);
});
