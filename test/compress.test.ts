/** Compression (thesis §4.2): Example 4.4, eq. 4.5, pruning to a fixed in-degree, quantised files. */
import { withFlags } from "../src/cli/setting-flags.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quantizeGroup, quantizeNetwork, estimateLossChange, dequantize, dequantizedWeights } from "../src/compress/quantize.js";
import { pruneToInDegree } from "../src/compress/prune.js";
import { measureSensitivity } from "../src/estimate/sensitivity.js";
import { quantizedFromJson, quantizedFromSafetensors, quantizedToJson, quantizedToSafetensors, readQuantizedModel, isQuantizedModelFile, decodeSourceGaps, encodeSourceGaps, maxRiceParameter, sortedSlots, QUANTIZED_FORMAT_VERSION, SOURCE_CODING } from "../src/io/quantized-format.js";
import { loadQuantizedModel, saveQuantizedNetwork } from "../src/io/quantized-model-file.js";
import { Network } from "../src/graph/network.js";
import { encodeSafetensors, littleEndian, networkToSafetensors, type SafetensorsEntry } from "../src/io/safetensors.js";
import { ModelFileError } from "../src/util/errors.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { loadModel, saveNetwork } from "../src/io/model-file.js";
import { textTask } from "../src/train/text.js";
import { quantizeCommand } from "../src/cli/commands/quantize.js";
import { pruneCommand } from "../src/cli/commands/prune.js";
import { SparsewireError } from "../src/util/errors.js";
import { oneHotBatch, randomNetwork, shuffledSlots } from "./helpers.js";
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
      // Size: b bits per weight (packed U8 at 2..4 bits); the sources are a gap stream.
      if (bits <= 4) assert.equal(JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + new DataView(st.buffer).getUint32(0, true)))).weights.dtype, "U8");
    }
  }
  // A float model file is not a quantised one.
  assert.equal(isQuantizedModelFile(new TextEncoder().encode('{"format": "sparsewire.network"}'), "json"), false);
  assert.deepEqual(dequantize(net, quantizeNetwork(net, { bits: 8, scale: "neuron", by: "max" })).inDegree, 7);
});

// ---- the compact graph of quantised safetensors files (version 2: sorted slots, Rice-coded gaps) ----

/** A valid network from explicit rows (one array of d sources per non-input neuron), random weights and biases. */
function dagNetwork(seed: number, k: number, n: number, m: number, rows: number[][]): Network {
  const d = rows[0]!.length;
  const rng = new Rng(seed);
  const biases = new Float32Array(k);
  for (let i = n; i < k; i++) biases[i] = 0.3 * rng.nextNormal();
  return Network.fromArrays({
    neurons: k, inputs: n, outputs: m, inDegree: d,
    sources: Int32Array.from(rows.flat()),
    weights: Float32Array.from({ length: (k - n) * d }, () => rng.nextNormal()),
    biases,
  });
}

function headerOf(file: Uint8Array): Record<string, any> {
  return JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + new DataView(file.buffer, file.byteOffset).getUint32(0, true))));
}

/** A copy of a quantised safetensors file with tensors replaced (same metadata unless given). */
function rebuilt(file: Uint8Array, replace: Record<string, Uint8Array>, metadata?: Record<string, string>, shapes?: Record<string, number[]>): Uint8Array {
  const header = headerOf(file);
  const dataStart = 8 + new DataView(file.buffer, file.byteOffset).getUint32(0, true);
  const entries: SafetensorsEntry[] = [];
  for (const name of ["sources", "weights", "scales", "biases"]) {
    const t = header[name];
    const data = replace[name] ?? file.subarray(dataStart + t.data_offsets[0], dataStart + t.data_offsets[1]);
    entries.push({ name, dtype: t.dtype, shape: shapes?.[name] ?? (replace[name] && t.dtype === "U8" ? [data.length] : t.shape), data });
  }
  return encodeSafetensors(entries, metadata ?? header.__metadata__);
}

