/**
 * Checkpoints (issue 14): a run's whole state between two steps, and its file, one safetensors
 * container (so it loads with any safetensors reader): the arrays as tensors (network, evaluation
 * order and levels, optimiser moments, step losses, the rewirer's birth steps and consumer lists),
 * the scalars as JSON in the header's metadata (`state`), and whatever the caller records about
 * the run's settings (`settings`, e.g. the CLI's flags and the text's identity). Browser-safe:
 * writing the bytes to a file is the caller's business (the CLI writes them atomically).
 */
import type { GradualPrunerState } from "../compress/gradual.js";
import type { OptimizerSnapshot } from "../engine/types.js";
import type { Task } from "../graph/network.js";
import { encodeSafetensors, littleEndian, readSafetensors, type SafetensorsEntry } from "../io/safetensors.js";
import { fileError, isRecord, show } from "../io/schema.js";
import type { RewirerState } from "../rewire/rewire.js";
import type { TrainerState } from "../train/trainer.js";
import type { RngState } from "../util/rng.js";

/** One rewiring round, as runs record it. */
export interface RoundSummary {
  step: number;
  rewired: number;
  /** Share of all edges rewired. */
  fraction: number;
  seconds: number;
  recall?: number;
  /** Planned swaps refused, and why (RoundReport.refusedBy); absent in older checkpoints. */
  refused?: number;
  refusedBy?: { noCandidates: number; candidatesUsed: number; noGain: number };
}

/**
 * Everything a run needs to continue as if it had never stopped: the network with its evaluation
 * order and levels (the engine's sums follow the order), the optimiser state, the training loop's
 * state (step, losses, sampler generators), the rewirer's or pruner's state, the rounds so far.
 */
export interface RunCheckpoint {
  step: number;
  network: { neurons: number; inputs: number; outputs: number; inDegree: number; task: Task; sources: Int32Array; weights: Float32Array; biases: Float32Array; order: Int32Array; levels: Int32Array };
  optimizer: OptimizerSnapshot;
  trainer: TrainerState;
  rewirer?: RewirerState;
  pruner?: GradualPrunerState;
  rounds: RoundSummary[];
  initialEdges: number;
  initialInDegree: number;
}

/** The `format` a checkpoint file's metadata names. */
export const CHECKPOINT_FORMAT = "sparsewire.checkpoint";
/** The checkpoint layout this code writes and reads. */
export const CHECKPOINT_VERSION = 1;

