#!/usr/bin/env node
// Issue 16 probe: can cache blocking by source block bring the per-edge cost of the wasm kernels at
// 170,000 neurons near that at 1,700? Builds §4.6's random DAG (Network.random, 540 inputs, 27 outputs,
// d = 29, as the engine sees it: evaluation order, pos numbering, row-order and canonical edge
// layouts of src/engine/wasm/engine.ts) and times, single-threaded, one tile of T samples:
//   forward  (a) plain row-order gather (forwardTile's non-input part)
//            (b) blocked: chunks of R rows; edges from sources before the chunk grouped by source
//                block of P neurons into the chunk's accumulators, then the chunk's internal edges
//                row by row, then ReLU;
//   backward (a) plain pull over consumers (backwardTile's non-input part, with the gradients)
//            (b) blocked: the mirror (chunks from the last; consumers after the chunk grouped by
//                consumer block; then internal consumers row by row in reverse).
// Edges from inputs are skipped in all variants (the engine does them per sample, identically for
// both); each row starts from an `init` row standing for bias + the one-hot scatter. The kernels are
// assembly/blocking-probe.ts, compiled here with the repo's AssemblyScript (SIMD) into
// dist/wasm/blocking-probe.wasm. Costs are CPU time (process.cpuUsage) per pass, the minimum over
// rounds, plain and blocked interleaved; per edge-sample over the edges from non-inputs.
// usage: npm run build && node scripts/blocking-probe.mjs [--sizes 1700,17000,170000] [--tiles 16,8,4]
//          [--blocks R:P,...] (R rows per chunk, P neurons per source block; default per tile from
//          byte budgets --acc-kib 1024 --block-kib 1024) [--pieces 2,4] [--sub-kib KiB] [--round-ms 120] [--rounds 3]
/* global WebAssembly */
import asc from "assemblyscript/asc";
import { fileURLToPath } from "node:url";
import { readFile, mkdir } from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import v8 from "node:v8";
import { Network } from "../dist/src/graph/network.js";
import { Rng } from "../dist/src/util/rng.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : def; };
const sizes = arg("sizes", "1700,17000,170000").split(",").map(Number);
const tiles = arg("tiles", "16,8,4").split(",").map(Number);
const accKiB = Number(arg("acc-kib", "1024"));
const blockKiB = Number(arg("block-kib", "1024"));
const blocksArg = arg("blocks", "");
const roundMs = Number(arg("round-ms", "120"));
const rounds = Number(arg("rounds", "3"));
const pieceLens = arg("pieces", "2,4").split(",").filter(Boolean).map(Number); // fixed piece lengths L for variant (d)
const subKiB = Number(arg("sub-kib", "1e9")); // scatter form: target sub-chunk of this many KiB of accumulators (default: the whole chunk)
const N = 540, M = 27, D = 29, SEED = 1;

// ---- build the kernels ----
const wasmFile = path.join(root, "dist", "wasm", "blocking-probe.wasm");
await mkdir(path.dirname(wasmFile), { recursive: true });
{
  const { error, stderr } = await asc.main([
    path.join(root, "assembly", "blocking-probe.ts"),
    "--config", path.join(root, "assembly", "asconfig.json"), "--target", "release", "--runtime", "stub",
    "--importMemory", "--noExportMemory", "--maximumMemory", "65536", "--enable", "simd", "--noAssert",
    "--outFile", wasmFile,
  ], { stdout: process.stdout, stderr: process.stderr });
  if (error) { console.error(stderr.toString()); throw error; }
}
// Optimising compiler from the start (no Liftoff baseline, no tier-up in the middle of a measurement).
v8.setFlagsFromString("--no-liftoff");
v8.setFlagsFromString("--no-wasm-dynamic-tiering");
const wasmModule = await WebAssembly.compile(await readFile(wasmFile));

