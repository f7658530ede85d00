/**
 * `npm run bench`: how fast one full training step is (forward, softmax cross-entropy, backward,
 * Adam) for the thesis network (1,700 neurons = 540 one-hot inputs + 27 outputs, batch 512,
 * d = 15, 29, 58) and for 17,000 and 170,000 neurons at d = 29, in ms per step and edge-samples per
 * second (edges × batch / step time). Contenders, all measured in this run: the reference engine,
 * the wasm engine on 1 thread and on all threads, and when installed the C measuring stick
 * (../shared/limit/run.sh) and PyTorch's gather-per-level step (bench/torch_step.py). Prints a
 * table with ratios, or with --json one JSON object per row. See bench/README.md.
 *
 * Then (bench/rewire.ts) what one rewiring round costs at 1,700, 17,000 and 170,000 neurons, exact
 * and approximate candidate search, as a ratio to the 2048 training steps it follows.
 * `--only engines` or `--only rewire` runs one of the two parts.
 *
 * `--neurons N[,N…]` measures large networks instead (e.g. a million neurons, about 29 million
 * edges): both parts at 1,700 neurons (the baseline of the per-edge ratios) and at each N, with the
 * large-network path of the rewiring rounds, then a summary per N (bench/scale.ts): memory per edge,
 * edge-samples per second, per-edge cost relative to 1,700 neurons, the rounds' shares of their
 * intervals, and the same for the C probe where it fits.
 *
 * It is a measurement, not a test: nothing here fails on a slow number.
 */
import { statfsSync } from "node:fs";
import { availableParallelism, freemem, tmpdir } from "node:os";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { formatHelp, parseFlags, type CommandSpec } from "../src/cli/args.js";
import { bundledCorpusPath, readTextCorpus } from "../src/data/files.js";
import { DEFAULT_CONTEXT, splitCorpus } from "../src/data/windows.js";
import { textShape } from "../src/train/text.js";
import { SparsewireError, UsageError } from "../src/util/errors.js";
import { makeWorkload, measureInProcess, type Contender, type TimingPlan } from "./engines.js";
import { cLimitAvailable, cLimitBytes, runCLimit, runTorch, torchAvailable, TorchGraphs, type TorchPlan } from "./external.js";
import { Watchdog } from "./watchdog.js";
import { blockSize, defaultBlock, defaultTile, noTileFitsInL2, relaxedSimdSupported } from "../src/engine/wasm/engine.js";
import { benchRewire, rewireHeader, rewireRowLine, type KernelRow, type RewireRow, type StepRow } from "./rewire.js";
import { machine, ratioLines, ratioRows, scalingRows, tableHeader, targetLines, tableRow, type EngineLabel, type Row } from "./report.js";
import { BASELINE_NEURONS, parseNeurons, scaleSummaries, scaleSummaryLines } from "./scale.js";

const ALL_ENGINES: readonly EngineLabel[] = ["reference", "wasm", "c-limit", "pytorch"];
const FULL_SIZES = "1700:15,1700:29,1700:58,17000:29,170000:29";
const QUICK_SIZES = "1700:29";
const REWIRE_SIZES = "1700,17000,170000";
const QUICK_REWIRE_SIZES = "1700";

