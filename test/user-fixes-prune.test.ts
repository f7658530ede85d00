/**
 * Issue 14 item 5.1: `sparsewire prune` prunes by OBD unless told otherwise (first-order took a
 * trained model from 2.69 to 7.34 bits/char), and warns on stderr when the pruned model predicts
 * the held-out split worse than a uniform guess.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { pruneSpec, worseThanUniformWarning } from "../src/cli/commands/prune.js";
import { cli } from "./cli-helpers.js";
import { formatHelp } from "../src/cli/args.js";
import { saveNetwork } from "../src/io/model-file.js";
import { textTask } from "../src/train/text.js";
import { randomNetwork } from "./helpers.js";

function fixture(zBias: number): { dir: string; model: string; text: string } {
  const dir = mkdtempSync(join(tmpdir(), "sw-user-prune-"));
  const net = randomNetwork(21, { neurons: 120, inputs: 54, outputs: 27, inDegree: 6, task: textTask(2) });
  // The output of "z" (symbol 25, neuron k − 27 + 25) made near certain: every other symbol costs
  // about zBias / ln 2 bits, far above the uniform guess, before and after pruning.
  net.biases[net.neurons - net.outputs + 25] = zBias;
  const model = join(dir, "in.safetensors");
  saveNetwork(model, net);
  const text = join(dir, "text.txt");
  writeFileSync(text, "the quick brown fox jumps over the lazy dog ".repeat(400));
  return { dir, model, text };
}

/** Runs `sparsewire prune` as a user would (a process of its own: its stdout is not the test runner's). */
async function capture(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = spawnSync(process.execPath, [cli, "prune", ...argv], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const common = (f: { model: string; text: string }) => ["--model", f.model, "--text", f.text, "--engine", "reference", "--batch", "64", "--batches", "1", "--in-degree", "3"];

test("prune without --by prunes by OBD, and the help says so", async () => {
  const f = fixture(0);
  const r = await capture([...common(f), "--save", join(f.dir, "out.safetensors"), "--json"]);
  assert.equal(r.code, 0);
  const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { by: string };
  assert.equal(summary.by, "obd");
  const help = formatHelp(pruneSpec);
  assert.match(help, /obd/);
  assert.doesNotMatch(pruneSpec.usage, /--by first-order\|/, "first-order is not offered first");
  assert.equal(pruneSpec.flags.find((fl) => fl.name === "by")!.default, "obd");
});

test("prune warns on stderr, in one line, when the pruned model is worse than a uniform guess", async () => {
  const f = fixture(30);
  for (const by of ["first-order", "obd"]) {
    const r = await capture([...common(f), "--by", by]);
    assert.equal(r.code, 0);
    const lines = r.stderr.trim().split("\n").filter((l) => l.includes("warning"));
    assert.equal(lines.length, 1, `one warning line:\n${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`^sparsewire: warning: pruning by ${by} left \\d+\\.\\d+ bits/symbol on the test split, worse than a uniform guess \\(4\\.75\\)`));
    assert.match(lines[0]!, by === "obd" ? /--by magnitude/ : /--by obd or --by magnitude/);
    // The number in the warning is the one stdout prints as "after".
    const after = /→ (\d+\.\d+) bits\/symbol after pruning/.exec(r.stdout)![1]!;
    assert.ok(lines[0]!.includes(`left ${after} bits/symbol`), `${lines[0]} vs ${r.stdout}`);
  }
});

test("the warning: only above log2(outputs), names the criterion and the other criteria", () => {
  assert.equal(worseThanUniformWarning("first-order", 4.7, 27, "test", 0), undefined);
  assert.equal(worseThanUniformWarning("first-order", NaN, 27, "test", 0), undefined);
  const w = worseThanUniformWarning("first-order", 7.34, 27, "valid", 500)!;
  assert.match(w, /^pruning by first-order left 7\.3400 bits\/symbol on the valid split after 500 fine-tuning steps, worse than a uniform guess \(4\.75\); try --by obd or --by magnitude$/);
  assert.ok(!w.includes("\n"));
  assert.match(worseThanUniformWarning("magnitude", 5, 27, "test", 0)!, /try --by obd,/);
});
