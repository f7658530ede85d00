#!/usr/bin/env node
// Paired comparisons of configurations recorded in an experiment's runs.jsonl, by seed, with the
// project's own statistics (src/util/stats.ts: mean ± sd, paired Student-t 95 % interval): the
// numbers RESULTS.md quotes for protocols still running, before `--report` writes their table.
// usage: npm run build && node scripts/paired.mjs results/versus-recipe/runs.jsonl A B [B2 …] [--metric testBits]
// A group written OTHER/runs.jsonl:GROUP comes from another protocol's record (paired by seed only: the
// two protocols' networks differ), e.g. the same configuration at two network shapes.
import { readFileSync } from "node:fs";
import { mean, pairedDifference, sd } from "../dist/src/util/stats.js";

const args = process.argv.slice(2);
const at = args.indexOf("--metric");
const metric = at >= 0 ? args.splice(at, 2)[1] : "testBits";
const [file, a, ...others] = args;
if (!file || !a || others.length === 0) {
  console.error("usage: node scripts/paired.mjs RUNS.jsonl A B [B2 …] [--metric testBits|validBits]");
  process.exit(2);
}
const runs = new Map(); // group (as named on the command line) → seed → value
/** Reads every ok run of `path` into `runs`, under `prefix` + its group. */
function read(path, prefix) {
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    let r;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a torn last line of a running protocol
    }
    if (r.status !== "ok" || typeof r.result?.[metric] !== "number") continue;
    const g = prefix + r.group;
    if (!runs.has(g)) runs.set(g, new Map());
    runs.get(g).set(r.seed, r.result[metric]);
  }
}
read(file, "");
// Each other record once, however many of its groups are named (FILE:GROUP).
const otherFiles = new Set([a, ...others].filter((g) => g.includes(".jsonl:")).map((g) => g.slice(0, g.lastIndexOf(".jsonl:") + 6)));
for (const path of otherFiles) read(path, `${path}:`);
const f = (x) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);
for (const g of [a, ...others]) {
  const v = [...(runs.get(g)?.values() ?? [])];
  console.log(`${g}: ${v.length} seeds, ${metric} ${mean(v).toFixed(4)} ± ${sd(v).toFixed(4)}`);
}
for (const b of others) {
  const seeds = [...(runs.get(a)?.keys() ?? [])].filter((s) => runs.get(b)?.has(s)).sort((x, y) => x - y);
  const d = pairedDifference(seeds.map((s) => runs.get(a).get(s)), seeds.map((s) => runs.get(b).get(s)));
  console.log(`${a} − ${b}: ${d.n} paired seeds, ${f(d.mean)} [${f(d.low)}, ${f(d.high)}]`);
}