console.log(`# ${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, node ${process.version}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log(`# N ${N}, M ${M}, D ${D}, seed ${SEED}; edges from inputs skipped in every variant; cost = CPU ps per (edge from a non-input)·sample, min of ${rounds} rounds of ≥ ${roundMs} ms`);

/** The engine's view of a random network: pos numbering and the edges from non-inputs in both orders. */
function layoutOf(K) {
  const t0 = performance.now();
  const net = Network.random({ neurons: K, inputs: N, outputs: M, inDegree: D }, new Rng(SEED));
  const H = K - N;
  const posOf = new Int32Array(K).fill(-1);
  for (let i = 0; i < N; i++) posOf[i] = i;
  for (let r = 0; r < H; r++) posOf[net.order[r]] = N + r;
  // row order: per row the edges from non-inputs, source rows (pos − N), in the network's order (as the engine)
  const hidCount = new Int32Array(H);
  const hidSrc = new Int32Array(H * D); // source ROW (pos − N), slot r·D + j
  const hidW = new Float32Array(H * D);
  for (let r = 0; r < H; r++) {
    const j = net.order[r];
    const base = (j - N) * D;
    let f = r * D;
    for (let e = 0; e < D; e++) {
      const s = net.sources[base + e];
      if (s < N) continue;
      hidSrc[f] = posOf[s] - N;
      hidW[f++] = net.weights[base + e];
    }
    hidCount[r] = f - r * D;
  }
  let E = 0;
  for (let r = 0; r < H; r++) E += hidCount[r];
  // canonical: consumers of each source row, ascending; cF = row-order slot
  const cStart = new Int32Array(H + 1);
  for (let r = 0; r < H; r++) for (let f = r * D; f < r * D + hidCount[r]; f++) cStart[hidSrc[f] + 1]++;
  for (let r = 0; r < H; r++) cStart[r + 1] += cStart[r];
  const fill = cStart.slice(0, H);
  const cCons = new Int32Array(E), cF = new Int32Array(E);
  const qOfF = new Int32Array(H * D).fill(-1);
  for (let r = 0; r < H; r++) for (let f = r * D; f < r * D + hidCount[r]; f++) {
    const q = fill[hidSrc[f]]++;
    cCons[q] = r;
    cF[q] = f;
    qOfF[f] = q;
  }
  const outRow = new Int32Array(H).fill(-1);
  for (let o = 0; o < M; o++) outRow[posOf[K - M + o] - N] = o;
  return { K, H, E, net, hidCount, hidSrc, hidW, cStart, cCons, cF, qOfF, outRow, buildMs: performance.now() - t0 };
}

/** Blocked forward layout for chunks of R rows and source blocks of P rows. */
function forwardBlocks(L, R, P) {
  const { H, hidCount, hidSrc, hidW, E } = L;
  const chunks = Math.ceil(H / R);
  const bRow = new Int32Array(E), bW = new Float32Array(E); // source row, weight
  const chunkSeg = new Int32Array(chunks + 1);
  const segLocal = [], segEnd = [];
  const rowInt = new Int32Array(H + 1);
  let e = 0;
  let internal = 0;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R, r1 = Math.min(H, r0 + R);
    const nb = Math.ceil(r0 / P);
    const count = new Int32Array(nb * R + 1);
    for (let r = r0; r < r1; r++) for (let f = r * D; f < r * D + hidCount[r]; f++) {
      const s = hidSrc[f];
      if (s < r0) count[Math.floor(s / P) * R + (r - r0) + 1]++;
      else internal++;
    }
    for (let k = 0; k < nb * R; k++) count[k + 1] += count[k];
    const at = count.slice(0, nb * R);
    for (let r = r0; r < r1; r++) for (let f = r * D; f < r * D + hidCount[r]; f++) {
      const s = hidSrc[f];
      if (s >= r0) continue;
      const i = e + at[Math.floor(s / P) * R + (r - r0)]++;
      bRow[i] = s; bW[i] = hidW[f];
    }
    chunkSeg[c] = segEnd.length;
    for (let k = 0; k < nb * R; k++) if (count[k + 1] > count[k]) { segLocal.push(k % R); segEnd.push(e + count[k + 1]); }
    e += count[nb * R];
  }
  chunkSeg[chunks] = segEnd.length;
  const external = e;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R, r1 = Math.min(H, r0 + R);
    for (let r = r0; r < r1; r++) {
      rowInt[r] = e;
      for (let f = r * D; f < r * D + hidCount[r]; f++) if (hidSrc[f] >= r0) { bRow[e] = hidSrc[f]; bW[e++] = hidW[f]; }
    }
  }
  rowInt[H] = e;
  if (e !== E) throw new Error(`forward blocks lost edges: ${e} of ${E}`);
  return { R, P, chunks, chunkSeg, segLocal: Int32Array.from(segLocal), segEnd: Int32Array.from(segEnd), rowInt, bRow, bW, external, internal };
}

