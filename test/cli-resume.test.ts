/**
 * `train --resume` through the CLI (issue 14 items 1 and 5): a run checkpointed every N steps, one
 * stopped by SIGINT or SIGTERM (exit 130 / 143, a checkpoint saved, the next command named) and one
 * killed by SIGKILL after a checkpoint all resume to the same saved model, byte for byte, and the
 * same --json summary (timings aside) as the uninterrupted run. Settings that would change the run
 * are refused by name; so are save paths that cannot be written, before training starts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliRunner, lastJson } from "./cli-helpers.js";

const { work, run } = cliRunner("sparsewire-resume-");
const SMALL = ["--neurons", "700", "--in-degree", "12", "--batch", "128", "--eval-every", "500", "--quiet", "--json"];

/** Flag lists merged, later values replacing earlier ones (the parser refuses a flag given twice). */
function flags(...lists: string[][]): string[] {
  const order: string[] = [];
  const values = new Map<string, string | undefined>();
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) {
      const name = list[i]!;
      const value = list[i + 1] !== undefined && !list[i + 1]!.startsWith("--") ? list[++i] : undefined;
      if (!values.has(name)) order.push(name);
      values.set(name, value);
    }
  }
  return order.flatMap((n) => (values.get(n) === undefined ? [n] : [n, values.get(n)!]));
}
/** Summary fields that are timings or names of files, not results. */
const TIMING = new Set(["seconds", "trainSeconds", "stepsPerSecond", "edgeSamplesPerSecond", "rewireTimeShare", "saved", "resumedFrom"]);

function sameSummary(a: Record<string, unknown>, b: Record<string, unknown>, label: string): void {
  const strip = (o: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(o)
        .filter(([k]) => !TIMING.has(k))
        // gradualPruning.seconds is the rebuilds' time.
        .map(([k, v]) => [k, k === "gradualPruning" ? { ...(v as object), seconds: undefined } : v]),
    );
  assert.deepEqual(strip(b), strip(a), `${label}: the same --json summary (timings aside)`);
}

function sameModel(a: string, b: string, label: string): void {
  assert.ok(readFileSync(join(work, a)).equals(readFileSync(join(work, b))), `${label}: ${b} is ${a}, byte for byte`);
}

const CASES: [string, string[]][] = [
  ["static, wasm × 1", ["--threads", "1"]],
  ["RigL, wasm × 2", ["--threads", "2", "--rewire", "rigl", "--rewire-every", "40"]],
  ["thesis, wasm × 2", ["--threads", "2", "--rewire", "thesis", "--rewire-every", "60"]],
  ["gradual pruning, wasm × 2", ["--threads", "2", "--in-degree", "16", "--prune-to", "8", "--prune-every", "20"]],
  ["RigL, reference", ["--engine", "reference", "--rewire", "rigl", "--rewire-every", "40", "--batch", "32", "--neurons", "600"]],
];

