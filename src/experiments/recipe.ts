/**
 * `experiment recipe` (issue 12, item 2): the training recipe of the static network, chosen on the
 * VALIDATION split only, with a tuning seed (101) apart from the evaluation seeds. The test split is
 * never evaluated here: this is a tuning protocol, and its summary has only validation numbers.
 *
 *   Phase A ("grid"): learning rate × schedule at one budget (30,720 steps): lr ∈ {0.001, 0.002,
 *     0.003, 0.005, 0.01} × {constant, cosine to 0, linear to 0}, no warmup. More points are named
 *     with --configs, e.g. lr0.003-cosine-w1000 (warmup 1,000), lr0.005-step.
 *   Phase B ("budget"): the best two (lr, schedule) pairs of phase A at half and twice that budget.
 *     It depends on phase A's results, so it is planned only once every phase-A run is recorded.
 *   The rule: best(b) = the best validation among those two pairs at b steps. The budget is the first
 *     of 15,360 and 30,720 whose doubling gains under 0.01 bits/char, else 61,440; the recipe is
 *     the better pair at that budget.
 *
 * Resumable and shardable as every protocol: one invocation runs its share of phase A and then, if
 * all of phase A is recorded by then, its share of phase B. With shards, run the same commands a
 * second time once the first round is done: that round plans and runs phase B.
 */
import { UsageError } from "../util/errors.js";
import { mean, sd } from "../util/stats.js";
import { checkLrSchedule, LR_SCHEDULE_KINDS, type LrScheduleKind } from "../train/lr-schedule.js";
import { corpusLabel, recordRuns, type Experiment, type ExperimentContext, type ExperimentOutput } from "./experiment.js";
import type { RunContext, RunRecord, RunSpec } from "./protocol.js";
import { markdownTable, meanSd, writeText } from "./report.js";
import { loadCorpora, recipeFields, runText, type TextRunResult, type TextRunSettings } from "./text-run.js";

export interface RecipeConfig {
  /** lr<rate>-<schedule>[-w<warmup>], e.g. lr0.003-cosine-w1000. */
  name: string;
  lr: number;
  schedule: LrScheduleKind;
  warmup: number;
}

export const RECIPE_LRS = [0.001, 0.002, 0.003, 0.005, 0.01];
export const RECIPE_SCHEDULES: LrScheduleKind[] = ["constant", "cosine", "linear"];
/** Doubling the budget must gain at least this much validation bits/char to be worth it. */
export const RECIPE_GAIN = 0.01;
/** Pairs of phase A carried into phase B. */
export const RECIPE_FINALISTS = 2;

export function recipeConfig(lr: number, schedule: LrScheduleKind, warmup = 0): RecipeConfig {
  return { name: `lr${lr}-${schedule}${warmup > 0 ? `-w${warmup}` : ""}`, lr, schedule, warmup };
}

/** Parses a --configs entry such as lr0.003-cosine-w1000; refuses anything else by name. */
export function parseRecipeConfig(text: string): RecipeConfig {
  const m = /^lr(\d*\.?\d+(?:e-?\d+)?)-([a-z]+)(?:-w(\d+))?$/.exec(text);
  const lr = m ? Number(m[1]) : NaN;
  if (!m || !(lr > 0 && Number.isFinite(lr)) || !(LR_SCHEDULE_KINDS as readonly string[]).includes(m[2]!)) {
    throw new UsageError(`unknown recipe configuration "${text}"`, `--configs takes grid, budget and points lr<rate>-<${LR_SCHEDULE_KINDS.join("|")}>[-w<warmup steps>], e.g. lr0.003-cosine-w1000`);
  }
  return recipeConfig(lr, m[2] as LrScheduleKind, m[3] === undefined ? 0 : Number(m[3]));
}

export function defaultGrid(quick: boolean): RecipeConfig[] {
  const lrs = quick ? [0.003, 0.01] : RECIPE_LRS;
  const schedules = RECIPE_SCHEDULES;
  return lrs.flatMap((lr) => schedules.map((s) => recipeConfig(lr, s)));
}

