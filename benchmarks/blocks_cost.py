"""What recording blocks costs (``microgrid.blocks()``).

    python benchmarks/blocks_cost.py                      # GPT-like step, blocks on vs off
    python benchmarks/blocks_cost.py --against ../main    # + demo step, this tree vs another

(1) **Recording off costs nothing measurable**: the demo step (MLP 2-16-16-1, ReLU, 100
points, mean squared error, zero grads, backward, SGD) built by this checkout and by
another one (``--against``: a checkout without blocks), each in a fresh process, in paired
rounds of alternating order; medians and the per-round ratio are printed.

(2) **Recording on costs at most 2×**: one training step (forward over a few positions
with a key/value cache, backward) of a small scalar GPT written here (token and position
embeddings, rmsnorm, one layer of multi-head attention, an MLP, the output head;
tens of thousands of nodes), with and without ``with microgrid.blocks():``, alternating.

Timed in process CPU time, the garbage collector running as usual.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# -- (1) the demo step, run in a child process of a given checkout -----------------------
def demo_child(steps: int) -> float:
    """CPU seconds for ``steps`` demo steps with the microgrid found on sys.path."""
    from microgrid import Value
    from microgrid.nn import MLP

    rng = random.Random(0)
    X = [[rng.uniform(-1.5, 2.5), rng.uniform(-1.0, 1.5)] for _ in range(100)]
    y = [1.0 if x1 > 0.5 * math.sin(3 * x0) else -1.0 for x0, x1 in X]
    model = MLP(2, [16, 16, 1], "relu", seed=1)
    params = model.parameters()
    start = time.process_time()
    for _ in range(steps):
        loss = Value(0.0)
        for xi, yi in zip(X, y):
            d = model(xi) - yi
            loss = loss + d * d
        loss = loss * (1.0 / len(X))
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= 0.05 * p.grad
    return time.process_time() - start


def demo_rounds(trees: dict[str, str], rounds: int, steps: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in trees}
    names = list(trees)
    for r in range(rounds):
        for name in names[r % 2:] + names[:r % 2]:  # alternate the order
            env = dict(os.environ, PYTHONPATH=trees[name])
            out = subprocess.run([sys.executable, __file__, "--child", str(steps)], env=env,
                                 capture_output=True, text=True, check=True, cwd=trees[name])
            times[name].append(json.loads(out.stdout)["seconds"] / steps)
    return times


# -- (2) the small scalar GPT of scalar_gpt.py ------------------------------------------
def gpt_rounds(rounds: int, positions: int) -> tuple[int, dict[str, list[float]]]:
    from scalar_gpt import gpt_model, gpt_step, tokens_of

    from microgrid import blocks, topological_order

    m = gpt_model()
    tokens = tokens_of(positions)
    nodes = len(topological_order(gpt_step(m, tokens)))
    times: dict[str, list[float]] = {"off": [], "on": []}
    for r in range(rounds):
        for mode in (("off", "on") if r % 2 == 0 else ("on", "off")):
            start = time.process_time()
            if mode == "on":
                with blocks():
                    gpt_step(m, tokens)
            else:
                gpt_step(m, tokens)
            times[mode].append(time.process_time() - start)
    return nodes, times


def _summary(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:8.2f} ms (min {min(xs) * 1e3:.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", help="another checkout: time the demo step in both")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=5, help="demo steps per process")
    ap.add_argument("--positions", type=int, default=5, help="GPT positions per step")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # the checkout to time is on PYTHONPATH
        print(json.dumps({"seconds": demo_child(args.child)}))
        return
    sys.path.insert(0, os.path.dirname(HERE))  # this checkout's microgrid
    sys.path.insert(0, HERE)  # scalar_gpt
    if args.against:
        trees = {"this": os.path.dirname(HERE), "other": os.path.abspath(args.against)}
        t = demo_rounds(trees, args.rounds, args.steps)
        ratios = [a / b for a, b in zip(t["this"], t["other"])]
        print("(1) demo step, recording off, seconds per step")
        for name in trees:
            print(f"    {name:5} {trees[name]}: {_summary(t[name])}")
        print(f"    this / other per round: median {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    nodes, g = gpt_rounds(args.rounds, args.positions)
    ratios = [a / b for a, b in zip(g["on"], g["off"])]
    print(f"(2) GPT-like step ({args.positions} positions, {nodes:,} nodes), build + backward")
    print(f"    blocks() off: {_summary(g['off'])}")
    print(f"    blocks() on:  {_summary(g['on'])}")
    print(f"    on / off per round: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
