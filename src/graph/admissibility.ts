/**
 * Admissibility (§4.5): which absent edges i → j may be added to a network without closing a cycle,
 * duplicating an edge or entering an input, read off the evaluation order and levels. The candidate
 * searches (rewire/exact-search.ts, rewire/approximate-search.ts) and their kernels
 * (engine/search-kernel.ts) ask it for the admissible sources of their targets, 32 or 512 targets at
 * a time as bits.
 *
 * What it is not: it never edits the network (online-order.ts inserts edges and repairs the order)
 * and never scores a pair. Its one fast path that is not TypeScript — the 512-target pass in
 * WebAssembly — is injected (`DescendantWordsKernel`), so that this file depends on nothing above
 * graph/.
 *
 * Legend: k neurons, n inputs, d in-degree, H = k − n non-input neurons.
 */
import type { Network } from "./network.js";
import { ShapeError } from "../util/errors.js";

/**
 * Which absent edges may be added. `fill(target, into)` gets `into` (length ≥ k) zeroed and sets
 * into[i] = 1 for every admissible source i of `target`: not an existing source, not the target
 * itself, not reachable from the target (no cycle). This is the shape of online-order's
 * `admissibleSources(target, into)`.
 */
export interface Admissibility {
  /** Sets into[i] = 1 for every admissible source i of `target` (`into`: length ≥ k, zeroed by the caller). */
  fill(target: number, into: Uint8Array): void;
  /**
   * Optional: the admissible sources of up to 32 targets at once, as bits: into[i] (length ≥ k) gets
   * bit t set iff i → targets[t] is admissible, every other bit clear. Must agree with `fill`. The
   * searches visit targets in blocks of 32, so an implementation that shares work between the
   * targets of a block (`orderAdmissibility`: one pass over the order instead of 32) makes the
   * admissibility O(k·d/32) per target instead of O(k·d).
   */
  fillBlock?(targets: Int32Array, into: Int32Array): void;
  /**
   * Optional: the same for up to 512 targets (16 blocks of 32) at once, block-major: word b·k + i
   * of the returned array has bit t set iff i → targets[32b + t] is admissible. The result may be a
   * view that the next call overwrites. `orderAdmissibility` runs this through its
   * `DescendantWordsKernel` when it has one (the engine's: WebAssembly SIMD, one 512-bit word per
   * neuron, where the search module is loaded).
   */
  fillBlocks?(targets: Int32Array): Int32Array;
  /**
   * Optional O(d) test of one pair. The approximate search checks only a few candidates per target,
   * so with `admits` it never builds an O(k) mask per target (which would make it quadratic again).
   */
  admits?(source: number, target: number): boolean;
  /**
   * Optional topological rank per neuron (inputs lowest): only orders the work so that blocks of
   * sources ranked after a block of targets — mostly inadmissible — are skipped together. Never
   * used to decide admissibility.
   */
  rank?: Int32Array;
}

/** Targets per admissibility block (one bit each in a 32-bit word per source). */
export const BLOCK_TARGETS = 32;
/** Targets per `fillBlocks` call (sixteen blocks). */
export const SUPER_BLOCK_TARGETS = 512;

/**
 * Admissibility words of up to 512 targets, block-major (see `Admissibility.fillBlocks`): through
 * `fillBlocks` when there is one, else block by block into `scratch` (length ≥ 16·k).
 */
export function fillWordBlocks(admissibility: Admissibility, targets: Int32Array, k: number, scratch: Int32Array, mask: Uint8Array): Int32Array {
  if (targets.length > SUPER_BLOCK_TARGETS) throw new ShapeError(`an admissibility super-block holds at most ${SUPER_BLOCK_TARGETS} targets, got ${targets.length}`);
  if (admissibility.fillBlocks) return admissibility.fillBlocks(targets);
  for (let b = 0; b * BLOCK_TARGETS < targets.length; b++) {
    fillBlockWords(admissibility, targets.subarray(b * BLOCK_TARGETS, (b + 1) * BLOCK_TARGETS), scratch.subarray(b * k, (b + 1) * k), k, mask);
  }
  return scratch;
}

/**
 * Fill `words` (length ≥ k) with the admissibility bits of `targets` (≤ 32) through `fillBlock`, or
 * target by target through `fill` (using `mask`, length ≥ k, as scratch).
 */
export function fillBlockWords(admissibility: Admissibility, targets: Int32Array, words: Int32Array, k: number, mask: Uint8Array): void {
  if (targets.length > BLOCK_TARGETS) throw new ShapeError(`an admissibility block holds at most ${BLOCK_TARGETS} targets, got ${targets.length}`);
  if (admissibility.fillBlock) {
    admissibility.fillBlock(targets, words);
    return;
  }
  words.fill(0, 0, k);
  for (let t = 0; t < targets.length; t++) {
    mask.fill(0, 0, k);
    admissibility.fill(targets[t]!, mask);
    const bit = 1 << t;
    for (let i = 0; i < k; i++) if (mask[i] !== 0) words[i]! |= bit;
  }
}

