/**
 * Learning-rate schedules (issue 12): the rate of every training step as a pure function of how far
 * training has got. Not the REWIRING schedule (rewire/schedule.ts), which decides when edges move.
 *
 * Legend: P peak rate (the optimiser's --lr), F final rate, W warmup steps, S the budget (steps, or
 * seconds for a time budget), x the position = steps (or seconds) done before the step in question.
 *
 *   warmup    x < W:  P·(x+1)/W, linear from P/W at the first step to P at step W (linear from 0,
 *                     but the first step is not wasted on a zero rate). Steps only (see checkLrSchedule).
 *   after it, p = (x − W)/(S − W) in [0, 1):
 *   constant  P
 *   cosine    F + (P − F)·(1 + cos πp)/2     (Loshchilov & Hutter 2017, no restarts)
 *   linear    P + (F − P)·p
 *   step      P until p = ½, then P·γ until p = ¾, then F, with γ = √(F/P): two equal drops
 *             (default F = P/100, i.e. ×0.1 twice, as in He et al. 2016)
 *
 * So the schedule reaches F at x = S, just after the last step; at the middle of the decay cosine
 * and linear are at (P + F)/2. Browser-safe, no state.
 */
import { settingError, UsageError } from "../util/errors.js";

/** Every learning-rate schedule kind (closed forms at the top of train/lr-schedule.ts). */
export const LR_SCHEDULE_KINDS = ["constant", "cosine", "linear", "step"] as const;
/** A learning-rate schedule kind: constant, cosine, linear or step. */
export type LrScheduleKind = (typeof LR_SCHEDULE_KINDS)[number];

/** A learning-rate schedule: its kind, warmup and final rate. The peak rate is the optimiser's. */
export interface LrSchedule {
  /** How the rate decays after warmup. */
  kind: LrScheduleKind;
  /** Warmup steps W (0: none). */
  warmup: number;
  /** Final rate F (cosine, linear, step); absent: 0 for cosine and linear, P/100 for step. Not for constant. */
  final?: number;
}

/** The default: the optimiser's rate on every step, no warmup. */
export const CONSTANT_SCHEDULE: LrSchedule = { kind: "constant", warmup: 0 };

/** Step drops at these fractions of the decay (after warmup). */
export const STEP_MILESTONES = [0.5, 0.75] as const;
/** Default final rate of the step schedule, as a fraction of the peak (×0.1 at each of two drops). */
export const STEP_DEFAULT_FINAL_FRACTION = 0.01;

/** True when the schedule changes nothing: constant, no warmup (engines keep their rate untouched). */
export function isConstantSchedule(s: LrSchedule): boolean {
  return s.kind === "constant" && s.warmup === 0;
}

/** F: the schedule's final rate (the peak for constant). */
export function finalRate(s: LrSchedule, peak: number): number {
  if (s.kind === "constant") return peak;
  return s.final ?? (s.kind === "step" ? peak * STEP_DEFAULT_FINAL_FRACTION : 0);
}

/** What training is budgeted by: steps (the schedule runs on steps) or only time (it runs on seconds). */
export type LrBudget = { steps: number } | { seconds: number };

/**
 * Refuses a schedule that cannot run, with one line naming the flag. A step-based warmup with only a
 * time budget is refused (not converted: how many steps fit in the time is unknown in advance).
 */
export function checkLrSchedule(s: LrSchedule, peak: number, budget: LrBudget): void {
  if (!(LR_SCHEDULE_KINDS as readonly string[]).includes(s.kind)) throw settingError("lrSchedule.kind", `must be one of ${LR_SCHEDULE_KINDS.join(", ")}; got "${String(s.kind)}"`);
  if (!(peak > 0 && Number.isFinite(peak))) throw settingError("optimizer.learningRate", `must be a positive number, got ${peak}`);
  if (!(Number.isInteger(s.warmup) && s.warmup >= 0)) throw settingError("lrSchedule.warmup", `must be a whole number of steps ≥ 0, got ${s.warmup}`);
  if ("steps" in budget) {
    if (!(Number.isFinite(budget.steps) && budget.steps >= 1)) throw new UsageError(`a learning-rate schedule needs a step budget (\`steps\`) of at least 1 step, got ${budget.steps}`, "give a step budget, or a time budget alone", ["steps"]);
    if (s.warmup > 0 && s.warmup >= budget.steps) throw settingError("lrSchedule.warmup", `${s.warmup} must be below the step budget (\`steps\` ${budget.steps})`, undefined, ["steps"]);
  } else {
    if (!(budget.seconds > 0 && Number.isFinite(budget.seconds))) throw new UsageError(`a learning-rate schedule on elapsed time needs a positive time budget (\`maxSeconds\`), got ${budget.seconds} s`, "give a time or a step budget", ["maxSeconds"]);
    if (s.warmup > 0) throw settingError("lrSchedule.warmup", `${s.warmup} counts steps, but with a time budget (\`maxSeconds\`) and no \`steps\` the schedule runs on elapsed time`, "give a step budget too, or no warmup", ["maxSeconds", "steps"]);
  }
  if (s.final !== undefined) {
    if (s.kind === "constant") throw settingError("lrSchedule.final", `${s.final} needs \`lrSchedule.kind\` cosine, linear or step (the constant schedule stays at \`optimizer.learningRate\`)`, undefined, ["lrSchedule.kind", "optimizer.learningRate"]);
    if (!(s.final >= 0 && Number.isFinite(s.final))) throw settingError("lrSchedule.final", `must be a rate ≥ 0, got ${s.final}`);
    if (s.final > peak) throw settingError("lrSchedule.final", `${s.final} is above the peak rate \`optimizer.learningRate\` ${peak}; schedules only decay`, undefined, ["optimizer.learningRate"]);
    if (s.kind === "step" && s.final === 0) throw settingError("lrSchedule.final", "must be above 0 for `lrSchedule.kind` step (it multiplies the rate by √(final/peak) twice)", "use cosine or linear to decay to 0", ["lrSchedule.kind"]);
  }
}

/**
 * The rate of the step that starts at `position` of `total` (steps, or seconds with warmup 0):
 * the closed forms in the file comment. Past the end (position ≥ total) it stays at F.
 */
export function learningRateAt(s: LrSchedule, peak: number, position: number, total: number): number {
  const w = s.warmup;
  if (position < w) return (peak * (position + 1)) / w;
  if (s.kind === "constant") return peak;
  const final = finalRate(s, peak);
  const p = total > w ? Math.min(1, Math.max(0, (position - w) / (total - w))) : 1;
  switch (s.kind) {
    case "cosine":
      return final + ((peak - final) * (1 + Math.cos(Math.PI * p))) / 2;
    case "linear":
      return peak + (final - peak) * p;
    case "step":
      if (p < STEP_MILESTONES[0]) return peak;
      if (p < STEP_MILESTONES[1]) return peak * Math.sqrt(final / peak);
      return final;
  }
}

/** One line for logs and summaries, e.g. "cosine to 0 after 1000 warmup steps". */
export function describeLrSchedule(s: LrSchedule, peak: number): string {
  const warm = s.warmup > 0 ? `, ${s.warmup} warmup steps` : "";
  if (s.kind === "constant") return `constant ${peak}${warm}`;
  const f = finalRate(s, peak);
  if (s.kind === "step") return `step: ${peak}, ×${Math.sqrt(f / peak).toPrecision(3)} at 50 % and 75 % of the decay, to ${f}${warm}`;
  return `${s.kind} from ${peak} to ${f}${warm}`;
}
