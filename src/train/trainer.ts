/**
 * The training loop for text (§4.6): sample windows, set the learning rate of the schedule, step the
 * engine, validate now and then, stop on a step or time budget, and refuse to continue on a
 * non-finite loss. Browser-safe: files, progress bars and printing are the caller's business,
 * reached through the callbacks.
 */
import type { Batch, Engine } from "../engine/types.js";
import { NumericError, UsageError } from "../util/errors.js";
import type { Rng, RngState } from "../util/rng.js";
import { checkLrSchedule, isConstantSchedule, learningRateAt, type LrSchedule } from "./lr-schedule.js";
import { TextData, type TextEvaluation } from "./text.js";
import type { SamplerPosition, TrainingData } from "./data.js";

/**
 * What trainText trains: an engine, or any model with the same step, evaluate and rate surface
 * (the dense baseline of experiment versus), so that every model trains in the same loop.
 */
export type Trainable = Pick<Engine, "step" | "evaluate" | "learningRate" | "setLearningRate">;

/** Options of `trainText`: data shape, budget, learning-rate schedule, validation and hooks. */
export interface TextTrainingOptions<T extends Trainable = Engine> extends TrainingOptions<T> {
  /** Symbols per window: the network reads them as 27·context one-hot inputs (§4.6). */
  context: number;
}

/** Options of `trainOn` (any data): budget, learning-rate schedule, validation, hooks. */
export interface TrainingOptions<T extends Trainable = Engine> {
  /** Samples (text: windows) per step (B). */
  batch: number;
  /** Stop after this many steps (Infinity: only the time budget stops training). */
  steps: number;
  /** Stop after this many seconds of training (checked every step). */
  maxSeconds?: number;
  /**
   * Learning-rate schedule (lr-schedule.ts), set on the engine before every step. It runs on steps
   * when `steps` is finite (a time budget may then cut it short), else on elapsed time as a
   * fraction of `maxSeconds` (no warmup then: refused). Absent, or constant without warmup: the
   * engine's rate is never touched.
   */
  lrSchedule?: LrSchedule;
  /** The schedule's peak rate (default: the engine's learning rate when training starts). */
  peakLearningRate?: number;
  /** Validate every this many steps (0: only at the end). */
  evalEvery: number;
  /** Periodic validation reads this many validation windows, spread evenly over the split (a fixed sample); the final one reads all. */
  evalWindows: number;
  /** The final validation reads the first this many windows (default: all; 0 skips it: NaN bits). */
  finalEvalWindows?: number;
  /** Sampling randomness (the network's initialisation is done by the caller). */
  rng: Rng;
  /**
   * A batch loss above this many bits per symbol counts as divergence and stops training (default:
   * 100× the uniform guess log₂ m, far above anything a training run passes through).
   */
  divergenceBits?: number;
  /** Current time in seconds; injectable for tests. */
  now?: () => number;
  /**
   * Called after every step (and after `afterStep`), e.g. for a progress bar. Training waits for a
   * returned promise (a page pauses a run, or yields to its event loop, this way).
   */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Aborting it stops training after the current step; the final validation still runs. */
  signal?: AbortSignal;
  /**
   * Called after every step; may edit the network (rewiring). `draw(count)` gives `count` fresh
   * training batches from a sampler of its own, so the training batches are the same with or
   * without the hook. Time spent here is reported separately (`hookSeconds`).
   *
   * It may also REPLACE the engine (gradual pruning rebuilds the network at a smaller in-degree):
   * returning (or resolving to) an Engine makes trainText train, validate and evaluate with that
   * one from the next step on, and report it as `result.engine`. trainText never disposes an
   * engine; the hook that made the replacement owns the old one. `engine` is the live engine.
   */
  afterStep?: (step: number, totalSteps: number, draw: (count: number) => Batch[], engine: T) => void | T | undefined | Promise<void | T | undefined>;
  /** Called after every periodic validation and once at the end (`final`); training waits for a returned promise. */
  onEvaluation?: (info: EvaluationInfo) => void | Promise<void>;
  /** Continue a run from the state `control.state()` gave (checkpoints): the same steps follow, bit for bit. */
  resume?: TrainerState;
  /** trainText sets `state` when it starts: the loop's state between two steps, for a checkpoint. */
  control?: TrainerControl;
}

/** What trainText hands its caller while it runs. */
export interface TrainerControl {
  /** The loop's state now (between two steps). */
  state?: () => TrainerState;
}

