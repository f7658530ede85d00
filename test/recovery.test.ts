/**
 * `experiment recovery` (issue 15 item 5): the scoring against a hand-made activity where the deleted
 * edge is the one whose source moves with the target's error (both criteria must find it first,
 * random must not), the cycle rule for candidates, and the --quick protocol end to end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Network } from "../src/graph/network.js";
import { recoveryScores, RECOVERY_MULTIPLES } from "../src/experiments/recovery.js";
import type { Activity } from "../src/estimate/activity.js";
import { Rng } from "../src/util/rng.js";
import { cliRunner, lastJson } from "./cli-helpers.js";

test("recoveryScores: the deleted source that tracks the target's error is found first; random is not; no cycles", () => {
  // 6 inputs (0..5), hidden 6, 7, output 8; in-degree 2. Neuron 7 reads 6 and 3; we delete 7's edge from 3.
  const sources = Int32Array.from([0, 1, /* 6 */ 6, 3, /* 7 */ 6, 7 /* 8 */]);
  const net = Network.fromArrays({ neurons: 9, inputs: 6, outputs: 1, inDegree: 2, sources, weights: new Float32Array(6).fill(0.5), biases: new Float32Array(9) });
  const deleted = Int32Array.from([3]); // slot 3 = neuron 7's edge from 3
  const S = 64;
  const rng = new Rng(1);
  const outputs = new Float32Array(9 * S);
  const errors = new Float32Array(9 * S);
  for (let b = 0; b < S; b++) {
    const e = rng.nextNormal();
    errors[7 * S + b] = e;
    for (let i = 0; i < 9; i++) outputs[i * S + b] = i === 3 ? -2 * e + 0.01 * rng.nextNormal() : rng.nextNormal();
  }
  const activity: Activity = { neurons: 9, inputs: 6, samples: S, outputs, errors };
  const r = recoveryScores(net, deleted, activity, new Rng(2));
  assert.equal(r.deleted, 1);
  assert.equal(r.targets, 1);
  // Candidates of 7: every neuron but 7 itself, its kept source 6, and its descendant 8 (8 → 7 would close a cycle).
  assert.equal(r.candidates, 9 - 3);
  assert.deepEqual(r.perTarget.correlation, RECOVERY_MULTIPLES.map(() => 1), "|corr| ranks the deleted source first");
  assert.deepEqual(r.perTarget.gradient, RECOVERY_MULTIPLES.map(() => 1), "|⟨σ, δ⟩| ranks it first");
  assert.deepEqual(r.global.correlation, RECOVERY_MULTIPLES.map(() => 1));
  assert.deepEqual(r.chancePerTarget, RECOVERY_MULTIPLES.map((m) => Math.min(1, m / 6)));
  // Random: over many draws, recall at m = 1 is near chance (1/6), not 1.
  let hits = 0;
  for (let s = 0; s < 300; s++) hits += recoveryScores(net, deleted, activity, new Rng(100 + s)).perTarget.random[0]!;
  assert.ok(Math.abs(hits / 300 - 1 / 6) < 0.07, `random recall at m = 1: ${hits / 300} (chance 1/6)`);
});

test("experiment recovery --quick: recall per criterion against chance, figure and tables", () => {
  const { work, run } = cliRunner("sparsewire-recovery-");
  const out = join(work, "rec");
  const r = run(["experiment", "recovery", "--quick", "--out", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as { runsDone: number; summary: Record<string, number[]> };
  assert.equal(s.runsDone, 4, "2 seeds × 2 deletions (random, largest |w|)");
  for (const key of ["random.perTarget.correlation", "random.perTarget.gradient", "random.perTarget.random", "random.perTarget.chance", "largest.global.correlation", "largest.global.gradient"]) {
    assert.equal(s.summary[key]!.length, RECOVERY_MULTIPLES.length, key);
    for (const v of s.summary[key]!) assert.ok(v >= 0 && v <= 1, `${key}: ${v}`);
  }
  // Chance grows with k.
  const chance = s.summary["random.perTarget.chance"]!;
  assert.ok(chance.every((v, i) => i === 0 || v > chance[i - 1]!));
  for (const f of ["summary.md", "summary.json", "recovery.svg", "runs.jsonl"]) assert.ok(existsSync(join(out, f)), f);
});

test("experiment recovery-mnist --quick: the same test on MNIST, a random DAG trained on images", () => {
  const { work, run } = cliRunner("sparsewire-recovery-mnist-");
  const mnist = join(dirname(fileURLToPath(import.meta.url)), "../../../shared/data/mnist");
  const out = join(work, "rec");
  const r = run(["experiment", "recovery-mnist", "--quick", "--mnist", mnist, "--out", out, "--threads", "1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as { runsDone: number; summary: Record<string, number[]> };
  assert.equal(s.runsDone, 2, "1 seed × 2 deletions");
  for (const key of ["random.perTarget.correlation", "largest.global.gradient", "largest.perTarget.chance"]) {
    assert.equal(s.summary[key]!.length, RECOVERY_MULTIPLES.length, key);
    for (const v of s.summary[key]!) assert.ok(v >= 0 && v <= 1, `${key}: ${v}`);
  }
  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(md, /Data: MNIST \(2,000 training images, 500 validating; the test set only reported: [0-9.]+ % accuracy before deleting\)/);
  assert.ok(existsSync(join(out, "recovery-mnist.svg")));
});
