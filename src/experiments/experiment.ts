/** What every experiment gets from the command line, and the shape of an experiment. */
import type { EngineName } from "../engine/types.js";
import type { TextRunRecipe } from "./text-run.js";
import { openProtocol, readRecords, runProtocol, type RunContext, type RunProgress, type RunRecord, type RunSpec } from "./protocol.js";

export interface ExperimentContext {
  out: string;
  quick: boolean;
  /** Corpus for text experiments (default: the bundled excerpt). */
  textPath: string;
  /** True when textPath is the bundled excerpt. */
  bundled: boolean;
  /** Out-of-domain texts for `versus`. */
  oodPaths: string[];
  /** MNIST folder for `utility`. */
  mnistPath?: string;
  /** Overrides of the protocol's seeds and steps. */
  seeds?: number;
  steps?: number;
  /** versus: the base in-degree (default 29, or 6 with --quick). */
  inDegree?: number;
  /** Neurons of the text network, inputs and outputs included (default: the protocol's, 1700). */
  neurons?: number;
  /** Only these configurations (by name), when the experiment has several. */
  configs?: string[];
  /** First seed (tuning uses seeds apart from the evaluation seeds). */
  seedBase: number;
  /** Learning rate of the text runs (default: the protocol's). */
  lr?: number;
  /** Learning-rate schedule and clipping of the text runs; only fields that differ from the defaults. */
  recipe?: TextRunRecipe;
  engine: EngineName;
  threads?: number;
  shard?: { index: number; count: number };
  /** Steps between a text run's checkpoints (default 4096; 0: none). */
  checkpointEvery?: number;
  /** Only rebuild tables and figures from the results already in `out`. */
  reportOnly: boolean;
  /** versus: validation only (no test or out-of-domain evaluation, a validation summary). */
  tuning?: boolean;
  log: (line: string) => void;
  onProgress: (p: RunProgress) => void;
}

export interface Experiment {
  name: string;
  summary: string;
  /** First seed when --seed-base is not given (default 1; tuning experiments use others). */
  defaultSeedBase?: number;
  run(ctx: ExperimentContext): Promise<ExperimentOutput>;
}

export interface ExperimentOutput {
  /** Runs recorded / planned (all shards). */
  runsDone: number;
  runsPlanned: number;
  failed: number;
  files: string[];
  /** The headline numbers, for --json. */
  summary: Record<string, unknown>;
}

/** Describe the corpus in every result, as issue 5 asks. */
export function corpusLabel(name: string, symbols: number, bundled: boolean): string {
  const what = bundled ? "bundled text8 excerpt (first 2,000,000 characters of text8)" : name;
  const prefix = /text8|enwik8/.test(name) && !/^text8$|^enwik8$/.test(name) ? "; a prefix of the benchmark corpus" : "";
  return `${what}, ${symbols.toLocaleString("en")} symbols after cleaning${prefix}`;
}

/**
 * Run the protocol's unfinished runs (or, with --report, only open the folder) and return every
 * recorded run: the one way all experiments reach their results.
 */
export async function recordRuns<R>(
  ctx: ExperimentContext,
  experiment: string,
  protocol: Record<string, unknown>,
  runs: readonly RunSpec[],
  execute: (run: RunSpec, rc: RunContext) => Promise<R>,
): Promise<RunRecord<R>[]> {
  if (ctx.reportOnly) {
    openProtocol(ctx.out, experiment, protocol, { readOnly: true });
    return readRecords<R>(ctx.out);
  }
  return runProtocol<R>(runs, execute, { out: ctx.out, experiment, protocol, ...(ctx.shard ? { shard: ctx.shard } : {}), ...(ctx.checkpointEvery !== undefined ? { checkpointEvery: ctx.checkpointEvery } : {}), onProgress: ctx.onProgress, log: ctx.log });
}
