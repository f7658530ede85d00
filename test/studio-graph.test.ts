/** The studio's graph geometry: level layout (Fig. 4.4), summary numbers, rewiring diffs, neighbours. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { columnLabels, edgeDiff, graphStats, layoutByLevels, neighbours, outEdgeIndex } from "../src/studio/graph-layout.js";
import type { GraphSnapshot } from "../src/studio/graph-layout.js";

/**
 * 4 inputs (0..3), hidden 4, 5 (level 1) and 6 (level 2), outputs 7 (level 3) and 8 (level 2), d = 2:
 *   4 ← 0, 1    5 ← 2, 3    6 ← 4, 1    7 ← 6, 5    8 ← 0, 4
 */
function small(sources = [0, 1, 2, 3, 4, 1, 6, 5, 0, 4]): GraphSnapshot {
  return {
    neurons: 9,
    inputs: 4,
    outputs: 2,
    inDegree: 2,
    sources: Int32Array.from(sources),
    weights: Float32Array.from(sources.map((_, e) => (e % 2 === 0 ? 0.5 : -0.25))),
    biases: Float32Array.from([0, 0, 0, 0, 0.1, 0.2, 0.3, 0.4, 0.5]),
    levels: Int32Array.from([0, 0, 0, 0, 1, 1, 2, 3, 2]),
  };
}

const empty: GraphSnapshot = {
  neurons: 0, inputs: 0, outputs: 0, inDegree: 0,
  sources: new Int32Array(0), weights: new Float32Array(0), biases: new Float32Array(0), levels: new Int32Array(0),
};

const close = (actual: ArrayLike<number>, expected: number[]): void => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-4, `index ${i}: ${actual[i]} ≠ ${expected[i]}`);
};

test("layout: inputs, one column per hidden level, outputs last whatever their level", () => {
  const g = small();
  const l = layoutByLevels(g, 400, 200, 20);
  assert.equal(l.columns, 4);
  assert.deepEqual([...l.column], [0, 0, 0, 0, 1, 1, 2, 3, 3]); // output 8 is level 2 but goes to the output column
  // Column c centred in the c-th of 4 equal slots of the inner width 360: x = 20 + (c + 0.5) · 90.
  close(l.x, [65, 65, 65, 65, 155, 155, 245, 335, 335]);
  // Slot centres of the inner height 160: 4 inputs every 40, 2 hidden / 2 outputs every 80, a lone neuron mid-height.
  close(l.y, [40, 80, 120, 160, 60, 140, 100, 60, 140]);
  assert.deepEqual(columnLabels(g), ["inputs", "level 1", "level 2", "outputs"]);
});

test("layout: every coordinate stays inside the box, even one smaller than its margins", () => {
  for (const [w, h, m] of [[400, 200, 20], [10, 6, 16], [1, 1, 0], [0, 0, 16]] as const) {
    const l = layoutByLevels(small(), w, h, m);
    for (let i = 0; i < 9; i++) {
      assert.ok(l.x[i]! >= 0 && l.x[i]! <= w, `x of ${i} in ${w}×${h}`);
      assert.ok(l.y[i]! >= 0 && l.y[i]! <= h, `y of ${i} in ${w}×${h}`);
    }
  }
  const e = layoutByLevels(empty, 100, 100);
  assert.equal(e.x.length, 0);
  assert.equal(e.columns, 2);
});

test("layout: a level with no hidden neuron takes no column", () => {
  // Inputs 0, 1; hidden 2, 3; outputs 4, 5; d = 1. Rewiring may feed an output into a hidden neuron:
  //   2 ← 0 (level 1)   4 ← 2 (level 2, output)   3 ← 4 (level 3)   5 ← 3 (level 4)
  // so no hidden neuron is at level 2 and the hidden columns are levels 1 and 3.
  const g: GraphSnapshot = {
    neurons: 6, inputs: 2, outputs: 2, inDegree: 1,
    sources: Int32Array.from([0, 4, 2, 3]),
    weights: new Float32Array(4), biases: new Float32Array(6),
    levels: Int32Array.from([0, 0, 1, 3, 2, 4]),
  };
  const l = layoutByLevels(g, 100, 100, 0);
  assert.equal(l.columns, 4);
  assert.deepEqual([...l.column], [0, 0, 1, 2, 3, 3]);
  assert.deepEqual(columnLabels(g), ["inputs", "level 1", "level 3", "outputs"]);
  assert.deepEqual(graphStats(g).levelSizes, [2, 1, 1, 1, 1]);
});

test("graphStats: depth, level sizes and input share by hand", () => {
  const s = graphStats(small());
  assert.deepEqual(s, {
    neurons: 9,
    edges: 10,
    depth: 4,
    levelSizes: [4, 2, 2, 1],
    inDegree: 2,
    inputShare: 0.6, // sources 0, 1, 2, 3, 1, 0 are inputs: 6 of 10
    outputs: 2,
    inputs: 4,
  });
  const e = graphStats(empty);
  assert.equal(e.depth, 0);
  assert.deepEqual(e.levelSizes, []);
  assert.equal(e.inputShare, 0);
});

test("edgeDiff: permuted slots are no change; a replaced edge is one deletion and one insertion", () => {
  const before = small();
  assert.deepEqual(edgeDiff(before, small()), { deleted: [], inserted: [] });
  // 5 and 6 swap places (7: permuted only), 6 loses 4 and gains 5 in the other slot, 8 swaps 0 and 4.
  const after = small([0, 1, 2, 3, 1, 5, 5, 6, 4, 0]);
  assert.deepEqual(edgeDiff(before, after), { deleted: [[4, 6]], inserted: [[5, 6]] });
  // The reverse round undoes it.
  assert.deepEqual(edgeDiff(after, before), { deleted: [[5, 6]], inserted: [[4, 6]] });
  // Two replacements in two rows come ordered by target.
  const twice = small([0, 2, 2, 3, 4, 1, 6, 4, 0, 4]);
  assert.deepEqual(edgeDiff(before, twice), { deleted: [[1, 4], [5, 7]], inserted: [[2, 4], [4, 7]] });
});

test("edgeDiff: multisets, not sets (a duplicated source counts twice)", () => {
  const before = small([0, 0, 2, 3, 4, 1, 6, 5, 0, 4]);
  assert.deepEqual(edgeDiff(before, small()), { deleted: [[0, 4]], inserted: [[1, 4]] });
});

test("neighbours: sources in slot order, consumers ascending", () => {
  const g = small();
  assert.deepEqual(neighbours(g, 4), { into: [0, 1], out: [6, 8] });
  assert.deepEqual(neighbours(g, 0), { into: [], out: [4, 8] });
  assert.deepEqual(neighbours(g, 1), { into: [], out: [4, 6] });
  assert.deepEqual(neighbours(g, 7), { into: [6, 5], out: [] });
  assert.deepEqual(neighbours(g, 9), { into: [], out: [] });
  assert.deepEqual(neighbours(g, -1), { into: [], out: [] });
});

test("outEdgeIndex agrees with neighbours for every neuron", () => {
  const g = small();
  const { start, edge } = outEdgeIndex(g);
  assert.deepEqual([...start], [0, 2, 4, 5, 6, 8, 9, 10, 10, 10]);
  for (let i = 0; i < 9; i++) {
    const out = [...edge.subarray(start[i]!, start[i + 1]!)].map((e) => g.inputs + Math.floor(e / g.inDegree));
    assert.deepEqual(out, neighbours(g, i).out, `neuron ${i}`);
  }
});