/** JSON with NaN kept (as null; the reader turns the fields that may be NaN back). */
const nanToNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** The checkpoint as safetensors bytes; `settings` is stored as JSON beside it. */
export function encodeCheckpoint(c: RunCheckpoint, settings: Record<string, unknown>): Uint8Array {
  const n = c.network;
  const entries: SafetensorsEntry[] = [];
  const add = (name: string, a: Int32Array | Float32Array | Float64Array) => entries.push({ name, dtype: a instanceof Int32Array ? "I32" : a instanceof Float64Array ? "F64" : "F32", shape: [a.length], data: littleEndian(a) });
  add("network.sources", n.sources);
  add("network.weights", n.weights);
  add("network.biases", n.biases);
  add("network.order", n.order);
  add("network.levels", n.levels);
  const o = c.optimizer;
  add("optimizer.weightFirst", o.weightFirst);
  add("optimizer.weightSecond", o.weightSecond);
  add("optimizer.biasFirst", o.biasFirst);
  add("optimizer.biasSecond", o.biasSecond);
  if (o.powers) {
    add("optimizer.powers.weightBeta1", o.powers.weightBeta1);
    add("optimizer.powers.weightBeta2", o.powers.weightBeta2);
    add("optimizer.powers.biasBeta1", o.powers.biasBeta1);
    add("optimizer.powers.biasBeta2", o.powers.biasBeta2);
  }
  add("trainer.losses", c.trainer.losses);
  if (c.trainer.samplerPosition) add("trainer.samplerPermutation", c.trainer.samplerPosition.permutation);
  if (c.trainer.hookSamplerPosition) add("trainer.hookSamplerPermutation", c.trainer.hookSamplerPosition.permutation);
  const r = c.rewirer;
  if (r) {
    add("rewirer.bornAt", r.bornAt);
    add("rewirer.order.pool", r.order.pool);
    add("rewirer.order.outStart", r.order.outStart);
    add("rewirer.order.outLen", r.order.outLen);
    add("rewirer.order.outCap", r.order.outCap);
    add("rewirer.order.where", r.order.where);
  }
  const t = c.trainer;
  const state = {
    step: c.step,
    network: { neurons: n.neurons, inputs: n.inputs, outputs: n.outputs, inDegree: n.inDegree, task: n.task },
    optimizer: { timestep: o.timestep, ...(o.updates !== undefined ? { updates: o.updates } : {}), powers: o.powers !== undefined },
    trainer: { step: t.step, seconds: t.seconds, hookSeconds: t.hookSeconds, intervalSum: t.intervalSum, intervalSteps: t.intervalSteps, lastInterval: t.lastInterval, smoothed: t.smoothed, sampler: t.sampler, hookSampler: t.hookSampler, ...(t.samplerPosition ? { samplerAt: t.samplerPosition.at } : {}), ...(t.hookSamplerPosition ? { hookSamplerAt: t.hookSamplerPosition.at } : {}) },
    ...(r ? { rewirer: { rounds: r.rounds, rng: r.rng, order: { poolEnd: r.order.poolEnd, levelsStale: r.order.levelsStale, dirtyFrom: r.order.dirtyFrom } } } : {}),
    ...(c.pruner ? { pruner: { from: c.pruner.from, rebuilt: c.pruner.rebuilt, events: c.pruner.events.map((e) => ({ ...e, meanUtilityRemoved: nanToNull(e.meanUtilityRemoved) })) } } : {}),
    rounds: c.rounds,
    initialEdges: c.initialEdges,
    initialInDegree: c.initialInDegree,
  };
  return encodeSafetensors(entries, { format: CHECKPOINT_FORMAT, version: String(CHECKPOINT_VERSION), state: JSON.stringify(state), settings: JSON.stringify(settings) });
}

/** A checkpoint file read back: the run's state and the settings stored with it. */
export interface LoadedCheckpoint {
  checkpoint: RunCheckpoint;
  settings: Record<string, unknown>;
}

