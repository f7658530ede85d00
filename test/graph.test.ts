/** The network type: validation errors that name neuron and edge, orders and levels on random graphs. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Network, transpose } from "../src/graph/network.js";
import { GraphError, ShapeError } from "../src/util/errors.js";
import { Rng } from "../src/util/rng.js";

function small(sources: number[], weights?: number[], biases?: number[], inDegree = 2): Network {
  return Network.fromArrays({
    neurons: 5, inputs: 2, outputs: 1, inDegree,
    sources: Int32Array.from(sources),
    weights: Float32Array.from(weights ?? sources.map(() => 0.5)),
    biases: Float32Array.from(biases ?? [0, 0, 0, 0, 0]),
  });
}

test("a valid small network gets order, levels and depth", () => {
  const net = small([0, 1, /*3*/ 1, 2, /*4*/ 2, 3]);
  assert.deepEqual([...net.order], [2, 3, 4]);
  assert.deepEqual([...net.levels], [0, 0, 1, 2, 3]);
  assert.equal(net.depth, 4);
  assert.deepEqual(net.levelSizes(), [2, 1, 1, 1]);
  assert.equal(net.edges, 6);
  assert.equal(net.parameters, 9);
});

test("every invalid graph is refused with a message naming neuron and edge", () => {
  const cases: [() => unknown, RegExp, typeof GraphError | typeof ShapeError][] = [
    [() => small([0, 1, 1, 4, 2, 3]), /neuron 3: edge from 4 closes a cycle \(4 → 3 → 4\)/, GraphError],
    [() => small([0, 1, 1, 3, 2, 3]), /neuron 3: edge 1 is a self-loop/, GraphError],
    [() => small([0, 1, 1, 1, 2, 3]), /neuron 3: edge 1 from 1 duplicates an earlier edge from 1/, GraphError],
    [() => small([0, 1, 1, 9, 2, 3]), /neuron 3: edge 1 has source 9, outside 0\.\.4/, GraphError],
    [() => small([0, 1, 1, -1, 2, 3]), /neuron 3: edge 1 has source -1/, GraphError],
    [() => small([0, 1, 1, 2, 2, 3], [0.5, 0.5, 0.5, NaN, 0.5, 0.5]), /neuron 3: edge 1 from 2 has weight NaN/, GraphError],
    [() => small([0, 1, 1, 2, 2, 3], [0.5, 0.5, 0.5, Infinity, 0.5, 0.5]), /neuron 3: edge 1 from 2 has weight Infinity/, GraphError],
    [() => small([0, 1, 1, 2, 2, 3], undefined, [0, 0, 0, NaN, 0]), /neuron 3: bias is NaN/, GraphError],
    [() => small([0, 1, 1, 2, 2, 3], undefined, [0, 1, 0, 0, 0]), /input neuron 1: bias is 1; inputs have no bias/, GraphError],
    [() => small([0, 1, 1, 2, 2]), /sources has 5 entries, expected \(k-n\)·d = 6/, ShapeError],
  ];
  for (const [make, message, kind] of cases) {
    assert.throws(make, (e: unknown) => e instanceof kind && message.test((e as Error).message), String(message));
  }
  // A two-neuron cycle deep inside a bigger graph is still found and named.
  const net = Network.random({ neurons: 300, inputs: 50, outputs: 10, inDegree: 5 }, new Rng(3));
  const i = 200;
  const row = net.rowOf(i);
  const j = net.sources[row]! >= net.inputs ? net.sources[row]! : 150;
  // make i → j (i becomes a source of j) while j → i exists or is created
  net.sources[row] = j;
  net.sources.subarray(row, row + net.inDegree).sort();
  const rowJ = net.rowOf(j);
  if (![...net.sources.subarray(rowJ, rowJ + net.inDegree)].includes(i)) net.sources[rowJ] = i;
  assert.throws(() => net.validate(), /closes a cycle/);
});

test("property: random graphs keep a valid topological order, levels and fixed in-degree", () => {
  for (let seed = 0; seed < 40; seed++) {
    const rng = new Rng(seed);
    const inputs = 1 + rng.nextInt(30);
    const outputs = 1 + rng.nextInt(10);
    const neurons = inputs + outputs + rng.nextInt(80);
    const inDegree = 1 + rng.nextInt(Math.min(inputs, 8));
    const net = Network.random({ neurons, inputs, outputs, inDegree }, rng);
    assert.equal(net.sources.length, (neurons - inputs) * inDegree);
    assert.equal(net.order.length, neurons - inputs);
    const position = new Int32Array(neurons).fill(-1);
    net.order.forEach((neuron, r) => (position[neuron] = r));
    for (let i = inputs; i < neurons; i++) {
      assert.ok(position[i]! >= 0, `seed ${seed}: neuron ${i} missing from order`);
      const sources = new Set<number>();
      for (let e = 0; e < inDegree; e++) {
        const s = net.sources[net.rowOf(i) + e]!;
        sources.add(s);
        assert.ok(s < i, "§4.6 init only connects to earlier neurons");
        if (s >= inputs) assert.ok(position[s]! < position[i]!, `seed ${seed}: ${s} → ${i} against the order`);
        assert.ok(net.levels[s]! < net.levels[i]!, `seed ${seed}: level of ${s} ≥ level of ${i}`);
      }
      assert.equal(sources.size, inDegree, "distinct sources");
    }
    // The transposed graph lists every edge exactly once.
    const t = transpose(net);
    assert.equal(t.start[neurons], net.edges);
    for (let s = 0; s < neurons; s++) for (let p = t.start[s]!; p < t.start[s + 1]!; p++) assert.equal(net.sources[t.edge[p]!], s);
    // Shuffled edges within rows and a re-validate keep the same order (order depends on the graph only).
    const before = net.order.slice();
    net.validate();
    assert.deepEqual(net.order, before);
  }
});

