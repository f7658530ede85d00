/* global structuredClone, AbortController */
// Why a fraction-rule round rewires less than it plans, and how many hidden neurons stop mattering
// (issue 12): trains d = 29 on the text8 prefix with the recipe (Adam 0.005 decayed linearly over
// 61,440 steps; seed 1) for --steps steps with RigL's rule, printing every 5th round's refusal reasons
// (RoundReport.refusedBy), then counts hidden neurons that are dead (σ(a) = 0 on all of 2,048
// validation windows) or have no path to an output (their errors are always 0).
// usage: npm run build && node scripts/rigl-diagnostic.mjs [--steps 3000] [--fraction 0.3] [--per-target 4] [--refill] [--keep-readers] [--static]
import { parseArgs } from "node:util";
import { loadCorpora } from "../dist/src/experiments/text-run.js";
import { runTraining } from "../dist/src/run/run.js";
import { PRESETS } from "../dist/src/rewire/schedule.js";
import { adam } from "../dist/src/engine/optimizer.js";
import { estimationBatches } from "../dist/src/train/text.js";
import { createEngine } from "../dist/src/engine/create.js";
import { Rng } from "../dist/src/util/rng.js";

const { values: o } = parseArgs({ options: {
  steps: { type: "string", default: "3000" }, fraction: { type: "string", default: "0.3" }, "per-target": { type: "string", default: "4" },
  refill: { type: "boolean", default: false }, "keep-readers": { type: "boolean", default: false }, static: { type: "boolean", default: false },
  text: { type: "string", default: "../shared/data/text8/text8.first-6877825-chars.gz" },
} });
const steps = Number(o.steps);
const corpora = await loadCorpora(o.text, [], 20);
const rewire = o.static ? undefined : { ...structuredClone(PRESETS.rigl), fraction: Number(o.fraction), refill: o.refill, keepReaders: o["keep-readers"] };
console.log(`d = 29, seed 1, ${steps} of 61,440 steps; ${rewire ? `RigL rule, fraction ${o.fraction}, ${o["per-target"]} candidates per target${o.refill ? ", refill" : ""}${o["keep-readers"] ? ", keepReaders" : ""}` : "static"}`);
const ac = new AbortController();
let rounds = 0;
const r = await runTraining(
  { network: { kind: "random", neurons: 1700, inDegree: 29, context: 20 }, batch: 512, steps: 61440, optimizer: adam(0.005), lrSchedule: { kind: "linear", warmup: 0 }, seed: 1, threads: 1, ...(rewire ? { rewire, rewirerOptions: { perTarget: Number(o["per-target"]) } } : {}) },
  { train: corpora.train, valid: corpora.valid, heldOut: {} },
  { signal: ac.signal, onEvent: (e) => {
    if (e.type === "step" && e.step >= steps) ac.abort();
    if (e.type === "rewire" && rounds++ % 5 === 0) {
      const q = e.report;
      const planned = q.rewired + q.refused;
      const pct = (x) => `${((100 * x) / planned).toFixed(1)} %`;
      console.log(`round at step ${e.step}: planned ${planned}, rewired ${q.rewired}; refused: no candidate ${pct(q.refusedBy.noCandidates)}, candidates used up or cyclic ${pct(q.refusedBy.candidatesUsed)}`);
    }
  } },
);
const net = r.network;
const engine = await createEngine("wasm", net, { threads: 1 });
const active = new Uint8Array(net.neurons);
for (const b of estimationBatches(corpora.valid, 20, 4, 512, new Rng(7), "validation")) {
  const g = engine.gradients(b, { activity: true });
  for (let i = net.inputs; i < net.neurons; i++) for (let s = 0; s < b.size; s++) if (g.outputs[i * b.size + s] > 0) { active[i] = 1; break; }
}
await engine.dispose();
const firstOutput = net.neurons - net.outputs;
let dead = 0;
for (let i = net.inputs; i < firstOutput; i++) if (!active[i]) dead++;
const pathless = net.hiddenWithoutPathToOutput();
const hidden = firstOutput - net.inputs;
console.log(`after ${r.steps} steps: validation ${r.valid.bitsPerSymbol.toFixed(4)} bits/char (a sample); of ${hidden} hidden neurons ${dead} dead on 2,048 validation windows, ${pathless} without a path to an output`);
