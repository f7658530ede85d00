#!/usr/bin/env python3
"""
SET's Fashion-MNIST tutorial protocol (issue 15), re-implemented in numpy/scipy to find out why our
set-table lands below SET's published 82.56 %: our engine gives every neuron the same in-degree, SET's
Erdős–Rényi layers do not, and its 10 outputs read ~731 of the 1,000 last hidden units each.

Written from reading SET's public code (dcmocanu/sparse-evolutionary-artificial-neural-networks,
Tutorial-IJCAI-2019-Scalable-Deep-Learning/set_mlp.py); not a copy. What it does as SET's code does:
2,000 / 1,000 images drawn with numpy seed 0, pixels/255; 784-1000-1000-1000-10; ReLU, sigmoid outputs,
squared error with SET's delta (σ − y)·σ'(σ); SGD 0.05, momentum 0.9, decoupled weight decay 2e-4 on
weights and biases; dropout 0.2 on hidden outputs in training (the backward pass ignores the mask), test
pre-activations of layers after the first scaled by 0.8; batch 40, 400 epochs; after every epoch but
the last, every layer drops ζ = 0.3 of its negative and of its positive weights nearest zero and regrows
as many at random, N(0, 0.1²), with no momentum. Reported: the last epoch's test accuracy.

--graph er: SET's Erdős–Rényi layers (ε = 13: ε·(rows + cols) draws with replacement).
--graph fixed: every neuron reads exactly --in-degree neurons of the layer before (sparsewire's
  representation), and regrowth stays in the freed slot's neuron, so in-degrees stay fixed.
--graph fixed-er-out: fixed in-degree in the hidden layers, SET's Erdős–Rényi output layer.

Usage: python3 scripts/set-replica.py --graph er --seed 0 [--epochs 400] [--data DIR]
Prints one JSON line: graph, seed, weights per layer, test accuracy of the last epoch, seconds.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
from scipy.sparse import csr_matrix


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, n_train, n_test):
    xtr = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).reshape(60000, -1)
    ytr = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
    xte = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).reshape(10000, -1)
    yte = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"))
    # SET's loader: numpy seed 0, shuffle the training indices, then the test indices.
    np.random.seed(0)
    itr = np.arange(60000)
    np.random.shuffle(itr)
    ite = np.arange(10000)
    np.random.shuffle(ite)
    onehot = lambda y: np.eye(10)[y]
    return (xtr[itr[:n_train]].astype(np.float64) / 255.0, onehot(ytr[itr[:n_train]]),
            xte[ite[:n_test]].astype(np.float64) / 255.0, onehot(yte[ite[:n_test]]))


class Layer:
    """A sparse layer as parallel arrays (rows = sources, cols = targets) kept in CSR order."""

    def __init__(self, n_in, n_out, rows, cols, vals):
        self.n_in, self.n_out = n_in, n_out
        self.set(rows, cols, vals, np.zeros(len(vals)))
        self.b = np.zeros(n_out)
        self.pb = np.zeros(n_out)

    def set(self, rows, cols, vals, pd):
        order = np.lexsort((cols, rows))
        self.rows, self.cols = rows[order].astype(np.int64), cols[order].astype(np.int64)
        self.vals, self.pd = vals[order].astype(np.float64), pd[order].astype(np.float64)
        self.W = csr_matrix((self.vals.copy(), (self.rows, self.cols)), shape=(self.n_in, self.n_out))
        self.W.sort_indices()
        assert self.W.nnz == len(self.vals), "duplicate edges"

    def sync(self):
        self.W.data[:] = self.vals


def er_layer(n_in, n_out, eps):
    w = {}
    for _ in range(eps * (n_in + n_out)):
        w[(np.random.randint(0, n_in), np.random.randint(0, n_out))] = np.random.randn() / 10
    keys = np.array(list(w.keys()))
    return Layer(n_in, n_out, keys[:, 0], keys[:, 1], np.array(list(w.values())))


def fixed_layer(n_in, n_out, d):
    rows = np.concatenate([np.random.choice(n_in, d, replace=False) for _ in range(n_out)])
    cols = np.repeat(np.arange(n_out), d)
    return Layer(n_in, n_out, rows, cols, np.random.randn(len(rows)) / 10)


def evolve(layer, zeta, fixed):
    v = np.sort(layer.vals)
    first_zero = np.searchsorted(v, 0, side="left")  # negatives are v[:first_zero]
    last_zero = np.searchsorted(v, 0, side="right")  # positives start here
    largest_negative = v[int((1 - zeta) * first_zero)]
    smallest_positive = v[int(min(len(v) - 1, last_zero + zeta * (len(v) - last_zero)))]
    keep = (layer.vals > smallest_positive) | (layer.vals < largest_negative)
    removed_cols = layer.cols[~keep]
    rows, cols, vals, pd = layer.rows[keep], layer.cols[keep], layer.vals[keep], layer.pd[keep]
    taken = set(zip(rows.tolist(), cols.tolist()))
    need = len(layer.vals) - len(vals)
    new_r, new_c = [], []
    if fixed:
        # Each freed slot regrows in its own neuron, from a source it does not read yet.
        for c in removed_cols.tolist():
            while True:
                r = np.random.randint(0, layer.n_in)
                if (r, c) not in taken:
                    taken.add((r, c))
                    new_r.append(r)
                    new_c.append(c)
                    break
    else:
        while len(new_r) < need:
            r, c = np.random.randint(0, layer.n_in), np.random.randint(0, layer.n_out)
            if (r, c) not in taken:
                taken.add((r, c))
                new_r.append(r)
                new_c.append(c)
    layer.set(np.concatenate([rows, new_r]), np.concatenate([cols, new_c]),
              np.concatenate([vals, np.random.randn(need) / 10]), np.concatenate([pd, np.zeros(need)]))


def forward(layers, x, drop, droprate):
    a, z = [x], []
    for i, L in enumerate(layers):
        zi = np.asarray(a[-1] @ L.W) + L.b
        if not drop and i > 0:
            zi = zi * (1 - droprate)
        z.append(zi)
        last = i == len(layers) - 1
        ai = 1 / (1 + np.exp(-zi)) if last else np.maximum(zi, 0)
        if drop and not last:
            ai = ai * (np.random.rand(*ai.shape) >= droprate)
        a.append(ai)
    return z, a


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--graph", choices=["er", "fixed", "fixed-er-out"], default="er")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--in-degree", type=int, default=27)
    p.add_argument("--static", action="store_true", help="no evolution (SET's fixprob baseline)")
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../shared/data/fashion-mnist"))
    o = p.parse_args()
    started = time.time()
    xtr, ytr, xte, yte = load(o.data, 2000, 1000)
    np.random.seed(o.seed)
    dims = [784, 1000, 1000, 1000, 10]
    layers = []
    for i in range(4):
        er = o.graph == "er" or (o.graph == "fixed-er-out" and i == 3)
        layers.append(er_layer(dims[i], dims[i + 1], 13) if er else fixed_layer(dims[i], dims[i + 1], o.in_degree))
    lr, mom, wd, droprate, zeta, batch = 0.05, 0.9, 0.0002, 0.2, 0.3, 40
    for epoch in range(o.epochs):
        idx = np.arange(len(xtr))
        np.random.shuffle(idx)
        xs, ys = xtr[idx], ytr[idx]
        for j in range(len(xtr) // batch):
            x, y = xs[j * batch:(j + 1) * batch], ys[j * batch:(j + 1) * batch]
            z, a = forward(layers, x, True, droprate)
            s = a[-1]
            sp = 1 / (1 + np.exp(-s))
            delta = (s - y) * sp * (1 - sp)  # SET's delta: the sigmoid's derivative taken at σ
            grads = [None] * 4
            for i in reversed(range(4)):
                L = layers[i]
                grads[i] = ((a[i][:, L.rows] * delta[:, L.cols]).sum(0) / batch, delta.mean(0))
                if i > 0:
                    delta = np.asarray(L.W @ delta.T).T * (z[i - 1] > 0)
            for L, (dw, db) in zip(layers, grads):
                L.pd = mom * L.pd - lr * dw
                L.pb = mom * L.pb - lr * db
                L.vals += L.pd - wd * L.vals
                L.b += L.pb - wd * L.b
                L.sync()
        if epoch < o.epochs - 1 and not o.static:
            for i, L in enumerate(layers):
                evolve(L, zeta, fixed=o.graph == "fixed" or (o.graph == "fixed-er-out" and i < 3))
    _, a = forward(layers, xte, False, droprate)
    acc = float((a[-1].argmax(1) == yte.argmax(1)).mean())
    print(json.dumps({"graph": o.graph, "static": o.static, "seed": o.seed, "epochs": o.epochs, "inDegree": o.in_degree,
                      "weights": [len(L.vals) for L in layers], "testAccuracy": acc, "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
