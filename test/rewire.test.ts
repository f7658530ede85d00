/**
 * Rewiring end to end: each preset on the bundled corpus rewires every round, stays finite, keeps
 * the network valid (acyclic, fixed in-degree, no duplicates), and the engine sees the edited graph;
 * the round's report (phases, search counters, sampled recall), the partial selection of the
 * fraction rule against a full sort, and the rewirer flags of `train`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Network } from "../src/graph/network.js";
import { createEngine } from "../src/engine/create.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { loadNetwork } from "../src/io/model-file.js";
import { lowestFinite, Rewirer } from "../src/rewire/rewire.js";
import { REWIRE_FLAGS, rewireConfigFromFlags, rewirerOptionsFromFlags } from "../src/cli/rewire-flags.js";
import { parseFlags } from "../src/cli/args.js";
import { PRESETS, scheduledFraction, isRewireStep, type RewireConfig } from "../src/rewire/schedule.js";
import { Rng } from "../src/util/rng.js";
import { oneHotBatch } from "./helpers.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/src/cli/main.js");

test("each preset: 2,000 steps on the bundled corpus, rewiring every 200 steps", () => {
  const work = mkdtempSync(join(tmpdir(), "sparsewire-rewire-"));
  for (const preset of ["thesis", "set", "rigl"]) {
    const model = join(work, `${preset}.safetensors`);
    const log = join(work, `${preset}.jsonl`);
    const r = spawnSync(process.execPath, [cli, "train", "--steps", "2000", "--rewire", preset, "--rewire-every", "200", "--save", model, "--log", log, "--json"], { encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
    const rounds = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>).filter((l) => l.type === "rewire");
    // RigL's cosine schedule ends at 75 % of training: rounds at 200..1400.
    const expected = preset === "rigl" ? 7 : 9;
    assert.equal(rounds.length, expected, `${preset}: rounds`);
    assert.equal(summary.rewireRounds, expected);
    for (const round of rounds) assert.ok((round.rewired as number) > 0, `${preset}: round at step ${round.step} rewired nothing`);
    assert.equal(summary.edgesRewired, rounds.reduce((s, x) => s + (x.rewired as number), 0));
    assert.ok(Number.isFinite(summary.validBitsPerChar) && summary.validBitsPerChar < 4.0, `${preset}: validation ${summary.validBitsPerChar}`);
    assert.ok(summary.rewireTimeShare > 0 && summary.rewireTimeShare < 1);
    const net = loadNetwork(model); // validates: acyclic, fixed in-degree, no duplicates
    net.validate();
    const e = spawnSync(process.execPath, [cli, "eval", "--model", model, "--split", "valid", "--json"], { encoding: "utf8" });
    const ev = JSON.parse(e.stdout.trim().split("\n").pop()!) as { bitsPerSymbol: number };
    assert.ok(Math.abs(ev.bitsPerSymbol - summary.validBitsPerChar) < 1e-4, `${preset}: saved model evaluates as trained (${ev.bitsPerSymbol} vs ${summary.validBitsPerChar})`);
  }
});

test("after a round the engine computes exactly what a fresh engine computes on the edited network", async () => {
  for (const [name, config] of Object.entries(PRESETS) as [string, RewireConfig][]) {
    for (const engineName of ["reference", "wasm"] as const) {
      const net = Network.random({ neurons: 400, inputs: 5 * 12, outputs: 12, inDegree: 6 }, new Rng(3));
      const engine = await createEngine(engineName, net, { threads: 1 });
      const batch = oneHotBatch(4, 96, 5, 12, 12);
      for (let s = 0; s < 30; s++) engine.step(batch);
      const before = net.sources.slice();
      const rewirer = new Rewirer(net, engine, { ...config, count: config.count.kind === "threshold" ? { kind: "threshold", threshold: 0.05 } : config.count }, new Rng(9));
      const report = rewirer.round(30, 1000, [oneHotBatch(5, 96, 5, 12, 12)]);
      assert.ok(report.rewired > 0, `${name}/${engineName}: rewired ${report.rewired}`);
      let changed = 0;
      for (let p = 0; p < before.length; p++) if (before[p] !== net.sources[p]) changed++;
      assert.equal(changed, report.rewired, `${name}/${engineName}: changed slots = reported swaps`);
      net.validate();
      engine.pull();
      const fresh = new ReferenceEngine(net.clone());
      const a = engine.evaluate(batch).lossSum;
      const b = fresh.evaluate(batch).lossSum;
      assert.ok(Math.abs(a - b) < 1e-4 * Math.abs(b), `${name}/${engineName}: ${a} vs fresh ${b}`);
      await engine.dispose();
    }
  }
});

test("admissibility \"levels\": every new edge comes from a level at most its target's, and the network stays valid", async () => {
  for (const [name, config] of [["thesis", { ...PRESETS.thesis, search: "approximate" as const, count: { kind: "threshold" as const, threshold: 0.05 } }], ["rigl", { ...PRESETS.rigl, search: "approximate" as const }]] as const) {
    const net = Network.random({ neurons: 400, inputs: 5 * 12, outputs: 12, inDegree: 6 }, new Rng(5));
    const engine = await createEngine("wasm", net, { threads: 1 });
    const batch = oneHotBatch(4, 96, 5, 12, 12);
    for (let s = 0; s < 30; s++) engine.step(batch);
    const before = net.sources.slice();
    const levels = net.levels.slice();
    const rewirer = new Rewirer(net, engine, config, new Rng(9), { admissibility: "levels" });
    const report = rewirer.round(30, 1000, [oneHotBatch(5, 96, 5, 12, 12)]);
    assert.ok(report.rewired > 0, `${name}: rewired ${report.rewired}`);
    let changed = 0;
    for (let p = 0; p < before.length; p++) {
      if (before[p] === net.sources[p]) continue;
      changed++;
      const target = net.inputs + Math.floor(p / net.inDegree);
      assert.ok(levels[net.sources[p]!]! <= levels[target]!, `${name}: new edge ${net.sources[p]} → ${target} from a higher level (${levels[net.sources[p]!]} > ${levels[target]})`);
    }
    assert.equal(changed, report.rewired);
    net.validate();
    await engine.dispose();
  }
});

test("new edges start with fresh optimiser state and the thesis resets Adam's timestep", async () => {
  const net = Network.random({ neurons: 300, inputs: 5 * 12, outputs: 12, inDegree: 6 }, new Rng(13));
  const engine = await createEngine("reference", net);
  const batch = oneHotBatch(14, 64, 5, 12, 12);
  for (let s = 0; s < 20; s++) engine.step(batch);
  const rewirer = new Rewirer(net, engine, { ...PRESETS.thesis, count: { kind: "threshold", threshold: 0.05 } }, new Rng(1));
  const report = rewirer.round(20, 1000, [batch]);
  assert.ok(report.rewired > 0);
  assert.equal(engine.timestep, 0, "Adam's timestep reset after the round (§4.6)");
  const reset = (engine as unknown as { weightState: { first: Float32Array; second: Float32Array } }).weightState;
  let fresh = 0;
  for (let p = 0; p < net.edges; p++) if (rewirer.bornAt[p] === 20) { fresh++; assert.equal(reset.first[p], 0); assert.equal(reset.second[p], 0); }
  assert.equal(fresh, report.rewired);
});

test("schedules: constant, cosine decay to 0 at 75 %, stop after a share", () => {
  const base = { ...PRESETS.rigl, fraction: 0.3, every: 100 };
  assert.equal(scheduledFraction({ ...base, schedule: { kind: "constant" } }, 500, 1000), 0.3);
  assert.ok(Math.abs(scheduledFraction({ ...base, schedule: { kind: "cosine" } }, 0, 1000) - 0.3) < 1e-12);
  assert.ok(Math.abs(scheduledFraction({ ...base, schedule: { kind: "cosine" } }, 375, 1000) - 0.15) < 1e-12);
  assert.equal(scheduledFraction({ ...base, schedule: { kind: "cosine" } }, 750, 1000), 0);
  assert.equal(isRewireStep({ ...base, schedule: { kind: "stop", at: 0.5 } }, 400, 1000), true);
  assert.equal(isRewireStep({ ...base, schedule: { kind: "stop", at: 0.5 } }, 500, 1000), false);
  assert.equal(isRewireStep(base, 150, 1000), false);
});

test("lowestFinite picks exactly what a full sort by (value, index) picks, ties, ±0 and non-finite values included", () => {
  const rng = new Rng(41);
  for (const size of [0, 1, 7, 100, 5000]) {
    const values = new Float64Array(size);
    for (let p = 0; p < size; p++) {
      const kind = rng.nextInt(20);
      values[p] = kind === 0 ? NaN : kind === 1 ? Infinity : kind === 2 ? -Infinity : kind === 3 ? -0 : kind === 4 ? 0 : kind < 10 ? rng.nextInt(5) - 2 : rng.nextNormal();
    }
    const reference = Array.from({ length: size }, (_, p) => p)
      .filter((p) => Number.isFinite(values[p]!))
      .sort((a, b) => values[a]! - values[b]! || a - b);
    for (const count of [0, 1, 2, 3, Math.floor(size / 3), size - 1, size, size + 5]) {
      if (count < 0) continue;
      const got = Array.from(lowestFinite(values, count));
      assert.deepEqual(got, reference.slice(0, count), `size ${size}, count ${count}`);
    }
  }
});

test("a round reports its phases and search counters, and the approximate search's recall when sampled", async () => {
  const net = Network.random({ neurons: 500, inputs: 5 * 12, outputs: 12, inDegree: 6 }, new Rng(5));
  const engine = await createEngine("reference", net);
  const batch = oneHotBatch(6, 96, 5, 12, 12);
  for (let s = 0; s < 20; s++) engine.step(batch);
  const config: RewireConfig = { ...PRESETS.thesis, search: "approximate", count: { kind: "threshold", threshold: 0.05 } };
  const rewirer = new Rewirer(net, engine, config, new Rng(2), { recallEvery: 2 });
  const reports = [0, 1, 2].map((r) => rewirer.round(20 + r, 1000, [oneHotBatch(7 + r, 96, 5, 12, 12)]));
  for (const [r, report] of reports.entries()) {
    const phases = report.phases!;
    const sum = Object.values(phases).reduce((x, y) => x + y, 0);
    assert.ok(Object.values(phases).every((x) => x >= 0), `round ${r}: phases ${JSON.stringify(phases)}`);
    assert.ok(sum <= report.seconds + 1e-6 && sum >= 0.5 * report.seconds, `round ${r}: phases add up to ${sum} of ${report.seconds} s`);
    assert.ok(report.searchStats && report.searchStats.pairsScored > 0 && report.searchStats.samples === 96);
    // Rounds 0 and 2 measure the recall (every 2nd round), round 1 does not.
    if (r === 1) {
      assert.equal(report.recall, undefined);
      assert.ok(phases.recall < 0.01, `round 1 measured no recall but spent ${phases.recall} s on it`);
    } else {
      assert.ok(report.recall !== undefined && report.recall >= 0 && report.recall <= 1, `round ${r}: recall ${report.recall}`);
    }
  }
  net.validate();
});

test("train's rewirer flags: --rewire-samples and --rewire-recall-every reach the Rewirer; recall needs the approximate search", () => {
  const spec = { name: "train", summary: "", usage: "", flags: REWIRE_FLAGS };
  const argv = ["--rewire", "thesis", "--rewire-search", "approximate", "--rewire-samples", "128", "--rewire-recall-every", "4"];
  const flags = parseFlags(spec, argv);
  assert.equal(rewireConfigFromFlags(flags)?.search, "approximate");
  assert.deepEqual(rewirerOptionsFromFlags(flags), { searchSamples: 128, recallEvery: 4 });
  assert.deepEqual(rewirerOptionsFromFlags(parseFlags(spec, ["--rewire", "rigl"])), {});
  const exact = ["--rewire", "thesis", "--rewire-recall-every", "4"];
  assert.throws(() => rewireConfigFromFlags(parseFlags(spec, exact)), /--rewire-recall-every .* needs --rewire-search approximate/);
  const none = ["--rewire-recall-every", "4"];
  assert.throws(() => rewireConfigFromFlags(parseFlags(spec, none)), /no effect without --rewire/);
});

test("refill: a RigL round swaps its whole budget, skipping targets with no candidate left; keepReaders never frees a hidden neuron's last out-edge", async () => {
  const outDegrees = (net: Network): Int32Array => {
    const out = new Int32Array(net.neurons);
    for (const s of net.sources) out[s]!++;
    return out;
  };
  const setUp = async () => {
    const net = Network.random({ neurons: 400, inputs: 5 * 12, outputs: 12, inDegree: 6 }, new Rng(21));
    const engine = await createEngine("reference", net);
    const batch = oneHotBatch(4, 96, 5, 12, 12);
    for (let s = 0; s < 30; s++) engine.step(batch);
    return { net, engine };
  };
  const config: RewireConfig = { ...PRESETS.rigl, fraction: 0.2, schedule: { kind: "constant" } };
  const budget = Math.round(0.2 * (400 - 60) * 6);
  // Without refill the round loses the swaps of targets with no candidate and of those that run out of their 2.
  const plain = await setUp();
  const a = new Rewirer(plain.net, plain.engine, config, new Rng(9), { perTarget: 2 }).round(30, 1000, [oneHotBatch(5, 96, 5, 12, 12)]);
  assert.equal(a.rewired + a.refused, budget);
  assert.ok(a.refusedBy.noCandidates + a.refusedBy.candidatesUsed > budget / 10, `plain round refused ${JSON.stringify(a.refusedBy)}`);
  const filled = await setUp();
  const b = new Rewirer(filled.net, filled.engine, { ...config, refill: true }, new Rng(9), { perTarget: 2 }).round(30, 1000, [oneHotBatch(5, 96, 5, 12, 12)]);
  // Planned swaps still refused are those whose candidates an earlier swap of the round made cyclic.
  assert.equal(b.rewired + b.refused, budget);
  assert.equal(b.refusedBy.noCandidates, 0);
  assert.ok(b.rewired > a.rewired * 1.3, `refill rewired ${b.rewired} of ${budget} (plain ${a.rewired}), refused ${JSON.stringify(b.refusedBy)}`);
  filled.net.validate();
  // keepReaders: no hidden neuron that had a reader loses its last one.
  const kept = await setUp();
  const before = outDegrees(kept.net);
  const c = new Rewirer(kept.net, kept.engine, { ...config, fraction: 0.5, keepReaders: true }, new Rng(9)).round(30, 1000, [oneHotBatch(5, 96, 5, 12, 12)]);
  assert.ok(c.rewired > 0);
  const after = outDegrees(kept.net);
  const hidden = (i: number) => i >= kept.net.inputs && i < kept.net.neurons - kept.net.outputs;
  for (let i = 0; i < kept.net.neurons; i++) if (hidden(i) && before[i]! > 0) assert.ok(after[i]! > 0, `neuron ${i} lost its last reader`);
  // …while the same round without it does strand some (so the check above can fail).
  const loose = await setUp();
  new Rewirer(loose.net, loose.engine, { ...config, fraction: 0.5 }, new Rng(9)).round(30, 1000, [oneHotBatch(5, 96, 5, 12, 12)]);
  const stranded = Array.from(outDegrees(loose.net)).filter((o, i) => hidden(i) && before[i]! > 0 && o === 0).length;
  assert.ok(stranded > 0, "without keepReaders some neuron lost its last reader");
  const spec = { name: "train", summary: "", usage: "", flags: REWIRE_FLAGS };
  assert.throws(() => rewireConfigFromFlags(parseFlags(spec, ["--rewire", "set", "--rewire-refill"])), /rewire\.refill.*random growth/);
  assert.equal(rewireConfigFromFlags(parseFlags(spec, ["--rewire", "rigl", "--rewire-refill", "--rewire-keep-readers"]))!.keepReaders, true);
});