export interface RecipeProtocol {
  neurons: number;
  context: number;
  batch: number;
  inDegree: number;
  /** Phase A's budget; phase B adds half and twice it. */
  gridSteps: number;
  budgets: number[];
  finalists: number;
  gainThreshold: number;
  seeds: number;
  seedBase: number;
  corpus: string;
  corpusSymbols: number;
  clipNorm?: number;
}

interface RecipeRunSettings extends Omit<TextRunSettings, "rewire"> {
  config: string;
  phase: "grid" | "budget";
  rewire: "none";
}

function runSettings(p: RecipeProtocol, c: RecipeConfig, steps: number, seed: number, ctx: ExperimentContext): TextRunSettings {
  return {
    neurons: p.neurons, inDegree: p.inDegree, context: p.context, batch: p.batch, steps, lr: c.lr,
    ...recipeFields({ lrSchedule: c.schedule, warmup: c.warmup, ...(p.clipNorm ? { clipNorm: p.clipNorm } : {}) }),
    seed, engine: ctx.engine, ...(ctx.threads ? { threads: ctx.threads } : {}),
  };
}

function runSpec(p: RecipeProtocol, c: RecipeConfig, steps: number, seed: number, phase: "grid" | "budget", ctx: ExperimentContext): RunSpec {
  const settings: RecipeRunSettings = { ...runSettings(p, c, steps, seed, ctx), rewire: "none", config: c.name, phase };
  return { key: `${c.name}-s${steps}-seed${seed}`, group: `${c.name}-s${steps}`, seed, settings: settings as unknown as Record<string, unknown>, cost: p.inDegree * steps };
}

