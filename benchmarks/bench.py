"""Side-by-side benchmarks: microgrid against micrograd 0.1.0 and, when installed, PyTorch.

    pip install -e '.[bench]'            # micrograd 0.1.0 and numpy; PyTorch is optional
    python benchmarks/bench.py --quick   # the headline table in a few minutes
    python benchmarks/bench.py           # the full run (about an hour; most of it micrograd)
    python benchmarks/bench.py --only ab --runs 7

Results, with the machine's details, are written to ``benchmarks/results.md``
(``--results PATH`` elsewhere, ``--results -`` nowhere).

**Workloads** (the same workload code runs on every scalar engine; only how a scalar is
made, and exp/log for micrograd, differ):

(a) the classic demo step: MLP 2-16-16-1 (ReLU hidden, linear output) over 100 two-moons
    points, mean squared error, zero grads, backward, SGD update — seconds per step;
(b) a digits-sized epoch: MLP 64-32-10, softmax cross-entropy, batches of 32 over 1,000
    generated 64-pixel samples (64 with ``--quick``) — seconds per epoch;
(c) a chain of a million nodes (alternating ``v + a`` and ``v * b``; 100,000 with
    ``--quick``): forward and backward time, and peak traced memory per node;
(n) per-node cost of forward + backward on chains of 10³ … 10⁶ nodes;
(t) compile time and peak memory of each compiled step.

**How it is measured: as a user runs it.** Every headline figure comes from a process
where Python's garbage collector runs as usual (enabled, default thresholds, nothing
frozen), timed in process CPU time, in paired rounds: each round times every contender
once, in rotating order, so a busy machine slows all of them alike; medians, min–max and
the per-round ratios (micrograd time / engine time) are reported. Each workload runs in
two fresh processes: a clean one, and one that has imported PyTorch first (its ~140,000
objects make every full collection slower for every pure-Python engine). Rows with the
collector paused (``microgrid.gc_paused``) or with the set-up frozen (``gc.freeze()``) are
reported below the headline, labelled. Compiled contenders are whole training steps
(``compile_step(..., optimizer=SGD(...))``), timed after a first, untimed epoch (which
traces; (t) reports that cost); the numpy backend gets its data as numpy arrays, as
PyTorch gets tensors. PyTorch runs on one thread (its fastest setting for
these sizes here), as 0-dim tensors per scalar and as the vectorized MLP, in float64.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import micrograd
import micrograd.engine as mg
import numpy as np

import microgrid
from microgrid import nn as mnn
from microgrid.compile import compile_step, gc_paused
from microgrid.optim import SGD

torch: Any = None  # imported by the "torch" child process only

# ----------------------------------------------------------------------------------
# Engines: how each one makes a scalar, and the few operations micrograd lacks.
# ----------------------------------------------------------------------------------


def _mg_exp(v: mg.Value) -> mg.Value:
    """eˣ for micrograd 0.1.0 (which has no exp), in micrograd's own closure style."""
    out = mg.Value(math.exp(v.data), (v,), "exp")

    def _backward() -> None:
        v.grad += out.data * out.grad
    out._backward = _backward
    return out


def _mg_log(v: mg.Value) -> mg.Value:
    """ln x for micrograd 0.1.0, in micrograd's own closure style."""
    out = mg.Value(math.log(v.data), (v,), "log")

    def _backward() -> None:
        v.grad += out.grad / v.data
    out._backward = _backward
    return out