/** Set bits of a 32-bit word. */
export function popcount32(x: number): number {
  x = (x - ((x >>> 1) & 0x55555555)) | 0;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Sort neuron ids by (rank, id) when a rank is given (`Admissibility.rank`); by id otherwise. */
export function byRank(ids: number[], rank: Int32Array | undefined): Int32Array {
  if (rank) ids.sort((a, b) => rank[a]! - rank[b]! || a - b);
  else ids.sort((a, b) => a - b);
  return Int32Array.from(ids);
}

/**
 * A faster way to the words of `orderAdmissibility`'s `fillBlocks`, for an engine to supply (the
 * WebAssembly one: engine/search-kernel.ts `descendantWordsKernel`). Same definition as `fillBlock`,
 * same bits.
 */
export interface DescendantWordsKernel {
  /**
   * Admissibility words of `targets` (≤ 512 non-inputs of `net`, checked by the caller), block-major
   * as in `Admissibility.fillBlocks`; `r0` is the earliest order position among the targets and
   * `minLevel` their lowest level. The result may be a view that the next call overwrites.
   * `owner` stands for the network as it is now: a kernel may keep a copy of the graph between calls
   * with the same owner, so a new owner is needed after editing edges (orderAdmissibility makes one
   * per instance). Returns undefined when the kernel cannot run now (e.g. its module is not loaded
   * yet): the caller then computes the blocks in TypeScript.
   */
  descendantWords(owner: object, net: Network, targets: Int32Array, r0: number, minLevel: number): Int32Array | undefined;
}

/**
 * Exact admissibility (§4.5) read off the evaluation order, for the network as it is when this is
 * built (rebuild it after editing edges; `net.order` and `net.levels` must be valid): i → j is
 * admissible iff j is not an input, i ≠ j, i is not a source of j and j does not reach i — the
 * same set as online-order's `admissibleSources`.
 *
 * `fillBlock` finds the descendants of up to 32 targets in ONE pass over the order from the earliest
 * of them, carrying a 32-bit word per neuron (bit t: "descends from target t"): a neuron descends
 * from t iff one of its sources is t or descends from t, and the order decides its sources first;
 * neurons at a level ≤ the block's lowest target level cannot descend from any of them and are
 * skipped unread. Cost O(k·d) per block, i.e. O(k·d/32) per target, where `admissibleSources` costs
 * O(k·d) per target. `admits` tests one pair (default: a backward search from the source confined
 * to neurons after the target in the order and above its level; pass online-order's `canInsert`
 * to share its scratch). The rank is the position in the order (inputs −1), so targets and sources
 * are visited in order and blocks of later sources — never admissible — are skipped. `descendants`
 * (optional) computes 512 targets per pass in `fillBlocks` (the engine's WebAssembly kernel);
 * without it, or where it cannot run, `fillBlocks` runs `fillBlock` block by block. Same bits.
 */
export function orderAdmissibility(net: Network, extra: { admits?: (source: number, target: number) => boolean; descendants?: DescendantWordsKernel } = {}): Admissibility {
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const { order, levels } = net;
  const H = k - n;
  if (order.length !== H || levels.length !== k) {
    throw new ShapeError(`network order holds ${order.length} neurons and levels ${levels.length}, expected ${H} and ${k}`, "call validate() or computeOrder() first");
  }
  const position = new Int32Array(k).fill(-1);
  for (let r = 0; r < H; r++) position[order[r]!] = r;
  const fillBlock = (targets: Int32Array, into: Int32Array): void => {
    const count = targets.length;
    if (count > BLOCK_TARGETS) throw new ShapeError(`an admissibility block holds at most ${BLOCK_TARGETS} targets, got ${count}`);
    // While scanning, bit t of into[w] = "w is target t, a descendant of it, or one of its sources".
    into.fill(0, 0, k);
    let r0 = H;
    let minLevel = Infinity;
    for (let t = 0; t < count; t++) {
      const j = targets[t]!;
      if (!(Number.isInteger(j) && j >= n && j < k)) throw new ShapeError(`target ${j} is not a non-input neuron (${n}..${k - 1})`);
      into[j]! |= 1 << t;
      if (position[j]! < r0) r0 = position[j]!;
      if (levels[j]! < minLevel) minLevel = levels[j]!;
    }
    for (let r = r0 + 1; r < H; r++) {
      const w = order[r]!;
      if (levels[w]! <= minLevel) continue;
      const row = (w - n) * d;
      let m = 0;
      for (let e = 0; e < d; e++) m |= into[sources[row + e]!]!;
      if (m !== 0) into[w]! |= m;
    }
    for (let t = 0; t < count; t++) {
      const row = (targets[t]! - n) * d;
      const bit = 1 << t;
      for (let e = 0; e < d; e++) into[sources[row + e]!]! |= bit;
    }
    const full = count === 32 ? -1 : (1 << count) - 1;
    for (let i = 0; i < k; i++) into[i] = ~into[i]! & full;
  };
  const one = new Int32Array(1);
  const oneWords = new Int32Array(k);
  // Default pair test: does target reach source? Backward from source over neurons that come after
  // target in the order and sit above its level (both necessary for a path target ⇝ w).
  const seen = new Uint32Array(k);
  const stack = new Int32Array(k);
  let epoch = 0;
  const reaches = (target: number, source: number): boolean => {
    if (++epoch === 0xffffffff) {
      seen.fill(0);
      epoch = 1;
    }
    const pt = position[target]!;
    const lt = levels[target]!;
    let top = 0;
    stack[top++] = source;
    seen[source] = epoch;
    while (top > 0) {
      const w = stack[--top]!;
      const row = (w - n) * d;
      for (let e = 0; e < d; e++) {
        const s = sources[row + e]!;
        if (s === target) return true;
        if (s < n || seen[s] === epoch || position[s]! <= pt || levels[s]! <= lt) continue;
        seen[s] = epoch;
        stack[top++] = s;
      }
    }
    return false;
  };
  const admits =
    extra.admits ??
    ((source: number, target: number): boolean => {
      if (!(target >= n && target < k && source >= 0 && source < k) || source === target) return false;
      const row = (target - n) * d;
      for (let e = 0; e < d; e++) if (sources[row + e] === source) return false;
      if (source < n || position[source]! < position[target]! || levels[source]! <= levels[target]!) return true;
      return !reaches(target, source);
    });
  // Sixteen blocks at once: through the descendants kernel (512-bit words) where it runs, else block by block.
  const scratch = new Int32Array(16 * k);
  const owner = {};
  const descendants = extra.descendants;
  const fillBlocks = (targets: Int32Array): Int32Array => {
    if (targets.length > SUPER_BLOCK_TARGETS) throw new ShapeError(`an admissibility super-block holds at most ${SUPER_BLOCK_TARGETS} targets, got ${targets.length}`);
    if (descendants) {
      let r0 = H;
      let minLevel = 0x7fffffff;
      for (let t = 0; t < targets.length; t++) {
        const j = targets[t]!;
        if (!(Number.isInteger(j) && j >= n && j < k)) throw new ShapeError(`target ${j} is not a non-input neuron (${n}..${k - 1})`);
        if (position[j]! < r0) r0 = position[j]!;
        if (levels[j]! < minLevel) minLevel = levels[j]!;
      }
      const words = descendants.descendantWords(owner, net, targets, r0, minLevel);
      if (words) return words;
    }
    for (let b = 0; b * BLOCK_TARGETS < targets.length; b++) fillBlock(targets.subarray(b * BLOCK_TARGETS, (b + 1) * BLOCK_TARGETS), scratch.subarray(b * k, (b + 1) * k));
    return scratch;
  };
  return {
    rank: position,
    fillBlock,
    fillBlocks,
    admits,
    fill(target: number, into: Uint8Array): void {
      if (!(target >= n && target < k)) return;
      one[0] = target;
      fillBlock(one, oneWords);
      for (let i = 0; i < k; i++) into[i] = oneWords[i]! & 1;
    },
  };
}

/**
 * The cheap conservative admissibility usable without the online order (§4.5: "neurons that come
 * before j in the evaluation order cannot depend on j"): i → j is allowed when j is not an input,
 * i ≠ j, i is not already a source of j, and level(i) ≤ level(j). A path j → … → i would force
 * level(i) > level(j), so this never closes a cycle; it contains the rule "position(i) < position(j)
 * in the evaluation order, or i is an input" (the order is sorted by level) and adds same-level
 * pairs in both directions. It misses admissible pairs with level(i) > level(j) where j still does
 * not reach i; an exact per-target DFS (online-order's `admissibleSources`) finds those too.
 * Levels must be current: after inserting edges, rebuild this (or re-read levels) before searching.
 */
export function levelAdmissibility(net: Network): Admissibility {
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const levels = net.levels;
  if (levels.length !== k) throw new ShapeError(`network levels hold ${levels.length} entries, expected ${k}; call validate() or computeOrder() first`);
  return {
    rank: levels,
    fill(target: number, into: Uint8Array): void {
      if (target < n) return;
      const lt = levels[target]!;
      for (let i = 0; i < k; i++) into[i] = levels[i]! <= lt ? 1 : 0;
      into[target] = 0;
      const row = (target - n) * d;
      for (let e = 0; e < d; e++) into[sources[row + e]!] = 0;
    },
    admits(source: number, target: number): boolean {
      if (target < n || source === target || levels[source]! > levels[target]!) return false;
      const row = (target - n) * d;
      for (let e = 0; e < d; e++) if (sources[row + e] === source) return false;
      return true;
    },
  };
}

/** Wrap a mask callback (e.g. online-order's admissibleSources) and optional pair test and rank. */
export function maskAdmissibility(
  fill: (target: number, into: Uint8Array) => void,
  extra: { admits?: (source: number, target: number) => boolean; rank?: Int32Array } = {},
): Admissibility {
  const a: Admissibility = { fill };
  if (extra.admits) a.admits = extra.admits;
  if (extra.rank) a.rank = extra.rank;
  return a;
}
