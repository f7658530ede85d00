/**
 * One rewiring round (chapter 4): estimate utilities (§4.1), search candidate edges by correlation or
 * gradient (§4.3), pick swaps by the count rule, insert them with the online order keeping the graph
 * acyclic (§4.5), give new edges the weight that disturbs their neuron least (§4.4, eq. 4.8) and fresh
 * optimiser state, then hand the edited graph back to the engine.
 *
 * The number of edges and every neuron's in-degree never change: a swap frees one slot of neuron j
 * and fills it with a new source of j.
 */
import type { Batch, Engine } from "../engine/types.js";
import { GraphError, UsageError } from "../util/errors.js";
import { OnlineOrder, type OnlineOrderState } from "../graph/online-order.js";
import type { Network } from "../graph/network.js";
import type { Rng, RngState } from "../util/rng.js";
import { activityFrom, stackActivity, subBatch, type Activity } from "../estimate/activity.js";
import { levelAdmissibility, orderAdmissibility } from "../graph/admissibility.js";
import { layeredAdmissibility, type LayeredAdmissibility } from "../graph/layered.js";
import { descendantWordsKernel, prepareSearchKernels } from "../engine/search-kernel.js";
import { approximateSearch } from "./approximate-search.js";
import { exactSearch } from "./exact-search.js";
import { recallOf, type SearchResult, type SearchStats } from "./collector.js";
import { estimateUtility, firstOrderUtility } from "../estimate/utility.js";
import { newEdgeWeights } from "./new-weights.js";
import { taylorUtility, wandaUtility } from "../estimate/taylor.js";
import { l3Candidates } from "./l3.js";
import { needsUtilityStatistics, scheduledFraction, type RewireConfig } from "./schedule.js";

/** What one rewiring round did and how long it took (`Rewirer.round`; one JSON line per round in `--log`). */
export interface RoundReport {
  /** Training steps done before the round. */
  step: number;
  /** Edges actually swapped. */
  rewired: number;
  /** Swaps proposed but refused (would close a cycle, no admissible candidate, no gain). */
  refused: number;
  /**
   * Why: the target had no candidate at all (the search found none with a positive score, e.g. a
   * neuron whose errors were all 0); every candidate was taken already or would now close a cycle
   * (candidates are found before the round's swaps; a neuron that frees more slots than it has
   * candidates runs out; random growth: 64 draws found no admissible source); the expected gain was
   * below the removed utility (`requireGain`).
   */
  refusedBy: { noCandidates: number; candidatesUsed: number; noGain: number };
  /** The schedule's fraction for this round. */
  fraction: number;
  /** Mean utility (prune criterion) of the removed edges. */
  meanUtilityRemoved: number;
  /** Mean |corr| of the added edges (0 for random growth). */
  meanAbsCorrelationAdded: number;
  /** Mean |⟨σ(a_i), δ_j⟩| of the added edges (0 for random growth). */
  meanAbsGradientAdded: number;
  /** Share of new edges reading an input neuron. */
  inputShareAdded: number;
  /** Recall of the approximate search against the exact one, when sampled. */
  recall?: number;
  /** Wall time of the whole round. */
  seconds: number;
  /** Where the round's time went (seconds); they add up to `seconds` but for bookkeeping. */
  phases?: RoundPhases;
  /** The candidate search's work counters (absent for random growth). */
  searchStats?: SearchStats;
}

/** Seconds per part of a round. */
export interface RoundPhases {
  /** engine.pull, order rebuild, gradients (with per-sample activity) and edge utilities. */
  utility: number;
  /** Candidate search (exact or approximate), admissibility included. */
  search: number;
  /** The extra exact search that measures the approximate search's recall (recallEvery). */
  recall: number;
  /** Choosing the slots to free (the count rule). */
  select: number;
  /** Admissibility checks and edge replacements with online order repair (§4.5). */
  repair: number;
  /** New weights (§4.4), bias changes and fresh optimiser state. */
  fit: number;
  /** Handing the edited graph to the engine (engine.push) and the timestep reset. */
  push: number;
}

