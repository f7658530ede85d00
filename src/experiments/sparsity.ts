/**
 * `experiment sparsity` (Fig. 4.6): 1,700 neurons (1,160 non-input), rewiring off, in-degree 15 … 464;
 * training loss against steps (median and 25th–75th percentile of the pooled losses of 64 steps × all
 * seeds, as in the thesis) and held-out validation bits per character at the end.
 */
import { mean, quantile, sd } from "../util/stats.js";
import { corpusLabel, recordRuns, type Experiment, type ExperimentContext, type ExperimentOutput } from "./experiment.js";
import { readCurves, type RunRecord, type RunSpec } from "./protocol.js";
import { bandChart, markdownTable, meanSd, pooledBands, writeFigure, writeText, type BandPoint } from "./report.js";
import { loadCorpora, lrScheduleOf, recipeFields, recipeText, runText, type TextRunRecipe, type TextRunResult, type TextRunSettings } from "./text-run.js";
import { checkLrSchedule } from "../train/lr-schedule.js";
import { UsageError } from "../util/errors.js";

/** The schedule and clipping fields appear only when they differ from the defaults (older folders match). */
export interface TextProtocol extends TextRunRecipe {
  neurons: number;
  context: number;
  batch: number;
  lr: number;
  steps: number;
  seeds: number;
  corpus: string;
  corpusSymbols: number;
}

/**
 * The thesis network (§4.6), or a small one for --quick; --lr, --lr-schedule… override the training
 * recipe. `full` is the protocol's own: its steps and seeds, and its learning rate and schedule
 * (default: the thesis's constant 0.01, which the experiments recorded before issue 12 used).
 */
export function textProtocol(ctx: ExperimentContext, full: { steps: number; seeds: number; lr?: number; recipe?: TextRunRecipe }, corpus: { name: string; symbols: number }): TextProtocol {
  const base = ctx.quick ? { neurons: 260, context: 4, batch: 64, lr: 0.01, steps: 384, seeds: 2 } : { neurons: 1700, context: 20, batch: 512, lr: full.lr ?? 0.01, steps: full.steps, seeds: full.seeds };
  const lr = ctx.lr ?? base.lr;
  const steps = ctx.steps ?? base.steps;
  if (ctx.neurons !== undefined) {
    const least = 27 * base.context + 27 + 1;
    if (ctx.neurons < least) throw new UsageError(`--neurons ${ctx.neurons} is too small: context ${base.context} needs ${27 * base.context} inputs + 27 outputs + a hidden neuron = ${least} at least`);
    base.neurons = ctx.neurons;
  }
  const recipe = recipeFields({ ...(ctx.quick ? {} : full.recipe ?? {}), ...(ctx.recipe ?? {}) });
  // Refused before the folder records a protocol that cannot run.
  const schedule = lrScheduleOf(recipe);
  if (schedule) checkLrSchedule(schedule, lr, { steps });
  return { ...base, lr, ...recipe, steps, seeds: ctx.seeds ?? base.seeds, corpus: corpus.name, corpusSymbols: corpus.symbols };
}

export function textSettings(p: TextProtocol, inDegree: number, seed: number, ctx: ExperimentContext): TextRunSettings {
  return { neurons: p.neurons, inDegree, context: p.context, batch: p.batch, steps: p.steps, lr: p.lr, ...recipeFields(p), seed, engine: ctx.engine, ...(ctx.threads ? { threads: ctx.threads } : {}) };
}

export const SPARSITY_DEGREES = [15, 29, 58, 116, 232, 464];

export const sparsity: Experiment = {
  name: "sparsity",
  summary: "Fig. 4.6: training loss of static networks at in-degree 15 … 464",
  async run(ctx) {
    const corpora = await loadCorpora(ctx.textPath, [], ctx.quick ? 4 : 20);
    const p = textProtocol(ctx, { steps: 6144, seeds: 3 }, corpora);
    const degrees = ctx.quick ? [3, 6, 12] : SPARSITY_DEGREES;
    const runs: RunSpec[] = [];
    for (const d of degrees) {
      for (let s = 0; s < p.seeds; s++) {
        const seed = ctx.seedBase + s;
        runs.push({ key: `d${d}-seed${seed}`, group: `d${d}`, seed, settings: { ...textSettings(p, d, seed, ctx), rewire: "none" }, cost: d * p.steps });
      }
    }
    const protocol = { ...p, degrees, seedBase: ctx.seedBase };
    const records = await recordRuns<TextRunResult>(ctx, "sparsity", protocol, runs, async (run, rc) => {
      const d = Number(run.group.slice(1));
      const r = await runText(textSettings(p, d, run.seed, ctx), corpora, { checkpoint: rc.checkpoint, onStep: (step, total, loss) => rc.progress(step / total, `d = ${d}, seed ${run.seed}: step ${step}/${total}, loss ${loss.toFixed(3)}`) });
      rc.saveCurve(r.losses);
      return r.result;
    });
    return reportCurves(ctx, "sparsity", records, runs.length, {
      title: `Static sparse networks, ${p.neurons} neurons, rewiring off (Fig. 4.6)`,
      corpus: corpusLabel(corpora.name, corpora.symbols, ctx.bundled),
      protocol: p,
      series: (r) => `d = ${(r.settings as { inDegree: number }).inDegree}`,
      order: degrees.map((d) => `d = ${d}`),
      heading: "Sparsity (Fig. 4.6)",
    });
  },
};