/** LSB-first bytes of a bit string such as "0110 1" (spaces ignored), as the documentation defines them. */
function bitsToBytes(bits: string): Uint8Array {
  const b = bits.replace(/\s+/g, "");
  const out = new Uint8Array(Math.ceil(b.length / 8));
  for (let t = 0; t < b.length; t++) if (b[t] === "1") out[t >> 3]! |= 1 << (t & 7);
  return out;
}

const roundTripCases = (): Array<[string, Network]> => [
  ["random, sorted rows", randomNetwork(31, { neurons: 90, inputs: 54, outputs: 27, inDegree: 7 })],
  ["random, shuffled slots", shuffledSlots(randomNetwork(32, { neurons: 120, inputs: 30, outputs: 10, inDegree: 9 }), 5)],
  ["d = 1", shuffledSlots(randomNetwork(33, { neurons: 50, inputs: 4, outputs: 3, inDegree: 1 }), 6)],
  ["k = 64 (R = 6), d = 63 − n: dense rows", randomNetwork(34, { neurons: 64, inputs: 40, outputs: 4, inDegree: 40 })],
  ["k = 65 (R = 7)", shuffledSlots(randomNetwork(35, { neurons: 65, inputs: 20, outputs: 5, inDegree: 20 }), 7)],
  ["inputs only: every source an input, every gap 0", dagNetwork(36, 30, 27, 3, [[26, 0, 13, 5, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25], Array.from({ length: 27 }, (_, j) => j), Array.from({ length: 27 }, (_, j) => 26 - j)])],
  ["sources spanning 0..k−1: a low neuron reads the last one", dagNetwork(37, 6, 2, 1, [[5, 0], [1, 0], [3, 1], [4, 0]])],
  ["one non-input neuron reading all inputs", dagNetwork(38, 4, 3, 1, [[2, 0, 1]])],
];

test("quantised files round-trip bit for bit in both formats: edge cases, unsorted slots, -0 biases", () => {
  for (const [label, net] of roundTripCases()) {
    if (net.neurons - net.inputs > 1) net.biases[net.neurons - 1] = -0;
    for (const bits of [2, 3, 4, 8]) {
      for (const scale of ["network", "neuron"] as const) {
        const what = `${label}, ${bits} bits per ${scale}`;
        const q = quantizeNetwork(net, { bits, scale, by: "max" });
        const sorted = sortedSlots(q.network, q);
        const st = quantizedToSafetensors(q.network, q);
        assert.equal(headerOf(st).__metadata__.version, String(QUANTIZED_FORMAT_VERSION), what);
        assert.equal(JSON.parse(headerOf(st).__metadata__.quantization).sources, SOURCE_CODING, what);
        const a = quantizedFromSafetensors(st, "t.safetensors");
        // The file holds the slots sorted by source, the integers moved along; nothing else changes.
        assert.deepEqual(a.network.sources, sorted.sources, what);
        assert.deepEqual(a.quantization.integers, sorted.integers, what);
        assert.deepEqual(a.network.weights, sorted.weights, what);
        assert.deepEqual(a.network.weights, dequantizedWeights(a.quantization, net.edges, net.inDegree), what);
        assert.deepEqual(a.quantization.scales, q.scales, what);
        assert.deepEqual(a.network.biases, net.biases, what);
        if (net.neurons - net.inputs > 1) assert.ok(Object.is(a.network.biases[net.neurons - 1], -0), what);
        for (let r = 0; r < net.neurons - net.inputs; r++) {
          for (let e = 1; e < net.inDegree; e++) assert.ok(a.network.sources[r * net.inDegree + e - 1]! < a.network.sources[r * net.inDegree + e]!, what);
        }
        // The same multiset of (source, weight) per neuron as the network saved.
        for (let r = 0; r < net.neurons - net.inputs; r++) {
          const pairs = (s: Int32Array, w: Float32Array) => Array.from({ length: net.inDegree }, (_, e) => `${s[r * net.inDegree + e]}:${w[r * net.inDegree + e]}`).sort();
          assert.deepEqual(pairs(a.network.sources, a.network.weights), pairs(q.network.sources, q.network.weights), what);
        }
        assert.deepEqual(quantizedToSafetensors(a.network, a.quantization), st, what);
        // JSON: the same sorted network, and identical text again.
        const js = quantizedToJson(q.network, q);
        const b = quantizedFromJson(js, "t.json");
        assert.deepEqual(b.network.sources, a.network.sources, what);
        assert.deepEqual(b.quantization.integers, a.quantization.integers, what);
        assert.deepEqual(b.network.weights, a.network.weights, what);
        assert.deepEqual(b.network.biases, a.network.biases, what);
        assert.equal(quantizedToJson(b.network, b.quantization), js, what);
        assert.deepEqual(quantizedToSafetensors(b.network, b.quantization), st, what);
        // Mathematically the same function (the sums may add in another order, so compare closely).
        const batch = oneHotBatch(2, 8, 1, net.inputs, net.outputs);
        const ya = new ReferenceEngine(a.network).predict(batch);
        const yq = new ReferenceEngine(q.network.clone()).predict(batch);
        for (let t = 0; t < ya.length; t++) assert.ok(Math.abs(ya[t]! - yq[t]!) <= 1e-5 * (1 + Math.abs(yq[t]!)), `${what}: output ${t} ${ya[t]} vs ${yq[t]}`);
      }
    }
  }
});

