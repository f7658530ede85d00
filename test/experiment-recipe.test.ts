/**
 * `experiment recipe --quick` (issue 12): the tuning protocol through the real command. It must read
 * validation only (no test or out-of-domain numbers anywhere), plan phase B from phase A's best two,
 * split both phases over shards, resume, and choose the budget by the doubling rule. Also: the
 * training-recipe flags of the other text experiments, recorded only when they are not the defaults.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cliRunner, lastJson } from "./cli-helpers.js";
import { chooseRecipe, parseRecipeConfig, recipeConfig } from "../src/experiments/recipe.js";
import { readRecords } from "../src/experiments/protocol.js";

const { work, run } = cliRunner("sparsewire-recipe-");

test("experiment recipe --quick: phase A grid, phase B for the best two, a chosen recipe, and no test numbers", () => {
  const out = join(work, "recipe");
  const r = run(["experiment", "recipe", "--quick", "--out", out, "--threads", "1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout) as { runsDone: number; runsPlanned: number; summary: { grid: Record<string, { validBits: number }>; finalists: string[]; budgets: Record<string, Record<string, number>>; recipe: { config: string; steps: number; validBits: number } | null } };
  // Quick grid: lr {0.003, 0.01} × {constant, cosine, linear} at 256 steps; the best two at 128 and 512.
  assert.equal(j.runsPlanned, 10);
  assert.equal(j.runsDone, 10);
  assert.equal(Object.keys(j.summary.grid).length, 6);
  const ranked = Object.entries(j.summary.grid).sort((a, b) => a[1].validBits - b[1].validBits).map(([name]) => name);
  assert.deepEqual(j.summary.finalists, ranked.slice(0, 2), "the finalists are phase A's best two by validation");
  for (const f of j.summary.finalists) assert.deepEqual(Object.keys(j.summary.budgets[f]!), ["128", "256", "512"]);
  assert.ok(j.summary.recipe && j.summary.finalists.includes(j.summary.recipe.config), "a recipe is chosen among the finalists");
  const records = readRecords<Record<string, unknown>>(out);
  assert.equal(records.length, 10);
  for (const rec of records) {
    assert.equal(rec.seed, 101, "the tuning seed by default");
    assert.equal(rec.status, "ok");
    const v = rec.result!["validBits"] as number;
    assert.ok(Number.isFinite(v) && v > 0 && v < 6, `${rec.key}: validation ${v}`);
    assert.ok(!("testBits" in rec.result!) && !("ood" in rec.result!), `${rec.key} computed no test numbers`);
    const s = rec.settings as { lrSchedule?: string; warmup?: number; rewire: string };
    assert.equal(s.rewire, "none");
    if (rec.key.includes("-constant-")) assert.ok(!("lrSchedule" in s), "constant runs record no schedule field");
    else assert.match(String(s.lrSchedule), /^(cosine|linear)$/);
  }
  const md = readFileSync(join(out, "summary.md"), "utf8");
  const summaryJson = readFileSync(join(out, "summary.json"), "utf8");
  assert.doesNotMatch(md, /test bits|test split|\btest\b/i, "the tuning summary names no test numbers");
  assert.doesNotMatch(summaryJson, /test/i);
  assert.match(md, /validation bits\/char/);
  assert.match(md, new RegExp(`\\*\\*lr [0-9.]+, .*, ${j.summary.recipe!.steps} steps\\*\\*`));
  // --report rebuilds the same summary without running anything.
  const rep = run(["experiment", "recipe", "--quick", "--out", out, "--report"]);
  assert.equal(rep.code, 0, rep.stderr);
  assert.equal(readFileSync(join(out, "summary.md"), "utf8"), md);
});

test("experiment recipe --quick in two shards: phase B waits for phase A, then each shard runs its share once", () => {
  const out = join(work, "shards");
  const shard = (i: number) => run(["experiment", "recipe", "--quick", "--out", out, "--threads", "1", "--shard", `${i}/2`, "--seed-base", "7", "--configs", "grid,budget,lr0.01-cosine-w32", "--json"]);
  const a0 = shard(0);
  assert.equal(a0.code, 0, a0.stderr);
  assert.match(a0.stderr, /phase B \(budgets\) is planned once phase A is recorded: 4 of 7 grid runs so far/);
  assert.equal(lastJson(a0.stdout)["runsDone"], 4);
  const a1 = shard(1);
  assert.equal(a1.code, 0, a1.stderr);
  assert.equal(lastJson(a1.stdout)["runsDone"], 9, "shard 1: its 3 grid runs, then its 2 of phase B's 4");
  const b0 = shard(0);
  assert.equal(b0.code, 0, b0.stderr);
  const done = lastJson(b0.stdout) as { runsDone: number; runsPlanned: number; summary: { recipe: unknown } };
  assert.equal(done.runsDone, 11);
  assert.equal(done.runsPlanned, 11);
  assert.ok(done.summary.recipe, "complete: a recipe is chosen");
  const keys = readRecords(out).map((r) => r.key);
  assert.ok(keys.includes("lr0.01-cosine-w32-s256-seed7"), "the extra grid point ran");
  assert.equal(new Set(keys).size, keys.length, "no run twice");
  // Each shard ran one long (512) and one short (128) phase-B run.
  const lines = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { key: string; settings: { phase: string; steps: number } });
  const b = lines.filter((l) => l.settings.phase === "budget");
  assert.deepEqual(b.map((l) => l.settings.steps).sort(), [128, 128, 512, 512]);
});

test("recipe: refusals are one line", () => {
  const out = join(work, "bad");
  for (const [args, message] of [
    [["--lr", "0.01"], /experiment recipe tunes the learning rate and its schedule itself/],
    [["--lr-schedule", "cosine"], /experiment recipe tunes the learning rate/],
    [["--configs", "grid,lr0.01-cosh"], /unknown recipe configuration "lr0\.01-cosh"/],
    [["--configs", "lr0.01-cosine-w200"], /recipe configuration lr0\.01-cosine-w200 \(phase B runs it at 128 steps too\): --warmup 200 must be below/],
  ] as [string[], RegExp][]) {
    const r = run(["experiment", "recipe", "--quick", "--out", out, ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").filter((l) => !l.startsWith("hint: ")).length, 1, r.stderr);
  }
});

test("the doubling rule: the first budget whose doubling gains under 0.01, else the largest", () => {
  const c = recipeConfig(0.003, "cosine");
  const d = recipeConfig(0.005, "linear");
  const at = (v: [number, number, number]) => [15360, 30720, 61440].map((steps, i) => ({ steps, validBits: v[i]!, config: i === 2 ? d : c }));
  assert.equal(chooseRecipe(at([2.0, 1.995, 1.99]))!.steps, 15360);
  assert.equal(chooseRecipe(at([2.0, 1.98, 1.975]))!.steps, 30720);
  const last = chooseRecipe(at([2.0, 1.98, 1.96]))!;
  assert.equal(last.steps, 61440);
  assert.equal(last.config, "lr0.005-linear");
  // A longer run that is worse (gain < 0) stops the search too.
  assert.equal(chooseRecipe(at([2.0, 2.01, 1.9]))!.steps, 15360);
  assert.equal(chooseRecipe(at([2.0, 1.98, NaN])), undefined, "not before every budget is known");
  assert.equal(chooseRecipe(at([2.0, 1.98, 1.975]).slice(0, 2)), undefined);
  assert.deepEqual(parseRecipeConfig("lr0.003-cosine-w1000"), { name: "lr0.003-cosine-w1000", lr: 0.003, schedule: "cosine", warmup: 1000 });
  assert.equal(parseRecipeConfig("lr1e-3-step").name, "lr0.001-step");
});

test("other text experiments: --lr-schedule, --warmup, --clip-norm go into the settings and protocol only when not the defaults", () => {
  const plain = join(work, "sparsity-plain");
  const a = run(["experiment", "sparsity", "--quick", "--out", plain, "--seeds", "1", "--lr-schedule", "constant", "--clip-norm", "0", "--json"]);
  assert.equal(a.code, 0, a.stderr);
  const protocol = JSON.parse(readFileSync(join(plain, "protocol.json"), "utf8")) as { protocol: Record<string, unknown> };
  assert.deepEqual(Object.keys(protocol.protocol), ["neurons", "context", "batch", "lr", "steps", "seeds", "corpus", "corpusSymbols", "degrees", "seedBase"], "defaults add no fields");
  for (const rec of readRecords(plain)) assert.ok(!("lrSchedule" in rec.settings) && !("clipNorm" in rec.settings) && !("warmup" in rec.settings));
  // The same folder refuses a different recipe, by name.
  const other = run(["experiment", "sparsity", "--quick", "--out", plain, "--seeds", "1", "--lr-schedule", "cosine"]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /differs in lrSchedule/);

  const tuned = join(work, "sparsity-cosine");
  const b = run(["experiment", "sparsity", "--quick", "--out", tuned, "--seeds", "1", "--lr", "0.02", "--lr-schedule", "cosine", "--warmup", "20", "--clip-norm", "1", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  const p2 = JSON.parse(readFileSync(join(tuned, "protocol.json"), "utf8")) as { protocol: Record<string, unknown> };
  assert.deepEqual([p2.protocol["lr"], p2.protocol["lrSchedule"], p2.protocol["warmup"], p2.protocol["clipNorm"]], [0.02, "cosine", 20, 1]);
  for (const rec of readRecords(tuned)) assert.deepEqual([rec.settings["lrSchedule"], rec.settings["warmup"], rec.settings["clipNorm"]], ["cosine", 20, 1]);
  assert.match(readFileSync(join(tuned, "summary.md"), "utf8"), /Adam lr 0\.02 \(cosine from 0\.02 to 0, 20 warmup steps\), gradients clipped to global norm 1/);
  // Refused before a folder is written: a warmup longer than the runs; utility keeps its own settings.
  const c = run(["experiment", "sparsity", "--quick", "--out", join(work, "never"), "--lr-schedule", "cosine", "--warmup", "384"]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--warmup 384 must be below the step budget \(--steps 384\)/);
  const u = run(["experiment", "utility", "--quick", "--configs", "text", "--out", join(work, "u"), "--lr-schedule", "cosine"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /experiment utility trains with its own fixed settings/);
});
