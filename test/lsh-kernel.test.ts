/**
 * The approximate search's hashing and bucket scans (§4.3; engine/search-kernel.ts
 * approximateSearchKernels): the WebAssembly kernel (assembly/lsh.ts) against the plain TypeScript
 * one (engine/reference/lsh.ts). First the kernels alone on random hash indexes — every source's
 * keys, every query's keys and least certain bits, every query's candidate list (contents and
 * order) with word and pair-test admissibility — then the whole search, js against wasm: the same
 * pairs, scores, order and counters, on random networks and activities of several shapes (sample
 * counts that are and are not powers of two, both criteria, several norm ranges, tiny and larger
 * networks, block and per-pair admissibility). Bit-identical by design: the kernel repeats the
 * float64 arithmetic of the plain one, so no tolerance. Also the int8 filter of the candidate
 * scoring: its estimate is within its stated error bound, and the bound is tight enough to filter.
 * Seeds are in every message. Fails (never skips) where the WebAssembly module is not loaded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { approximateSearchKernels, descendantWordsKernel, type LshIndex, type LshKernel } from "../src/engine/search-kernel.js";
import { searchKernels, searchKernelStatus } from "../src/engine/wasm/search-kernels.js";
import { int8ErrorBound } from "../src/engine/wasm/candidate-scoring.js";
import { levelAdmissibility, maskAdmissibility, orderAdmissibility } from "../src/graph/admissibility.js";
import { rowNorms, type Activity } from "../src/estimate/activity.js";
import { approximateSearch, type ApproximateSearchOptions } from "../src/rewire/approximate-search.js";
import type { SearchResult } from "../src/rewire/collector.js";
import { Rng } from "../src/util/rng.js";
import { randomNetwork } from "./helpers.js";

function assertModuleLoaded(): void {
  searchKernels();
  const status = searchKernelStatus();
  assert.ok(status.loaded, `the WebAssembly search module is not loaded (${status.reason ?? "?"}); build it with \`npm run build:wasm\``);
}

/** One-hot inputs (groups of 27), ReLU(N(0,1)) outputs with silent rows, N(0,1)/S errors with error-free rows, a few duplicated rows (exact ties). */
function randomActivity(seed: number, k: number, n: number, S: number): Activity {
  const rng = new Rng(seed);
  const outputs = new Float32Array(k * S);
  const errors = new Float32Array(k * S);
  for (let b = 0; b < S; b++) for (let g = 0; g * 27 < n; g++) outputs[(g * 27 + rng.nextInt(Math.min(27, n - g * 27))) * S + b] = 1;
  for (let i = n; i < k; i++) {
    const silent = rng.nextInt(10) === 0;
    const scale = 0.1 + 4 * rng.nextFloat(); // uneven norms, for the norm ranges
    for (let b = 0; b < S; b++) {
      const v = rng.nextNormal() * scale;
      outputs[i * S + b] = silent || v < 0 ? 0 : v;
      errors[i * S + b] = i % 11 === 0 ? 0 : rng.nextNormal() / S;
    }
  }
  for (let r = 0; r < 3 && k - n > 2; r++) {
    const i = n + rng.nextInt(k - n);
    const j = n + rng.nextInt(k - n);
    outputs.copyWithin(i * S, j * S, (j + 1) * S);
    errors.copyWithin(i * S, j * S, (j + 1) * S);
  }
  return { neurons: k, inputs: n, samples: S, outputs, errors };
}

