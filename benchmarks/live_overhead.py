"""What the live training view costs: ``fit(...)`` with and without a LiveView, default settings.

    python benchmarks/live_overhead.py             # 5 paired runs in this process, then in
                                                   # a Jupyter kernel (about 5 minutes)
    python benchmarks/live_overhead.py --runs 3 --no-kernel

Workload: the README's two-moons run — MLP 2-8-8-1 (tanh, fused), 100 points, binary
cross-entropy, Adam, full batch — for ``--epochs`` epochs (default 150), eager and compiled.

* In this process the view runs with ``record=True`` (it draws every frame it would show:
  the sample graph through Graphviz, the decision field, the SVG panels) but shows nothing.
* In a Jupyter kernel (``jupyter_client``) ``fit(..., live=True)`` draws and sends every
  frame to the notebook front end as a display update, as in a real notebook.

Each pair of runs trains the same model from the same seed once without and once with the
view, in alternating order, so a busy machine slows both alike. Printed, for wall-clock
time and for CPU time (this process and its children, the Graphviz ``dot`` runs; steadier
than wall time on a loaded machine): the median times, the overhead (with − without) /
without per pair and its median; then the frames drawn and the view's own account of its
drawing time.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from microgrid.data import make_moons  # noqa: E402
from microgrid.nn import MLP  # noqa: E402
from microgrid.optim import Adam  # noqa: E402
from microgrid.train import fit  # noqa: E402
from microgrid.viz import LiveView  # noqa: E402

WORKLOAD = """
import os
import time
from microgrid.data import make_moons
from microgrid.nn import MLP
from microgrid.optim import Adam
from microgrid.train import fit
from microgrid.viz import LiveView

def cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system

def one_run(epochs, compiled, view):
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=0, fused=True)
    start, start_cpu = time.perf_counter(), cpu()
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05),
        epochs=epochs, progress=False, compiled=compiled, callbacks=[view] if view else [])
    return time.perf_counter() - start, cpu() - start_cpu

def pair(epochs, compiled, live_first):
    import json
    view = LiveView()
    assert view.display  # in the kernel: the dashboard is shown
    if live_first:
        live = one_run(epochs, compiled, view)
        plain = one_run(epochs, compiled, None)
    else:
        plain = one_run(epochs, compiled, None)
        live = one_run(epochs, compiled, view)
    return json.dumps([*plain, *live, view.refreshes, view.time_drawing])
"""


def cpu() -> float:
    """CPU seconds of this process and its children (the Graphviz ``dot`` runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def one_run(epochs: int, compiled: bool, view: LiveView | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one training run."""
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=0, fused=True)
    start, start_cpu = time.perf_counter(), cpu()
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05), epochs=epochs,
        progress=False, compiled=compiled, callbacks=[view] if view else [])
    return time.perf_counter() - start, cpu() - start_cpu


Pair = tuple[float, float, float, float, int, float]
"""(wall, CPU) without the view, (wall, CPU) with it, frames drawn, the view's drawing time."""


def report(label: str, pairs: list[Pair]) -> None:
    med = statistics.median
    for what, a, b in (("wall", 0, 2), ("CPU", 1, 3)):
        over = [(p[b] - p[a]) / p[a] for p in pairs]
        print(f"{label}, {what} time: without {med(p[a] for p in pairs):.2f} s, with the "
              f"view {med(p[b] for p in pairs):.2f} s; overhead per pair "
              f"{', '.join(f'{o:+.1%}' for o in over)}; median {med(over):+.1%}")
    share = [p[5] / p[2] for p in pairs]
    print(f"{label}: {med(p[4] for p in pairs):.0f} frames; the view's own drawing time "
          f"{med(p[5] for p in pairs):.2f} s = {med(share):.1%} of the run with it")


def in_process(runs: int, epochs: int, compiled: bool) -> None:
    pairs: list[Pair] = []
    one_run(3, compiled, LiveView(record=True))  # warm up: imports, graphviz, caches
    for k in range(runs):
        view = LiveView(record=True)
        if k % 2:
            plain = one_run(epochs, compiled, None)
            live = one_run(epochs, compiled, view)
        else:
            live = one_run(epochs, compiled, view)
            plain = one_run(epochs, compiled, None)
        pairs.append((*plain, *live, view.refreshes, view.time_drawing))
    report(f"in process, record=True, {'compiled' if compiled else 'eager'}", pairs)


def in_kernel(runs: int, epochs: int, compiled: bool) -> None:
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        def run(code: str) -> Any:
            reply = kc.execute_interactive(code, timeout=1800, output_hook=lambda m: None,
                                           user_expressions={"out": "result"})
            assert reply["content"]["status"] == "ok", reply["content"]
            text = reply["content"]["user_expressions"]["out"]["data"]["text/plain"]
            return json.loads(ast.literal_eval(text))

        run(WORKLOAD + f"\nresult = pair(3, {compiled}, True)")  # warm up
        pairs: list[Pair] = [tuple(run(f"result = pair({epochs}, {compiled}, {k % 2 == 0})"))
                             for k in range(runs)]
        report(f"in a Jupyter kernel, live display, {'compiled' if compiled else 'eager'}",
               pairs)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="paired runs (default 5)")
    parser.add_argument("--epochs", type=int, default=150, help="epochs per run (default 150)")
    parser.add_argument("--no-kernel", action="store_true", help="skip the Jupyter kernel")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; {args.epochs} epochs per run")
    for compiled in (False, True):
        in_process(args.runs, args.epochs, compiled)
    if not args.no_kernel:
        for compiled in (False, True):
            in_kernel(args.runs, args.epochs, compiled)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
