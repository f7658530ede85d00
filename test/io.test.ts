/**
 * Model files (src/io): bit-exact round trips in JSON and safetensors, one expected error per kind
 * of broken file, atomic saves under injected failures and under SIGKILL, and files written and
 * read by independent Python programs (test/fixtures/*.py, standard library only).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as nodeFs from "node:fs";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Network, type Task } from "../src/graph/network.js";
import { writeFileAtomic, type AtomicFs } from "../src/io/atomic.js";
import { modelFromJson, networkFromJson, networkToJson } from "../src/io/json-format.js";
import { encodeModel, loadModel, loadNetwork, modelFormatOf, saveNetwork } from "../src/io/model-file.js";
import { modelFromSafetensors, networkFromSafetensors, networkToSafetensors } from "../src/io/safetensors.js";
import { GraphError, ModelFileError, SparsewireError, UsageError } from "../src/util/errors.js";
import { Rng } from "../src/util/rng.js";

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/test
const FIXTURES = join(HERE, "..", "..", "test", "fixtures");
const ALPHABET = "abcdefghijklmnopqrstuvwxyz ";

function makeNetwork(seed: number, o: { neurons: number; inputs: number; outputs: number; inDegree: number; task?: Task }): Network {
  const net = Network.random(o, new Rng(seed));
  const rng = new Rng(seed + 7);
  for (let i = o.inputs; i < o.neurons; i++) net.biases[i] = 0.3 * rng.nextNormal();
  return net;
}

const small = (seed = 1): Network => makeNetwork(seed, { neurons: 60, inputs: 20, outputs: 5, inDegree: 4 });
const thesisTask: Task = { kind: "next-symbol", alphabet: ALPHABET, context: 20 };
const thesis = (seed = 2): Network => makeNetwork(seed, { neurons: 1700, inputs: 540, outputs: 27, inDegree: 29, task: thesisTask });

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Same graph, same parameters bit for bit (so -0 and NaN payloads count), same task and order. */
function assertSameNetwork(actual: Network, expected: Network): void {
  assert.equal(actual.neurons, expected.neurons);
  assert.equal(actual.inputs, expected.inputs);
  assert.equal(actual.outputs, expected.outputs);
  assert.equal(actual.inDegree, expected.inDegree);
  assert.deepEqual(actual.sources, expected.sources);
  assert.deepEqual(bits(actual.weights), bits(expected.weights));
  assert.deepEqual(bits(actual.biases), bits(expected.biases));
  assert.deepEqual(actual.task, expected.task);
  assert.deepEqual(actual.order, expected.order);
  assert.deepEqual(actual.levels, expected.levels);
}

function tempFolder(): string {
  return mkdtempSync(join(tmpdir(), "sparsewire-io-"));
}

/** Runs `f`, expecting an error of `kind` whose one-line message matches `pattern`. */
function expectError(f: () => unknown, kind: new (...args: never[]) => Error, pattern: RegExp, label: string): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `${label}: no error thrown`);
  assert.ok(caught instanceof kind, `${label}: expected ${kind.name}, got ${String(caught)}`);
  const message = (caught as Error).message;
  assert.match(message, pattern, `${label}: message ${JSON.stringify(message)}`);
  assert.ok(!message.includes("\n"), `${label}: message is not one line: ${JSON.stringify(message)}`);
}

// ---------------------------------------------------------------------------------------------
// Round trips

for (const [label, make] of [["k=60 n=20 m=5 d=4", small], ["thesis size k=1700 n=540 m=27 d=29", thesis]] as const) {
  test(`JSON round trip is bit-exact (${label})`, () => {
    const net = make();
    const back = networkFromJson(networkToJson(net));
    assertSameNetwork(back, net);
  });
  test(`safetensors round trip is bit-exact (${label})`, () => {
    const net = make();
    const bytes = networkToSafetensors(net);
    assertSameNetwork(networkFromSafetensors(bytes), net);
    // The header is padded to a multiple of 8, so the data buffer is 8-aligned.
    assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
  });
}

