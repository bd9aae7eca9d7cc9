"""What the block view of a large graph costs (``draw_dot`` on a graph too large to draw
value by value).

    python benchmarks/block_view.py                  # a ~60,000-value GPT step, 3 rounds
    python benchmarks/block_view.py --positions 5 --rounds 5

One training step (forward over ``--positions`` positions with a key/value cache, then
backward) of the small scalar GPT of ``scalar_gpt.py`` (vocabulary 27, width 16, 4 heads,
context 8: 7 positions make about 60,000 values), built inside ``microgrid.blocks()``.
Timed, in wall-clock seconds (the layout runs in a ``dot`` process), median of the rounds:

* building the step with and without recording (the context: what recording costs);
* ``partition`` (the tree of recorded blocks) alone;
* ``describe`` (partition, the cut at the deepest depth that fits ``max_nodes``, the items)
  and ``emit`` (the DOT text) of the top view, and ``dot -Tsvg`` laying it out;
* the same for the view with one position opened (``expand="gpt_step › gpt #3"``).

The target (issue 17): the block view of a 60,000-value step computed and laid out within a
few seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    """The median wall-clock seconds of ``rounds`` calls of ``fn``, and its last result."""
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--positions", type=int, default=7, help="GPT positions per step")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(HERE))  # this checkout's microgrid
    sys.path.insert(0, HERE)  # scalar_gpt
    from scalar_gpt import gpt_model, gpt_step, state_dict, tokens_of

    from microgrid import blocks, topological_order
    from microgrid.parts import partition
    from microgrid.viz.picture import describe

    m = gpt_model()
    tokens = tokens_of(args.positions)
    sd = state_dict(m)

    def recorded() -> Any:
        with blocks():
            return gpt_step(m, tokens)

    plain, _ = timed(lambda: gpt_step(m, tokens), args.rounds)
    rec, loss = timed(recorded, args.rounds)
    values = len(topological_order(loss))
    print(f"GPT step: {args.positions} positions, {values:,} values "
          f"(median of {args.rounds} rounds, wall clock)")
    print(f"  build + backward, blocks() off  {plain:7.3f} s")
    print(f"  build + backward, blocks() on   {rec:7.3f} s  ({rec / plain:.2f}×)")
    t_parts, _ = timed(lambda: partition(loss, sd), args.rounds)
    print(f"  partition                       {t_parts:7.3f} s")
    for what, options in (("top view", {}), ("gpt #3 opened", {"expand": "gpt_step › gpt #3"})):
        view_costs(what, lambda o=options: describe(loss, params=sd, **o), args.rounds)


def view_costs(what: str, picture_of: Callable[[], Any], rounds: int) -> None:
    """Time and print the three steps of drawing one view: describe, emit, lay out."""
    from microgrid.viz.dot import Style, emit
    from microgrid.viz.marks import Marks

    t_describe, picture = timed(picture_of, rounds)
    t_emit, diagram = timed(lambda: emit(picture, Marks(), Style()), rounds)
    t_layout, svg = timed(lambda: diagram.svg(renderer="dot"), rounds)
    total = t_describe + t_emit + t_layout
    print(f"  {what}: {len(picture.items)} items, "
          f"{sum(1 for i in picture.items if i.role == 'block')} blocks, "
          f"{len(picture.boxes)} boxes, {len(svg) // 1024} KiB of SVG")
    print(f"    describe (partition + cut + items)  {t_describe:7.3f} s")
    print(f"    emit (DOT text)                     {t_emit:7.3f} s")
    print(f"    dot -Tsvg (layout)                  {t_layout:7.3f} s")
    print(f"    total                               {total:7.3f} s")

if __name__ == "__main__":
    main()
