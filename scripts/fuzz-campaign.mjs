#!/usr/bin/env node
/**
 * A longer fuzzing campaign over the properties of test/fuzz-driver.test.ts (issue 14 item 4):
 * mutated and truncated model files (float and quantised, JSON and safetensors), checkpoints and
 * gzip corpora must load as valid objects or fail with a one-line SparsewireError, within a second
 * and without allocating far beyond the file's size. Needs the compiled tests (`npx tsc -p
 * tsconfig.json`). One worker thread at a time, each under a hang watchdog.
 *
 *   node scripts/fuzz-campaign.mjs [--cases N] [--seed S] [--format F[,F…]] [--resume] [--show K]
 *
 * --cases: cases per format (default 5000); --seed: fast-check seed (default: from the clock,
 * printed, so a campaign can be replayed); --format: some of float-json, float-safetensors,
 * quantized-json, quantized-safetensors, checkpoint, gzip-corpus (default all); --resume: also
 * resume a tiny training run from every mutated checkpoint that decodes; --show: failing cases
 * printed per kind of problem (default 1). Prints cases run, files loaded and failures per format;
 * exits 1 if any case failed. A failing case replays as `mutate(fixture.bytes, ops)`.
 */
import { existsSync } from "node:fs";

const driver = new URL("../dist/test/fuzz-driver.test.js", import.meta.url);
if (!existsSync(driver)) {
  process.stderr.write("fuzz-campaign: dist/test/fuzz-driver.test.js not found: compile first (npx tsc -p tsconfig.json)\n");
  process.exit(2);
}
const { fuzzInWorker, FUZZ_FORMATS } = await import(driver.href);

function parseArgs(argv) {
  const o = { cases: 5000, seed: Date.now() % 2 ** 31, formats: [...FUZZ_FORMATS], resume: false, show: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--cases") o.cases = Number(value());
    else if (a === "--seed") o.seed = Number(value());
    else if (a === "--format") o.formats = value().split(",");
    else if (a === "--resume") o.resume = true;
    else if (a === "--show") o.show = Number(value());
    else if (a === "--help" || a === "-h") {
      process.stdout.write("usage: node scripts/fuzz-campaign.mjs [--cases N] [--seed S] [--format F[,F…]] [--resume] [--show K]\n");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.cases) || o.cases < 1) throw new Error(`--cases must be a positive integer, got ${o.cases}`);
  if (!Number.isInteger(o.seed)) throw new Error(`--seed must be an integer, got ${o.seed}`);
  for (const f of o.formats) if (!FUZZ_FORMATS.includes(f)) throw new Error(`unknown format ${f}: use ${FUZZ_FORMATS.join(", ")}`);
  return o;
}

let o;
try {
  o = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`fuzz-campaign: ${e.message}\n`);
  process.exit(2);
}

process.stdout.write(`fuzz campaign: seed ${o.seed}, ${o.cases} cases per format${o.resume ? ", resuming runs from decoded checkpoints" : ""}\n`);
let failed = 0;
for (const format of o.formats) {
  const report = await fuzzInWorker(format, { cases: o.cases, seed: o.seed, collect: true, resume: o.resume });
  failed += report.failures.length;
  process.stdout.write(
    `${format.padEnd(22)} ${String(report.cases).padStart(7)} cases  ${String(report.loaded).padStart(6)} loaded  ${String(report.failures.length).padStart(5)} failures  ${(report.ms / 1000).toFixed(1)} s\n`,
  );
  // Failures grouped by the shape of their first problem (numbers blanked), a few examples each.
  const groups = new Map();
  for (const f of report.failures) {
    const key = f.problems[0].replace(/\d+/g, "N").slice(0, 160);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(f);
  }
  for (const [, cases] of groups) {
    process.stdout.write(`  ${cases.length} × ${cases[0].problems[0]}\n`);
    for (const c of cases.slice(0, o.show)) process.stdout.write(`      ${c.fixture} ops ${JSON.stringify(c.ops)}\n`);
  }
}
process.stdout.write(`${failed === 0 ? "no failures" : `${failed} failing case(s)`} (replay: --seed ${o.seed})\n`);
process.exit(failed === 0 ? 0 : 1);
