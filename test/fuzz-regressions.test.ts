/**
 * Issue 14 item 4, the cases fuzzing pointed at, kept as regressions: values nested deeper than
 * the stack (`[[[[…]]]]` where a loader quotes the value in its message, or in "training"
 * metadata), headers claiming 2^31 or 5·10^8 neurons (refused before anything of that size is
 * allocated), and names long enough to make a one-line message megabytes long. Each must fail
 * with a one-line SparsewireError naming the file, quickly and without large allocations.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelFromJson } from "../src/io/json-format.js";
import { encodeSafetensors, littleEndian, modelFromSafetensors } from "../src/io/safetensors.js";
import { loadModel } from "../src/io/model-file.js";
import { encodeSourceGaps, MAX_UNSTORED_INPUTS, quantizedFromJson, quantizedFromSafetensors, quantizedToSafetensors, sortedSlots } from "../src/io/quantized-format.js";
import { UsageError } from "../src/util/errors.js";
import { randomNetwork } from "./helpers.js";
import { quantizeNetwork } from "../src/compress/quantize.js";
import { decodeCheckpoint } from "../src/run/checkpoint.js";
import { attempt, editHeader, fixtureNetworks, fixtures } from "./fuzz-driver.test.js";

const DEEP = 20_000;
const deep = "[".repeat(DEEP) + "]".repeat(DEEP);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `load` must be refused with a one-line SparsewireError naming `source`, within the time and memory limits. */
async function refused(what: string, fileBytes: number, source: string, load: () => unknown): Promise<void> {
  const r = await attempt(what, fileBytes, source, load, () => "loaded, expected a refusal");
  assert.equal(r.problem, undefined, r.problem);
}

test("values nested 20,000 deep in model files are refused with one line, not a stack overflow", async () => {
  const [floatJson, floatSt, qJson, qSt] = await Promise.all([fixtures("float-json"), fixtures("float-safetensors"), fixtures("quantized-json"), fixtures("quantized-safetensors")]);
  const fj = text(floatJson[0]!.bytes);
  const cases: Array<[string, string, () => unknown]> = [
    ["float JSON \"format\"", "m.json", () => modelFromJson(fj.replace('"sparsewire.network"', deep), "m.json")],
    ["float JSON \"version\"", "m.json", () => modelFromJson(fj.replace('"version": 1', `"version": ${deep}`), "m.json")],
    ["float JSON \"activation\"", "m.json", () => modelFromJson(fj.replace('"relu"', deep), "m.json")],
    ["float JSON \"training\"", "m.json", () => modelFromJson(fj.replace('"training": {', `"training": {"deep": ${deep}, `), "m.json")],
    ["float safetensors shape", "m.st", () => modelFromSafetensors(editHeader(floatSt[0]!.bytes, (h) => h.replace(/"shape":\[\d+,\d+\]/, `"shape":${deep}`)), "m.st")],
    ["float safetensors data_offsets", "m.st", () => modelFromSafetensors(editHeader(floatSt[0]!.bytes, (h) => h.replace(/"data_offsets":\[\d+,\d+\]/, `"data_offsets":${deep}`)), "m.st")],
    ["float safetensors training", "m.st", () => modelFromSafetensors(editHeader(floatSt[0]!.bytes, (h) => h.replace('"training":"{', `"training":"{\\"deep\\":${deep},`)), "m.st")],
    ["quantised JSON \"version\"", "q.json", () => quantizedFromJson(text(qJson[0]!.bytes).replace('"version": 2', `"version": ${deep}`), "q.json")],
    ["quantised JSON \"bits\"", "q.json", () => quantizedFromJson(text(qJson[0]!.bytes).replace(/"bits":\d/, `"bits":${deep}`), "q.json")],
    ["quantised JSON \"training\"", "q.json", () => quantizedFromJson(text(qJson[0]!.bytes).replace('"training": {', `"training": {"deep": ${deep}, `), "q.json")],
    ["quantised safetensors shape", "q.st", () => quantizedFromSafetensors(editHeader(qSt[0]!.bytes, (h) => h.replace(/"shape":\[\d+,\d+\]/, `"shape":${deep}`)), "q.st")],
    ["quantised safetensors \"bits\"", "q.st", () => quantizedFromSafetensors(editHeader(qSt[0]!.bytes, (h) => h.replace(/\\"bits\\":\d/, `\\"bits\\":${deep}`)), "q.st")],
    ["quantised safetensors training", "q.st", () => quantizedFromSafetensors(editHeader(qSt[0]!.bytes, (h) => h.replace('"training":"{', `"training":"{\\"deep\\":${deep},`)), "q.st")],
  ];
  for (const [what, source, load] of cases) await refused(what, 2 * deep.length, source, load);
  // The same through the file loader (the path named).
  const path = join(mkdtempSync(join(tmpdir(), "sw-fuzz-deep-")), "deep.json");
  writeFileSync(path, fj.replace('"training": {', `"training": {"deep": ${deep}, `));
  await refused("loadModel, training", 2 * deep.length, path, () => loadModel(path));
});

