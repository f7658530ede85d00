#!/usr/bin/env node
// Why does the thesis's rule stall under the recipe (RESULTS.md, versus under the recipe)? Trains the
// d = 29 network with the recipe's schedule (61,440 steps planned) and stops after STEPS, for static,
// the thesis rule (first-order utility prune, eq. 4.8 weights, timestep reset), the same pruning by |w|
// (thesis-mag) and with new weights 0 (thesis-zero); prints validation bits/char over the whole
// validation split, hidden neurons that never fire on 4 × 512 validation windows, mean |w|, and the
// rounds' mean removed utility and |corr| added. Seed 2, one thread.
// usage: npm run build && node scripts/thesis-diagnostic.mjs [STEPS=16384] [static,thesis,thesis-mag,thesis-zero]
// (run from the repository root, ../shared beside it, or TEXT=path/to/text8-prefix)
import { runTraining } from "../dist/src/run/index.js";
import { readTextCorpus } from "../dist/src/data/files.js";
import { splitCorpus } from "../dist/src/data/windows.js";
import { thesisRuleAtRate } from "../dist/src/experiments/rewiring.js";
import { createEngine } from "../dist/src/engine/create.js";
import { estimationBatches } from "../dist/src/train/text.js";
import { Rng } from "../dist/src/util/rng.js";
/* global AbortController */
const corpus = await readTextCorpus(process.env.TEXT ?? "../shared/data/text8/text8.first-6877825-chars.gz");
const parts = splitCorpus(corpus.symbols); const split = { train: parts[0].symbols, valid: parts[1].symbols };
const stopAt = Number(process.argv[2] ?? 16384);
const rules = (process.argv[3] ?? "static,thesis,thesis-mag,thesis-zero").split(",");
for (const rule of rules) {
  const rewire = rule === "static" ? undefined : { ...thesisRuleAtRate(0.001, 2048), ...(rule === "thesis-mag" ? { pruneBy: "magnitude" } : {}), ...(rule === "thesis-zero" ? { newWeights: "zero" } : {}) };
  const rounds = [];
  const ctl = new AbortController();
  const r = await runTraining({ network: { kind: "random", neurons: 1700, inDegree: 29, context: 20 }, batch: 512, steps: 61440, seed: 2, threads: 1, ...(rewire ? { rewire } : {}) },
    { train: split.train, valid: split.valid },
    { onEvent: (e) => { if (e.type === "rewire") rounds.push(e.report); if (e.type === "step" && e.step >= stopAt) ctl.abort(); }, signal: ctl.signal });
  const net = r.network;
  const engine = await createEngine("wasm", net, { threads: 1 });
  const batches = estimationBatches(split.valid, 20, 4, 512, new Rng(7), "valid");
  const active = new Float64Array(net.neurons);
  for (const b of batches) {
    const g = engine.gradients(b, { activity: true });
    for (let j = net.inputs; j < net.neurons; j++) for (let s = 0; s < b.size; s++) if (g.outputs[j * b.size + s] > 0) active[j]++;
  }
  await engine.dispose();
  let dead = 0;
  for (let j = net.inputs; j < net.neurons - net.outputs; j++) if (active[j] === 0) dead++;
  let wabs = 0; for (const w of net.weights) wabs += Math.abs(w);
  const ur = rounds.map((x) => x.meanUtilityRemoved);
  console.log(`${rule}: step ${r.steps}, valid ${r.valid.bitsPerSymbol.toFixed(4)}, dead hidden neurons ${dead} of ${net.neurons - net.inputs - net.outputs}, mean |w| ${(wabs / net.edges).toFixed(4)}, rounds ${rounds.length}, rewired ${rounds.reduce((s, x) => s + x.rewired, 0)}, mean utility removed (first, last) ${ur[0]?.toExponential(2)} ${ur.at(-1)?.toExponential(2)}, mean |corr| added ${rounds.at(-1)?.meanAbsCorrelationAdded?.toFixed(3)}`);
}
