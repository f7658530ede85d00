// Quick tuning of the blocked backward pull (issue 16): step time per WasmTuning setting at one size, the
// engines interleaved, 4 rounds of 2 steps, the median of the last 3 rounds. Run from the repo root after a build:
// node scripts/block-tuning.mjs K THREADS '[{"block":false},{},{"tile":16}]'
const root = new URL("../dist", import.meta.url).href;
const { makeWorkload } = await import(`${root}/bench/engines.js`);
const { createWasmEngine } = await import(`${root}/src/engine/wasm/engine.js`);
const { loadCorpora } = await import(`${root}/src/experiments/text-run.js`);
const K = Number(process.argv[2] ?? 170000), threads = Number(process.argv[3] ?? 1);
const corp = await loadCorpora(process.env.TEXT ?? "../shared/data/text8/text8.first-6877825-chars.gz", [], 20);
const w = makeWorkload(corp.train, K, 29, 512, 20, 1);
const settings = JSON.parse(process.argv[4]);
const engines = [];
for (const s of settings) engines.push([JSON.stringify(s), await createWasmEngine(w.network, { threads }, s)]);
const times = engines.map(() => []);
for (let rep = 0; rep < 4; rep++) for (let i = 0; i < engines.length; i++) {
  const e = engines[i][1]; const t0 = performance.now(); for (let k = 0; k < 2; k++) e.step(w.batches[(rep * 2 + k) % w.batches.length]); times[i].push((performance.now() - t0) / 2);
}
for (let i = 0; i < engines.length; i++) { const t = times[i].slice(1).sort((a, b) => a - b); console.log(K, threads, engines[i][0], "median ms/step", t[1].toFixed(1)); }
