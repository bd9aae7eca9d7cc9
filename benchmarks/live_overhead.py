"""What the live training view costs: ``fit(...)`` with and without a LiveView, default settings.

    python benchmarks/live_overhead.py             # 5 paired runs in this process, then in
                                                   # a Jupyter kernel (about 5 minutes)
    python benchmarks/live_overhead.py --runs 3 --no-kernel

Workload: the README's two-moons run — MLP 2-8-8-1 (tanh, fused), 100 points, binary
cross-entropy, Adam, full batch — for ``--epochs`` epochs (default 150), eager and compiled.

* In this process the view runs with ``record=True``: it draws every frame it would show
  (the sample graph, the decision field, the panels) but has no notebook to show it in.
* In a Jupyter kernel (``jupyter_client``) the view draws and sends every frame to the
  front end as a display update, as in a real notebook.

Each pair of runs trains the same model from the same seed once without and once with the
view, in alternating order. Printed, per pair and as medians:

* **in the callbacks**: the time the training thread spends inside the view's callbacks
  (timed around every call), as a share of the run with the view. This is the view's cost
  to training, measured directly.
* **wall** and **CPU** (this process and its children: the Graphviz ``dot`` that lays the
  graph out, in parallel with training) time, with versus without the view. These
  differences include the machine's noise: on a loaded machine they scatter by ±20 % per
  pair, so read their medians over several runs.

Measured on the development machine (2 CPUs, shared, load ≈ 1; 5 pairs, medians; default
LiveView(): overhead=0.03): eager, 1.9 s of training: 1.8–3.0 % in the callbacks, wall
+1.6 % (in process) / +3.9 % (kernel, 5 frames shown). Compiled, 0.6 s of training: 4–6 %
in the callbacks, wall +12 % (in process) / +10 % (kernel): the fixed costs (one graph
layout, ~40 ms of Graphviz CPU in parallel; the first and the final frame) weigh on a run
that short; from about a second of training on they stay under 10 %.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

WORKLOAD = '''
import json
import os
import time

from microgrid.data import make_moons
from microgrid.nn import MLP
from microgrid.optim import Adam
from microgrid.train import fit
from microgrid.viz import LiveView


def cpu():
    """CPU seconds of this process and its children (the Graphviz runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Timed:
    """Passes fit's callbacks on to the view and adds up the time spent in them."""

    def __init__(self, view):
        self.view, self.seconds = view, 0.0

    def _call(self, name, *args):
        start = time.perf_counter()
        getattr(self.view, name)(*args)
        self.seconds += time.perf_counter() - start

    def on_fit_start(self, *args):
        self._call("on_fit_start", *args)

    def on_step(self, *args):
        self._call("on_step", *args)

    def on_fit_end(self, *args):
        self._call("on_fit_end", *args)


def one_run(epochs, compiled, callbacks):
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=0, fused=True)
    start, start_cpu = time.perf_counter(), cpu()
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05),
        epochs=epochs, progress=False, compiled=compiled, callbacks=callbacks)
    return time.perf_counter() - start, cpu() - start_cpu


def pair(epochs, compiled, live_first, record):
    """JSON: wall, CPU without; wall, CPU with; seconds in the callbacks; frames."""
    view = LiveView(record=record)
    assert view.display or view.record  # it draws
    timed = Timed(view)
    runs = {}
    for which in (("live", "plain") if live_first else ("plain", "live")):
        runs[which] = one_run(epochs, compiled, [timed] if which == "live" else [])
    return json.dumps([*runs["plain"], *runs["live"], timed.seconds, view.refreshes])
'''


def report(label: str, pairs: list[list[float]]) -> None:
    med = statistics.median
    inside = [p[4] / p[2] for p in pairs]
    print(f"{label}: {med(p[5] for p in pairs):.0f} frames; in the callbacks "
          f"{med(p[4] for p in pairs):.3f} s = {med(inside):.1%} of the run "
          f"(per pair {', '.join(f'{x:.1%}' for x in inside)})")
    for what, a, b in (("wall", 0, 2), ("CPU", 1, 3)):
        over = [(p[b] - p[a]) / p[a] for p in pairs]
        print(f"    {what}: without {med(p[a] for p in pairs):.2f} s, with "
              f"{med(p[b] for p in pairs):.2f} s; difference per pair "
              f"{', '.join(f'{o:+.1%}' for o in over)}; median {med(over):+.1%}")


def in_process(runs: int, epochs: int, compiled: bool) -> None:
    sys.path.insert(0, str(ROOT))
    space: dict[str, Any] = {}
    exec(WORKLOAD, space)
    space["pair"](3, compiled, True, True)  # warm up: imports, graphviz, caches
    pairs = [json.loads(space["pair"](epochs, compiled, k % 2 == 0, True))
             for k in range(runs)]
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

        run(WORKLOAD + f"\nresult = pair(3, {compiled}, True, False)")  # warm up
        pairs = [run(f"result = pair({epochs}, {compiled}, {k % 2 == 0}, False)")
                 for k in range(runs)]
        report(f"in a Jupyter kernel, live display, {'compiled' if compiled else 'eager'}",
               pairs)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="paired runs (default 5)")
    parser.add_argument("--epochs", type=int, default=150, help="epochs per run (default 150)")
    parser.add_argument("--no-kernel", action="store_true", help="skip the Jupyter kernel")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; {args.epochs} epochs per run, default LiveView()")
    for compiled in (False, True):
        in_process(args.runs, args.epochs, compiled)
    if not args.no_kernel:
        for compiled in (False, True):
            in_kernel(args.runs, args.epochs, compiled)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
