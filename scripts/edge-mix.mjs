// Issue 16: how much of "time per edge-sample at 170,000 neurons over that at 1,700" is the edge mix, and
// how much is the caches? With 540 one-hot inputs, 53 % of the 1,700-neuron network's edges come from
// inputs, which the engine handles per active input (20 of 540 per sample), so they cost far less than an
// edge between hidden neurons; at 170,000 neurons only ~2 % of edges come from inputs. This times the wasm
// engine (full training step, batch 512, real text) on three networks, interleaved, in one process:
//   uniform-1700   the bench's 1,700-neuron network (§4.6 draw: sources uniform over all earlier neurons);
//   mixed-1700     1,700 neurons, each edge from an input with the probability p that the large network
//                  has (its share of edges from inputs), else uniform over earlier hidden neurons;
//   uniform-K      the bench's K-neuron network.
// uniform-K / uniform-1700 is issue 16's ratio; uniform-K / mixed-1700 is the cost of the caches alone, at
// the same mix; mixed-1700 / uniform-1700 is the cost of the mix alone, in cache.
// With C=1 the C measuring stick (../shared/limit, not project code) runs on the same three graphs too: its
// own uniform files from run.sh, and the mixed network's sources written into a copy of its 1,700 file.
// With FMA=1 every network also runs with the fused multiply-add kernels (WasmTuning fma), interleaved.
// usage (repo root, after a build): node scripts/edge-mix.mjs [K=170000] [THREADS=1,2] [ROUNDS=5]
//   TEXT=path overrides the corpus (default ../shared/data/text8/text8.first-6877825-chars.gz).
import os from "node:os";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
const root = new URL("../dist", import.meta.url).href;
const { makeWorkload } = await import(`${root}/bench/engines.js`);
const { createWasmEngine } = await import(`${root}/src/engine/wasm/engine.js`);
const { loadCorpora } = await import(`${root}/src/experiments/text-run.js`);
const { Network } = await import(`${root}/src/graph/network.js`);
const { Rng } = await import(`${root}/src/util/rng.js`);
const withFma = process.env.FMA === "1";
if (withFma) (await import("node:v8")).setFlagsFromString("--experimental-wasm-relaxed-simd");

const K = Number(process.argv[2] ?? 170000);
const threadList = (process.argv[3] ?? "1,2").split(",").map(Number);
const rounds = Number(process.argv[4] ?? 5);
const D = 29, BATCH = 512, CONTEXT = 20, SEED = 1;
const corpus = process.env.TEXT ?? "../shared/data/text8/text8.first-6877825-chars.gz";
const corp = await loadCorpora(corpus, [], CONTEXT);

const inputShare = (net) => {
  let fromInputs = 0;
  for (let e = 0; e < net.sources.length; e++) if (net.sources[e] < net.inputs) fromInputs++;
  return fromInputs / net.sources.length;
};

/** k neurons; every edge from a uniform input with probability p, else from a uniform earlier hidden neuron (distinct per row). */
function mixedNetwork(base, k, p, rng) {
  const n = base.inputs, d = base.inDegree;
  const sources = new Int32Array((k - n) * d), weights = new Float32Array((k - n) * d);
  const std = Math.sqrt(2 / d);
  const row = new Set();
  for (let i = n; i < k; i++) {
    row.clear();
    const hidden = i - n;
    let fromHidden = 0;
    while (row.size < d) {
      // An input when drawn so, or when every earlier hidden neuron is already a source of this row.
      const input = fromHidden >= hidden || rng.nextFloat() < p;
      const s = input ? rng.nextInt(n) : n + rng.nextInt(hidden);
      if (!row.has(s)) { row.add(s); if (!input) fromHidden++; }
    }
    const sorted = Int32Array.from(row).sort();
    for (let e = 0; e < d; e++) { sources[(i - n) * d + e] = sorted[e]; weights[(i - n) * d + e] = std * rng.nextNormal(); }
  }
  return Network.fromArrays({ neurons: k, inputs: n, outputs: base.outputs, inDegree: d, task: base.task, sources, weights, biases: new Float32Array(k) });
}

const big = makeWorkload(corp.train, K, D, BATCH, CONTEXT, SEED);
const small = makeWorkload(corp.train, 1700, D, BATCH, CONTEXT, SEED);
const p = inputShare(big.network);
const mixed = { network: mixedNetwork(small.network, 1700, p, new Rng(SEED + 7)), batches: small.batches };
const nets = [["uniform-1700", small], ["mixed-1700", mixed], [`uniform-${K}`, big]];
console.log(`# node scripts/edge-mix.mjs ${process.argv.slice(2).join(" ")} · ${os.cpus()[0].model} · node ${process.version} · load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")} · ${new Date().toISOString()}`);
for (const [name, w] of nets) console.log(`${name}: ${w.network.edges.toLocaleString("en-US")} edges, ${(100 * inputShare(w.network)).toFixed(1)} % from inputs, depth ${w.network.depth}`);

