/**
 * sparsewire WebAssembly SIMD kernels: the whole training step of a fixed-in-degree sparse DAG
 * (Def. 3.20 forward, softmax cross-entropy in bits / squared error, backward in reverse evaluation
 * order as in Example 4.9, Adam or SGD) for one thread's share of the batch. The plain TypeScript
 * reference engine (src/engine/reference) is the definition; this file is only allowed to be faster.
 *
 * No allocation, no runtime: all memory is laid out by the TypeScript side (src/engine/wasm/engine.ts)
 * and described by a context block ("ctx", i32/f32 fields at the byte offsets exported below, which
 * the TypeScript side reads from the instance). Several instances (one per thread) share one memory;
 * they share nothing else.
 *
 * Legend: K neurons, N inputs, M outputs, D in-degree, H = K − N rows, E = H·D edges, B batch,
 * T tile width (samples per tile, a power of two ≥ 16), S = 16 samples per strip (four f32x4).
 *
 * Internal numbering ("pos"): inputs keep 0..N−1; the non-input neuron at place r of the evaluation
 * order gets pos N + r, so the forward pass walks rows 0..H−1 and writes its activations sequentially.
 * Edges exist in two orders:
 *   row order f = r·D + j   (forward gather): rowSrc[f] = source pos·T·4 (its byte offset in a tile
 *                           buffer), rowW[f] weight; per row the rowHidden[r] edges from non-inputs
 *                           come first, then those from inputs.
 *   canonical order q       (the transposed graph, CSR by source pos: consumers of pos s are
 *                           q in cStart[s]..cStart[s+1), cPos[q] = consumer pos·T·4, ascending):
 *                           wT[q] weight, Adam moments mW/vW[q], per-thread gradients g[q], and
 *                           fwdIndex[q] = its f. Edges from inputs are the first cStart[N] slots.
 *                           With a blocked backward pull (CTX_BLOCK_ROWS > 0) the slots of edges from
 *                           non-inputs are instead in backwardBlocked's visiting order.
 * Backward PULLS over the canonical order: each neuron sums w·δ over its consumers and accumulates
 * the gradients of its out-edges sequentially — no scatter, no atomics. With one-hot inputs, edges
 * from inputs are applied per sample (an input is 1 for few samples) instead of as rows of zeros,
 * through sample-major scratch copies so that the scattered accesses stay in L1 (scatterOneHot).
 *
 * Per-thread tile buffers, row-major by pos with row stride T: out[pos][T] = σ(a) (inputs: x),
 * delta[pos][T] = δ = ∂(mean loss)/∂a, logit[o][T] pre-activations of outputs, dlog[o][T] their
 * direct loss gradient. One tile of all neurons should stay in L2 (K·T·8 bytes).
 */

// ---- context block: byte offsets (read by src/engine/wasm/engine.ts from these exports) ----
export const LAYOUT_VERSION: i32 = 13;
export const CTX_K: i32 = 0;
export const CTX_N: i32 = 4;
export const CTX_M: i32 = 8;
export const CTX_D: i32 = 12;
export const CTX_H: i32 = 16;
export const CTX_E: i32 = 20;
export const CTX_T: i32 = 24;
export const CTX_B: i32 = 28;
export const CTX_INPUT_KIND: i32 = 32; // 0 one-hot, 1 dense
export const CTX_PER_SAMPLE: i32 = 36;
export const CTX_TARGET_KIND: i32 = 40; // 0 class (cross-entropy), 1 values, 2 class (sigmoid outputs, squared error), 3 the same with SET's code's gradient
export const CTX_MODE: i32 = 44; // MODE_*
export const CTX_ACTIVITY: i32 = 48; // 1: copy σ and δ of every neuron to actOut/actErr
export const CTX_THREADS: i32 = 52; // threads taking part in this command
export const CTX_ROW_SRC: i32 = 56;
export const CTX_ROW_W: i32 = 60;
export const CTX_ROW_HIDDEN: i32 = 64;
export const CTX_BIAS: i32 = 68;
export const CTX_OUT_INDEX: i32 = 72;
export const CTX_C_START: i32 = 76;
export const CTX_C_POS: i32 = 80;
export const CTX_W_T: i32 = 84;
export const CTX_FWD_INDEX: i32 = 88;
export const CTX_M_W: i32 = 92;
export const CTX_V_W: i32 = 96;
export const CTX_M_B: i32 = 100;
export const CTX_V_B: i32 = 104;
export const CTX_INPUTS: i32 = 108; // one-hot: i32 active[B·perSample]; dense: f32 x[N·B]
export const CTX_TARGETS: i32 = 112; // class: i32 classes[B]; values: f32 y[M·B]
export const CTX_ACT_OUT: i32 = 116; // f32 [K·B] by pos
export const CTX_ACT_ERR: i32 = 120; // f32 [K·B] by pos
export const CTX_LOGITS_OUT: i32 = 124; // f32 [M·B]
export const CTX_THREAD_BLOCKS: i32 = 128; // THREAD_STRIDE bytes per thread
export const CTX_OPTIMIZER: i32 = 132; // 0 Adam, 1 SGD
export const CTX_LR: i32 = 136; // f32: Adam: lr·c1 (bias correction of m folded in); SGD: lr
export const CTX_BETA1: i32 = 140; // f32 (SGD: momentum)
export const CTX_BETA2: i32 = 144; // f32
export const CTX_EPS: i32 = 148; // f32
export const CTX_C2: i32 = 152; // f32: 1/(1 − β2^t)
export const CTX_GRAD_SCALE: i32 = 156; // f32: MODE_UPDATE scales the summed gradients by this (clipping)
// Per-parameter Adam bias correction (0 = off: the global c1, c2 above): β1^τ and β2^τ of every
// parameter, τ its own step count, multiplied by β each step; CTX_LR is then the plain rate.
export const CTX_P1_W: i32 = 160;
export const CTX_P2_W: i32 = 164;
export const CTX_P1_B: i32 = 168;
export const CTX_P2_B: i32 = 172;
// Accumulated utility statistics of every edge slot (0 = off): Σ −w·g and Σ w²·g² over the steps
// since the host last cleared them, w before the step's update, g the step's (clipped) gradient.
export const CTX_ACC1_W: i32 = 176;
export const CTX_ACC2_W: i32 = 180;
export const CTX_WD: i32 = 184; // f32: L2 weight decay λ of the edge weights: g ← g + λ·w before the update (0: off)
// Dropout of hidden neurons in training commands (issue 15; src/engine/dropout.ts is the definition):
// u32 key per row (0 pointer = off), kept where fmix32(key ^ sample) ≥ threshold, scaled by 1/(1 − rate).
export const CTX_DROP_KEYS: i32 = 188;
export const CTX_DROP_THRESHOLD: i32 = 192; // u32
export const CTX_DROP_SCALE: i32 = 196; // f32
// Cache blocking of the backward pull (issue 16; 0 = off, today's row-by-row pull): rows per chunk R
// and consumer positions per block P (backwardBlocked). With blocking, the canonical slots of edges
// from non-inputs are in blocked order (see backwardBlocked; cStart of non-inputs is then unused).
export const CTX_BLOCK_ROWS: i32 = 200;
export const CTX_BLOCK_SPAN: i32 = 204;
export const CTX_C_ROW: i32 = 208; // u16 [E]: the source's row within its chunk, per canonical slot
export const CTX_C_CHUNK: i32 = 212; // i32 [2·chunks + 1]: chunk k (k = 0 the last) starts at [2k], its inside edges at [2k + 1]
export const CTX_SIZE: i32 = 256;

// per-thread block
export const TH_OUT: i32 = 0;
export const TH_DELTA: i32 = 4;
export const TH_LOGIT: i32 = 8;
export const TH_DLOG: i32 = 12;
export const TH_G: i32 = 16; // f32 [E] canonical order
export const TH_GB: i32 = 20; // f32 [H] by row
export const TH_CORRECT: i32 = 24; // i32
export const TH_LOSS: i32 = 32; // f64
export const TH_SQUARES: i32 = 40; // f64: Σ g² over this thread's parameter share (MODE_TRAIN_CLIPPED, phase 2)
export const TH_SCRATCH: i32 = 64; // 64 bytes of kernel scratch
export const THREAD_STRIDE: i32 = 128;