test("initialisation: He-scaled weights, zero biases, deterministic per seed", () => {
  const a = Network.random({ neurons: 1700, inputs: 540, outputs: 27, inDegree: 29 }, new Rng(5));
  const b = Network.random({ neurons: 1700, inputs: 540, outputs: 27, inDegree: 29 }, new Rng(5));
  assert.deepEqual(a.sources, b.sources);
  assert.deepEqual(a.weights, b.weights);
  let sq = 0;
  for (const w of a.weights) sq += w * w;
  const variance = sq / a.weights.length;
  assert.ok(Math.abs(variance - 2 / 29) < 0.005, `variance ${variance} vs He 2/d = ${2 / 29}`);
  assert.ok(a.biases.every((x) => x === 0));
  assert.throws(() => Network.random({ neurons: 50, inputs: 3, outputs: 2, inDegree: 5 }, new Rng(1)), /in-degree 5 exceeds the 3 inputs/);
});

/** Hidden neurons (not inputs, not outputs) with no path to any output, by a backward sweep over index order. */
function strandedHidden(net: Network): number {
  const { neurons: k, inputs: n, outputs: m, inDegree: d, sources } = net;
  const reaches = new Uint8Array(k);
  for (let i = k - m; i < k; i++) reaches[i] = 1;
  // Sources precede their targets in Network.random's index order, so one sweep from the last neuron down suffices.
  for (let i = k - 1; i >= n; i--) {
    if (!reaches[i]) continue;
    for (let e = 0; e < d; e++) reaches[sources[(i - n) * d + e]!] = 1;
  }
  let stranded = 0;
  for (let i = n; i < k - m; i++) if (!reaches[i]) stranded++;
  return stranded;
}

test("reachOutputs: every hidden neuron gets a path to an output; in-degree, order and validity kept; default draw unchanged", () => {
  const shapes = [
    { neurons: 1700, inputs: 540, outputs: 27, inDegree: 29 },
    { neurons: 60, inputs: 8, outputs: 5, inDegree: 3 },
    { neurons: 12, inputs: 4, outputs: 2, inDegree: 4 },
    { neurons: 5, inputs: 2, outputs: 1, inDegree: 2 },
  ];
  let strandedBefore = 0;
  for (const shape of shapes) {
    for (let seed = 1; seed <= 20; seed++) {
      const plain = Network.random(shape, new Rng(seed));
      const same = Network.random({ ...shape, reachOutputs: false }, new Rng(seed));
      assert.deepEqual(same.sources, plain.sources, "reachOutputs: false is §4.6's draw, bit for bit");
      strandedBefore += strandedHidden(plain);
      const net = Network.random({ ...shape, reachOutputs: true }, new Rng(seed));
      assert.equal(strandedHidden(net), 0, `${JSON.stringify(shape)} seed ${seed}: a hidden neuron has no path to an output`);
      assert.equal(net.hiddenWithoutPathToOutput(), 0);
      assert.equal(plain.hiddenWithoutPathToOutput(), strandedHidden(plain), "the library's count agrees with the test's own sweep");
      assert.equal(net.edges, plain.edges);
      // validate() checks duplicates, ranges and acyclicity; rows stay sorted; weights are the draw's, moved with their edges.
      Network.fromArrays(net).validate();
      const d = shape.inDegree;
      for (let r = 0; r < net.sources.length; r += d) for (let e = r + 1; e < r + d; e++) assert.ok(net.sources[e - 1]! < net.sources[e]!, "rows sorted by source");
      assert.deepEqual([...net.weights].sort(), [...plain.weights].sort(), "the same weights, only sources changed");
      assert.deepEqual(Network.random({ ...shape, reachOutputs: true }, new Rng(seed)).sources, net.sources, "deterministic per seed");
    }
  }
  assert.ok(strandedBefore > 0, "the plain draw strands some hidden neurons, so the test can fail");
  const thesis = Network.random({ neurons: 1700, inputs: 540, outputs: 27, inDegree: 29 }, new Rng(1));
  assert.ok(strandedHidden(thesis) >= 20, `thesis network, seed 1: ${strandedHidden(thesis)} stranded hidden neurons`);
});
