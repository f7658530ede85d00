// Behaviour snapshot for refactors (issue 11: "the same seed and settings give the same bits as before
// the redesign"): runs train (plain, rewired by RigL and by the thesis rule, gradually pruned) and one
// --quick experiment with fixed seeds, and writes their --json summaries without timing fields plus
// the SHA-256 of every saved model. Run it before and after a change and diff the two files.
// usage: npm run build && node scripts/behaviour-snapshot.mjs OUT_DIR [path/to/cli/main.js]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const out = resolve(process.argv[2] ?? "behaviour-snapshot");
const cli = resolve(process.argv[3] ?? "dist/src/cli/main.js");
mkdirSync(out, { recursive: true });
const TIMING = /seconds|perSecond|PerSecond|TimeShare|time|elapsed|finished|engineThreads/i;
const strip = (v) => Array.isArray(v) ? v.map(strip) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => !TIMING.test(k)).map(([k, x]) => [k, strip(x)])) : v;
// The recipe is pinned (the defaults changed in issue 12), so that snapshots from before compare.
const PINNED = ["--lr", "0.01", "--lr-schedule", "constant"];
const runs = {
  train: ["train", "--steps", "300", "--seed", "3", "--eval-every", "100"],
  "train-rigl": ["train", "--steps", "300", "--seed", "3", "--rewire", "rigl", "--rewire-every", "50"],
  "train-thesis": ["train", "--steps", "300", "--seed", "3", "--rewire", "thesis", "--rewire-every", "100"],
  "train-prune": ["train", "--steps", "300", "--seed", "3", "--in-degree", "12", "--prune-to", "6", "--prune-every", "20"],
};
const result = {};
for (const [name, args] of Object.entries(runs)) {
  const model = join(out, `${name}.safetensors`);
  const r = spawnSync(process.execPath, [cli, ...args, ...PINNED, "--threads", "2", "--json", "--save", model], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  result[name] = { summary: strip(JSON.parse(r.stdout.trim().split("\n").pop())), model: createHash("sha256").update(readFileSync(model)).digest("hex") };
  process.stderr.write(`${name} done\n`);
}
const exp = join(out, "versus-quick");
const r = spawnSync(process.execPath, [cli, "experiment", "versus", "--quick", "--threads", "1", "--out", exp, "--json"], { encoding: "utf8" });
if (r.status !== 0) throw new Error(`versus --quick: ${r.stderr}`);
result["versus-quick"] = strip(JSON.parse(readFileSync(join(exp, "summary.json"), "utf8")));
writeFileSync(join(out, "snapshot.json"), JSON.stringify(result, null, 1) + "\n");
console.log(join(out, "snapshot.json"));
