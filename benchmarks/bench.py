"""Side-by-side benchmarks: microgrid against micrograd 0.1.0 and, when installed, PyTorch.

    pip install -e '.[bench]'          # micrograd 0.1.0 and numpy; PyTorch is optional
    python benchmarks/bench.py         # all three workloads, 5 paired runs (about 40 min)
    python benchmarks/bench.py --only a --runs 7
    python benchmarks/bench.py --quick # smaller sizes, for a first look (not the figures)

Workloads (the same workload code runs on every scalar engine; only how a scalar is made,
and exp/log for micrograd, differ):

(a) the classic demo step: MLP 2-16-16-1 (ReLU hidden, linear output) over 100 two-moons
    points, mean squared error, zero grads, backward, SGD update — seconds per step;
(b) a digits-sized step: MLP 64-32-10, softmax cross-entropy, batch 32, over 1,000
    generated 64-dimensional samples — seconds per epoch;
(c) a chain one million nodes deep (alternating ``v + a`` and ``v * b``): forward and
    backward time, and peak traced memory (tracemalloc) per node.

Each run times every engine once, in rotating order, in this one process, so a busy
machine slows all of them alike; medians, min–max and the per-run ratios (micrograd time /
engine time) are printed. micrograd runs with its default settings (the cyclic garbage
collector on); so does microgrid's eager engine, and a second eager row pauses the collector
during each step (microgrid.compile.gc_paused). What is alive before timing starts is
frozen (gc.freeze, see settle(); --no-freeze to skip), so that importing PyTorch does not
slow the pure-Python engines' collections. PyTorch runs on one thread (its fastest setting
for these sizes here), as 0-dim tensors per scalar and as the vectorized MLP.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import micrograd
import micrograd.engine as mg

import microgrid
from microgrid import nn as mnn
from microgrid.compile import compile_step, gc_paused

torch: Any = None  # imported in main() unless --no-torch: PyTorch is optional

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


def squared_error(forward: Callable[[Sequence[Any]], list[Any]], xs: Sequence[Any],
                  ys: Sequence[Any]) -> Any:
    """(a): (1/m) Σ (f(x) − y)²."""
    total = sum(((forward(x)[0] - y) ** 2 for x, y in zip(xs[1:], ys[1:])),
                (forward(xs[0])[0] - ys[0]) ** 2)
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


def compiled_step(step: Any, params: list[Any], X: Any, Y: Any, lr: float) -> float:
    """One compiled training step: zero grads, replay forward and backward, SGD."""
    for p in params:
        p.grad = 0.0
    loss = float(step(X, Y))
    for p in params:
        p.data -= lr * p.grad
    return loss


PAUSED = "microgrid eager, GC paused"


def paused(fn: Callable[[], float]) -> float:
    """One step with the cyclic collector paused (microgrid.compile.gc_paused)."""
    with gc_paused():
        return fn()


def batches(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def contenders_a(weights: Weights, X: list[list[float]], Y: list[float], lr: float,
                 with_torch: bool) -> dict[str, Runner]:
    """Workload (a): each contender runs one full-batch training step per call."""
    run: dict[str, Runner] = {}
    loss_of = squared_error
    for engine in (MICROGRAD, MICROGRID):
        layers = build_mlp(engine, weights)
        run[engine.name] = (lambda e=engine, L=layers: scalar_step(
            e, lambda x: mlp_forward(L, x), mlp_params(L), loss_of, X, Y, lr))
    layers_p = build_mlp(MICROGRID, weights)
    run[PAUSED] = lambda: paused(lambda: scalar_step(
        MICROGRID, lambda x: mlp_forward(layers_p, x), mlp_params(layers_p), loss_of, X, Y, lr))
    model = mnn.MLP.from_weights([[w for w, _ in layer] for layer in weights],
                                 [[b for _, b in layer] for layer in weights],
                                 activation="relu", output_activation="linear", fused=True)
    run["microgrid fused (wsum)"] = lambda: scalar_step(  # one output: a bare Value
        MICROGRID, lambda x: [model(x)], model.parameters(), loss_of, X, Y, lr)
    for backend in ("python", "numpy"):
        layers = build_mlp(MICROGRID, weights)
        params = mlp_params(layers)
        step = compile_step(
            lambda xs, ys, L=layers: loss_of(lambda x: mlp_forward(L, x), xs, ys),
            params, backend=backend)
        run[f"compiled ({backend})"] = (lambda s=step, P=params: compiled_step(
            s, P, X, Y, lr))
    if with_torch:
        engine = TorchScalars()
        layers = build_mlp(engine, weights)
        run[engine.name] = lambda: scalar_step(
            engine, lambda x: mlp_forward(layers, x), mlp_params(layers), loss_of, X, Y, lr)
        run["PyTorch vectorized"] = torch_vectorized(weights, X, Y, lr, "mse", len(X))
    return run


def contenders_b(weights: Weights, X: list[list[float]], T: list[list[float]], lr: float,
                 batch: int, with_torch: bool) -> dict[str, Runner]:
    """Workload (b): each contender runs one epoch (every batch once, in order) per call."""
    run: dict[str, Runner] = {}
    spans = batches(len(X), batch)

    def epoch(one: Callable[[Any, Any], float]) -> Runner:
        return lambda: statistics.fmean(one(X[a:b], T[a:b]) for a, b in spans)

    for engine in (MICROGRAD, MICROGRID):
        layers = build_mlp(engine, weights)

        def loss_of(f: Any, xs: Any, ts: Any, e: Scalars = engine) -> Any:
            return cross_entropy(f, xs, ts, e.exp, e.log)
        run[engine.name] = epoch(lambda xb, tb, e=engine, L=layers, lo=loss_of: scalar_step(
            e, lambda x: mlp_forward(L, x), mlp_params(L), lo, xb, tb, lr))
    layers_p = build_mlp(MICROGRID, weights)

    def ce_p(f: Any, xs: Any, ts: Any) -> Any:
        return cross_entropy(f, xs, ts, microgrid.Value.exp, microgrid.Value.log)
    run[PAUSED] = epoch(lambda xb, tb: paused(lambda: scalar_step(
        MICROGRID, lambda x: mlp_forward(layers_p, x), mlp_params(layers_p), ce_p, xb, tb,
        lr)))
    model = mnn.MLP.from_weights([[w for w, _ in layer] for layer in weights],
                                 [[b for _, b in layer] for layer in weights],
                                 activation="relu", output_activation="linear", fused=True)

    def ce(f: Any, xs: Any, ts: Any) -> Any:
        return cross_entropy(f, xs, ts, microgrid.Value.exp, microgrid.Value.log)
    run["microgrid fused (wsum)"] = epoch(lambda xb, tb: scalar_step(
        MICROGRID, model, model.parameters(), ce, xb, tb, lr))
    for backend in ("python", "numpy"):
        layers = build_mlp(MICROGRID, weights)
        params = mlp_params(layers)
        step = compile_step(lambda xs, ts, L=layers: ce(lambda x: mlp_forward(L, x), xs, ts),
                            params, backend=backend)
        run[f"compiled ({backend})"] = epoch(lambda xb, tb, s=step, P=params: compiled_step(
            s, P, xb, tb, lr))
    if with_torch:
        engine = TorchScalars()
        layers = build_mlp(engine, weights)

        def tce(f: Any, xs: Any, ts: Any) -> Any:
            return cross_entropy(f, xs, ts, engine.exp, engine.log)
        run[engine.name] = epoch(lambda xb, tb: scalar_step(
            engine, lambda x: mlp_forward(layers, x), mlp_params(layers), tce, xb, tb, lr))
        run["PyTorch vectorized"] = torch_vectorized(weights, X, T, lr, "ce", batch)
    return run


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
# Timing.
# ----------------------------------------------------------------------------------

@dataclass
class Timings:
    name: str
    seconds: list[float] = field(default_factory=list)


def _timed(fn: Runner, reps: int) -> float:
    gc.collect()          # untimed: do not charge one contender for another's garbage
    fn()                  # untimed warm-up: steady state (its garbage is still pending)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


FREEZE = True


def settle() -> None:
    """Collect, then freeze what is alive (the imports, the models, traced steps).

    The cyclic collector's full passes traverse every live object, and importing PyTorch
    (with what its first calls import lazily) adds about 140,000 of them: in this process
    they would make each full collection ~130 ms slower for micrograd and microgrid alike —
    a cost of the benchmark's own imports, not of either engine. gc.freeze() moves what is
    alive now out of the collector's sight; the collector stays enabled, with its default
    thresholds, for everything the workloads allocate from then on.
    """
    gc.collect()
    if FREEZE:
        gc.freeze()


def paired_runs(contenders: dict[str, Runner], runs: int, reps: dict[str, int],
                log: Callable[[str], None]) -> list[Timings]:
    names = list(contenders)
    for name in names:  # first calls: lazy imports, traces; then settle before timing
        contenders[name]()
    settle()
    out = {n: Timings(n) for n in names}
    for r in range(runs):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            out[name].seconds.append(_timed(contenders[name], reps.get(name, 1)))
        log(f"  run {r + 1}/{runs}: " + ", ".join(
            f"{n.split(' ')[0]} {out[n].seconds[-1]:.4g}s" for n in names))
    return [out[n] for n in names]


def _fmt(s: float) -> str:
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def report(title: str, unit: str, results: list[Timings], base: str) -> dict[str, float]:
    """Print medians, min–max and per-run ratios against ``base``; return median ratios."""
    ref = next(t for t in results if t.name == base).seconds
    print(f"\n{title}  ({unit}; median [min–max] of {len(ref)} paired runs)")
    print(f"  {'engine':28s} {'time':>24s}   {'× faster than micrograd':>26s}")
    ratios = {}
    for t in results:
        rs = [b / s for b, s in zip(ref, t.seconds)]
        ratios[t.name] = statistics.median(rs)
        span = f"{_fmt(statistics.median(t.seconds))} [{_fmt(min(t.seconds))}–" \
               f"{_fmt(max(t.seconds))}]"
        rtxt = f"{statistics.median(rs):.1f}× [{min(rs):.1f}–{max(rs):.1f}]"
        print(f"  {t.name:28s} {span:>24s}   {rtxt:>26s}")
    return ratios


# ----------------------------------------------------------------------------------
# (c) the chain.
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
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    v = chain(engine, n)
    if backward:
        v.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del v
    gc.collect()
    return (peak - base) / n


def run_chain(n: int, runs: int, with_torch: bool,
              log: Callable[[str], None]) -> tuple[dict[str, float], dict[str, Any]]:
    engines: list[Scalars] = [MICROGRID, MICROGRAD]
    if with_torch:
        engines.append(TorchScalars())
    fwd = {e.name: Timings(e.name) for e in engines}
    bwd = {e.name: Timings(e.name) for e in engines}
    notes: dict[str, str] = {}
    for e in engines:  # warm up (lazy imports), then settle before timing
        if e is not MICROGRAD:
            chain(e, 100).backward()
    settle()
    for r in range(runs):
        for e in engines[r % len(engines):] + engines[:r % len(engines)]:
            gc.collect()
            t0 = time.perf_counter()
            v = chain(e, n)
            t1 = time.perf_counter()
            fwd[e.name].seconds.append(t1 - t0)
            try:
                v.backward()
                bwd[e.name].seconds.append(time.perf_counter() - t1)
            except RecursionError:
                notes[e.name] = "backward: RecursionError (recursive topological sort)"
            del v
            gc.collect()
        log(f"  run {r + 1}/{runs} done")
    print(f"\n(c) chain of {n:,} nodes  (median [min–max] of {runs} runs)")
    print(f"  {'engine':28s} {'forward':>26s} {'backward':>26s} {'peak bytes/node':>16s}")
    memory = {}
    for e in engines:
        f, b = fwd[e.name].seconds, bwd[e.name].seconds

        def span(xs: list[float]) -> str:
            if not xs:
                return "—"
            return f"{_fmt(statistics.median(xs))} [{_fmt(min(xs))}–{_fmt(max(xs))}]"
        if isinstance(e, TorchScalars):
            mem = "n/a (C++ heap)"
        else:
            per = chain_memory(e, n, backward=e is MICROGRID)
            memory[e.name] = per
            mem = f"{per:.0f}" + ("" if e is MICROGRID else " (fwd)")
        print(f"  {e.name:28s} {span(f):>26s} {span(b):>26s} {mem:>16s}")
        if e.name in notes:
            print(f"  {'':28s} {notes[e.name]}")
    return memory, {"forward": fwd, "backward": bwd}


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
    parts = [f"{cpu}, {os.cpu_count()} cores", f"Python {platform.python_version()}",
             f"microgrid {microgrid.__version__}",
             f"micrograd {getattr(micrograd, '__version__', '0.1.0')}"]
    try:
        import numpy
        parts.append(f"numpy {numpy.__version__}")
    except ImportError:
        pass
    if torch is not None:
        parts.append(f"PyTorch {torch.__version__} (1 thread)")
    return "; ".join(parts)


def agreement(weights: Weights, X: Any, Y: Any) -> None:
    """One step from the same weights: every microgrid path gives the same loss and grads."""
    layers = build_mlp(MICROGRID, weights)
    params = mlp_params(layers)
    xs = [[microgrid.Value(v) for v in x] for x in X]
    ys = [microgrid.Value(y) for y in Y]
    loss = squared_error(lambda x: mlp_forward(layers, x), xs, ys)
    loss.backward()
    ref = [p.grad for p in params]
    for backend in ("python", "numpy"):
        for p in params:
            p.grad = 0.0
        step = compile_step(lambda a, b: squared_error(lambda x: mlp_forward(layers, x), a, b),
                            params, backend=backend)
        step(X, Y)
        for p in params:
            p.grad = 0.0
        lv = step(X, Y)
        err = max(abs(p.grad - g) / max(abs(g), 1e-300) for p, g in zip(params, ref) if g)
        print(f"  compiled ({backend}) vs eager on (a): loss {lv!r} vs {loss.data!r}, "
              f"largest relative gradient difference {err:.1e}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="paired runs (default 5)")
    ap.add_argument("--only", default="abc", help="workloads to run, e.g. 'ab' (default abc)")
    ap.add_argument("--quick", action="store_true",
                    help="smaller (b) and (c), 3 runs: a first look, not the figures")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    ap.add_argument("--no-freeze", action="store_true",
                    help="do not gc.freeze() the objects made by the imports")
    args = ap.parse_args(argv)
    runs = 3 if args.quick and args.runs == 5 else args.runs
    global torch
    if not args.no_torch:
        try:
            import torch as _torch
            torch = _torch
            torch.set_num_threads(1)
        except ImportError:
            pass
    with_torch = torch is not None
    global FREEZE
    FREEZE = not args.no_freeze
    settle()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    print("machine:", machine())
    print("collector: enabled, default thresholds" + ("" if args.no_freeze else
          "; objects alive before timing (imports, models, traced steps) frozen "
          "with gc.freeze()"))
    ratios: dict[str, dict[str, float]] = {}
    if "a" in args.only:
        X, Y = two_moons(100)
        weights = init_weights([2, 16, 16, 1], seed=1)
        agreement(weights, X, Y)
        contenders = contenders_a(weights, X, Y, 0.05, with_torch)
        reps = {n: 3 for n in contenders}
        reps.update({MICROGRAD.name: 2, "PyTorch 0-dim tensors": 2})
        reps.update({"compiled (python)": 20, "compiled (numpy)": 50, "PyTorch vectorized": 200})
        log("(a) ...")
        res = paired_runs(contenders, runs, reps, log)
        ratios["a"] = report("(a) demo step: MLP 2-16-16-1, 100 two-moons points",
                             "seconds per step", res, MICROGRAD.name)
    if "b" in args.only:
        n = 256 if args.quick else 1000
        X, T = digits(n)
        weights = init_weights([64, 32, 10], seed=2)
        contenders = contenders_b(weights, X, T, 0.1, 32, with_torch)
        reps = {"compiled (numpy)": 5, "PyTorch vectorized": 20}
        log("(b) ...")
        res = paired_runs(contenders, runs, reps, log)
        ratios["b"] = report(f"(b) digits-sized: MLP 64-32-10, softmax cross-entropy, "
                             f"batch 32, {n:,} samples", "seconds per epoch", res,
                             MICROGRAD.name)
        tv = next((t for t in res if t.name == "PyTorch vectorized"), None)
        nv = next(t for t in res if t.name == "compiled (numpy)")
        if tv is not None:
            rs = [a / b for a, b in zip(nv.seconds, tv.seconds)]
            ratios["b"]["numpy/torch"] = statistics.median(rs)
            print(f"  compiled (numpy) / PyTorch vectorized: {statistics.median(rs):.2f}× "
                  f"[{min(rs):.2f}–{max(rs):.2f}] the time")
    memory: dict[str, float] = {}
    if "c" in args.only:
        log("(c) ...")
        memory, _ = run_chain(100_000 if args.quick else 1_000_000, runs, with_torch, log)
    print("\ntargets")

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"
    a, b = ratios.get("a", {}), ratios.get("b", {})
    rows = []
    if a:
        rows += [("eager ≥ 10× micrograd on (a)", a[MICROGRID.name], 10.0),
                 ("fused wsum ≥ 30× on (a)", a["microgrid fused (wsum)"], 30.0),
                 ("compiled (python) ≥ 50× on (a)", a["compiled (python)"], 50.0)]
    if b:
        rows += [("eager ≥ 10× micrograd on (b)", b[MICROGRID.name], 10.0),
                 ("compiled (python) ≥ 50× on (b)", b["compiled (python)"], 50.0),
                 ("compiled (numpy) ≥ 300× on (b)", b["compiled (numpy)"], 300.0)]
    for what, got, need in rows:
        print(f"  {what:36s} {got:8.1f}×   {verdict(got >= need)}")
    if "numpy/torch" in b:
        got = b["numpy/torch"]
        print(f"  {'compiled (numpy) within 3× of torch':36s} {got:8.2f}×   "
              f"{verdict(got <= 3.0)}")
    if MICROGRID.name in memory:
        got = memory[MICROGRID.name]
        print(f"  {'≤ 150 bytes per node on (c)':36s} {got:8.0f} B  {verdict(got <= 150)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