CASES.forEach(([label, extra], i) => {
  test(`train --checkpoint-every, then --resume: ${label}`, () => {
    const steps = ["--steps", "300"];
    const full = run(["train", ...flags(SMALL, steps, extra), "--save", `full${i}.safetensors`]);
    assert.equal(full.code, 0, full.stderr);
    const part = run(["train", ...flags(SMALL, steps, extra), "--save", `part${i}.safetensors`, "--checkpoint-every", "110"]);
    assert.equal(part.code, 0, part.stderr);
    sameSummary(lastJson(full.stdout), lastJson(part.stdout), `${label}, checkpointing`);
    assert.ok(existsSync(join(work, `part${i}.ckpt.safetensors`)), "the checkpoint sits beside --save");
    const resumed = run(["train", "--resume", `part${i}.ckpt.safetensors`, "--json", "--quiet", "--save", `resumed${i}.safetensors`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const r = lastJson(resumed.stdout);
    assert.deepEqual(r["resumedFrom"], { checkpoint: `part${i}.ckpt.safetensors`, step: 220 });
    sameSummary(lastJson(full.stdout), r, `${label}, resumed at 220`);
    sameModel(`full${i}.safetensors`, `resumed${i}.safetensors`, label);
  });
});

/** Start a training process, wait until its log shows `step` (a validation line), then signal it. */
let logs = 0;
function interrupted(args: string[], signal: NodeJS.Signals, afterStep: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const log = join(work, `log-${++logs}-${signal}.jsonl`);
    const child = spawn(process.execPath, [cli, "train", ...args, "--log", log], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    let sent = false;
    const poll = setInterval(() => {
      if (sent || !existsSync(log)) return;
      const lines = readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
      if (lines.some((l) => (JSON.parse(l) as { step?: number }).step! >= afterStep)) {
        sent = true;
        child.kill(signal);
      }
    }, 20);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no log line at step ${afterStep} within 120 s: ${stderr}`));
    }, 120_000);
    child.on("exit", (code, sig) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, signal: sig, stderr });
    });
  });
}

/** The acceptance matrix: every configuration on the wasm engine with 1 and 2 threads and on the reference engine. */
const MATRIX: [string, string[]][] = [];
for (const [config, args] of [
  ["static", []],
  ["RigL", ["--rewire", "rigl", "--rewire-every", "50"]],
  ["thesis", ["--rewire", "thesis", "--rewire-every", "80"]],
  ["gradual pruning", ["--in-degree", "16", "--prune-to", "8", "--prune-every", "25"]],
] as const) {
  MATRIX.push([`${config}, wasm × 1`, ["--threads", "1", ...args]]);
  MATRIX.push([`${config}, wasm × 2`, ["--threads", "2", ...args]]);
  MATRIX.push([`${config}, reference`, ["--engine", "reference", "--batch", "32", "--neurons", "600", ...args]]);
}

MATRIX.forEach(([label, extra], i) => {
  test(`train: SIGINT (exit 130, checkpoint saved) and SIGKILL after a checkpoint, then --resume = the uninterrupted run: ${label}`, async () => {
    const args = flags(SMALL, ["--steps", "800", "--eval-every", "100"], extra);
    const full = run(["train", ...args, "--save", `m${i}-full.safetensors`]);
    assert.equal(full.code, 0, full.stderr);
    const stopped = await interrupted([...args, "--save", `m${i}-int.safetensors`], "SIGINT", 200);
    assert.equal(stopped.code, 130, `SIGINT: exit 130; stderr: ${stopped.stderr}`);
    assert.match(stopped.stderr, new RegExp(`interrupted after step \\d+: checkpoint saved to m${i}-int\\.ckpt\\.safetensors`));
    assert.match(stopped.stderr, new RegExp(`continue with: sparsewire train --resume m${i}-int\\.ckpt\\.safetensors`));
    assert.doesNotMatch(stopped.stderr, /at .*\.js:\d+/, "no stack trace");
    const resumed = run(["train", "--resume", `m${i}-int.ckpt.safetensors`, "--json", "--quiet", "--save", `m${i}-int-resumed.safetensors`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    sameSummary(lastJson(full.stdout), lastJson(resumed.stdout), `${label}: SIGINT then resume`);
    sameModel(`m${i}-full.safetensors`, `m${i}-int-resumed.safetensors`, `${label}: SIGINT then resume`);
    // SIGKILL: nothing is saved at the kill; the last periodic checkpoint (every 100 steps) is resumed.
    const killed = await interrupted([...args, "--save", `m${i}-kill.safetensors`, "--checkpoint-every", "100"], "SIGKILL", 300);
    assert.equal(killed.signal, "SIGKILL");
    const again = run(["train", "--resume", `m${i}-kill.ckpt.safetensors`, "--json", "--quiet", "--save", `m${i}-kill-resumed.safetensors`]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((lastJson(again.stdout)["resumedFrom"] as { step: number }).step >= 200, "resumed from a periodic checkpoint");
    sameSummary(lastJson(full.stdout), lastJson(again.stdout), `${label}: SIGKILL then resume`);
    sameModel(`m${i}-full.safetensors`, `m${i}-kill-resumed.safetensors`, `${label}: SIGKILL then resume`);
  });
});

test("train: SIGTERM saves a checkpoint and exits 143", async () => {
  const args = flags(SMALL, ["--steps", "3000", "--threads", "2", "--eval-every", "100"]);
  const stopped = await interrupted([...args, "--save", "term.safetensors"], "SIGTERM", 200);
  assert.equal(stopped.code, 143, `SIGTERM: exit 143; stderr: ${stopped.stderr}`);
  assert.match(stopped.stderr, /interrupted after step \d+: checkpoint saved to term\.ckpt\.safetensors/);
  assert.ok(existsSync(join(work, "term.ckpt.safetensors")));
});

test("train --resume: settings that change the run are refused by name; bad checkpoints in one line", () => {
  const made = run(["train", ...SMALL, "--steps", "60", "--checkpoint-every", "50", "--checkpoint", "r.ckpt.safetensors", "--save", "r.safetensors"]);
  assert.equal(made.code, 0, made.stderr);
  const other = run(["train", "--resume", "r.ckpt.safetensors", "--in-degree", "5"]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /--in-degree 5 differs from the run in r\.ckpt\.safetensors \(12\): a resumed run keeps the settings it started with/);
  const lr = run(["train", "--resume", "r.ckpt.safetensors", "--lr", "0.01"]);
  assert.equal(lr.code, 2);
  assert.match(lr.stderr, /--lr 0\.01 differs/);
  writeFileSync(join(work, "other.txt"), "a different text entirely ".repeat(40_000));
  const text = run(["train", "--resume", "r.ckpt.safetensors", "--text", "other.txt"]);
  assert.equal(text.code, 2);
  assert.match(text.stderr, /--text other\.txt differs/);
  // The same --text path with other contents: the checkpoint's text hash tells.
  writeFileSync(join(work, "t.txt"), "the quick brown fox jumps over the lazy dog ".repeat(5_000));
  const onText = run(["train", ...SMALL, "--steps", "60", "--text", "t.txt", "--checkpoint-every", "50", "--checkpoint", "t.ckpt.safetensors"]);
  assert.equal(onText.code, 0, onText.stderr);
  writeFileSync(join(work, "t.txt"), "a lazy dog sleeps under the quick brown fox ".repeat(5_000));
  const changed = run(["train", "--resume", "t.ckpt.safetensors"]);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /the text differs from the one the checkpoint t\.ckpt\.safetensors was trained on/);
  const missing = run(["train", "--resume", "nothing.ckpt.safetensors"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /checkpoint nothing\.ckpt\.safetensors does not exist/);
  const model = run(["train", "--resume", "r.safetensors"]);
  assert.equal(model.code, 1);
  assert.match(model.stderr, /r\.safetensors: not a sparsewire checkpoint/);
  assert.equal(model.stderr.trim().split("\n").length, 2, "one error line and one hint");
});

test("train: what a new user met (issue 14 item 5) is refused before training, with exit 2", () => {
  const refused = (args: string[], pattern: RegExp) => {
    const r = run(["train", "--steps", "2000", "--eval-every", "0", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: exit 2; stderr: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.ok(r.seconds < 20, `${args.join(" ")}: refused before training (${r.seconds.toFixed(1)} s)`);
  };
  refused(["--save", "nodir/m.safetensors"], /--save nodir\/m\.safetensors: the folder nodir does not exist/);
  refused(["--save", "m.txt"], /--save m\.txt: the file name must end in \.json or \.safetensors/);
  refused(["--neurons", "1e9"], /--neurons 1000000000 with --in-degree 29 and --batch 512 needs about \d+(\.\d)? GiB, more than the wasm engine can hold/);
  refused(["--in-degree", "5000"], /--in-degree 5000 exceeds the 540 inputs of context 20/);
  refused(["--neurons", "10"], /--neurons 10 is too small/);
  refused(["--lr", "0"], /--lr must be greater than 0, got 0/);
  const made = run(["train", ...SMALL, "--steps", "20", "--save", "init.safetensors"]);
  assert.equal(made.code, 0, made.stderr);
  refused(["--init", "init.safetensors", "--neurons", "900"], /--neurons 900 differs from the neurons 700 of init\.safetensors/);
  refused(["--init", "init.safetensors", "--in-degree", "29"], /--in-degree 29 differs from the in-degree 12 of init\.safetensors/);
});