/** Tuning of a Rewirer's candidate search (not part of a preset). */
export interface RewirerOptions {
  /**
   * Samples used for the candidate search (default 256: the exact search costs k²·samples — at 256 a
   * thesis-network round costs about 1 % of the 2048 steps it follows, bench/README.md; below ~128,
   * |corr| = 1 coincidences of rarely active neurons dominate).
   */
  searchSamples?: number;
  /** Candidates kept per target, so that a refused best candidate has runners-up (default 4). */
  perTarget?: number;
  /** Measure the approximate search's recall against the exact search every this many rounds (0: never). */
  recallEvery?: number;
  /**
   * Which sources the candidate search may offer: "exact" (default) — every source that keeps the
   * graph acyclic (§4.5), from one pass over the evaluation order per block of targets, O(k·d) per
   * 512 targets and so O(k²·d/512) per round; or "levels" — only sources at a level ≤ the target's
   * (graph/admissibility.ts `levelAdmissibility`: a sound subset, an O(1) level test per pair and
   * O(d) for the pairs that pass it, no pass over the graph). The exact passes dominate a round above a few hundred thousand
   * neurons (a million neurons: about 1,950 passes over 29 million edges). Either way every swap is
   * checked by the online order before it is made.
   */
  admissibility?: "exact" | "levels";
  /**
   * Keep a layered network layered (graph/layered.ts `layerOf`): the layer of every neuron, and
   * every new edge then comes from the layer just before its target, as in SET's and RigL's MLPs.
   * Absent: new edges may join any two neurons that keep the graph acyclic.
   */
  layers?: Int32Array;
}

/** A Rewirer's state between rounds (see `exportState`). */
export interface RewirerState {
  rounds: number;
  bornAt: Float64Array;
  rng: RngState;
  order: OnlineOrderState;
}

/**
 * Rewires one network while an engine trains it. `round` estimates utilities, searches candidates,
 * swaps edges through the online order, sets new weights and optimiser state, and pushes the edited
 * network to the engine. Keeps an OnlineOrder and the step at which each slot was last filled.
 */
export class Rewirer {
  /** The evaluation order kept valid across rounds (levels refreshed once per round). */
  readonly order: OnlineOrder;
  /** Step at which each edge slot was last (re)created; −∞ for the initial edges. */
  readonly bornAt: Float64Array;
  private rounds = 0;
  /** With `options.layers`: which sources keep the network layered. */
  private readonly layered: LayeredAdmissibility | undefined;

  constructor(
    readonly network: Network,
    readonly engine: Engine,
    readonly config: RewireConfig,
    private readonly rng: Rng,
    private readonly options: RewirerOptions = {},
  ) {
    // Levels deferred to one O(edges) refresh per round: a round's many replacements would otherwise
    // each update (or, past a budget, refresh) them — at 17,000 neurons a RigL round's repair took
    // 3.6 s with incremental levels and 0.24 s deferred. The order, and so every result, is the same
    // (Pearce–Kelly does not read levels; canInsert stays exact without them).
    this.order = new OnlineOrder(network, { levels: "deferred" });
    this.bornAt = new Float64Array(network.edges).fill(-Infinity);
    this.layered = options.layers ? layeredAdmissibility(network, options.layers) : undefined;
    if (config.budgetBy === "layer" && !this.layered) throw new UsageError("rewiring a share of every layer (budgetBy: layer) needs the network's layers (rewirer option layers, or --keep-layers)");
    // The searches' WebAssembly kernels: loaded synchronously on first use in Node; in browsers
    // this starts the fetch so that rounds use them once they are there (same results either way).
    void prepareSearchKernels();
  }

  /** What the next rounds depend on besides the network and the engine (for checkpoints). */
  exportState(): RewirerState {
    return { rounds: this.rounds, bornAt: this.bornAt.slice(), rng: this.rng.getState(), order: this.order.exportState() };
  }

  /** Continue from `exportState`'s result (the network must be the one it was taken with). */
  importState(s: RewirerState): void {
    if (s.bornAt.length !== this.bornAt.length) throw new GraphError(`rewirer state has ${s.bornAt.length} edges, the network ${this.bornAt.length}`);
    this.rounds = s.rounds;
    this.bornAt.set(s.bornAt);
    this.rng.setState(s.rng);
    this.order.importState(s.order);
  }