test("the gap stream is the documented one: known answers, and encode/decode invert on random rows", () => {
  // k = 4, n = 3, d = 1, neuron 3 ← 2: r = 0 ("0"), v = 2 ("110"); 4 bits, zero padding.
  assert.deepEqual(encodeSourceGaps(Int32Array.of(2), 4, 3, 1), Uint8Array.of(0b0110));
  // k = 40, n = 38, d = 2, R = 6. Neuron 38 ← 5, 37: values 5, 31, cheapest r = 3 (zigzag 6: "1111110");
  // 5 = "0" + 101, 31 = "1110" + 111. Neuron 39 ← 0, 38: values 0, 37, r = 3 again ("0");
  // 0 = "0" + 000, 37 = "11110" + 101. 31 bits.
  const expected = bitsToBytes("1111110 0101 1110111   0 0000 11110101");
  assert.deepEqual(encodeSourceGaps(Int32Array.of(5, 37, 0, 38), 40, 38, 2), expected);
  assert.deepEqual(decodeSourceGaps(expected, 40, 38, 2), Int32Array.of(5, 37, 0, 38));
  assert.equal(maxRiceParameter(40), 6);
  assert.equal(maxRiceParameter(1700), 11);
  assert.equal(maxRiceParameter(64), 6);
  assert.equal(maxRiceParameter(65), 7);
  // Random ascending rows over the whole range, including 0 and k−1.
  const rng = new Rng(9);
  for (const [k, n, d] of [[2, 1, 1], [10, 3, 9], [300, 20, 1], [300, 20, 5], [5000, 100, 40]] as const) {
    const rows = k - n;
    const sources = new Int32Array(rows * d);
    for (let r = 0; r < rows; r++) {
      const chosen = new Set<number>(r % 3 === 0 ? [0, k - 1].slice(0, d) : []);
      while (chosen.size < d) chosen.add(rng.nextInt(k));
      sources.set(Int32Array.from([...chosen].sort((x, y) => x - y)), r * d);
    }
    assert.deepEqual(decodeSourceGaps(encodeSourceGaps(sources, k, n, d), k, n, d), sources, `k ${k}, d ${d}`);
  }
  assert.throws(() => encodeSourceGaps(Int32Array.of(3, 3), 5, 4, 2), /ascending, distinct/);
});