/** Scatter-form forward layout: per chunk the external edges sorted by source row (hence by source block). */
function forwardScatter(L, R, P, sub) {
  const { H, hidCount, hidSrc, hidW, E } = L;
  const chunks = Math.ceil(H / R);
  const nSub = Math.ceil(R / sub);
  const bRow = new Int32Array(E), bAccRow = new Int32Array(E), bW = new Float32Array(E);
  const chunkEdge = new Int32Array(chunks + 1);
  const rowInt = new Int32Array(H + 1);
  let e = 0;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R, r1 = Math.min(H, r0 + R);
    // order: source block, then target sub-chunk of `sub` rows (its accumulators stay in L1), then source
    const keys = Math.ceil(r0 / P) * nSub * P;
    const key = (s, r) => { const b = Math.floor(s / P); return (b * nSub + Math.floor((r - r0) / sub)) * P + (s - b * P); };
    const count = new Int32Array(keys + 1);
    for (let r = r0; r < r1; r++) for (let f = r * D; f < r * D + hidCount[r]; f++) if (hidSrc[f] < r0) count[key(hidSrc[f], r) + 1]++;
    for (let k = 0; k < keys; k++) count[k + 1] += count[k];
    const total = count[keys];
    chunkEdge[c] = e;
    for (let r = r0; r < r1; r++) for (let f = r * D; f < r * D + hidCount[r]; f++) {
      const s = hidSrc[f];
      if (s >= r0) continue;
      const i = e + count[key(s, r)]++;
      bRow[i] = s; bAccRow[i] = r - r0; bW[i] = hidW[f];
    }
    e += total;
  }
  chunkEdge[chunks] = e;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R, r1 = Math.min(H, r0 + R);
    for (let r = r0; r < r1; r++) {
      rowInt[r] = e;
      for (let f = r * D; f < r * D + hidCount[r]; f++) if (hidSrc[f] >= r0) { bRow[e] = hidSrc[f]; bW[e++] = hidW[f]; }
    }
  }
  rowInt[H] = e;
  if (e !== E) throw new Error(`scatter layout lost edges: ${e} of ${E}`);
  return { chunkEdge, bRow, bAccRow, bW, rowInt };
}

/** Fixed-length pieces of L edges from the forward segments (padding: weight 0, the piece's last source). */
function forwardPieces(FB, L) {
  const nSeg = FB.segEnd.length;
  let pieces = 0;
  for (let g = 0, e = 0; g < nSeg; e = FB.segEnd[g++]) pieces += Math.ceil((FB.segEnd[g] - e) / L);
  const pAccRow = new Int32Array(pieces), pRow = new Int32Array(pieces * L), pW = new Float32Array(pieces * L);
  const chunkPiece = new Int32Array(FB.chunks + 1);
  let p = 0, e = 0, c = 0;
  for (let g = 0; g < nSeg; g++) {
    while (c < FB.chunks && FB.chunkSeg[c] <= g) chunkPiece[c++] = p;
    const e1 = FB.segEnd[g];
    for (; e < e1; p++) {
      pAccRow[p] = FB.segLocal[g];
      for (let k = 0; k < L; k++) {
        const i = Math.min(e + k, e1 - 1);
        pRow[p * L + k] = FB.bRow[i];
        pW[p * L + k] = e + k < e1 ? FB.bW[i] : 0;
      }
      e = Math.min(e + L, e1);
    }
  }
  while (c <= FB.chunks) chunkPiece[c++] = p;
  return { pieces, chunkPiece, pAccRow, pRow, pW, padding: FB.external ? pieces * L / FB.external - 1 : 0 };
}

