/**
 * The text experiments (issue 5) in their --quick form, through the real command: they must write
 * sane outputs (finite numbers, files that parse, non-empty figures), resume without redoing runs,
 * refuse to mix protocols, and the statistics behind the verdicts must be right.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkFigure, cliRunner, lastJson, root } from "./cli-helpers.js";
import { NumericError } from "../src/util/errors.js";
import { mean, pairedDifference, pearson, quantile, sd, tQuantile975 } from "../src/util/stats.js";
import { readCurves, readRecords, runProtocol, parseShard } from "../src/experiments/protocol.js";
import { pooledBands } from "../src/experiments/report.js";

const { work, run } = cliRunner("sparsewire-exp-");
const alice = resolve(root, "../shared/data/text/alice29.txt.gz");

function checkRecords(out: string, expected: number) {
  const lines = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n");
  assert.equal(lines.length, expected, "one line per run");
  for (const line of lines) {
    const r = JSON.parse(line) as { status: string; seed: number; settings: Record<string, unknown>; result?: Record<string, unknown> };
    assert.ok(Number.isInteger(r.seed) && r.settings, "seed and settings recorded");
    if (r.status !== "ok") continue;
    for (const k of ["trainBits", "validBits"]) {
      const v = r.result![k] as number;
      assert.ok(Number.isFinite(v) && v > 0 && v < 6, `${k} = ${v} is a sane bits/char`);
    }
  }
}

test("experiment sparsity --quick: runs, table, figure; a second call resumes without redoing runs", () => {
  const out = join(work, "sparsity");
  const r = run(["experiment", "sparsity", "--quick", "--out", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.equal(j["runsDone"], 6);
  assert.equal(j["runsPlanned"], 6);
  checkRecords(out, 6);
  checkFigure(out, "sparsity");
  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(md, /\| d = 12 \| 2 \| 0 \|/);
  assert.match(md, /bundled text8 excerpt/);
  // Denser is better even in the tiny version (validation, mean over 2 seeds).
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { groups: Record<string, { validBits: number }> };
  assert.ok(summary.groups["d = 12"]!.validBits < summary.groups["d = 3"]!.validBits, "d = 12 beats d = 3");
  assert.equal(readCurves(out).size, 6, "a loss curve per run");

  const before = readFileSync(join(out, "runs.jsonl"), "utf8");
  const again = run(["experiment", "sparsity", "--quick", "--out", out, "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(out, "runs.jsonl"), "utf8"), before, "nothing redone");

  // Another protocol in the same folder is refused, by name.
  const other = run(["experiment", "sparsity", "--quick", "--steps", "200", "--out", out]);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /sparsewire: error: .* holds results of a protocol that differs in steps/);

  // More seeds extend the protocol: only the new seed's runs are added.
  const more = run(["experiment", "sparsity", "--quick", "--seeds", "3", "--out", out, "--json"]);
  assert.equal(more.code, 0, more.stderr);
  assert.equal(lastJson(more.stdout)["runsDone"], 9);
  assert.ok(readFileSync(join(out, "runs.jsonl"), "utf8").startsWith(before), "earlier runs kept as they were");
});

test("experiment rewiring --quick: rewiring happens, per-round share is reported, figure has panels", () => {
  const out = join(work, "rewiring");
  const r = run(["experiment", "rewiring", "--quick", "--out", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.equal(j["runsPlanned"], 12);
  assert.equal(j["runsDone"], 12);
  checkRecords(out, 12);
  checkFigure(out, "rewiring");
  const records = readRecords<{ edgesRewired: number; rewireRounds: number; edges: number }>(out).filter((x) => x.status === "ok" && (x.settings["rewire"] as unknown) !== "none");
  assert.ok(records.length > 0);
  for (const x of records) assert.ok(x.result!.rewireRounds > 0, `${x.key} had rounds`);
  assert.ok(records.some((x) => x.result!.edgesRewired > 0), "some run rewired edges");
  assert.match(readFileSync(join(out, "summary.md"), "utf8"), /edges rewired per round/);
});

test("experiment versus --quick: test split, out-of-domain text, paired intervals, dense baseline", () => {
  const out = join(work, "versus");
  const r = run(["experiment", "versus", "--quick", "--out", out, "--ood", alice, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout) as { runsDone: number; summary: Record<string, { testBits: number; ood: Record<string, number>; vsStatic?: { n: number; low: number; high: number } }> };
  assert.equal(j.runsDone, 10);
  checkRecords(out, 10);
  checkFigure(out, "versus");
  checkFigure(out, "versus-curves");
  for (const [name, s] of Object.entries(j.summary)) {
    assert.ok(Number.isFinite(s.testBits) && s.testBits < 5, `${name} test bits ${s.testBits}`);
    assert.ok(Number.isFinite(s.ood["alice29"]!), `${name} has out-of-domain bits`);
    if (name !== "static") assert.ok(s.vsStatic && s.vsStatic.n === 2 && s.vsStatic.low <= s.vsStatic.high, `${name} has a paired interval`);
  }
  assert.ok(j.summary["static-2x"]!.testBits < j.summary["static"]!.testBits, "twice the edges helps");
  // --report rebuilds the same table from the raw results without running anything.
  const md = readFileSync(join(out, "summary.md"), "utf8");
  const rep = run(["experiment", "versus", "--quick", "--out", out, "--ood", alice, "--report"]);
  assert.equal(rep.code, 0, rep.stderr);
  assert.equal(readFileSync(join(out, "summary.md"), "utf8"), md);
  // --report only reads: another --seeds (an extendable setting) must not rewrite what the folder ran.
  const protocolText = readFileSync(join(out, "protocol.json"), "utf8");
  assert.equal(run(["experiment", "versus", "--quick", "--seeds", "5", "--out", out, "--ood", alice, "--report"]).code, 0);
  assert.equal(readFileSync(join(out, "protocol.json"), "utf8"), protocolText, "--report left protocol.json as it was");
  const none = run(["experiment", "versus", "--quick", "--report", "--out", join(work, "never-ran")]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /never-ran holds no results to report \(no protocol\.json\)/);
});

test("experiment versus: a configuration's recorded options reach its run (static-reach starts from another graph than static); --neurons shapes the network", () => {
  const out = join(work, "versus-reach");
  const r = run(["experiment", "versus", "--quick", "--tuning", "--seeds", "1", "--neurons", "300", "--configs", "static,static-reach", "--out", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const records = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { group: string; settings: Record<string, unknown>; result: { validBits: number } });
  const by = Object.fromEntries(records.map((x) => [x.group, x]));
  assert.equal(by["static-reach"]!.settings["reachOutputs"], true);
  assert.equal(by["static"]!.settings["neurons"], 300);
  assert.notEqual(by["static-reach"]!.result.validBits, by["static"]!.result.validBits, "reachOutputs changed the network that trained");
  // A later invocation with fewer --configs keeps every recorded configuration in the table.
  const again = run(["experiment", "versus", "--quick", "--tuning", "--seeds", "1", "--neurons", "300", "--configs", "static", "--out", out, "--report"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(readFileSync(join(out, "summary.md"), "utf8"), /\| static-reach \|/);
});

test("experiment: unknown names and flags are one-line errors", () => {
  const a = run(["experiment", "nonsense"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /^sparsewire: error: unknown experiment "nonsense"/);
  const b = run(["experiment", "versus", "--quick", "--configs", "static,bogus", "--out", join(work, "bad")]);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /unknown versus configuration "bogus"/);
  const n = run(["experiment", "versus", "--quick", "--neurons", "100", "--out", join(work, "bad-neurons")]);
  assert.equal(n.code, 2, n.stderr);
  assert.match(n.stderr, /--neurons 100 is too small: context 4 needs 108 inputs \+ 27 outputs \+ a hidden neuron = 136 at least/);
  const c = run(["experiment", "sparsity", "--shard", "2/2"]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--shard must be i\/n/);
  assert.throws(() => parseShard("1/0"));
});

test("protocol: diverged runs are recorded as failed, torn last lines ignored, shards split the runs", async () => {
  const out = join(work, "protocol");
  const runs = [0, 1, 2, 3].map((i) => ({ key: `r${i}`, group: "g", seed: i, settings: {}, cost: 1 }));
  const seen: string[] = [];
  const records = await runProtocol(
    runs,
    async (r, ctx) => {
      seen.push(r.key);
      if (r.seed === 2) throw new NumericError("training diverged");
      ctx.saveCurve([r.seed, r.seed + 0.5]);
      return { value: r.seed };
    },
    { out, experiment: "t", protocol: { a: 1 }, shard: { index: 0, count: 2 } },
  );
  assert.deepEqual(seen, ["r0", "r2"]);
  assert.deepEqual(records.map((r) => [r.key, r.status]), [["r0", "ok"], ["r2", "failed"]]);
  appendFileSync(join(out, "runs.jsonl"), '{"key":"torn'); // a process killed mid-line
  const rest = await runProtocol(runs, async (r) => ({ value: r.seed }), { out, experiment: "t", protocol: { a: 1 } });
  assert.deepEqual(rest.map((r) => r.key).sort(), ["r0", "r1", "r2", "r3"]);
  assert.deepEqual([...readCurves(out).get("r0")!], [0, 0.5]);
  // A bug (not divergence) is not swallowed.
  await assert.rejects(runProtocol([{ key: "x", group: "g", seed: 0, settings: {}, cost: 1 }], async () => { throw new TypeError("bug"); }, { out: join(work, "p2"), experiment: "t", protocol: {} }), TypeError);
  writeFileSync(join(work, "dummy"), "");
});

test("stats: mean, sd, quantiles, Pearson, paired t interval", () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.ok(Math.abs(sd([2, 4, 4, 4, 5, 5, 7, 9]) - 2.138089935299395) < 1e-12);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(quantile([10, 0], 0.5), 5);
  assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 7]) - 0.9933992677987828) < 1e-12);
  assert.equal(tQuantile975(4), 2.776);
  assert.ok(Math.abs(tQuantile975(60) - 2.0003) < 2e-3);
  // Differences 1, 2, 3: mean 2, sd 1, half-width t(2)·1/√3.
  const d = pairedDifference([2, 4, 6], [1, 2, 3]);
  assert.equal(d.mean, 2);
  assert.ok(Math.abs(d.high - (2 + 4.303 / Math.sqrt(3))) < 1e-12);
  // Pooled bands: groups of 2 steps over 2 curves.
  const b = pooledBands([[1, 2, 3, 4], [5, 6, 7, 8]], 2, quantile);
  assert.deepEqual(b.map((x) => x.x), [2, 4]);
  assert.equal(b[0]!.median, 3.5);
});