export const recipe: Experiment = {
  name: "recipe",
  summary: "issue 12: learning rate × schedule × steps for static d = 29, chosen on validation (tuning seed 101)",
  defaultSeedBase: 101,
  async run(ctx): Promise<ExperimentOutput> {
    if (ctx.lr !== undefined || ctx.recipe?.lrSchedule !== undefined || ctx.recipe?.warmup !== undefined || ctx.recipe?.lrFinal !== undefined) {
      throw new UsageError("experiment recipe tunes the learning rate and its schedule itself; --lr, --lr-schedule, --warmup and --lr-final do not apply", "add grid points with --configs grid,budget,lr0.003-cosine-w1000");
    }
    const context = ctx.quick ? 4 : 20;
    const corpora = await loadCorpora(ctx.textPath, [], context);
    const base = ctx.quick ? { neurons: 260, batch: 64, inDegree: 6, gridSteps: 256 } : { neurons: 1700, batch: 512, inDegree: 29, gridSteps: 30720 };
    const gridSteps = ctx.steps ?? base.gridSteps;
    if (gridSteps < 2) throw new UsageError(`--steps ${gridSteps} is too few for recipe: phase B runs half of it`);
    const budgets = [Math.round(gridSteps / 2), gridSteps, 2 * gridSteps];
    const p: RecipeProtocol = {
      neurons: base.neurons, context, batch: base.batch, inDegree: ctx.inDegree ?? base.inDegree,
      gridSteps, budgets, finalists: RECIPE_FINALISTS, gainThreshold: RECIPE_GAIN,
      seeds: ctx.seeds ?? 1, seedBase: ctx.seedBase, corpus: corpora.name, corpusSymbols: corpora.symbols,
      ...(ctx.recipe?.clipNorm ? { clipNorm: ctx.recipe.clipNorm } : {}),
    };
    const words = ctx.configs ?? ["grid", "budget"];
    const extras = words.filter((w) => w !== "grid" && w !== "budget").map(parseRecipeConfig);
    for (const c of extras) {
      try {
        checkLrSchedule({ kind: c.schedule, warmup: c.warmup }, c.lr, { steps: budgets[0]! });
      } catch (e) {
        if (e instanceof UsageError) throw new UsageError(`recipe configuration ${c.name} (phase B runs it at ${budgets[0]} steps too): ${e.message}`, e.hint, e.settings);
        throw e;
      }
    }
    const grid = defaultGrid(ctx.quick);
    const planA = unique([...(words.includes("grid") ? grid : []), ...extras]);
    const seeds = Array.from({ length: p.seeds }, (_, s) => p.seedBase + s);
    const runsA = planA.flatMap((c) => seeds.map((seed) => runSpec(p, c, gridSteps, seed, "grid", ctx)));
    const protocol = { ...p };
    const execute = async (run: RunSpec, rc: RunContext) => {
      const st = run.settings as unknown as RecipeRunSettings;
      const { config: _config, phase: _phase, rewire: _rewire, ...settings } = st;
      // No test and no out-of-domain evaluation: tuning reads validation only.
      const r = await runText({ ...settings, engine: ctx.engine, ...(ctx.threads ? { threads: ctx.threads } : {}) }, corpora, {
        checkpoint: rc.checkpoint,
        onStep: (step, total, loss) => rc.progress(step / total, `${st.config}, ${total} steps, seed ${run.seed}: step ${step}/${total}, loss ${loss.toFixed(3)}`),
      });
      rc.saveCurve(r.losses);
      return r.result;
    };
    let records = await recordRuns<TextRunResult>(ctx, "recipe", protocol, runsA, execute);

    // Phase B needs phase A: the default grid and the points named now, every seed, all recorded.
    const needed = unique([...grid, ...extras]).flatMap((c) => seeds.map((seed) => `${c.name}-s${gridSteps}-seed${seed}`));
    const have = new Set(records.map((r) => r.key));
    const missing = needed.filter((k) => !have.has(k));
    const finalists = missing.length === 0 ? rankGrid(records, p).slice(0, p.finalists) : [];
    let runsB: RunSpec[] = [];
    if (words.includes("budget")) {
      if (missing.length > 0) {
        if (!ctx.reportOnly) ctx.log(`phase B (budgets) is planned once phase A is recorded: ${needed.length - missing.length} of ${needed.length} grid runs so far; run this command again then`);
      } else {
        // Longest first: shards take every n-th run, so with two shards each gets one long and one short.
        runsB = finalists.flatMap((f) => [budgets[0]!, budgets[2]!].flatMap((steps) => seeds.map((seed) => runSpec(p, f.config, steps, seed, "budget", ctx))));
        runsB.sort((a, b) => b.cost - a.cost);
        records = await recordRuns<TextRunResult>(ctx, "recipe", protocol, runsB, execute);
      }
    }
    const plannedB = words.includes("budget") ? (missing.length > 0 ? p.finalists * 2 * seeds.length : runsB.length) : 0;
    return reportRecipe(ctx, records, p, runsA.length + plannedB, corpusLabel(corpora.name, corpora.symbols, ctx.bundled), missing.length === 0);
  },
};

function unique(configs: RecipeConfig[]): RecipeConfig[] {
  const seen = new Set<string>();
  return configs.filter((c) => !seen.has(c.name) && seen.add(c.name));
}

interface Ranked {
  config: RecipeConfig;
  /** Mean over the seeds that finished; Infinity (never chosen) if any seed failed. */
  validBits: number;
  /** Mean and sd over the seeds that finished, for the table. */
  validMean: number;
  validSd: number;
  seeds: number;
  failed: number;
  seconds: number;
}

/** Mean validation per configuration at `steps` over the protocol's seeds; a failed seed disqualifies. */
function summarise(records: RunRecord<TextRunResult>[], p: RecipeProtocol, steps: number): Map<string, Ranked> {
  const groups = new Map<string, RunRecord<TextRunResult>[]>();
  for (const r of records) {
    const st = r.settings as unknown as RecipeRunSettings;
    if (st.steps !== steps || r.seed < p.seedBase || r.seed >= p.seedBase + p.seeds) continue;
    if (!groups.has(st.config)) groups.set(st.config, []);
    groups.get(st.config)!.push(r);
  }
  const out = new Map<string, Ranked>();
  for (const [name, rs] of groups) {
    const ok = rs.filter((r) => r.status === "ok" && r.result);
    const valid = ok.map((r) => r.result!.validBits);
    const failed = rs.length - ok.length;
    out.set(name, { config: parseRecipeConfig(name), validBits: failed > 0 || ok.length === 0 ? Infinity : mean(valid), validMean: mean(valid), validSd: sd(valid), seeds: ok.length, failed, seconds: mean(rs.map((r) => r.seconds)) });
  }
  return out;
}

