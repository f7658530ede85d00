/**
 * The Vega-Lite figures of the experiments, as plain specs: the experiments render them to SVG and
 * PNG (report.ts), the studio page draws them live with vega-embed. Browser-safe, no imports.
 */
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

export interface BandPoint {
  series: string;
  panel?: string;
  x: number;
  median: number;
  low: number;
  high: number;
}

/**
 * The thesis's curve form (Fig. 4.5, 4.6): median line and 25th–75th percentile band per series,
 * optionally one panel per `panel` value stacked vertically.
 */
export function bandChart(points: readonly BandPoint[], o: { title: string; x: string; y: string; yDomain?: [number, number]; panels?: boolean; width?: number | "container"; height?: number; seriesOrder?: readonly string[]; marks?: { name: string; title: string }; pointSeries?: readonly string[] }): Record<string, unknown> {
  const color = { field: "series", type: "nominal", title: null, legend: { labelLimit: 400 }, ...(o.seriesOrder ? { scale: { domain: o.seriesOrder } } : {}) };
  const y = { field: "median", type: "quantitative", title: o.y, scale: { zero: false, ...(o.yDomain ? { domain: o.yDomain, clamp: true } : {}) } };
  // Optional vertical rules at x positions from a named data set (the studio marks rewiring rounds).
  const marks = o.marks
    ? [{ data: { name: o.marks.name }, mark: { type: "rule", color: "#999", strokeDash: [2, 3], strokeWidth: 1 }, encoding: { x: { field: "x", type: "quantitative", title: o.x }, tooltip: [{ field: "x", type: "quantitative", title: o.marks.title }] } }]
    : [];
  const layer = {
    layer: [
      ...marks,
      { mark: { type: "area", opacity: 0.25, clip: true }, encoding: { x: { field: "x", type: "quantitative", title: o.x }, y: { ...y, field: "low" }, y2: { field: "high" }, color } },
      { mark: { type: "line", strokeWidth: 1.2, clip: true }, encoding: { x: { field: "x", type: "quantitative", title: o.x }, y, color } },
      // Dots for sparse series (a validation every few hundred steps is invisible as a line at first).
      ...(o.pointSeries ? [{ transform: [{ filter: { field: "series", oneOf: [...o.pointSeries] } }], mark: { type: "point", filled: true, size: 28, clip: true }, encoding: { x: { field: "x", type: "quantitative", title: o.x }, y, color } }] : []),
    ],
  };
  const size = { width: o.width ?? 560, height: o.height ?? 260 };
  if (o.panels) {
    return { $schema: SCHEMA, title: o.title, data: { values: points }, facet: { row: { field: "panel", type: "nominal", title: null, sort: [...new Set(points.map((q) => q.panel))] } }, spec: { ...size, ...layer }, resolve: { scale: { y: "independent" } } };
  }
  return { $schema: SCHEMA, title: o.title, data: { values: points }, ...size, ...layer };
}

/**
 * Pool the per-step losses of several seeds into groups of `group` steps and take the median and
 * 25th/75th percentiles of the pooled values (the thesis: 64 steps × 12 seeds per point).
 */
export function pooledBands(curves: readonly ArrayLike<number>[], group: number, quantile: (xs: ArrayLike<number>, q: number) => number): { x: number; median: number; low: number; high: number }[] {
  const steps = Math.min(...curves.map((c) => c.length));
  const out: { x: number; median: number; low: number; high: number }[] = [];
  const pool = new Float64Array(group * curves.length);
  for (let start = 0; start + group <= steps; start += group) {
    let k = 0;
    for (const c of curves) for (let s = start; s < start + group; s++) pool[k++] = c[s]!;
    const v = pool.subarray(0, k);
    out.push({ x: start + group, median: quantile(v, 0.5), low: quantile(v, 0.25), high: quantile(v, 0.75) });
  }
  return out;
}

/** A scatter plot with one panel per `panel` value (Fig. 4.2's form). */
export function scatterChart(points: readonly Record<string, unknown>[], o: { title: string; x: string; y: string; xTitle: string; yTitle: string; column?: string; row?: string }): Record<string, unknown> {
  const spec = {
    width: 220,
    height: 200,
    mark: { type: "point", size: 8, opacity: 0.5, filled: true },
    encoding: {
      x: { field: o.x, type: "quantitative", title: o.xTitle, scale: { zero: false } },
      y: { field: o.y, type: "quantitative", title: o.yTitle, scale: { zero: false } },
    },
  };
  const facet: Record<string, unknown> = {};
  if (o.column) facet["column"] = { field: o.column, type: "nominal", title: null };
  if (o.row) facet["row"] = { field: o.row, type: "nominal", title: null };
  if (!o.column && !o.row) return { $schema: SCHEMA, title: o.title, data: { values: points }, ...spec };
  return { $schema: SCHEMA, title: o.title, data: { values: points }, facet, spec, resolve: { scale: { x: "independent", y: "independent" } } };
}

/** A bar chart of means with error bars (± sd) per configuration. */
export function barChart(rows: readonly { label: string; mean: number; low: number; high: number; panel?: string }[], o: { title: string; y: string; panels?: boolean }): Record<string, unknown> {
  const layer = {
    width: 420,
    height: 220,
    layer: [
      { mark: { type: "point", filled: true, size: 60 }, encoding: { x: { field: "label", type: "nominal", title: null, sort: null }, y: { field: "mean", type: "quantitative", title: o.y, scale: { zero: false } } } },
      { mark: { type: "errorbar" }, encoding: { x: { field: "label", type: "nominal", sort: null }, y: { field: "low", type: "quantitative", title: o.y }, y2: { field: "high" } } },
    ],
  };
  const panelOrder = [...new Set(rows.map((r) => r.panel))];
  if (o.panels) return { $schema: SCHEMA, title: o.title, data: { values: rows }, facet: { row: { field: "panel", type: "nominal", title: null, sort: panelOrder } }, spec: layer, resolve: { scale: { y: "independent" } } };
  return { $schema: SCHEMA, title: o.title, data: { values: rows }, ...layer };
}
