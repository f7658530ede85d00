/**
 * Issue 16 measurement probe (not part of the engine): does cache blocking by source block bring
 * the per-edge cost of the forward gather / backward pull at 170,000 neurons near that at 1,700?
 * Built and driven by scripts/blocking-probe.mjs, which lays out the edges; nothing here allocates.
 *
 * Tile buffers exactly as in assembly/index.ts: row-major by pos with row stride T samples
 * (rowBytes = T·4), row offsets in the edge arrays are byte offsets pos·rowBytes. Edges from inputs
 * are skipped in every kernel (with one-hot inputs the engine handles them separately per sample,
 * identically for both variants); each non-input row instead starts from an `init` row, standing for
 * bias + the one-hot scatter that the engine puts into the row before the gather.
 *
 * nv = vectors per strip: 4 (strips of 16 samples, T a multiple of 16, the engine's kernel), 2 (T = 8),
 * 1 (T = 4). The same inner loops serve the plain (row order) and the blocked variants, so only the
 * order of the edges and the accumulators' home differ.
 */

@inline function hsum(v: v128): f32 {
  const a = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(a, f32x4.shuffle(a, a, 1, 0, 3, 2)), 0);
}

@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(f32x4.shuffle(a, b, 0, 4, 2, 6), f32x4.shuffle(a, b, 1, 5, 3, 7));
  const cd = f32x4.add(f32x4.shuffle(c, d, 0, 4, 2, 6), f32x4.shuffle(c, d, 1, 5, 3, 7));
  return f32x4.add(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

@inline function relu(a: v128): v128 {
  return f32x4.max(a, f32x4.splat(0));
}

/**
 * One accumulator row over all strips: a = accIn + Σ_{e in [e0, e1)} w_e · out[src_e]; then, where
 * the pointers are non-zero, a → pre (check copy), a → accOut, relu(a) → reluOut. Two edges per step
 * as forwardTile.
 */
@inline function gatherRow(
  nv: i32, out: usize, src: usize, w: usize, e0: i32, e1: i32, rowBytes: usize,
  accIn: usize, accOut: usize, reluOut: usize, pre: usize,
): void {
  const stripBytes: usize = <usize>nv << 4;
  for (let s: usize = 0; s < rowBytes; s += stripBytes) {
    let a0 = v128.load(accIn + s);
    let a1 = nv > 1 ? v128.load(accIn + s, 16) : a0;
    let a2 = nv > 2 ? v128.load(accIn + s, 32) : a0;
    let a3 = nv > 2 ? v128.load(accIn + s, 48) : a0;
    let e = e0;
    for (; e + 1 < e1; e += 2) {
      const ea = <usize>e << 2;
      const p0 = out + <usize>load<u32>(src + ea) + s;
      const p1 = out + <usize>load<u32>(src + ea, 4) + s;
      const w0 = v128.load_splat<f32>(w + ea);
      const w1 = v128.load_splat<f32>(w + ea, 4);
      a0 = f32x4.add(a0, f32x4.add(f32x4.mul(w0, v128.load(p0)), f32x4.mul(w1, v128.load(p1))));
      if (nv > 1) a1 = f32x4.add(a1, f32x4.add(f32x4.mul(w0, v128.load(p0, 16)), f32x4.mul(w1, v128.load(p1, 16))));
      if (nv > 2) {
        a2 = f32x4.add(a2, f32x4.add(f32x4.mul(w0, v128.load(p0, 32)), f32x4.mul(w1, v128.load(p1, 32))));
        a3 = f32x4.add(a3, f32x4.add(f32x4.mul(w0, v128.load(p0, 48)), f32x4.mul(w1, v128.load(p1, 48))));
      }
    }
    if (e < e1) {
      const ea = <usize>e << 2;
      const p0 = out + <usize>load<u32>(src + ea) + s;
      const w0 = v128.load_splat<f32>(w + ea);
      a0 = f32x4.add(a0, f32x4.mul(w0, v128.load(p0)));
      if (nv > 1) a1 = f32x4.add(a1, f32x4.mul(w0, v128.load(p0, 16)));
      if (nv > 2) {
        a2 = f32x4.add(a2, f32x4.mul(w0, v128.load(p0, 32)));
        a3 = f32x4.add(a3, f32x4.mul(w0, v128.load(p0, 48)));
      }
    }
    if (pre != 0) {
      v128.store(pre + s, a0);
      if (nv > 1) v128.store(pre + s, a1, 16);
      if (nv > 2) { v128.store(pre + s, a2, 32); v128.store(pre + s, a3, 48); }
    }
    if (accOut != 0) {
      v128.store(accOut + s, a0);
      if (nv > 1) v128.store(accOut + s, a1, 16);
      if (nv > 2) { v128.store(accOut + s, a2, 32); v128.store(accOut + s, a3, 48); }
    }
    if (reluOut != 0) {
      v128.store(reluOut + s, relu(a0));
      if (nv > 1) v128.store(reluOut + s, relu(a1), 16);
      if (nv > 2) { v128.store(reluOut + s, relu(a2), 32); v128.store(reluOut + s, relu(a3), 48); }
    }
  }
}

/**
 * (a) Plain forward, forwardTile's non-input part: rows 0..H−1 in evaluation order, row r's first
 * rowHidden[r] edges (slots r·D…) gathered from the whole tile buffer. pre (0 = off): H rows.
 */
@inline function fwdPlain(nv: i32, out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, D: i32, rowSrc: usize, rowW: usize, rowHidden: usize): void {
  for (let r = 0; r < H; r++) {
    const e0 = r * D;
    const e1 = e0 + load<i32>(rowHidden + (<usize>r << 2));
    gatherRow(nv, out, rowSrc, rowW, e0, e1, rowBytes, init + <usize>r * rowBytes, 0,
      out + <usize>(N + r) * rowBytes, pre != 0 ? pre + <usize>r * rowBytes : 0);
  }
}
export function fwdPlain4(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, D: i32, rowSrc: usize, rowW: usize, rowHidden: usize): void { fwdPlain(4, out, init, pre, rowBytes, N, H, D, rowSrc, rowW, rowHidden); }
export function fwdPlain2(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, D: i32, rowSrc: usize, rowW: usize, rowHidden: usize): void { fwdPlain(2, out, init, pre, rowBytes, N, H, D, rowSrc, rowW, rowHidden); }
export function fwdPlain1(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, D: i32, rowSrc: usize, rowW: usize, rowHidden: usize): void { fwdPlain(1, out, init, pre, rowBytes, N, H, D, rowSrc, rowW, rowHidden); }

/**
 * (b) Blocked forward. Rows in chunks of R; per chunk c (rows r0..r1):
 *   1. acc[i] = init[r0 + i] (R rows, in L2);
 *   2. segments chunkSeg[c]..chunkSeg[c+1]: each one (acc row byte offset segAcc[s], edges
 *      segEnd[s−1]..segEnd[s]) accumulates edges from sources BEFORE the chunk; the segments come
 *      grouped by source block (P consecutive pos), so the gathered rows of one block stay in L2;
 *   3. rows r0..r1 in order: acc row + edges from sources inside the chunk (rowInt[r]..rowInt[r+1]),
 *      relu into out.
 * Edge arrays bSrc/bW hold the segments' edges first, then the internal ones.
 */
@inline function fwdBlocked(
  nv: i32, out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32,
  acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bSrc: usize, bW: usize,
): void {
  const chunks = (H + R - 1) / R;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R;
    const r1 = min(H, r0 + R);
    memory.copy(acc, init + <usize>r0 * rowBytes, <usize>(r1 - r0) * rowBytes);
    const s1 = load<i32>(chunkSeg + (<usize>c << 2), 4);
    let s = load<i32>(chunkSeg + (<usize>c << 2));
    let e = s > 0 ? load<i32>(segEnd + (<usize>(s - 1) << 2)) : 0;
    for (; s < s1; s++) {
      const a = acc + <usize>load<u32>(segAcc + (<usize>s << 2));
      const e1 = load<i32>(segEnd + (<usize>s << 2));
      gatherRow(nv, out, bSrc, bW, e, e1, rowBytes, a, a, 0, 0);
      e = e1;
    }
    for (let r = r0; r < r1; r++) {
      const e0 = load<i32>(rowInt + (<usize>r << 2));
      const e1 = load<i32>(rowInt + (<usize>r << 2), 4);
      gatherRow(nv, out, bSrc, bW, e0, e1, rowBytes, acc + <usize>(r - r0) * rowBytes, 0,
        out + <usize>(N + r) * rowBytes, pre != 0 ? pre + <usize>r * rowBytes : 0);
    }
  }
}
export function fwdBlocked4(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdBlocked(4, out, init, pre, rowBytes, N, H, R, acc, chunkSeg, segAcc, segEnd, rowInt, bSrc, bW); }
export function fwdBlocked2(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdBlocked(2, out, init, pre, rowBytes, N, H, R, acc, chunkSeg, segAcc, segEnd, rowInt, bSrc, bW); }
export function fwdBlocked1(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdBlocked(1, out, init, pre, rowBytes, N, H, R, acc, chunkSeg, segAcc, segEnd, rowInt, bSrc, bW); }

