#!/usr/bin/env node
// orderAdmissibility's 512-target admissibility pass (graph/admissibility.ts fillBlocks, the engine's
// WebAssembly descendantWords) timed on a random network for one or more builds in the same process,
// interleaved, with a check that every build returns the same words. A baseline build is any other
// checkout's dist/.
// usage: node scripts/descendant-timing.mjs [--neurons 170000] [--blocks 24] [--repeats 3] [--dist dist,/path/to/baseline/dist]
// Blocks: `blocks` super blocks of 512 consecutive targets in the evaluation order spread over the
// order (the correlation queries' blocks), and as many of 512 random targets (the bounded scan's,
// by error norm).
import { flag as arg, loadBuilds, loadAverage, machine, median, timeInterleaved } from "./compare-builds.mjs";

const k = Number(arg("neurons", "170000"));
const blocks = Number(arg("blocks", "24"));
const repeats = Number(arg("repeats", "3"));
const n = 540;

const builds = await loadBuilds({ admissibility: "src/graph/admissibility.js", kernel: "src/engine/search-kernel.js", network: "src/graph/network.js", rng: "src/util/rng.js" });
const { network, rng: rngModule } = builds[0];
const net = network.Network.random({ neurons: k, inputs: n, outputs: 27, inDegree: 29 }, new rngModule.Rng(1));
const H = k - n;
const rng = new rngModule.Rng(3);
const sets = { "rank-order blocks": [], "random blocks": [] };
for (let b = 0; b < blocks; b++) {
  const r = Math.floor((b * (H - 512)) / Math.max(1, blocks - 1));
  sets["rank-order blocks"].push(Int32Array.from(net.order.subarray(r, r + 512)));
  const picked = new Set();
  while (picked.size < 512) picked.add(n + rng.nextInt(H));
  sets["random blocks"].push(Int32Array.from(picked));
}
console.log(`admissibility words, ${k.toLocaleString("en-US")} neurons, d = 29 · ${machine()}`);
for (const [name, targetSets] of Object.entries(sets)) {
  const runs = builds.map((build) => {
    const adm = build.admissibility.orderAdmissibility(net, { descendants: build.kernel.descendantWordsKernel });
    return { label: build.label, run: () => { let x = 0; for (const t of targetSets) x ^= adm.fillBlocks(t)[7]; return x; }, adm, times: [] };
  });
  // Warm-up (and the graph copied in), then the words compared block by block.
  for (const r of runs) r.run();
  let same = true;
  for (const t of targetSets) {
    const first = Int32Array.from(runs[0].adm.fillBlocks(t));
    for (const r of runs.slice(1)) {
      const w = r.adm.fillBlocks(t);
      if (w.length !== first.length || w.some((v, i) => v !== first[i])) same = false;
    }
  }
  timeInterleaved(runs, repeats);
  for (const r of runs) {
    const ms = median(r.times) / targetSets.length;
    console.log(`  ${name.padEnd(18)} ${r.label.padEnd(36)} ${ms.toFixed(1).padStart(7)} ms per pass (median of ${repeats} × ${targetSets.length} passes; ${r.times.map((t) => (t / targetSets.length).toFixed(1)).join(", ")})` + (r === runs[0] ? "" : ` · ${(median(runs[0].times) / median(r.times)).toFixed(2)}× the first row · ${same ? "same words" : "DIFFERENT WORDS"}`));
  }
}
console.log(`load average at the end ${loadAverage()}`);
