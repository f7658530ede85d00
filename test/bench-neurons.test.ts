/**
 * `npm run bench -- --neurons N`: the flag's parsing, the round-batch rule that keeps a million-neuron
 * round inside wasm32, and one real small run of the large-network path (both parts at 1,700 and at
 * N, then the summary), whose JSON rows must carry sane figures.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseNeurons, BASELINE_NEURONS } from "../bench/scale.js";
import { roundBatchThatFits } from "../bench/rewire.js";
import { root } from "./cli-helpers.js";

const bench = join(root, "dist/bench/bench.js");
const INPUTS = 540;
const OUTPUTS = 27;

function runBench(args: string[], timeout = 180_000) {
  const r = spawnSync(process.execPath, [bench, ...args], { encoding: "utf8", timeout, cwd: root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("--neurons parses counts above the 1,700 baseline and refuses anything else", () => {
  assert.deepEqual(parseNeurons("1000000", INPUTS, OUTPUTS), [1_000_000]);
  assert.deepEqual(parseNeurons("170000, 20000,20000,1_000_000", INPUTS, OUTPUTS), [20000, 170000, 1_000_000]);
  for (const bad of ["", "1e6", "-5", "abc", "20000,x", String(BASELINE_NEURONS), "1000", "2.5"]) {
    assert.throws(() => parseNeurons(bad, INPUTS, OUTPUTS), /--neurons/, `refuses "${bad}"`);
  }
});

test("the rounds' batch halves until the activity fits beside the engine in wasm32's 4 GiB", () => {
  // A million neurons, d = 29: the engine holds about 1.6 GiB; the activity of 512 samples is 3.8 GiB.
  const engine = 1.59 * 2 ** 30;
  assert.equal(roundBatchThatFits(engine, 1_000_000, 512, 256), 256);
  assert.equal(roundBatchThatFits(50 * 2 ** 20, 17000, 512, 256), 512, "small networks keep the batch");
  assert.equal(roundBatchThatFits(3.9 * 2 ** 30, 1_000_000, 512, 256), undefined, "not even the search's samples fit");
});

test("bench flags: --neurons refuses --sizes beside it and --in-degree without it", () => {
  const both = runBench(["--neurons", "20000", "--sizes", "1700:29"]);
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /--neurons sets the sizes/);
  const alone = runBench(["--in-degree", "15"]);
  assert.notEqual(alone.code, 0);
  assert.match(alone.stderr, /--in-degree goes with --neurons/);
  const low = runBench(["--neurons", "1700"]);
  assert.notEqual(low.code, 0);
  assert.match(low.stderr, /not above the 1,700-neuron baseline/);
});

test("bench --neurons 6000 --quick: both parts at 1,700 and 6,000, the large path, and a sane summary", () => {
  const r = runBench(["--neurons", "6000", "--quick", "--json", "--engines", "wasm"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);
  const positive = (x: unknown, what: string) => assert.ok(typeof x === "number" && Number.isFinite(x) && x > 0, `${what} is a positive number: ${String(x)}`);

  // Training-step table: wasm at 1,700 (1 and 2 threads) and at 6,000 (all threads only).
  const engineRows = rows.filter((x) => x.engine === "wasm");
  assert.ok(engineRows.some((x) => x.neurons === 1700), "a 1,700-neuron row in the same run");
  const big = engineRows.filter((x) => x.neurons === 6000);
  assert.ok(big.length >= 1 && big.every((x) => x.threads === big[0].threads), "one thread count at the --neurons size");
  assert.equal(big[0].inDegree, 29);
  positive(big[0].perEdgeSlowdown?.factor, "the per-edge slowdown against 1,700");

  // Rewiring: the large path at 6,000 (one approximate round per preset plus the exact extrapolated), the usual one at 1,700.
  const rounds = rows.filter((x) => x.kind === "rewire-round");
  const at = (neurons: number, preset: string, search: string, how: string) => rounds.find((x) => x.neurons === neurons && x.preset === preset && x.search === search && x.how === how);
  assert.ok(at(1700, "thesis", "exact", "measured") && at(1700, "rigl", "exact", "measured"), "1,700: measured exact rounds");
  for (const [preset, search, how, admissibility] of [["thesis", "approximate", "measured", "levels"], ["thesis", "approximate", "extrapolated", "exact"], ["thesis", "exact", "extrapolated", "exact"], ["rigl", "approximate", "measured", "levels"], ["rigl", "approximate", "extrapolated", "exact"], ["rigl", "exact", "extrapolated", "exact"]] as const) {
    const row = at(6000, preset, search, how);
    assert.ok(row, `6,000: ${preset} ${search} ${how}`);
    assert.equal(row.admissibility, admissibility, `6,000: ${preset} ${search} ${how} admissibility`);
    assert.equal(row.rounds, 1);
    assert.equal(row.batch, 512);
    positive(row.ms.round, `${preset} ${search} round ms`);
    positive(row.ratio, `${preset} ${search} share`);
  }
  assert.ok(!rounds.some((x) => x.neurons === 6000 && x.preset === "thesis" && x.search === "exact" && x.how === "measured"), "no exact thesis round at the large size");

  // The summary row.
  const summaries = rows.filter((x) => x.kind === "scale-summary");
  assert.equal(summaries.length, 1);
  const s = summaries[0];
  assert.equal(s.neurons, 6000);
  assert.equal(s.edges, (6000 - INPUTS) * 29);
  positive(s.edgeSamplesPerSec, "edge-samples/s");
  positive(s.msPerStep, "ms per step");
  positive(s.perEdgeCostVsBaseline, "per-edge cost vs 1,700");
  assert.ok(s.perEdgeCostVsBaseline > 0.1 && s.perEdgeCostVsBaseline < 50, `per-edge cost ratio plausible: ${s.perEdgeCostVsBaseline}`);
  // 28 bytes of graph and optimiser state per edge + 4 per thread, plus tile buffers: 30–400 B/edge at this size.
  assert.ok(s.bytesPerEdge >= 30 && s.bytesPerEdge <= 400, `bytes per edge plausible: ${s.bytesPerEdge}`);
  assert.ok(Math.abs(s.memoryBytes / s.edges - s.bytesPerEdge) < 1e-9);
  positive(s.peakRssBytes, "peak RSS");
  assert.equal(s.roundBatch, 512);
  const kinds = ["approximate measured levels", "approximate extrapolated exact", "exact extrapolated exact"];
  assert.deepEqual(s.thesis.map((x: any) => `${x.search} ${x.how} ${x.admissibility}`), kinds);
  assert.deepEqual(s.rigl.map((x: any) => `${x.search} ${x.how} ${x.admissibility}`), kinds);
  assert.deepEqual(s.thesis.map((x: any) => x.intervalSteps), [2048, 2048, 2048]);
  assert.deepEqual(s.rigl.map((x: any) => x.intervalSteps), [100, 100, 100]);
  // Adding the exact admissibility's passes can only make the round longer.
  for (const list of [s.thesis, s.rigl]) assert.ok(list[1].roundMs >= list[0].roundMs, "exact admissibility costs at least the level round");
  for (const x of [...s.thesis, ...s.rigl]) {
    positive(x.share, "round share");
    assert.ok(Math.abs(x.share - x.roundMs / x.intervalMs) < 1e-9, "share = round / interval");
  }
  assert.deepEqual(s.cLimit, { skipped: "not asked for (--engines, --only)" });
});