/**
 * (c) Blocked forward, scatter form: as (b), but the external edges of a chunk are one long loop with
 * no segments (no short variable-length loops, whose exits mispredict): edge e adds w_e·out[src_e] to
 * the acc row at byte offset bAcc[e] (read-modify-write in L2). Within a (chunk, block) group the
 * edges are sorted by source, so consecutive edges never hit the same acc row (a neuron has distinct
 * sources) and the source row is reused from L1. chunkEdge[c]..chunkEdge[c+1]: the chunk's external edges.
 */
@inline function fwdScatter(
  nv: i32, out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32,
  acc: usize, chunkEdge: usize, bAcc: usize, rowInt: usize, bSrc: usize, bW: usize,
): void {
  const chunks = (H + R - 1) / R;
  const stripBytes: usize = <usize>nv << 4;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R;
    const r1 = min(H, r0 + R);
    memory.copy(acc, init + <usize>r0 * rowBytes, <usize>(r1 - r0) * rowBytes);
    const e1 = load<i32>(chunkEdge + (<usize>c << 2), 4);
    for (let e = load<i32>(chunkEdge + (<usize>c << 2)); e < e1; e++) {
      const ea = <usize>e << 2;
      const p = out + <usize>load<u32>(bSrc + ea);
      const a = acc + <usize>load<u32>(bAcc + ea);
      const w0 = v128.load_splat<f32>(bW + ea);
      for (let s: usize = 0; s < rowBytes; s += stripBytes) {
        v128.store(a + s, f32x4.add(v128.load(a + s), f32x4.mul(w0, v128.load(p + s))));
        if (nv > 1) v128.store(a + s, f32x4.add(v128.load(a + s, 16), f32x4.mul(w0, v128.load(p + s, 16))), 16);
        if (nv > 2) {
          v128.store(a + s, f32x4.add(v128.load(a + s, 32), f32x4.mul(w0, v128.load(p + s, 32))), 32);
          v128.store(a + s, f32x4.add(v128.load(a + s, 48), f32x4.mul(w0, v128.load(p + s, 48))), 48);
        }
      }
    }
    for (let r = r0; r < r1; r++) {
      const f0 = load<i32>(rowInt + (<usize>r << 2));
      const f1 = load<i32>(rowInt + (<usize>r << 2), 4);
      gatherRow(nv, out, bSrc, bW, f0, f1, rowBytes, acc + <usize>(r - r0) * rowBytes, 0,
        out + <usize>(N + r) * rowBytes, pre != 0 ? pre + <usize>r * rowBytes : 0);
    }
  }
}
export function fwdScatter4(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkEdge: usize, bAcc: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdScatter(4, out, init, pre, rowBytes, N, H, R, acc, chunkEdge, bAcc, rowInt, bSrc, bW); }
export function fwdScatter2(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkEdge: usize, bAcc: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdScatter(2, out, init, pre, rowBytes, N, H, R, acc, chunkEdge, bAcc, rowInt, bSrc, bW); }
export function fwdScatter1(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkEdge: usize, bAcc: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdScatter(1, out, init, pre, rowBytes, N, H, R, acc, chunkEdge, bAcc, rowInt, bSrc, bW); }