test("corrupt or truncated quantised safetensors files give one clear ModelFileError naming the problem", () => {
  const expectFileError = (file: Uint8Array, pattern: RegExp, what: string) =>
    assert.throws(() => quantizedFromSafetensors(file, "bad.safetensors"), (e: unknown) => {
      assert.ok(e instanceof ModelFileError, `${what}: not a ModelFileError: ${String(e)}`);
      assert.ok(!e.message.includes("\n"), `${what}: more than one line: ${e.message}`);
      assert.match(e.message, /^bad\.safetensors: /, what);
      assert.match(e.message, pattern, what);
      return true;
    }, what);
  // k = 4, n = 3, d = 1: one neuron; R = 2.
  const small = dagNetwork(1, 4, 3, 1, [[0]]);
  const qs = quantizeNetwork(small, { bits: 8, scale: "network", by: "max" });
  const base = quantizedToSafetensors(small, qs);
  const withStream = (bits: string) => rebuilt(base, { sources: bitsToBytes(bits) });
  assert.equal(quantizedFromSafetensors(withStream("0 110"), "ok").network.sources[0], 2); // the stream itself is fine
  expectFileError(withStream(""), /ends inside the Rice parameter of neuron 3 .*truncated or corrupt/, "empty stream");
  expectFileError(withStream("0 110 0000 0000"), /1 byte after the end of the stream/, "trailing byte");
  expectFileError(rebuilt(base, { sources: Uint8Array.of(0b10000110) }), /non-zero padding bits/, "padding");
  expectFileError(withStream("111"), /Rice parameter -2, outside 0\.\.2/, "negative parameter");
  expectFileError(withStream("11111"), /Rice parameter code runs on/, "parameter code too long");
  expectFileError(withStream("0 11110"), /neuron 3 slot 0: the source would exceed 3/, "source out of range (unary)");
  expectFileError(withStream("0 1110"), /neuron 3: edge 0 is a self-loop/, "self-loop");
  // Two rows: k = 5, n = 3, d = 2; a second slot past k−1, and a cycle 3 → 4 → 3.
  const two = dagNetwork(2, 5, 3, 1, [[0, 1], [2, 3]]);
  const base2 = quantizedToSafetensors(two, quantizeNetwork(two, { bits: 4, scale: "neuron", by: "max" }));
  // R = 3: parameter "1111110" (r = 3), slot 0 quotient "0", then the stream ends before its 3 low bits.
  expectFileError(rebuilt(base2, { sources: bitsToBytes("1111110 0") }), /ends inside neuron 3 slot 0 after 1 bytes: the file is truncated or corrupt/, "ends inside a value");
  const full = encodeSourceGaps(Int32Array.of(1, 2, 0, 3), 5, 3, 2);
  assert.deepEqual(quantizedFromSafetensors(rebuilt(base2, { sources: full })).network.sources, Int32Array.of(1, 2, 0, 3));
  expectFileError(rebuilt(base2, { sources: full.subarray(0, full.length - 1) }), /ends inside (neuron 4|the Rice parameter of neuron 4).*truncated/, "two rows, truncated");
  // r = 1 ("110"), quotient 2 ("110"), low bit 1: 5 > 4 only once the remainder is read.
  expectFileError(rebuilt(base2, { sources: bitsToBytes("110 110 1") }), /neuron 3 slot 0: the source would exceed 4/, "source out of range (remainder)");
  expectFileError(rebuilt(base2, { sources: bitsToBytes("0 0 11110") }), /neuron 3 slot 1: the source would exceed 4 \(the sources before it end at 0/, "slot past k−1");
  expectFileError(rebuilt(base2, { sources: bitsToBytes("0 0 1110 0 1110 1") }), /neuron 4 slot 1: the source would exceed 4 \(the sources before it end at 3/, "second row past k−1");
  expectFileError(rebuilt(base2, { sources: bitsToBytes("0 11110") }), /neuron 3 slot 1: the source would exceed 4 \(the sources before it end at 4/, "no room left for a later slot");
  expectFileError(rebuilt(base2, { sources: encodeSourceGaps(Int32Array.of(0, 4, 1, 3), 5, 3, 2) }), /closes a cycle/, "cycle");
  // The container around the stream.
  const good = quantizedToSafetensors(two, quantizeNetwork(two, { bits: 4, scale: "neuron", by: "max" }));
  expectFileError(good.subarray(0, good.length - 1), /truncated|cover/, "file cut short");
  const meta = headerOf(good).__metadata__;
  expectFileError(rebuilt(good, {}, { ...meta, quantization: meta.quantization.replace(SOURCE_CODING, "U8-packed-lsb") }), /"sources" must be "U8-rice-gaps-lsb"/, "wrong coding name");
  expectFileError(rebuilt(good, {}, { ...meta, version: "3" }), /"version" must be "1" or "2", got "3"/, "future version");
  expectFileError(rebuilt(good, {}, undefined, { sources: [99] }), /tensor "sources" has shape \[99\]/, "shape differs from data_offsets");
  // Packed weights: 4 edges × 3 bits = 12 bits, so the last byte has 4 padding bits, which must be 0.
  const three = quantizedToSafetensors(two, quantizeNetwork(two, { bits: 3, scale: "network", by: "max" }));
  const packed = three.slice();
  packed[8 + new DataView(three.buffer).getUint32(0, true) + headerOf(three).weights.data_offsets[1] - 1]! |= 0x80;
  expectFileError(packed, /tensor "weights": non-zero padding bits after the last 3-bit field/, "weight padding");
  // JSON: duplicates and cycles are one ModelFileError too.
  const js = quantizedToJson(two, quantizeNetwork(two, { bits: 4, scale: "network", by: "max" }));
  const dup = js.replace(/"sources": \[\n(.*)\n(.*)\[0, 1\]/, (all) => all.replace("[0, 1]", "[1, 1]"));
  assert.notEqual(dup, js);
  assert.throws(() => quantizedFromJson(dup, "bad.json"), (e: unknown) => e instanceof ModelFileError && /^bad\.json: .*duplicates an earlier edge from 1/.test(e.message) && !e.message.includes("\n"));
});

test("version 1 quantised safetensors files (fixed-width sources, all k biases) still load", () => {
  const net = shuffledSlots(randomNetwork(41, { neurons: 70, inputs: 30, outputs: 5, inDegree: 6 }), 3);
  const q = quantizeNetwork(net, { bits: 3, scale: "neuron", by: "max" });
  const k = net.neurons;
  const sourceBits = Math.ceil(Math.log2(k));
  const pack = (values: ArrayLike<number>, bits: number) => {
    let s = "";
    for (let p = 0; p < values.length; p++) for (let t = 0; t < bits; t++) s += (values[p]! >> t) & 1 ? "1" : "0";
    return bitsToBytes(s);
  };
  const v1 = encodeSafetensors([
    { name: "sources", dtype: "U8", shape: [Math.ceil((net.edges * sourceBits) / 8)], data: pack(net.sources, sourceBits) },
    { name: "weights", dtype: "U8", shape: [Math.ceil((net.edges * 3) / 8)], data: pack(Array.from(q.integers, (x) => x & 7), 3) },
    { name: "scales", dtype: "F32", shape: [q.scales.length], data: littleEndian(q.scales) },
    { name: "biases", dtype: "F32", shape: [k], data: littleEndian(net.biases) },
  ], {
    format: "sparsewire.quantized-network", version: "1", neurons: String(k), inputs: "30", outputs: "5", inDegree: "6", activation: "relu", task: '{"kind":"none"}',
    quantization: JSON.stringify({ bits: 3, scale: "neuron", by: "max", weights: "U8-packed-lsb", sources: "U8-packed-lsb", sourceBits }),
  });
  const a = quantizedFromSafetensors(v1, "v1.safetensors");
  assert.deepEqual(a.network.sources, net.sources); // version 1 keeps the stored (unsorted) order
  assert.deepEqual(a.quantization.integers, q.integers);
  assert.deepEqual(a.network.weights, q.network.weights);
  assert.deepEqual(a.network.biases, net.biases);
  // Saved again it becomes version 2, sorted, and smaller.
  const v2 = quantizedToSafetensors(a.network, a.quantization);
  assert.ok(v2.length < v1.length, `${v2.length} vs ${v1.length}`);
  assert.deepEqual(quantizedFromSafetensors(v2).network.sources, sortedSlots(a.network, a.quantization).sources);
  // JSON version 1 (the same layout) loads as well.
  const js = quantizedToJson(net, q).replace('"version": 2', '"version": 1');
  assert.deepEqual(quantizedFromJson(js).quantization.integers, sortedSlots(net, q).integers);
  assert.throws(() => quantizedFromJson(js.replace('"version": 1', '"version": 3')), /"version" must be 1 or 2, got 3/);
});

test("size: an 8-bit quantised random thesis-size network is at most a quarter of its float .safetensors file", (t) => {
  const net = Network.random({ neurons: 1700, inputs: 540, outputs: 27, inDegree: 29 }, new Rng(1));
  const floatBytes = networkToSafetensors(net).length;
  const ratios: Record<string, number> = {};
  let sourceBytes = 0;
  for (const bits of [8, 4]) {
    for (const scale of ["network", "neuron"] as const) {
      const q = quantizeNetwork(net, { bits, scale, by: "max" });
      const st = quantizedToSafetensors(q.network, q);
      ratios[`${bits} bits per ${scale}`] = st.length / floatBytes;
      const h = headerOf(st);
      sourceBytes = h.sources.data_offsets[1] - h.sources.data_offsets[0];
      assert.deepEqual(quantizedToSafetensors(quantizedFromSafetensors(st).network, quantizedFromSafetensors(st).quantization), st);
    }
  }
  t.diagnostic(`float ${floatBytes} bytes; sources ${sourceBytes} bytes = ${((8 * sourceBytes) / net.edges).toFixed(3)} bits/edge; ratios ${Object.entries(ratios).map(([key, r]) => `${key} ${r.toFixed(4)}`).join(", ")}`);
  assert.ok(ratios["8 bits per network"]! <= 0.25, `8 bits per network: ${ratios["8 bits per network"]}`);
  assert.ok(ratios["4 bits per network"]! <= 0.19, `4 bits per network: ${ratios["4 bits per network"]}`);
  // The sources cost under 6.8 bits per edge (11 fixed-width bits in version 1; log2 C(i, 29) ≈ 6.5 is the floor).
  assert.ok((8 * sourceBytes) / net.edges < 6.8, `${sourceBytes} source bytes`);
});

test("saved quantised safetensors load through loadModel and info (bytes, bits)", () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-qfile-"));
  const net = shuffledSlots(randomNetwork(51, { neurons: 120, inputs: 54, outputs: 27, inDegree: 6, task: textTask(2) }), 8);
  const q = quantizeNetwork(net, { bits: 8, scale: "network", by: "max" });
  const path = join(dir, "q.safetensors");
  const bytes = saveQuantizedNetwork(path, q.network, q, { training: { note: "y" } });
  assert.equal(readFileSync(path).length, bytes);
  const viaLoad = loadModel(path);
  const viaQuantized = loadQuantizedModel(path);
  assert.deepEqual(viaLoad.network.sources, sortedSlots(q.network, q).sources);
  assert.deepEqual(viaLoad.network.weights, viaQuantized.network.weights);
  assert.equal(viaQuantized.bytes, bytes);
  const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");
  const r = spawnSync(process.execPath, [cli, "info", "--model", path, "--json"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(info.fileBytes, bytes);
  assert.equal(info.quantization.bits, 8);
  assert.equal(info.edges, net.edges);
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
    assert.throws(() => checkGradualConfig(from, c as typeof ok, steps), (e: Error) => e instanceof SparsewireError && !e.message.includes("\n") && pattern.test(withFlags(e).message));
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
