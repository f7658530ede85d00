#!/usr/bin/env node
// The approximate candidate search (§4.3) timed on random activity of a random network, for one or
// more builds of sparsewire in the same process, interleaved (median of repeats), with a check that
// every build returns the same result bit for bit. A baseline build is any other checkout's dist/.
// usage: node scripts/lsh-timing.mjs [--neurons 17000] [--samples 256] [--repeats 3]
//          [--criteria correlation,gradient] [--kernels auto] [--dist dist,/path/to/baseline/dist]
// Random activity: one-hot inputs, ReLU(N(0,1)) outputs, N(0,1)/S errors; order admissibility with
// the engine's 512-target kernel; thesis options for correlation (|corr| ≥ 0.3, 4 per target),
// RigL-like ones for gradient (top 20,000, 4 per target).
import { flag as arg, loadBuilds, loadAverage, machine, median, timeInterleaved } from "./compare-builds.mjs";

const k = Number(arg("neurons", "17000"));
const S = Number(arg("samples", "256"));
const repeats = Number(arg("repeats", "3"));
const criteria = arg("criteria", "correlation,gradient").split(",");
const kernelChoices = arg("kernels", "auto").split(",");
const n = 540;

const builds = await loadBuilds({ search: "src/rewire/approximate-search.js", admissibility: "src/graph/admissibility.js", kernel: "src/engine/search-kernel.js", network: "src/graph/network.js", rng: "src/util/rng.js" });

// One network and activity (from the first build's RNG and Network), shared by all builds.
const { network, rng: rngModule } = builds[0];
const net = network.Network.random({ neurons: k, inputs: n, outputs: 27, inDegree: 29 }, new rngModule.Rng(1));
const rng = new rngModule.Rng(2);
const outputs = new Float32Array(k * S);
const errors = new Float32Array(k * S);
for (let b = 0; b < S; b++) for (let g = 0; g < 20; g++) outputs[(g * 27 + rng.nextInt(27)) * S + b] = 1;
for (let i = n; i < k; i++) {
  for (let b = 0; b < S; b++) {
    const v = rng.nextNormal();
    outputs[i * S + b] = v < 0 ? 0 : v;
    errors[i * S + b] = rng.nextNormal() / S;
  }
}
const activity = { neurons: k, inputs: n, samples: S, outputs, errors };

console.log(`approximate search, ${k.toLocaleString("en-US")} neurons, ${S} samples · ${machine()}`);

const same = (x, y) => {
  if (x.top.count !== y.top.count) return false;
  for (const f of ["sources", "targets", "inner", "correlation", "score"]) for (let r = 0; r < x.top.count; r++) if (!Object.is(x.top[f][r], y.top[f][r])) return false;
  for (const f of ["sources", "inner", "correlation", "score"]) {
    if (x.perTarget[f].length !== y.perTarget[f].length) return false;
    for (let r = 0; r < x.perTarget[f].length; r++) if (!Object.is(x.perTarget[f][r], y.perTarget[f][r])) return false;
  }
  return x.stats.pairsScored === y.stats.pairsScored && x.stats.visited === y.stats.visited;
};

for (const criterion of criteria) {
  const runs = [];
  for (const build of builds) {
    const admissibility = build.admissibility.orderAdmissibility(net, { descendants: build.kernel.descendantWordsKernel });
    const options = criterion === "correlation" ? { criterion, top: 0, perTarget: 4, minScore: 0.3, admissibility } : { criterion, top: 20000, perTarget: 4, admissibility };
    for (const kernel of kernelChoices) runs.push({ label: `${build.label} ${kernel}`, run: () => build.search.approximateSearch(activity, { ...options, kernel }), times: [], result: undefined });
  }
  for (const r of runs) r.result = r.run(); // warm-up (JIT, wasm tier-up), and the results to compare
  timeInterleaved(runs, repeats);
  const base = runs[0];
  for (const r of runs) {
    const ms = median(r.times);
    const s = r.result.stats;
    console.log(
      `  ${criterion.padEnd(11)} ${r.label.padEnd(40)} ${(ms / 1000).toFixed(2).padStart(6)} s (median of ${repeats}; ${r.times.map((t) => (t / 1000).toFixed(2)).join(", ")}) · kernel ${s.kernel}` +
        ` · ${s.pairsScored.toLocaleString("en-US")} pairs scored, ${s.visited.toLocaleString("en-US")} bucket entries` +
        (r === base ? "" : ` · ${(median(base.times) / ms).toFixed(2)}× the first row · ${same(base.result, r.result) ? "same result" : "DIFFERENT RESULT"}`),
    );
  }
}
console.log(`load average at the end ${loadAverage()}`);