export interface CurveReportOptions {
  title: string;
  corpus: string;
  protocol: TextProtocol;
  series: (r: RunRecord<TextRunResult>) => string;
  panel?: (r: RunRecord<TextRunResult>) => string;
  order: string[];
  heading: string;
  extraColumns?: { header: string; value: (rs: RunRecord<TextRunResult>[]) => string | number | undefined }[];
  notes?: string[];
}

/** Table (final numbers per configuration) and the thesis's band figure, from the recorded runs. */
export async function reportCurves(ctx: ExperimentContext, name: string, records: RunRecord<TextRunResult>[], planned: number, o: CurveReportOptions): Promise<ExperimentOutput> {
  const curves = readCurves(ctx.out);
  const groups = new Map<string, RunRecord<TextRunResult>[]>();
  for (const r of records) {
    const label = (o.panel ? o.panel(r) + " · " : "") + o.series(r);
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label)!.push(r);
  }
  const panels = [...new Set(records.map((r) => (o.panel ? o.panel(r) : "")))];
  const rank = (label: string) => {
    const parts = label.split(" · ");
    const i = o.order.indexOf(parts[parts.length - 1]!);
    return panels.indexOf(parts.length > 1 ? parts[0]! : "") * 1000 + (i < 0 ? 999 : i);
  };
  const labels = [...groups.keys()].sort((a, b) => rank(a) - rank(b));
  const rows: (string | number | undefined)[][] = [];
  const points: BandPoint[] = [];
  const summary: Record<string, unknown> = {};
  let failed = 0;
  for (const label of labels) {
    const rs = groups.get(label)!;
    const ok = rs.filter((r) => r.status === "ok" && r.result);
    failed += rs.length - ok.length;
    const valid = ok.map((r) => r.result!.validBits);
    const train = ok.map((r) => r.result!.trainBits);
    rows.push([label, String(ok.length), String(rs.length - ok.length), meanSd(mean(train), sd(train)), meanSd(mean(valid), sd(valid)), ...(o.extraColumns ?? []).map((c) => c.value(rs)), mean(ok.map((r) => r.seconds)).toFixed(0)]);
    summary[label] = { seeds: ok.length, failed: rs.length - ok.length, trainBits: mean(train), validBits: mean(valid), validSd: sd(valid) };
    const cs = ok.map((r) => curves.get(r.key)).filter((c): c is Float32Array => c !== undefined && c.length > 0);
    if (cs.length > 0) {
      const panel = o.panel ? o.panel(ok[0]!) : undefined;
      for (const b of pooledBands(cs, 64, quantile)) points.push({ series: o.series(ok[0]!), ...(panel !== undefined ? { panel } : {}), ...b });
    }
  }
  const files: string[] = [];
  const p = o.protocol;
  if (points.length > 0) {
    const all = points.map((q) => q.median).sort((a, b) => a - b);
    const lo = all[0]!;
    const hi = all[Math.floor(all.length * 0.98)]!;
    const fig = await writeFigure(ctx.out, name, bandChart(points, { title: o.title, x: "training step", y: "training loss (bits/char)", yDomain: [Math.floor(lo * 10) / 10, Math.ceil(Math.min(hi, lo + 1.5) * 10) / 10], ...(o.panel ? { panels: true } : {}), seriesOrder: o.order }), ctx.log);
    files.push(fig.svg, ...(fig.png ? [fig.png] : []));
  }
  const table = markdownTable(["configuration", "seeds", "failed", "train bits/char (last 256 steps)", "validation bits/char", ...(o.extraColumns ?? []).map((c) => c.header), "seconds/run"], rows);
  const md = [
    `## ${o.heading}`,
    "",
    `Corpus: ${o.corpus}; split 90/5/5 % (train/validation/test, contiguous). Network: ${p.neurons} neurons, context ${p.context}, batch ${p.batch}, ${recipeText(p.lr, p)}, ${p.steps} steps, ${p.seeds} seeds from ${ctx.seedBase}. Runs recorded: ${records.length} of ${planned}${failed ? `, ${failed} failed (diverged)` : ""}.`,
    "",
    table,
    "",
    ...(o.notes ?? []),
    ...(points.length ? [`![${name}](${name}.svg)`, ""] : []),
    "Training loss: per 64 steps, median (line) and 25th–75th percentile (band) of the pooled 64 × seeds batch losses, as in the thesis. Validation: all windows of the validation split at the end.",
  ].join("\n");
  files.push(writeText(ctx.out, "summary.md", md));
  files.push(writeText(ctx.out, "summary.json", JSON.stringify({ experiment: name, corpus: o.corpus, protocol: p, runsDone: records.length, runsPlanned: planned, failed, groups: summary }, null, 1)));
  return { runsDone: records.length, runsPlanned: planned, failed, files, summary };
}
