#!/usr/bin/python3
"""PyTorch CPU baseline for `npm run bench`: one full training step of a sparsewire network
(forward, softmax cross-entropy in bits, autograd backward, Adam) in the "gather per level"
formulation. It is a yardstick the benchmark compares against, not part of the package.

Legend: k neurons, n inputs, m outputs, d in-degree, B batch, L neurons in one DAG level.

Formulation: neurons are renumbered by level (level 0 = the inputs, level(i) = 1 + max level of
its sources). Activations are neuron-major, X = [neurons so far, B]. For each level: gather the
sources' activations of its L neurons, [L, d, B]; multiply by the weights [L, d, 1]; sum over d;
add the biases; ReLU; append the level to X. Logits are the pre-activations of the output neurons
(an output that feeds later neurons passes on its ReLU, as in the reference engine). Neuron-major
(rows of B contiguous floats) was faster than batch-major [B, L, d] on this machine: the gather
copies whole rows and its backward (index_add) adds whole rows.

Graph: either `--graph FILE.json` written by bench/bench.ts (the very network and batches the
engines train), or a random one built here as in thesis §4.6 (`--neurons K --in-degree D`: neuron i
connects to d distinct earlier neurons drawn uniformly, weights N(0, 2/d), biases 0) with
random one-hot context windows.

Timing: `--threads 1,2` are measured interleaved (torch.set_num_threads between repeats); each
gets its warm-up, then `--repeats` timed runs of `--steps` steps; the median ms per step is
reported. Prints one JSON object per thread count in the benchmark schema (engine "pytorch").

Run with Debian's python3-torch: /usr/bin/python3 bench/torch_step.py --neurons 1700 --in-degree 29
"""
import argparse
import json
import math
import os
import random
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--graph", help="JSON header written by bench/bench.ts (binary arrays beside it)")
    p.add_argument("--neurons", type=int, default=1700)
    p.add_argument("--inputs", type=int, default=540)
    p.add_argument("--outputs", type=int, default=27)
    p.add_argument("--in-degree", type=int, default=29)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--context", type=int, default=20, help="one-hot groups per sample (random graphs)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", default=None, help="comma-separated thread counts (default: 1 and all cores)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up steps per thread count")
    p.add_argument("--steps", type=int, default=0, help="steps per timed repeat (0: aim for --target-seconds)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--target-seconds", type=float, default=0.5, help="length of one timed repeat when --steps is 0")
    return p.parse_args()


def load_graph(path):
    """The network and batches bench.ts wrote: a JSON header plus little-endian arrays in one file."""
    with open(path) as f:
        h = json.load(f)
    with open(os.path.join(os.path.dirname(path), h["binary"]), "rb") as f:
        raw = bytearray(f.read())
    k, n, m, d, B = h["neurons"], h["inputs"], h["outputs"], h["inDegree"], h["batch"]
    E, C, nb = (k - n) * d, h["perSample"], h["batches"]
    sizes = [("sources", torch.int32, E), ("weights", torch.float32, E), ("biases", torch.float32, k),
             ("active", torch.int32, nb * B * C), ("classes", torch.int32, nb * B)]
    arrays, offset = {}, 0
    for name, dtype, count in sizes:
        arrays[name] = torch.frombuffer(raw, dtype=dtype, count=count, offset=offset).clone()
        offset += 4 * count
    if offset != len(raw):
        sys.exit(f"torch_step.py: {path}: binary holds {len(raw)} bytes, header describes {offset}")
    active = arrays["active"].view(nb, B, C).long()
    classes = arrays["classes"].view(nb, B).long()
    return h, arrays["sources"].view(k - n, d).long(), arrays["weights"].view(k - n, d), arrays["biases"], active, classes


def random_graph(a):
    """Thesis §4.6 initialisation and random one-hot windows (27 symbols per context slot)."""
    k, n, m, d, B, C = a.neurons, a.inputs, a.outputs, a.in_degree, a.batch, a.context
    if n % C != 0:
        sys.exit(f"torch_step.py: {n} inputs are not {C} one-hot groups")
    rng = random.Random(a.seed)
    sources = torch.tensor([sorted(rng.sample(range(i), d)) for i in range(n, k)], dtype=torch.long)
    gen = torch.Generator().manual_seed(a.seed)
    weights = torch.randn(k - n, d, generator=gen) * math.sqrt(2 / d)
    symbols = n // C
    nb = 4
    active = torch.randint(0, symbols, (nb, B, C), generator=gen) + torch.arange(C) * symbols
    classes = torch.randint(0, m, (nb, B), generator=gen)
    h = {"neurons": k, "inputs": n, "outputs": m, "inDegree": d, "batch": B}
    return h, sources, weights, torch.zeros(k), active, classes


def levels_of(k, n, sources):
    """Level of every neuron by relaxation (vectorised; works for any acyclic graph)."""
    level = torch.zeros(k, dtype=torch.long)
    for _ in range(k - n + 1):
        new = torch.cat([torch.zeros(n, dtype=torch.long), level[sources].max(dim=1).values + 1])
        if torch.equal(new, level):
            return level
        level = new
    sys.exit("torch_step.py: the graph has a cycle")