  /** Run one round after `step` training steps using `batches` (drawn from the training split). */
  round(step: number, totalSteps: number, batches: readonly Batch[]): RoundReport {
    const started = performance.now();
    let mark = started;
    const lap = (): number => {
      const now = performance.now();
      const seconds = (now - mark) / 1000;
      mark = now;
      return seconds;
    };
    const net = this.network;
    const engine = this.engine;
    const c = this.config;
    const { inputs: n, inDegree: d } = net;
    engine.pull();
    this.order.rebuild();

    // 1. Utility of every edge and (for correlation/gradient growth) the per-sample activity.
    const searches = c.growBy === "correlation" || c.growBy === "gradient";
    const needActivity = searches || c.newWeights === "optimal" || c.pruneBy === "taylor" || c.pruneBy === "wanda";
    const gradient = new Float64Array(net.edges);
    const activities: Activity[] = [];
    for (const batch of batches) {
      const g = engine.gradients(batch, needActivity ? { activity: true } : {});
      for (let p = 0; p < gradient.length; p++) gradient[p]! += g.weightGradients[p]! / batches.length;
      if (needActivity) activities.push(activityFrom(net, batch.size, g));
    }
    const utility = new Float64Array(net.edges);
    let activity = activities.length === 1 ? activities[0] : activities.length > 1 ? stackActivity(activities) : undefined;
    if (c.pruneBy === "obd") utility.set(estimateUtility(net, batches, "obd"));
    else if (c.pruneBy === "taylor") taylorUtility(net, gradient, activity!, batches.length, utility);
    else if (c.pruneBy === "wanda") wandaUtility(net, activity!, utility);
    else if (needsUtilityStatistics(c)) accumulatedUtility(engine, c.pruneBy === "accumulated-taylor" ? batches[0]!.size : 0, utility);
    else for (let p = 0; p < utility.length; p++) utility[p] = c.pruneBy === "magnitude" ? Math.abs(net.weights[p]!) : firstOrderUtility(net.weights[p]!, gradient[p]!);
    for (let p = 0; p < utility.length; p++) if (step - this.bornAt[p]! < c.grace) utility[p] = Infinity; // grace period
    const searchSamples = this.options.searchSamples ?? 256;
    if (activity && searchSamples < activity.samples) activity = subBatch(activity, searchSamples);
    const utilitySeconds = lap();

    // 2. Candidates.
    const fraction = scheduledFraction(c, step, totalSteps);
    const budget = Math.max(0, Math.round(fraction * net.edges));
    const perTarget = this.options.perTarget ?? 4;
    let search: SearchResult | undefined;
    let recall: number | undefined;
    let searchSeconds = 0;
    let recallSeconds = 0;
    let topology: Int32Array | undefined;
    if (c.growBy === "l3") {
      topology = l3Candidates(net, perTarget);
      searchSeconds = lap();
    } else if (searches && activity) {
      // Exact admissibility (§4.5) from the order, as online-order's admissibleSources/canInsert give
      // it, but a block of 32 targets per pass over the order (512 in the engine's WebAssembly kernel).
      const admissibility = this.layered ?? (this.options.admissibility === "levels" ? levelAdmissibility(net) : orderAdmissibility(net, { admits: (s, t) => this.order.canInsert(s, t), descendants: descendantWordsKernel }));
      const opts = { criterion: c.growBy === "correlation" ? ("correlation" as const) : ("gradient" as const), top: c.count.kind === "per-pair" ? budget * 2 : 0, perTarget, admissibility, ...(c.count.kind === "threshold" ? { minScore: c.count.threshold } : {}) };
      search = c.search === "exact" ? exactSearch(activity, opts) : approximateSearch(activity, opts);
      searchSeconds = lap();
      const every = this.options.recallEvery ?? 0;
      if (c.search === "approximate" && every > 0 && this.rounds % every === 0) recall = recallOf(exactSearch(activity, opts), search).perTarget;
      recallSeconds = lap();
    }

    // 3. Which slots to free (target, slot) and with which candidate lists.
    const lowestSlot = (j: number): number => {
      const row = (j - n) * d;
      let best = -1;
      for (let e = 0; e < d; e++) if (Number.isFinite(utility[row + e]!) && (best < 0 || utility[row + e]! < utility[row + best]!)) best = e;
      return best;
    };
    const plan: { target: number; slot: number; candidates: number[] }[] = [];
    const perTargetCandidates = (j: number): number[] => {
      if (topology) return Array.from(topology.subarray(j * perTarget, (j + 1) * perTarget)).filter((s) => s >= 0);
      if (!search) return [];
      const out: number[] = [];
      for (let q = 0; q < search.perTarget.perTarget; q++) {
        const s = search.perTarget.sources[j * search.perTarget.perTarget + q]!;
        if (s >= 0) out.push(s);
      }
      return out;
    };
    if (c.count.kind === "threshold") {
      // §4.6: every neuron with an admissible |corr| above the threshold swaps its lowest-utility edge.
      for (let j = n; j < net.neurons; j++) {
        const cands = perTargetCandidates(j);
        const slot = lowestSlot(j);
        if (cands.length > 0 && slot >= 0) plan.push({ target: j, slot, candidates: cands });
      }
      plan.sort((a, b) => bestScore(search, b.target) - bestScore(search, a.target) || a.target - b.target);
      if (plan.length > budget) plan.length = budget;
    } else if (c.count.kind === "per-pair" && search) {
      const used = new Set<number>();
      for (let q = 0; q < search.top.count && plan.length < budget; q++) {
        const j = search.top.targets[q]!;
        if (used.has(j)) continue;
        const slot = lowestSlot(j);
        if (slot < 0) continue;
        used.add(j);
        plan.push({ target: j, slot, candidates: [search.top.sources[q]!, ...perTargetCandidates(j)] });
      }
    } else {
      // Fraction: the `budget` lowest-utility edges overall (or that share of every layer's in-edges),
      // each regrown into its own neuron.
      const pieces: { lo: number; hi: number; take: number }[] = [];
      if (c.budgetBy === "layer" && this.layered) {
        // Layers are numbered contiguously, so each layer's in-edges are one range of edge slots.
        for (let j0 = n; j0 < net.neurons; ) {
          const [, end] = this.layered.previousLayer(j0); // end of j0's predecessor layer = start of j0's layer
          let j1 = j0;
          while (j1 < net.neurons && this.layered.previousLayer(j1)[1] === end) j1++;
          const lo = (j0 - n) * d;
          const hi = (j1 - n) * d;
          pieces.push({ lo, hi, take: Math.round(fraction * (hi - lo)) });
          j0 = j1;
        }
      } else {
        pieces.push({ lo: 0, hi: net.edges, take: budget });
      }
      const planSlot = (p: number): void => {
        const j = n + Math.floor(p / d);
        plan.push({ target: j, slot: p % d, candidates: perTargetCandidates(j) });
      };
      if (!c.refill && !c.keepReaders) {
        // Pieces, not one spread array: a round at 170,000+ neurons frees millions of slots.
        for (const { lo, hi, take } of pieces) for (const p of lowestFinite(utility.subarray(lo, hi), take)) planSlot(lo + p);
      } else {
        // Walk down the utility order, skipping slots that could not be swapped, until `take` are planned:
        // refill skips targets with no candidate left (a neuron whose errors were all 0 has none; one
        // that frees more slots than it has candidates runs out), keepReaders skips a hidden neuron's
        // last out-edge (without a reader its errors stay 0 and its d in-edges never learn again).
        const candidatesLeft = c.refill ? new Int32Array(net.neurons).fill(-1) : undefined;
        const readers = c.keepReaders ? outDegrees(net) : undefined;
        const firstOutput = net.neurons - net.outputs;
        for (const { lo, hi, take } of pieces) {
          const values = utility.subarray(lo, hi);
          let planned = 0;
          let walked = 0;
          // lowestFinite(values, w) is the first w of one fixed order, so a longer prefix continues the walk.
          for (let want = take; planned < take; want *= 2) {
            const order = lowestFinite(values, want);
            for (; walked < order.length && planned < take; walked++) {
              const p = lo + order[walked]!;
              const j = n + Math.floor(p / d);
              const source = net.sources[p]!;
              if (readers && source >= n && source < firstOutput && readers[source]! <= 1) continue;
              if (candidatesLeft) {
                if (candidatesLeft[j]! < 0) candidatesLeft[j] = perTargetCandidates(j).length;
                if (candidatesLeft[j] === 0) continue;
                candidatesLeft[j]!--;
              }
              if (readers) readers[source]!--;
              planSlot(p);
              planned++;
            }
            if (order.length < want) break; // every finite slot walked
          }
        }
      }
    }
    const selectSeconds = lap();

    // 4. Apply the swaps.
    let rewired = 0;
    let refused = 0;
    const refusedBy = { noCandidates: 0, candidatesUsed: 0, noGain: 0 };
    let utilityRemoved = 0;
    let corrAdded = 0;
    let gradAdded = 0;
    let inputsAdded = 0;
    const swaps: { target: number; slot: number; oldSource: number; oldWeight: number; newSource: number }[] = [];
    for (const { target: j, slot, candidates } of plan) {
      const edge = (j - n) * d + slot;
      const oldSource = net.sources[edge]!;
      let chosen = -1;
      let chosenRank = -1;
      const layered = this.layered;
      if (c.growBy === "random") {
        // Uniform over all neurons (or the layer before j's), until one may be added.
        const [lo, hi] = layered ? layered.previousLayer(j) : [0, net.neurons];
        for (let tries = 0; tries < 64 && chosen < 0 && hi > lo; tries++) {
          const s = lo + this.rng.nextInt(hi - lo);
          if (this.order.canInsert(s, j)) chosen = s;
        }
      } else {
        for (let q = 0; q < candidates.length && chosen < 0; q++) {
          const s = candidates[q]!;
          if ((!layered || layered.admits!(s, j)) && this.order.canInsert(s, j)) { chosen = s; chosenRank = q; }
        }
      }
      if (chosen < 0) {
        refused++;
        if (c.growBy !== "random" && candidates.length === 0) refusedBy.noCandidates++;
        else refusedBy.candidatesUsed++;
        continue;
      }
      if (c.requireGain && search) {
        // Expected first-order gain of the new edge if it grew to the removed weight's size.
        const gain = Math.abs(candidateInner(search, j, chosen)) * Math.abs(net.weights[edge]!);
        if (!(gain > utility[edge]!)) { refused++; refusedBy.noGain++; continue; }
      }
      if (!this.order.replaceEdge(j, slot, chosen)) { refused++; refusedBy.candidatesUsed++; continue; }
      swaps.push({ target: j, slot, oldSource, oldWeight: net.weights[edge]!, newSource: chosen });
      utilityRemoved += utility[edge]!;
      if (search && chosenRank >= 0) {
        corrAdded += Math.abs(candidateCorrelation(search, j, chosen));
        gradAdded += Math.abs(candidateInner(search, j, chosen));
      }
      if (chosen < n) inputsAdded++;
      rewired++;
    }

    // Levels exact again for the engine, the next round's search and anyone reading net.levels.
    if (!this.order.levelsCurrent) this.order.refreshLevels();
    const repairSeconds = lap();

    // 5. New weights (eq. 4.8 / zero / random), fresh optimiser state, hand back to the engine.
    let fitSeconds = 0;
    if (swaps.length > 0) {
      const fit = newEdgeWeights(c.newWeights, swaps, activity, net, this.rng, c.newWeightStd);
      for (let q = 0; q < swaps.length; q++) {
        const s = swaps[q]!;
        const edge = (s.target - n) * d + s.slot;
        net.weights[edge] = fit.weights[q]!;
        this.bornAt[edge] = step;
        engine.resetEdgeState(edge);
      }
      for (const [j, beta] of fit.biasChanges) net.biases[j] = net.biases[j]! + beta;
      fitSeconds = lap();
      engine.push();
    }
    if (c.resetTimestep) engine.resetTimestep();
    // The accumulated criteria sum over the steps between rounds: start the next interval.
    if (needsUtilityStatistics(c)) engine.clearAccumulatedUtility();
    const pushSeconds = lap();
    this.rounds++;
    const report: RoundReport = {
      step,
      rewired,
      refused,
      refusedBy,
      fraction,
      meanUtilityRemoved: rewired ? utilityRemoved / rewired : 0,
      meanAbsCorrelationAdded: rewired ? corrAdded / rewired : 0,
      meanAbsGradientAdded: rewired ? gradAdded / rewired : 0,
      inputShareAdded: rewired ? inputsAdded / rewired : 0,
      seconds: (performance.now() - started) / 1000,
      phases: { utility: utilitySeconds, search: searchSeconds, recall: recallSeconds, select: selectSeconds, repair: repairSeconds, fit: fitSeconds, push: pushSeconds },
    };
    if (recall !== undefined) report.recall = recall;
    if (search) report.searchStats = search.stats;
    return report;
  }
}

