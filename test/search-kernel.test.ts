/**
 * The search kernels through their declared interface (src/engine/search-kernel.ts): the plain and
 * the WebAssembly exact-search kernel, and the plain and the WebAssembly candidate scoring, on seeded
 * random activity with a random admissibility (random bits per pair, not a graph's: the kernels must
 * not assume one) — the same collector result bit for bit, and every pair the WebAssembly kernel
 * offers offered by the plain one with the same inner product and norms. Also the order
 * admissibility's 512-target pass with and without the engine's WebAssembly kernel. Seeds are in
 * every message. Skipped where the WebAssembly module is not loaded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { candidateScoringKernel, descendantWordsKernel, exactSearchKernel, type CandidateSink, type SearchKernel } from "../src/engine/search-kernel.js";
import { searchKernels, searchKernelStatus } from "../src/engine/wasm/search-kernels.js";
import { maskAdmissibility, orderAdmissibility, type Admissibility } from "../src/graph/admissibility.js";
import { OnlineOrder } from "../src/graph/online-order.js";
import { CandidateCollector, type GrowthCriterion, type SearchResult } from "../src/rewire/collector.js";
import type { Activity } from "../src/estimate/activity.js";
import { rowNorms } from "../src/estimate/activity.js";
import { Rng } from "../src/util/rng.js";
import { randomNetwork } from "./helpers.js";

/** One-hot inputs, ReLU(N(0,1)) outputs with silent and rarely active neurons (sparse sources), N(0,1)/S errors with error-free rows. */
function randomActivity(seed: number, k: number, n: number, S: number): Activity {
  const rng = new Rng(seed);
  const outputs = new Float32Array(k * S);
  const errors = new Float32Array(k * S);
  for (let b = 0; b < S; b++) for (let g = 0; g * 27 < n; g++) outputs[(g * 27 + rng.nextInt(Math.min(27, n - g * 27))) * S + b] = 1;
  for (let i = n; i < k; i++) {
    const kind = rng.nextInt(10); // 0: silent, 1: rarely active, else ReLU(N)
    for (let b = 0; b < S; b++) {
      const v = kind === 1 ? rng.nextNormal() - 1.8 : rng.nextNormal();
      outputs[i * S + b] = kind === 0 || v < 0 ? 0 : v;
      errors[i * S + b] = i % 11 === 0 ? 0 : rng.nextNormal() / S;
    }
  }
  return { neurons: k, inputs: n, samples: S, outputs, errors };
}

/** Random admissible pairs (each with probability `share`, never into an input), optionally a random rank. */
function randomAdmissibility(seed: number, k: number, n: number, share: number, ranked: boolean): Admissibility {
  const rng = new Rng(seed);
  const bits = new Uint8Array(k * k);
  for (let j = n; j < k; j++) for (let i = 0; i < k; i++) bits[j * k + i] = rng.nextFloat() < share ? 1 : 0;
  const fill = (j: number, into: Uint8Array) => into.set(bits.subarray(j * k, (j + 1) * k));
  if (!ranked) return maskAdmissibility(fill);
  const rank = new Int32Array(k);
  for (let i = 0; i < k; i++) rank[i] = rng.nextInt(k); // ties broken by id
  return maskAdmissibility(fill, { rank });
}

/** A collector that also records every offer, keyed by pair. */
class RecordingSink implements CandidateSink {
  readonly offers = new Map<number, [number, number, number]>();
  readonly collector: CandidateCollector;
  constructor(k: number, criterion: GrowthCriterion, top: number, perTarget: number, minScore: number) {
    this.collector = new CandidateCollector(k, criterion, top, perTarget, minScore);
  }
  get criterion() {
    return this.collector.criterion;
  }
  get top() {
    return this.collector.top;
  }
  get perTarget() {
    return this.collector.perTarget;
  }
  get minScore() {
    return this.collector.minScore;
  }
  offer(source: number, target: number, inner: number, sourceNorm: number, targetNorm: number): void {
    const key = source * 65536 + target;
    assert.ok(!this.offers.has(key), `pair ${source} → ${target} offered twice`);
    this.offers.set(key, [inner, sourceNorm, targetNorm]);
    this.collector.offer(source, target, inner, sourceNorm, targetNorm);
  }
  mayAccept(target: number, upper: number): boolean {
    return this.collector.mayAccept(target, upper);
  }
}

