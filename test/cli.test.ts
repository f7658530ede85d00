/**
 * The command line as a user meets it: real processes, real files, the bundled corpus. Errors must
 * be one line plus an optional hint, with a non-zero exit and no stack trace.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/src/cli/main.js");
const work = mkdtempSync(join(tmpdir(), "sparsewire-cli-"));

function run(args: string[], options: { timeout?: number } = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: options.timeout ?? 120_000, cwd: work });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

function assertOneLineError(r: { code: number | null; stderr: string }, message: RegExp) {
  assert.notEqual(r.code, 0, "non-zero exit");
  // Progress lines may come first on stderr; the error itself is the last line or two.
  const all = r.stderr.trim().split("\n");
  const at = all.findIndex((l) => l.startsWith("sparsewire: error: "));
  assert.ok(at >= 0, `an error line:\n${r.stderr}`);
  const lines = all.slice(at);
  assert.match(lines[0]!, message);
  assert.ok(lines.length <= 2 && (lines.length === 1 || lines[1]!.startsWith("hint: ")), `at most message + hint:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

test("acceptance: train 700 neurons, d = 15, 300 steps beats the uniform guess by far", () => {
  const r = run(["train", "--neurons", "700", "--in-degree", "15", "--batch", "128", "--steps", "300", "--seed", "1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout);
  for (const key of ["steps", "trainBitsPerChar", "validBitsPerChar", "testBitsPerChar", "neurons", "edges", "depth", "seconds"]) {
    assert.ok(key in s, `summary has ${key}`);
  }
  assert.equal(s.steps, 300);
  assert.equal(s.neurons, 700);
  assert.equal(s.edges, (700 - 540) * 15);
  assert.equal(s.engine, "wasm", "wasm is the default engine");
  assert.ok((s.validBitsPerChar as number) < 4.2, `validation ${s.validBitsPerChar} bits/char vs 4.75 uniform`);
  assert.ok((s.testBitsPerChar as number) < 4.2);
});

test("same seed and settings give the same result bit for bit (both engines, 1 and 2 threads)", () => {
  const base = ["train", "--neurons", "640", "--in-degree", "9", "--batch", "64", "--steps", "40", "--eval-every", "0", "--json"];
  for (const extra of [["--engine", "reference"], ["--engine", "wasm", "--threads", "1"], ["--engine", "wasm", "--threads", "2"]]) {
    const a = lastJson(run([...base, "--seed", "7", ...extra]).stdout);
    const b = lastJson(run([...base, "--seed", "7", ...extra]).stdout);
    const c = lastJson(run([...base, "--seed", "8", ...extra]).stdout);
    assert.equal(a.finalLoss, b.finalLoss, `${extra.join(" ")}: final loss`);
    assert.equal(a.validBitsPerChar, b.validBitsPerChar);
    assert.notEqual(a.finalLoss, c.finalLoss, "a different seed gives a different run");
  }
});

test("train --save, eval and info agree on the saved model (JSON and safetensors)", () => {
  for (const ext of ["json", "safetensors"]) {
    const model = join(work, `model.${ext}`);
    const log = join(work, `log-${ext}.jsonl`);
    const r = run(["train", "--neurons", "620", "--in-degree", "7", "--batch", "64", "--steps", "60", "--eval-every", "20", "--save", model, "--log", log, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = lastJson(r.stdout);
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; final: boolean });
    assert.deepEqual(lines.map((l) => l.step), [20, 40, 60]);
    assert.equal(lines[2]!.final, true);
    const e = run(["eval", "--model", model, "--split", "valid", "--json"]);
    assert.equal(e.code, 0, e.stderr);
    const ev = lastJson(e.stdout);
    assert.ok(Math.abs((ev.bitsPerSymbol as number) - (s.validBitsPerChar as number)) < 1e-4, `eval ${ev.bitsPerSymbol} vs train's validation ${s.validBitsPerChar}`);
    const i = run(["info", "--model", model, "--json"]);
    assert.equal(i.code, 0, i.stderr);
    const info = lastJson(i.stdout);
    assert.equal(info.edges, s.edges);
    assert.equal(info.depth, s.depth);
    assert.equal((info.levelSizes as number[]).reduce((x, y) => x + y, 0), 620);
    assert.equal((info.levelSizes as number[])[0], 540);
  }
});

test("user mistakes get one clear line and a non-zero exit", () => {
  const empty = join(work, "empty.txt");
  writeFileSync(empty, "");
  const short = join(work, "short.txt");
  writeFileSync(short, "only a few words here");
  const junk = join(work, "junk.json");
  writeFileSync(junk, '{"format": "sparsewire.network", "version": 1, "neurons": ');
  const wrongExt = join(work, "model.bin");
  writeFileSync(wrongExt, "x");
  assertOneLineError(run(["train", "--bogus"]), /unknown flag --bogus/);
  assertOneLineError(run(["train", "--steps", "ten"]), /--steps expects a number, got "ten"/);
  assertOneLineError(run(["train", "--steps", "1.5"]), /--steps expects an integer/);
  assertOneLineError(run(["train", "--in-degree", "0"]), /--in-degree must be at least 1/);
  assertOneLineError(run(["train", "--neurons", "500"]), /--neurons 500 is too small: context 20 needs 540 inputs/);
  assertOneLineError(run(["train", "--in-degree", "600", "--steps", "1"]), /in-degree 600 exceeds the 540 inputs/);
  assertOneLineError(run(["train", "--engine", "gpu"]), /--engine must be one of wasm, reference/);
  assertOneLineError(run(["train", "--text", join(work, "missing.txt")]), /not found/);
  assertOneLineError(run(["train", "--text", empty]), /no usable text|0 symbols/);
  assertOneLineError(run(["train", "--text", short]), /fewer than context \+ 1|too short|split/);
  assertOneLineError(run(["train", "--steps", "5", "--lr", "-1"]), /--lr must be greater than 0, got -1/);
  // Learning-rate schedules and clipping (issue 12): refused before any work, naming the flag; exit 2.
  for (const [args, message] of [
    [["--lr-schedule", "exp"], /--lr-schedule must be one of constant, cosine, linear, step; got "exp"/],
    [["--warmup", "-5"], /--warmup must be at least 0, got -5/],
    [["--warmup", "100", "--steps", "100", "--lr-schedule", "cosine"], /--warmup 100 must be below the step budget \(--steps 100\)/],
    [["--lr-schedule", "cosine", "--lr-final", "0.5"], /--lr-final 0\.5 is above the peak rate --lr 0\.005/],
    [["--lr-schedule", "constant", "--lr-final", "0.001"], /--lr-final 0\.001 needs --lr-schedule cosine, linear or step/],
    [["--lr-schedule", "step", "--lr-final", "0"], /--lr-final must be above 0 for --lr-schedule step/],
    [["--minutes", "1", "--warmup", "10", "--lr-schedule", "cosine"], /--warmup 10 counts steps, but with a time budget \(--minutes\) and no --steps the schedule runs on elapsed time/],
    [["--clip-norm", "-1"], /--clip-norm must be at least 0, got -1/],
    [["--clip-norm", "x"], /--clip-norm expects a number, got "x"/],
  ] as [string[], RegExp][]) {
    const r = run(["train", ...args]);
    assertOneLineError(r, message);
    assert.equal(r.code, 2, `${args.join(" ")}: exit 2`);
  }
  assertOneLineError(run(["eval", "--text", short]), /eval needs --model/);
  assertOneLineError(run(["eval", "--model", junk, "--text", short]), /junk\.json/);
  assertOneLineError(run(["info", "--model", wrongExt]), /\.bin/);
  assertOneLineError(run(["info", "--model", join(work, "nope.json")]), /nope\.json/);
  assertOneLineError(run(["train", "--steps", "5", "--log", join(work, "no/such/dir/log.jsonl")]), /no\/such\/dir/);
  const u = run(["frobnicate"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown command "frobnicate"/);
});

test("train --lr-schedule, --warmup, --lr-final, --clip-norm: recorded in --json and the model file; the defaults are the recipe", () => {
  const base = ["train", "--neurons", "620", "--in-degree", "7", "--batch", "64", "--steps", "60", "--eval-every", "0", "--seed", "4", "--json"];
  const model = join(work, "cosine.json");
  const r = run([...base, "--lr-schedule", "cosine", "--warmup", "10", "--lr-final", "0.001", "--clip-norm", "2", "--save", model]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout);
  assert.deepEqual([s.lrSchedule, s.warmup, s.lrFinal, s.clipNorm], ["cosine", 10, 0.001, 2]);
  const saved = JSON.parse(readFileSync(model, "utf8")) as { training: Record<string, unknown> };
  assert.deepEqual([saved.training.lrSchedule, saved.training.warmup, saved.training.lrFinal, saved.training.clipNorm], ["cosine", 10, 0.001, 2]);
  // The defaults are the recipe of results/recipe: lr 0.005 decayed linearly to 0.
  const plain = lastJson(run(base).stdout);
  const recipe = lastJson(run([...base, "--lr", "0.005", "--lr-schedule", "linear", "--warmup", "0", "--clip-norm", "0"]).stdout);
  assert.deepEqual([plain.lr, plain.lrSchedule, plain.warmup, plain.lrFinal, plain.clipNorm], [0.005, "linear", 0, 0, 0]);
  assert.equal(recipe.finalLoss, plain.finalLoss, "explicit defaults give the same run");
  assert.notEqual(s.finalLoss, plain.finalLoss, "the schedule changed the run");
  const constant = lastJson(run([...base, "--lr-schedule", "constant"]).stdout);
  assert.notEqual(constant.finalLoss, plain.finalLoss, "--lr-schedule constant leaves the recipe");
  const step = lastJson(run([...base, "--lr-schedule", "step"]).stdout);
  assert.equal(step.lrFinal, 0.00005, "step decays to lr/100 by default");
  // --minutes alone: the schedule runs on elapsed time.
  const timed = run(["train", "--neurons", "620", "--in-degree", "7", "--batch", "64", "--minutes", "0.02", "--eval-every", "0", "--lr-schedule", "linear", "--json"]);
  assert.equal(timed.code, 0, timed.stderr);
  assert.ok((lastJson(timed.stdout).steps as number) > 10);
});

test("train --reach-outputs: a different network from the same seed, recorded in the model file; refused with --init", () => {
  const base = ["train", "--neurons", "700", "--in-degree", "7", "--batch", "64", "--steps", "30", "--eval-every", "0", "--seed", "2", "--json"];
  const model = join(work, "reach.json");
  const r = run([...base, "--reach-outputs", "--save", model]);
  assert.equal(r.code, 0, r.stderr);
  const saved = JSON.parse(readFileSync(model, "utf8")) as { training: Record<string, unknown> };
  assert.equal(saved.training.reachOutputs, true);
  const plainModel = join(work, "plain.json");
  assert.notEqual(lastJson(r.stdout).finalLoss, lastJson(run([...base, "--save", plainModel]).stdout).finalLoss, "the flag changes the initial graph");
  // info counts hidden neurons without a path to an output: none with the flag, some in §4.6's draw (no rewiring here).
  assert.equal(lastJson(run(["info", "--model", model, "--json"]).stdout).hiddenWithoutPathToOutput, 0);
  const plainInfo = run(["info", "--model", plainModel]);
  assert.match(plainInfo.stdout, /stranded {4}\d+ hidden neurons? without a path to an output/);
  assertOneLineError(run(["train", "--init", model, "--reach-outputs", "--steps", "5"]), /--reach-outputs shapes a new random network; --init .*reach\.json starts from a saved one/);
});

test("a diverging run stops with a clear error naming the step and keeps the last checkpoint", () => {
  const model = join(work, "diverge.json");
  const r = run(["train", "--neurons", "600", "--in-degree", "5", "--batch", "32", "--steps", "400", "--eval-every", "1", "--eval-windows", "32", "--lr", "1e12", "--save", model]);
  assertOneLineError(r, /training diverged: loss \S+ bits\/symbol at step \d+/);
  assert.equal(run(["info", "--model", model]).code, 0, "the checkpoint on disk is a valid model");
  // Weights that overflow float32 activations give a NaN loss at the first step.
  const saved = JSON.parse(readFileSync(model, "utf8")) as { weights: number[][] };
  saved.weights = saved.weights.map((row) => row.map(() => 3e38));
  const huge = join(work, "huge.json");
  writeFileSync(huge, JSON.stringify(saved));
  for (const engine of ["wasm", "reference"]) {
    assertOneLineError(run(["train", "--init", huge, "--steps", "3", "--engine", engine]), /training loss became NaN at step 1 \(batch of 512 windows\)/);
  }
});

test("--help works for every command", () => {
  for (const c of ["train", "eval", "info"]) {
    const r = run([c, "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`usage: sparsewire ${c}`));
  }
  assert.equal(run(["--help"]).code, 0);
});
