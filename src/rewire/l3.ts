/**
 * Gradient-free growth from the graph alone (issue 12 item 6): an absent edge i → j is scored by the
 * directed paths of length 3 from i to j, i → a → b → j, each damped by the degrees of its two
 * intermediate neurons,
 *
 *     L3(i, j) = Σ_{i → a → b → j} 1 / √(deg(a)·deg(b)),     deg = in-degree + out-degree,
 *
 * the L3 link predictor (Kovács et al. 2019) that Cannistraci-Hebb training (Zhang et al. 2024) uses
 * to regrow sparse networks without gradients. In a DAG every such i already reaches j, so adding
 * i → j can never close a cycle: every candidate is admissible unless it is a source of j already.
 * Cost per target: at most d³ paths (24,389 at d = 29), about 30 M for the thesis network per round.
 */
import type { Network } from "../graph/network.js";
import { transpose } from "../graph/network.js";

/**
 * The best `perTarget` sources of every non-input neuron j by L3 score (ties: the smaller index),
 * excluding j's current sources: k·perTarget entries, row j, padded with −1.
 */
export function l3Candidates(net: Network, perTarget: number): Int32Array {
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const consumers = transpose(net);
  const damp = new Float64Array(k); // 1/√deg
  for (let x = 0; x < k; x++) {
    const deg = (x >= n ? d : 0) + (consumers.start[x + 1]! - consumers.start[x]!);
    damp[x] = deg > 0 ? 1 / Math.sqrt(deg) : 0;
  }
  const out = new Int32Array(k * perTarget).fill(-1);
  const score = new Float64Array(k);
  const touched: number[] = [];
  const isSource = new Uint8Array(k);
  for (let j = n; j < k; j++) {
    const rowJ = (j - n) * d;
    for (let e = 0; e < d; e++) isSource[sources[rowJ + e]!] = 1;
    for (let e = 0; e < d; e++) {
      const b = sources[rowJ + e]!;
      if (b < n) continue; // an input has no sources: no path through it
      const rowB = (b - n) * d;
      for (let f = 0; f < d; f++) {
        const a = sources[rowB + f]!;
        if (a < n) continue;
        const w = damp[a]! * damp[b]!;
        const rowA = (a - n) * d;
        for (let g = 0; g < d; g++) {
          const i = sources[rowA + g]!;
          if (score[i] === 0) touched.push(i);
          score[i]! += w;
        }
      }
    }
    // The best perTarget by score, then index; existing sources and j itself excluded.
    const ranked = touched.filter((i) => !isSource[i] && i !== j).sort((x, y) => score[y]! - score[x]! || x - y);
    for (let q = 0; q < Math.min(perTarget, ranked.length); q++) out[j * perTarget + q] = ranked[q]!;
    for (const i of touched) score[i] = 0;
    touched.length = 0;
    for (let e = 0; e < d; e++) isSource[sources[rowJ + e]!] = 0;
  }
  return out;
}
