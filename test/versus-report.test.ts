/**
 * The versus table pairs runs by seed (issue 11: "nothing tests that versus pairs runs by seed"):
 * Δ against static, RigL and static ×2 edges uses only the seeds both configurations have, matched
 * seed to seed, whatever order the runs were recorded in and whichever runs failed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reportVersus, VERSUS_CONFIGS } from "../src/experiments/versus.js";
import { textProtocol } from "../src/experiments/sparsity.js";
import type { RunRecord } from "../src/experiments/protocol.js";
import type { TextRunResult } from "../src/experiments/text-run.js";
import { pairedDifference } from "../src/util/stats.js";

function record(config: string, seed: number, testBits: number, status: "ok" | "failed" = "ok"): RunRecord<TextRunResult> {
  const result: TextRunResult = {
    steps: 10, edges: 100, depth: 3, trainBits: testBits, validBits: testBits + 0.01, testBits, seconds: 1, trainSeconds: 1,
    rewireSeconds: 0, rewireTimeShare: 0, rewireRounds: 0, edgesRewired: 0, rounds: [], edgeSamplesPerSecond: 1,
  };
  return { experiment: "versus", key: `${config}-seed${seed}`, group: config, seed, settings: { config }, status, ...(status === "ok" ? { result } : { error: "diverged" }), seconds: 1, finished: "2026-12-03T00:00:00.000Z" } as RunRecord<TextRunResult>;
}

test("versus pairs differences by seed: shuffled records, a missing seed, a failed run", async () => {
  const statics = { 1: 2.50, 2: 2.40, 3: 2.60, 4: 2.55 } as Record<number, number>;
  const rigl = { 4: 2.45, 1: 2.41, 3: 2.52 } as Record<number, number>; // no seed 2
  const records = [
    record("rigl", 4, rigl[4]!), record("static", 3, statics[3]!), record("rigl", 1, rigl[1]!), record("static", 1, statics[1]!),
    record("static", 4, statics[4]!), record("rigl", 3, rigl[3]!), record("static", 2, statics[2]!), record("rigl", 2, NaN, "failed"),
  ];
  const configs = VERSUS_CONFIGS.filter((c) => c.name === "static" || c.name === "rigl");
  const out = mkdtempSync(join(tmpdir(), "sw-versus-report-"));
  const ctx = { quick: true, steps: 10, seeds: 4 } as Parameters<typeof textProtocol>[0];
  const protocol = textProtocol(ctx, { steps: 10, seeds: 4 }, { name: "t", symbols: 100 });
  await reportVersus(out, records, 8, configs, { corpus: "t", protocol, baseDegree: 6, seedBase: 1, log: () => {} });
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  const expected = pairedDifference([1, 3, 4].map((s) => rigl[s]!), [1, 3, 4].map((s) => statics[s]!));
  const got = summary.configs.rigl.vsStatic;
  assert.equal(got.n, 3);
  assert.ok(Math.abs(got.mean - expected.mean) < 1e-12, `${got.mean} vs ${expected.mean}`);
  assert.ok(Math.abs(got.low - expected.low) < 1e-12 && Math.abs(got.high - expected.high) < 1e-12);
  // Pairing by recorded position gives the same mean but another spread, so another interval;
  // including seed 2 of static (unpaired means) would move the mean: the test tells them apart.
  const byPosition = pairedDifference([rigl[4]!, rigl[1]!, rigl[3]!], [statics[3]!, statics[1]!, statics[4]!]);
  assert.ok(Math.abs(byPosition.sd - expected.sd) > 1e-3, `${byPosition.sd} vs ${expected.sd}`);
  assert.ok(Math.abs(got.sd - expected.sd) < 1e-12);
  const allStatics = (statics[1]! + statics[2]! + statics[3]! + statics[4]!) / 4;
  assert.ok(Math.abs((rigl[1]! + rigl[3]! + rigl[4]!) / 3 - allStatics - expected.mean) > 1e-3);
  assert.equal(summary.configs.rigl.failed, 1);
  assert.equal(summary.configs.rigl.seeds, 3);
  assert.equal(summary.configs.static.seeds, 4);
});

test("versus --tuning compares on validation, and its summary holds no test number", async () => {
  const valid = (config: string, seed: number, bits: number) => {
    const r = record(config, seed, NaN);
    delete (r.result as Partial<TextRunResult>).testBits;
    r.result!.validBits = bits;
    return r;
  };
  const records = [valid("static", 101, 2.40), valid("static", 102, 2.42), valid("rigl", 101, 2.35), valid("rigl", 102, 2.36)];
  const configs = VERSUS_CONFIGS.filter((c) => c.name === "static" || c.name === "rigl");
  const out = mkdtempSync(join(tmpdir(), "sw-versus-tuning-"));
  const ctx = { quick: true, steps: 10, seeds: 2 } as Parameters<typeof textProtocol>[0];
  const protocol = textProtocol(ctx, { steps: 10, seeds: 2 }, { name: "t", symbols: 100 });
  await reportVersus(out, records, 4, configs, { corpus: "t", protocol, baseDegree: 6, seedBase: 101, log: () => {}, tuning: true });
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  assert.ok(Math.abs(summary.configs.rigl.vsStatic.mean - -0.055) < 1e-12);
  assert.equal(summary.configs.rigl.testBits, undefined);
  const md = readFileSync(join(out, "summary.md"), "utf8");
  assert.doesNotMatch(md, /test bits|test Δ/);
  assert.match(md, /validation Δ vs static/);
});
