#!/usr/bin/env node
// Issue 16 item 2: does a larger batch tile help the wasm engine at large sizes? Times one wasm
// engine per tile width (1 thread, d = 29, batch 512, the bundled text), interleaved, and prints
// ms per step and picoseconds per edge-sample (the second fastest of 4 repeats).
// usage: npm run build && node scripts/tile-sweep.mjs NEURONS TILE,TILE,…
import { createWasmEngine } from "../dist/src/engine/wasm/engine.js";
import { makeWorkload } from "../dist/bench/engines.js";
import { readTextCorpus, bundledCorpusPath } from "../dist/src/data/files.js";
const K = Number(process.argv[2] ?? 170000);
const tiles = (process.argv[3] ?? "16,32,64,128").split(",").map(Number);
const text = await readTextCorpus(bundledCorpusPath());
const work = makeWorkload(text.symbols, K, 29, 512, 20, 1);
const engines = [];
for (const t of tiles) engines.push([t, await createWasmEngine(work.network.clone(), { threads: 1 }, { tile: t })]);
const res = Object.fromEntries(tiles.map((t) => [t, []]));
for (const [, e] of engines) e.step(work.batches[0]);
const steps = K > 100000 ? 2 : 20;
for (let rep = 0; rep < 4; rep++) for (const [t, e] of engines) {
  const s = performance.now();
  for (let i = 0; i < steps; i++) e.step(work.batches[i % work.batches.length]);
  res[t].push((performance.now() - s) / steps);
}
const edges = work.network.edges;
for (const t of tiles) { const m = res[t].sort((a, b) => a - b)[1]; console.log(`K ${K} tile ${t}: ${m.toFixed(1)} ms/step, ${(edges * 512 / m / 1e6).toFixed(2)} G edge-samples/s, ps/edge-sample ${(m * 1e9 / (edges * 512)).toFixed(1)}`); }
for (const [, e] of engines) await e.dispose();
