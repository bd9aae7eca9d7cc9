"""micrograd's demo.ipynb training step: micrograd 0.1.0 against microgrid.micrograd.

    pip install -e '.[bench]'                  # micrograd 0.1.0 and numpy
    python benchmarks/compat_demo.py            # 5 paired rounds of 3 steps each (~1 min)
    python benchmarks/compat_demo.py --rounds 9 --steps 3
    python benchmarks/compat_demo.py --train    # the whole demo, 100 steps, both engines (~3 min)
    python benchmarks/compat_demo.py --profile  # where microgrid.micrograd spends a step

The step is the demo's, unchanged but for the import line: MLP(2, [16, 16, 1]) (ReLU hidden,
linear output, weights from ``random.seed(1337)``) over the demo's 100 two-moons points (the
same numpy arrays for both engines; ``moons()`` reproduces the demo's scikit-learn data),
SVM max-margin loss ``(1 + -yᵢ·scoreᵢ).relu()`` averaged plus α = 1e-4 L2, ``zero_grad``,
``backward``, SGD with learning rate 1 − 0.9·k/100.

Timing: CPU time (``time.process_time``) of each engine's steps, with the cyclic garbage
collector running as usual (nothing frozen or paused). Each round runs both engines, in
alternating order, ``--steps`` consecutive steps each, so a busy machine slows both alike.
Each engine's block starts after an untimed ``gc.collect()`` (microgrid's, then, after its
first full collection of the collector's own, as in a running loop) and ends with one that
is charged to the engine when it finds garbage: an engine pays for freeing its own graphs
(micrograd's closures make cycles that only the collector frees; microgrid's graphs are
freed by reference counting) and never for the other's. Printed: per-step medians,
min–max, the share of the time spent in the collector, and the median of the per-round
ratios micrograd time / microgrid.micrograd time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import random
import statistics
import sys
import time
from typing import Any

import numpy as np

try:
    import micrograd.engine as mg_engine
    import micrograd.nn as mg_nn
except ImportError:
    sys.exit("micrograd 0.1.0 is needed: pip install micrograd==0.1.0 (or the 'bench' extra)")

from bench import into_rhythm  # this directory: the same timing rule as bench.py
from micrograd_demo import demo_step, moons  # this directory: the demo's data and step

import microgrid.micrograd.engine as compat_engine
import microgrid.micrograd.nn as compat_nn


class Demo:
    """One engine's model and training state, stepped as the demo notebook steps it."""

    def __init__(self, name: str, engine: Any, nn: Any, X: np.ndarray, y: np.ndarray) -> None:
        self.name, self.Value, self.X, self.y = name, engine.Value, X, y
        random.seed(1337)
        self.model = nn.MLP(2, [16, 16, 1])
        self.k = 0
        self.history: list[tuple[float, float]] = []

    def step(self) -> None:
        self.history.append(demo_step(self.Value, self.model, self.X, self.y, self.k))
        self.k += 1


