#!/usr/bin/env node
// How far apart, in the evaluation order, a neuron and its non-input sources sit in the thesis's random
// DAG (Network.random: sources uniform over earlier neurons) at 1,700, 17,000 and 170,000 neurons: the
// gathers' locality that issue 16 is about. A source within W = 8,192 places of its target is in the
// last ~1 MiB of a 32-sample tile's activations.
// usage: npm run build && node scripts/graph-locality.mjs
import { Network } from "../dist/src/graph/network.js";
import { Rng } from "../dist/src/util/rng.js";
for (const k of [1700, 17000, 170000]) {
  const net = Network.random({ neurons: k, inputs: 540, outputs: 27, inDegree: 29 }, new Rng(1));
  const pos = new Int32Array(k); for (let i = 0; i < 540; i++) pos[i] = i; net.order.forEach((j, r) => (pos[j] = 540 + r));
  // Working set: activations of the tile are K·T·4 bytes; a gather is "near" if the source is within W neurons (W·T·4 ≈ 1 MiB at T = 32).
  const W = 8192; let near = 0, hidden = 0, dist = 0;
  for (let j = 540; j < k; j++) for (let e = 0; e < 29; e++) { const s = net.sources[(j - 540) * 29 + e]; if (s < 540) continue; hidden++; const d = pos[j] - pos[s]; dist += d; if (d <= W) near++; }
  console.log(`k ${k}: edges from non-inputs ${hidden}, mean order distance ${(dist / hidden).toFixed(0)}, within ${W} neurons ${(100 * near / hidden).toFixed(1)} %`);
}