/** The training loop's own state between two steps (the engine and the hooks keep the rest). */
export interface TrainerState {
  /** Steps done. */
  step: number;
  /** Loss of every step so far. */
  losses: Float64Array;
  /** Seconds trained so far (a time budget continues from here). */
  seconds: number;
  hookSeconds: number;
  /** Sum and count of the batch losses since the last validation, the last interval's mean, the smoothed loss (NaN: null). */
  intervalSum: number;
  intervalSteps: number;
  lastInterval: number | null;
  smoothed: number | null;
  /** The training sampler's and the hooks' sampler's generators. */
  sampler: RngState;
  hookSampler: RngState;
  /** The samplers' places in their epochs (samples read in shuffled epochs; absent otherwise). */
  samplerPosition?: SamplerPosition;
  hookSamplerPosition?: SamplerPosition;
}

/** What `onStep` reports after each training step. */
export interface StepInfo {
  /** Steps done so far, this one included (1-based). */
  step: number;
  /** Mean loss of this step's batch, bits per symbol. */
  loss: number;
  /** Exponential moving average of the batch loss (for display). */
  smoothedLoss: number;
  /** Seconds since training started. */
  seconds: number;
  /** The step budget (Infinity with only a time budget). */
  totalSteps: number;
  /** The learning rate this step used. */
  learningRate: number;
}

/** What `onEvaluation` reports at each validation. */
export interface EvaluationInfo {
  /** Steps done when it ran. */
  step: number;
  /** Seconds since training started. */
  seconds: number;
  /** Mean batch loss since the previous evaluation, bits per symbol. */
  trainBitsPerSymbol: number;
  /** Periodic validations read a fixed sample of `evalWindows` windows spread over the split; the final one reads them all. */
  valid: TextEvaluation;
  /** True for the validation after the last step. */
  final: boolean;
}

/** What `trainText` returns. */
export interface TextTrainingResult<T extends Trainable = Engine> {
  /** Steps done. */
  steps: number;
  /** Seconds the training loop took (periodic validations and `afterStep` included, the final validation not). */
  seconds: number;
  /** Mean batch loss of the last ≤ 256 steps, bits per symbol. */
  trainBitsPerSymbol: number;
  /** The final validation, over every window of the validation text. */
  valid: TextEvaluation;
  /** Wall time spent in `afterStep` (rewiring), seconds. */
  hookSeconds: number;
  /** Loss of every step, bits per symbol (float32 values). */
  losses: Float32Array;
  /** The engine training ended with: the one given, or the last replacement returned by `afterStep`. */
  engine: T;
}

/**
 * Trains `initialEngine` (an engine, or any Trainable) on windows of `train` (§4.6), validating on
 * `valid`, until the step or time budget runs out. Throws NumericError on a non-finite or diverging loss.
 */
export async function trainText<T extends Trainable = Engine>(initialEngine: T, train: Uint8Array, valid: Uint8Array, o: TextTrainingOptions<T>): Promise<TextTrainingResult<T>> {
  return trainOn(initialEngine, new TextData(train, valid, o.context), o);
}

/**
 * The training loop for any data (text windows, images, table rows): `trainText` with the data
 * behind the TrainingData interface. Options as for trainText (`context` is the text's and is
 * ignored here).
 */
