/**
 * Writing an experiment's outputs: Markdown tables, Vega-Lite figures (spec, SVG via `vega`, PNG via
 * resvg), a summary JSON. The figure specs come from charts.ts, which the studio page uses too.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";

export { bandChart, pooledBands, scatterChart, barChart, type BandPoint } from "./charts.js";

export type Cell = string | number | undefined | null;

/** A Markdown table; numbers are printed with `digits` decimals. */
export function markdownTable(header: readonly string[], rows: readonly (readonly Cell[])[], digits = 3): string {
  const fmt = (c: Cell) => (c === undefined || c === null ? "–" : typeof c === "number" ? (Number.isFinite(c) ? c.toFixed(digits) : String(c)) : c);
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const r of rows) lines.push(`| ${r.map(fmt).join(" | ")} |`);
  return lines.join("\n");
}

/** "2.531 ± 0.004" */
export function meanSd(m: number, s: number, digits = 3): string {
  if (!Number.isFinite(m)) return "–";
  return Number.isFinite(s) ? `${m.toFixed(digits)} ± ${s.toFixed(digits)}` : m.toFixed(digits);
}

export interface FigureFiles {
  spec: string;
  svg: string;
  png?: string;
}

/**
 * Render a Vega-Lite spec to `<name>.vl.json`, `<name>.svg` and `<name>.png` in `out`. The
 * renderers are loaded lazily so that the library's other users do not pay for them; PNG is skipped
 * (with a note) when resvg is unavailable on the platform.
 */
export async function writeFigure(out: string, name: string, spec: Record<string, unknown>, log?: (line: string) => void): Promise<FigureFiles> {
  const vl = await import("vega-lite");
  const vega = await import("vega");
  const specPath = join(out, `${name}.vl.json`);
  writeFileAtomic(specPath, JSON.stringify(spec, null, 1) + "\n");
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const svgPath = join(out, `${name}.svg`);
  writeFileAtomic(svgPath, svg);
  const files: FigureFiles = { spec: specPath, svg: svgPath };
  try {
    const { Resvg } = await import("@resvg/resvg-js");
    const png = new Resvg(svg, { fitTo: { mode: "zoom", value: 2 }, font: { loadSystemFonts: true }, background: "white" }).render().asPng();
    const pngPath = join(out, `${name}.png`);
    writeFileAtomic(pngPath, png);
    files.png = pngPath;
  } catch (error) {
    log?.(`PNG of ${name} skipped: ${(error as Error).message}`);
  }
  return files;
}

export function writeText(out: string, name: string, text: string): string {
  const path = join(out, name);
  writeFileAtomic(path, text.endsWith("\n") ? text : text + "\n");
  return path;
}
