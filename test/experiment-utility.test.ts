/**
 * `experiment utility --quick` (Fig. 4.2) through the real command: a tiny MNIST network (14×14
 * pooled pixels, two fully connected layers) and a tiny character network. It must write sane outputs
 * (per-edge values and correlations that are finite, figures that exist and are non-empty), resume
 * without redoing runs, rebuild the same report with --report, and refuse a full run without MNIST.
 */
import { test } from "node:test";
import { spearman } from "../src/util/stats.js";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkFigure, cliRunner, lastJson, root } from "./cli-helpers.js";

const mnist = resolve(root, "../shared/data/mnist");
const { work, run } = cliRunner("sparsewire-utility-", 120_000);

interface Group {
  name: string;
  population: number;
  edge: number[];
  weight: number[];
  trueUtility: number[];
  magnitude: number[];
  firstOrder: number[];
  obd: number[];
}
interface Result {
  task: string;
  evalSamples: number;
  evalLoss: number;
  groups: Group[];
  correlations: Record<string, Record<string, { spearman: number; pearson: number }>>;
  training: Record<string, unknown>;
}

test("experiment utility --quick: per-edge values, correlations, figures; resumes; --report rebuilds", () => {
  assert.ok(existsSync(mnist), `MNIST missing: ${mnist} (expected ../shared/data/mnist next to the repository)`);
  const out = join(work, "utility");
  const r = run(["experiment", "utility", "--quick", "--out", out, "--mnist", mnist, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout) as { runsDone: number; runsPlanned: number; failed: number; summary: { correlations: Record<string, Record<string, Record<string, { spearman: number; pearson: number }>>>; firstOrderBestOnMnistLayer1: boolean } };
  assert.equal(j.runsPlanned, 2);
  assert.equal(j.runsDone, 2);
  assert.equal(j.failed, 0);

  // Raw results: one line per run, every per-edge value finite, correlations in [-1, 1].
  const lines = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n");
  assert.equal(lines.length, 2);
  const tasks = new Set<string>();
  for (const line of lines) {
    const rec = JSON.parse(line) as { status: string; seed: number; settings: Record<string, unknown>; result: Result };
    assert.equal(rec.status, "ok");
    assert.ok(Number.isInteger(rec.seed) && rec.settings["task"] === rec.result.task, "seed and settings recorded");
    const res = rec.result;
    tasks.add(res.task);
    assert.ok(res.evalSamples > 0 && Number.isFinite(res.evalLoss) && res.evalLoss > 0, `${res.task}: evaluation loss ${res.evalLoss}`);
    assert.equal(res.groups.length, res.task === "mnist" ? 2 : 3);
    for (const g of res.groups) {
      assert.equal(g.edge.length, Math.min(100, g.population), `${res.task} ${g.name}: sampled edges`);
      assert.equal(new Set(g.edge).size, g.edge.length, "distinct edges");
      for (const k of ["weight", "trueUtility", "magnitude", "firstOrder", "obd"] as const) {
        assert.equal(g[k].length, g.edge.length, `${g.name} ${k} parallel to edges`);
        assert.ok(g[k].every((x) => Number.isFinite(x)), `${g.name} ${k} finite`);
      }
      g.magnitude.forEach((m, i) => assert.equal(m, Math.abs(g.weight[i]!)));
      assert.ok(g.obd.every((x) => x >= 0), "OBD of a ReLU network with cross-entropy is non-negative");
      assert.ok(g.trueUtility.some((x) => x !== 0), `${g.name}: some edge matters`);
      for (const [h, c] of Object.entries(res.correlations[g.name]!)) {
        for (const v of [c.spearman, c.pearson]) assert.ok(Number.isFinite(v) && Math.abs(v) <= 1 + 1e-9, `${res.task} ${g.name} ${h}: ${v}`);
      }
    }
    if (res.task === "mnist") {
      const t = res.training as { epochs: number; bestEpoch: number; bestValidAccuracy: number };
      assert.ok(t.epochs >= 1 && t.bestEpoch >= 1 && t.bestEpoch <= t.epochs);
      assert.ok(t.bestValidAccuracy > 0.8, `the tiny MNIST network learns (validation accuracy ${t.bestValidAccuracy})`);
      // Even the tiny network shows the thesis's main point: first-order tracks the true utility.
      assert.ok(res.correlations[res.groups[0]!.name]!["firstOrder"]!.spearman > 0.8, "first-order tracks the true utility on layer 1");
    }
  }
  assert.deepEqual([...tasks].sort(), ["mnist", "text"]);
  // The verdict is recomputed from the raw per-edge values: Spearman's ρ of each heuristic against
  // the true utility on MNIST layer 1 (one seed in --quick), then "first-order beats both".
  const mnistRun = lines.map((l) => JSON.parse(l) as { result: Result }).find((r) => r.result.task === "mnist")!.result;
  const layer1 = mnistRun.groups[0]!;
  const rho = (h: "firstOrder" | "magnitude" | "obd") => spearman(layer1[h], layer1.trueUtility);
  for (const h of ["firstOrder", "magnitude", "obd"] as const) {
    assert.ok(Math.abs(j.summary.correlations["mnist"]![layer1.name]![h]!.spearman - rho(h)) < 1e-12, `${h}: summary ρ is the raw data's`);
  }
  const agrees = rho("firstOrder") > Math.max(rho("magnitude"), rho("obd"));
  assert.equal(j.summary.firstOrderBestOnMnistLayer1, agrees);

  checkFigure(out, "utility-mnist");
  checkFigure(out, "utility-text");
  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(md, /\| layer 1 \(input → hidden\) \| first-order/);
  assert.match(md, /\| hidden → hidden \| OBD/);
  assert.match(md, /utility-mnist\.svg/);
  assert.match(md, /Does the first-order estimate track/);
  assert.match(md, agrees ? /first-order utility tracks the true utility better than absolute weight and OBD/ : /first-order utility does NOT track the true utility better/);
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { runsDone: number; correlations: Record<string, Record<string, Record<string, { spearman: number }>>> };
  assert.equal(summary.runsDone, 2);
  for (const groups of Object.values(summary.correlations)) {
    for (const hs of Object.values(groups)) {
      assert.deepEqual(Object.keys(hs).sort(), ["firstOrder", "magnitude", "obd", "secondOrder"]);
      for (const c of Object.values(hs)) assert.ok(Number.isFinite(c.spearman));
    }
  }

  // A second call resumes: nothing is redone, and it is quick.
  const before = readFileSync(join(out, "runs.jsonl"), "utf8");
  const again = run(["experiment", "utility", "--quick", "--out", out, "--mnist", mnist, "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(out, "runs.jsonl"), "utf8"), before, "nothing redone");
  assert.equal(lastJson(again.stdout)["runsDone"], 2);
  assert.ok(again.seconds < 30, `resume took ${again.seconds.toFixed(1)} s`);

  // --report rebuilds the same summary from the raw results, without MNIST.
  const rep = run(["experiment", "utility", "--quick", "--out", out, "--report"]);
  assert.equal(rep.code, 0, rep.stderr);
  assert.equal(readFileSync(join(out, "summary.md"), "utf8"), md);
});

test("experiment utility without --mnist is a one-line usage error", () => {
  const r = run(["experiment", "utility", "--out", join(work, "nomnist")]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /sparsewire: error: .*--mnist DIR/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
});
