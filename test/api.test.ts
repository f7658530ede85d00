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
