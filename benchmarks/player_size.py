"""What the HTML player costs: page size and seconds of ``export_html`` for two walk-throughs.

    python benchmarks/player_size.py            # both cases
    python benchmarks/player_size.py --case mlp

The two cases are graphs just under ``draw_dot``'s default ``max_nodes=200``:

* **mlp**: the mean squared error of an MLP 2-4-4-1 (tanh) on two examples: 192 values,
  305 steps (171 forward, 134 backward).
* **chain**: ``v = v * x + 1`` sixty-four times from ``v = x``: 193 values, whose input
  ``x`` feeds every third node, so many edges span the whole graph (the costly case for
  Graphviz's layout).

Two graphs far above it, walked block by block (:mod:`microgrid.block_steps`): **gpt**,
one training step of ``benchmarks/scalar_gpt.py`` over 5 positions (about 41,000 values),
and **gpt60k** over 7 positions (about 60,000); the browser opens the first in about a
second (tests/test_player.py, the slow GPT test).

And one recorded training run, **run**: the README's two moons (100 points), MLP 2-8-8-1
(tanh, fused), Adam, 150 epochs, ``LiveView(record=True, every=5)``: 32 frames of the
dashboard (the seconds are those of the export, not of the training).

Printed per case: the values, the frames, the page's size in MB, the seconds the export
took, and how many ``<svg>`` pictures the page holds.

Measured on the development machine (2 CPUs shared, load 5-8):

=====  =============================================  ===============================
case   before (a layout and an SVG per frame)         after (one layout, changes)
=====  =============================================  ===============================
mlp    98.05 MB, 111 s (18 s on an idle machine)      0.49 MB, 0.4-1.3 s
chain  fails: the first of 257 layouts passes dot's   0.41 MB, 1.7-3.5 s (straight
       120 s limit (about 18 s each for a lighter     edges)
       chain: 74 minutes)
run    11.4 MB for these 32 frames stored whole       2.30 MB, 0.7-0.9 s
       (the throttle kept 18 of them: 2.41 MB)
=====  =============================================  ===============================
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from microgrid import Value, export_html
from microgrid.data import make_moons
from microgrid.graph import topological_order
from microgrid.losses import mse
from microgrid.nn import MLP
from microgrid.optim import Adam
from microgrid.train import fit
from microgrid.viz import LiveView


def mlp_case() -> Value:
    """MSE of an MLP 2-4-4-1 on two examples (192 values)."""
    model = MLP(2, [4, 4, 1], seed=0)
    X, y = [[0.5, -1.0], [1.5, 0.25]], [1.0, -1.0]
    return mse([model(x) for x in X], y)


def chain_case() -> Value:
    """``v = v * x + 1`` 64 times: 193 values, ``x`` an operand of every product."""
    x = Value(0.3, "x")
    v = x
    for _ in range(64):
        v = v * x + 1.0
    return v


def run_case() -> LiveView:
    """A recorded training run on two moons."""
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0, fused=True)
    view = LiveView(record=True, every=5)
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05), epochs=150,
        progress=False, callbacks=[view])
    return view


def gpt_case(positions: int) -> Callable[[], tuple[Value, dict[str, Any]]]:
    """One training step of ``benchmarks/scalar_gpt.py`` over ``positions`` positions,
    recorded as blocks: walked block by block (its ``state_dict`` names the matrices)."""
    def case() -> tuple[Value, dict[str, Any]]:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        import bench_modules

        loss, sd = bench_modules.gpt_step(positions)
        return loss, {"params": sd}
    return case


CASES: dict[str, Callable[[], Any]] = {
    "mlp": mlp_case, "chain": chain_case, "run": run_case, "gpt": gpt_case(5),
    "gpt60k": gpt_case(7)}


def measure(name: str, folder: Path) -> dict[str, float]:
    made = CASES[name]()
    root, options = made if isinstance(made, tuple) else (made, {})
    values = len(topological_order(root)) if isinstance(root, Value) else 0
    start = time.perf_counter()
    path = export_html(folder / f"{name}.html", root, **options)
    seconds = time.perf_counter() - start
    page = path.read_text(encoding="utf-8")
    frames = page.count('"caption":')
    return {"values": values, "frames": frames,
            "MB": len(page.encode()) / 1e6, "seconds": seconds,
            "svg": len(re.findall(r"<svg\b", page))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    args = parser.parse_args()
    names = list(CASES) if args.case == "all" else [args.case]
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            r = measure(name, Path(folder))
            print(f"{name:6s} {r['values']:6.0f} values  {r['frames']:4.0f} frames  "
                  f"{r['MB']:8.2f} MB  {r['seconds']:7.2f} s  {r['svg']:4.0f} <svg>",
                  flush=True)


if __name__ == "__main__":
    main()
