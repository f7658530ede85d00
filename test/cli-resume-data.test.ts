/**
 * `train --data` checkpoints (issue 15): a run on a CSV file read in shuffled epochs, with dropout
 * and SET rewiring, checkpointed every N steps or stopped by SIGINT, resumes to the same saved
 * model byte for byte and the same --json summary (timings aside) as the uninterrupted run; a
 * checkpoint of other samples is refused in one line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliRunner, lastJson } from "./cli-helpers.js";
import { Rng } from "../src/util/rng.js";

const { work, run } = cliRunner("sparsewire-resume-data-");

/** 600 rows of 12 features; the class is which of three feature groups has the largest first value. */
function writeCsv(name: string, seed: number): void {
  const rng = new Rng(seed);
  const lines = [Array.from({ length: 12 }, (_, i) => `x${i}`).join(",") + ",label"];
  for (let r = 0; r < 600; r++) {
    const x = Array.from({ length: 12 }, () => rng.nextFloat());
    const label = [0, 1, 2].reduce((best, g) => (x[g * 4]! > x[best * 4]! ? g : best), 0);
    lines.push(x.map((v) => v.toFixed(4)).join(",") + `,c${label}`);
  }
  writeFileSync(join(work, name), lines.join("\n") + "\n");
}

const TIMING = new Set(["trainSeconds", "saved", "resumedFrom"]);
const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !TIMING.has(k)));

const ARGS = ["--data", "rows.csv", "--neurons", "120", "--in-degree", "6", "--batch", "32", "--steps", "400", "--sampling", "epochs", "--dropout", "0.1", "--rewire", "set", "--rewire-every", "30", "--threads", "1", "--eval-every", "100", "--quiet", "--json"];

test("train --data: --checkpoint-every, then --resume = the uninterrupted run, byte for byte", () => {
  writeCsv("rows.csv", 1);
  const full = run(["train", ...ARGS, "--save", "full.safetensors"]);
  assert.equal(full.code, 0, full.stderr);
  assert.ok((lastJson(full.stdout)["edgesRewired"] as number) > 0, "the run rewires");
  const part = run(["train", ...ARGS, "--save", "part.safetensors", "--checkpoint-every", "150"]);
  assert.equal(part.code, 0, part.stderr);
  assert.deepEqual(strip(lastJson(part.stdout)), strip(lastJson(full.stdout)), "checkpointing does not change the run");
  assert.ok(existsSync(join(work, "part.ckpt.safetensors")), "the checkpoint sits beside --save");
  const resumed = run(["train", "--resume", "part.ckpt.safetensors", "--json", "--quiet", "--save", "resumed.safetensors"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const r = lastJson(resumed.stdout);
  assert.deepEqual(r["resumedFrom"], { checkpoint: "part.ckpt.safetensors", step: 300 });
  assert.deepEqual(strip(r), strip(lastJson(full.stdout)), "the same --json summary");
  assert.ok(readFileSync(join(work, "full.safetensors")).equals(readFileSync(join(work, "resumed.safetensors"))), "the same model, byte for byte");

  // Other samples under the same name: refused by name, in one line, before training.
  writeCsv("rows.csv", 2);
  const other = run(["train", "--resume", "part.ckpt.safetensors", "--quiet"]);
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /the samples differ from those the checkpoint part\.ckpt\.safetensors was trained on/);
  assert.doesNotMatch(other.stderr, /at .*\.js:\d+/, "no stack trace");
  writeCsv("rows.csv", 1);
});

test("train --data: SIGINT saves a checkpoint (exit 130); --resume = the uninterrupted run", async () => {
  writeCsv("rows.csv", 1);
  const args = ARGS.map((a) => (a === "400" ? "4000" : a));
  const full = run(["train", ...args, "--save", "long-full.safetensors"]);
  assert.equal(full.code, 0, full.stderr);
  // Stop it once its first periodic checkpoint exists, i.e. well inside training.
  const stopped = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "train", ...args, "--save", "long.safetensors", "--checkpoint-every", "500"], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const poll = setInterval(() => {
      if (existsSync(join(work, "long.ckpt.safetensors"))) {
        clearInterval(poll);
        child.kill("SIGINT");
      }
    }, 10);
    const timer = setTimeout(() => reject(new Error(`no checkpoint within 120 s: ${stderr}`)), 120_000);
    child.on("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  assert.equal(stopped.code, 130, `SIGINT: exit 130; stderr: ${stopped.stderr}`);
  assert.match(stopped.stderr, /interrupted after step \d+: checkpoint saved to long\.ckpt\.safetensors/);
  const resumed = run(["train", "--resume", "long.ckpt.safetensors", "--json", "--quiet", "--save", "long-resumed.safetensors"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok((lastJson(resumed.stdout)["resumedFrom"] as { step: number }).step >= 500);
  assert.deepEqual(strip(lastJson(resumed.stdout)), strip(lastJson(full.stdout)));
  assert.ok(readFileSync(join(work, "long-full.safetensors")).equals(readFileSync(join(work, "long-resumed.safetensors"))), "the same model, byte for byte");
});
