/**
 * Rows of `npm run bench` and what is printed from them: the JSON-lines schema, the ratios between
 * engines of one size, and the readable table. Pure functions over rows; no measuring here.
 *
 * Every ratio is a throughput ratio, edge-samples per second of A over those of B (at one size the
 * edges are the same, so it equals B's ms per step over A's): above 1 means A is faster.
 */
import { availableParallelism, cpus, loadavg, platform, arch } from "node:os";

export type EngineLabel = "reference" | "wasm" | "c-limit" | "pytorch";

/** One measured engine at one size: a line of `--json` output. */
export interface Row {
  engine: EngineLabel;
  threads: number;
  neurons: number;
  inDegree: number;
  batch: number;
  edges: number;
  /** Median over the timed repeats of (repeat time / steps in the repeat). */
  msPerStep: number;
  /** edges × batch / step time. */
  edgeSamplesPerSec: number;
  msPerStepMin?: number;
  steps?: number;
  repeats?: number;
  /** Bytes the engine holds ("engine"), the process RSS growth it caused ("rss-delta"), or a child process's peak RSS ("peak-rss"). */
  memoryBytes?: number;
  memorySource?: "engine" | "rss-delta" | "peak-rss";
  bytesPerEdge?: number;
  lossFirst?: number;
  lossLast?: number;
  /** c-limit: runs of run.sh this row is the better of. */
  runs?: number;
  /** wasm only: measured with other tuning (bench/engines.ts WasmVariant); reported in a note, not a table row. */
  variant?: "plain backward" | "blocked backward" | "fma";
  /** PyTorch: the faster of its thread counts, the one ratios use. */
  best?: boolean;
  /** Throughput ratios to other rows of this size (see ratioRows). */
  ratios?: Record<string, number>;
  /** Time per edge-sample relative to the same engine and threads at the smallest size of this in-degree. */
  perEdgeSlowdown?: { vs: string; factor: number };
  note?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  loadAverage: number[];
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown CPU",
    cores: availableParallelism(),
    node: process.version,
    platform: `${platform()} ${arch()}`,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function sizeKey(neurons: number, inDegree: number): string {
  return `${neurons}:${inDegree}`;
}

const eps = (r: Row | undefined): number | undefined => r?.edgeSamplesPerSec;

function ratio(a: Row | undefined, b: Row | undefined): number | undefined {
  const x = eps(a);
  const y = eps(b);
  return x !== undefined && y !== undefined && y > 0 ? x / y : undefined;
}

/**
 * Fills `ratios` of the rows of one size. The candidate is the project's fast engine (wasm, else
 * the reference); each of its rows gets: vsCLimit (same thread count), vsReference, vsPytorch
 * (PyTorch's faster thread count), vsOneThread (for more than one thread).
 */
export function ratioRows(rows: Row[]): void {
  const find = (engine: EngineLabel, threads?: number) => rows.find((r) => r.engine === engine && (threads === undefined || r.threads === threads));
  const torch = rows.filter((r) => r.engine === "pytorch");
  const bestTorch = torch.reduce<Row | undefined>((b, r) => (b === undefined || r.edgeSamplesPerSec > b.edgeSamplesPerSec ? r : b), undefined);
  if (bestTorch) bestTorch.best = true;
  const candidates = rows.some((r) => r.engine === "wasm") ? rows.filter((r) => r.engine === "wasm") : rows.filter((r) => r.engine === "reference");
  for (const row of candidates) {
    const out: Record<string, number> = {};
    const put = (name: string, value: number | undefined) => {
      if (value !== undefined) out[name] = value;
    };
    put("vsCLimit", ratio(row, find("c-limit", row.threads)));
    if (row.engine !== "reference") put("vsReference", ratio(row, find("reference")));
    put("vsPytorch", ratio(row, bestTorch));
    if (row.threads > 1) put("vsOneThread", ratio(row, find(row.engine, 1)));
    if (Object.keys(out).length > 0) row.ratios = out;
  }
}

/** perEdgeSlowdown of every row against the same engine and threads at the smallest size with its in-degree. */
export function scalingRows(all: Row[]): void {
  for (const row of all) {
    const base = all
      .filter((r) => r.engine === row.engine && r.threads === row.threads && r.inDegree === row.inDegree && r.batch === row.batch)
      .reduce<Row | undefined>((b, r) => (b === undefined || r.neurons < b.neurons ? r : b), undefined);
    if (base && base.neurons < row.neurons) {
      row.perEdgeSlowdown = { vs: sizeKey(base.neurons, base.inDegree), factor: base.edgeSamplesPerSec / row.edgeSamplesPerSec };
    }
  }
}

// ---- the readable table ----

const int = (x: number) => x.toLocaleString("en-US");

function fixed(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function bytes(x: number): string {
  if (x >= 2 ** 30) return `${(x / 2 ** 30).toFixed(2)} GiB`;
  if (x >= 2 ** 20) return `${(x / 2 ** 20).toFixed(1)} MiB`;
  return `${(x / 2 ** 10).toFixed(0)} KiB`;
}

function memoryCell(r: Row): string {
  if (r.memoryBytes === undefined) return "";
  const perEdge = r.bytesPerEdge !== undefined ? ` (${r.bytesPerEdge.toFixed(0)} B/edge)` : "";
  if (r.memorySource === "rss-delta") return `RSS +${bytes(r.memoryBytes)}${perEdge}`;
  if (r.memorySource === "peak-rss") return `peak RSS ${bytes(r.memoryBytes)}`;
  return `${bytes(r.memoryBytes)}${perEdge}`;
}

const COLUMNS = ["neurons", "d", "edges", "engine", "threads", "ms/step", "G edge-samples/s", "steps×repeats", "memory"];
const RIGHT = new Set([0, 1, 2, 4, 5, 6, 7]);
const WIDTHS = [8, 3, 10, 10, 7, 9, 16, 13, 0];

function line(cells: string[]): string {
  return cells
    .map((c, i) => (WIDTHS[i] === 0 ? c : RIGHT.has(i) ? c.padStart(WIDTHS[i]!) : c.padEnd(WIDTHS[i]!)))
    .join("  ")
    .trimEnd();
}

export function tableHeader(): string {
  return line(COLUMNS) + "\n" + line(WIDTHS.map((w, i) => "-".repeat(w === 0 ? COLUMNS[i]!.length : w)));
}

export function tableRow(r: Row): string {
  const label = r.engine === "pytorch" && r.best ? "pytorch*" : r.engine;
  const runs = r.steps !== undefined && r.repeats !== undefined ? `${r.steps}×${r.repeats}` : r.runs !== undefined && r.runs > 1 ? `best of ${r.runs}` : "";
  return line([
    int(r.neurons),
    String(r.inDegree),
    int(r.edges),
    label,
    String(r.threads),
    fixed(r.msPerStep),
    fixed(r.edgeSamplesPerSec / 1e9),
    runs,
    memoryCell(r),
  ]);
}

/** The ratio lines under one size's rows. */
export function ratioLines(rows: Row[]): string[] {
  const lines: string[] = [];
  const fmt = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(2));
  const parts: string[] = [];
  for (const r of rows) {
    if (!r.ratios) continue;
    const who = `${r.engine} ${r.threads}T`;
    const { vsCLimit, vsOneThread, vsPytorch, vsReference } = r.ratios;
    if (vsCLimit !== undefined) parts.push(`${who}/C ${r.threads}T ${fmt(vsCLimit)}`);
    if (vsOneThread !== undefined) parts.push(`${who}/${r.engine} 1T ${fmt(vsOneThread)}`);
    if (vsPytorch !== undefined) parts.push(`${who}/PyTorch ${fmt(vsPytorch)}`);
    if (vsReference !== undefined) parts.push(`${who}/reference ${fmt(vsReference)}`);
  }
  if (parts.length > 0) lines.push(`  ratios: ${parts.join(" · ")}`);
  const scaled = rows.filter((r) => r.perEdgeSlowdown);
  if (scaled.length > 0) {
    const vs = scaled[0]!.perEdgeSlowdown!.vs.replace(":", " neurons, d = ");
    lines.push(`  time per edge-sample vs ${vs}: ${scaled.map((r) => `${r.engine} ${r.threads}T ${r.perEdgeSlowdown!.factor.toFixed(2)}×`).join(" · ")}`);
  }
  return lines;
}

/**
 * The fast-engine issue's targets (issue 3), checked against this run's rows where they exist:
 * at 1,700 neurons, d = 29: wasm 1T ≥ 0.30 × C 1T, wasm 2T ≥ 1.7 × wasm 1T, wasm 2T ≥ 20 × PyTorch;
 * at 17,000 and 170,000 neurons: wasm's time per edge-sample grows by at most 1.5 × C's growth.
 */
export function targetLines(all: Row[]): string[] {
  const get = (engine: EngineLabel, threads: number, neurons: number) =>
    all.find((r) => r.engine === engine && r.threads === threads && r.neurons === neurons && r.inDegree === 29 && r.batch === 512);
  const checks: string[] = [];
  const check = (text: string, value: number | undefined, atLeast: number, atMost = Infinity) => {
    if (value === undefined) return;
    checks.push(`${text} ${value.toFixed(2)} ${value >= atLeast && value <= atMost ? "✓" : "✗"}`);
  };
  const w1 = get("wasm", 1, 1700);
  const w2 = get("wasm", 2, 1700);
  check("wasm 1T/C 1T ≥ 0.30:", w1?.ratios?.["vsCLimit"], 0.3);
  check("wasm 2T/wasm 1T ≥ 1.7:", w2?.ratios?.["vsOneThread"], 1.7);
  check("wasm 2T/PyTorch ≥ 20:", w2?.ratios?.["vsPytorch"], 20);
  for (const neurons of [17000, 170000]) {
    for (const threads of [1, 2]) {
      const w = get("wasm", threads, neurons)?.perEdgeSlowdown?.factor;
      const c = get("c-limit", threads, neurons)?.perEdgeSlowdown?.factor;
      if (w !== undefined && c !== undefined) check(`${neurons.toLocaleString("en-US")} ${threads}T slowdown wasm/C ≤ 1.5:`, w / c, -Infinity, 1.5);
    }
  }
  return checks.length > 0 ? [`issue 3 targets (1,700 neurons, d = 29, batch 512; scaling vs 1,700): ${checks.join(" · ")}`] : [];
}