test("every kind of float32 survives both formats bit for bit (-0, subnormals, extremes, random bit patterns)", () => {
  const net = small(3);
  const special = [-0, 0, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754942106924411e-38, 1.1754943508222875e-38, 3.4028234663852886e38, -3.4028234663852886e38, Math.fround(0.1), Math.fround(1 / 3), Math.fround(-2.5e-20), 1, -1];
  const w = net.weights;
  for (let p = 0; p < special.length; p++) w[p] = special[p]!;
  // Random finite bit patterns for the rest: every exponent, every mantissa.
  const rng = new Rng(99);
  const u = bits(w);
  for (let p = special.length; p < w.length; p++) {
    do u[p] = rng.nextUint32();
    while (!Number.isFinite(w[p]!));
  }
  net.biases[net.inputs] = -0;
  net.biases[net.inputs + 1] = 1.401298464324817e-45;
  net.biases[net.inputs + 2] = -3.4028234663852886e38;
  const json = networkToJson(net);
  assert.match(json, /\[-0\.0, 0, 1\.401298464324817e-45, /);
  assertSameNetwork(networkFromJson(json), net);
  assertSameNetwork(networkFromSafetensors(networkToSafetensors(net)), net);
});

test("rows keep their edge order and a non-index topological order survives", () => {
  // Neuron 3 feeds neuron 2: the evaluation order is not the index order.
  const net = Network.fromArrays({
    neurons: 5, inputs: 2, outputs: 1, inDegree: 2,
    sources: Int32Array.from([1, 3, /*3*/ 1, 0, /*4*/ 2, 0]),
    weights: Float32Array.from([0.5, -0.25, 2, 3, 4, 5]),
    biases: Float32Array.from([0, 0, 0.1, 0.2, 0.3]),
  });
  assertSameNetwork(networkFromJson(networkToJson(net)), net);
  assertSameNetwork(networkFromSafetensors(networkToSafetensors(net)), net);
  assert.deepEqual([...net.order], [3, 2, 4]);
});

test("task and training metadata are kept in both formats; unknown JSON keys are ignored", () => {
  const net = makeNetwork(4, { neurons: 100, inputs: 54, outputs: 27, inDegree: 3, task: { kind: "next-symbol", alphabet: ALPHABET, context: 2 } });
  const training = { step: 1234, lossBits: 2.25, optimizer: { kind: "adam", learningRate: 0.001 } };
  const fromJson = modelFromJson(networkToJson(net, { training }));
  assert.deepEqual(fromJson.training, training);
  assertSameNetwork(fromJson.network, net);
  const fromSt = modelFromSafetensors(networkToSafetensors(net, { training }));
  assert.deepEqual(fromSt.training, training);
  assertSameNetwork(fromSt.network, net);
  assert.equal(modelFromJson(networkToJson(net)).training, undefined);

  const classify = makeNetwork(5, { neurons: 40, inputs: 12, outputs: 3, inDegree: 2, task: { kind: "classification", classes: 3, inputShape: [3, 4] } });
  assert.deepEqual(networkFromJson(networkToJson(classify)).task, classify.task);
  assert.deepEqual(networkFromSafetensors(networkToSafetensors(classify)).task, classify.task);

  const doc = JSON.parse(networkToJson(small())) as Record<string, unknown>;
  doc["comment"] = "from another program";
  doc["extra"] = { nested: [1, 2] };
  assertSameNetwork(networkFromJson(JSON.stringify(doc)), small());
});

test("writers refuse what the readers would refuse (non-finite weights, a task that does not fit)", () => {
  const net = small();
  net.weights[5] = NaN;
  expectError(() => networkToJson(net), ModelFileError, /cannot save as JSON: neuron 21 edge 1 has weight NaN/, "NaN JSON");
  expectError(() => networkToSafetensors(net), ModelFileError, /cannot save as safetensors: neuron 21 edge 1 has weight NaN/, "NaN safetensors");
  const mismatched = small();
  mismatched.task = thesisTask;
  expectError(() => networkToJson(mismatched), ModelFileError, /needs 27·20 = 540 inputs, but the network has 20/, "task");
});

// ---------------------------------------------------------------------------------------------
// Broken JSON files

type Doc = Record<string, unknown> & { sources: unknown[][]; weights: unknown[][]; biases: unknown[]; task: Record<string, unknown> };

/** A neuron whose sources include another non-input, for building a cycle. */
function cycleEdit(net: Network): (d: Doc) => void {
  for (let j = net.inputs; j < net.neurons; j++) {
    for (let e = 0; e < net.inDegree; e++) {
      const i = net.sources[net.rowOf(j) + e]!;
      if (i < net.inputs) continue;
      // i feeds j; make j feed i through i's first edge (j is not yet among i's sources: i < j).
      return (d) => {
        d.sources[i]![0] = j;
      };
    }
  }
  throw new Error("test network has no edge between non-inputs");
}

test("every broken JSON model gets its own one-line error naming the file and the field", () => {
  const net = small();
  const text = networkToJson(net);
  const valid = (): Doc => JSON.parse(text) as Doc;
  const edit = (f: (d: Doc) => void, replace?: [string, string]): string => {
    const d = valid();
    f(d);
    let t = JSON.stringify(d);
    if (replace) t = t.replace(replace[0], replace[1]);
    return t;
  };
  const cases: [string, string, typeof ModelFileError | typeof GraphError, RegExp][] = [
    ["malformed", text.replace(`"version": 1,`, `"version": 1,,`), ModelFileError, /^model\.json: invalid JSON: line 3, column 16 \(position \d+\): expected a property name in double quotes, got ","$/],
    ["garbage after", text + "x", ModelFileError, /invalid JSON: line \d+, column 1 \(position \d+\): unexpected "x" after the end of the JSON value/],
    ["bad literal", text.replace(`"version": 1`, `"version": tru`), ModelFileError, /invalid JSON: line 3, column 14 .*expected a value, got "t"/],
    ["empty", "", ModelFileError, /invalid JSON: the text ends at line 1, column 1 \(position 0\) before the value is complete: the file looks truncated/],
    ["top level array", "[1, 2]", ModelFileError, /the top level must be a JSON object, got an array/],
    ["format", edit((d) => (d["format"] = "foo")), ModelFileError, /^model\.json: "format" must be "sparsewire\.network", got "foo"$/],
    ["no format", edit((d) => delete d["format"]), ModelFileError, /missing "format" \(expected "sparsewire\.network"\): not a sparsewire model file/],
    ["version 2", edit((d) => (d["version"] = 2)), ModelFileError, /^model\.json: unsupported version 2 \(this sparsewire reads version 1\)$/],
    ["version string", edit((d) => (d["version"] = "1")), ModelFileError, /"version" must be an integer, got a string \("1"\)/],
    ["activation", edit((d) => (d["activation"] = "tanh")), ModelFileError, /unsupported "activation" "tanh" \(this sparsewire evaluates "relu" only\)/],
    ["no neurons", edit((d) => delete d["neurons"]), ModelFileError, /missing "neurons"/],
    ["neurons string", edit((d) => (d["neurons"] = "60")), ModelFileError, /"neurons" must be a positive integer, got a string \("60"\)/],
    ["inputs zero", edit((d) => (d["inputs"] = 0)), ModelFileError, /"inputs" must be a positive integer, got a number \(0\)/],
    ["too many outputs", edit((d) => (d["outputs"] = 50)), ModelFileError, /60 "neurons" cannot hold 20 "inputs" and 50 "outputs"/],
    ["task kind", edit((d) => (d.task["kind"] = "regression")), ModelFileError, /"task"\."kind" must be "next-symbol", "classification" or "none", got "regression"/],
    ["task context", edit((d) => (d["task"] = { kind: "next-symbol", alphabet: ALPHABET, context: 0 })), ModelFileError, /"task"\."context" must be a positive integer, got a number \(0\)/],
    ["task mismatch", edit((d) => (d["task"] = { kind: "next-symbol", alphabet: ALPHABET, context: 20 })), ModelFileError, /task next-symbol with 27 symbols and context 20 needs 27·20 = 540 inputs, but the network has 20/],
    ["no sources", edit((d) => delete (d as Record<string, unknown>)["sources"]), ModelFileError, /missing "sources"/],
    ["sources object", edit((d) => ((d as Record<string, unknown>)["sources"] = {})), ModelFileError, /"sources" must be an array with one row per neuron, got an object/],
    ["rows missing", edit((d) => d.weights.pop()), ModelFileError, /"weights" has 59 rows, expected one per neuron \(neurons = 60\)/],
    ["short weight row", edit((d) => d.weights[40]!.pop()), ModelFileError, /^model\.json: "weights"\[40\] has 3 entries, expected in-degree 4 \(same as "sources"\[40\]\)$/],
    ["short source row", edit((d) => d.sources[41]!.pop()), ModelFileError, /"sources"\[41\] has 3 entries, expected in-degree 4 \(from "inDegree"\)/],
    ["row not array", edit((d) => ((d.weights as unknown[])[30] = 5)), ModelFileError, /"weights"\[30\] must be an array of numbers, got a number \(5\)/],
    ["input with in-edges", edit((d) => { d.sources[3] = [1]; d.weights[3] = [0.5]; }), ModelFileError, /"sources"\[3\] must be \[\] because neuron 3 is an input \(inputs have no in-edges\), got 1 entries/],
    ["fractional source", edit((d) => (d.sources[40]![1] = 1.5)), ModelFileError, /"sources"\[40\]\[1\] must be an integer neuron index, got a number \(1\.5\)/],
    ["string source", edit((d) => (d.sources[40]![1] = "7")), ModelFileError, /"sources"\[40\]\[1\] must be an integer neuron index, got a string \("7"\)/],
    ["huge source", edit((d) => (d.sources[40]![1] = 1e10)), ModelFileError, /"sources"\[40\]\[1\] is 10000000000, outside 0\.\.59/],
    ["infinite weight", edit((d) => (d.weights[40]![2] = 123456.75), ["123456.75", "1e999"]), ModelFileError, /^model\.json: "weights"\[40\]\[2\] is Infinity, not a finite number$/],
    ["float32 overflow", edit((d) => (d.weights[40]![2] = 1e39)), ModelFileError, /"weights"\[40\]\[2\] is 1e\+39, outside the float32 range/],
    ["null weight", edit((d) => (d.weights[40]![2] = null)), ModelFileError, /"weights"\[40\]\[2\] must be a number, got null/],
    ["biases short", edit((d) => d.biases.pop()), ModelFileError, /"biases" has 59 entries, expected one per neuron \(neurons = 60\)/],
    ["infinite bias", edit((d) => (d.biases[44] = 123456.75), ["123456.75", "-1e999"]), ModelFileError, /"biases"\[44\] is -Infinity, not a finite number/],
    ["input bias", edit((d) => (d.biases[3] = 0.5)), GraphError, /^model\.json: input neuron 3: bias is 0\.5; inputs have no bias/],
    ["training", edit((d) => (d["training"] = "yes")), ModelFileError, /"training" must be an object, got a string/],
    ["cycle", edit(cycleEdit(net)), GraphError, /^model\.json: neuron \d+: edge from \d+ closes a cycle \(\d+ → \d+ → \d+\)$/],
    ["duplicate edge", edit((d) => (d.sources[40]![1] = d.sources[40]![0])), GraphError, /^model\.json: neuron 40: edge 1 from \d+ duplicates an earlier edge from \d+$/],
    ["self-loop", edit((d) => (d.sources[40]![0] = 40)), GraphError, /^model\.json: neuron 40: edge 0 is a self-loop$/],
    ["source too large", edit((d) => (d.sources[40]![0] = 60)), GraphError, /^model\.json: neuron 40: edge 0 has source 60, outside 0\.\.59$/],
    ["negative source", edit((d) => (d.sources[40]![0] = -1)), GraphError, /neuron 40: edge 0 has source -1, outside 0\.\.59/],
  ];
  // Truncated at several places: always "truncated", never a wrong network.
  for (const cut of [1, 10, 100, Math.floor(text.length / 3), Math.floor(text.length / 2), text.length - 3, text.length - 2]) {
    cases.push([`cut at ${cut}`, text.slice(0, cut), ModelFileError, /^model\.json: invalid JSON: the text ends at line \d+, column \d+ \(position \d+\) .*: the file looks truncated$/]);
  }
  assert.doesNotThrow(() => networkFromJson(text, "model.json"));
  for (const [label, broken, kind, pattern] of cases) expectError(() => networkFromJson(broken, "model.json"), kind, pattern, label);
});

// ---------------------------------------------------------------------------------------------
// Broken safetensors files

interface Container {
  header: Record<string, Record<string, unknown>>;
  data: Uint8Array;
}

function unpack(bytes: Uint8Array): Container {
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size))) as Container["header"];
  return { header, data: bytes.slice(8 + size) };
}