@dataclass
class Scalars:
    """A scalar engine: make parameters and inputs, exp/log, and the training chores."""

    name: str
    param: Callable[[float], Any]
    inp: Callable[[float], Any]
    exp: Callable[[Any], Any]
    log: Callable[[Any], Any]

    def zero_grad(self, params: Sequence[Any]) -> None:
        for p in params:
            p.grad = 0.0

    def sgd(self, params: Sequence[Any], lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad

    def value(self, loss: Any) -> float:
        return float(loss.data)


MICROGRAD = Scalars("micrograd 0.1.0", mg.Value, mg.Value, _mg_exp, _mg_log)
MICROGRID = Scalars("microgrid eager", microgrid.Value, microgrid.Value,
                    microgrid.Value.exp, microgrid.Value.log)


class TorchScalars(Scalars):
    """PyTorch with one 0-dim float64 tensor per scalar."""

    def __init__(self) -> None:
        assert torch is not None
        t = torch

        super().__init__(
            "PyTorch 0-dim tensors",
            lambda x: t.tensor(x, dtype=t.float64, requires_grad=True),
            lambda x: t.tensor(x, dtype=t.float64), t.Tensor.exp, t.Tensor.log)

    def zero_grad(self, params: Sequence[Any]) -> None:
        for p in params:
            p.grad = None

    def sgd(self, params: Sequence[Any], lr: float) -> None:
        assert torch is not None
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad

    def value(self, loss: Any) -> float:
        return float(loss.item())


# ----------------------------------------------------------------------------------
# The workload code, shared by every scalar engine.
# ----------------------------------------------------------------------------------

Weights = list[list[tuple[list[float], float]]]  # per layer, per neuron: (w, b)


def init_weights(sizes: Sequence[int], seed: int) -> Weights:
    r = random.Random(seed)
    return [[([r.uniform(-1, 1) / math.sqrt(nin) for _ in range(nin)], 0.0)
             for _ in range(nout)] for nin, nout in itertools.pairwise(sizes)]


def build_mlp(engine: Scalars, weights: Weights) -> list[list[tuple[list[Any], Any]]]:
    """The benchmark's own minimal MLP: per layer, per neuron, (weights, bias)."""
    return [[([engine.param(w) for w in ws], engine.param(b)) for ws, b in layer]
            for layer in weights]


def mlp_params(layers: list[list[tuple[list[Any], Any]]]) -> list[Any]:
    return [p for layer in layers for ws, b in layer for p in (*ws, b)]


def mlp_forward(layers: list[list[tuple[list[Any], Any]]], x: Sequence[Any]) -> list[Any]:
    """ReLU hidden layers, linear output: act = b + Σ wᵢ·xᵢ (micrograd's Neuron, as is)."""
    for k, layer in enumerate(layers):
        last = k == len(layers) - 1
        out = []
        for ws, b in layer:
            act = sum((wi * xi for wi, xi in zip(ws, x)), b)
            out.append(act if last else act.relu())
        x = out
    return list(x)


def _only(out: Any) -> Any:
    """The one output: microgrid models with one output return it bare, the others a list."""
    return out[0] if isinstance(out, (list, tuple)) else out


def squared_error(forward: Callable[[Sequence[Any]], list[Any]], xs: Sequence[Any],
                  ys: Sequence[Any]) -> Any:
    """(a): (1/m) Σ (f(x) − y)²."""
    total = sum(((_only(forward(x)) - y) ** 2 for x, y in zip(xs[1:], ys[1:])),
                (_only(forward(xs[0])) - ys[0]) ** 2)
    return total * (1.0 / len(xs))


def cross_entropy(forward: Callable[[Sequence[Any]], list[Any]], xs: Sequence[Any],
                  ts: Sequence[Any], exp: Callable[[Any], Any],
                  log: Callable[[Any], Any]) -> Any:
    """(b): (1/m) Σ [log Σₖ exp zₖ − Σₖ tₖ·zₖ], t one-hot (logits here stay small)."""
    total = None
    for x, t in zip(xs, ts):
        z = forward(x)
        lse = log(sum((exp(zk) for zk in z[1:]), exp(z[0])))
        term = lse - sum((tk * zk for tk, zk in zip(t[1:], z[1:])), t[0] * z[0])
        total = term if total is None else total + term
    return total * (1.0 / len(xs))


# ----------------------------------------------------------------------------------
# Data.
# ----------------------------------------------------------------------------------

def two_moons(n: int, seed: int = 0, noise: float = 0.1) -> tuple[list[list[float]],
                                                                  list[float]]:
    r = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        t = math.pi * r.random()
        if i % 2 == 0:
            x = [math.cos(t), math.sin(t)]
            y = 1.0
        else:
            x = [1.0 - math.cos(t), 0.5 - math.sin(t)]
            y = -1.0
        xs.append([v + r.gauss(0.0, noise) for v in x])
        ys.append(y)
    return xs, ys


def digits(n: int, seed: int = 0) -> tuple[list[list[float]], list[list[float]]]:
    """n 64-pixel 'images' of 10 classes: a random prototype per class plus noise."""
    r = random.Random(seed)
    protos = [[r.random() for _ in range(64)] for _ in range(10)]
    xs, ts = [], []
    for i in range(n):
        c = i % 10
        xs.append([min(1.0, max(0.0, p + r.gauss(0.0, 0.2))) for p in protos[c]])
        ts.append([1.0 if k == c else 0.0 for k in range(10)])
    return xs, ts


# ----------------------------------------------------------------------------------
# Contenders: something that runs one unit of work (a step, an epoch) when called.
# ----------------------------------------------------------------------------------

Runner = Callable[[], float]

MICROGRAD_NAME = MICROGRAD.name
EAGER = "microgrid eager"
FUSED = "microgrid fused (wsum)"
PY, PY_FUSED = "compiled python", "compiled python, fused"
NP, NP_FUSED = "compiled numpy", "compiled numpy, fused"
TORCH0, TORCHV = "PyTorch 0-dim tensors", "PyTorch vectorized"
PAUSED = "microgrid eager, gc_paused()"
FROZEN = "microgrid eager, gc.freeze()"
HEADLINE = [MICROGRAD_NAME, EAGER, FUSED, PY, PY_FUSED, NP, NP_FUSED, TORCH0, TORCHV]


def scalar_step(engine: Scalars, forward: Callable[[Sequence[Any]], list[Any]],
                params: list[Any], loss_of: Callable[..., Any], X: Sequence[Sequence[float]],
                Y: Sequence[Any], lr: float) -> float:
    """One eager training step: wrap the batch, loss, zero grads, backward, SGD."""
    xs = [[engine.inp(v) for v in x] for x in X]
    ys = [[engine.inp(v) for v in y] if isinstance(y, list) else engine.inp(y) for y in Y]
    loss = loss_of(forward, xs, ys)
    engine.zero_grad(params)
    loss.backward()
    engine.sgd(params, lr)
    return engine.value(loss)


def batches(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def fused_model(weights: Weights) -> mnn.MLP:
    """The README's recommended form: microgrid's MLP with fused neurons."""
    return mnn.MLP.from_weights([[w for w, _ in layer] for layer in weights],
                                [[b for _, b in layer] for layer in weights],
                                activation="relu", output_activation="linear", fused=True)


def contenders(workload: str, weights: Weights, X: Any, Y: Any, lr: float, batch: int,
               with_torch: bool, quick: bool) -> dict[str, Runner]:
    """Every contender of workload (a) (one step per call) or (b) (one epoch per call)."""
    spans = batches(len(X), batch)

    def unit(one: Callable[[Any, Any], float], x: Any = X, y: Any = Y) -> Runner:
        return lambda: statistics.fmean(one(x[a:b], y[a:b]) for a, b in spans)

    # the numpy backend's user has the data as arrays (PyTorch's rows get tensors)
    Xn, Yn = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)

    def loss_for(engine: Scalars) -> Callable[..., Any]:
        if workload == "a":
            return squared_error
        return lambda f, xs, ts: cross_entropy(f, xs, ts, engine.exp, engine.log)

    run: dict[str, Runner] = {}
    for name, engine in ((MICROGRAD_NAME, MICROGRAD), (EAGER, MICROGRID)):
        layers = build_mlp(engine, weights)
        run[name] = unit(lambda xb, yb, e=engine, L=layers: scalar_step(
            e, lambda x: mlp_forward(L, x), mlp_params(L), loss_for(e), xb, yb, lr))
    model = fused_model(weights)
    mparams = model.parameters()
    run[FUSED] = unit(lambda xb, yb: scalar_step(MICROGRID, model, mparams,
                                                  loss_for(MICROGRID), xb, yb, lr))
    for backend, plain, fused in (("python", PY, PY_FUSED), ("numpy", NP, NP_FUSED)):
        # a whole training step each call: zero grads, replayed forward and backward, SGD
        layers = build_mlp(MICROGRID, weights)
        params = mlp_params(layers)
        step = compile_step(lambda xs, ys, L=layers: loss_for(MICROGRID)(
            lambda x: mlp_forward(L, x), xs, ys), params, backend=backend,
            optimizer=SGD(params, lr))
        data = (Xn, Yn) if backend == "numpy" else (X, Y)
        run[plain] = warm(unit(step, *data))
        fmodel = fused_model(weights)
        fparams = fmodel.parameters()
        fstep = compile_step(lambda xs, ys, m=fmodel: loss_for(MICROGRID)(m, xs, ys),
                             fparams, backend=backend, optimizer=SGD(fparams, lr))
        run[fused] = warm(unit(fstep, *data))
    if with_torch:
        if not quick:
            engine = TorchScalars()
            layers_t = build_mlp(engine, weights)
            run[TORCH0] = unit(lambda xb, yb: scalar_step(
                engine, lambda x: mlp_forward(layers_t, x), mlp_params(layers_t),
                loss_for(engine), xb, yb, lr))
        run[TORCHV] = torch_vectorized(weights, X, Y, lr, "mse" if workload == "a" else "ce",
                                       batch)
    layers_p = build_mlp(MICROGRID, weights)
    run[PAUSED] = unit(lambda xb, yb: paused(lambda: scalar_step(
        MICROGRID, lambda x: mlp_forward(layers_p, x), mlp_params(layers_p),
        loss_for(MICROGRID), xb, yb, lr)))
    return run


def warm(fn: Runner) -> Runner:
    """``fn`` after one untimed call: a compiled step traces its batch shapes on its first
    epoch, which is what (t) measures, not its speed (and would leave ``_reps`` one
    repetition, timed cold, right after a full collection has flushed the caches)."""
    fn()
    return fn


def paused(fn: Callable[[], float]) -> float:
    with gc_paused():
        return fn()


def torch_vectorized(weights: Weights, X: Any, Y: Any, lr: float, loss: str,
                     batch: int) -> Runner:
    """The same MLP as ``torch.nn`` layers (float64), one epoch of batches per call."""
    assert torch is not None
    t = torch
    layers: list[Any] = []
    for k, layer in enumerate(weights):
        lin = t.nn.Linear(len(layer[0][0]), len(layer), dtype=t.float64)
        with t.no_grad():
            lin.weight.copy_(t.tensor([w for w, _ in layer], dtype=t.float64))
            lin.bias.copy_(t.tensor([b for _, b in layer], dtype=t.float64))
        layers.append(lin)
        if k < len(weights) - 1:
            layers.append(t.nn.ReLU())
    model = t.nn.Sequential(*layers)
    opt = t.optim.SGD(model.parameters(), lr=lr)
    xt = t.tensor(X, dtype=t.float64)
    if loss == "mse":
        yt = t.tensor(Y, dtype=t.float64).reshape(-1, 1)
    else:
        yt = t.tensor([row.index(1.0) for row in Y])
    spans = batches(len(X), batch)

    def run() -> float:
        total = 0.0
        for a, b in spans:
            opt.zero_grad()
            out = model(xt[a:b])
            if loss == "mse":
                lv = ((out - yt[a:b]) ** 2).mean()
            else:
                lv = t.nn.functional.cross_entropy(out, yt[a:b])
            lv.backward()
            opt.step()
            total += float(lv.item())
        return total / len(spans)
    return run


# ----------------------------------------------------------------------------------
# Timing: CPU time, paired rounds, the collector as a user has it.
# ----------------------------------------------------------------------------------

def _timed(fn: Runner, reps: int, rhythm: bool = True) -> float:
    """CPU seconds per call. Each contender pays for collecting its own garbage and for
    nothing else: micrograd's graphs are reference cycles, freed only by the collector, so
    the collection after its last call is charged to it (left untimed, its last graph would
    be freed for free), less what a collection with no garbage costs (the scan of everything
    alive in the process, which is not the contender's). A contender that left no garbage
    (the collection found nothing unreachable) is charged nothing: the difference of two
    full scans would be noise, ±tens of ms with PyTorch's objects alive."""
    gc.collect()  # untimed: the previous contender's garbage is not this one's
    if rhythm:
        into_rhythm(fn, reps)
    t0 = time.process_time()
    for _ in range(reps):
        fn()
    t1 = time.process_time()
    garbage = gc.collect()  # this contender's own garbage
    t2 = time.process_time()
    gc.collect()  # nothing left to free: a collection's cost by itself
    t3 = time.process_time()
    own = max(0.0, (t2 - t1) - (t3 - t2)) if garbage else 0.0
    return (t1 - t0 + own) / reps


def into_rhythm(fn: Callable[[], Any], limit: int) -> None:
    """Untimed calls (at most ``limit``) until the collector has run a full collection on
    its own. ``gc.collect()`` restarts the collector's count of objects made since its last
    full pass, and with PyTorch's objects alive the next one comes only after some 140,000
    more: a timing of a few calls that began there would miss the full collections a
    training loop that has run a while pays for. (micrograd is not warmed: one call of its
    makes several full passes; starting from a restarted count only favours it.)"""
    full = gc.get_stats()[2]["collections"]
    for _ in range(limit):
        if gc.get_stats()[2]["collections"] != full:
            return
        fn()


def _reps(fn: Runner, budget: float) -> int:
    """Repetitions so that one timing lasts about ``budget`` seconds (at least one)."""
    t0 = time.process_time()
    fn()
    once = max(time.process_time() - t0, 1e-6)
    return max(1, min(1000, round(budget / once)))


def paired_rounds(run: dict[str, Runner], rounds: int, budget: float,
                  log: Callable[[str], None]) -> dict[str, list[float]]:
    names = list(run)
    # compiled steps come warm; at least 3 calls per timing, after into_rhythm, so every
    # microgrid timing spans the collector's full passes as a running loop does
    reps = {n: _reps(run[n], budget) if n == MICROGRAD_NAME else max(3, _reps(run[n], budget))
            for n in names}
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            out[name].append(_timed(run[name], reps[name], rhythm=name != MICROGRAD_NAME))
        log(f"    round {r + 1}/{rounds}")
    return out


# ----------------------------------------------------------------------------------
# (c) the chain, (n) per-node cost, (t) compile time and memory.
# ----------------------------------------------------------------------------------

def chain(engine: Scalars, n: int) -> Any:
    a, b, v = engine.param(1e-6), engine.param(1.0), engine.param(0.0)
    for i in range(n):
        v = v + a if i % 2 == 0 else v * b
    return v


def chain_memory(engine: Scalars, n: int, backward: bool) -> float:
    """Peak traced bytes per node while building (and back-propagating) the chain."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    v = chain(engine, n)
    if backward:
        v.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del v
    return (peak - base) / n


def run_chain(n: int, rounds: int, with_torch: bool) -> dict[str, Any]:
    engines: list[Scalars] = [MICROGRID, MICROGRAD]
    if with_torch:
        engines.append(TorchScalars())
    res: dict[str, Any] = {}
    for e in engines:
        if e is not MICROGRAD:
            chain(e, 100).backward()   # lazy imports
    times: dict[str, dict[str, list[float]]] = {e.name: {"forward": [], "backward": []}
                                                for e in engines}
    notes: dict[str, str] = {}
    for r in range(rounds):
        for e in engines[r % len(engines):] + engines[:r % len(engines)]:
            t0 = time.process_time()
            v = chain(e, n)
            t1 = time.process_time()
            times[e.name]["forward"].append(t1 - t0)
            try:
                v.backward()
                times[e.name]["backward"].append(time.process_time() - t1)
            except RecursionError:
                notes[e.name] = "backward: RecursionError (recursive topological sort)"
            del v
    for e in engines:
        mem = None if isinstance(e, TorchScalars) else chain_memory(e, n, e is MICROGRID)
        res[e.name] = {**times[e.name], "bytes_per_node": mem, "note": notes.get(e.name)}
    return res


def per_node(sizes: Sequence[int], rounds: int, paused: bool = False) -> list[float]:
    """Median seconds per node of forward + backward on microgrid chains of each size (each
    timing repeats small chains to at least a million nodes, so the clock's resolution is
    moot); ``paused``: inside ``gc_paused()`` (a labelled extra row, not the headline)."""
    out: list[float] = []
    for n in sizes:
        reps = max(1, 1_000_000 // n)
        chain(MICROGRID, min(n, 1000)).backward()  # warm
        ts = []
        for _ in range(rounds):
            gc.collect()
            with gc_paused() if paused else contextlib.nullcontext():
                t0 = time.process_time()
                for _ in range(reps):
                    v = chain(MICROGRID, n)
                    v.backward()
                    del v
                ts.append((time.process_time() - t0) / (n * reps))
        out.append(statistics.median(ts))
    return out


def _compiled_maker(weights: Weights, loss_of: Callable[..., Any], backend: str,
                    fused: bool) -> Callable[[], tuple[Any, Any]]:
    """A function making a fresh compiled step (and the model it keeps alive)."""
    def make() -> tuple[Any, Any]:
        if fused:
            m = fused_model(weights)
            return compile_step(lambda xs, ys: loss_of(m, xs, ys), m.parameters(),
                                backend=backend), m
        L = build_mlp(MICROGRID, weights)
        return compile_step(lambda xs, ys: loss_of(lambda x: mlp_forward(L, x), xs, ys),
                            mlp_params(L), backend=backend), L
    return make


def compile_costs(weights_a: Weights, Xa: Any, Ya: Any, weights_b: Weights, Xb: Any,
                  Tb: Any, only_a: bool = False) -> dict[str, dict[str, float]]:
    """Compile time (CPU, the first call: eager trace + code generation) and peak traced
    memory of each compiled step: (a) the whole demo batch, (b) one batch of 32."""
    out: dict[str, dict[str, float]] = {}
    cases = (("a", weights_a, Xa, Ya, squared_error),
             ("b", weights_b, Xb[:32], Tb[:32],
              lambda f, xs, ts: cross_entropy(f, xs, ts, microgrid.Value.exp,
                                              microgrid.Value.log)))
    for workload, weights, X, Y, loss_of in cases[:1] if only_a else cases:
        for backend in ("python", "numpy"):
            for fused in (False, True):
                make = _compiled_maker(weights, loss_of, backend, fused)
                step, keep = make()
                t0 = time.process_time()
                step(X, Y)
                seconds = time.process_time() - t0
                del step, keep
                gc.collect()
                step, keep = make()
                tracemalloc.start()
                step(X, Y)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                del step, keep
                gc.collect()
                name = f"({workload}) {backend}{', fused' if fused else ''}"
                out[name] = {"seconds": seconds, "peak_bytes": float(peak)}
    return out


# ----------------------------------------------------------------------------------
# One child process: run the workloads, print JSON.
# ----------------------------------------------------------------------------------

def frozen_view(run: dict[str, Runner]) -> dict[str, Runner]:
    """micrograd and eager microgrid only, with everything alive frozen (``gc.freeze()``):
    the labelled row below the headline."""
    kept = {k: v for k, v in run.items() if k in (MICROGRAD_NAME, EAGER)}
    gc.collect()
    gc.freeze()
    return kept


def child(args: argparse.Namespace) -> int:
    global torch
    with_torch = args.child == "torch"
    if with_torch:
        import torch as _torch
        torch = _torch
        torch.set_num_threads(1)
    frozen = args.child == "frozen"

    def log(msg: str) -> None:
        print(f"[{args.child}] {msg}", file=sys.stderr, flush=True)

    result: dict[str, Any] = {"machine": machine(), "mode": args.child}
    rounds = args.runs
    budget = 0.2 if args.quick else 1.0
    if "a" in args.only:
        X, Y = two_moons(100)
        weights = init_weights([2, 16, 16, 1], seed=1)
        run = contenders("a", weights, X, Y, 0.05, len(X), with_torch, args.quick)
        log("(a) ...")
        result["a"] = paired_rounds(frozen_view(run) if frozen else run, rounds, budget, log)
    if "b" in args.only:
        n = 64 if args.quick else 1000
        X, T = digits(n)
        weights = init_weights([64, 32, 10], seed=2)
        run = contenders("b", weights, X, T, 0.1, 32, with_torch, args.quick)
        log("(b) ...")
        result["b"] = paired_rounds(frozen_view(run) if frozen else run, rounds, budget, log)
        result["b_samples"] = n
    if frozen:
        print(json.dumps(result))
        return 0
    if "c" in args.only and not (with_torch and args.quick):
        log("(c) ...")
        result["c_nodes"] = 100_000 if args.quick else 1_000_000
        result["c"] = run_chain(result["c_nodes"], rounds, with_torch)
    if "n" in args.only and not with_torch:
        log("(n) ...")
        sizes = [1_000, 10_000, 100_000, 1_000_000]
        result["n"] = {"sizes": sizes,
                       "on": per_node(sizes, 2 if args.quick else 3),
                       "paused": per_node(sizes, 2 if args.quick else 3, paused=True)}
    if "t" in args.only and not with_torch:
        log("(t) ...")
        Xa, Ya = two_moons(100)
        Xb, Tb = digits(32)
        result["t"] = compile_costs(init_weights([2, 16, 16, 1], seed=1), Xa, Ya,
                                    init_weights([64, 32, 10], seed=2), Xb, Tb,
                                    only_a=args.quick)
    print(json.dumps(result))
    return 0


# ----------------------------------------------------------------------------------
# The parent: run the children, print the tables, write results.md.
# ----------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") \
        else ""
    parts = [f"{cpu}, {os.cpu_count()} cores{load}",
             f"{platform.system()} {platform.release()}",
             f"Python {platform.python_version()}", f"microgrid {microgrid.__version__}",
             f"micrograd {getattr(micrograd, '__version__', '0.1.0')}"]
    try:
        import numpy
        parts.append(f"numpy {numpy.__version__}")
    except ImportError:
        pass
    if torch is not None:
        parts.append(f"PyTorch {torch.__version__} (1 thread)")
    return "; ".join(parts)


def _fmt(s: float) -> str:
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def _span(xs: Sequence[float]) -> str:
    return f"{_fmt(statistics.median(xs))} [{_fmt(min(xs))}–{_fmt(max(xs))}]"


def _ratio(base: Sequence[float], xs: Sequence[float]) -> tuple[float, float, float]:
    rs = [b / s for b, s in zip(base, xs)]
    return statistics.median(rs), min(rs), max(rs)


def _rtxt(r: tuple[float, float, float]) -> str:
    def f(x: float) -> str:
        return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"
    return f"{f(r[0])}× [{f(r[1])}–{f(r[2])}]"


def table(workload: str, runs: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """Markdown rows for one workload, a column pair per process; and the median ratios."""
    modes = [m for m in ("clean", "torch") if workload in runs.get(m, {})]
    head = "| engine | " + " | ".join(
        f"{'clean process' if m == 'clean' else 'PyTorch imported'} | × micrograd"
        for m in modes) + " |"
    lines = [head, "|---" * (1 + 2 * len(modes)) + "|"]
    ratios: dict[str, Any] = {m: {} for m in modes}
    names = [n for n in HEADLINE if any(n in runs[m][workload] for m in modes)]
    extra = [n for n in (PAUSED,) if any(n in runs[m][workload] for m in modes)]
    for name in names + extra:
        cells = []
        for m in modes:
            res = runs[m][workload]
            if name not in res:
                cells += ["—", "—"]
                continue
            r = _ratio(res[MICROGRAD_NAME], res[name])
            ratios[m][name] = r[0]
            cells += [_span(res[name]), "1" if name == MICROGRAD_NAME else _rtxt(r)]
        label = name if name not in extra else f"*{name}* (below the headline)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    frozen = runs.get("frozen", {}).get(workload)
    if frozen:
        r = _ratio(frozen[MICROGRAD_NAME], frozen[EAGER])
        lines.append(f"| *{FROZEN}* (separate process, set-up frozen; below the headline) | "
                     f"{_span(frozen[EAGER])} | {_rtxt(r)} |" + " — | — |" * (len(modes) - 1))
    return lines, ratios


def report(runs: dict[str, dict[str, Any]], quick: bool) -> str:
    clean = runs["clean"]
    out = [f"machine: {clean['machine']}",
           f"mode: {'--quick (smaller (b) and (c), fewer rounds)' if quick else 'full run'}; "
           "collector enabled with default thresholds, nothing frozen (unless labelled); "
           "process CPU time; paired rounds", ""]
    verdicts: list[tuple[str, float, str, bool]] = []
    if "a" in clean:
        rows, ra = table("a", runs)
        out += ["## (a) demo step: MLP 2-16-16-1, 100 two-moons points (seconds per step; "
                "median [min–max] of paired rounds)", "", *rows, ""]
        for m, r in ra.items():
            verdicts.append((f"eager ≥ 12× micrograd on (a), {m}", r[EAGER], "×",
                             r[EAGER] >= 12))
        verdicts += combos("a", ra)
    if "b" in clean:
        rows, rb = table("b", runs)
        n = clean.get("b_samples", 1000)
        out += [f"## (b) digits-sized epoch: MLP 64-32-10, softmax cross-entropy, batch 32, "
                f"{n:,} samples (seconds per epoch)", "", *rows, ""]
        for m, r in rb.items():
            verdicts.append((f"eager ≥ 15× micrograd on (b), {m}", r[EAGER], "×",
                             r[EAGER] >= 15))
        verdicts += combos("b", rb)
        tb = runs.get("torch", {}).get("b", {})
        if TORCHV in tb:
            for name in (NP, NP_FUSED):
                r = _ratio(tb[name], tb[TORCHV])  # numpy time / torch time, per round
                slow = r[0]
                out.append(f"{name} takes {slow:.2f}× [{r[1]:.2f}–{r[2]:.2f}] the "
                           f"time of PyTorch vectorized (float64, 1 thread) on (b).")
                if name == NP_FUSED:
                    verdicts.append(("compiled numpy, fused (README's model) within 3× of "
                                     "PyTorch vectorized on (b)", slow, "× the time",
                                     slow <= 3.0))
            out.append("")
    if "c" in clean:
        n = clean["c_nodes"]
        out += [f"## (c) a chain of {n:,} nodes (median [min–max])", "",
                "| engine | forward | backward | peak bytes per node |", "|---|---|---|---|"]
        chains = dict(clean["c"])
        chains.update({k: v for k, v in runs.get("torch", {}).get("c", {}).items()
                       if k.startswith("PyTorch")})
        for name, c in chains.items():
            mem = c["bytes_per_node"]
            memtxt = "n/a (C++ heap)" if mem is None else (
                f"{mem:.0f}" + ("" if name == EAGER else " (forward only)"))
            back = _span(c["backward"]) if c["backward"] else (c.get("note") or "—")
            out.append(f"| {name} | {_span(c['forward'])} | {back} | {memtxt} |")
            if name == EAGER and mem is not None:
                verdicts.append(("≤ 150 bytes per node on (c)", mem, "B", mem <= 150))
        out.append("")
    if "n" in clean:
        n = clean["n"]
        out += ["## (n) microgrid eager, forward + backward per node on a chain (median)", "",
                "| nodes | collector on | vs 10³ | *collector paused* (labelled) | *vs 10³* |",
                "|---|---|---|---|---|"]
        on, off = n["on"], n["paused"]
        for size, a, b in zip(n["sizes"], on, off):
            out.append(f"| {size:,} | {a * 1e9:.0f} ns | {a / on[0]:.2f}× | "
                       f"*{b * 1e9:.0f} ns* | *{b / off[0]:.2f}×* |")
        out += ["", "With the collector on, each full collection walks every live node, and "
                "CPython starts one whenever the nodes made since the last have grown by a "
                "quarter of the objects alive: the longer the chain, the more of those walks "
                "each node takes part in. The paused column is the engine's own cost."]
        spread = max(on) / min(on)
        verdicts.append(("per-node cost flat from 10³ to 10⁶ (largest / smallest ≤ 1.25)",
                         spread, "×", spread <= 1.25))
        out.append("")
    if "t" in clean:
        out += ["## (t) compile time and memory (first call: eager trace + code generation; "
                "(a) the 100-point batch, (b) one batch of 32)", "",
                "| step | compile CPU time | peak traced memory |", "|---|---|---|"]
        for name, t in clean["t"].items():
            out.append(f"| {name} | {_fmt(t['seconds'])} | {t['peak_bytes'] / 2**20:.1f} MiB |")
        out.append("")
    out += ["## targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for what, got, unit, ok in verdicts:
        out.append(f"| {what} | {got:.2f} {unit} | {'met' if ok else 'NOT met'} |")
    return "\n".join(out) + "\n"


def combos(workload: str, ratios: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    """Each fused/backend combination at least as fast as the best of its parts."""
    out = []
    r = ratios.get("clean", {})
    parts = {PY_FUSED: (FUSED, PY), NP_FUSED: (FUSED, NP)}
    for combo, (a, b) in parts.items():
        if combo in r and a in r and b in r:
            best = max(r[a], r[b])
            out.append((f"{combo} ≥ best of {a} and {b} on ({workload})", r[combo] / best,
                        "× the best", r[combo] >= 0.95 * best))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smaller (b) and (c), 3 rounds, no PyTorch 0-dim tensors: "
                         "the headline table in a few minutes")
    ap.add_argument("--runs", type=int, default=0, help="paired rounds (default 5; quick 3)")
    ap.add_argument("--only", default="abcnt",
                    help="workloads, e.g. 'ab' (default abcnt: a, b, chain, per-node, "
                         "compile costs)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    ap.add_argument("--results", default=os.path.join(os.path.dirname(__file__),
                                                      "results.md"),
                    help="where to write the results ('-': nowhere)")
    ap.add_argument("--child", choices=("clean", "torch", "frozen"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not args.runs:
        args.runs = 3 if args.quick else 5
    if args.child:
        return child(args)
    modes = ["clean"]
    if not args.no_torch:
        try:
            import importlib.util
            if importlib.util.find_spec("torch") is not None:
                modes.append("torch")
        except ImportError:
            pass
    if not args.quick:
        modes.append("frozen")
    runs: dict[str, dict[str, Any]] = {}
    for mode in modes:
        only = args.only if mode != "frozen" else "".join(c for c in args.only if c in "ab")
        if not only:
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--only", only,
               "--runs", str(args.runs)] + (["--quick"] if args.quick else [])
        print(f"running the {mode} process ...", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        runs[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    if "torch" in runs:
        runs["clean"]["machine"] = runs["torch"]["machine"]  # it names PyTorch's version
    text = report(runs, args.quick)
    print(text)
    if args.results != "-":
        with open(args.results, "w", encoding="utf-8") as f:
            f.write("# Benchmark results\n\nWritten by `python benchmarks/bench.py"
                    f"{' --quick' if args.quick else ''}` on "
                    f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
                    "See the docstring of `benchmarks/bench.py` for how it measures.\n\n"
                    + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