const SPEC: CommandSpec = {
  name: "bench",
  summary: "ms per training step and edge-samples per second of every engine, with ratios",
  usage: "npm run bench -- [flags]",
  flags: [
    { name: "json", type: "boolean", help: "one JSON object per row on stdout (notes go to stderr)" },
    { name: "quick", type: "boolean", help: `smoke test: sizes ${QUICK_SIZES}, fewer and shorter repeats` },
    { name: "sizes", type: "string", value: "K:D,…", help: `neurons:in-degree pairs (default: ${FULL_SIZES})` },
    { name: "engines", type: "string", value: "LIST", help: `comma-separated subset of ${ALL_ENGINES.join(",")} (default: all that are installed)` },
    { name: "steps", type: "int", min: 1, help: "training steps per timed repeat (default: enough for about 0.4 s)" },
    { name: "repeats", type: "int", min: 1, help: "timed repeats per engine, interleaved (default: 7; --quick: 3)" },
    { name: "threads", type: "int", min: 1, help: "the 'all threads' count for wasm and PyTorch (default: all cores)" },
    { name: "batch", type: "int", min: 1, default: 512, help: "samples per training step (the C probe runs only at 512)" },
    { name: "seed", type: "int", min: 0, default: 1, help: "seed of the networks and batches" },
    { name: "max-step-seconds", type: "number", min: 0, default: 30, help: "skip an engine at a size where its step would take longer (predicted from the previous size)" },
    { name: "only", type: "string", choices: ["engines", "rewire"], value: "engines|rewire", help: "run one part: the training-step table (engines) or the rewiring rounds (rewire)" },
    { name: "rewire-sizes", type: "string", value: "K,…", help: `neurons of the rewiring benchmark, d = 29 (default: ${REWIRE_SIZES}; --quick: ${QUICK_REWIRE_SIZES})` },
    { name: "rewire-rounds", type: "int", min: 1, help: "timed rounds per configuration at 1,700 neurons (default 5; --quick 3; at most 2 at 17,000 and 1 at 170,000)" },
    { name: "neurons", type: "string", value: "N,…", help: `large networks: both parts at ${BASELINE_NEURONS.toLocaleString("en-US")} neurons (the baseline) and at each N (one round per preset, approximate search; the C probe on all threads only), then a summary per N; replaces --sizes and --rewire-sizes; engines default to wasm,c-limit` },
    { name: "in-degree", type: "int", min: 1, help: "d of the --neurons sizes (default 29)" },
    { name: "fma", type: "boolean", help: "also time the wasm rows with fused multiply-add kernels (relaxed SIMD; on Node 20 the bench turns on V8's --experimental-wasm-relaxed-simd), interleaved; a note per size gives fma / plain" },
  ],
  examples: ["npm run bench", "npm run bench -- --quick", "npm run bench -- --only rewire", "npm run bench -- --json --sizes 1700:29,17000:29 --engines reference,wasm", "npm run bench -- --neurons 1000000", "npm run bench -- --fma --sizes 1700:29,170000:29 --engines wasm"],
};

interface Size {
  neurons: number;
  inDegree: number;
}

function parseSizes(text: string, inputs: number, outputs: number): Size[] {
  return text.split(",").map((part) => {
    const m = /^\s*(\d+):(\d+)\s*$/.exec(part);
    if (!m) throw new UsageError(`--sizes: "${part}" is not NEURONS:IN_DEGREE, e.g. 1700:29`);
    const neurons = Number(m[1]);
    const inDegree = Number(m[2]);
    if (neurons <= inputs + outputs) throw new UsageError(`--sizes: ${neurons} neurons leave no room beside ${inputs} inputs and ${outputs} outputs`);
    if (inDegree < 1 || inDegree > inputs) throw new UsageError(`--sizes: in-degree ${inDegree} must be between 1 and the ${inputs} inputs`);
    return { neurons, inDegree };
  });
}