function pack(c: Container, rawHeader?: Uint8Array): Uint8Array {
  const h = rawHeader ?? new TextEncoder().encode(JSON.stringify(c.header));
  const out = new Uint8Array(8 + h.length + c.data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(c.data, 8 + h.length);
  return out;
}

test("every broken safetensors model gets its own one-line error naming the file and the problem", () => {
  const net = small();
  const bytes = networkToSafetensors(net);
  const edit = (f: (c: Container) => void): Uint8Array => {
    const c = unpack(bytes);
    f(c);
    return pack(c);
  };
  const meta = (c: Container): Record<string, unknown> => c.header["__metadata__"]!;
  const tensorData = (c: Container, name: string): DataView => {
    const [begin] = c.header[name]!["data_offsets"] as [number, number];
    return new DataView(c.data.buffer, c.data.byteOffset + begin);
  };
  const E = 40 * 4 * 4; // bytes of sources (and of weights): 40 rows × 4 edges × 4 bytes
  const withHeaderLength = (n: bigint): Uint8Array => {
    const b = bytes.slice();
    new DataView(b.buffer).setBigUint64(0, n, true);
    return b;
  };
  const cases: [string, Uint8Array, typeof ModelFileError | typeof GraphError, RegExp][] = [
    ["header larger than file", withHeaderLength(BigInt(bytes.length)), ModelFileError, /^model\.safetensors: header length \d+ is larger than the \d+ bytes after the length field: the file is truncated or not safetensors$/],
    ["header length huge", withHeaderLength(1n << 40n), ModelFileError, /header length 1099511627776 exceeds the safetensors limit of 100000000 bytes/],
    ["header length 1", withHeaderLength(1n), ModelFileError, /header length 1 is too small/],
    ["header not UTF-8", pack(unpack(bytes), Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])), ModelFileError, /the header \(bytes 8\.\.12\) is not valid UTF-8/],
    ["header not JSON", pack(unpack(bytes), new TextEncoder().encode('{"sources": nope}')), ModelFileError, /the header is not valid JSON: line 1, column 13 \(position 12\): expected a value, got "n"/],
    ["header an array", pack(unpack(bytes), new TextEncoder().encode("[1, 2]  ")), ModelFileError, /the header must be a JSON object, got an array/],
    ["wrong dtype", edit((c) => (c.header["weights"]!["dtype"] = "I32")), ModelFileError, /^model\.safetensors: tensor "weights" has dtype I32, expected F32 or F64$/],
    ["half-precision biases", edit((c) => { c.header["biases"]!["dtype"] = "BF16"; c.header["biases"]!["shape"] = [120]; }), ModelFileError, /tensor "biases" has dtype BF16, expected F32 or F64/],
    ["float sources", edit((c) => (c.header["sources"]!["dtype"] = "F32")), ModelFileError, /tensor "sources" has dtype F32, expected I32 or I64/],
    ["unknown dtype", edit((c) => (c.header["weights"]!["dtype"] = "F17")), ModelFileError, /tensor "weights": unknown dtype "F17"/],
    ["wrong shape", edit((c) => (c.header["weights"]!["shape"] = [40, 2, 2])), ModelFileError, /^model\.safetensors: tensor "weights" has shape \[40, 2, 2\], expected \[40, 4\] \(same as "sources"\)$/],
    ["sources shape", edit((c) => (c.header["sources"]!["shape"] = [20, 8])), ModelFileError, /tensor "sources" has shape \[20, 8\], expected \[neurons - inputs, inDegree\] = \[40, 4\] \("__metadata__"\."inDegree" = 4\)/],
    ["biases shape", edit((c) => (c.header["biases"]!["shape"] = [30, 2])), ModelFileError, /tensor "biases" has shape \[30, 2\], expected \[neurons\] = \[60\]/],
    ["shape vs bytes", edit((c) => (c.header["weights"]!["shape"] = [40, 5])), ModelFileError, /tensor "weights": shape \[40, 5\] of F32 needs 800 bytes, but "data_offsets" \[640, 1280\] hold 640/],
    ["bad offsets", edit((c) => (c.header["weights"]!["data_offsets"] = [640])), ModelFileError, /tensor "weights": "data_offsets" must be \[begin, end\] with non-negative integers, got \[640\]/],
    ["no shape", edit((c) => delete c.header["weights"]!["shape"]), ModelFileError, /tensor "weights": "shape" must be an array of non-negative integers, got undefined/],
    ["overlap", edit((c) => (c.header["weights"]!["data_offsets"] = [E - 40, 2 * E - 40])), ModelFileError, /^model\.safetensors: tensor "weights" \[600, 1240\] overlaps tensor "sources" \[0, 640\] in the data buffer$/],
    ["gap", edit((c) => {
      const d = new Uint8Array(c.data.length + 8);
      d.set(c.data.subarray(0, E));
      d.set(c.data.subarray(E), E + 8);
      c.data = d;
      c.header["weights"]!["data_offsets"] = [E + 8, 2 * E + 8];
      c.header["biases"]!["data_offsets"] = [2 * E + 8, 2 * E + 8 + 240];
    }), ModelFileError, /gap in the data buffer between byte 640 and 648 \(before tensor "weights"\): safetensors tensors must be contiguous/],
    ["trailing bytes", edit((c) => { const d = new Uint8Array(c.data.length + 4); d.set(c.data); c.data = d; }), ModelFileError, /the data buffer has 1524 bytes but the tensors cover 1520: 4 unexpected trailing bytes/],
    ["missing tensor", edit((c) => { delete c.header["biases"]; c.data = c.data.slice(0, 2 * E); }), ModelFileError, /missing tensor "biases" \(the file has "sources", "weights"\)/],
    ["no metadata", edit((c) => delete c.header["__metadata__"]), ModelFileError, /missing "__metadata__": a safetensors file, but not a sparsewire model/],
    ["metadata number", edit((c) => (meta(c)["neurons"] = 60)), ModelFileError, /"__metadata__"\."neurons" must be a string \(safetensors metadata maps strings to strings\), got a number \(60\)/],
    ["format", edit((c) => (meta(c)["format"] = "foo")), ModelFileError, /^model\.safetensors: "__metadata__"\."format" must be "sparsewire\.network", got "foo"$/],
    ["version 2", edit((c) => (meta(c)["version"] = "2")), ModelFileError, /^model\.safetensors: unsupported version 2 \(this sparsewire reads version 1\)$/],
    ["version text", edit((c) => (meta(c)["version"] = "one")), ModelFileError, /"__metadata__"\."version" must be an integer, got a string \("one"\)/],
    ["neurons text", edit((c) => (meta(c)["neurons"] = "6e1")), ModelFileError, /"__metadata__"\."neurons" must be a positive integer, got a string \("6e1"\)/],
    ["task not JSON", edit((c) => (meta(c)["task"] = "{kind: none}")), ModelFileError, /"__metadata__"\."task" must hold JSON text, but it is invalid: line 1, column 2/],
    ["task kind", edit((c) => (meta(c)["task"] = '{"kind":"x"}')), ModelFileError, /"__metadata__"\."task"\."kind" must be "next-symbol", "classification" or "none", got "x"/],
    ["NaN weight", edit((c) => tensorData(c, "weights").setFloat32(4 * 5, NaN, true)), ModelFileError, /^model\.safetensors: tensor "weights": neuron 21 edge 1 is NaN, not a finite number$/],
    ["infinite bias", edit((c) => tensorData(c, "biases").setFloat32(4 * 30, -Infinity, true)), ModelFileError, /tensor "biases": neuron 30 is -Infinity, not a finite number/],
    ["input bias", edit((c) => tensorData(c, "biases").setFloat32(4 * 3, 0.5, true)), GraphError, /^model\.safetensors: input neuron 3: bias is 0\.5; inputs have no bias/],
    ["self-loop", edit((c) => tensorData(c, "sources").setInt32(0, 20, true)), GraphError, /^model\.safetensors: neuron 20: edge 0 is a self-loop$/],
    ["duplicate edge", edit((c) => { const v = tensorData(c, "sources"); v.setInt32(4 * 41, v.getInt32(4 * 40, true), true); }), GraphError, /^model\.safetensors: neuron 30: edge 1 from \d+ duplicates an earlier edge/],
    ["out of range", edit((c) => tensorData(c, "sources").setInt32(4 * 6, 60, true)), GraphError, /^model\.safetensors: neuron 21: edge 2 has source 60, outside 0\.\.59$/],
    ["cycle", edit((c) => {
      const v = tensorData(c, "sources");
      // Find i -> j between non-inputs, then make j feed i through i's first edge.
      for (let p = 0; p < 160; p++) {
        const i = v.getInt32(4 * p, true);
        if (i >= 20) {
          v.setInt32(4 * (i - 20) * 4, 20 + Math.floor(p / 4), true);
          return;
        }
      }
    }), GraphError, /^model\.safetensors: neuron \d+: edge from \d+ closes a cycle/],
  ];
  // Truncated anywhere: inside the length, the header or the data.
  const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  for (const [cut, pattern] of [
    [0, /the file is 0 bytes, too short for the 8-byte header length/],
    [5, /the file is 5 bytes, too short/],
    [8, /header length \d+ is larger than the 0 bytes after the length field: the file is truncated/],
    [100, /header length \d+ is larger than the 92 bytes after the length field: the file is truncated/],
    [headerEnd - 1, /is larger than .*: the file is truncated/],
    [headerEnd, /tensor "sources" "data_offsets" \[0, 640\] run past the end of the 0-byte data buffer: the file is truncated/],
    [headerEnd + 700, /tensor "weights" "data_offsets" \[640, 1280\] run past the end of the 700-byte data buffer: the file is truncated/],
    [bytes.length - 1, /tensor "biases" "data_offsets" \[1280, 1520\] run past the end of the 1519-byte data buffer: the file is truncated/],
  ] as const) {
    cases.push([`cut at ${cut}`, bytes.slice(0, cut), ModelFileError, pattern]);
  }
  assert.doesNotThrow(() => networkFromSafetensors(bytes, "model.safetensors"));
  for (const [label, broken, kind, pattern] of cases) expectError(() => networkFromSafetensors(broken, "model.safetensors"), kind, pattern, label);
});

