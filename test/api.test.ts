/** The public API as a library user sees it, and the browser entry's freedom from Node built-ins. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as sw from "../src/node.js";

const here = dirname(fileURLToPath(import.meta.url));

test("train, save and load through the public API", async () => {
  const corpus = await sw.readTextCorpus(sw.bundledCorpusPath());
  const [train, valid] = sw.splitCorpus(corpus.symbols.subarray(0, 200_000), [0.9, 0.05, 0.05], 8);
  const rng = new sw.Rng(3);
  const net = sw.Network.random({ neurons: 300, ...sw.textShape(8), inDegree: 12, task: sw.textTask(8) }, rng.fork());
  const engine = await sw.createEngine("reference", net);
  const result = await sw.trainText(engine, train!.symbols, valid!.symbols, { context: 8, batch: 64, steps: 200, evalEvery: 0, evalWindows: 1000, rng: rng.fork() });
  assert.equal(result.steps, 200);
  assert.ok(result.valid.bitsPerSymbol < 4.6, `${result.valid.bitsPerSymbol}`);
  const path = join(mkdtempSync(join(tmpdir(), "sparsewire-api-")), "m.safetensors");
  sw.saveNetwork(path, net);
  const back = sw.loadNetwork(path);
  const again = sw.evaluateText(await sw.createEngine("reference", back), valid!.symbols, 8, 64);
  assert.equal(again.bitsPerSymbol, result.valid.bitsPerSymbol, "a loaded model evaluates identically, bit for bit");
  await engine.dispose();
});

test("the browser entry imports no Node built-in (static import graph of dist/src/index.js)", () => {
  const start = resolve(here, "../src/index.js");
  const seen = new Set<string>();
  const offenders: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    for (const m of code.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else offenders.push(`${file}: ${spec}`);
    }
  };
  visit(start);
  assert.ok(seen.size > 10, `followed ${seen.size} files`);
  assert.deepEqual(offenders, [], "browser-safe modules import only relative modules");
});

test("the package entries export rewiring, utility, pruning, quantisation and the run module (imported by package name)", async () => {
  // By name, as a user imports them (Node resolves the package's own "exports"); the specifier is
  // a variable so that the compiler does not need dist/ to exist before it compiles this test.
  const names = ["sparsewire", "sparsewire/browser"];
  for (const name of names) {
    const pkg = (await import(name)) as typeof import("../src/node.js");
    for (const symbol of ["Rewirer", "PRESETS", "exactSearch", "approximateSearch", "newEdgeWeights", "estimateUtility", "firstOrderUtility", "wandaUtility", "pruneToInDegree", "GradualPruner", "quantizeNetwork", "quantizedToSafetensors", "runTraining", "nextSymbolProbabilities", "learningRateAt"] as const) {
      assert.equal(typeof pkg[symbol], symbol === "PRESETS" ? "object" : "function", `${name} exports ${symbol}`);
    }
  }
  const sw = (await import(names[0]!)) as typeof import("../src/node.js");
  assert.equal(typeof sw.saveQuantizedNetwork, "function");
  // A few lines from the README: rewire a network from code, then quantise it, all through the entry.
  const corpus = await sw.readTextCorpus(sw.bundledCorpusPath());
  const [train, valid] = sw.splitCorpus(corpus.symbols.subarray(0, 200_000), [0.9, 0.05, 0.05], 4);
  const run = await sw.runTraining(
    { network: { kind: "random", neurons: 200, inDegree: 8, context: 4 }, batch: 64, steps: 120, seed: 5, engine: "reference", rewire: { ...sw.PRESETS.rigl, every: 20 } },
    { train: train!.symbols, valid: valid!.symbols },
  );
  assert.ok(run.edgesRewired > 0, "RigL rewired edges");
  assert.equal(run.network.edges, (200 - 4 * 27) * 8, "at equal edges");
  const engine = await sw.createEngine("reference", run.network);
  const batches = [new sw.TextBatch(64, 4).sample(new sw.WindowSampler(train!.symbols, 4, new sw.Rng(1)))];
  const utility = sw.estimateUtility(engine, batches, "first-order");
  assert.equal(utility.length, run.network.edges);
  const pruned = sw.pruneToInDegree(run.network, utility, 4);
  assert.equal(pruned.network.inDegree, 4);
  const q = sw.quantizeNetwork(run.network, { bits: 4, scale: "neuron", by: "max" });
  const path = join(mkdtempSync(join(tmpdir(), "sparsewire-api-q-")), "q.safetensors");
  sw.saveQuantizedNetwork(path, q.network, q);
  assert.equal(sw.loadQuantizedModel(path).quantization.bits, 4);
  const p = sw.nextSymbolProbabilities(engine, new Uint8Array([0, 1, 2, 3]), 1);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9, "probabilities sum to 1");
  assert.deepEqual(Array.from(sw.nextSymbolProbabilities(engine, new Uint8Array([0, 1, 2, 3]), 1, 0)).filter((x) => x === 1).length, 1, "temperature 0 is greedy");
  await engine.dispose();
});

test("nextSymbolProbabilities agrees with the engine's loss: −log₂ p(target) is the window's cross-entropy", async () => {
  const rng = new sw.Rng(9);
  const net = sw.Network.random({ neurons: 200, ...sw.textShape(4), inDegree: 8, task: sw.textTask(4) }, rng.fork());
  for (let i = net.inputs; i < net.neurons; i++) net.biases[i] = 0.2 * rng.nextNormal();
  const engine = await sw.createEngine("reference", net);
  const text = Uint8Array.from({ length: 40 }, () => rng.nextInt(27));
  const windows = new Uint8Array(3 * 4);
  for (let b = 0; b < 3; b++) windows.set(text.subarray(b * 9, b * 9 + 4), b * 4);
  const p = sw.nextSymbolProbabilities(engine, windows, 3);
  for (let b = 0; b < 3; b++) {
    const target = text[b * 9 + 4]!;
    const e = engine.evaluate(new sw.TextBatch(1, 4).fill(text, [b * 9 + 4], 1));
    assert.ok(Math.abs(-Math.log2(p[b * 27 + target]!) - e.lossSum) < 1e-5, `window ${b}: ${-Math.log2(p[b * 27 + target]!)} vs ${e.lossSum}`);
  }
  const cold = sw.nextSymbolProbabilities(engine, windows, 3, 0.5);
  const argmax = (a: Float64Array, b: number) => Array.from(a.subarray(b * 27, b * 27 + 27)).indexOf(Math.max(...a.subarray(b * 27, b * 27 + 27)));
  for (let b = 0; b < 3; b++) assert.equal(argmax(cold, b), argmax(p, b), "a lower temperature keeps the mode");
  assert.ok(Math.max(...cold.subarray(0, 27)) > Math.max(...p.subarray(0, 27)), "and sharpens it");
  await engine.dispose();
});