function parseEngines(text: string): Set<EngineLabel> {
  const out = new Set<EngineLabel>();
  for (const raw of text.split(",")) {
    const name = raw.trim();
    const engine = ALL_ENGINES.find((e) => e === name);
    if (!engine) throw new UsageError(`--engines: unknown engine "${name}"; use ${ALL_ENGINES.join(", ")}`);
    out.add(engine);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(formatHelp(SPEC).replace(/^sparsewire bench/, "npm run bench"));
    return;
  }
  const flags = parseFlags(SPEC, argv);
  const json = flags.boolean("json");
  const quick = flags.boolean("quick");
  const fma = flags.boolean("fma");
  // Node 20 has relaxed SIMD behind a V8 flag; it must be on before any module is compiled.
  if (fma && !relaxedSimdSupported()) setFlagsFromString("--experimental-wasm-relaxed-simd");
  const context = DEFAULT_CONTEXT;
  const { inputs, outputs } = textShape(context);
  // --neurons: the baseline and the large sizes, in both parts.
  const large = flags.string("neurons") !== undefined ? parseNeurons(flags.string("neurons")!, inputs, outputs) : undefined;
  const inDegree = flags.optionalNumber("in-degree") ?? 29;
  if (large) {
    if (flags.string("sizes") !== undefined || flags.string("rewire-sizes") !== undefined) throw new UsageError("--neurons sets the sizes of both parts (1,700 and each N): leave out --sizes and --rewire-sizes");
    if (inDegree > inputs) throw new UsageError(`--in-degree ${inDegree} must be at most the ${inputs} inputs`);
  } else if (flags.optionalNumber("in-degree") !== undefined) throw new UsageError("--in-degree goes with --neurons (with --sizes, give NEURONS:IN_DEGREE pairs)");
  const sizes = large ? [BASELINE_NEURONS, ...large].map((neurons) => ({ neurons, inDegree })) : parseSizes(flags.string("sizes") ?? (quick ? QUICK_SIZES : FULL_SIZES), inputs, outputs);
  const wanted = parseEngines(flags.string("engines") ?? (large ? "wasm,c-limit" : ALL_ENGINES.join(",")));
  const allThreads = flags.optionalNumber("threads") ?? availableParallelism();
  const batchSize = flags.number("batch");
  const seed = flags.number("seed");
  const maxStepMs = flags.number("max-step-seconds") * 1000;
  const steps = flags.optionalNumber("steps");
  const repeats = flags.optionalNumber("repeats") ?? (quick ? 3 : 7);
  const plan: TimingPlan = {
    repeatMs: quick ? 150 : 400,
    repeats,
    steps,
    warmupMs: quick ? 200 : 500,
    cellBudgetMs: quick ? 3000 : 12000,
    stuckSeconds: 300,
  };

  const started = performance.now();
  const host = machine();
  const out = (text: string) => {
    if (!json) console.log(text);
  };
  const note = (text: string) => {
    if (json) console.error(`note: ${text}`);
    else console.log(`  note: ${text}`);
  };
  const progress = (text: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  };

  const only = flags.string("only");
  out(`sparsewire bench · ${host.cpu} · ${host.cores} cores · node ${host.node} · ${host.platform} · load average ${host.loadAverage.join(" ")}`);
  const corpus = await readTextCorpus(bundledCorpusPath());
  const train = splitCorpus(corpus.symbols, undefined, context)[0]!.symbols;
  const watchdog = new Watchdog();
  const engineRows: Row[] = [];
  const rewireRows: (StepRow | RewireRow | KernelRow)[] = [];
  /** Why the C probe did not run at a size (for the summary). */
  const cSkipped = new Map<number, string>();
  try {
    if (only !== "rewire") await benchEngines();
    if (only !== "engines") await benchRewiring();
  } finally {
    await watchdog.stop();
  }
  if (large) {
    const summaries = scaleSummaries({ large, inDegree, threads: allThreads, engineRows, rewireRows, cSkipped, cWanted: wanted.has("c-limit") && only !== "rewire", peakRssBytes: process.resourceUsage().maxRSS * 1024, cBytes: (k) => cLimitBytes(k, inDegree, inputs).memory });
    if (json) for (const row of summaries) console.log(JSON.stringify({ ...row, machine: { cpu: host.cpu, cores: host.cores, node: host.node } }));
    else {
      out("");
      for (const row of summaries) for (const text of scaleSummaryLines(row)) out(text);
    }
  }
  const after = machine();
  out(`${((performance.now() - started) / 1000).toFixed(0)} s in all · load average at the end ${after.loadAverage.join(" ")}`);

  async function benchRewiring(): Promise<void> {
    const rewireSizes = large ? [BASELINE_NEURONS, ...large] : (flags.string("rewire-sizes") ?? (quick ? QUICK_REWIRE_SIZES : REWIRE_SIZES)).split(",").map((x) => {
      const k = Number(x.trim());
      if (!(Number.isInteger(k) && k > inputs + outputs)) throw new UsageError(`--rewire-sizes: "${x}" is not a neuron count above ${inputs + outputs}`);
      return k;
    });
    const d = large ? inDegree : 29;
    out("");
    out(`rewiring round (chapter 4) · thesis preset (first-order utility, |corr| ≥ 0.3, eq. 4.8 weights) and RigL (every 100 steps) · d = ${d} · batch ${batchSize} · wasm engine × ${allThreads} threads · search on 256 samples`);
    if (large) out(`${large.map((k) => k.toLocaleString("en-US")).join(", ")} neurons: the large-network path: one round per preset without a warm-up round, approximate (LSH) search, the exact search extrapolated from sampled targets; RigL too`);
    out("phases in ms (median of the timed rounds, after a warm-up round where affordable): utility = gradients with per-sample activity + edge utilities; repair = choosing slots + admissibility checks + edge replacement with online order repair; push = engine.push");
    out("ratio = round / training interval (2048 steps for thesis rounds, 100 for RigL), the steps measured in this run · recall = approximate search's per-target recall against the exact search on the same activity");
    out("");
    out(rewireHeader());
    const plan = { sizes: rewireSizes, inDegree: d, batch: batchSize, threads: allThreads, seed, context, rounds: flags.optionalNumber("rewire-rounds") ?? (quick ? 3 : 5), searchSamples: 256, quick, ...(large ? { large } : {}) };
    let lastSize = 0;
    const emit = (row: StepRow | RewireRow | KernelRow) => {
      rewireRows.push(row);
      if (json) {
        console.log(JSON.stringify({ ...row, machine: { cpu: host.cpu, cores: host.cores, node: host.node } }));
        return;
      }
      progress("");
      if (row.kind === "training-steps") {
        if (lastSize !== 0) out("");
        lastSize = row.neurons;
        out(`  ${row.neurons.toLocaleString("en-US")} neurons, ${row.edges.toLocaleString("en-US")} edges: ${row.msPerStep.toFixed(row.msPerStep >= 100 ? 0 : 2)} ms/step (${(row.edgeSamplesPerSec / 1e9).toFixed(2)} G edge-samples/s over ${row.steps} steps) → 2048 steps ${(2048 * row.msPerStep / 1000).toFixed(1)} s, 100 steps ${(100 * row.msPerStep / 1000).toFixed(2)} s · engine ${(row.memoryBytes / 2 ** 20).toFixed(1)} MiB (${row.bytesPerEdge.toFixed(0)} B/edge)${row.roundBatch < row.batch ? ` · rounds on batches of ${row.roundBatch}` : ""}`);
      } else if (row.kind === "rewire-round") {
        out(rewireRowLine(row));
      } else {
        const parts: string[] = [];
        if (row.js) parts.push(`TypeScript ${row.js.ms.toFixed(1)} ms (${(row.js.pairSamplesPerSec / 1e9).toFixed(2)} G pair-samples/s)`);
        if (row.wasm) parts.push(`wasm SIMD filter ${row.wasm.ms.toFixed(1)} ms (${(row.wasm.pairSamplesPerSec / 1e9).toFixed(2)} G pair-samples/s, ${row.wasm.rescored.toLocaleString("en-US")} pairs rescored)`);
        if (row.ratio !== undefined) parts.push(`ratio ${row.ratio.toFixed(2)}×, same result`);
        out(`  exact-search kernels on ${row.targets.toLocaleString("en-US")} targets × ${row.samples} samples (${row.pairsScored.toLocaleString("en-US")} pairs scored): ${parts.join(" · ")}`);
      }
    };
    await benchRewire(train, plan, watchdog, emit, note, progress);
  }

  async function benchEngines(): Promise<void> {
    out(`full training step (forward, softmax cross-entropy, backward, Adam) · batch ${batchSize} · ${inputs} one-hot inputs (context ${context}) + ${outputs} outputs · real text`);
    out(`median of up to ${repeats} interleaved repeats · ratios are throughputs (edge-samples/s of A over B: above 1, A is faster) · * = PyTorch's faster thread count`);

    // What can run here.
    const contenders: Contender[] = [];
    if (wanted.has("reference")) contenders.push({ engine: "reference", threads: 1 });
    if (wanted.has("wasm")) {
      contenders.push({ engine: "wasm", threads: 1 });
      if (allThreads > 1) contenders.push({ engine: "wasm", threads: allThreads });
    }
    let useC = wanted.has("c-limit");
    if (useC) {
      const c = cLimitAvailable();
      const reason = !c.ok ? c.reason : batchSize !== 512 ? `it runs batch 512 only, this run uses ${batchSize}` : undefined;
      if (reason !== undefined) {
        note(`c-limit skipped: ${reason}`);
        for (const size of sizes) cSkipped.set(size.neurons, reason);
      }
      useC = reason === undefined;
    }
    let useTorch = wanted.has("pytorch");
    if (useTorch) {
      const t = torchAvailable();
      if (!t.ok) note(`pytorch skipped: ${t.reason}`);
      useTorch = t.ok;
    }
    const torchThreads = [...new Set([1, allThreads])];

    const graphs = useTorch ? new TorchGraphs() : undefined;
    const all: Row[] = [];
    /** ms per edge-sample of every engine/threads at the last size it ran: predicts the next size. */
    const perEdgeSample = new Map<string, number>();
    const predictedMs = (key: string, edges: number) => {
      const x = perEdgeSample.get(key);
      return x === undefined ? undefined : x * edges * batchSize * 2; // ×2: the data leaves the caches
    };
    out("");
    out(tableHeader());
    try {
      for (const size of sizes) {
        const label = `${size.neurons.toLocaleString("en-US")} neurons, d = ${size.inDegree}`;
        const work = makeWorkload(train, size.neurons, size.inDegree, batchSize, context, seed);
        const edges = work.network.edges;
        const rows: Row[] = [];
        const notes: string[] = [];
        const sizeNote = (text: string) => notes.push(`${label}: ${text}`);
        const tooSlow = (key: string, what: string): boolean => {
          const ms = predictedMs(key, edges);
          if (ms !== undefined && ms > maxStepMs) {
            sizeNote(`${what} skipped: about ${(ms / 1000).toFixed(0)} s per step predicted from the previous size (--max-step-seconds ${maxStepMs / 1000})`);
            return true;
          }
          return false;
        };

        // The C probe before and after the in-process engines (the better run counts): a noisy
        // neighbour during one of them does not decide the wasm/C ratio.
        // At the --neurons sizes only the all-threads rows run (a one-thread step of a million
        // neurons takes about a minute, and its 30 C steps more).
        const isLarge = large?.includes(size.neurons) === true;
        const cThreads = isLarge ? [allThreads] : [1, 2];
        const cRuns: Row[][] = [];
        const cSkip = (reason: string) => {
          sizeNote(`c-limit ${reason}`);
          cSkipped.set(size.neurons, reason);
        };
        const runC = () => {
          progress(`${label}: c-limit…`);
          const t0 = performance.now();
          try {
            cRuns.push(runCLimit(size.neurons, size.inDegree, inputs, (isLarge ? 40 : 20) * 60_000, cThreads));
          } catch (e) {
            cSkip(`failed: ${e instanceof Error ? e.message : String(e)}`);
          }
          return performance.now() - t0;
        };
        let cMs = 0;
        let cHere = useC;
        if (cHere) {
          // Where it fits: its arrays in memory, its data file on the temporary disk.
          const need = cLimitBytes(size.neurons, size.inDegree, inputs);
          const disk = diskFree();
          if (need.memory > 0.6 * freemem()) {
            cSkip(`skipped: it would allocate about ${(need.memory / 2 ** 30).toFixed(1)} GiB (σ and δ of all ${size.neurons.toLocaleString("en-US")} neurons × 512 samples), more than 60 % of the ${(freemem() / 2 ** 30).toFixed(1)} GiB free`);
            cHere = false;
          } else if (disk !== undefined && need.dataFile > 0.5 * disk) {
            cSkip(`skipped: its generator would write a ${(need.dataFile / 2 ** 30).toFixed(1)} GiB data file, more than half of the ${(disk / 2 ** 30).toFixed(1)} GiB free in ${tmpdir()}`);
            cHere = false;
          } else if (tooSlow(`c-limit:${allThreads}`, "c-limit")) {
            cSkipped.set(size.neurons, "skipped: predicted step too slow (--max-step-seconds)");
            cHere = false;
          }
        }
        if (cHere) cMs = runC();

        const here = contenders.filter((c) => !(isLarge && c.threads !== allThreads) && !tooSlow(`${c.engine}:${c.threads}`, `${c.engine} (${c.threads} thread${c.threads > 1 ? "s" : ""})`));
        if (isLarge && contenders.some((c) => c.threads !== allThreads)) sizeNote(`only the ${allThreads}-thread rows run at the --neurons sizes`);
        // Where no tile fits in L2 (issue 16), the wasm rows also run with the other backward pull,
        // interleaved in the same run: blocked where the default is plain (its pieces too short), plain
        // where it is blocked. A note gives blocked/plain; the table shows the default.
        const tile = defaultTile(size.neurons);
        const block = defaultBlock(size.neurons, tile, size.inDegree);
        const otherPull: Contender[] = noTileFitsInL2(size.neurons)
          ? here.filter((c) => c.engine === "wasm").map((c) => ({
              ...c,
              variant: block ? { name: "plain backward" as const, tuning: { block: false as const } } : { name: "blocked backward" as const, tuning: { block: blockSize(tile) } },
            }))
          : [];
        // --fma: the wasm rows with fused multiply-adds too, interleaved; a note gives the ratio.
        const fmaHere: Contender[] = fma ? here.filter((c) => c.engine === "wasm").map((c) => ({ ...c, variant: { name: "fma" as const, tuning: { fma: true } } })) : [];
        if (here.length > 0) {
          progress(`${label}: ${here.map((c) => `${c.engine} ${c.threads}T`).join(", ")}…`);
          const measuredRows = await measureInProcess(work, [...here, ...otherPull, ...fmaHere], plan, watchdog, sizeNote);
          const isDefault = (r: Row) => r.variant === undefined;
          rows.push(...measuredRows.filter(isDefault));
          for (const other of measuredRows.filter((r) => r.variant === "plain backward" || r.variant === "blocked backward")) {
            const base = measuredRows.find((r) => r.engine === "wasm" && isDefault(r) && r.threads === other.threads);
            if (!base) continue;
            const [blocked, plain] = other.variant === "blocked backward" ? [other, base] : [base, other];
            const sizes = block || blockSize(tile);
            sizeNote(`wasm ${other.threads}T backward blocked (rows ${sizes.rows}, span ${sizes.span}) / plain (block: false): ${(blocked.msPerStep / plain.msPerStep).toFixed(2)}× the time per step (${blocked.msPerStep.toFixed(1)} vs ${plain.msPerStep.toFixed(1)} ms); the default here is ${block ? "blocked" : "plain (pieces of about d·P/K = " + ((size.inDegree * sizes.rows) / size.neurons).toFixed(2) + " edges, under 1)"}`);
          }
          for (const fmaRow of measuredRows.filter((r) => r.variant === "fma")) {
            const base = measuredRows.find((r) => r.engine === "wasm" && isDefault(r) && r.threads === fmaRow.threads);
            if (!base) continue;
            sizeNote(`wasm ${fmaRow.threads}T fma / plain build: ${(fmaRow.msPerStep / base.msPerStep).toFixed(2)}× the time per step (${fmaRow.msPerStep.toFixed(fmaRow.msPerStep >= 100 ? 0 : 2)} vs ${base.msPerStep.toFixed(base.msPerStep >= 100 ? 0 : 2)} ms; ${(fmaRow.edgeSamplesPerSec / 1e9).toFixed(2)} G edge-samples/s)`);
          }
        }
        if (cHere && cRuns.length === 1 && cMs < 15_000 && !quick) runC();
        for (const threads of new Set(cRuns.flat().map((r) => r.threads))) {
          const best = cRuns
            .flat()
            .filter((r) => r.threads === threads)
            .reduce((b, r) => (r.msPerStep < b.msPerStep ? r : b));
          best.runs = cRuns.length;
          rows.push(best);
        }

        if (graphs && !tooSlow("pytorch", "pytorch")) {
          // Its autograd keeps the gathered [L, d, B] activations of every level (B·E floats) and more:
          // peak RSS was 2.5 GB for B·E·4 = 0.98 GB at 17,000 neurons.
          const need = 2.6 * batchSize * edges * 4 + 300 * 2 ** 20;
          if (need > 0.6 * freemem()) {
            sizeNote(`pytorch skipped: its gather formulation needs about ${(need / 2 ** 30).toFixed(1)} GiB, more than 60 % of the ${(freemem() / 2 ** 30).toFixed(1)} GiB free`);
          } else {
            progress(`${label}: pytorch…`);
            const slow = (predictedMs("pytorch", edges) ?? 0) > 1000;
            const torchPlan: TorchPlan = {
              threads: torchThreads,
              repeats: quick ? 2 : slow ? 3 : 5,
              warmup: slow ? 1 : 2,
              targetSeconds: quick ? 0.15 : 0.4,
              steps,
              timeoutMs: 30 * 60_000,
            };
            const name = `net_${size.neurons}_${size.inDegree}`;
            try {
              rows.push(...runTorch(graphs.write(name, work), edges, torchPlan));
            } catch (e) {
              sizeNote(`pytorch failed: ${e instanceof Error ? e.message : String(e)}`);
            } finally {
              graphs.remove(name);
            }
          }
        }
        progress("");

        const measured = new Map<string, number>();
        for (const r of rows) {
          const key = r.engine === "pytorch" ? "pytorch" : `${r.engine}:${r.threads}`;
          const perEdge = r.msPerStep / (r.edges * r.batch);
          measured.set(key, Math.min(perEdge, measured.get(key) ?? Infinity));
        }
        for (const [key, perEdge] of measured) perEdgeSample.set(key, perEdge);
        all.push(...rows);
        engineRows.push(...rows);
        ratioRows(rows);
        scalingRows(all);
        if (json) {
          for (const r of rows) console.log(JSON.stringify({ ...r, machine: { cpu: host.cpu, cores: host.cores, node: host.node } }));
          for (const n of notes) note(n);
        } else {
          for (const r of rows) out(tableRow(r));
          for (const line of ratioLines(rows)) out(line);
          for (const n of notes) note(n);
          out("");
        }
      }
    } finally {
      graphs?.dispose();
    }
    // Issue 3's targets are about the default table (1,700, 17,000, 170,000 neurons), not --neurons runs.
    if (!large) for (const line of targetLines(all)) out(line);
  }
}

/** Bytes free on the temporary disk (where run.sh writes its data), if the runtime can tell. */
function diskFree(): number | undefined {
  try {
    const s = statfsSync(tmpdir());
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof SparsewireError) {
    console.error(`bench: ${e.message}`);
    console.error(e.code === "usage" ? "hint: npm run bench -- --help" : e.hint ? `hint: ${e.hint}` : "");
  } else console.error(e);
  process.exitCode = 1;
});