/** Blocked backward layout: chunks of R source rows from the last, consumer blocks of P rows. qOf[i] = canonical slot. */
function backwardBlocks(L, R, P) {
  const { H, E, cStart, cCons, hidW, cF } = L;
  const chunks = Math.ceil(H / R);
  const bCons = new Int32Array(E), bW = new Float32Array(E), qOf = new Int32Array(E);
  const chunkSeg = new Int32Array(chunks + 1);
  const segLocal = [], segEnd = [];
  const rowInt = new Int32Array(H + 1);
  const nbAll = Math.ceil(H / P);
  let e = 0;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R, r1 = Math.min(H, r0 + R);
    const b0 = Math.floor(r1 / P); // first consumer block that can hold consumers ≥ r1
    const nb = nbAll - b0;
    const count = new Int32Array(nb * R + 1);
    for (let r = r0; r < r1; r++) for (let q = cStart[r]; q < cStart[r + 1]; q++) {
      if (cCons[q] >= r1) count[(Math.floor(cCons[q] / P) - b0) * R + (r - r0) + 1]++;
    }
    for (let k = 0; k < nb * R; k++) count[k + 1] += count[k];
    const at = count.slice(0, nb * R);
    for (let r = r0; r < r1; r++) for (let q = cStart[r]; q < cStart[r + 1]; q++) {
      const cr = cCons[q];
      if (cr < r1) continue;
      const i = e + at[(Math.floor(cr / P) - b0) * R + (r - r0)]++;
      bCons[i] = cr; bW[i] = hidW[cF[q]]; qOf[i] = q;
    }
    chunkSeg[c] = segEnd.length;
    for (let k = 0; k < nb * R; k++) if (count[k + 1] > count[k]) { segLocal.push(k % R); segEnd.push(e + count[k + 1]); }
    e += count[nb * R];
  }
  chunkSeg[chunks] = segEnd.length;
  const external = e;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R, r1 = Math.min(H, r0 + R);
    for (let r = r0; r < r1; r++) {
      rowInt[r] = e;
      for (let q = cStart[r]; q < cStart[r + 1]; q++) if (cCons[q] < r1) { bCons[e] = cCons[q]; bW[e] = hidW[cF[q]]; qOf[e++] = q; }
    }
  }
  rowInt[H] = e;
  if (e !== E) throw new Error(`backward blocks lost edges: ${e} of ${E}`);
  return { R, P, chunks, chunkSeg, segLocal: Int32Array.from(segLocal), segEnd: Int32Array.from(segEnd), rowInt, bCons, bW, qOf, external };
}

/** Bump allocator over one wasm memory. */
class Heap {
  constructor(bytes) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((bytes + (1 << 20)) / 65536), maximum: 65536 });
    this.instance = new WebAssembly.Instance(wasmModule, { env: { memory: this.memory, abort: () => { throw new Error("abort"); } } });
    this.x = this.instance.exports;
    this.top = (this.x.heapBase() + 63) & ~63;
  }
  take(bytes) { const at = this.top; this.top = (this.top + bytes + 63) & ~63; if (this.top > this.memory.buffer.byteLength) throw new Error("heap full"); return at; }
  i32(at, n) { return new Int32Array(this.memory.buffer, at, n); }
  f32(at, n) { return new Float32Array(this.memory.buffer, at, n); }
  putI32(a) { const at = this.take(4 * a.length + 16); this.i32(at, a.length).set(a); return at; }
  putF32(a) { const at = this.take(4 * a.length + 16); this.f32(at, a.length).set(a); return at; }
}

function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }

/** Min over rounds of CPU ms per pass, the variants interleaved round by round. */
function timeInterleaved(fns) {
  for (const f of fns) f(); // warm
  const best = fns.map(() => Infinity);
  for (let k = 0; k < rounds; k++) {
    fns.forEach((f, i) => {
      const w0 = performance.now(), c0 = cpuMs();
      let n = 0;
      do { f(); n++; } while (performance.now() - w0 < roundMs);
      best[i] = Math.min(best[i], (cpuMs() - c0) / n);
    });
  }
  return best;
}

function maxRelDiff(a, b) {
  let rms = 0;
  for (let i = 0; i < a.length; i++) rms += a[i] * a[i];
  rms = Math.sqrt(rms / a.length);
  const floor = 1e-3 * rms;
  let worst = 0, worstAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    worst = Math.max(worst, d / Math.max(Math.abs(a[i]), Math.abs(b[i]), floor));
    worstAbs = Math.max(worstAbs, d / rms);
  }
  return { rel: worst, absOverRms: worstAbs };
}