/**
 * (d) Blocked forward, fixed-length pieces: the segments of (b) cut into pieces of exactly L edges
 * (the last piece of a segment padded with weight-0 edges repeating its last source, an L1 hit), so
 * the inner loop has no data-dependent trip count; each piece adds its L gathers to one acc row.
 * Piece p: acc row byte offset pAcc[p], sources pSrc[p·L..], weights pW[p·L..]; chunkPiece[c]..
 * chunkPiece[c+1] the chunk's pieces; internal edges as in (b).
 */
@inline function fwdPieces(
  nv: i32, L: i32, out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32,
  acc: usize, chunkPiece: usize, pAcc: usize, pSrc: usize, pW: usize, rowInt: usize, bSrc: usize, bW: usize,
): void {
  const chunks = (H + R - 1) / R;
  const stripBytes: usize = <usize>nv << 4;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * R;
    const r1 = min(H, r0 + R);
    memory.copy(acc, init + <usize>r0 * rowBytes, <usize>(r1 - r0) * rowBytes);
    const p1 = load<i32>(chunkPiece + (<usize>c << 2), 4);
    for (let p = load<i32>(chunkPiece + (<usize>c << 2)); p < p1; p++) {
      const a = acc + <usize>load<u32>(pAcc + (<usize>p << 2));
      const ea = <usize>(p * L) << 2;
      const q0 = out + <usize>load<u32>(pSrc + ea);
      const q1 = out + <usize>load<u32>(pSrc + ea, 4);
      const q2 = L > 2 ? out + <usize>load<u32>(pSrc + ea, 8) : q0;
      const q3 = L > 2 ? out + <usize>load<u32>(pSrc + ea, 12) : q0;
      const w0 = v128.load_splat<f32>(pW + ea);
      const w1 = v128.load_splat<f32>(pW + ea, 4);
      const w2 = L > 2 ? v128.load_splat<f32>(pW + ea, 8) : w0;
      const w3 = L > 2 ? v128.load_splat<f32>(pW + ea, 12) : w0;
      for (let o: usize = 0; o < rowBytes; o += 16) {
        {
          let t = f32x4.add(f32x4.mul(w0, v128.load(q0 + o)), f32x4.mul(w1, v128.load(q1 + o)));
          if (L > 2) t = f32x4.add(t, f32x4.add(f32x4.mul(w2, v128.load(q2 + o)), f32x4.mul(w3, v128.load(q3 + o))));
          v128.store(a + o, f32x4.add(v128.load(a + o), t));
        }
      }
    }
    for (let r = r0; r < r1; r++) {
      const f0 = load<i32>(rowInt + (<usize>r << 2));
      const f1 = load<i32>(rowInt + (<usize>r << 2), 4);
      gatherRow(nv, out, bSrc, bW, f0, f1, rowBytes, acc + <usize>(r - r0) * rowBytes, 0,
        out + <usize>(N + r) * rowBytes, pre != 0 ? pre + <usize>r * rowBytes : 0);
    }
  }
}
export function fwdPieces4L4(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkPiece: usize, pAcc: usize, pSrc: usize, pW: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdPieces(4, 4, out, init, pre, rowBytes, N, H, R, acc, chunkPiece, pAcc, pSrc, pW, rowInt, bSrc, bW); }
export function fwdPieces4L2(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkPiece: usize, pAcc: usize, pSrc: usize, pW: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdPieces(4, 2, out, init, pre, rowBytes, N, H, R, acc, chunkPiece, pAcc, pSrc, pW, rowInt, bSrc, bW); }
export function fwdPieces2L4(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkPiece: usize, pAcc: usize, pSrc: usize, pW: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdPieces(2, 4, out, init, pre, rowBytes, N, H, R, acc, chunkPiece, pAcc, pSrc, pW, rowInt, bSrc, bW); }
export function fwdPieces2L2(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkPiece: usize, pAcc: usize, pSrc: usize, pW: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdPieces(2, 2, out, init, pre, rowBytes, N, H, R, acc, chunkPiece, pAcc, pSrc, pW, rowInt, bSrc, bW); }
export function fwdPieces1L4(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkPiece: usize, pAcc: usize, pSrc: usize, pW: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdPieces(1, 4, out, init, pre, rowBytes, N, H, R, acc, chunkPiece, pAcc, pSrc, pW, rowInt, bSrc, bW); }
export function fwdPieces1L2(out: usize, init: usize, pre: usize, rowBytes: usize, N: i32, H: i32, R: i32, acc: usize, chunkPiece: usize, pAcc: usize, pSrc: usize, pW: usize, rowInt: usize, bSrc: usize, bW: usize): void { fwdPieces(1, 2, out, init, pre, rowBytes, N, H, R, acc, chunkPiece, pAcc, pSrc, pW, rowInt, bSrc, bW); }

