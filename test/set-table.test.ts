/**
 * `experiment set-table --quick` (issue 15 item 4) on the real Fashion-MNIST files beside the
 * project: the protocol's small version runs every configuration, SET and RigL rewire while the
 * static network does not, and the report puts SET's published numbers beside ours.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cliRunner, lastJson } from "./cli-helpers.js";
import { SET_PUBLISHED } from "../src/experiments/set-table.js";

const { work, run } = cliRunner("sparsewire-set-table-", 300_000);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const fashion = resolve(root, "../shared/data/fashion-mnist");

test("experiment set-table --quick: static, SET, RigL and ours on SET's protocol, beside SET's published table", () => {
  const out = join(work, "set");
  const r = run(["experiment", "set-table", "--quick", "--mnist", fashion, "--out", out, "--threads", "1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as { runsDone: number; runsPlanned: number; failed: number };
  assert.equal(s.runsDone, 8);
  assert.equal(s.failed, 0);
  const records = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { group: string; result: { edgesRewired: number; testAccuracy: number; validCurve: number[]; edges: number } });
  for (const rec of records) {
    assert.equal(rec.result.edges, (64 + 64 + 10) * 8, "fixed in-degree 8 in every layer");
    assert.equal(rec.result.validCurve.length, 6, "validation after every epoch");
    assert.ok(rec.result.testAccuracy > 0.1, `${rec.group}: above chance (${rec.result.testAccuracy})`);
    if (rec.group === "static") assert.equal(rec.result.edgesRewired, 0);
    else assert.ok(rec.result.edgesRewired > 0, `${rec.group} rewires`);
  }
  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(md, new RegExp(`\\| static \\| 1104 \\| 2 \\| [0-9.]+ ± [0-9.]+ \\| \\[[-0-9., ]+\\] \\| ${SET_PUBLISHED.static.toFixed(2)} \\|`));
  assert.match(md, new RegExp(`\\| set \\| 1104 \\| 2 \\| .* \\| ${SET_PUBLISHED.set.toFixed(2)} \\|`));
  assert.ok(existsSync(join(out, "set-table.svg")));
});

test("experiment set-table-full --quick: the same configurations with our recipe (Adam, cross-entropy), no published column", () => {
  const out = join(work, "full");
  const r = run(["experiment", "set-table-full", "--quick", "--mnist", fashion, "--out", out, "--threads", "1", "--configs", "static,rigl", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((lastJson(r.stdout) as { runsDone: number }).runsDone, 4);
  const protocol = JSON.parse(readFileSync(join(out, "protocol.json"), "utf8")) as { protocol: { recipe?: { optimizer: string; loss: string } } };
  assert.deepEqual(protocol.protocol.recipe, { optimizer: "adam", schedule: "linear", loss: "cross-entropy" });
  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(md, /softmax cross-entropy; Adam 0\.005 decayed linearly to 0/);
  assert.match(md, /\| static \| 1104 \| 2 \| [0-9.]+ ± [0-9.]+ \| \[[-0-9., ]+\] \| — \|/);
});