export async function trainOn<T extends Trainable = Engine>(initialEngine: T, data: TrainingData, o: TrainingOptions<T>): Promise<TextTrainingResult<T>> {
  let engine = initialEngine;
  const now = o.now ?? (() => performance.now() / 1000);
  const samplerRng = o.rng.fork();
  // Always forked, used or not, so that runs with and without a hook see the same training batches.
  const hookRng = o.rng.fork();
  const r = o.resume;
  if (r) {
    samplerRng.setState(r.sampler);
    hookRng.setState(r.hookSampler);
  }
  const sampler = data.sampler(samplerRng, o.batch);
  const hookSampler = data.sampler(hookRng, o.batch);
  if (r) {
    for (const [which, s, p] of [["sampler", sampler, r.samplerPosition], ["hook sampler", hookSampler, r.hookSamplerPosition]] as const) {
      if (s.setPosition && !p) throw new UsageError(`trainer state: the ${which} reads epochs but the state has no epoch position`);
      if (p && !s.setPosition) throw new UsageError(`trainer state: the state has an epoch position but the ${which} does not read epochs`);
      if (p) s.setPosition!(p);
    }
  }
  // Each hook batch in its own buffers (holders 1, 2, …), drawn in order from the hooks' sampler.
  const draw = (count: number): Batch[] => Array.from({ length: count }, (_, h) => hookSampler.next(h));
  let hookSeconds = r?.hookSeconds ?? 0;
  const started = now() - (r?.seconds ?? 0);
  const maxSeconds = o.maxSeconds ?? Infinity;
  const divergenceBits = o.divergenceBits ?? data.divergence ?? 100 * Math.log2(data.outputs);
  const schedule = o.lrSchedule && !isConstantSchedule(o.lrSchedule) ? o.lrSchedule : undefined;
  const peak = o.peakLearningRate ?? engine.learningRate;
  const onTime = !Number.isFinite(o.steps);
  if (schedule) checkLrSchedule(schedule, peak, onTime ? { seconds: maxSeconds } : { steps: o.steps });
  const losses: number[] = r ? Array.from(r.losses) : [];
  let intervalSum = r?.intervalSum ?? 0;
  let intervalSteps = r?.intervalSteps ?? 0;
  let lastInterval = r?.lastInterval ?? NaN;
  let smoothed = r?.smoothed ?? NaN;
  let step = r?.step ?? 0;
  if (r && r.losses.length !== r.step) throw new RangeError(`trainer state: ${r.losses.length} losses for ${r.step} steps`);
  if (o.control) {
    o.control.state = () => ({
      step,
      losses: Float64Array.from(losses),
      seconds: now() - started,
      hookSeconds,
      intervalSum,
      intervalSteps,
      lastInterval: Number.isNaN(lastInterval) ? null : lastInterval,
      smoothed: Number.isNaN(smoothed) ? null : smoothed,
      sampler: samplerRng.getState(),
      hookSampler: hookRng.getState(),
      ...(sampler.position ? { samplerPosition: sampler.position() } : {}),
      ...(hookSampler.position ? { hookSamplerPosition: hookSampler.position() } : {}),
    });
  }
  for (;;) {
    if (step >= o.steps || o.signal?.aborted === true) break;
    const elapsed = now() - started;
    if (!(elapsed < maxSeconds)) break;
    if (schedule) engine.setLearningRate(onTime ? learningRateAt(schedule, peak, elapsed, maxSeconds) : learningRateAt(schedule, peak, step, o.steps));
    const learningRate = engine.learningRate;
    const loss = engine.step(sampler.next());
    step++;
    if (!Number.isFinite(loss)) {
      throw new NumericError(
        `training loss became ${loss} at step ${step} (batch of ${o.batch} windows); the last saved checkpoint is kept`,
        "lower the learning rate (`optimizer.learningRate`) or check the data",
        ["optimizer.learningRate"],
      );
    }
    if (loss > divergenceBits) {
      throw new NumericError(
        `training diverged: loss ${loss.toPrecision(3)} bits/symbol at step ${step} is over ${divergenceBits.toFixed(0)} (100× a uniform guess); the last saved checkpoint is kept`,
        "lower the learning rate (`optimizer.learningRate`)",
        ["optimizer.learningRate"],
      );
    }
    losses.push(loss);
    intervalSum += loss;
    intervalSteps++;
    smoothed = Number.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
    if (o.afterStep) {
      const t0 = now();
      let replaced = o.afterStep(step, o.steps, draw, engine);
      if (replaced !== undefined && typeof (replaced as Promise<unknown>).then === "function") replaced = await replaced;
      if (replaced) engine = replaced as T;
      hookSeconds += now() - t0;
    }
    const waiting = o.onStep?.({ step, loss, smoothedLoss: smoothed, seconds: now() - started, totalSteps: o.steps, learningRate });
    if (waiting !== undefined) await waiting;
    if (o.evalEvery > 0 && step % o.evalEvery === 0 && step < o.steps) {
      lastInterval = intervalSum / intervalSteps;
      const v = data.validate(engine, o.batch, o.evalWindows, "spread");
      await o.onEvaluation?.({ step, seconds: now() - started, trainBitsPerSymbol: lastInterval, valid: v, final: false });
      intervalSum = 0;
      intervalSteps = 0;
    }
  }
  // Training loss = mean batch loss of the last ≤ 256 steps: recent enough to compare with validation.
  const tail = losses.slice(-256);
  const trainBits = tail.length > 0 ? tail.reduce((a, b) => a + b, 0) / tail.length : lastInterval;
  const seconds = now() - started;
  const v = o.finalEvalWindows === 0 ? { bitsPerSymbol: NaN, accuracy: NaN, windows: 0 } : data.validate(engine, o.batch, o.finalEvalWindows ?? Infinity, "first");
  await o.onEvaluation?.({ step, seconds, trainBitsPerSymbol: trainBits, valid: v, final: true });
  return { steps: step, seconds, trainBitsPerSymbol: trainBits, valid: v, hookSeconds, losses: Float32Array.from(losses), engine };
}