/**
 * Backward pull of one accumulator row over all strips (pullNeuron's structure: four consumers per
 * step, three partial gradient vectors through `scratch`, hsum4): d = accIn (0 if none) +
 * Σ_{e in [e0, e1)} w_e·δ[c_e]; g[e] += Σ_lanes ov·δ[c_e] (ov = σ row of the neuron pulled into). Then
 * d → accOut (raw) and/or δ = [ov > 0]·d + direct → dOut, where non-zero.
 */
@inline function pullRow(
  nv: i32, delta: usize, g: usize, w: usize, cOff: usize, e0: i32, e1: i32, rowBytes: usize,
  ovRow: usize, accIn: usize, accOut: usize, dOut: usize, direct: usize, scratch: usize,
): void {
  const stripBytes: usize = <usize>nv << 4;
  for (let s: usize = 0; s < rowBytes; s += stripBytes) {
    const ov0 = v128.load(ovRow + s);
    const ov1 = nv > 1 ? v128.load(ovRow + s, 16) : ov0;
    const ov2 = nv > 2 ? v128.load(ovRow + s, 32) : ov0;
    const ov3 = nv > 2 ? v128.load(ovRow + s, 48) : ov0;
    let d0 = f32x4.splat(0), d1 = f32x4.splat(0), d2 = f32x4.splat(0), d3 = f32x4.splat(0);
    if (accIn != 0) {
      d0 = v128.load(accIn + s);
      if (nv > 1) d1 = v128.load(accIn + s, 16);
      if (nv > 2) { d2 = v128.load(accIn + s, 32); d3 = v128.load(accIn + s, 48); }
    }
    let q = e0;
    for (; q + 3 < e1; q += 4) {
      const qa = <usize>q << 2;
      const za = delta + <usize>load<u32>(cOff + qa) + s;
      const zb = delta + <usize>load<u32>(cOff + qa, 4) + s;
      const zc = delta + <usize>load<u32>(cOff + qa, 8) + s;
      const zd = delta + <usize>load<u32>(cOff + qa, 12) + s;
      const wa = v128.load_splat<f32>(w + qa);
      const wb = v128.load_splat<f32>(w + qa, 4);
      const wc = v128.load_splat<f32>(w + qa, 8);
      const wd = v128.load_splat<f32>(w + qa, 12);
      let x0 = v128.load(za), x1 = nv > 1 ? v128.load(za, 16) : x0, x2 = nv > 2 ? v128.load(za, 32) : x0, x3 = nv > 2 ? v128.load(za, 48) : x0;
      d0 = f32x4.add(d0, f32x4.mul(wa, x0));
      if (nv > 1) d1 = f32x4.add(d1, f32x4.mul(wa, x1));
      if (nv > 2) { d2 = f32x4.add(d2, f32x4.mul(wa, x2)); d3 = f32x4.add(d3, f32x4.mul(wa, x3)); }
      v128.store(scratch, nv == 1 ? f32x4.mul(ov0, x0) : nv == 2 ? f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)) : f32x4.add(f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)), f32x4.add(f32x4.mul(ov2, x2), f32x4.mul(ov3, x3))), 0);
      x0 = v128.load(zb); if (nv > 1) x1 = v128.load(zb, 16); if (nv > 2) { x2 = v128.load(zb, 32); x3 = v128.load(zb, 48); }
      d0 = f32x4.add(d0, f32x4.mul(wb, x0));
      if (nv > 1) d1 = f32x4.add(d1, f32x4.mul(wb, x1));
      if (nv > 2) { d2 = f32x4.add(d2, f32x4.mul(wb, x2)); d3 = f32x4.add(d3, f32x4.mul(wb, x3)); }
      v128.store(scratch, nv == 1 ? f32x4.mul(ov0, x0) : nv == 2 ? f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)) : f32x4.add(f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)), f32x4.add(f32x4.mul(ov2, x2), f32x4.mul(ov3, x3))), 16);
      x0 = v128.load(zc); if (nv > 1) x1 = v128.load(zc, 16); if (nv > 2) { x2 = v128.load(zc, 32); x3 = v128.load(zc, 48); }
      d0 = f32x4.add(d0, f32x4.mul(wc, x0));
      if (nv > 1) d1 = f32x4.add(d1, f32x4.mul(wc, x1));
      if (nv > 2) { d2 = f32x4.add(d2, f32x4.mul(wc, x2)); d3 = f32x4.add(d3, f32x4.mul(wc, x3)); }
      v128.store(scratch, nv == 1 ? f32x4.mul(ov0, x0) : nv == 2 ? f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)) : f32x4.add(f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)), f32x4.add(f32x4.mul(ov2, x2), f32x4.mul(ov3, x3))), 32);
      x0 = v128.load(zd); if (nv > 1) x1 = v128.load(zd, 16); if (nv > 2) { x2 = v128.load(zd, 32); x3 = v128.load(zd, 48); }
      d0 = f32x4.add(d0, f32x4.mul(wd, x0));
      if (nv > 1) d1 = f32x4.add(d1, f32x4.mul(wd, x1));
      if (nv > 2) { d2 = f32x4.add(d2, f32x4.mul(wd, x2)); d3 = f32x4.add(d3, f32x4.mul(wd, x3)); }
      const gd = nv == 1 ? f32x4.mul(ov0, x0) : nv == 2 ? f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)) : f32x4.add(f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)), f32x4.add(f32x4.mul(ov2, x2), f32x4.mul(ov3, x3)));
      const gp = g + qa;
      v128.store(gp, f32x4.add(v128.load(gp), hsum4(v128.load(scratch), v128.load(scratch, 16), v128.load(scratch, 32), gd)));
    }
    for (; q < e1; q++) {
      const qa = <usize>q << 2;
      const za = delta + <usize>load<u32>(cOff + qa) + s;
      const wa = v128.load_splat<f32>(w + qa);
      const x0 = v128.load(za), x1 = nv > 1 ? v128.load(za, 16) : x0, x2 = nv > 2 ? v128.load(za, 32) : x0, x3 = nv > 2 ? v128.load(za, 48) : x0;
      d0 = f32x4.add(d0, f32x4.mul(wa, x0));
      if (nv > 1) d1 = f32x4.add(d1, f32x4.mul(wa, x1));
      if (nv > 2) { d2 = f32x4.add(d2, f32x4.mul(wa, x2)); d3 = f32x4.add(d3, f32x4.mul(wa, x3)); }
      const ga = nv == 1 ? f32x4.mul(ov0, x0) : nv == 2 ? f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)) : f32x4.add(f32x4.add(f32x4.mul(ov0, x0), f32x4.mul(ov1, x1)), f32x4.add(f32x4.mul(ov2, x2), f32x4.mul(ov3, x3)));
      store<f32>(g + qa, load<f32>(g + qa) + hsum(ga));
    }
    if (accOut != 0) {
      v128.store(accOut + s, d0);
      if (nv > 1) v128.store(accOut + s, d1, 16);
      if (nv > 2) { v128.store(accOut + s, d2, 32); v128.store(accOut + s, d3, 48); }
    }
    if (dOut != 0) {
      const zero = f32x4.splat(0);
      d0 = v128.and(d0, f32x4.gt(ov0, zero));
      if (nv > 1) d1 = v128.and(d1, f32x4.gt(ov1, zero));
      if (nv > 2) { d2 = v128.and(d2, f32x4.gt(ov2, zero)); d3 = v128.and(d3, f32x4.gt(ov3, zero)); }
      if (direct != 0) {
        d0 = f32x4.add(d0, v128.load(direct + s));
        if (nv > 1) d1 = f32x4.add(d1, v128.load(direct + s, 16));
        if (nv > 2) { d2 = f32x4.add(d2, v128.load(direct + s, 32)); d3 = f32x4.add(d3, v128.load(direct + s, 48)); }
      }
      v128.store(dOut + s, d0);
      if (nv > 1) v128.store(dOut + s, d1, 16);
      if (nv > 2) { v128.store(dOut + s, d2, 32); v128.store(dOut + s, d3, 48); }
    }
  }
}

