/**
 * Issue 14 item 5.2: `sparsewire info` shows the training metadata `train --save` stores in the model
 * file: one `trained` line of key value pairs, and `training` in --json; nothing when there is none.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { formatTraining } from "../src/cli/commands/info.js";
import { cli } from "./cli-helpers.js";
import { saveNetwork } from "../src/io/model-file.js";
import { textTask } from "../src/train/text.js";
import { randomNetwork } from "./helpers.js";

/** Runs `sparsewire info` in a process of its own and returns its stdout. */
async function info(argv: string[]): Promise<string> {
  const r = spawnSync(process.execPath, [cli, "info", ...argv], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const training = { seed: 1, steps: 3000, engine: "wasm", lr: 0.005, lrSchedule: "linear", warmup: 0, lrFinal: 0, batch: 512, text: "bundled", gradualPruning: { from: 12, to: 5 } };

test("info shows the training metadata of a model file (text and --json), for both formats", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-user-info-"));
  const net = randomNetwork(5, { neurons: 120, inputs: 54, outputs: 27, inDegree: 6, task: textTask(2) });
  for (const ext of ["json", "safetensors"]) {
    const path = join(dir, `m.${ext}`);
    saveNetwork(path, net, { training });
    const text = await info(["--model", path]);
    const lines = text.trim().split("\n").filter((l) => l.startsWith("trained "));
    assert.equal(lines.length, 1, text);
    assert.equal(lines[0], 'trained     seed 1, steps 3000, engine wasm, lr 0.005, lrSchedule linear, warmup 0, lrFinal 0, batch 512, text bundled, gradualPruning {"from":12,"to":5}');
    const json = JSON.parse((await info(["--model", path, "--json"])).trim().split("\n").at(-1)!) as { training?: unknown; edges: number };
    assert.deepEqual(json.training, training, ext);
    assert.equal(json.edges, net.edges);

    const bare = join(dir, `bare.${ext}`);
    saveNetwork(bare, net);
    assert.doesNotMatch(await info(["--model", bare]), /^trained/m, "no metadata: no line");
    const bareJson = JSON.parse((await info(["--model", bare, "--json"])).trim());
    assert.ok(bareJson.training === undefined || Object.keys(bareJson.training).length === 0, JSON.stringify(bareJson.training));
  }
});

test("formatTraining: compact pairs, JSON for what would break the line", () => {
  assert.equal(formatTraining({}), "");
  assert.equal(formatTraining({ a: true, b: null, c: [1, 2], d: "x, y", e: "two\nlines", f: "" }), 'a true, b null, c [1,2], d "x, y", e "two\\nlines", f ""');
});