export const MODE_TRAIN: i32 = 0; // forward, loss, backward; phase 2 = optimiser update
export const MODE_GRADIENTS: i32 = 1; // forward, loss, backward; phase 2 = reduce gradients into thread 0
export const MODE_EVALUATE: i32 = 2; // forward, loss (sum and arg-max hits)
export const MODE_PREDICT: i32 = 3; // forward, logits to logitsOut
// Global-norm clipping needs the norm of the summed gradients before any update, so a clipped step
// is two commands: MODE_TRAIN_CLIPPED (backward; phase 2 = Σ g²), then MODE_UPDATE. The unclipped
// step stays one command (MODE_TRAIN) with the update behind the barrier, unchanged.
export const MODE_TRAIN_CLIPPED: i32 = 4; // forward, loss, backward; phase 2 = Σ g² (float64) of this thread's parameter share into TH_SQUARES
export const MODE_UPDATE: i32 = 5; // phase 1 only: optimiser update of this thread's share, gradients × CTX_GRAD_SCALE

const LN2: f64 = 0.6931471805599453;

export function heapBase(): usize {
  return __heap_base;
}

// ---- small helpers ----

@inline function i32At(base: usize, field: i32): i32 {
  return load<i32>(base + <usize>field);
}
@inline function ptrAt(base: usize, field: i32): usize {
  return load<usize>(base + <usize>field);
}
@inline function f32At(base: usize, field: i32): f32 {
  return load<f32>(base + <usize>field);
}

/** Sum of the four lanes. */
@inline function hsum(v: v128): f32 {
  const a = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(a, f32x4.shuffle(a, a, 1, 0, 3, 2)), 0);
}

/** [hsum(a), hsum(b), hsum(c), hsum(d)] with six shuffles and three adds. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(f32x4.shuffle(a, b, 0, 4, 2, 6), f32x4.shuffle(a, b, 1, 5, 3, 7));
  const cd = f32x4.add(f32x4.shuffle(c, d, 0, 4, 2, 6), f32x4.shuffle(c, d, 1, 5, 3, 7));
  return f32x4.add(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/**
 * a·b + c. In the relaxed-SIMD build (dist/wasm/sparsewire-fma*.wasm, WasmTuning `fma`) one fused
 * multiply-add (f32x4.relaxed_madd: on x64 with FMA3 a single rounding, elsewhere possibly two, so the
 * last bits may differ between machines); in the plain build a multiply, then an add, exactly as
 * these kernels were written before, so the plain build's results do not change.
 */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** MurmurHash3's 32-bit finaliser lane-wise (dropout.ts's fmix32). */
@inline function fmix4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/** Dropout of four samples (lanes of `samples`) of one neuron: σ·scale where kept, else 0. */
@inline function dropout4(out: v128, key: v128, samples: v128, threshold: v128, scale: v128): v128 {
  const keep = i32x4.ge_u(fmix4(v128.xor(key, samples)), threshold);
  return v128.and(f32x4.mul(out, scale), keep);
}

/** max(0, a) lane-wise (σ = ReLU). */
@inline function relu(a: v128): v128 {
  return f32x4.max(a, f32x4.splat(0));
}

/**
 * e^x for x ≤ 0 lane-wise (softmax of max-shifted logits): x·log2(e) = n + f with f in [−½, ½],
 * 2^f by its Taylor series to degree 7 (relative error < 1e-8 before rounding), 2^n via the exponent
 * bits. Lanes below −87 (e^x < 2^−126) give 0.
 */
@inline function exp4(x: v128): v128 {
  const t = f32x4.mul(x, f32x4.splat(1.4426950408889634));
  const n = f32x4.nearest(t);
  const f = f32x4.mul(f32x4.sub(t, n), f32x4.splat(0.6931471805599453)); // f·ln2 in [−0.347, 0.347]
  let p = f32x4.splat(1.0 / 5040.0);
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0 / 720.0));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0));
  const ni = i32x4.trunc_sat_f32x4_s(f32x4.max(n, f32x4.splat(-126)));
  const scale = i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23);
  const r = f32x4.mul(p, scale);
  return v128.and(r, f32x4.ge(x, f32x4.splat(-87.0)));
}

/**
 * 4×4 transposes from sample-major scratch to neuron-major tile rows: for pos p in [p0, p1) (p0 and
 * p1 multiples of 4) and lanes 0..lanes (a multiple of 4), rows[p][lane] = temp[lane][p]. Eight
 * shuffles per 16 values.
 */