function assertSameResult(label: string, a: SearchResult, b: SearchResult): void {
  assert.equal(a.top.count, b.top.count, `${label}: top count`);
  for (const f of ["sources", "targets", "inner", "correlation", "score"] as const) {
    for (let r = 0; r < a.top.count; r++) assert.ok(Object.is(a.top[f][r], b.top[f][r]), `${label}: top ${f}[${r}] ${a.top[f][r]} vs ${b.top[f][r]}`);
  }
  for (const f of ["sources", "inner", "correlation", "score"] as const) {
    const x = a.perTarget[f];
    const y = b.perTarget[f];
    assert.equal(x.length, y.length, `${label}: perTarget ${f} length`);
    for (let r = 0; r < x.length; r++) assert.ok(Object.is(x[r], y[r]), `${label}: perTarget ${f}[${r}] ${x[r]} vs ${y[r]}`);
  }
}

/** Every offer of `wasm` was offered by `plain` with the same bits. */
function assertOffersContained(label: string, plain: RecordingSink, wasm: RecordingSink): void {
  for (const [key, values] of wasm.offers) {
    const want = plain.offers.get(key);
    assert.ok(want, `${label}: the WebAssembly kernel offered ${Math.floor(key / 65536)} → ${key % 65536}, the plain one did not`);
    for (let v = 0; v < 3; v++) assert.ok(Object.is(values[v], want[v]), `${label}: offer ${Math.floor(key / 65536)} → ${key % 65536} value ${v}: ${values[v]} vs ${want[v]}`);
  }
}

function kernelLoaded(t: { skip(message?: string): void }): boolean {
  searchKernels();
  const status = searchKernelStatus();
  if (!status.loaded) t.skip(`the WebAssembly search module is not loaded: ${status.reason ?? "?"}`);
  return status.loaded;
}

const VARIANTS = [
  { top: 0, perTarget: 4, minScore: 0 },
  { top: 40, perTarget: 1, minScore: 0 },
  { top: 300, perTarget: 2, minScore: 0.25 },
  { top: 5, perTarget: 0, minScore: 0 },
];

test("exact-search kernels: plain and WebAssembly give the same result through the interface (random admissibility, seeds printed)", (t) => {
  if (!kernelLoaded(t)) return;
  const plainKernel = exactSearchKernel("js");
  const wasmKernel = exactSearchKernel("wasm");
  assert.equal(plainKernel.name, "js");
  assert.equal(wasmKernel.name, "wasm");
  let compared = 0;
  for (const [index, shape] of [{ k: 150, n: 54, S: 5 }, { k: 420, n: 135, S: 37 }, { k: 800, n: 270, S: 128 }].entries()) {
    const seed = 500 + index;
    const a = randomActivity(seed, shape.k, shape.n, shape.S);
    for (const ranked of [false, true]) {
      const admissibility = randomAdmissibility(seed + 1, shape.k, shape.n, 0.4, ranked);
      const rng = new Rng(seed + 2);
      const subset = Int32Array.from(new Set(Array.from({ length: 70 }, () => shape.n + rng.nextInt(shape.k - shape.n))));
      const all = Int32Array.from({ length: shape.k - shape.n }, (_, q) => shape.n + q);
      for (const criterion of ["correlation", "gradient"] as const) {
        for (const v of VARIANTS) {
          for (const [targetsName, targets] of [["all", all], ["subset", subset]] as const) {
            const minScore = criterion === "correlation" ? v.minScore : v.minScore / shape.S;
            const label = `seed ${seed}, k=${shape.k}, S=${shape.S}, ${ranked ? "ranked" : "unranked"}, ${criterion}, ${JSON.stringify(v)}, ${targetsName} targets`;
            const plain = new RecordingSink(shape.k, criterion, v.top, v.perTarget, minScore);
            const wasm = new RecordingSink(shape.k, criterion, v.top, v.perTarget, minScore);
            const plainCounts = plainKernel.search(a, targets, admissibility, plain);
            const wasmCounts = wasmKernel.search(a, targets, admissibility, wasm);
            const stats = { visited: 0, samples: shape.S, seconds: 0 };
            assertSameResult(label, plain.collector.finish({ ...stats, ...plainCounts }), wasm.collector.finish({ ...stats, ...wasmCounts }));
            assertOffersContained(label, plain, wasm);
            assert.equal(wasmCounts.pairsScored, plainCounts.pairsScored, `${label}: pairs scored`);
            assert.equal(wasmCounts.admissiblePairs, plainCounts.admissiblePairs, `${label}: admissible pairs`);
            assert.equal(plainCounts.rescored, undefined);
            assert.ok((wasmCounts.rescored ?? Infinity) <= wasm.offers.size, `${label}: rescored pairs are the offered ones`);
            compared++;
          }
        }
      }
    }
  }
  t.diagnostic(`${compared} kernel pairs compared`);
});