test("checkpoint state nested 20,000 deep is refused with one line", async () => {
  const [ckpt] = await fixtures("checkpoint");
  const bytes = editHeader(ckpt!.bytes, (h) => h.replace(/\\"step\\":\d+/, `\\"step\\":${deep}`));
  await refused("checkpoint step", bytes.length, "c.ckpt", () => decodeCheckpoint(bytes, "c.ckpt"));
});

/** A version 2 quantised safetensors file of the fixture network with `inputs` input neurons (its edges renumbered to match). */
function quantizedWithInputs(inputs: number): Uint8Array {
  const { net } = fixtureNetworks()[2]!;
  const q = quantizeNetwork(net, { bits: 8, scale: "network", by: "max" });
  const s = sortedSlots(net, q);
  const { inputs: n, neurons: k, inDegree: d } = net;
  const K = k - n + inputs;
  const stream = encodeSourceGaps(Int32Array.from(s.sources, (x) => (x < n ? x : x - n + inputs)), K, inputs, d);
  return encodeSafetensors([
    { name: "sources", dtype: "U8", shape: [stream.length], data: stream },
    { name: "weights", dtype: "I8", shape: [k - n, d], data: new Uint8Array(s.integers.buffer.slice(0)) },
    { name: "scales", dtype: "F32", shape: [1], data: littleEndian(q.scales) },
    { name: "biases", dtype: "F32", shape: [k - n], data: littleEndian(net.biases.subarray(n)) },
  ], {
    format: "sparsewire.quantized-network", version: "2", neurons: String(K), inputs: String(inputs), outputs: String(net.outputs), inDegree: String(d), activation: "relu", task: '{"kind":"none"}',
    quantization: JSON.stringify({ bits: 8, scale: "network", by: "max", weights: "I8", sources: "U8-rice-gaps-lsb" }),
  });
}

/** A file of 20,000 neurons whose rows are all empty, claiming in-degree 19,999: 4·10^8 edges from 60 KB. */
function squareClaim(quantized: boolean): string {
  const k = 20_000;
  const rows = `[${new Array<string>(k).fill("[]").join(",")}]`;
  return JSON.stringify({
    format: quantized ? "sparsewire.quantized-network" : "sparsewire.network", version: quantized ? 2 : 1, neurons: k, inputs: 1, outputs: 1, inDegree: k - 1,
    ...(quantized ? { quantization: { bits: 8, scale: "network", by: "max" }, scales: [1] } : {}),
    sources: "S", weights: "S", biases: new Array<number>(k).fill(0),
  }).replaceAll('"S"', rows);
}