/** Readers of every neuron: how many in-edges name it as their source. */
function outDegrees(net: Network): Int32Array {
  const out = new Int32Array(net.neurons);
  for (let p = 0; p < net.sources.length; p++) out[net.sources[p]!]!++;
  return out;
}

/**
 * The indices of the `count` smallest finite values, ordered by (value, index) — exactly the prefix
 * of sorting all finite indices that way — in expected O(E + count·log count): a selection finds
 * the cut, one pass gathers the indices below it (and those at it, in index order, as far as
 * needed), and a merge sort orders only those. −0 and +0 compare equal, as in a comparator sort.
 */
export function lowestFinite(values: Float64Array, count: number): Int32Array {
  let finite = 0;
  for (let p = 0; p < values.length; p++) if (Number.isFinite(values[p]!)) finite++;
  const take = Math.max(0, Math.min(count, finite));
  const out = new Int32Array(take);
  if (take === 0) return out;
  const pool = new Float64Array(finite);
  for (let p = 0, q = 0; p < values.length; p++) if (Number.isFinite(values[p]!)) pool[q++] = values[p]!;
  const cut = selectNth(pool, take - 1);
  let m = 0;
  for (let p = 0; p < values.length; p++) if (values[p]! < cut && values[p]! !== -Infinity) out[m++] = p;
  for (let p = 0; p < values.length && m < take; p++) if (values[p]! === cut) out[m++] = p;
  sortByValueThenIndex(out, values);
  return out;
}

