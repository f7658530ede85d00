// Why utility pruning fails at RigL rates (RESULTS.md): delete the 30 % lowest-scoring edges of a
// thesis network (seed 101) after 100 and 2,000 steps by each criterion and measure the batch loss.
// usage: npm run build && node scripts/prune-diagnostic.mjs [corpus]
import { Rng } from "../dist/src/util/rng.js";
import { Network } from "../dist/src/graph/network.js";
import { createEngine } from "../dist/src/engine/create.js";
import { readTextCorpus } from "../dist/src/data/files.js";
import { splitCorpus } from "../dist/src/data/windows.js";
import { TextBatch, makeSampler, textShape, textTask } from "../dist/src/train/text.js";
import { activityFrom } from "../dist/src/estimate/activity.js";
import { taylorUtility } from "../dist/src/estimate/taylor.js";
const c = await readTextCorpus(process.argv[2] ?? "../shared/data/text8/text8.first-6877825-chars.gz");
const [tr] = splitCorpus(c.symbols, [0.9,0.05,0.05], 20);
const rng = new Rng(101);
const { inputs, outputs } = textShape(20);
const net = Network.random({ neurons: 1700, inputs, outputs, inDegree: 29, task: textTask(20) }, rng.fork());
const eng = await createEngine("wasm", net, { optimizer: { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, threads: 1 });
const s = makeSampler(tr.symbols, 20, rng.fork()); const h = new TextBatch(512, 20);
for (const steps of [100, 2000]) {
  while (eng.timestep < steps) eng.step(h.sample(s));
  eng.pull();
  const b = h.sample(s);
  const g = eng.gradients(b, { activity: true });
  const act = activityFrom(net, 512, g);
  const E = net.edges, d = 29, n = inputs;
  const fo = new Float64Array(E), mag = new Float64Array(E), ty = new Float64Array(E);
  for (let p = 0; p < E; p++) { fo[p] = -net.weights[p] * g.weightGradients[p]; mag[p] = Math.abs(net.weights[p]); }
  taylorUtility(net, g.weightGradients, act, 1, ty);
  const k = Math.round(0.3 * E);
  const afo = fo.map(Math.abs), aty = ty.map(Math.abs), fis = ty.map((x, p) => x - fo[p]); for (const [name, u] of [["magnitude", mag], ["first-order", fo], ["taylor", ty], ["|first-ord|", afo], ["|taylor|", aty], ["fisher-obd", fis]]) {
    const idx = Array.from({ length: E }, (_, p) => p).sort((a, b) => u[a] - u[b]).slice(0, k);
    let inp = 0, out = 0, w = 0, neg = 0;
    for (const p of idx) { if (net.sources[p] < n) inp++; if (n + Math.floor(p / d) >= 1700 - 27) out++; w += Math.abs(net.weights[p]); if (u[p] < 0) neg++; }
    // loss after deleting those edges
    const saved = net.weights.slice();
    for (const p of idx) net.weights[p] = 0;
    eng.push(); const after = eng.evaluate(b); net.weights.set(saved); eng.push();
    const before = eng.evaluate(b);
    console.log(`step ${steps} ${name.padEnd(12)} input-src ${(100*inp/k).toFixed(1)}% into-output ${(100*out/k).toFixed(1)}% mean|w| ${(w/k).toFixed(3)} (all ${(mag.reduce((a,b)=>a+b,0)/E).toFixed(3)}) negative ${(100*neg/k).toFixed(1)}%  loss ${(before.lossSum/512).toFixed(3)} -> ${(after.lossSum/512).toFixed(3)}`);
  }
}
let inpAll = 0; for (let p = 0; p < net.edges; p++) if (net.sources[p] < inputs) inpAll++;
console.log("input-source share of all edges", (100*inpAll/net.edges).toFixed(1));
await eng.dispose();