@inline function transposeToRows(temp: usize, tempRow: usize, rows: usize, rowBytes: usize, p0: i32, p1: i32, lanes: i32): void {
  for (let p = p0; p < p1; p += 4) {
    const col = <usize>p << 2;
    const dst = rows + <usize>p * rowBytes;
    for (let lb = 0; lb < lanes; lb += 4) {
      const src = temp + <usize>lb * tempRow + col;
      const a = v128.load(src);
      const b = v128.load(src + tempRow);
      const c = v128.load(src + 2 * tempRow);
      const d = v128.load(src + 3 * tempRow);
      const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5);
      const t1 = f32x4.shuffle(a, b, 2, 6, 3, 7);
      const t2 = f32x4.shuffle(c, d, 0, 4, 1, 5);
      const t3 = f32x4.shuffle(c, d, 2, 6, 3, 7);
      const at = dst + (<usize>lb << 2);
      v128.store(at, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(at + rowBytes, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(at + 2 * rowBytes, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(at + 3 * rowBytes, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
  }
}

/** The inverse: temp[lane][p] = rows[p][lane] for p in [p0, p1), lanes 0..lanes. */
@inline function transposeToSamples(rows: usize, rowBytes: usize, temp: usize, tempRow: usize, p0: i32, p1: i32, lanes: i32): void {
  for (let p = p0; p < p1; p += 4) {
    const col = <usize>p << 2;
    const src = rows + <usize>p * rowBytes;
    for (let lb = 0; lb < lanes; lb += 4) {
      const at = src + (<usize>lb << 2);
      const a = v128.load(at);
      const b = v128.load(at + rowBytes);
      const c = v128.load(at + 2 * rowBytes);
      const d = v128.load(at + 3 * rowBytes);
      const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5);
      const t1 = f32x4.shuffle(a, b, 2, 6, 3, 7);
      const t2 = f32x4.shuffle(c, d, 0, 4, 1, 5);
      const t3 = f32x4.shuffle(c, d, 2, 6, 3, 7);
      const dst = temp + <usize>lb * tempRow + col;
      v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(dst + tempRow, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(dst + 2 * tempRow, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(dst + 3 * tempRow, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
  }
}

/**
 * One-hot inputs, forward: every non-input row of the tile gets its bias plus, in the lanes of the
 * samples where an input is active, the weight of each edge from that input. Done per sample (its
 * `perSample` active inputs, each with a run of out-edges: long, predictable loops) into a
 * sample-major scratch temp[lane][pos] — one sample's slice is K·4 bytes, in L1 — then transposed into
 * the tile rows. The scratch is the thread's δ buffer, unused during the forward pass.
 */
function scatterOneHot(ctx: usize, th: usize, b0: i32, tw: i32, strips: i32): void {
  const K = i32At(ctx, CTX_K);
  const N = i32At(ctx, CTX_N);
  const H = i32At(ctx, CTX_H);
  const T = i32At(ctx, CTX_T);
  const P = i32At(ctx, CTX_PER_SAMPLE);
  const rowBytes = <usize>T << 2;
  const lanes = strips << 4;
  const tempRow = <usize>((K + 3) & ~3) << 2;
  const temp = ptrAt(th, TH_DELTA);
  const out = ptrAt(th, TH_OUT);
  const bias = ptrAt(ctx, CTX_BIAS);
  const inputs = ptrAt(ctx, CTX_INPUTS);
  const cStart = ptrAt(ctx, CTX_C_START);
  const cPos = ptrAt(ctx, CTX_C_POS);
  const wT = ptrAt(ctx, CTX_W_T);
  for (let lb = 0; lb < lanes; lb++) {
    const slice = temp + <usize>lb * tempRow;
    memory.copy(slice + (<usize>N << 2), bias, <usize>H << 2);
    if (lb >= tw) continue; // pad lanes: bias only
    const act = inputs + (<usize>(b0 + lb) * <usize>P << 2);
    for (let p = 0; p < P; p++) {
      const i = load<i32>(act + (<usize>p << 2));
      const q1 = load<i32>(cStart + (<usize>i << 2), 4);
      // for edges from inputs, cPos holds the consumer's scratch column pos·4
      let q = load<i32>(cStart + (<usize>i << 2));
      for (; q + 1 < q1; q += 2) {
        const qa = <usize>q << 2;
        const at0 = slice + <usize>load<u32>(cPos + qa);
        const at1 = slice + <usize>load<u32>(cPos + qa, 4);
        store<f32>(at0, load<f32>(at0) + load<f32>(wT + qa));
        store<f32>(at1, load<f32>(at1) + load<f32>(wT + qa, 4));
      }
      if (q < q1) {
        const at = slice + <usize>load<u32>(cPos + (<usize>q << 2));
        store<f32>(at, load<f32>(at) + load<f32>(wT + (<usize>q << 2)));
      }
    }
  }
  transposeToRows(temp, tempRow, out, rowBytes, N & ~3, (K + 3) & ~3, lanes);
}

/** Forward pass of one tile: samples b0..b0+tw of the batch; strips·16 lanes (pads beyond tw). */
function forwardTile(ctx: usize, th: usize, b0: i32, tw: i32, strips: i32): void {
  const N = i32At(ctx, CTX_N);
  const D = i32At(ctx, CTX_D);
  const H = i32At(ctx, CTX_H);
  const T = i32At(ctx, CTX_T);
  const B = i32At(ctx, CTX_B);
  const oneHot = i32At(ctx, CTX_INPUT_KIND) == 0;
  const rowBytes = <usize>T << 2;
  const laneBytes = <usize>strips << 6;
  const out = ptrAt(th, TH_OUT);
  const logit = ptrAt(th, TH_LOGIT);
  const rowSrc = ptrAt(ctx, CTX_ROW_SRC);
  const rowW = ptrAt(ctx, CTX_ROW_W);
  const rowHidden = ptrAt(ctx, CTX_ROW_HIDDEN);
  const bias = ptrAt(ctx, CTX_BIAS);
  const outIndex = ptrAt(ctx, CTX_OUT_INDEX);
  const inputs = ptrAt(ctx, CTX_INPUTS);
  const dropKeys = ptrAt(ctx, CTX_DROP_KEYS);
  const dropThreshold = i32x4.splat(i32At(ctx, CTX_DROP_THRESHOLD));
  const dropScale = f32x4.splat(f32At(ctx, CTX_DROP_SCALE));

  if (!oneHot) {
    // Dense inputs pass unchanged (no σ): copy x rows, zero the pad lanes.
    const used = <usize>tw << 2;
    for (let i = 0; i < N; i++) {
      const dst = out + <usize>i * rowBytes;
      memory.copy(dst, inputs + ((<usize>i * <usize>B + <usize>b0) << 2), used);
      if (laneBytes > used) memory.fill(dst + used, 0, laneBytes - used);
    }
  } else {
    scatterOneHot(ctx, th, b0, tw, strips);
    if (i32At(ctx, CTX_ACTIVITY) != 0) {
      // Materialise the 0/1 input rows: activity reports σ of inputs and the dense input pull needs them.
      const P = i32At(ctx, CTX_PER_SAMPLE);
      memory.fill(out, 0, <usize>N * rowBytes);
      for (let lb = 0; lb < tw; lb++) {
        const act = inputs + (<usize>(b0 + lb) * <usize>P << 2);
        for (let p = 0; p < P; p++) {
          store<f32>(out + <usize>load<i32>(act + (<usize>p << 2)) * rowBytes + (<usize>lb << 2), 1.0);
        }
      }
    }
  }

  // Rows in evaluation order: a = (bias, or with one-hot inputs the row as scattered) + Σ_e w_e·out[src_e].
  for (let r = 0; r < H; r++) {
    const count = oneHot ? load<i32>(rowHidden + (<usize>r << 2)) : D;
    const edgeSrc = rowSrc + (<usize>r * <usize>D << 2);
    const edgeW = rowW + (<usize>r * <usize>D << 2);
    const dst = out + <usize>(N + r) * rowBytes;
    const o = load<i32>(outIndex + (<usize>r << 2));
    const bv = v128.splat<f32>(load<f32>(bias + (<usize>r << 2)));
    for (let s: usize = 0; s < laneBytes; s += 64) {
      let a0: v128, a1: v128, a2: v128, a3: v128;
      if (oneHot) {
        a0 = v128.load(dst + s);
        a1 = v128.load(dst + s, 16);
        a2 = v128.load(dst + s, 32);
        a3 = v128.load(dst + s, 48);
      } else {
        a0 = bv; a1 = bv; a2 = bv; a3 = bv;
      }
      let e = 0;
      for (; e + 1 < count; e += 2) {
        // Two edges per step, summed before accumulating: 4 accumulators + 8 loads + 2 weights fit
        // in the 16 vector registers V8 uses on x64.
        const src0 = out + <usize>load<u32>(edgeSrc + (<usize>e << 2)) + s;
        const src1 = out + <usize>load<u32>(edgeSrc + (<usize>e << 2), 4) + s;
        const w0 = v128.load_splat<f32>(edgeW + (<usize>e << 2));
        const w1 = v128.load_splat<f32>(edgeW + (<usize>e << 2), 4);
        a0 = f32x4.add(a0, madd(w1, v128.load(src1), f32x4.mul(w0, v128.load(src0))));
        a1 = f32x4.add(a1, madd(w1, v128.load(src1, 16), f32x4.mul(w0, v128.load(src0, 16))));
        a2 = f32x4.add(a2, madd(w1, v128.load(src1, 32), f32x4.mul(w0, v128.load(src0, 32))));
        a3 = f32x4.add(a3, madd(w1, v128.load(src1, 48), f32x4.mul(w0, v128.load(src0, 48))));
      }
      if (e < count) {
        const src0 = out + <usize>load<u32>(edgeSrc + (<usize>e << 2)) + s;
        const w0 = v128.load_splat<f32>(edgeW + (<usize>e << 2));
        a0 = madd(w0, v128.load(src0), a0);
        a1 = madd(w0, v128.load(src0, 16), a1);
        a2 = madd(w0, v128.load(src0, 32), a2);
        a3 = madd(w0, v128.load(src0, 48), a3);
      }
      if (o >= 0) {
        // Outputs: the loss reads the pre-activation; later neurons read σ(a) like any other.
        const lg = logit + <usize>o * rowBytes + s;
        v128.store(lg, a0);
        v128.store(lg, a1, 16);
        v128.store(lg, a2, 32);
        v128.store(lg, a3, 48);
      }
      if (o < 0 && dropKeys != 0) {
        // Hidden neuron in a training step: dropout by the hash of (its key, the sample's index in the batch).
        const key = i32x4.splat(load<i32>(dropKeys + (<usize>r << 2)));
        const b = i32x4.add(i32x4.splat(b0 + <i32>(s >> 2)), i32x4(0, 1, 2, 3));
        v128.store(dst + s, dropout4(relu(a0), key, b, dropThreshold, dropScale));
        v128.store(dst + s, dropout4(relu(a1), key, i32x4.add(b, i32x4.splat(4)), dropThreshold, dropScale), 16);
        v128.store(dst + s, dropout4(relu(a2), key, i32x4.add(b, i32x4.splat(8)), dropThreshold, dropScale), 32);
        v128.store(dst + s, dropout4(relu(a3), key, i32x4.add(b, i32x4.splat(12)), dropThreshold, dropScale), 48);
        continue;
      }
      v128.store(dst + s, relu(a0));
      v128.store(dst + s, relu(a1), 16);
      v128.store(dst + s, relu(a2), 32);
      v128.store(dst + s, relu(a3), 48);
    }
  }
}

// ---- loss ----

/**
 * Loss of one tile's outputs: adds the per-sample losses to the thread's lossSum and arg-max hits to
 * its correct count; with `gradient`, writes dlog = ∂(mean loss)/∂a_o (zero in pad lanes).
 */
function lossTile(ctx: usize, th: usize, b0: i32, tw: i32, strips: i32, gradient: bool): void {
  const M = i32At(ctx, CTX_M);
  const T = i32At(ctx, CTX_T);
  const B = i32At(ctx, CTX_B);
  const rowBytes = <usize>T << 2;
  const logit = ptrAt(th, TH_LOGIT);
  const dlog = ptrAt(th, TH_DLOG);
  const targets = ptrAt(ctx, CTX_TARGETS);
  let lossSum = load<f64>(th + <usize>TH_LOSS);
  let correct = i32At(th, TH_CORRECT);
  const lanes = strips << 4;
  const kind = i32At(ctx, CTX_TARGET_KIND);
  if (kind == 2 || kind == 3) {
    // Sigmoid outputs, squared error against the one-hot target Σ_o (σ(a_o) − [o = t])², in f64 like
    // the reference; per sample (few outputs), arg-max of a with the first maximum winning. Kind 3
    // trains with SET's code's gradient (σ − y)·σ'(σ): the derivative taken at σ(a), no factor 2.
    for (let lb = 0; lb < tw; lb++) {
      const col = <usize>lb << 2;
      const t = load<i32>(targets + (<usize>(b0 + lb) << 2));
      let arg = 0;
      let best = load<f32>(logit + col);
      for (let o = 0; o < M; o++) {
        const a = load<f32>(logit + <usize>o * rowBytes + col);
        if (a > best) { best = a; arg = o; }
        const p = 1.0 / (1.0 + Math.exp(-<f64>a));
        const diff = p - (o == t ? 1.0 : 0.0);
        lossSum += diff * diff;
        if (gradient) {
          const q = kind == 3 ? 1.0 / (1.0 + Math.exp(-p)) : p;
          store<f32>(dlog + <usize>o * rowBytes + col, <f32>(((kind == 3 ? diff : 2 * diff) * q * (1 - q)) / <f64>B));
        }
      }
      if (arg == t) correct++;
    }
    if (gradient) for (let o = 0; o < M; o++) for (let lb = tw; lb < lanes; lb++) store<f32>(dlog + <usize>o * rowBytes + (<usize>lb << 2), 0);
  } else if (kind == 0) {
    // Softmax cross-entropy in bits, max-shifted (Example 3.6); four samples per vector.
    const unit = <f32>(1.0 / (LN2 * <f64>B)); // ∂(mean bits)/∂a per unit of probability
    const unitV = f32x4.splat(unit);
    for (let v = 0; v < lanes; v += 4) {
      const col = <usize>v << 2;
      let mx = v128.load(logit + col);
      let arg = i32x4.splat(0);
      for (let o = 1; o < M; o++) {
        const l = v128.load(logit + <usize>o * rowBytes + col);
        const gt = f32x4.gt(l, mx); // strict: the first maximum wins, like the reference
        mx = v128.bitselect(l, mx, gt);
        arg = v128.bitselect(i32x4.splat(o), arg, gt);
      }
      let sum = f32x4.splat(0);
      for (let o = 0; o < M; o++) {
        const at = <usize>o * rowBytes + col;
        const e = exp4(f32x4.sub(v128.load(logit + at), mx));
        v128.store(dlog + at, e);
        sum = f32x4.add(sum, e);
      }
      const scale = f32x4.div(unitV, sum);
      for (let j = 0; j < 4; j++) {
        const lb = v + j;
        if (lb >= tw) {
          // pad lane: no loss, no gradient
          if (gradient) for (let o = 0; o < M; o++) store<f32>(dlog + <usize>o * rowBytes + (<usize>lb << 2), 0);
          continue;
        }
        const t = load<i32>(targets + (<usize>(b0 + lb) << 2));
        let s: f32, m: f32, at: f32, a: i32;
        // lane j of the vectors (lane index must be a constant)
        if (j == 0) { s = f32x4.extract_lane(sum, 0); m = f32x4.extract_lane(mx, 0); a = i32x4.extract_lane(arg, 0); }
        else if (j == 1) { s = f32x4.extract_lane(sum, 1); m = f32x4.extract_lane(mx, 1); a = i32x4.extract_lane(arg, 1); }
        else if (j == 2) { s = f32x4.extract_lane(sum, 2); m = f32x4.extract_lane(mx, 2); a = i32x4.extract_lane(arg, 2); }
        else { s = f32x4.extract_lane(sum, 3); m = f32x4.extract_lane(mx, 3); a = i32x4.extract_lane(arg, 3); }
        at = load<f32>(logit + <usize>t * rowBytes + (<usize>lb << 2));
        lossSum += (Math.log(<f64>s) - (<f64>at - <f64>m)) / LN2;
        if (a == t) correct++;
      }
      if (gradient) {
        // δ_o = (p_o − [o = t]) / (ln2·B) with p_o = e_o / Σ e
        for (let o = 0; o < M; o++) {
          const at = dlog + <usize>o * rowBytes + col;
          v128.store(at, f32x4.mul(v128.load(at), scale));
        }
        for (let j = 0; j < 4; j++) {
          const lb = v + j;
          if (lb >= tw) break;
          const t = load<i32>(targets + (<usize>(b0 + lb) << 2));
          const tp = dlog + <usize>t * rowBytes + (<usize>lb << 2);
          store<f32>(tp, load<f32>(tp) - unit);
        }
      }
    }
  } else {
    // Squared error Σ_o (a_o − y_o)² per sample (Example 3.5), in f64 like the reference.
    for (let o = 0; o < M; o++) {
      const lrow = logit + <usize>o * rowBytes;
      const drow = dlog + <usize>o * rowBytes;
      const y = targets + ((<usize>o * <usize>B + <usize>b0) << 2);
      for (let lb = 0; lb < tw; lb++) {
        const diff = <f64>load<f32>(lrow + (<usize>lb << 2)) - <f64>load<f32>(y + (<usize>lb << 2));
        lossSum += diff * diff;
        if (gradient) store<f32>(drow + (<usize>lb << 2), <f32>((2 * diff) / <f64>B));
      }
      if (gradient) for (let lb = tw; lb < lanes; lb++) store<f32>(drow + (<usize>lb << 2), 0);
    }
  }
  store<f64>(th + <usize>TH_LOSS, lossSum);
  store<i32>(th + <usize>TH_CORRECT, correct);
}

// ---- backward ----

/**
 * Pull for one neuron (pos) over its consumers q0..q1 in one tile: δ_pos = σ'(a)·Σ_consumers w·δ_c
 * (+ the direct loss term `directRow` of an output), and g[q] += Σ_lanes out_pos·δ_c for every
 * out-edge q; returns Σ_lanes δ (the bias gradient). Consumers are taken four at a time; their partial
 * gradient vectors pass through `scratch` (64 bytes, L1), which keeps V8 from hoisting all sixteen
 * loads and spilling registers (measured 3–6% faster). The flags are constants at every call, so the
 * compiler folds them away and each caller gets its own straight loop:
 * - `fromRow`: δ starts from pos's δ row (a partial sum left by earlier pieces of a blocked pull)
 *   instead of zero;
 * - `finish`: apply σ' (= [σ(a) > 0]), the dropout scale and the direct term, and return the bias
 *   gradient; without it the raw sum goes back to the row and 0 is returned (dense input rows, and
 *   the blocked pull's pieces before a source's last);
 * - `inputRows`: cPos holds the consumers' one-hot scratch columns pos·4, shifted into row offsets.
 */
@inline function pull(
  out: usize, delta: usize, g: usize, wT: usize, cPos: usize, rowBytes: usize, laneBytes: usize,
  pos: i32, q0: i32, q1: i32, fromRow: bool, finish: bool, inputRows: bool, directRow: usize, scratch: usize, dropScale: f32,
): f32 {
  // cPos of an edge from an input holds the consumer's pos·4 (its one-hot scratch column); pos·T·4 is
  // that times T = rowBytes/4.
  const shift: usize = inputRows ? <usize>ctz<usize>(rowBytes) - 2 : 0;
  const ovRow = out + <usize>pos * rowBytes;
  const dRow = delta + <usize>pos * rowBytes;
  let gbAcc = f32x4.splat(0);
  for (let s: usize = 0; s < laneBytes; s += 64) {
    const ov0 = v128.load(ovRow + s);
    const ov1 = v128.load(ovRow + s, 16);
    const ov2 = v128.load(ovRow + s, 32);
    const ov3 = v128.load(ovRow + s, 48);
    let d0 = f32x4.splat(0), d1 = f32x4.splat(0), d2 = f32x4.splat(0), d3 = f32x4.splat(0);
    if (fromRow) {
      d0 = v128.load(dRow + s); d1 = v128.load(dRow + s, 16); d2 = v128.load(dRow + s, 32); d3 = v128.load(dRow + s, 48);
    }
    let q = q0;
    for (; q + 3 < q1; q += 4) {
      const qa = <usize>q << 2;
      const za = delta + (<usize>load<u32>(cPos + qa) << shift) + s;
      const zb = delta + (<usize>load<u32>(cPos + qa, 4) << shift) + s;
      const zc = delta + (<usize>load<u32>(cPos + qa, 8) << shift) + s;
      const zd = delta + (<usize>load<u32>(cPos + qa, 12) << shift) + s;
      const wa = v128.load_splat<f32>(wT + qa);
      const wb = v128.load_splat<f32>(wT + qa, 4);
      const wc = v128.load_splat<f32>(wT + qa, 8);
      const wd = v128.load_splat<f32>(wT + qa, 12);
      let x0 = v128.load(za), x1 = v128.load(za, 16), x2 = v128.load(za, 32), x3 = v128.load(za, 48);
      d0 = madd(wa, x0, d0);
      d1 = madd(wa, x1, d1);
      d2 = madd(wa, x2, d2);
      d3 = madd(wa, x3, d3);
      v128.store(scratch, f32x4.add(madd(ov1, x1, f32x4.mul(ov0, x0)), madd(ov3, x3, f32x4.mul(ov2, x2))), 0);
      x0 = v128.load(zb); x1 = v128.load(zb, 16); x2 = v128.load(zb, 32); x3 = v128.load(zb, 48);
      d0 = madd(wb, x0, d0);
      d1 = madd(wb, x1, d1);
      d2 = madd(wb, x2, d2);
      d3 = madd(wb, x3, d3);
      v128.store(scratch, f32x4.add(madd(ov1, x1, f32x4.mul(ov0, x0)), madd(ov3, x3, f32x4.mul(ov2, x2))), 16);
      x0 = v128.load(zc); x1 = v128.load(zc, 16); x2 = v128.load(zc, 32); x3 = v128.load(zc, 48);
      d0 = madd(wc, x0, d0);
      d1 = madd(wc, x1, d1);
      d2 = madd(wc, x2, d2);
      d3 = madd(wc, x3, d3);
      v128.store(scratch, f32x4.add(madd(ov1, x1, f32x4.mul(ov0, x0)), madd(ov3, x3, f32x4.mul(ov2, x2))), 32);
      x0 = v128.load(zd); x1 = v128.load(zd, 16); x2 = v128.load(zd, 32); x3 = v128.load(zd, 48);
      d0 = madd(wd, x0, d0);
      d1 = madd(wd, x1, d1);
      d2 = madd(wd, x2, d2);
      d3 = madd(wd, x3, d3);
      const gd = f32x4.add(madd(ov1, x1, f32x4.mul(ov0, x0)), madd(ov3, x3, f32x4.mul(ov2, x2)));
      const gp = g + qa;
      v128.store(gp, f32x4.add(v128.load(gp), hsum4(v128.load(scratch), v128.load(scratch, 16), v128.load(scratch, 32), gd)));
    }
    for (; q < q1; q++) {
      const qa = <usize>q << 2;
      const za = delta + (<usize>load<u32>(cPos + qa) << shift) + s;
      const wa = v128.load_splat<f32>(wT + qa);
      const x0 = v128.load(za), x1 = v128.load(za, 16), x2 = v128.load(za, 32), x3 = v128.load(za, 48);
      d0 = madd(wa, x0, d0);
      d1 = madd(wa, x1, d1);
      d2 = madd(wa, x2, d2);
      d3 = madd(wa, x3, d3);
      const ga = f32x4.add(madd(ov1, x1, f32x4.mul(ov0, x0)), madd(ov3, x3, f32x4.mul(ov2, x2)));
      store<f32>(g + qa, load<f32>(g + qa) + hsum(ga));
    }
    if (finish) {
      // σ'(a) = [a > 0] = [σ(a) > 0]; outputs add their direct loss gradient.
      const zero = f32x4.splat(0);
      d0 = v128.and(d0, f32x4.gt(ov0, zero));
      d1 = v128.and(d1, f32x4.gt(ov1, zero));
      d2 = v128.and(d2, f32x4.gt(ov2, zero));
      d3 = v128.and(d3, f32x4.gt(ov3, zero));
      if (dropScale != 1) {
        // Kept under dropout: σ was scaled, so δ is too (dropped samples have σ = 0, masked above).
        const sc = f32x4.splat(dropScale);
        d0 = f32x4.mul(d0, sc);
        d1 = f32x4.mul(d1, sc);
        d2 = f32x4.mul(d2, sc);
        d3 = f32x4.mul(d3, sc);
      }
      if (directRow != 0) {
        d0 = f32x4.add(d0, v128.load(directRow + s));
        d1 = f32x4.add(d1, v128.load(directRow + s, 16));
        d2 = f32x4.add(d2, v128.load(directRow + s, 32));
        d3 = f32x4.add(d3, v128.load(directRow + s, 48));
      }
      gbAcc = f32x4.add(gbAcc, f32x4.add(f32x4.add(d0, d1), f32x4.add(d2, d3)));
    }
    v128.store(dRow + s, d0);
    v128.store(dRow + s, d1, 16);
    v128.store(dRow + s, d2, 32);
    v128.store(dRow + s, d3, 48);
  }
  return hsum(gbAcc);
}


/** The plain pull of a hidden or output neuron, or of a dense input row (no σ', no bias gradient). */
@inline function pullNeuron(
  out: usize, delta: usize, g: usize, wT: usize, cPos: usize, rowBytes: usize, laneBytes: usize,
  pos: i32, q0: i32, q1: i32, isInput: bool, directRow: usize, scratch: usize, dropScale: f32,
): f32 {
  return pull(out, delta, g, wT, cPos, rowBytes, laneBytes, pos, q0, q1, false, !isInput, isInput, directRow, scratch, dropScale);
}

/**
 * One piece of a blocked pull (backwardBlocked): δ continues from pos's δ row, which holds the
 * partial sum Σ w·δ_c of the pieces pulled before; `finish` on the source's last piece.
 */
@inline function pullPiece(
  out: usize, delta: usize, g: usize, wT: usize, cPos: usize, rowBytes: usize, laneBytes: usize,
  pos: i32, q0: i32, q1: i32, finish: bool, directRow: usize, scratch: usize, dropScale: f32,
): f32 {
  return pull(out, delta, g, wT, cPos, rowBytes, laneBytes, pos, q0, q1, true, finish, false, directRow, scratch, dropScale);
}

/**
 * The non-input part of backwardTile, cache-blocked (issue 16: at 170,000 neurons the consumers' δ
 * rows of a tile, K·T·4 bytes, are far larger than L2, so the plain pull misses on nearly every
 * consumer). Rows are cut into chunks of R consecutive rows from the last row down (the first chunk
 * may be shorter), processed from the last chunk to the first; for a chunk [c0, c1):
 *   1. its δ rows are zeroed and serve as accumulators;
 *   2. for every block of P consumer positions from N + c1 on, in ascending order, every source of the
 *      chunk with consumers in the block pulls over them (pullPiece: partial Σ w·δ into its row, g of
 *      those edges);
 *   3. sources from last to first pull over their consumers inside the chunk (final by then) and
 *      finish the row exactly as pullNeuron (σ', dropout, direct term, bias gradient).
 * So the δ rows of one chunk and one block (R + P rows) are the working set instead of all K rows.
 * The engine lays the canonical slots out in this visiting order (engine.ts, blockLayout): per chunk
 * its edges to later blocks by (block, source row, consumer), then its inside edges by (source row
 * descending, consumer); cRow[q] is q's source row within the chunk, cChunk the chunks' slot ranges.
 * The edge data streams; a piece is the run of slots with the same cRow inside one block.
 * Per source, δ sums the same terms in another order than the plain pull: consumers after the chunk
 * first (ascending), then those inside it (plain: ascending overall, so the inside ones first); f32
 * rounding differs accordingly, and so does the grouping of a source's edges into fours for the
 * per-strip lane sums of g (hsum4 vs hsum: the same terms, another association). Everything else is
 * as pullNeuron.
 */
function backwardBlocked(ctx: usize, th: usize, strips: i32, R: i32, P: i32): void {
  const K = i32At(ctx, CTX_K);
  const N = i32At(ctx, CTX_N);
  const H = i32At(ctx, CTX_H);
  const T = i32At(ctx, CTX_T);
  const rowBytes = <usize>T << 2;
  const laneBytes = <usize>strips << 6;
  const out = ptrAt(th, TH_OUT);
  const delta = ptrAt(th, TH_DELTA);
  const dlog = ptrAt(th, TH_DLOG);
  const g = ptrAt(th, TH_G);
  const gbias = ptrAt(th, TH_GB);
  const scratch = th + <usize>TH_SCRATCH;
  const cPos = ptrAt(ctx, CTX_C_POS);
  const cRow = ptrAt(ctx, CTX_C_ROW);
  const cChunk = ptrAt(ctx, CTX_C_CHUNK);
  const wT = ptrAt(ctx, CTX_W_T);
  const outIndex = ptrAt(ctx, CTX_OUT_INDEX);
  const dropScale: f32 = ptrAt(ctx, CTX_DROP_KEYS) != 0 ? f32At(ctx, CTX_DROP_SCALE) : 1;
  let k: usize = 0;
  for (let c1 = H; c1 > 0; c1 -= R, k++) {
    const c0 = max(0, c1 - R);
    memory.fill(delta + <usize>(N + c0) * rowBytes, 0, <usize>(c1 - c0) * rowBytes);
    let e = load<i32>(cChunk + (k << 3));
    const eIn = load<i32>(cChunk + (k << 3), 4);
    const eEnd = load<i32>(cChunk + (k << 3), 8);
    for (let b0 = N + c1; e < eIn; b0 += P) {
      const end = <u32>(<usize>min(K, b0 + P) * rowBytes);
      while (e < eIn && load<u32>(cPos + (<usize>e << 2)) < end) {
        const lr = load<u16>(cRow + (<usize>e << 1));
        let e1 = e + 1;
        while (e1 < eIn && load<u16>(cRow + (<usize>e1 << 1)) == lr && load<u32>(cPos + (<usize>e1 << 2)) < end) e1++;
        pullPiece(out, delta, g, wT, cPos, rowBytes, laneBytes, N + c0 + <i32>lr, e, e1, false, 0, scratch, 1);
        e = e1;
      }
    }
    for (let r = c1 - 1; r >= c0; r--) {
      const pos = N + r;
      const o = load<i32>(outIndex + (<usize>r << 2));
      const direct: usize = o >= 0 ? dlog + <usize>o * rowBytes : 0;
      let e1 = e;
      while (e1 < eEnd && <i32>load<u16>(cRow + (<usize>e1 << 1)) == r - c0) e1++;
      const gb = pullPiece(out, delta, g, wT, cPos, rowBytes, laneBytes, pos, e, e1, true, direct, scratch, o < 0 ? dropScale : 1);
      e = e1;
      const at = gbias + (<usize>r << 2);
      store<f32>(at, load<f32>(at) + gb);
    }
  }
}

/** Backward pass of one tile in reverse evaluation order (Example 4.9), pulling over consumers. */
function backwardTile(ctx: usize, th: usize, b0: i32, tw: i32, strips: i32): void {
  const K = i32At(ctx, CTX_K);
  const N = i32At(ctx, CTX_N);
  const H = i32At(ctx, CTX_H);
  const T = i32At(ctx, CTX_T);
  const P = i32At(ctx, CTX_PER_SAMPLE);
  const oneHot = i32At(ctx, CTX_INPUT_KIND) == 0;
  const activity = i32At(ctx, CTX_ACTIVITY) != 0;
  const rowBytes = <usize>T << 2;
  const laneBytes = <usize>strips << 6;
  const out = ptrAt(th, TH_OUT);
  const delta = ptrAt(th, TH_DELTA);
  const dlog = ptrAt(th, TH_DLOG);
  const g = ptrAt(th, TH_G);
  const gbias = ptrAt(th, TH_GB);
  const scratch = th + <usize>TH_SCRATCH;
  const cStart = ptrAt(ctx, CTX_C_START);
  const cPos = ptrAt(ctx, CTX_C_POS);
  const wT = ptrAt(ctx, CTX_W_T);
  const outIndex = ptrAt(ctx, CTX_OUT_INDEX);
  const dropScale: f32 = ptrAt(ctx, CTX_DROP_KEYS) != 0 ? f32At(ctx, CTX_DROP_SCALE) : 1;
  const blockRows = i32At(ctx, CTX_BLOCK_ROWS);
  if (blockRows > 0) {
    backwardBlocked(ctx, th, strips, blockRows, i32At(ctx, CTX_BLOCK_SPAN));
  } else {
    for (let r = H - 1; r >= 0; r--) {
      const pos = N + r;
      const o = load<i32>(outIndex + (<usize>r << 2));
      const direct: usize = o >= 0 ? dlog + <usize>o * rowBytes : 0;
      const q0 = load<i32>(cStart + (<usize>pos << 2));
      const q1 = load<i32>(cStart + (<usize>pos << 2), 4);
      const gb = pullNeuron(out, delta, g, wT, cPos, rowBytes, laneBytes, pos, q0, q1, false, direct, scratch, o < 0 ? dropScale : 1);
      const at = gbias + (<usize>r << 2);
      store<f32>(at, load<f32>(at) + gb);
    }
  }
  if (oneHot && !activity) {
    // Edges from one-hot inputs: σ = 1 exactly where active, so g[q] sums the consumer's δ over the
    // samples in which the input is active. Per sample over its active inputs' out-edges (long,
    // predictable loops), reading δ from a sample-major copy temp[lane][pos] whose slice per sample
    // is in L1; the copy goes into the out buffer, no longer needed.
    const lanes = strips << 4;
    const tempRow = <usize>((K + 3) & ~3) << 2;
    const temp = out;
    transposeToSamples(delta, rowBytes, temp, tempRow, N & ~3, (K + 3) & ~3, lanes);
    const inputs = ptrAt(ctx, CTX_INPUTS);
    for (let lb = 0; lb < tw; lb++) {
      const slice = temp + <usize>lb * tempRow;
      const act = inputs + (<usize>(b0 + lb) * <usize>P << 2);
      for (let p = 0; p < P; p++) {
        const i = load<i32>(act + (<usize>p << 2));
        const q1 = load<i32>(cStart + (<usize>i << 2), 4);
        let q = load<i32>(cStart + (<usize>i << 2));
        for (; q + 1 < q1; q += 2) {
          const gp = g + (<usize>q << 2);
          const x0 = load<f32>(slice + <usize>load<u32>(cPos + (<usize>q << 2)));
          const x1 = load<f32>(slice + <usize>load<u32>(cPos + (<usize>q << 2), 4));
          store<f32>(gp, load<f32>(gp) + x0);
          store<f32>(gp, load<f32>(gp, 4) + x1, 4);
        }
        if (q < q1) {
          const gp = g + (<usize>q << 2);
          store<f32>(gp, load<f32>(gp) + load<f32>(slice + <usize>load<u32>(cPos + (<usize>q << 2))));
        }
      }
    }
  } else {
    // Dense input rows (or materialised one-hot rows for activity): the same pull, without σ'.
    for (let i = 0; i < N; i++) {
      const q0 = load<i32>(cStart + (<usize>i << 2));
      const q1 = load<i32>(cStart + (<usize>i << 2), 4);
      pullNeuron(out, delta, g, wT, cPos, rowBytes, laneBytes, i, q0, q1, true, 0, scratch, 1);
    }
  }
}

// ---- driver: phase 1 (this thread's tiles), phase 2 (this thread's share of the parameters) ----

/** First and last+1 tile of thread t out of `threads` (contiguous, fixed: same split every step). */
@inline function tileRange(tiles: i32, t: i32, threads: i32, first: bool): i32 {
  return <i32>((<i64>tiles * <i64>(first ? t : t + 1)) / <i64>threads);
}

export function runPhase1(ctx: usize, t: i32): void {
  const mode = i32At(ctx, CTX_MODE);
  if (mode == MODE_UPDATE) {
    updateShare(ctx, t, true);
    return;
  }
  const K = i32At(ctx, CTX_K);
  const M = i32At(ctx, CTX_M);
  const E = i32At(ctx, CTX_E);
  const H = i32At(ctx, CTX_H);
  const T = i32At(ctx, CTX_T);
  const B = i32At(ctx, CTX_B);
  const threads = i32At(ctx, CTX_THREADS);
  const activity = i32At(ctx, CTX_ACTIVITY) != 0;
  const th = ptrAt(ctx, CTX_THREAD_BLOCKS) + <usize>t * <usize>THREAD_STRIDE;
  const backward = mode == MODE_TRAIN || mode == MODE_TRAIN_CLIPPED || mode == MODE_GRADIENTS;
  store<f64>(th + <usize>TH_LOSS, 0);
  store<i32>(th + <usize>TH_CORRECT, 0);
  if (backward) {
    memory.fill(ptrAt(th, TH_G), 0, <usize>E << 2);
    memory.fill(ptrAt(th, TH_GB), 0, <usize>H << 2);
  }
  const tiles = (B + T - 1) / T;
  const first = tileRange(tiles, t, threads, true);
  const last = tileRange(tiles, t, threads, false);
  const rowBytes = <usize>T << 2;
  for (let tile = first; tile < last; tile++) {
    const b0 = tile * T;
    const tw = min(T, B - b0);
    const strips = (tw + 15) >> 4;
    forwardTile(ctx, th, b0, tw, strips);
    if (mode == MODE_PREDICT) {
      const dst = ptrAt(ctx, CTX_LOGITS_OUT);
      const logit = ptrAt(th, TH_LOGIT);
      for (let o = 0; o < M; o++) {
        memory.copy(dst + ((<usize>o * <usize>B + <usize>b0) << 2), logit + <usize>o * rowBytes, <usize>tw << 2);
      }
      continue;
    }
    lossTile(ctx, th, b0, tw, strips, backward);
    if (!backward) continue;
    backwardTile(ctx, th, b0, tw, strips);
    if (activity) {
      const actOut = ptrAt(ctx, CTX_ACT_OUT);
      const actErr = ptrAt(ctx, CTX_ACT_ERR);
      const out = ptrAt(th, TH_OUT);
      const delta = ptrAt(th, TH_DELTA);
      for (let pos = 0; pos < K; pos++) {
        const at = (<usize>pos * <usize>B + <usize>b0) << 2;
        memory.copy(actOut + at, out + <usize>pos * rowBytes, <usize>tw << 2);
        memory.copy(actErr + at, delta + <usize>pos * rowBytes, <usize>tw << 2);
      }
    }
  }
}

/** Parameter range of thread t: edges in multiples of 4 (whole vectors), rows split evenly. */
@inline function share(count: i32, t: i32, threads: i32, align: i32): i32 {
  if (t >= threads) return count;
  const x = <i32>((<i64>count * <i64>t) / <i64>threads);
  return min(count, (x + align - 1) / align * align);
}

export function runPhase2(ctx: usize, t: i32): void {
  const E = i32At(ctx, CTX_E);
  const H = i32At(ctx, CTX_H);
  const threads = i32At(ctx, CTX_THREADS);
  const mode = i32At(ctx, CTX_MODE);
  const blocks = ptrAt(ctx, CTX_THREAD_BLOCKS);
  const q0 = share(E, t, threads, 4);
  const q1 = share(E, t + 1, threads, 4);
  const r0 = share(H, t, threads, 1);
  const r1 = share(H, t + 1, threads, 1);
  if (mode == MODE_GRADIENTS) {
    // Sum the threads' gradients into thread 0's buffers, in thread order (deterministic).
    const g0 = ptrAt(blocks, TH_G);
    const gb0 = ptrAt(blocks, TH_GB);
    for (let p = 1; p < threads; p++) {
      const th = blocks + <usize>p * <usize>THREAD_STRIDE;
      const gp = ptrAt(th, TH_G);
      const gbp = ptrAt(th, TH_GB);
      for (let q = q0; q < q1; q++) store<f32>(g0 + (<usize>q << 2), load<f32>(g0 + (<usize>q << 2)) + load<f32>(gp + (<usize>q << 2)));
      for (let r = r0; r < r1; r++) store<f32>(gb0 + (<usize>r << 2), load<f32>(gb0 + (<usize>r << 2)) + load<f32>(gbp + (<usize>r << 2)));
    }
    return;
  }
  if (mode == MODE_TRAIN_CLIPPED) squares(ctx, t);
  else if (mode == MODE_TRAIN) updateShare(ctx, t, false);
}

/** Optimiser update of thread t's share of the edges and rows; `scaled`: gradients × CTX_GRAD_SCALE. */
function updateShare(ctx: usize, t: i32, scaled: bool): void {
  const E = i32At(ctx, CTX_E);
  const H = i32At(ctx, CTX_H);
  const threads = i32At(ctx, CTX_THREADS);
  const blocks = ptrAt(ctx, CTX_THREAD_BLOCKS);
  const scale = f32At(ctx, CTX_GRAD_SCALE);
  const q0 = share(E, t, threads, 4);
  const q1 = share(E, t + 1, threads, 4);
  const r0 = share(H, t, threads, 1);
  const r1 = share(H, t + 1, threads, 1);
  const acc1 = ptrAt(ctx, CTX_ACC1_W);
  if (acc1 != 0) accumulate(blocks, threads, TH_G, ptrAt(ctx, CTX_W_T), acc1, ptrAt(ctx, CTX_ACC2_W), q0, q1, scaled, scale);
  update(ctx, blocks, threads, TH_G, ptrAt(ctx, CTX_W_T), ptrAt(ctx, CTX_M_W), ptrAt(ctx, CTX_V_W), q0, q1, ptrAt(ctx, CTX_FWD_INDEX), ptrAt(ctx, CTX_ROW_W), scaled, scale, ptrAt(ctx, CTX_P1_W), ptrAt(ctx, CTX_P2_W));
  update(ctx, blocks, threads, TH_GB, ptrAt(ctx, CTX_BIAS), ptrAt(ctx, CTX_M_B), ptrAt(ctx, CTX_V_B), r0, r1, 0, 0, scaled, scale, ptrAt(ctx, CTX_P1_B), ptrAt(ctx, CTX_P2_B));
}

/**
 * Utility statistics (issue 12: the thesis's eq. 4.3 estimated over every step since the last round,
 * not one batch): acc1 += −w·g and acc2 += w²·g² for slots [i0, i1), g summed over the threads'
 * buffers in thread order (scaled when clipping), w the weight before this step's update. One pass
 * over the edges per step, beside the B samples of work each edge costs forward and backward.
 */
function accumulate(blocks: usize, threads: i32, gField: i32, params: usize, acc1: usize, acc2: usize, i0: i32, i1: i32, scaled: bool, scale: f32): void {
  const g0 = ptrAt(blocks, gField);
  for (let i = i0; i < i1; i++) {
    const at = <usize>i << 2;
    let gs = load<f32>(g0 + at);
    for (let p = 1; p < threads; p++) gs += load<f32>(ptrAt(blocks + <usize>p * <usize>THREAD_STRIDE, gField) + at);
    if (scaled) gs *= scale;
    const w = load<f32>(params + at);
    const wg = w * gs;
    store<f32>(acc1 + at, load<f32>(acc1 + at) - wg);
    store<f32>(acc2 + at, load<f32>(acc2 + at) + wg * wg);
  }
}

/**
 * Σ g² in float64 over thread t's share of the edges and rows, g summed over the threads' buffers
 * in thread order (the same float32 sums the update will use), into TH_SQUARES.
 */
function squares(ctx: usize, t: i32): void {
  const E = i32At(ctx, CTX_E);
  const H = i32At(ctx, CTX_H);
  const threads = i32At(ctx, CTX_THREADS);
  const blocks = ptrAt(ctx, CTX_THREAD_BLOCKS);
  let sum: f64 = 0;
  for (let k = 0; k < 2; k++) {
    const field = k == 0 ? TH_G : TH_GB;
    const i0 = k == 0 ? share(E, t, threads, 4) : share(H, t, threads, 1);
    const i1 = k == 0 ? share(E, t + 1, threads, 4) : share(H, t + 1, threads, 1);
    const g0 = ptrAt(blocks, field);
    for (let i = i0; i < i1; i++) {
      const at = <usize>i << 2;
      let gs = load<f32>(g0 + at);
      for (let p = 1; p < threads; p++) gs += load<f32>(ptrAt(blocks + <usize>p * <usize>THREAD_STRIDE, field) + at);
      sum += <f64>gs * <f64>gs;
    }
  }
  store<f64>(blocks + <usize>t * <usize>THREAD_STRIDE + <usize>TH_SQUARES, sum);
}

/**
 * Optimiser update of params[i0..i1) from the sum over threads of their gradient buffers (field
 * `gField` of each thread block), in thread order. Adam: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
 * p ← p − lr·c1·m / (√(c2·v) + ε). SGD: m ← μ·m + g, p ← p − lr·m. With `fwdIndex`, also writes
 * the new weight to its row-order copy rowW[fwdIndex[i]]. With `scaled`, g is first multiplied by
 * `scale` (float32, like the reference engine's clipped gradients); without, the arithmetic is
 * exactly that of the unclipped step.
 */
function update(
  ctx: usize, blocks: usize, threads: i32, gField: i32, params: usize, first: usize, second: usize,
  i0: i32, i1: i32, fwdIndex: usize, rowW: usize, scaled: bool, scale: f32, power1: usize, power2: usize,
): void {
  const adam = i32At(ctx, CTX_OPTIMIZER) == 0;
  const lr = f32At(ctx, CTX_LR);
  const beta1 = f32At(ctx, CTX_BETA1);
  const beta2 = f32At(ctx, CTX_BETA2);
  const eps = f32At(ctx, CTX_EPS);
  const c2 = f32At(ctx, CTX_C2);
  // L2 weight decay for the edge weights only (the rows with a row-order copy), added to the
  // (clipped) gradient as SGD with weight decay does; biases are never decayed.
  const decay: f32 = fwdIndex != 0 ? f32At(ctx, CTX_WD) : 0;
  const decayOn = decay != 0;
  const g0 = ptrAt(blocks, gField);
  let i = i0;
  if (adam && power1 != 0) {
    // Per-parameter bias correction: p1 = β1^τ, p2 = β2^τ (τ the parameter's own steps, reset for a
    // new edge), m̂ = m/(1 − p1), v̂ = v/(1 − p2), w ← w − lr·m̂/(√v̂ + ε). Scalar: this runs once per
    // parameter per step, next to the B samples of work each parameter costs forward and backward.
    for (; i < i1; i++) {
      const at = <usize>i << 2;
      let gs = load<f32>(g0 + at);
      for (let p = 1; p < threads; p++) gs += load<f32>(ptrAt(blocks + <usize>p * <usize>THREAD_STRIDE, gField) + at);
      if (scaled) gs *= scale;
      if (decayOn) gs += decay * load<f32>(params + at);
      const m = beta1 * load<f32>(first + at) + (1 - beta1) * gs;
      const v = beta2 * load<f32>(second + at) + (1 - beta2) * (gs * gs);
      const p1 = load<f32>(power1 + at) * beta1;
      const p2 = load<f32>(power2 + at) * beta2;
      store<f32>(first + at, m);
      store<f32>(second + at, v);
      store<f32>(power1 + at, p1);
      store<f32>(power2 + at, p2);
      const w = load<f32>(params + at) - (lr * (m / (1 - p1))) / (Mathf.sqrt(v / (1 - p2)) + eps);
      store<f32>(params + at, w);
      if (fwdIndex != 0) store<f32>(rowW + (<usize>load<i32>(fwdIndex + at) << 2), w);
    }
  } else if (adam) {
    const b1 = f32x4.splat(beta1), b1c = f32x4.splat(1 - beta1);
    const b2 = f32x4.splat(beta2), b2c = f32x4.splat(1 - beta2);
    const lrv = f32x4.splat(lr), epsv = f32x4.splat(eps), c2v = f32x4.splat(c2);
    const scalev = f32x4.splat(scale);
    const decayv = f32x4.splat(decay);
    for (; i + 3 < i1; i += 4) {
      const at = <usize>i << 2;
      let gv = v128.load(g0 + at);
      for (let p = 1; p < threads; p++) gv = f32x4.add(gv, v128.load(ptrAt(blocks + <usize>p * <usize>THREAD_STRIDE, gField) + at));
      if (scaled) gv = f32x4.mul(gv, scalev);
      if (decayOn) gv = f32x4.add(gv, f32x4.mul(decayv, v128.load(params + at)));
      const m = f32x4.add(f32x4.mul(b1, v128.load(first + at)), f32x4.mul(b1c, gv));
      const v = f32x4.add(f32x4.mul(b2, v128.load(second + at)), f32x4.mul(b2c, f32x4.mul(gv, gv)));
      v128.store(first + at, m);
      v128.store(second + at, v);
      const w = f32x4.sub(v128.load(params + at), f32x4.div(f32x4.mul(lrv, m), f32x4.add(f32x4.sqrt(f32x4.mul(v, c2v)), epsv)));
      v128.store(params + at, w);
      if (fwdIndex != 0) {
        v128.store_lane<f32>(rowW + (<usize>load<i32>(fwdIndex + at) << 2), w, 0);
        v128.store_lane<f32>(rowW + (<usize>load<i32>(fwdIndex + at, 4) << 2), w, 1);
        v128.store_lane<f32>(rowW + (<usize>load<i32>(fwdIndex + at, 8) << 2), w, 2);
        v128.store_lane<f32>(rowW + (<usize>load<i32>(fwdIndex + at, 12) << 2), w, 3);
      }
    }
    for (; i < i1; i++) {
      const at = <usize>i << 2;
      let gs = load<f32>(g0 + at);
      for (let p = 1; p < threads; p++) gs += load<f32>(ptrAt(blocks + <usize>p * <usize>THREAD_STRIDE, gField) + at);
      if (scaled) gs *= scale;
      if (decayOn) gs += decay * load<f32>(params + at);
      const m = beta1 * load<f32>(first + at) + (1 - beta1) * gs;
      const v = beta2 * load<f32>(second + at) + (1 - beta2) * (gs * gs);
      store<f32>(first + at, m);
      store<f32>(second + at, v);
      const w = load<f32>(params + at) - (lr * m) / (Mathf.sqrt(v * c2) + eps);
      store<f32>(params + at, w);
      if (fwdIndex != 0) store<f32>(rowW + (<usize>load<i32>(fwdIndex + at) << 2), w);
    }
  } else {
    const mu = beta1;
    for (; i < i1; i++) {
      const at = <usize>i << 2;
      let gs = load<f32>(g0 + at);
      for (let p = 1; p < threads; p++) gs += load<f32>(ptrAt(blocks + <usize>p * <usize>THREAD_STRIDE, gField) + at);
      if (scaled) gs *= scale;
      if (decayOn) gs += decay * load<f32>(params + at);
      const m = mu * load<f32>(first + at) + gs;
      store<f32>(first + at, m);
      const w = load<f32>(params + at) - lr * m;
      store<f32>(params + at, w);
      if (fwdIndex != 0) store<f32>(rowW + (<usize>load<i32>(fwdIndex + at) << 2), w);
    }
  }
}
