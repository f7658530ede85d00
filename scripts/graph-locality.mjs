#!/usr/bin/env node
// How far apart, in memory order, a neuron and its non-input sources sit in the thesis's random DAG
// (Network.random: sources uniform over earlier neurons) at 1,700, 17,000 and 170,000 neurons: the
// gathers' locality that issue 16 is about. A source within W = 8,192 places of its target is in the
// last ~1 MiB of a 32-sample tile's activations.
//
// Three orders: the evaluation order the engines use; by level (longest path from the inputs, as
// the C probe's level mode); and reverse Cuthill–McKee on the undirected graph IGNORING the
// evaluation order, a bandwidth-reducing renumbering with more freedom than any valid order has. If
// even that one leaves most edges long, no renumbering within the evaluation order can fix the
// gathers' locality of this graph family.
// usage: npm run build && node scripts/graph-locality.mjs
import { Network } from "../dist/src/graph/network.js";
import { Rng } from "../dist/src/util/rng.js";

const N = 540, D = 29, W = 8192;

function report(label, k, net, pos) {
  let near = 0, hidden = 0, dist = 0;
  for (let j = N; j < k; j++) for (let e = 0; e < D; e++) {
    const s = net.sources[(j - N) * D + e];
    if (s < N) continue;
    hidden++;
    const d = Math.abs(pos[j] - pos[s]);
    dist += d;
    if (d <= W) near++;
  }
  console.log(`k ${k} ${label}: edges from non-inputs ${hidden}, mean distance ${(dist / hidden).toFixed(0)}, within ${W} places ${((100 * near) / hidden).toFixed(1)} %`);
}

/** Reverse Cuthill–McKee over the non-input neurons, edges undirected; returns pos[neuron] (inputs keep theirs). */
function rcm(k, net) {
  const deg = new Int32Array(k);
  for (let j = N; j < k; j++) for (let e = 0; e < D; e++) { const s = net.sources[(j - N) * D + e]; if (s >= N) { deg[s]++; deg[j]++; } }
  const start = new Int32Array(k + 1);
  for (let i = 0; i < k; i++) start[i + 1] = start[i] + deg[i];
  const adj = new Int32Array(start[k]); const fill = start.slice(0, k);
  for (let j = N; j < k; j++) for (let e = 0; e < D; e++) { const s = net.sources[(j - N) * D + e]; if (s >= N) { adj[fill[s]++] = j; adj[fill[j]++] = s; } }
  const seen = new Uint8Array(k); const order = [];
  const byDegree = Array.from({ length: k - N }, (_, i) => N + i).sort((a, b) => deg[a] - deg[b]);
  for (const root of byDegree) {
    if (seen[root]) continue;
    seen[root] = 1; order.push(root);
    for (let h = order.length - 1; h < order.length; h++) {
      const u = order[h];
      const next = [];
      for (let q = start[u]; q < start[u + 1]; q++) { const v = adj[q]; if (!seen[v]) { seen[v] = 1; next.push(v); } }
      next.sort((a, b) => deg[a] - deg[b]);
      for (const v of next) order.push(v);
    }
  }
  order.reverse();
  const pos = new Int32Array(k);
  for (let i = 0; i < N; i++) pos[i] = i;
  order.forEach((j, r) => (pos[j] = N + r));
  return pos;
}

for (const k of [1700, 17000, 170000]) {
  const net = Network.random({ neurons: k, inputs: N, outputs: 27, inDegree: D }, new Rng(1));
  const evalPos = new Int32Array(k);
  for (let i = 0; i < N; i++) evalPos[i] = i;
  net.order.forEach((j, r) => (evalPos[j] = N + r));
  report("evaluation order", k, net, evalPos);
  const byLevel = Array.from({ length: k - N }, (_, i) => N + i).sort((a, b) => net.levels[a] - net.levels[b] || evalPos[a] - evalPos[b]);
  const levelPos = new Int32Array(k);
  for (let i = 0; i < N; i++) levelPos[i] = i;
  byLevel.forEach((j, r) => (levelPos[j] = N + r));
  report("by level", k, net, levelPos);
  report("RCM, unconstrained", k, net, rcm(k, net));
}
