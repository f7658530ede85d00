// Share of a fraction-rule rewiring's planned swaps that were refused (the slot kept its edge), per
// round, from a versus results folder: planned = round(scheduledFraction(step)·edges) as the Rewirer
// plans it (src/rewire/schedule.ts), done = the round's recorded `rewired`.
// usage: npm run build && node scripts/refused-share.mjs results/versus [config ...]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scheduledFraction } from "../dist/src/rewire/schedule.js";

const dir = process.argv[2] ?? "results/versus";
const only = process.argv.slice(3);
const byConfig = new Map();
for (const line of readFileSync(join(dir, "runs.jsonl"), "utf8").split("\n")) {
  if (!line.trim()) continue;
  const r = JSON.parse(line);
  const config = r.settings.config;
  const rewire = r.settings.rewire;
  if (r.status !== "ok" || !rewire || rewire.count.kind !== "fraction" || (only.length && !only.includes(config))) continue;
  let planned = 0;
  let done = 0;
  const shares = r.result.rounds.map((round) => {
    const plan = Math.round(scheduledFraction(rewire, round.step, r.settings.steps) * r.result.edges);
    planned += plan;
    done += round.rewired;
    return plan > 0 ? 1 - round.rewired / plan : NaN;
  }).filter((x) => Number.isFinite(x));
  if (!byConfig.has(config)) byConfig.set(config, { shares: [], runs: [] });
  byConfig.get(config).shares.push(...shares);
  byConfig.get(config).runs.push(1 - done / planned);
}
for (const [config, { shares, runs }] of byConfig) {
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  console.log(`${config}: refused share of all planned swaps per run (Σ refused / Σ planned): ${runs.map(pct).join(", ")}`);
  shares.sort((a, b) => a - b);
  const q = (p) => shares[Math.min(shares.length - 1, Math.floor(p * shares.length))];
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  console.log(`${config}: ${shares.length} rounds; refused share of planned swaps: mean ${(100 * mean).toFixed(1)} %, 5th–95th percentile ${(100 * q(0.05)).toFixed(1)}–${(100 * q(0.95)).toFixed(1)} %, min ${(100 * shares[0]).toFixed(1)} %, max ${(100 * shares[shares.length - 1]).toFixed(1)} %`);
}