test("headers claiming 2^31 or 5·10^8 neurons are refused before allocating, in every format", async () => {
  // A quantised version 2 file stores nothing per input neuron: 700 bytes claimed 5·10^8 inputs and
  // loaded them (14 s, 7.6 GB of array buffers); 2^31 threw RangeError.
  for (const inputs of [2 ** 31 - 9, 500_000_000, 2 ** 24]) {
    const bytes = quantizedWithInputs(inputs);
    assert.ok(bytes.length < 1000);
    await refused(`quantised safetensors, ${inputs} inputs`, bytes.length, "q.st", () => quantizedFromSafetensors(bytes, "q.st"));
  }
  // A modest input layer still loads (the limit is far above any text or image task sparsewire runs).
  const ok = quantizedFromSafetensors(quantizedWithInputs(200_000), "q.st");
  assert.equal(ok.network.inputs, 200_000);
  // The writer refuses what the reader would: no file is written that cannot be loaded.
  const wide = randomNetwork(4, { neurons: MAX_UNSTORED_INPUTS + 3, inputs: MAX_UNSTORED_INPUTS + 1, outputs: 1, inDegree: 1 });
  assert.throws(() => quantizedToSafetensors(wide, quantizeNetwork(wide, { bits: 8, scale: "network", by: "max" })), (e: unknown) => e instanceof UsageError && /^cannot save 1048577 inputs as quantised safetensors: a version 2 file may declare at most 1048576$/.test(e.message));

  const huge = "2147483648";
  const [floatJson, floatSt, qJson, ckpt] = [(await fixtures("float-json"))[2]!, (await fixtures("float-safetensors"))[2]!, (await fixtures("quantized-json"))[2]!, (await fixtures("checkpoint"))[0]!];
  const qNetwork = (await fixtures("quantized-json"))[0]!;
  assert.match(text(qNetwork.bytes), /"neurons": 100,[^]*"scale":"network"/);
  const cases: Array<[string, Uint8Array, string, (b: Uint8Array) => unknown]> = [
    ["float JSON", bytesOf(text(floatJson.bytes).replace('"neurons": 12', `"neurons": ${huge}`)), "m.json", (b) => modelFromJson(text(b), "m.json")],
    ["float JSON inputs", bytesOf(text(floatJson.bytes).replace('"neurons": 12', `"neurons": ${huge}`).replace('"inputs": 3', `"inputs": 2147483638`)), "m.json", (b) => modelFromJson(text(b), "m.json")],
    ["float safetensors", editHeader(floatSt.bytes, (h) => h.replace('"neurons":"12"', `"neurons":"${huge}"`).replace(/"biases":\{"dtype":"F32","shape":\[12\]/, `"biases":{"dtype":"F32","shape":[${huge}]`)), "m.st", (b) => modelFromSafetensors(b, "m.st")],
    ["quantised JSON", bytesOf(text(qJson.bytes).replace('"neurons": 12', `"neurons": ${huge}`).replace('"inputs": 3', `"inputs": 2147483638`)), "q.json", (b) => quantizedFromJson(text(b), "q.json")],
    // These allocated (k−n)·d integers before counting the rows: RangeError, or 400 MB for 1e8.
    // (With one scale per network: a per-neuron scale list is counted first.)
    ["quantised JSON, inputs as they were", bytesOf(text(qNetwork.bytes).replace('"neurons": 100', `"neurons": ${huge}`)), "q.json", (b) => quantizedFromJson(text(b), "q.json")],
    ["quantised JSON, 1e308", bytesOf(text(qNetwork.bytes).replace('"neurons": 100', `"neurons": 1e308`)), "q.json", (b) => quantizedFromJson(text(b), "q.json")],
    ["quantised JSON, 1e8", bytesOf(text(qNetwork.bytes).replace('"neurons": 100', `"neurons": 100000000`)), "q.json", (b) => quantizedFromJson(text(b), "q.json")],
    ["quantised JSON, k² edges", bytesOf(squareClaim(true)), "q.json", (b) => quantizedFromJson(text(b), "q.json")],
    ["float JSON, k² edges", bytesOf(squareClaim(false)), "m.json", (b) => modelFromJson(text(b), "m.json")],
    ["checkpoint", editHeader(ckpt.bytes, (h) => h.replace('\\"neurons\\":100', `\\"neurons\\":${huge}`).replace('\\"inputs\\":54', `\\"inputs\\":2147483602`)), "c.ckpt", (b) => decodeCheckpoint(b, "c.ckpt")],
    ["safetensors header length 2^31", Uint8Array.from([0, 0, 0, 0x80, 0, 0, 0, 0, 0x7b, 0x7d]), "m.st", (b) => modelFromSafetensors(b, "m.st")],
  ];
  for (const [what, bytes, source, load] of cases) {
    assert.notDeepEqual(bytes, floatJson.bytes);
    await refused(what, bytes.length, source, () => load(bytes));
  }
});

test("names megabytes long give a short one-line message", async () => {
  const long = "x".repeat(1_000_000);
  const floatSt = (await fixtures("float-safetensors"))[2]!;
  const qSt = (await fixtures("quantized-safetensors"))[1]!;
  const cases: Array<[string, Uint8Array, (b: Uint8Array) => unknown]> = [
    ["tensor name", editHeader(floatSt.bytes, (h) => h.replace('"sources":{', `"${long}":7,"sources":{`)), (b) => modelFromSafetensors(b, "m.st")],
    ["metadata key", editHeader(floatSt.bytes, (h) => h.replace('"__metadata__":{', `"__metadata__":{"${long}":7,`)), (b) => modelFromSafetensors(b, "m.st")],
    ["metadata value", editHeader(floatSt.bytes, (h) => h.replace('"format":"sparsewire.network"', `"format":"${long}"`)), (b) => modelFromSafetensors(b, "m.st")],
    ["missing tensor among many", editHeader(floatSt.bytes, (h) => h.replace('"sources":{', `${Array.from({ length: 20_000 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},`).join("")}"sourcez":{`)), (b) => modelFromSafetensors(b, "m.st")],
    ["quantised extra tensor", editHeader(qSt.bytes, (h) => h.replace('"sources":{', `"${long}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"sources":{`)), (b) => quantizedFromSafetensors(b, "q.st")],
  ];
  for (const [what, bytes, load] of cases) await refused(what, bytes.length, what.startsWith("quantised") ? "q.st" : "m.st", () => load(bytes));
});