/** A random hash index over `a`'s non-silent sources, as approximate-search.ts would lay one out (random ranges, bits, extras). */
function randomIndex(seed: number, a: Activity, o: { tables: number; ranges: number; bits: number; probes: number; budget: number; heavy: number; extra: boolean }): LshIndex {
  const rng = new Rng(seed);
  const k = a.neurons;
  const xNorm = rowNorms(a.outputs, k, a.samples);
  const ids: number[] = [];
  for (let i = 0; i < k; i++) if (xNorm[i]! > 0) ids.push(i);
  for (let p = ids.length - 1; p > 0; p--) {
    const q = rng.nextInt(p + 1);
    [ids[p], ids[q]] = [ids[q]!, ids[p]!];
  }
  const ns = ids.length;
  const R = Math.max(1, Math.min(o.ranges, ns));
  const groupStart = Int32Array.from({ length: R + 1 }, (_, g) => Math.round((g * ns) / R));
  const groupBits = Int32Array.from({ length: R }, () => 1 + rng.nextInt(o.bits));
  const bMax = Math.max(1, ...groupBits);
  let P = 1;
  while (P < a.samples + (o.extra ? 1 : 0)) P <<= 1;
  const rotations = Math.ceil((o.tables * bMax) / P);
  const diagonals = Float64Array.from({ length: rotations * 3 * P }, () => (rng.nextUint32() & 1 ? 1 : -1));
  const normOrder = Int32Array.from(ids).sort((x, y) => xNorm[y]! - xNorm[x]! || x - y);
  const normRank = new Int32Array(k).fill(ns);
  normOrder.forEach((i, p) => (normRank[i] = p));
  return {
    rotationLength: P,
    rotations,
    diagonals,
    tables: o.tables,
    bMax,
    sourceIds: Int32Array.from(ids),
    groupStart,
    groupBits,
    extra: o.extra ? Float64Array.from(ids, () => 3 * rng.nextFloat()) : undefined,
    probes: Math.min(o.probes, bMax),
    budget: o.budget,
    normOrder,
    normRank,
    heavy: Math.min(o.heavy, ns),
  };
}

function assertSameArray(label: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let p = 0; p < want.length; p++) if (got[p] !== want[p]) assert.fail(`${label}: first difference at ${p}: wasm ${got[p]} vs js ${want[p]}`);
}

test("LSH kernels: WebAssembly keys, probes and candidate lists equal the TypeScript kernel's (random indexes, seeds printed)", () => {
  assertModuleLoaded();
  const shapes = [
    { k: 40, n: 27, S: 1 },
    { k: 90, n: 27, S: 2 },
    { k: 300, n: 54, S: 7 },
    { k: 700, n: 135, S: 64 },
    { k: 900, n: 135, S: 100 },
    { k: 1200, n: 270, S: 256 },
  ];
  const settings = [
    { tables: 3, ranges: 1, bits: 3, probes: 2, budget: Infinity, heavy: 0, extra: false },
    { tables: 5, ranges: 4, bits: 9, probes: 3, budget: 7, heavy: 20, extra: true },
    { tables: 2, ranges: 3, bits: 2, probes: 0, budget: 2.5, heavy: 5, extra: true },
    { tables: 8, ranges: 2, bits: 12, probes: 5, budget: 40, heavy: 0, extra: false },
  ];
  let lists = 0;
  let nonEmpty = 0;
  for (const [s, shape] of shapes.entries()) {
    for (const [v, o] of settings.entries()) {
      const seed = 9000 + 10 * s + v;
      const label = `seed ${seed}, k=${shape.k}, S=${shape.S}, ${JSON.stringify(o)}`;
      const a = randomActivity(seed, shape.k, shape.n, shape.S);
      const index = randomIndex(seed + 1, a, o);
      const xNorm = rowNorms(a.outputs, shape.k, shape.S);
      const eNorm = rowNorms(a.errors, shape.k, shape.S);
      const plain = approximateSearchKernels("js", a, xNorm, eNorm, index);
      const wasm = approximateSearchKernels("wasm", a, xNorm, eNorm, index);
      assert.equal(plain.lsh.name, "js");
      assert.equal(wasm.lsh.name, "wasm");
      assertSameArray(`${label}: source keys`, wasm.lsh.sourceKeys(), plain.lsh.sourceKeys());
      const rng = new Rng(seed + 2);
      const k = shape.k;
      // Random admissibility words for a super block of 16 blocks, and a pair test reading them.
      const words = Int32Array.from({ length: 16 * k }, () => rng.nextUint32() | 0);
      plain.lsh.loadWords(words);
      wasm.lsh.loadWords(words);
      const compare = (what: string, run: (lsh: LshKernel) => number, into: { candidates: Int32Array }[]): void => {
        const count = run(plain.lsh);
        const got = run(wasm.lsh);
        assertSameArray(`${label}: ${what}`, into[1]!.candidates.subarray(0, got), into[0]!.candidates.subarray(0, count));
        lists++;
        if (count > 0) nonEmpty++;
      };
      const kernels = [plain.scoring, wasm.scoring];
      for (let q = 0; q < Math.min(k, 120); q++) {
        const j = rng.nextInt(k);
        assertSameArray(`${label}: query keys of ${j}`, wasm.lsh.queryKeys(j), plain.lsh.queryKeys(j));
        const stop = rng.nextInt(3) === 0 ? rng.nextInt(index.sourceIds.length + 1) : 0;
        const wordBase = rng.nextInt(16) * k;
        const shift = rng.nextInt(32);
        compare(`query ${q} (target ${j}, stop ${stop}) by words`, (lsh) => lsh.collectByWords(j, 2 * q, stop, wordBase, shift), kernels);
        const admits = (i: number): boolean => ((words[wordBase + i]! >>> shift) & 1) !== 0 && i % 3 !== 0;
        compare(`query ${q} (target ${j}, stop ${stop}) by pair test`, (lsh) => lsh.collect(j, 2 * q + 1, stop, admits), kernels);
      }
      assert.equal(wasm.lsh.visited, plain.lsh.visited, `${label}: bucket entries visited`);
    }
  }
  assert.ok(nonEmpty > lists / 2, `most candidate lists are non-empty (${nonEmpty} of ${lists}), so the comparison means something`);
});