class CollectorClock:
    """Time spent in the cyclic garbage collector (``gc.callbacks``), in CPU seconds."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds += time.process_time() - self._start
            self.collections += 1


def timed(demo: Demo, steps: int, clock: CollectorClock | None = None,
          clean_up: bool = False) -> float:
    """CPU seconds per step over ``steps`` consecutive steps (collector time into ``clock``).

    ``clean_up``: end with ``gc.collect()``, charged to the engine when it found garbage, so
    an engine pays for freeing its last graph as it paid for the earlier ones (micrograd's
    graphs are cycles only the collector frees; a collection that finds nothing would only
    charge the scan of the whole process)."""
    if clock is not None:
        gc.callbacks.append(clock)
    try:
        start = time.process_time()
        for _ in range(steps):
            demo.step()
        seconds = time.process_time() - start
        if clean_up:
            start = time.process_time()
            if gc.collect():
                seconds += time.process_time() - start
        return seconds / steps
    finally:
        if clock is not None:
            gc.callbacks.remove(clock)


def benchmark(rounds: int, steps: int) -> None:
    X, y = moons()
    mg = Demo("micrograd 0.1.0", mg_engine, mg_nn, X, y)
    ours = Demo("microgrid.micrograd", compat_engine, compat_nn, X, y)
    times: dict[str, list[float]] = {mg.name: [], ours.name: []}
    clocks = {mg.name: CollectorClock(), ours.name: CollectorClock()}
    ratios = []
    for r in range(rounds):
        pair = (mg, ours) if r % 2 == 0 else (ours, mg)
        per_step = {}
        for demo in pair:
            gc.collect()
            if demo is ours:
                into_rhythm(demo.step, 3)  # see bench.into_rhythm
            per_step[demo.name] = timed(demo, steps, clocks[demo.name], clean_up=True)
            times[demo.name].append(per_step[demo.name])
        gc.collect()
        ratios.append(per_step[mg.name] / per_step[ours.name])
        print(f"round {r + 1}/{rounds}: micrograd {per_step[mg.name] * 1e3:.0f} ms, "
              f"microgrid.micrograd {per_step[ours.name] * 1e3:.1f} ms per step, "
              f"{ratios[-1]:.1f}×", flush=True)
    print(f"\nPython {platform.python_version()}, {platform.processor() or platform.machine()}; "
          f"{rounds} paired rounds of {steps} steps, CPU time, collector on")
    for name, ts in times.items():
        gc_share = clocks[name].seconds / (sum(ts) * steps)
        print(f"  {name:22s} {statistics.median(ts) * 1e3:8.1f} ms per step "
              f"[{min(ts) * 1e3:.1f}–{max(ts) * 1e3:.1f}], {gc_share:.0%} of it in "
              f"{clocks[name].collections / (rounds * steps):.0f} collections per step")
    print(f"  ratio (micrograd / microgrid.micrograd): median {statistics.median(ratios):.1f}× "
          f"[{min(ratios):.1f}–{max(ratios):.1f}]")
    print("  " + summary(mg, ours))


def train(steps: int) -> None:
    """The whole demo on both engines: the printed lines, side by side."""
    X, y = moons()
    mg = Demo("micrograd 0.1.0", mg_engine, mg_nn, X, y)
    ours = Demo("microgrid.micrograd", compat_engine, compat_nn, X, y)
    cpu = {mg.name: 0.0, ours.name: 0.0}
    for _k in range(steps):
        for demo in (mg, ours):
            cpu[demo.name] += timed(demo, 1, clean_up=True)
        (lm, am), (lo, ao) = mg.history[-1], ours.history[-1]
        print(f"step {_k} loss {lo}, accuracy {ao * 100}%   (micrograd: loss {lm}, "
              f"accuracy {am * 100}%)")
    print(", ".join(f"{name}: {t:.1f} s CPU" for name, t in cpu.items()))
    print(summary(mg, ours))


def summary(mg: Demo, ours: Demo) -> str:
    """How far apart the two engines' losses and accuracies are, over all steps so far."""
    pairs = list(zip(mg.history, ours.history))
    worst = max(abs(a[0] - b[0]) / abs(a[0]) for a, b in pairs)
    exact = sum(a[0] == b[0] for a, b in pairs)
    same_acc = all(a[1] == b[1] for a, b in pairs)
    return (f"losses of the {len(pairs)} steps: {exact} bit-identical, the rest within a "
            f"relative {worst:.1e}; accuracies {'identical' if same_acc else 'DIFFER'}")


def profile(steps: int) -> None:
    X, y = moons()
    ours = Demo("microgrid.micrograd", compat_engine, compat_nn, X, y)
    ours.step()  # warm up
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        ours.step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds (default 5)")
    parser.add_argument("--steps", type=int, default=3, help="steps per engine and round")
    parser.add_argument("--train", action="store_true", help="run the whole 100-step demo")
    parser.add_argument("--profile", action="store_true", help="cProfile microgrid.micrograd")
    args = parser.parse_args()
    if args.train:
        train(100)
    elif args.profile:
        profile(args.steps)
    else:
        benchmark(args.rounds, args.steps)


if __name__ == "__main__":
    main()
