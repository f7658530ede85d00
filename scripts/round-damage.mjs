#!/usr/bin/env node
// What a rewiring round does to the training loss over a run: the mean batch loss (bits/char) in the
// 200 steps before each listed step and in steps +50…+250 after it, for each configuration's run of
// one seed, from an experiment's curves.jsonl.gz (per-step losses). RESULTS.md quotes it for the
// rules that rewire until the end of a decaying learning rate (SET, the thesis's rule).
// usage: node scripts/round-damage.mjs results/versus-recipe/curves.jsonl.gz SEED A [B …] [--at 2048,8192,…] [--degree 29]
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : fallback;
};
const at = option("--at", "2048,8192,16384,24576,32768,40960,49152,53248,57344,59392").split(",").map(Number);
const degree = option("--degree", "29");
const [file, seed, ...groups] = args;
if (!file || !seed || groups.length === 0) {
  console.error("usage: node scripts/round-damage.mjs CURVES.jsonl.gz SEED A [B …] [--at S1,S2,…] [--degree D]");
  process.exit(2);
}
const wanted = new Map(groups.map((g) => [`${g}-d${degree}-seed${seed}`, g]));
const curves = new Map();
for (const line of gunzipSync(readFileSync(file)).toString("utf8").split("\n")) {
  if (line.trim() === "") continue;
  const r = JSON.parse(line);
  if (wanted.has(r.key)) curves.set(wanted.get(r.key), r.losses);
}
for (const g of groups) if (!curves.has(g)) console.error(`no curve for ${g} seed ${seed} at d = ${degree}`);
const mean = (xs, a, b) => {
  const part = xs.slice(Math.max(0, a), Math.min(xs.length, b));
  return part.reduce((s, x) => s + x, 0) / part.length;
};
const names = groups.filter((g) => curves.has(g));
console.log(["step", ...names.flatMap((g) => [`${g} before`, `${g} after`])].join("\t"));
for (const step of at) {
  console.log([step, ...names.flatMap((g) => [mean(curves.get(g), step - 200, step), mean(curves.get(g), step + 50, step + 250)].map((x) => x.toFixed(3)))].join("\t"));
}
console.log(["last 256", ...names.flatMap((g) => [mean(curves.get(g), curves.get(g).length - 256, curves.get(g).length).toFixed(3), ""])].join("\t"));