const results = []; // { K, T, variant, R, P, fwd, bwd }
for (const K of sizes) {
  const L = layoutOf(K);
  const { H, E } = L;
  console.log(`\nK ${K}: H ${H}, edges from non-inputs ${E} (of ${H * D}), network + layout built in ${L.buildMs.toFixed(0)} ms`);
  for (const T of tiles) {
    const nv = T >= 16 ? 4 : T / 4;
    if (![1, 2, 4].includes(nv) || (T >= 16 && T % 16)) throw new Error(`tile ${T}: need 4, 8 or a multiple of 16`);
    const rowBytes = 4 * T;
    const sub = Math.max(4, Math.floor((subKiB * 1024) / rowBytes));
    const configs = blocksArg
      ? blocksArg.split(",").map((s) => s.split(":").map(Number))
      : [[Math.max(64, Math.floor((accKiB * 1024) / rowBytes)), Math.max(64, Math.floor((blockKiB * 1024) / rowBytes))]];
    // memory: out, delta (K rows), init, 2×pre (H rows), dlog; plain fwd E(H·D)·8; canonical E·12 + g; blocked per config
    const heap = new Heap(K * rowBytes * 2 + H * rowBytes * 3 + H * D * 8 + E * 16 + configs.length * (E * (56 + 16 * pieceLens.length) + H * 48) + (1 << 24));
    const x = heap.x;
    const out = heap.take(K * rowBytes), delta = heap.take(K * rowBytes);
    const init = heap.take(H * rowBytes), preA = heap.take(H * rowBytes), preB = heap.take(H * rowBytes);
    const dlog = heap.take(M * rowBytes);
    const scratch = heap.take(64);
    const rng = new Rng(SEED + 7);
    { const v = heap.f32(init, H * T); for (let i = 0; i < v.length; i++) v[i] = rng.nextNormal(); }
    { const v = heap.f32(dlog, M * T); for (let i = 0; i < v.length; i++) v[i] = 0.01 * rng.nextNormal(); }
    heap.f32(out, K * T).fill(0);
    heap.f32(delta, K * T).fill(0);
    // plain forward: row order with stride D, byte offsets pos·rowBytes
    const rs = new Int32Array(H * D);
    for (let f = 0; f < H * D; f++) rs[f] = (N + L.hidSrc[f]) * rowBytes;
    const rowSrc = heap.putI32(rs), rowW = heap.putF32(L.hidW), rowHidden = heap.putI32(L.hidCount);
    // plain backward: canonical order
    const co = new Int32Array(E), wt = new Float32Array(E);
    for (let q = 0; q < E; q++) { co[q] = (N + L.cCons[q]) * rowBytes; wt[q] = L.hidW[L.cF[q]]; }
    const cStart = heap.putI32(L.cStart), cOff = heap.putI32(co), wT = heap.putF32(wt);
    const g = heap.take(4 * E + 16), gB = heap.take(4 * E + 16);
    const dr = new Int32Array(H);
    for (let r = 0; r < H; r++) if (L.outRow[r] >= 0) dr[r] = dlog + L.outRow[r] * rowBytes;
    const direct = heap.putI32(dr);
    const fwdP = x[`fwdPlain${nv}`], fwdB = x[`fwdBlocked${nv}`], bwdP = x[`bwdPlain${nv}`], bwdB = x[`bwdBlocked${nv}`];
    const plainF = (pre) => fwdP(out, init, pre, rowBytes, N, H, D, rowSrc, rowW, rowHidden);
    const plainB = (gp) => bwdP(out, delta, gp, rowBytes, N, H, cStart, cOff, wT, direct, scratch);

    for (const [R, P] of configs) {
      const tb0 = performance.now();
      const FB = forwardBlocks(L, R, P);
      const tb1 = performance.now();
      const BB = backwardBlocks(L, R, P);
      const tb2 = performance.now();
      const acc = heap.take(R * rowBytes);
      const fSeg = heap.putI32(FB.chunkSeg), fSegAcc = heap.putI32(FB.segLocal.map((l) => l * rowBytes)), fSegEnd = heap.putI32(FB.segEnd);
      const fRowInt = heap.putI32(FB.rowInt), fSrc = heap.putI32(FB.bRow.map((s) => (N + s) * rowBytes)), fW = heap.putF32(FB.bW);
      const bSeg = heap.putI32(BB.chunkSeg), bSegAcc = heap.putI32(BB.segLocal.map((l) => l * rowBytes)), bSegEnd = heap.putI32(BB.segEnd);
      const bRowInt = heap.putI32(BB.rowInt), bOff = heap.putI32(BB.bCons.map((c) => (N + c) * rowBytes)), bW = heap.putF32(BB.bW);
      const FS = forwardScatter(L, R, P, Math.min(R, sub));
      const sEdge = heap.putI32(FS.chunkEdge), sAcc = heap.putI32(FS.bAccRow.map((l) => l * rowBytes)), sRowInt = heap.putI32(FS.rowInt);
      const sSrc = heap.putI32(FS.bRow.map((s) => (N + s) * rowBytes)), sW = heap.putF32(FS.bW);
      const scatterF = (pre) => x[`fwdScatter${nv}`](out, init, pre, rowBytes, N, H, R, acc, sEdge, sAcc, sRowInt, sSrc, sW);
      const pieceVariants = pieceLens.map((Lp) => {
        const FP = forwardPieces(FB, Lp);
        const cp = heap.putI32(FP.chunkPiece), pa = heap.putI32(FP.pAccRow.map((l) => l * rowBytes));
        const psrc = heap.putI32(FP.pRow.map((s) => (N + s) * rowBytes)), pw = heap.putF32(FP.pW);
        const fn = (pre) => x[`fwdPieces${nv}L${Lp}`](out, init, pre, rowBytes, N, H, R, acc, cp, pa, psrc, pw, fRowInt, fSrc, fW);
        return { L: Lp, padding: FP.padding, fn };
      });
      const blockedF = (pre) => fwdB(out, init, pre, rowBytes, N, H, R, acc, fSeg, fSegAcc, fSegEnd, fRowInt, fSrc, fW);
      const blockedB = (gp) => bwdB(out, delta, gp, rowBytes, N, H, R, direct, scratch, acc, bSeg, bSegAcc, bSegEnd, bRowInt, bOff, bW);

      // correctness: pre-activations, then δ and g (both backward variants on the plain forward's σ)
      blockedF(preB);
      plainF(preA);
      const fwdDiff = maxRelDiff(heap.f32(preA, H * T).slice(), heap.f32(preB, H * T).slice());
      scatterF(preB);
      const scDiff = maxRelDiff(heap.f32(preA, H * T).slice(), heap.f32(preB, H * T).slice());
      for (const pv of pieceVariants) {
        pv.fn(preB);
        pv.diff = maxRelDiff(heap.f32(preA, H * T).slice(), heap.f32(preB, H * T).slice());
      }
      plainF(0);
      heap.f32(g, E).fill(0); heap.f32(gB, E).fill(0);
      plainB(g);
      const dA = heap.f32(delta + N * rowBytes, H * T).slice();
      blockedB(gB);
      const dB = heap.f32(delta + N * rowBytes, H * T).slice();
      const bwdDiff = maxRelDiff(dA, dB);
      const gA = heap.f32(g, E), gBv = heap.f32(gB, E), gPerm = new Float32Array(E);
      for (let i = 0; i < E; i++) gPerm[BB.qOf[i]] = gBv[i];
      const gDiff = maxRelDiff(gA.slice(), gPerm);

      const [fp, fb, fs, bp, bb, ...fpc] = timeInterleaved([() => plainF(0), () => blockedF(0), () => scatterF(0), () => plainB(g), () => blockedB(gB), ...pieceVariants.map((v) => () => v.fn(0))]);
      const ps = (ms) => (ms * 1e9) / (E * T);
      const gs = (ms) => (E * T) / ms / 1e6;
      const segF = FB.segEnd.length, segB = BB.segEnd.length;
      console.log(`K ${K} T ${T} R ${R} (acc ${(R * rowBytes / 1024).toFixed(0)} KiB) P ${P} (block ${(P * rowBytes / 1024).toFixed(0)} KiB): chunks ${FB.chunks}; forward: external edges ${(100 * FB.external / E).toFixed(1)} %, ${(FB.external / Math.max(1, segF)).toFixed(2)} edges/segment; backward ${(BB.external / Math.max(1, segB)).toFixed(2)} edges/segment; layouts built in JS: forward ${(tb1 - tb0).toFixed(0)} ms, backward ${(tb2 - tb1).toFixed(0)} ms`);
      console.log(`  forward  plain ${fp.toFixed(3)} ms = ${ps(fp).toFixed(1)} ps/edge-sample (${gs(fp).toFixed(2)} G/s) | blocked ${fb.toFixed(3)} ms = ${ps(fb).toFixed(1)} ps (${gs(fb).toFixed(2)} G/s) | blocked/plain ${(fb / fp).toFixed(2)} | check pre-activations max rel diff ${fwdDiff.rel.toExponential(2)} (max |diff|/rms ${fwdDiff.absOverRms.toExponential(2)})`);
      console.log(`  forward  scatter-form blocked ${fs.toFixed(3)} ms = ${ps(fs).toFixed(1)} ps (${gs(fs).toFixed(2)} G/s) | scatter/plain ${(fs / fp).toFixed(2)} | check max rel diff ${scDiff.rel.toExponential(2)} (|diff|/rms ${scDiff.absOverRms.toExponential(2)})`);
      pieceVariants.forEach((v, i) => console.log(`  forward  pieces of ${v.L} blocked ${fpc[i].toFixed(3)} ms = ${ps(fpc[i]).toFixed(1)} ps (${gs(fpc[i]).toFixed(2)} G/s) | pieces/plain ${(fpc[i] / fp).toFixed(2)} | padding ${(100 * v.padding).toFixed(0)} % extra gathers | check max rel diff ${v.diff.rel.toExponential(2)} (|diff|/rms ${v.diff.absOverRms.toExponential(2)})`));
      console.log(`  backward plain ${bp.toFixed(3)} ms = ${ps(bp).toFixed(1)} ps/edge-sample (${gs(bp).toFixed(2)} G/s) | blocked ${bb.toFixed(3)} ms = ${ps(bb).toFixed(1)} ps (${gs(bb).toFixed(2)} G/s) | blocked/plain ${(bb / bp).toFixed(2)} | check δ max rel diff ${bwdDiff.rel.toExponential(2)} (|diff|/rms ${bwdDiff.absOverRms.toExponential(2)}), g ${gDiff.rel.toExponential(2)} (|diff|/rms ${gDiff.absOverRms.toExponential(2)})`);
      results.push({ K, T, R, P, fp: ps(fp), fb: ps(fb), fs: ps(fs), fpc: fpc.map(ps), bp: ps(bp), bb: ps(bb) });
    }
  }
}