/** Reads `encodeCheckpoint`'s bytes; a malformed file is one ModelFileError naming the field. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): LoadedCheckpoint {
  const f = readSafetensors(bytes, source);
  const meta = f.metadata;
  if (meta["format"] !== CHECKPOINT_FORMAT) {
    throw fileError(source, `not a sparsewire checkpoint (format ${show(meta["format"] ?? null)}, expected "${CHECKPOINT_FORMAT}")`, "a checkpoint is written by `train --checkpoint-every` or when a run is interrupted; a model file is not one");
  }
  if (meta["version"] !== String(CHECKPOINT_VERSION)) throw fileError(source, `checkpoint version ${show(meta["version"] ?? null)} is not supported (this sparsewire reads version ${CHECKPOINT_VERSION})`);
  const json = (key: string): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(meta[key] ?? "");
    } catch {
      throw fileError(source, `metadata "${key}" is not valid JSON`);
    }
    if (!isRecord(v)) throw fileError(source, `metadata "${key}" must be a JSON object`);
    return v;
  };
  const state = json("state");
  const settings = json("settings");
  const num = (o: Record<string, unknown>, key: string, path: string, nullable = false): number => {
    const v = o[key];
    if (nullable && v === null) return NaN;
    if (typeof v !== "number" || !Number.isFinite(v)) throw fileError(source, `state.${path}${key} must be a finite number, got ${show(v ?? null)}`);
    return v;
  };
  const int = (o: Record<string, unknown>, key: string, path: string): number => {
    const v = num(o, key, path);
    if (!Number.isSafeInteger(v) || v < 0) throw fileError(source, `state.${path}${key} must be a non-negative integer, got ${v}`);
    return v;
  };
  const rec = (o: Record<string, unknown>, key: string, path: string): Record<string, unknown> => {
    const v = o[key];
    if (!isRecord(v)) throw fileError(source, `state.${path}${key} must be an object`);
    return v;
  };
  const rng = (o: Record<string, unknown>, key: string, path: string): RngState => {
    const v = rec(o, key, path);
    const words = v["words"];
    if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) throw fileError(source, `state.${path}${key}.words must be four 32-bit unsigned integers`);
    const spare = v["spareNormal"];
    if (spare !== null && typeof spare !== "number") throw fileError(source, `state.${path}${key}.spareNormal must be a number or null`);
    return { words: words as number[], spareNormal: spare };
  };
  const net = rec(state, "network", "");
  const k = int(net, "neurons", "network.");
  const n = int(net, "inputs", "network.");
  const m = int(net, "outputs", "network.");
  const d = int(net, "inDegree", "network.");
  if (!(n + m <= k)) throw fileError(source, `state.network: ${n} inputs and ${m} outputs do not fit in ${k} neurons`);
  const edges = (k - n) * d;
  const task = net["task"] as Task;
  if (!isRecord(task) || typeof (task as { kind?: unknown }).kind !== "string") throw fileError(source, "state.network.task must be a task object");
  const opt = rec(state, "optimizer", "");
  const powers = opt["powers"] === true;
  const tr = rec(state, "trainer", "");
  const step = int(tr, "step", "trainer.");
  const trainer: TrainerState = {
    step,
    losses: f.float64("trainer.losses", step),
    seconds: num(tr, "seconds", "trainer."),
    hookSeconds: num(tr, "hookSeconds", "trainer."),
    intervalSum: num(tr, "intervalSum", "trainer."),
    intervalSteps: int(tr, "intervalSteps", "trainer."),
    lastInterval: tr["lastInterval"] === null ? null : num(tr, "lastInterval", "trainer."),
    smoothed: tr["smoothed"] === null ? null : num(tr, "smoothed", "trainer."),
    sampler: rng(tr, "sampler", "trainer."),
    hookSampler: rng(tr, "hookSampler", "trainer."),
  };
  // Samples read in shuffled epochs: each sampler's permutation and place in it.
  for (const [key, field] of [["sampler", "samplerPosition"], ["hookSampler", "hookSamplerPosition"]] as const) {
    const name = `trainer.${key}Permutation`;
    if (tr[`${key}At`] === undefined) continue;
    const permutation = f.int32(name);
    const at = int(tr, `${key}At`, "trainer.");
    if (at > permutation.length) throw fileError(source, `state.trainer.${key}At ${at} is past the ${permutation.length} entries of ${name}`);
    trainer[field] = { at, permutation };
  }
  let rewirer: RewirerState | undefined;
  if (state["rewirer"] !== undefined) {
    const rw = rec(state, "rewirer", "");
    const order = rec(rw, "order", "rewirer.");
    rewirer = {
      rounds: int(rw, "rounds", "rewirer."),
      bornAt: f.float64("rewirer.bornAt", edges),
      rng: rng(rw, "rng", "rewirer."),
      order: {
        pool: f.int32("rewirer.order.pool"),
        poolEnd: int(order, "poolEnd", "rewirer.order."),
        outStart: f.int32("rewirer.order.outStart", k),
        outLen: f.int32("rewirer.order.outLen", k),
        outCap: f.int32("rewirer.order.outCap", k),
        where: f.int32("rewirer.order.where", edges),
        levelsStale: order["levelsStale"] === true,
        dirtyFrom: int(order, "dirtyFrom", "rewirer.order."),
      },
    };
    if (rewirer.order.poolEnd > rewirer.order.pool.length) throw fileError(source, `state.rewirer.order.poolEnd ${rewirer.order.poolEnd} is past the pool's ${rewirer.order.pool.length} entries`);
  }
  let pruner: GradualPrunerState | undefined;
  if (state["pruner"] !== undefined) {
    const p = rec(state, "pruner", "");
    const events = p["events"];
    if (!Array.isArray(events)) throw fileError(source, "state.pruner.events must be an array");
    pruner = {
      from: int(p, "from", "pruner."),
      rebuilt: int(p, "rebuilt", "pruner."),
      events: events.map((e: unknown, i) => {
        if (!isRecord(e)) throw fileError(source, `state.pruner.events[${i}] must be an object`);
        const at = `pruner.events[${i}].`;
        return { step: int(e, "step", at), from: int(e, "from", at), to: int(e, "to", at), meanUtilityRemoved: num(e, "meanUtilityRemoved", at, true), seconds: num(e, "seconds", at) };
      }),
    };
  }
  const roundsValue = state["rounds"];
  if (!Array.isArray(roundsValue)) throw fileError(source, "state.rounds must be an array");
  const rounds: RoundSummary[] = roundsValue.map((r: unknown, i) => {
    if (!isRecord(r)) throw fileError(source, `state.rounds[${i}] must be an object`);
    const at = `rounds[${i}].`;
    const by = r["refusedBy"];
    if (by !== undefined && !isRecord(by)) throw fileError(source, `state.${at}refusedBy must be an object`);
    return {
      step: int(r, "step", at), rewired: int(r, "rewired", at), fraction: num(r, "fraction", at), seconds: num(r, "seconds", at),
      ...(r["recall"] !== undefined ? { recall: num(r, "recall", at) } : {}),
      ...(r["refused"] !== undefined ? { refused: int(r, "refused", at) } : {}),
      ...(by !== undefined ? { refusedBy: { noCandidates: int(by, "noCandidates", `${at}refusedBy.`), candidatesUsed: int(by, "candidatesUsed", `${at}refusedBy.`), noGain: int(by, "noGain", `${at}refusedBy.`) } } : {}),
    };
  });
  const checkpoint: RunCheckpoint = {
    step: int(state, "step", ""),
    network: { neurons: k, inputs: n, outputs: m, inDegree: d, task, sources: f.int32("network.sources", edges), weights: f.float32("network.weights", edges), biases: f.float32("network.biases", k), order: f.int32("network.order", k - n), levels: f.int32("network.levels", k) },
    optimizer: {
      timestep: int(opt, "timestep", "optimizer."),
      ...(opt["updates"] !== undefined ? { updates: int(opt, "updates", "optimizer.") } : {}),
      weightFirst: f.float32("optimizer.weightFirst", edges),
      weightSecond: f.float32("optimizer.weightSecond", edges),
      biasFirst: f.float32("optimizer.biasFirst", k),
      biasSecond: f.float32("optimizer.biasSecond", k),
      ...(powers
        ? { powers: { weightBeta1: f.float32("optimizer.powers.weightBeta1", edges), weightBeta2: f.float32("optimizer.powers.weightBeta2", edges), biasBeta1: f.float32("optimizer.powers.biasBeta1", k), biasBeta2: f.float32("optimizer.powers.biasBeta2", k) } }
        : {}),
    },
    trainer,
    ...(rewirer ? { rewirer } : {}),
    ...(pruner ? { pruner } : {}),
    rounds,
    initialEdges: int(state, "initialEdges", ""),
    initialInDegree: int(state, "initialInDegree", ""),
  };
  if (checkpoint.step !== step) throw fileError(source, `state.step ${checkpoint.step} differs from state.trainer.step ${step}`);
  return { checkpoint, settings };
}