class GatherPerLevel:
    """The network as per-level gathers; parameters are two leaf tensors (rows in level order)."""

    def __init__(self, k, n, m, sources, weights, biases):
        level = levels_of(k, n, sources)
        hidden = torch.arange(n, k)
        # Stable order by level: level-l neurons become one contiguous block of rows and positions.
        order = hidden[torch.argsort(level[n:], stable=True)]
        pos = torch.empty(k, dtype=torch.long)
        pos[:n] = torch.arange(n)
        pos[order] = torch.arange(n, k)
        rows = order - n
        self.n, self.k, self.m = n, k, m
        self.weight = weights[rows].clone().requires_grad_(True)  # [k-n, d]
        self.bias = biases[order].clone().requires_grad_(True)  # [k-n]
        src = pos[sources[rows]]  # [k-n, d] positions
        counts = torch.bincount(level[order], minlength=int(level.max()) + 1)[1:].tolist()
        self.levels = []  # (first row, rows, flat source positions, output slots of the level)
        out_first = k - m
        first = 0
        for count in counts:
            neurons = order[first:first + count]
            is_out = neurons >= out_first
            self.levels.append((first, count, src[first:first + count].reshape(-1).contiguous(),
                                torch.nonzero(is_out).flatten(), neurons[is_out] - out_first))
            first += count
        self.depth = len(counts) + 1

    def loss_bits(self, x, classes):
        """x: one-hot inputs [n, B]. Mean softmax cross-entropy in bits."""
        B = x.shape[1]
        acts = x
        pieces, slots = [], []
        for first, count, src, out_rows, out_classes in self.levels:
            gathered = acts.index_select(0, src).view(count, -1, B)  # [L, d, B]
            w = self.weight[first:first + count].unsqueeze(2)  # [L, d, 1]
            pre = (gathered * w).sum(dim=1) + self.bias[first:first + count].unsqueeze(1)  # [L, B]
            if out_rows.numel():
                pieces.append(pre.index_select(0, out_rows))
                slots.append(out_classes)
            acts = torch.cat([acts, torch.relu(pre)], dim=0)
        logits = torch.cat(pieces)[torch.argsort(torch.cat(slots))]  # [m, B] in class order
        return F.cross_entropy(logits.t(), classes) / math.log(2)


def main():
    a = parse_args()
    h, sources, weights, biases, active, classes = load_graph(a.graph) if a.graph else random_graph(a)
    k, n, m, d, B = h["neurons"], h["inputs"], h["outputs"], h["inDegree"], h["batch"]
    all_threads = os.cpu_count() or 1
    threads = [int(t) for t in a.threads.split(",")] if a.threads else sorted({1, all_threads})
    torch.manual_seed(a.seed)
    net = GatherPerLevel(k, n, m, sources, weights, biases)
    opt = torch.optim.Adam([net.weight, net.bias], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    # Dense one-hot inputs, built before timing: [n, B] per batch.
    xs = []
    for i in range(active.shape[0]):
        x = torch.zeros(n, B)
        x[active[i].t().reshape(-1), torch.arange(B).repeat(active.shape[2])] = 1.0
        xs.append(x)
    ys = list(classes)
    state = {"i": 0, "losses": []}

    def step():
        i = state["i"] % len(xs)
        state["i"] += 1
        opt.zero_grad(set_to_none=True)
        loss = net.loss_bits(xs[i], ys[i])
        loss.backward()
        opt.step()
        state["losses"].append(loss.item())

    def run(count):
        if count == 0:
            return 0.0
        t0 = time.perf_counter()
        for _ in range(count):
            step()
        return (time.perf_counter() - t0) / count

    warm = {}
    for t in threads:
        torch.set_num_threads(t)
        run(max(0, a.warmup - 1))
        warm[t] = run(1)
    steps = a.steps or max(1, min(200, round(a.target_seconds / min(warm.values()))))
    times = {t: [] for t in threads}
    for _ in range(a.repeats):
        for t in threads:
            torch.set_num_threads(t)
            times[t].append(run(steps))
    E = (k - n) * d
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for t in threads:
        ms = statistics.median(times[t]) * 1e3
        print(json.dumps({
            "engine": "pytorch", "threads": t, "neurons": k, "inDegree": d, "batch": B,
            "msPerStep": ms, "edgeSamplesPerSec": E * B / (ms / 1e3),
            "msPerStepMin": min(times[t]) * 1e3, "steps": steps, "repeats": a.repeats, "edges": E,
            "depth": net.depth, "lossFirst": state["losses"][0], "lossLast": state["losses"][-1],
            "peakRssBytes": peak, "formulation": "gather per level, neuron-major", "torch": torch.__version__,
        }), flush=True)


if __name__ == "__main__":
    main()