/** Phase A's configurations, best validation first (name breaks ties, so every shard agrees). */
function rankGrid(records: RunRecord<TextRunResult>[], p: RecipeProtocol): Ranked[] {
  return [...summarise(records, p, p.gridSteps).values()].sort((a, b) => a.validBits - b.validBits || (a.config.name < b.config.name ? -1 : 1));
}

export interface RecipeChoice {
  config: string;
  lr: number;
  lrSchedule: LrScheduleKind;
  warmup: number;
  steps: number;
  validBits: number;
  /** Validation gained by doubling the chosen budget (NaN at the largest budget). */
  gainFromDoubling: number;
  why: string;
}

/** The rule of the file comment, from best(b) at each budget; undefined until every budget is known. */
export function chooseRecipe(best: { steps: number; validBits: number; config: RecipeConfig }[], gain = RECIPE_GAIN): RecipeChoice | undefined {
  if (best.length < 3 || best.some((b) => !Number.isFinite(b.validBits))) return undefined;
  const sorted = [...best].sort((a, b) => a.steps - b.steps);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const here = sorted[i]!;
    const doubled = sorted[i + 1]!;
    const g = here.validBits - doubled.validBits;
    if (g < gain) return choice(here, g, `doubling to ${doubled.steps.toLocaleString("en")} steps gains ${g.toFixed(4)} < ${gain} bits/char`);
  }
  const last = sorted[sorted.length - 1]!;
  const before = sorted[sorted.length - 2]!;
  return choice(last, NaN, `every doubling gained at least ${gain} bits/char (the last: ${(before.validBits - last.validBits).toFixed(4)}), so the largest budget`);
}

function choice(b: { steps: number; validBits: number; config: RecipeConfig }, gain: number, why: string): RecipeChoice {
  return { config: b.config.name, lr: b.config.lr, lrSchedule: b.config.schedule, warmup: b.config.warmup, steps: b.steps, validBits: b.validBits, gainFromDoubling: gain, why };
}

