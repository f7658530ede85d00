/**
 * Small statistics for reporting experiments honestly: mean ± standard deviation over seeds,
 * quantiles for the thesis's median / 25th–75th percentile bands, and a paired t confidence interval
 * for "configuration minus baseline, same seed".
 */

/** Arithmetic mean; NaN for no values. */
export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length > 0 ? s / xs.length : NaN;
}

/** Sample standard deviation (n − 1); NaN below two values. */
export function sd(xs: ArrayLike<number>): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** Quantile by linear interpolation between order statistics (type 7, as numpy's default). */
export function quantile(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  const v = Float64Array.from(xs).sort();
  const h = (v.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo]! + (h - lo) * (v[hi]! - v[lo]!);
}

/** The 0.5 quantile (type 7); NaN for no values. */
export function median(xs: ArrayLike<number>): number {
  return quantile(xs, 0.5);
}

/** Pearson's correlation of two series over the pairs where both are finite; NaN below two pairs. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      x.push(a[i]!);
      y.push(b[i]!);
    }
  }
  if (x.length < 2) return NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

// Two-sided 95 % quantiles of Student's t, df = 1..30.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t such that P(|T| ≤ t) = 0.95 for df degrees of freedom. */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30) return T975[Math.floor(df) - 1]!;
  // Cornish–Fisher expansion around the normal quantile; error < 1e-3 for df > 30.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** Result of `pairedDifference`: mean, spread and 95 % interval of a − b over paired values. */
export interface PairedDifference {
  /** Mean of (a − b) over the pairs. */
  mean: number;
  /** Sample standard deviation of the differences (NaN below two pairs). */
  sd: number;
  /** Number of pairs. */
  n: number;
  /** 95 % confidence interval of the mean difference (Student's t). */
  low: number;
  high: number;
}

/** Paired difference a − b (same seeds), with a 95 % t interval. */
export function pairedDifference(a: ArrayLike<number>, b: ArrayLike<number>): PairedDifference {
  const n = Math.min(a.length, b.length);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = a[i]! - b[i]!;
  const m = mean(d);
  const s = sd(d);
  const half = n >= 2 ? (tQuantile975(n - 1) * s) / Math.sqrt(n) : NaN;
  return { mean: m, sd: s, n, low: m - half, high: m + half };
}

/**
 * Spearman's rank correlation of two equally long series, over the pairs where both are finite
 * (ties get their average rank). For comparing a heuristic with the true utility (Fig. 4.2).
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: lengths differ (${a.length} vs ${b.length})`);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      x.push(a[i]!);
      y.push(b[i]!);
    }
  }
  const rx = ranks(x);
  const ry = ranks(y);
  const n = rx.length;
  if (n < 2) return NaN;
  const mean = (n + 1) / 2;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i]! - mean) * (ry[i]! - mean);
    sxx += (rx[i]! - mean) ** 2;
    syy += (ry[i]! - mean) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function ranks(v: readonly number[]): Float64Array {
  const idx = v.map((_, i) => i).sort((i, j) => v[i]! - v[j]!);
  const r = new Float64Array(v.length);
  for (let p = 0; p < idx.length; ) {
    let q = p;
    while (q + 1 < idx.length && v[idx[q + 1]!] === v[idx[p]!]) q++;
    for (let t = p; t <= q; t++) r[idx[t]!] = (p + q) / 2 + 1;
    p = q + 1;
  }
  return r;
}