function assertSameResult(label: string, a: SearchResult, b: SearchResult): void {
  assert.equal(a.top.count, b.top.count, `${label}: top count`);
  for (const f of ["sources", "targets", "inner", "correlation", "score"] as const) {
    for (let r = 0; r < a.top.count; r++) assert.ok(Object.is(a.top[f][r], b.top[f][r]), `${label}: top ${f}[${r}] ${a.top[f][r]} vs ${b.top[f][r]}`);
  }
  assert.equal(a.perTarget.perTarget, b.perTarget.perTarget, `${label}: per target`);
  for (const f of ["sources", "inner", "correlation", "score"] as const) {
    const x = a.perTarget[f];
    const y = b.perTarget[f];
    assert.equal(x.length, y.length, `${label}: perTarget ${f} length`);
    for (let r = 0; r < x.length; r++) assert.ok(Object.is(x[r], y[r]), `${label}: perTarget ${f}[${r}] ${x[r]} vs ${y[r]}`);
  }
  assert.equal(a.stats.pairsScored, b.stats.pairsScored, `${label}: pairs scored`);
  assert.equal(a.stats.visited, b.stats.visited, `${label}: bucket entries visited`);
}

test("approximate search: WebAssembly hashing and scans give the TypeScript search's result bit for bit (random graphs, seeds printed)", () => {
  assertModuleLoaded();
  const shapes = [
    { neurons: 45, inputs: 27, S: 1, d: 3 },
    { neurons: 400, inputs: 54, S: 13, d: 6 },
    { neurons: 1100, inputs: 135, S: 64, d: 8 },
    { neurons: 2000, inputs: 270, S: 100, d: 10 },
  ];
  let found = 0;
  for (const [index, shape] of shapes.entries()) {
    const seed = 7100 + index;
    const net = randomNetwork(seed, { neurons: shape.neurons, inputs: shape.inputs, outputs: 5, inDegree: shape.d });
    const a = randomActivity(seed, shape.neurons, shape.inputs, shape.S);
    const order = orderAdmissibility(net, { descendants: descendantWordsKernel });
    const admissibilities = [
      ["order (512-target blocks)", order],
      ["order (32-target blocks)", orderAdmissibility(net)],
      ["level (pair test)", levelAdmissibility(net)],
      ["mask (per-target fill)", maskAdmissibility((j, into) => order.fill(j, into), { rank: order.rank! })],
    ] as const;
    for (const [admName, admissibility] of admissibilities) {
      for (const criterion of ["correlation", "gradient"] as const) {
        const variants: Partial<ApproximateSearchOptions>[] =
          criterion === "correlation"
            ? [{ top: 0, perTarget: 4, minScore: 0.3 }, { top: 50, perTarget: 2 }, { top: 10, perTarget: 1, tables: 3, bits: 2, probes: 1, budget: 3 }]
            : [{ top: 0, perTarget: 4 }, { top: 60, perTarget: 2, normRanges: 1 }, { top: 20, perTarget: 3, normRanges: 7, bits: 3, budget: 2.5, heavy: 9, boundedPairs: 500 }];
        for (const v of variants) {
          const label = `seed ${seed}, k=${shape.neurons}, S=${shape.S}, ${admName}, ${criterion}, ${JSON.stringify(v)}`;
          const options = { criterion, admissibility, top: 0, ...v, seed: seed + 3 } as ApproximateSearchOptions;
          const plain = approximateSearch(a, { ...options, kernel: "js" });
          const wasm = approximateSearch(a, { ...options, kernel: "wasm" });
          assert.equal(plain.stats.kernel, "js");
          assert.equal(wasm.stats.kernel, "wasm");
          assertSameResult(label, plain, wasm);
          found += plain.top.count;
        }
      }
    }
  }
  assert.ok(found > 100, `the searches found pairs (${found} in their top lists), so the comparison means something`);
});

