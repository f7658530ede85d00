/**
 * Issue 14 item 5.5: `experiment versus --quick` drew its training curves as one point per series
 * (256 steps pooled of 384) and described the thesis's rule as "every 2048 steps" although the quick
 * runs rewire every 32. The curves now have many points per series, and summary.md (and
 * summary.json) state the interval the runs actually used.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkFigure, cliRunner, lastJson } from "./cli-helpers.js";
import { curvePoolSteps, describeAsRun, VERSUS_CONFIGS } from "../src/experiments/versus.js";
import type { RunRecord } from "../src/experiments/protocol.js";

const { work, run } = cliRunner("sparsewire-user-versus-");

test("experiment versus --quick: curves with several points per series, the intervals actually used", () => {
  const out = join(work, "versus");
  const r = run(["experiment", "versus", "--quick", "--configs", "thesis,rigl", "--seeds", "1", "--threads", "1", "--out", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout)["runsDone"], 2);
  checkFigure(out, "versus-curves");
  const spec = JSON.parse(readFileSync(join(out, "versus-curves.vl.json"), "utf8")) as { title: string; data: { values: { series: string; x: number }[] } };
  for (const series of ["thesis", "rigl"]) {
    const xs = spec.data.values.filter((v) => v.series === series).map((v) => v.x);
    assert.ok(xs.length >= 8, `${series}: ${xs.length} points in the curve`);
    assert.equal(xs.at(-1), 384, "the curve reaches the last step");
  }
  assert.match(spec.title, /^Training loss per 16 steps/);

  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.doesNotMatch(md, /every 2048 steps,/, "not the full run's interval");
  assert.doesNotMatch(md, /every 100 steps$/m);
  assert.match(md, /- \*\*thesis\*\*: .*every 32 steps \(2048 in full runs, scaled for --quick\)/);
  assert.match(md, /- \*\*rigl\*\*: .*every 8 steps \(100 in full runs, scaled for --quick\)/);
  assert.match(md, /Out-of-domain: first 5,000 windows/, "the quick mode's out-of-domain windows");
  const settings = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { settings: { config: string; rewire: { every: number } } });
  assert.deepEqual(settings.map((s) => [s.settings.config, s.settings.rewire.every]).sort(), [["rigl", 8], ["thesis", 32]], "what the runs used");
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { configs: Record<string, { description: string }> };
  assert.match(summary.configs["thesis"]!.description, /every 32 steps/);
});

test("curve pooling: 256 steps for full runs, at least 16 points for short ones", () => {
  assert.equal(curvePoolSteps(61_440), 256);
  assert.equal(curvePoolSteps(30_720), 256);
  assert.equal(curvePoolSteps(4096), 256);
  assert.equal(curvePoolSteps(384), 16);
  assert.equal(curvePoolSteps(3000), 128);
  assert.equal(curvePoolSteps(10), 1);
  assert.equal(curvePoolSteps(0), 1);
});

test("descriptions: unchanged for full runs, the used interval for scaled ones, replaced or appended", () => {
  const config = (name: string) => VERSUS_CONFIGS.find((c) => c.name === name)!;
  const rec = (settings: Record<string, unknown>) => ({ settings }) as unknown as RunRecord<unknown>;
  assert.equal(describeAsRun(config("thesis"), [rec({ rewire: { every: 2048 } })]), config("thesis").description);
  assert.equal(describeAsRun(config("static"), [rec({})]), config("static").description);
  assert.equal(describeAsRun(config("thesis"), []), config("thesis").description, "no runs: as configured");
  assert.match(describeAsRun(config("set"), [rec({ rewire: { every: 32 } })]), /^SET: magnitude prune, random growth, 30 % every 32 steps \(2048 in full runs, scaled for --quick\)$/);
  assert.match(describeAsRun(config("rigl-utility"), [rec({ rewire: { every: 8 } })]), /; rewiring every 8 steps \(100 in full runs, scaled for --quick\)$/);
  assert.match(describeAsRun(config("gradual-2x"), [rec({ prune: { every: 8 } })]), /; pruning every 8 steps \(128 in full runs, scaled for --quick\)$/);
});
