/** Compression (thesis §4.2): Example 4.4, eq. 4.5, pruning to a fixed in-degree, quantised files. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quantizeGroup, quantizeNetwork, estimateLossChange, dequantize } from "../src/compress/quantize.js";
import { pruneToInDegree } from "../src/compress/prune.js";
import { measureSensitivity } from "../src/compress/sensitivity.js";
import { quantizedFromJson, quantizedFromSafetensors, quantizedToJson, quantizedToSafetensors, readQuantizedModel, isQuantizedModelFile } from "../src/compress/quantized-file.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { saveNetwork } from "../src/io/model-file.js";
import { textTask } from "../src/train/text.js";
import { quantizeCommand } from "../src/cli/commands/quantize.js";
import { pruneCommand } from "../src/cli/commands/prune.js";
import { SparsewireError } from "../src/util/errors.js";
import { oneHotBatch, randomNetwork } from "./helpers.js";
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { checkGradualConfig, gradualInDegree, gradualPlan, GradualPruner, isGradualCheckStep } from "../src/compress/gradual.js";
import { trainText } from "../src/train/trainer.js";
import { loadNetwork } from "../src/io/model-file.js";
import { Rng } from "../src/util/rng.js";

const W = [0.2, -0.1, 0.3, 88.7];
const PROPOSALS = [0.1, 30];

test("Example 4.4: the fourth weight unimportant → q = 0.1, w′ = (2, −1, 3, 3)", () => {
  // ∂L/∂w = (−1, 1, −1, 0): the first three weights are useful (−w·g > 0), the fourth has no effect.
  const gradient = [-1, 1, -1, 0];
  for (const estimate of ["signed", "absolute", "second-order"] as const) {
    const r = quantizeGroup(W, { bits: 3, by: "utility", estimate, gradient, curvature: [0, 0, 0, 0], candidates: PROPOSALS, rounding: "nearest" });
    assert.equal(r.scale, Math.fround(0.1), estimate);
    assert.deepEqual(Array.from(r.integers), [2, -1, 3, 3], estimate);
  }
});

test("Example 4.4: the fourth weight important → q = 30, w′ = (0, 0, 0, 3)", () => {
  const gradient = [-1, 1, -1, -1]; // utility of the fourth weight −w·g = 88.7
  for (const estimate of ["signed", "absolute", "second-order"] as const) {
    const r = quantizeGroup(W, { bits: 3, by: "utility", estimate, gradient, curvature: [0, 0, 0, 0], candidates: PROPOSALS, rounding: "nearest" });
    assert.equal(r.scale, 30, estimate);
    assert.deepEqual(Array.from(r.integers), [0, 0, 0, 3], estimate);
  }
  // mse ignores the gradient and always prefers the scale that gets 88.7 right.
  assert.equal(quantizeGroup(W, { bits: 3, by: "mse", candidates: PROPOSALS }).scale, 30);
});

test("the signed sum is fooled by cancellation; the absolute and second-order variants are not", () => {
  // Gradients that make the q = 30 proposal's first-order terms negative: the signed sum predicts a
  // loss DECREASE of 0.6 from throwing the first three weights away, and picks it.
  const gradient = [1, -1, 1, 0];
  const signed = quantizeGroup(W, { bits: 3, by: "utility", estimate: "signed", gradient, candidates: PROPOSALS, rounding: "nearest" });
  assert.equal(signed.scale, 30);
  assert.ok(Math.abs(signed.cost - -0.6) < 1e-6, `signed cost ${signed.cost}`);
  const absolute = quantizeGroup(W, { bits: 3, by: "utility", estimate: "absolute", gradient, candidates: PROPOSALS, rounding: "nearest" });
  assert.equal(absolute.scale, Math.fround(0.1));
  // On a quadratic loss L = Σ ½h(w − w*)² the second-order estimate is exact, so it cannot be fooled.
  const h = [20, 20, 20, 0];
  const wStar = W.map((w, i) => w - gradient[i]! / (h[i]! || Infinity));
  const trueChange = (after: ArrayLike<number>) => W.reduce((s, w, i) => s + 0.5 * h[i]! * ((after[i]! - wStar[i]!) ** 2 - (w - wStar[i]!) ** 2) + (h[i] === 0 ? gradient[i]! * (after[i]! - w) : 0), 0);
  const second = quantizeGroup(W, { bits: 3, by: "utility", estimate: "second-order", gradient, curvature: h, candidates: PROPOSALS, rounding: "nearest" });
  const at = (q: number, ints: ArrayLike<number>) => Array.from(ints, (i) => Math.fround(q) * i);
  const t = PROPOSALS.map((q) => trueChange(at(q, quantizeGroup(W, { bits: 3, by: "max", candidates: [q] }).scale === 0 ? [] : q === 30 ? [0, 0, 0, 3] : [2, -1, 3, 3])));
  assert.equal(second.scale, t[0]! <= t[1]! ? Math.fround(0.1) : 30);
  assert.ok(Math.abs(second.cost - trueChange(at(second.scale, second.integers))) < 1e-5);
});

test("the estimated loss change is eq. 4.5 summed over the weights, computed directly", () => {
  const net = randomNetwork(3, { neurons: 40, inputs: 12, outputs: 4, inDegree: 5 });
  const batch = oneHotBatch(4, 32, 3, 4, 4);
  const engine = new ReferenceEngine(net.clone());
  const g = engine.gradients(batch).weightGradients;
  const sens = measureSensitivity(net, [batch], { curvature: "lecun" });
  const q = quantizeNetwork(net, { bits: 3, scale: "neuron", by: "utility", estimate: "absolute", gradient: sens.gradient, curvature: sens.curvature! });
  let direct = 0;
  let directAbs = 0;
  for (let e = 0; e < net.edges; e++) {
    direct += (q.network.weights[e]! - net.weights[e]!) * g[e]!;
    directAbs += Math.abs((q.network.weights[e]! - net.weights[e]!) * g[e]!);
  }
  const est = estimateLossChange(net.weights, q.network.weights, sens.gradient, sens.curvature);
  assert.ok(Math.abs(est.signed - direct) <= 1e-5 * (1 + Math.abs(direct)), `${est.signed} vs ${direct}`);
  assert.ok(Math.abs(est.absolute - directAbs) <= 1e-5 * (1 + directAbs));
  let quad = 0;
  for (let e = 0; e < net.edges; e++) quad += 0.5 * sens.curvature![e]! * (q.network.weights[e]! - net.weights[e]!) ** 2;
  assert.ok(Math.abs(est.secondOrder! - (est.signed + quad)) < 1e-9);
});

test("quantisation: integers in range, per-neuron scales, max never clips, dequantised = fround(q·w′)", () => {
  const net = randomNetwork(5, { neurons: 50, inputs: 10, outputs: 3, inDegree: 6 });
  for (const bits of [2, 3, 4, 8]) {
    for (const scale of ["network", "neuron"] as const) {
      const q = quantizeNetwork(net, { bits, scale, by: "max" });
      assert.equal(q.scales.length, scale === "network" ? 1 : 40);
      for (let e = 0; e < net.edges; e++) {
        const s = q.scales[scale === "network" ? 0 : Math.floor(e / 6)]!;
        assert.ok(q.integers[e]! >= -(2 ** (bits - 1)) && q.integers[e]! <= 2 ** (bits - 1) - 1);
        assert.equal(q.network.weights[e], Math.fround(s * q.integers[e]!));
        assert.ok(Math.abs(q.network.weights[e]! - net.weights[e]!) <= s / 2 + 1e-6);
      }
    }
  }
  assert.throws(() => quantizeNetwork(net, { bits: 9, scale: "network", by: "max" }), SparsewireError);
  assert.throws(() => quantizeNetwork(net, { bits: 1, scale: "network", by: "max" }), SparsewireError);
});

test("pruning keeps the in-degree fixed and removes exactly the lowest-utility edges of every neuron", () => {
  const net = randomNetwork(7, { neurons: 60, inputs: 15, outputs: 5, inDegree: 8 });
  const utility = Float32Array.from({ length: net.edges }, (_, e) => Math.sin(e * 12.9898) * 43758.5453 % 1);
  const r = pruneToInDegree(net, utility, 3);
  assert.equal(r.network.inDegree, 3);
  assert.equal(r.network.edges, 45 * 3);
  for (let row = 0; row < 45; row++) {
    const slots = Array.from({ length: 8 }, (_, s) => row * 8 + s);
    const sorted = [...slots].sort((a, b) => utility[b]! - utility[a]!);
    const keep = new Set(sorted.slice(0, 3));
    for (let t = 0; t < 3; t++) {
      const e = r.kept[row * 3 + t]!;
      assert.ok(keep.has(e), `row ${row}: kept edge ${e} is not among the 3 most useful`);
      assert.equal(r.network.sources[row * 3 + t], net.sources[e]);
      assert.equal(r.network.weights[row * 3 + t], net.weights[e]);
    }
    for (const e of sorted.slice(3)) assert.ok(r.removed.includes(e));
  }
  assert.equal(r.removed.length, 45 * 5);
  assert.throws(() => pruneToInDegree(net, utility, 8), /would remove nothing/);
  assert.throws(() => pruneToInDegree(net, utility, 9), /would remove nothing/);
});

test("bias compensation keeps each neuron's mean pre-activation (first neuron after the inputs)", () => {
  const net = randomNetwork(8, { neurons: 30, inputs: 12, outputs: 3, inDegree: 6 });
  const batch = oneHotBatch(9, 64, 3, 4, 3);
  const means = measureSensitivity(net, [batch], { meanOutputs: true }).meanOutputs!;
  const utility = Float32Array.from(net.weights, (w) => Math.abs(w));
  const r = pruneToInDegree(net, utility, 2, { meanOutputs: means });
  const i = net.inputs; // its sources are all inputs, whose means are exact
  const meanPre = (weights: ArrayLike<number>, sources: ArrayLike<number>, d: number, bias: number) => {
    let s = bias;
    for (let e = 0; e < d; e++) s += weights[e]! * means[sources[e]!]!;
    return s;
  };
  const before = meanPre(net.weights.subarray(0, 6), net.sources.subarray(0, 6), 6, net.biases[i]!);
  const after = meanPre(r.network.weights.subarray(0, 2), r.network.sources.subarray(0, 2), 2, r.network.biases[i]!);
  assert.ok(Math.abs(before - after) < 1e-5, `${before} vs ${after}`);
});

test("quantised files round-trip bit for bit in both formats", () => {
  const net = randomNetwork(11, { neurons: 90, inputs: 27 * 2, outputs: 27, inDegree: 7, task: textTask(2) });
  net.biases[60] = -0;
  for (const bits of [2, 3, 4, 5, 8]) {
    for (const scale of ["network", "neuron"] as const) {
      const q = quantizeNetwork(net, { bits, scale, by: "mse" });
      const st = quantizedToSafetensors(q.network, q, { training: { note: "x" } });
      assert.ok(isQuantizedModelFile(st, "safetensors"));
      const a = quantizedFromSafetensors(st, "t.safetensors");
      assert.deepEqual(a.quantization.integers, q.integers);
      assert.deepEqual(a.quantization.scales, q.scales);
      assert.deepEqual(a.network.sources, net.sources);
      assert.deepEqual(a.network.weights, q.network.weights);
      assert.ok(Object.is(a.network.biases[60], -0));
      assert.deepEqual(a.training, { note: "x" });
      assert.deepEqual(quantizedToSafetensors(a.network, a.quantization, { training: a.training! }), st);
      const js = quantizedToJson(q.network, q);
      const b = quantizedFromJson(js, "t.json");
      assert.deepEqual(b.quantization.integers, q.integers);
      assert.deepEqual(b.network.weights, q.network.weights);
      assert.equal(quantizedToJson(b.network, b.quantization), js);
      assert.ok(readQuantizedModel(new TextEncoder().encode(js), "json", "t.json"));
      // Size: b bits per weight, ceil(log2 k) bits per source.
      if (bits <= 4) assert.equal(JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + new DataView(st.buffer).getUint32(0, true)))).weights.dtype, "U8");
    }
  }
  // A float model file is not a quantised one.
  assert.equal(isQuantizedModelFile(new TextEncoder().encode('{"format": "sparsewire.network"}'), "json"), false);
  assert.deepEqual(dequantize(net, quantizeNetwork(net, { bits: 8, scale: "neuron", by: "max" })).inDegree, 7);
});

// ---- commands: one clear error line, never overwrite IN ----

function fixture(): { dir: string; model: string; text: string; short: string } {
  const dir = mkdtempSync(join(tmpdir(), "sw-compress-"));
  const net = randomNetwork(21, { neurons: 120, inputs: 54, outputs: 27, inDegree: 6, task: textTask(2) });
  const model = join(dir, "in.safetensors");
  saveNetwork(model, net);
  const text = join(dir, "text.txt");
  writeFileSync(text, "the quick brown fox jumps over the lazy dog ".repeat(400));
  const short = join(dir, "short.txt");
  writeFileSync(short, "abc");
  return { dir, model, text, short };
}

async function failsWithOneLine(run: () => Promise<number>, pattern: RegExp): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof SparsewireError, `not a SparsewireError: ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `more than one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("quantize and prune refuse bad input with one clear line and never touch IN", async () => {
  const f = fixture();
  const original = readFileSync(f.model);
  const out = join(f.dir, "out.safetensors");
  const q = (extra: string[]) => () => quantizeCommand(["--model", f.model, "--text", f.text, "--engine", "reference", "--batch", "64", "--batches", "1", ...extra]);
  const p = (extra: string[]) => () => pruneCommand(["--model", f.model, "--text", f.text, "--engine", "reference", "--batch", "64", "--batches", "1", ...extra]);
  await failsWithOneLine(q(["--bits", "0", "--save", out]), /--bits must be at least 2/);
  await failsWithOneLine(q(["--bits", "9", "--save", out]), /--bits must be at most 8/);
  await failsWithOneLine(q(["--bits", "4", "--save", f.model]), /refusing to overwrite/);
  await failsWithOneLine(() => quantizeCommand(["--model", f.model, "--text", f.short, "--bits", "4", "--save", out]), /fewer than context \+ 1|use a longer text/);
  await failsWithOneLine(() => quantizeCommand(["--model", f.model, "--text", f.text, "--engine", "reference", "--batch", "100000", "--bits", "4", "--save", out]), /fewer than one batch/);
  await failsWithOneLine(p(["--in-degree", "6", "--save", out]), /in-degree is 6/);
  await failsWithOneLine(p(["--in-degree", "9", "--save", out]), /in-degree is 6/);
  await failsWithOneLine(p(["--in-degree", "3", "--save", f.model]), /refusing to overwrite/);
  await failsWithOneLine(() => pruneCommand(["--model", f.model, "--text", f.short, "--in-degree", "3", "--save", out]), /fewer than context \+ 1|use a longer text/);
  assert.deepEqual(readFileSync(f.model), original);
});

test("quantize and prune write working models", async () => {
  const f = fixture();
  const write = process.stdout.write;
  const lines: string[] = [];
  // Capture the commands' output, and pass it on (the test runner may write to stdout meanwhile).
  process.stdout.write = ((s: string) => (lines.push(s), write.call(process.stdout, s))) as typeof process.stdout.write;
  try {
    const qOut = join(f.dir, "q.json");
    assert.equal(await quantizeCommand(["--model", f.model, "--text", f.text, "--engine", "reference", "--batch", "64", "--batches", "2", "--bits", "4", "--save", qOut, "--json"]), 0);
    const qs = JSON.parse(lines.at(-1)!);
    assert.equal(qs.bits, 4);
    const loaded = readQuantizedModel(readFileSync(qOut), "json", qOut)!;
    assert.equal(loaded.quantization.bits, 4);
    const pOut = join(f.dir, "p.safetensors");
    assert.equal(await pruneCommand(["--model", f.model, "--text", f.text, "--engine", "reference", "--batch", "64", "--batches", "2", "--in-degree", "3", "--bias-compensation", "--finetune", "3", "--save", pOut, "--json"]), 0);
    const ps = JSON.parse(lines.at(-1)!);
    assert.equal(ps.inDegree, 3);
    assert.equal(ps.edges, 66 * 3);
  } finally {
    process.stdout.write = write;
  }
});

// ---- gradual pruning during training (compress/gradual.ts, train --prune-to)

const CUBIC = { to: 29, start: 0.1, end: 0.6 };

test("gradual schedule: D until start, D2 from end on, monotone, cubic in between", () => {
  const T = 10_000;
  assert.equal(gradualInDegree(58, CUBIC, 1, T), 58);
  assert.equal(gradualInDegree(58, CUBIC, 1000, T), 58, "at t₀ = start·T nothing is pruned yet");
  assert.equal(gradualInDegree(58, CUBIC, 6000, T), 29, "at t₁ = end·T the in-degree is D2");
  assert.equal(gradualInDegree(58, CUBIC, T, T), 29);
  // Cubic: half way, (1 − ½)³ = 1/8 of the difference is left; a quarter of the way, 27/64.
  assert.equal(gradualInDegree(58, CUBIC, 3500, T), Math.round(29 + 29 / 8));
  assert.equal(gradualInDegree(58, CUBIC, 2250, T), Math.round(29 + (29 * 27) / 64));
  let last = Infinity;
  for (let t = 1; t <= T; t++) {
    const d = gradualInDegree(58, CUBIC, t, T);
    assert.ok(d <= last && d >= 29 && d <= 58, `step ${t}: ${d} after ${last}`);
    last = d;
  }
  // The plan checks every `every` steps and at t₁, and ends at D2; the cubic prunes fast early.
  const plan = gradualPlan(58, { ...CUBIC, by: "first-order", every: 100, batches: 4 }, T);
  assert.equal(plan.at(-1)!.inDegree, 29);
  assert.ok(plan.every((p) => p.step === 6000 || p.step % 100 === 0));
  assert.ok(plan[0]!.step === 1100 && plan[0]!.inDegree < 57, `first prune ${JSON.stringify(plan[0])}`);
  assert.ok(isGradualCheckStep({ ...CUBIC, every: 128 }, 6000, T), "t₁ is always a check step");
  // start = end: one step from D to D2 at t₁.
  assert.deepEqual(gradualPlan(58, { to: 15, start: 0.5, end: 0.5, by: "magnitude", every: 7, batches: 1 }, 100), [{ step: 50, inDegree: 15 }]);
});

test("gradual pruning refuses impossible schedules with one clear line", () => {
  const ok = { to: 6, by: "first-order" as const, start: 0.1, end: 0.6, every: 10, batches: 2 };
  const refuses = (c: typeof ok | Record<string, unknown>, from: number, pattern: RegExp, steps = 100) =>
    assert.throws(() => checkGradualConfig(from, c as typeof ok, steps), (e: Error) => e instanceof SparsewireError && !e.message.includes("\n") && pattern.test(e.message));
  refuses(ok, 6, /--prune-to 6 must be below the network's in-degree 6/);
  refuses(ok, 4, /below the network's in-degree 4/);
  refuses({ ...ok, to: 0 }, 12, /positive integer/);
  refuses({ ...ok, start: 0.7 }, 12, /after --prune-end/);
  refuses({ ...ok, by: "true" }, 12, /--prune-by must be one of/);
  refuses(ok, 12, /needs a step budget/, Infinity);
  checkGradualConfig(12, ok, 100);
});

test("gradual pruning inside trainText: engines are replaced, the in-degree ends at D2, the loss stays finite", async () => {
  const net = randomNetwork(5, { neurons: 150, inputs: 27 * 3, outputs: 27, inDegree: 12, task: textTask(3) });
  const symbols = new Uint8Array(4000);
  const rng = new Rng(3);
  for (let i = 0; i < symbols.length; i++) symbols[i] = (i % 7 === 0 ? 0 : 1 + rng.nextInt(26)) as number;
  const config = { to: 5, by: "first-order" as const, start: 0.1, end: 0.5, every: 10, batches: 2 };
  const steps = 120;
  const made: ReferenceEngine[] = [];
  const first = new ReferenceEngine(net, { optimizer: { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } });
  const pruner = new GradualPruner(first, config, steps, async (n) => {
    const e = new ReferenceEngine(n, { optimizer: { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } });
    made.push(e);
    return e;
  });
  const result = await trainText(first, symbols.subarray(0, 3000), symbols.subarray(3000), { context: 3, batch: 32, steps, evalEvery: 0, evalWindows: 100, rng: new Rng(1), afterStep: pruner.afterStep });
  const plan = gradualPlan(12, config, steps);
  assert.equal(made.length, plan.length, "one new engine per decrement of the plan");
  assert.deepEqual(pruner.events.map((e) => [e.step, e.to]), plan.map((p) => [p.step, p.inDegree]));
  assert.equal(result.engine, made.at(-1), "trainText reports the live engine");
  assert.equal(pruner.engine, result.engine);
  assert.equal(result.engine.network.inDegree, 5);
  assert.equal(result.steps, steps);
  assert.ok(result.losses.every((l) => Number.isFinite(l)), "finite losses");
  assert.ok(Number.isFinite(result.valid.bitsPerSymbol));
  result.engine.network.validate();
  // The control rebuilds at the same steps without pruning.
  const control = new GradualPruner(new ReferenceEngine(net.clone()), { ...config, rebuildOnly: true }, steps, async (n) => new ReferenceEngine(n));
  await trainText(control.engine, symbols.subarray(0, 3000), symbols.subarray(3000), { context: 3, batch: 32, steps, evalEvery: 0, evalWindows: 100, rng: new Rng(1), afterStep: control.afterStep });
  assert.deepEqual(control.events.map((e) => e.step), plan.map((p) => p.step));
  assert.equal(control.engine.network.inDegree, 12);
});

test("train --prune-to: in-degree 12 → 5 on the cubic schedule, the saved model validates; bad flags give one line", () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");
  const dir = mkdtempSync(join(tmpdir(), "sparsewire-gradual-"));
  const run = (args: string[]) => spawnSync(process.execPath, [cli, "train", "--neurons", "200", "--context", "3", "--batch", "32", "--threads", "1", ...args], { encoding: "utf8", cwd: dir, timeout: 60_000 });
  const save = join(dir, "g.safetensors");
  const r = run(["--in-degree", "12", "--prune-to", "5", "--prune-by", "magnitude", "--prune-every", "10", "--steps", "150", "--eval-every", "50", "--save", save, "--log", join(dir, "log.jsonl"), "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(s.inDegree, 5);
  assert.equal(s.edges, (200 - 81) * 5);
  assert.ok(Number.isFinite(s.finalLoss) && Number.isFinite(s.testBitsPerChar), `finite: ${s.finalLoss}, ${s.testBitsPerChar}`);
  assert.equal(s.gradualPruning.rebuilds, gradualPlan(12, { to: 5, start: 0.1, end: 0.6, every: 10, by: "magnitude", batches: 4 }, 150).length);
  const saved = loadNetwork(save); // validates
  assert.equal(saved.inDegree, 5);
  const log = readFileSync(join(dir, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(log.filter((l) => l.type === "prune").at(-1).to, 5);
  const oneLine = (args: string[], pattern: RegExp) => {
    const e = run(args);
    assert.notEqual(e.status, 0);
    const lines = e.stderr.trim().split("\n");
    assert.match(lines[0]!, /^sparsewire: error: /);
    assert.match(lines[0]!, pattern);
    assert.ok(lines.length === 1 || (lines.length === 2 && lines[1]!.startsWith("hint: ")), e.stderr);
  };
  oneLine(["--in-degree", "12", "--prune-to", "12", "--steps", "10"], /--prune-to 12 must be below the network's in-degree 12/);
  oneLine(["--in-degree", "12", "--prune-to", "20", "--steps", "10"], /must be below/);
  oneLine(["--in-degree", "12", "--prune-to", "0", "--steps", "10"], /--prune-to must be at least 1/);
  oneLine(["--in-degree", "12", "--prune-to", "5", "--minutes", "1"], /step budget/);
  oneLine(["--in-degree", "12", "--prune-to", "5", "--rewire", "set", "--steps", "10"], /cannot be combined with --rewire/);
  oneLine(["--in-degree", "12", "--prune-every", "5", "--steps", "10"], /--prune-every has no effect without --prune-to/);
});