for (const threads of threadList) {
  const engines = [];
  for (const [name, w] of nets) {
    engines.push({ name, w, engine: await createWasmEngine(w.network.clone(), { threads }) });
    if (withFma) engines.push({ name: `${name} fma`, w, engine: await createWasmEngine(w.network.clone(), { threads }, { fma: true }) });
  }
  // Steps per repeat: about 1 s of work each (at least 1), from one warm-up step.
  for (const e of engines) {
    e.engine.step(e.w.batches[0]);
    const t0 = performance.now(); e.engine.step(e.w.batches[1]); const ms = performance.now() - t0;
    e.steps = Math.max(1, Math.round(1000 / ms)); e.times = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < engines.length; j++) {
      const e = engines[(j + r) % engines.length];
      const t0 = performance.now();
      for (let s = 0; s < e.steps; s++) e.engine.step(e.w.batches[(r * e.steps + s) % e.w.batches.length]);
      e.times.push((performance.now() - t0) / e.steps);
    }
  }
  const per = {};
  for (const e of engines) {
    const t = [...e.times].sort((a, b) => a - b); const ms = t[Math.floor(t.length / 2)];
    per[e.name] = ms / (e.w.network.edges * BATCH);
    console.log(`${threads}T ${e.name.padEnd(18)} ${ms.toFixed(2).padStart(9)} ms/step (median of ${rounds}×${e.steps} steps; min ${t[0].toFixed(2)}, max ${t[t.length - 1].toFixed(2)}) · ${(1e-6 / per[e.name]).toFixed(2)} G edge-samples/s`);
    await e.engine.dispose();
  }
  const u = per["uniform-1700"], m = per["mixed-1700"], b = per[`uniform-${K}`];
  if (withFma) console.log(`${threads}T fma / plain build, time per step: ${nets.map(([name]) => `${name} ${(per[`${name} fma`] / per[name]).toFixed(2)}×`).join(" · ")}`);
  console.log(`${threads}T time per edge-sample: uniform-${K}/uniform-1700 ${(b / u).toFixed(2)}× (issue 16's ratio) = mix ${(m / u).toFixed(2)}× (mixed-1700/uniform-1700) × caches ${(b / m).toFixed(2)}× (uniform-${K}/mixed-1700)`);
}
if (process.env.C === "1") {
  // The C stick: run.sh builds it and its uniform data files; the mixed file is the 1,700 file with our sources.
  const limit = path.resolve("../shared/limit");
  const work = path.join(process.env.TMPDIR ?? "/tmp", "sparsewire-limit");
  const runSh = (k) => execFileSync("bash", [path.join(limit, "run.sh"), String(k), String(D), ...threadList.map(String)], { encoding: "utf8" })
    .trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const cUniform = runSh(1700);
  const file = readFileSync(path.join(work, "data", `dag_1700_${D}.bin`));
  const src = new Int32Array(file.buffer, file.byteOffset + 32, mixed.network.sources.length);
  src.set(mixed.network.sources);
  const mixedFile = path.join(work, "data", `dag_mixed_1700_${D}.bin`);
  writeFileSync(mixedFile, file);
  const cMixed = threadList.map((t) => {
    const r = JSON.parse(execFileSync(path.join(work, "kern"), [mixedFile, "bt", String(t), "30"], { cwd: work, encoding: "utf8" }));
    return { threads: r.threads, msPerStep: r.ms };
  });
  const cBig = runSh(K);
  for (const t of threadList) {
    const u = cUniform.find((r) => r.threads === t), m = cMixed.find((r) => r.threads === t), b = cBig.find((r) => r.threads === t);
    const edgesSmall = mixed.network.edges, edgesBig = big.network.edges;
    const pu = u.msPerStep / edgesSmall, pm = m.msPerStep / edgesSmall, pb = b.msPerStep / edgesBig;
    console.log(`C ${t}T ms/step: uniform-1700 ${u.msPerStep.toFixed(2)}, mixed-1700 ${m.msPerStep.toFixed(2)}, uniform-${K} ${b.msPerStep.toFixed(1)} · time per edge-sample: uniform-${K}/uniform-1700 ${(pb / pu).toFixed(2)}× = mix ${(pm / pu).toFixed(2)}× × caches ${(pb / pm).toFixed(2)}×`);
  }
}
console.log(`# load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