/**
 * (a) Plain backward, backwardTile's non-input part: rows H−1..0, row r pulls over its consumers
 * cStart[r]..cStart[r+1] (canonical order, consumer byte offsets cOff, weights wT, gradients g).
 * direct (0 = none) per row: byte offset of an output's loss-gradient row, else 0.
 */
@inline function bwdPlain(nv: i32, out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, cStart: usize, cOff: usize, wT: usize, direct: usize, scratch: usize): void {
  for (let r = H - 1; r >= 0; r--) {
    const row = <usize>(N + r) * rowBytes;
    const q0 = load<i32>(cStart + (<usize>r << 2));
    const q1 = load<i32>(cStart + (<usize>r << 2), 4);
    const dr = load<u32>(direct + (<usize>r << 2));
    pullRow(nv, delta, g, wT, cOff, q0, q1, rowBytes, out + row, 0, 0, delta + row, dr != 0 ? <usize>dr : 0, scratch);
  }
}
export function bwdPlain4(out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, cStart: usize, cOff: usize, wT: usize, direct: usize, scratch: usize): void { bwdPlain(4, out, delta, g, rowBytes, N, H, cStart, cOff, wT, direct, scratch); }
export function bwdPlain2(out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, cStart: usize, cOff: usize, wT: usize, direct: usize, scratch: usize): void { bwdPlain(2, out, delta, g, rowBytes, N, H, cStart, cOff, wT, direct, scratch); }
export function bwdPlain1(out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, cStart: usize, cOff: usize, wT: usize, direct: usize, scratch: usize): void { bwdPlain(1, out, delta, g, rowBytes, N, H, cStart, cOff, wT, direct, scratch); }