function reportRecipe(ctx: ExperimentContext, records: RunRecord<TextRunResult>[], p: RecipeProtocol, planned: number, corpus: string, phaseAComplete: boolean): ExperimentOutput {
  const grid = rankGrid(records, p);
  const failed = records.filter((r) => r.status !== "ok").length;
  const finalists = phaseAComplete ? grid.slice(0, p.finalists) : [];
  const byBudget = p.budgets.map((steps) => summarise(records, p, steps));
  // best(b): the better finalist at each budget (only once every finalist has every budget).
  const complete = finalists.length > 0 && finalists.every((f) => byBudget.every((m) => m.has(f.config.name)));
  const best = complete
    ? p.budgets.map((steps, i) => {
        const at = finalists.map((f) => byBudget[i]!.get(f.config.name)!).sort((a, b) => a.validBits - b.validBits || (a.config.name < b.config.name ? -1 : 1));
        return { steps, validBits: at[0]!.validBits, config: at[0]!.config };
      })
    : [];
  const chosen = complete ? chooseRecipe(best, p.gainThreshold) : undefined;
  const fmt = (n: number) => n.toLocaleString("en");
  const describe = (c: RecipeConfig) => `${c.schedule === "constant" ? "constant" : `${c.schedule} to 0`}${c.warmup > 0 ? `, ${fmt(c.warmup)} warmup steps` : ""}`;
  const gridRows = grid.map((g) => [
    g.config.name + (finalists.includes(g) ? " (finalist)" : ""), String(g.config.lr), describe(g.config), String(g.seeds), String(g.failed),
    g.seeds > 0 ? meanSd(g.validMean, g.validSd, 4) : "–",
    g.seconds.toFixed(0),
  ]);
  const budgetRows = finalists.map((f) => [f.config.name, ...p.budgets.map((_, i) => { const r = byBudget[i]!.get(f.config.name); return r && Number.isFinite(r.validBits) ? r.validBits.toFixed(4) : r ? "failed" : "–"; })]);
  if (best.length > 0) {
    budgetRows.push(["best of the two", ...best.map((b) => b.validBits.toFixed(4))]);
    budgetRows.push(["gain from doubling", ...best.map((b, i) => (i + 1 < best.length ? (b.validBits - best[i + 1]!.validBits).toFixed(4) : "–"))]);
  }
  const seedText = p.seeds === 1 ? `seed ${p.seedBase}` : `seeds ${p.seedBase}…${p.seedBase + p.seeds - 1}`;
  const md = [
    "## Recipe: learning rate × schedule × steps of the static network (validation only)",
    "",
    `Corpus: ${corpus}; split 90/5/5 % contiguous. Tuned on the validation split with ${seedText}; the held-out split is not evaluated by this experiment. Network: ${p.neurons} neurons, context ${p.context}, in-degree ${p.inDegree}, batch ${p.batch}, rewiring off, Adam (β1 0.9, β2 0.999, ε 1e-8)${p.clipNorm ? `, gradients clipped to global norm ${p.clipNorm}` : ""}. Cosine and linear decay to 0 after the warmup. Runs recorded: ${records.length} of ${planned}${failed ? `, ${failed} failed (diverged)` : ""}.`,
    "",
    `### Phase A: learning rate × schedule at ${fmt(p.gridSteps)} steps`,
    "",
    grid.length > 0 ? markdownTable(["configuration", "lr", "schedule", "seeds", "failed", "validation bits/char", "seconds/run"], gridRows) : "No runs recorded yet.",
    "",
    `### Phase B: the best ${p.finalists} at ${p.budgets.map(fmt).join(" / ")} steps`,
    "",
    finalists.length > 0 ? markdownTable(["configuration", ...p.budgets.map((b) => `${fmt(b)} steps`)], budgetRows, 4) : "Planned once every phase-A run is recorded.",
    "",
    "### Chosen recipe",
    "",
    chosen
      ? `**lr ${chosen.lr}, ${describe(parseRecipeConfig(chosen.config))}, ${fmt(chosen.steps)} steps**: validation ${chosen.validBits.toFixed(4)} bits/char; ${chosen.why}. As flags: \`--lr ${chosen.lr} --lr-schedule ${chosen.lrSchedule}${chosen.warmup ? ` --warmup ${chosen.warmup}` : ""} --steps ${chosen.steps}\`.`
      : "Not yet: phase B is incomplete.",
    "",
    `Rule: best(b) = the better of the ${p.finalists} finalists at b steps; the budget is the first b whose doubling gains under ${p.gainThreshold} validation bits/char, else ${fmt(p.budgets[p.budgets.length - 1]!)}; the recipe is the better finalist at that budget.`,
    "",
  ].join("\n");
  const files = [writeText(ctx.out, "summary.md", md)];
  const summary: Record<string, unknown> = {
    grid: Object.fromEntries(grid.map((g) => [g.config.name, { lr: g.config.lr, lrSchedule: g.config.schedule, warmup: g.config.warmup, seeds: g.seeds, failed: g.failed, validBits: Number.isFinite(g.validBits) ? g.validBits : null, validSd: g.validSd, seconds: g.seconds }])),
    finalists: finalists.map((f) => f.config.name),
    budgets: Object.fromEntries(finalists.map((f) => [f.config.name, Object.fromEntries(p.budgets.map((b, i) => { const r = byBudget[i]!.get(f.config.name); return [b, r && Number.isFinite(r.validBits) ? r.validBits : null]; }))])),
    best: best.map((b) => ({ steps: b.steps, config: b.config.name, validBits: b.validBits })),
    recipe: chosen ?? null,
  };
  files.push(writeText(ctx.out, "summary.json", JSON.stringify({ experiment: "recipe", corpus, protocol: p, runsDone: records.length, runsPlanned: planned, failed, ...summary }, null, 1)));
  return { runsDone: records.length, runsPlanned: planned, failed, files, summary };
}