test("int8 filter of the candidate scoring: |exact − int8 estimate| ≤ its error bound, and the bound is tight enough to filter (seeds printed)", () => {
  assertModuleLoaded();
  const kernels = searchKernels()!;
  const arena = kernels.arena;
  const ratios: number[] = [];
  for (const [index, shape] of [{ k: 200, n: 27, S: 3 }, { k: 300, n: 54, S: 64 }, { k: 250, n: 27, S: 100 }, { k: 200, n: 54, S: 256 }].entries()) {
    const seed = 4400 + index;
    const { k, S } = shape;
    const a = randomActivity(seed, k, shape.n, S);
    // Awkward rows: huge, tiny, one outlier among small values, constant.
    const rng = new Rng(seed + 1);
    const row = (i: number) => i * S;
    for (let b = 0; b < S; b++) a.outputs[row(shape.n) + b] = 1e25 * (1 + (b % 3));
    for (let b = 0; b < S; b++) a.errors[row(shape.n + 1) + b] = b % 3 ? 1e-25 : -3e-25;
    for (let b = 0; b < S; b++) a.outputs[row(shape.n + 2) + b] = b === 0 ? 1000 : 0.001 * rng.nextNormal();
    for (let b = 0; b < S; b++) a.errors[row(shape.n + 3) + b] = 0.5;
    const xNorm = rowNorms(a.outputs, k, S);
    const eNorm = rowNorms(a.errors, k, S);
    const Sq = (S + 15) & ~15;
    arena.reset();
    const at = { X: arena.take(4 * k * S), E: arena.take(4 * k * S), Q: arena.take(k * Sq), xs: arena.take(8 * k), xr: arena.take(8 * k), q16: arena.take(2 * Sq), qs: arena.take(8), qr: arena.take(8), list: arena.take(4 * k), owners: arena.take(4 * k), count: arena.take(4 * (k + 1)), order: arena.take(4 * k), dots: arena.take(4 * k) };
    arena.ensure();
    arena.f32(at.X, k * S).set(a.outputs);
    arena.f32(at.E, k * S).set(a.errors);
    const list = arena.i32(at.list, k);
    for (let i = 0; i < k; i++) list[k - 1 - i] = i; // the kernel visits pairs source-major: give them in another order
    arena.i32(at.owners, k).fill(0);
    kernels.quantizeRows(at.X, S, S, k, at.Q, Sq, false, at.xs, at.xr);
    const xScale = arena.f64(at.xs, k);
    const xResidual = arena.f64(at.xr, k);
    const dots = arena.i32(at.dots, k);
    const exactRel = (S + 4) * 2 ** -52;
    for (let j = shape.n; j < k; j++) {
      if (!(eNorm[j]! > 0)) continue;
      kernels.quantizeRows(at.E + 4 * j * S, S, S, 1, at.q16, Sq, true, at.qs, at.qr);
      kernels.blockDotsI8(at.Q, Sq, at.q16, at.list, at.owners, k, k, at.count, at.order, at.dots);
      const sd = arena.f64(at.qs, 1)[0]!;
      const rd = arena.f64(at.qr, 1)[0]!;
      for (let i = 0; i < k; i++) {
        if (!(xNorm[i]! > 0)) continue;
        let exact = 0;
        for (let b = 0; b < S; b++) exact += a.outputs[i * S + b]! * a.errors[j * S + b]!;
        const estimate = xScale[i]! * sd * dots[k - 1 - i]!;
        const bound = int8ErrorBound(xNorm[i]!, xResidual[i]!, eNorm[j]!, rd, Math.abs(estimate), exactRel);
        if (!(Math.abs(exact - estimate) <= bound)) assert.fail(`seed ${seed}, S=${S}, pair ${i} → ${j}: exact ${exact}, int8 estimate ${estimate}, off by ${Math.abs(exact - estimate)} > bound ${bound}`);
        ratios.push(bound / (xNorm[i]! * eNorm[j]!));
      }
    }
  }
  ratios.sort((x, y) => x - y);
  const median = ratios[Math.floor(ratios.length / 2)]!;
  assert.ok(median < 0.1, `the int8 bound is about ${median.toFixed(3)}·‖x‖·‖δ‖ (median), too loose to filter |corr| ≥ 0.3`);
});