/**
 * The n-th smallest of `a` (0-based; `a` is reordered), by quickselect with a median-of-three
 * pivot; falls back to a full sort if the partitions keep coming out lopsided.
 */
function selectNth(a: Float64Array, n: number): number {
  let lo = 0;
  let hi = a.length - 1;
  let rounds = 0;
  while (hi > lo) {
    if (++rounds > 64) {
      const rest = a.subarray(lo, hi + 1).sort();
      return rest[n - lo]!;
    }
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (n <= j) hi = j;
    else if (n >= i) lo = i;
    else return a[n]!;
  }
  return a[lo]!;
}

/** Sort `idx` by (values[idx], idx) ascending: insertion-sorted runs of 16, then bottom-up merges. */
function sortByValueThenIndex(idx: Int32Array, values: Float64Array): void {
  const n = idx.length;
  const before = (a: number, b: number): boolean => {
    const va = values[a]!;
    const vb = values[b]!;
    return va < vb || (va === vb && a < b);
  };
  const RUN = 16;
  for (let s = 0; s < n; s += RUN) {
    const e = Math.min(s + RUN, n);
    for (let i = s + 1; i < e; i++) {
      const x = idx[i]!;
      let j = i - 1;
      while (j >= s && before(x, idx[j]!)) {
        idx[j + 1] = idx[j]!;
        j--;
      }
      idx[j + 1] = x;
    }
  }
  let src: Int32Array = idx;
  let dst: Int32Array = new Int32Array(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let s = 0; s < n; s += 2 * width) {
      const mid = Math.min(s + width, n);
      const e = Math.min(s + 2 * width, n);
      let a = s;
      let b = mid;
      let o = s;
      while (a < mid && b < e) dst[o++] = before(src[b]!, src[a]!) ? src[b++]! : src[a++]!;
      while (a < mid) dst[o++] = src[a++]!;
      while (b < e) dst[o++] = src[b++]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== idx) idx.set(src);
}