/**
 * (b) Blocked backward, the mirror image. Chunks of R rows from the last; per chunk (rows r0..r1):
 *   1. acc = 0 (R rows);
 *   2. segments chunkSeg[c]..chunkSeg[c+1] (acc row offset segAcc[s] = local row·rowBytes, edges
 *      segEnd[s−1]..segEnd[s]): consumers AFTER the chunk (their δ final), grouped by consumer block
 *      of P pos so that the pulled δ rows of one block stay in L2; g of those edges at their slot in
 *      this order;
 *   3. rows r1−1..r0: acc row + consumers inside the chunk (rowInt[r]..rowInt[r+1]), σ', direct → δ.
 */
@inline function bwdBlocked(
  nv: i32, out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, R: i32, direct: usize, scratch: usize,
  acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bOff: usize, bW: usize,
): void {
  const chunks = (H + R - 1) / R;
  for (let c = chunks - 1; c >= 0; c--) {
    const r0 = c * R;
    const r1 = min(H, r0 + R);
    memory.fill(acc, 0, <usize>(r1 - r0) * rowBytes);
    const ovBase = out + <usize>(N + r0) * rowBytes;
    const s1 = load<i32>(chunkSeg + (<usize>c << 2), 4);
    let s = load<i32>(chunkSeg + (<usize>c << 2));
    let e = s > 0 ? load<i32>(segEnd + (<usize>(s - 1) << 2)) : 0;
    for (; s < s1; s++) {
      const off = <usize>load<u32>(segAcc + (<usize>s << 2));
      const e1 = load<i32>(segEnd + (<usize>s << 2));
      pullRow(nv, delta, g, bW, bOff, e, e1, rowBytes, ovBase + off, acc + off, acc + off, 0, 0, scratch);
      e = e1;
    }
    for (let r = r1 - 1; r >= r0; r--) {
      const row = <usize>(N + r) * rowBytes;
      const e0 = load<i32>(rowInt + (<usize>r << 2));
      const e1 = load<i32>(rowInt + (<usize>r << 2), 4);
      const dr = load<u32>(direct + (<usize>r << 2));
      pullRow(nv, delta, g, bW, bOff, e0, e1, rowBytes, out + row, acc + <usize>(r - r0) * rowBytes, 0, delta + row, dr != 0 ? <usize>dr : 0, scratch);
    }
  }
}
export function bwdBlocked4(out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, R: i32, direct: usize, scratch: usize, acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bOff: usize, bW: usize): void { bwdBlocked(4, out, delta, g, rowBytes, N, H, R, direct, scratch, acc, chunkSeg, segAcc, segEnd, rowInt, bOff, bW); }
export function bwdBlocked2(out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, R: i32, direct: usize, scratch: usize, acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bOff: usize, bW: usize): void { bwdBlocked(2, out, delta, g, rowBytes, N, H, R, direct, scratch, acc, chunkSeg, segAcc, segEnd, rowInt, bOff, bW); }
export function bwdBlocked1(out: usize, delta: usize, g: usize, rowBytes: usize, N: i32, H: i32, R: i32, direct: usize, scratch: usize, acc: usize, chunkSeg: usize, segAcc: usize, segEnd: usize, rowInt: usize, bOff: usize, bW: usize): void { bwdBlocked(1, out, delta, g, rowBytes, N, H, R, direct, scratch, acc, chunkSeg, segAcc, segEnd, rowInt, bOff, bW); }

export function heapBase(): usize {
  return __heap_base;
}