test("safetensors from other writers: I64 sources, F64 parameters, unpadded header, other order, unaligned bytes", () => {
  const net = small(6);
  const k = net.neurons;
  const rows = k - net.inputs;
  const d = net.inDegree;
  const data = new Uint8Array(8 * k + 8 * rows * d * 2);
  const view = new DataView(data.buffer);
  // Buffer order biases, sources, weights (ours is sources, weights, biases).
  for (let i = 0; i < k; i++) view.setFloat64(8 * i, net.biases[i]!, true);
  for (let p = 0; p < rows * d; p++) view.setBigInt64(8 * k + 8 * p, BigInt(net.sources[p]!), true);
  for (let p = 0; p < rows * d; p++) view.setFloat64(8 * k + 8 * rows * d + 8 * p, net.weights[p]!, true);
  const header = {
    weights: { dtype: "F64", shape: [rows, d], data_offsets: [8 * k + 8 * rows * d, data.length] },
    biases: { dtype: "F64", shape: [k], data_offsets: [0, 8 * k] },
    sources: { dtype: "I64", shape: [rows, d], data_offsets: [8 * k, 8 * k + 8 * rows * d] },
    extra: { dtype: "U8", shape: [0], data_offsets: [data.length, data.length] },
    __metadata__: { format: "sparsewire.network", version: "1", neurons: String(k), inputs: "20", outputs: "5", task: '{"kind":"none"}' },
  };
  const file = pack({ header, data }, new TextEncoder().encode(JSON.stringify(header) + "   ")); // 3 spaces: not a multiple of 8
  // Unaligned: the file starts at an odd byte offset of its ArrayBuffer.
  const shifted = new Uint8Array(file.length + 1).subarray(1);
  shifted.set(file);
  assertSameNetwork(networkFromSafetensors(shifted), net);

  const big = pack({ header, data: data.slice() });
  new DataView(big.buffer).setBigInt64(8 + JSON.stringify(header).length + 8 * k, 1n << 40n, true);
  expectError(() => networkFromSafetensors(big, "x.safetensors"), ModelFileError, /tensor "sources": neuron 20 edge 0 has source 1099511627776, outside 0\.\.59/, "I64 range");
});