function bestScore(search: SearchResult | undefined, j: number): number {
  if (!search) return 0;
  return search.perTarget.score[j * search.perTarget.perTarget]!;
}

function candidateIndex(search: SearchResult, j: number, source: number): number {
  const c = search.perTarget.perTarget;
  for (let q = 0; q < c; q++) if (search.perTarget.sources[j * c + q] === source) return j * c + q;
  return -1;
}

function candidateInner(search: SearchResult, j: number, source: number): number {
  const q = candidateIndex(search, j, source);
  return q < 0 ? 0 : search.perTarget.inner[q]!;
}

function candidateCorrelation(search: SearchResult, j: number, source: number): number {
  const q = candidateIndex(search, j, source);
  return q < 0 ? 0 : search.perTarget.correlation[q]!;
}

/**
 * The accumulated prune criteria into `utility`: mean −w·g over the steps since the last round and,
 * with `batch` > 0, + ½·ln 2·batch·mean((w·g)²): the empirical Fisher of the per-sample gradients
 * is about batch × the mean squared batch gradient, and ½w²·Fisher (in bits, × ln 2) is taylor.ts's
 * curvature term. Higher = more useful, as every criterion.
 */
export function accumulatedUtility(engine: Engine, batch: number, utility: Float64Array): void {
  const stats = engine.accumulatedUtility();
  if (!stats) throw new UsageError("the accumulated prune criteria need an engine made with { utilityStatistics: true }");
  const steps = Math.max(1, stats.steps);
  for (let p = 0; p < utility.length; p++) {
    utility[p] = stats.firstOrder[p]! / steps + (batch > 0 ? 0.5 * Math.LN2 * batch * (stats.squared[p]! / steps) : 0);
  }
}