test("candidate scoring kernels: plain and WebAssembly give the same result through the interface (seeds printed)", (t) => {
  if (!kernelLoaded(t)) return;
  for (const [index, shape] of [{ k: 300, n: 54, S: 9 }, { k: 900, n: 270, S: 64 }].entries()) {
    const seed = 600 + index;
    const a = randomActivity(seed, shape.k, shape.n, shape.S);
    const xNorm = rowNorms(a.outputs, shape.k, shape.S);
    const eNorm = rowNorms(a.errors, shape.k, shape.S);
    for (const criterion of ["correlation", "gradient"] as const) {
      for (const v of VARIANTS) {
        const label = `seed ${seed}, k=${shape.k}, S=${shape.S}, ${criterion}, ${JSON.stringify(v)}`;
        const minScore = criterion === "correlation" ? v.minScore : v.minScore / shape.S;
        const sinks: RecordingSink[] = [];
        for (const choice of ["js", "wasm"] as SearchKernel[]) {
          const kernel = candidateScoringKernel(choice, a, xNorm, eNorm);
          assert.equal(kernel.name, choice);
          const sink = new RecordingSink(shape.k, criterion, v.top, v.perTarget, minScore);
          // The same candidate lists for both: distinct non-silent sources, up to 60 per target.
          const rng = new Rng(seed + 3);
          for (let j = shape.n; j < shape.k; j++) {
            if (!(eNorm[j]! > 0)) continue;
            const list = new Set<number>();
            const want = rng.nextInt(61);
            for (let tries = 0; tries < 3 * want && list.size < want; tries++) {
              const i = rng.nextInt(shape.k);
              if (xNorm[i]! > 0 && i !== j) list.add(i);
            }
            kernel.candidates.set(Array.from(list));
            const scored = kernel.score(j, list.size, sink);
            assert.ok(scored <= list.size, `${label}: target ${j} scored ${scored} of ${list.size}`);
          }
          sinks.push(sink);
        }
        const stats = { pairsScored: 0, visited: 0, admissiblePairs: -1, samples: shape.S, seconds: 0 };
        assertSameResult(label, sinks[0]!.collector.finish(stats), sinks[1]!.collector.finish(stats));
        assertOffersContained(label, sinks[0]!, sinks[1]!);
      }
    }
  }
});

test("order admissibility's 512-target pass: the same words with and without the engine's WebAssembly kernel", (t) => {
  if (!kernelLoaded(t)) return;
  for (const [index, shape] of [{ neurons: 500, inputs: 60, d: 5 }, { neurons: 1300, inputs: 270, d: 9 }].entries()) {
    const seed = 700 + index;
    const net = randomNetwork(seed, { neurons: shape.neurons, inputs: shape.inputs, outputs: 5, inDegree: shape.d });
    const order = new OnlineOrder(net);
    const rng = new Rng(seed);
    const k = net.neurons;
    for (let round = 0; round < 2; round++) {
      for (let e = 0; e < 300; e++) order.replaceEdge(shape.inputs + rng.nextInt(k - shape.inputs), rng.nextInt(shape.d), rng.nextInt(k));
      const plain = orderAdmissibility(net);
      const wasm = orderAdmissibility(net, { descendants: descendantWordsKernel });
      // Targets in order positions (as the searches visit them) and in a random order.
      const shuffled = Int32Array.from(net.order);
      for (let p = shuffled.length - 1; p > 0; p--) {
        const q = rng.nextInt(p + 1);
        [shuffled[p], shuffled[q]] = [shuffled[q]!, shuffled[p]!];
      }
      for (const [name, targets] of [["ordered", Int32Array.from(net.order)], ["shuffled", shuffled]] as const) {
        for (let t0 = 0; t0 < targets.length; t0 += 512) {
          const block = targets.subarray(t0, Math.min(t0 + 512, targets.length));
          const want = plain.fillBlocks!(block).slice(0, Math.ceil(block.length / 32) * k);
          const got = wasm.fillBlocks!(block);
          assert.equal(got.length, want.length, `seed ${seed} round ${round} ${name} block ${t0}: length`);
          for (let w = 0; w < want.length; w++) assert.equal(got[w], want[w], `seed ${seed} round ${round} ${name} block ${t0}: word ${w}`);
        }
      }
    }
  }
});