// ---------------------------------------------------------------------------------------------
// Files on disk

test("saveNetwork/loadNetwork pick the format by extension and leave no temporary files", () => {
  const folder = tempFolder();
  try {
    const net = small(8);
    for (const name of ["model.json", "model.safetensors", "UPPER.JSON"]) {
      const path = join(folder, name);
      saveNetwork(path, net, { training: { step: 3 } });
      assertSameNetwork(loadNetwork(path), net);
      assert.deepEqual(loadModel(path).training, { step: 3 });
      // Saving again replaces the file.
      const other = small(9);
      saveNetwork(path, other);
      assertSameNetwork(loadNetwork(path), other);
    }
    assert.equal(readFileSync(join(folder, "model.json"), "utf8").slice(0, 1), "{");
    assert.equal(readFileSync(join(folder, "model.safetensors")).subarray(8, 9)[0], 0x7b);
    assert.deepEqual(readdirSync(folder).sort(), ["UPPER.JSON", "model.json", "model.safetensors"]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test("file errors: unknown extension, missing file, missing folder, a folder, broken contents name the path", () => {
  const folder = tempFolder();
  try {
    const net = small();
    expectError(() => saveNetwork(join(folder, "model.bin"), net), UsageError, /^unknown model file extension '\.bin': use \.json or \.safetensors$/, "save .bin");
    expectError(() => loadNetwork(join(folder, "model.bin")), UsageError, /^unknown model file extension '\.bin': use \.json or \.safetensors$/, "load .bin");
    expectError(() => loadNetwork(join(folder, "model")), UsageError, /has no extension: use \.json or \.safetensors/, "no extension");
    const missing = join(folder, "missing.json");
    expectError(() => loadNetwork(missing), SparsewireError, new RegExp(`^model file not found: ${escape(missing)}$`), "missing file");
    const noFolder = join(folder, "no", "such", "model.json");
    expectError(() => saveNetwork(noFolder, net), SparsewireError, new RegExp(`^cannot save ${escape(noFolder)}: folder ${escape(join(folder, "no", "such"))} does not exist$`), "missing folder");
    mkdirSync(join(folder, "dir.json"));
    expectError(() => loadNetwork(join(folder, "dir.json")), SparsewireError, /dir\.json is a folder, not a model file/, "folder load");
    expectError(() => saveNetwork(join(folder, "dir.json"), net), SparsewireError, /cannot save .*dir\.json: replacing it failed \(.*dir\.json is a folder\); the previous file is unchanged/, "folder save");
    const broken = join(folder, "broken.json");
    writeFileSync(broken, networkToJson(net).slice(0, 500));
    expectError(() => loadNetwork(broken), ModelFileError, new RegExp(`^${escape(broken)}: invalid JSON: the text ends at .* the file looks truncated$`), "truncated on disk");
    const binary = join(folder, "binary.json");
    writeFileSync(binary, Uint8Array.from([0x7b, 0xff, 0x7d]));
    expectError(() => loadNetwork(binary), ModelFileError, /binary\.json: not valid UTF-8 text/, "binary json");
    assert.deepEqual(readdirSync(folder).sort(), ["binary.json", "broken.json", "dir.json"]);
    // File-system failures carry the "io" code; broken contents "model-file" or "graph".
    assert.throws(() => loadNetwork(missing), (e: unknown) => e instanceof SparsewireError && e.code === "io");
    assert.throws(() => saveNetwork(noFolder, net), (e: unknown) => e instanceof SparsewireError && e.code === "io");
    assert.throws(() => loadNetwork(broken), (e: unknown) => e instanceof SparsewireError && e.code === "model-file");
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Real file system calls, except that `failAt` throws like the OS would. */
function failingFs(failAt: "open" | "write" | "fsync" | "close" | "rename" | "never", code: string, shortWrites = false): AtomicFs & { writes: number } {
  let writes = 0;
  const fail = (): never => {
    throw Object.assign(new Error(`${code}: simulated failure`), { code });
  };
  const fs = {
    get writes() {
      return writes;
    },
    openSync: (path: string, flags: string, mode?: number): number => (failAt === "open" ? fail() : nodeFs.openSync(path, flags, mode)),
    writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number): number => {
      writes++;
      if (failAt === "write" && writes === 2) fail(); // the first MiB is already in the file
      return nodeFs.writeSync(fd, buffer, offset, shortWrites ? Math.min(length, 1000) : length);
    },
    fsyncSync: (fd: number): void => {
      if (failAt === "fsync") {
        // Only the data file's fsync fails, not the folder's (that one comes after the rename).
        const isFolder = nodeFs.fstatSync(fd).isDirectory();
        if (!isFolder) fail();
      }
      nodeFs.fsyncSync(fd);
    },
    closeSync: (fd: number): void => {
      nodeFs.closeSync(fd);
      if (failAt === "close") fail();
    },
    renameSync: (from: string, to: string): void => (failAt === "rename" ? fail() : nodeFs.renameSync(from, to)),
    unlinkSync: (path: string): void => nodeFs.unlinkSync(path),
  };
  return fs;
}

test("a save that fails at any step leaves the old file intact and no temporary file", () => {
  const folder = tempFolder();
  try {
    const path = join(folder, "model.safetensors");
    const old = small(10);
    saveNetwork(path, old);
    const oldBytes = readFileSync(path);
    const big = new Uint8Array(3 * (1 << 20) + 17).fill(0x41); // several 1 MiB chunks
    const cases = [
      ["open", "EACCES", /cannot save .*: no permission to create files in /],
      ["write", "ENOSPC", /cannot save .*: writing the temporary file failed \(the disk is full\); the previous file is unchanged/],
      ["fsync", "EIO", /cannot save .*: writing the temporary file failed \(EIO: simulated failure\); the previous file is unchanged/],
      ["close", "EIO", /cannot save .*: closing the temporary file failed/],
      ["rename", "EXDEV", /cannot save .*: replacing it failed \(EXDEV: simulated failure\); the previous file is unchanged/],
    ] as const;
    for (const [step, code, pattern] of cases) {
      const fs = failingFs(step, code);
      expectError(() => writeFileAtomic(path, big, fs), SparsewireError, pattern, `fail at ${step}`);
      if (step === "write") assert.equal(fs.writes, 2, "the failure came after a first chunk was written");
      assert.deepEqual(readFileSync(path), oldBytes, `after failing at ${step}: old file changed`);
      assert.deepEqual(readdirSync(folder), ["model.safetensors"], `after failing at ${step}: temporary file left`);
      assertSameNetwork(loadNetwork(path), old);
    }
    // Short writes are continued, not mistaken for success.
    writeFileAtomic(path, big, failingFs("never", "", true));
    assert.deepEqual(new Uint8Array(readFileSync(path)), big);
    assert.deepEqual(readdirSync(folder), ["model.safetensors"]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test("a save killed with SIGKILL at any moment leaves the old or the new network, never a partial file", async () => {
  const folder = tempFolder();
  const payloads = tempFolder();
  const atomicUrl = new URL("../src/io/atomic.js", import.meta.url).href;
  // The child reads the new file's bytes, says "saving", then replaces the target atomically:
  // everything it does after "saving" is the save itself, so the kill times below cover it.
  const child = `
    import { readFileSync } from "node:fs";
    import { writeFileAtomic } from ${JSON.stringify(atomicUrl)};
    const [path, payload] = process.argv.slice(1);
    const data = readFileSync(payload);
    process.stdout.write("saving\\n");
    const t0 = performance.now();
    writeFileAtomic(path, data);
    process.stdout.write("done " + (performance.now() - t0) + "\\n");
  `;
  const run = (path: string, payload: string, killAfterMs: number | undefined): Promise<{ killed: boolean; writeMs: number }> =>
    new Promise((resolvePromise, reject) => {
      const p = spawn(process.execPath, ["--input-type=module", "-e", child, path, payload], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      p.stdout.on("data", (chunk: Buffer) => {
        const first = out === "";
        out += chunk.toString();
        if (first && killAfterMs !== undefined) setTimeout(() => p.kill("SIGKILL"), killAfterMs);
      });
      p.on("error", reject);
      p.on("close", (code, signal) => {
        const m = /done ([0-9.]+)/.exec(out);
        if (signal === "SIGKILL") resolvePromise({ killed: !m, writeMs: 0 });
        else if (code === 0 && m) resolvePromise({ killed: false, writeMs: Number(m[1]) });
        else reject(new Error(`child exited with ${code}: ${out}`));
      });
    });
  try {
    // Big enough that writing takes a few milliseconds (about 3 MB safetensors, 12 MB JSON).
    const shape = { neurons: 12000, inputs: 540, outputs: 27, inDegree: 29 };
    const oldNet = Network.random(shape, new Rng(1));
    const newNet = Network.random(shape, new Rng(2));
    for (const name of ["model.safetensors", "model.json"]) {
      const path = join(folder, name);
      const payload = join(payloads, name);
      saveNetwork(payload, newNet);
      const newBytes = readFileSync(payload);
      const oldBytes = Buffer.from(encodeModel(oldNet, modelFormatOf(name)));
      // Calibrate: how long does the save itself take on this machine?
      const { writeMs } = await run(path, payload, undefined);
      assertSameNetwork(loadNetwork(path), newNet);
      let sawOld = 0;
      let sawNew = 0;
      const iterations = 20;
      for (let it = 0; it < iterations; it++) {
        writeFileAtomic(path, oldBytes);
        // Kill times spread from before the first byte to after the rename.
        await run(path, payload, (it / (iterations - 1)) * writeMs * 1.3);
        // Byte-identical to the old or the new file (both load, as checked at the end).
        const now = readFileSync(path);
        const isNew = now.equals(newBytes);
        assert.ok(isNew || now.equals(oldBytes), `kill ${it}: ${name} is neither the old nor the new file (${now.length} bytes)`);
        if (isNew) sawNew++;
        else sawOld++;
        // A killed writer may leave its temporary file; never anything else.
        for (const f of readdirSync(folder)) {
          if (f === name || f === "model.safetensors") continue;
          assert.match(f, new RegExp(`^\\.${escape(name)}\\.tmp-\\d+-[0-9a-f]{8}$`));
          rmSync(join(folder, f));
        }
      }
      assert.equal(sawOld + sawNew, iterations);
      assertSameNetwork(loadNetwork(path), sawNew > 0 && readFileSync(path).equals(newBytes) ? newNet : oldNet);
      console.log(`${name}: save takes ${writeMs.toFixed(1)} ms; after ${iterations} kills: ${sawOld} old, ${sawNew} new, 0 partial`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
    rmSync(payloads, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Files written and read by other programs

const python = ((): string | undefined => {
  const r = spawnSync("python3", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? "python3" : undefined;
})();

interface PythonRow {
  neuron: number;
  sources: number[];
  weights: number[];
  bias: number;
}

test("a model written by an independent Python program loads, in both formats, and evaluates as Python says", { skip: python === undefined ? "python3 not found" : false }, () => {
  const folder = tempFolder();
  try {
    const out = execFileSync(python!, [join(FIXTURES, "write_model.py"), folder, "--context", "3", "--neurons", "150", "--in-degree", "5", "--seed", "7"], { encoding: "utf8" });
    const summary = JSON.parse(out) as {
      json: string; safetensors: string; neurons: number; inputs: number; outputs: number; inDegree: number;
      weightSum: number; biasSum: number; rows: PythonRow[]; evaluations: { window: string; logits: number[] }[];
    };
    const fromJson = loadModel(summary.json);
    const fromSt = loadModel(summary.safetensors);
    const net = fromJson.network;
    assertSameNetwork(fromSt.network, net);
    assert.deepEqual(fromJson.training, { writer: "write_model.py", steps: 0 });
    assert.deepEqual(fromSt.training, { writer: "write_model.py", steps: 0 });
    assert.deepEqual([net.neurons, net.inputs, net.outputs, net.inDegree], [summary.neurons, summary.inputs, summary.outputs, summary.inDegree]);
    assert.deepEqual(net.task, { kind: "next-symbol", alphabet: ALPHABET, context: 3 });
    // Same float64 additions in the same order: the sums agree exactly.
    let weightSum = 0;
    for (let p = 0; p < net.weights.length; p++) weightSum += net.weights[p]!;
    let biasSum = 0;
    for (let i = 0; i < net.neurons; i++) biasSum += net.biases[i]!;
    assert.equal(weightSum, summary.weightSum);
    assert.equal(biasSum, summary.biasSum);
    for (const row of summary.rows) {
      const base = net.rowOf(row.neuron);
      assert.deepEqual([...net.sources.subarray(base, base + net.inDegree)], row.sources);
      assert.deepEqual([...net.weights.subarray(base, base + net.inDegree)], row.weights); // deepEqual tells -0 from 0
      assert.equal(net.biases[row.neuron], row.bias);
    }
    assert.ok(Object.is(net.weights[net.rowOf(summary.rows[0]!.neuron)], -0), "Python's -0.0 arrives as -0");
    assert.equal(net.weights[net.rowOf(summary.rows[1]!.neuron)], 1.401298464324817e-45);
    // Evaluate (Def. 3.20, float64, our evaluation order) and compare with Python's logits.
    for (const { window, logits } of summary.evaluations) {
      const a = new Float64Array(net.neurons);
      for (let p = 0; p < window.length; p++) a[p * ALPHABET.length + ALPHABET.indexOf(window[p]!)] = 1;
      for (const i of net.order) {
        let sum = net.biases[i]!;
        const base = net.rowOf(i);
        for (let e = 0; e < net.inDegree; e++) {
          const s = net.sources[base + e]!;
          sum += net.weights[base + e]! * (s < net.inputs ? a[s]! : Math.max(a[s]!, 0));
        }
        a[i] = sum;
      }
      const ours = [...a.subarray(net.neurons - net.outputs)];
      for (let o = 0; o < ours.length; o++) assert.ok(Math.abs(ours[o]! - logits[o]!) <= 1e-12 * (1 + Math.abs(logits[o]!)), `window ${JSON.stringify(window)} output ${o}: ${ours[o]} vs Python ${logits[o]}`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test("files sparsewire writes are read by an independent Python reader with the safetensors rules", { skip: python === undefined ? "python3 not found" : false }, () => {
  const folder = tempFolder();
  try {
    const net = makeNetwork(12, { neurons: 200, inputs: 81, outputs: 27, inDegree: 6, task: { kind: "next-symbol", alphabet: ALPHABET, context: 3 } });
    net.weights[3] = -0;
    net.weights[4] = 1.401298464324817e-45;
    let weightSum = 0;
    for (let p = 0; p < net.weights.length; p++) weightSum += net.weights[p]!;
    let biasSum = 0;
    for (let i = 0; i < net.neurons; i++) biasSum += net.biases[i]!;
    const d = net.inDegree;
    const row = (i: number): PythonRow => ({
      neuron: i,
      sources: [...net.sources.subarray(net.rowOf(i), net.rowOf(i) + d)],
      weights: [...net.weights.subarray(net.rowOf(i), net.rowOf(i) + d)],
      bias: net.biases[i]!,
    });
    for (const name of ["py.json", "py.safetensors"]) {
      const path = join(folder, name);
      saveNetwork(path, net, { training: { step: 5 } });
      const summary = JSON.parse(execFileSync(python!, [join(FIXTURES, "read_model.py"), path], { encoding: "utf8" })) as Record<string, unknown>;
      assert.deepEqual(summary, {
        format: "sparsewire.network", version: 1, neurons: 200, inputs: 81, outputs: 27, inDegree: 6, activation: "relu",
        task: net.task, training: { step: 5 }, weightSum, biasSum, rows: [row(81), row(199)],
      }, name);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
