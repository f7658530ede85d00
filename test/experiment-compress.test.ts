/**
 * `sparsewire experiment compress --quick`: a real process on the bundled corpus; raw runs, summary
 * and figures are written, and a second invocation resumes without redoing any run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

function finiteNumbers(value: unknown, path: string, out: string[]): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) out.push(path);
  } else if (Array.isArray(value)) value.forEach((v, i) => finiteNumbers(v, `${path}[${i}]`, out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) finiteNumbers(v, `${path}.${k}`, out);
}

test("experiment compress --quick: runs, summary, figures; a second call resumes", () => {
  const out = join(mkdtempSync(join(tmpdir(), "sparsewire-compress-")), "out");
  const run = () => spawnSync(process.execPath, [cli, "experiment", "compress", "--quick", "--out", out, "--threads", "1", "--json"], { encoding: "utf8", timeout: 120_000 });
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const summary = JSON.parse(first.stdout.trim().split("\n").at(-1)!);
  assert.equal(summary.runsDone, summary.runsPlanned);
  assert.equal(summary.failed, 0);
  const lines = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n");
  assert.equal(lines.length, summary.runsPlanned);
  const bad: string[] = [];
  const kinds = new Set<string>();
  for (const line of lines) {
    const r = JSON.parse(line);
    assert.equal(r.status, "ok", line.slice(0, 200));
    kinds.add(r.result.kind);
    finiteNumbers(r.result, r.key, bad);
  }
  assert.deepEqual(bad, [], "every recorded number is finite");
  assert.deepEqual([...kinds].sort(), ["oneshot", "quantize", "train"]);
  const quant = JSON.parse(lines.find((l) => l.includes('"kind":"quantize"'))!).result;
  assert.equal(quant.points.length, 5 * 2 * 4, "bits × scales × quantisers");
  for (const f of ["compress-quantize.svg", "compress-quantize.png", "compress-prune.svg", "compress-prune.png", "summary.md", "summary.json"]) {
    assert.ok(statSync(join(out, f)).size > 500, `${f} is not empty`);
  }
  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(md, /Verdict \(quantisation\)/);
  assert.match(md, /Verdict \(pruning\)/);
  // The verdict's counts must be the raw runs' counts, recomputed here: utility against max at ≤ 4 bits,
  // seed by seed, from every "quantize" run's points (a template that prints "0 of 6" would fail).
  const written = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  const quantRuns = lines.map((l) => JSON.parse(l)).filter((r) => r.result.kind === "quantize");
  const point = (r: any, bits: number, scale: string, quantizer: string) => r.result.points.find((x: any) => x.bits === bits && x.scale === scale && x.quantizer === quantizer);
  const rows = written.quantize.utilityVsMax as { bits: number; scale: string; mean: number; utilityBetterSeeds: number }[];
  assert.ok(rows.length >= 2, "at least one low-bit setting per scale");
  let meanWins = 0;
  for (const row of rows) {
    const deltas = quantRuns.map((r) => point(r, row.bits, row.scale, "utility").testBits - point(r, row.bits, row.scale, "max").testBits);
    assert.equal(row.utilityBetterSeeds, deltas.filter((x) => x < 0).length, `${row.bits} bits per ${row.scale}: seeds`);
    assert.ok(Math.abs(row.mean - deltas.reduce((a, b) => a + b, 0) / deltas.length) < 1e-12, `${row.bits} bits per ${row.scale}: mean`);
    if (row.mean < 0) meanWins++;
  }
  assert.match(md, new RegExp(`utility beats max on mean test bits/char in ${meanWins} of ${rows.length} settings`));
  const second = run();
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr + second.stdout, /resuming: \d+ of \d+ runs already done/);
  assert.equal(readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").length, lines.length, "no run redone");
});