// ratios: per T, the largest K against the smallest, plain vs plain and blocked vs the small size's plain
const kMin = Math.min(...sizes), kMax = Math.max(...sizes);
console.log(`\n# per-edge cost ratio K ${kMax} / K ${kMin} (ps per edge-sample; the small size's own blocked run for "blocked", plain in brackets)`);
for (const T of tiles) {
  const small = results.filter((r) => r.K === kMin && r.T === T);
  const big = results.filter((r) => r.K === kMax && r.T === T);
  if (!small.length || !big.length) continue;
  const s = small[0];
  for (const b of big) {
    console.log(`T ${T} R ${b.R} P ${b.P}: forward plain ${(b.fp / s.fp).toFixed(2)}×, blocked ${(b.fb / s.fb).toFixed(2)}× (${(b.fb / s.fp).toFixed(2)}×), scatter-form ${(b.fs / s.fs).toFixed(2)}× (${(b.fs / s.fp).toFixed(2)}×); backward plain ${(b.bp / s.bp).toFixed(2)}×, blocked ${(b.bb / s.bb).toFixed(2)}× (${(b.bb / s.bp).toFixed(2)}×); fwd+bwd plain ${((b.fp + b.bp) / (s.fp + s.bp)).toFixed(2)}×, blocked ${((Math.min(b.fb, b.fs) + b.bb) / (s.fp + s.bp)).toFixed(2)}× of the small plain (better forward variant)`);
  }
}
{
  // best over tiles and variants at each size (what an engine free to pick T and the variant would get)
  const bestOf = (K, keys) => Math.min(...results.filter((r) => r.K === K).flatMap((r) => keys.flatMap((k) => [r[k]].flat())));
  const f0 = bestOf(kMin, ["fp"]), b0 = bestOf(kMin, ["bp"]);
  const fP = bestOf(kMax, ["fp"]), bP = bestOf(kMax, ["bp"]);
  const fB = bestOf(kMax, ["fb", "fs", "fpc"]), bB = bestOf(kMax, ["bb"]);
  console.log(`best over tiles: K ${kMin} plain forward ${f0.toFixed(1)} ps, backward ${b0.toFixed(1)} ps; K ${kMax} plain ${fP.toFixed(1)} / ${bP.toFixed(1)} ps (${(fP / f0).toFixed(2)}×, ${(bP / b0).toFixed(2)}×, fwd+bwd ${((fP + bP) / (f0 + b0)).toFixed(2)}×), blocked ${fB.toFixed(1)} / ${bB.toFixed(1)} ps (${(fB / f0).toFixed(2)}×, ${(bB / b0).toFixed(2)}×, fwd+bwd ${((fB + bB) / (f0 + b0)).toFixed(2)}×)`);
}
