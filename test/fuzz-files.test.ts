/**
 * Issue 14 item 4: mutated and truncated model files, checkpoints and gzip corpora load as a valid
 * object or fail with one line (fuzz-driver.test.ts has the property and the mutations). Each
 * format runs CASES seeded cases in a worker thread under a hang watchdog; a failure prints its
 * fixture, mutations and problems, and replays with the same seed (or `mutate(fixture, ops)`).
 * scripts/fuzz-campaign.mjs runs the same property for longer. The self-tests at the end show that
 * the property can fail: a loader throwing TypeError, a two-line message, a slow or huge load and
 * a hang are all caught.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ModelFileError, SparsewireError } from "../src/util/errors.js";
import { attempt, errorProblem, fixtures, fuzzInWorker, FUZZ_FORMATS, mutate, type FuzzReport, type Mutation } from "./fuzz-driver.test.js";

/** Cases per format in `npm test` (about 2 to 5 ms each); the campaign script runs more. */
const CASES = 300;
const SEED = 0x14f022;

function describeReport(r: FuzzReport): string {
  const f = r.failures[0];
  if (!f) return "";
  return `${r.failures.length} failing case(s) of ${r.cases} (seed ${r.seed}${r.path ? `, path ${r.path}` : ""}); first: ${f.fixture} with ops ${JSON.stringify(f.ops)}:\n  ${f.problems.join("\n  ")}`;
}

for (const format of FUZZ_FORMATS) {
  test(`fuzz ${format}: ${CASES} mutated or truncated files load as valid objects or fail with one line`, async () => {
    // Checkpoints that decode also resume a tiny run (which must continue or refuse in one line).
    const report = await fuzzInWorker(format, { cases: CASES, seed: SEED, resume: format === "checkpoint" });
    assert.equal(report.failures.length, 0, describeReport(report));
    assert.ok(report.cases >= CASES, `ran ${report.cases} cases`);
    // The mutations must not be so gentle that nothing is refused, nor so harsh that nothing loads
    // (then the loaders' checks past the first few bytes would go untested).
    assert.ok(report.loaded < report.cases, `${format}: every mutated file loaded`);
    if (format !== "float-json" && format !== "float-safetensors" && format !== "checkpoint") assert.ok(report.loaded > 0, `${format}: no mutated file loaded`);
  });
}

test("fuzz: mutations and fixtures are deterministic, so a reported case replays", async () => {
  const ops: Mutation[] = [
    { op: "number", at: 30, text: "2147483648" },
    { op: "token", at: 5, text: "[]", remove: 2 },
    { op: "word", at: 0, value: 3, size: 4, relative: true },
    { op: "insert", at: 7, bytes: [0xff, 0] },
    { op: "delete", at: 9, count: 3 },
    { op: "flip", at: 100_000, bit: 7 },
    { op: "set", at: 2, byte: 0x22 },
    { op: "truncate", at: 400 },
  ];
  for (const format of ["float-json", "quantized-safetensors"] as const) {
    const [a, b] = await Promise.all([fixtures(format), fixtures(format)]);
    assert.deepEqual(a, b, `${format}: fixtures are rebuilt identically`);
    assert.deepEqual(mutate(a[0]!.bytes, ops), mutate(b[0]!.bytes, ops));
    assert.notDeepEqual(mutate(a[0]!.bytes, ops), a[0]!.bytes);
    assert.equal(mutate(a[0]!.bytes, [{ op: "truncate", at: 10 }]).length, 10);
  }
  const text = new TextDecoder().decode(mutate(new TextEncoder().encode('{"neurons": 12, "x": -3.5e2}'), [{ op: "number", at: 0, text: "1e999" }, { op: "number", at: 20, text: "7" }]));
  assert.equal(text, '{"neurons": 1e999, "x": 7}');
});

test("fuzz self-test: the property catches a wrong exception type, a two-line message, a slow load, a huge allocation", async () => {
  assert.match(errorProblem(new TypeError("x is undefined"))!, /^threw TypeError \(not a SparsewireError\)/);
  assert.match(errorProblem(new RangeError("Maximum call stack size exceeded"))!, /RangeError/);
  assert.match(errorProblem(new ModelFileError("model.json: bad\n  at line 3"))!, /message has 2 lines/);
  assert.match(errorProblem(new ModelFileError("x".repeat(2000)))!, /2000 characters/);
  assert.match(errorProblem(new ModelFileError("bad value"), "model.json")!, /does not name model\.json/);
  assert.equal(errorProblem(new ModelFileError("model.json: bad value", "fix it")), undefined);
  assert.equal(errorProblem(new SparsewireError("io", "cannot read model.json"), "model.json"), undefined);

  const refuse = (): never => {
    throw new ModelFileError("f: refused");
  };
  assert.deepEqual(await attempt("ok", 100, "f", refuse, () => undefined), { loaded: false });
  assert.match((await attempt("typed", 100, "f", () => JSON.parse("{") as unknown, () => undefined)).problem!, /^typed: threw SyntaxError/);
  const slow = await attempt("slow", 100, "f", () => {
    const end = performance.now() + 1100;
    while (performance.now() < end) { /* busy */ }
    return refuse();
  }, () => undefined);
  assert.match(slow.problem!, /^slow: took \d+ ms \(limit 1000\)/);
  let keep: Float64Array | undefined;
  const huge = await attempt("huge", 100, "f", () => {
    keep = new Float64Array(8 << 20); // 64 MiB for a 100-byte "file"
    keep[0] = 1;
    return refuse();
  }, () => undefined);
  assert.match(huge.problem!, /^huge: array buffers grew by 6\d\.\d MiB for a 100-byte file/);
  assert.equal(keep?.length, 8 << 20);
  const invalid = await attempt("invalid", 100, "f", () => 1, (v) => (v === 1 ? "loaded an invalid object" : undefined));
  assert.deepEqual(invalid, { problem: "invalid: loaded an invalid object", loaded: true });
});

test("fuzz self-test: a case that never returns is stopped by the watchdog and named", async () => {
  const report = await fuzzInWorker("float-json", { cases: 20, seed: 1, simulateHang: true }, 1500);
  assert.equal(report.failures.length, 1);
  assert.match(report.failures[0]!.problems[0]!, /^hang: no progress for 1500 ms in case 4 \(\w+\.json, ops \[/);
});
