"""``python -m microgrid``: the f = (x + y)·z slide, forward and backward."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .engine import Value
from .graph import topological_order


def slide_example() -> Value:
    """f = (x + y)·z with x = −2, y = 5, z = −4 (q = x + y)."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m microgrid",
        description="Build f = (x + y)·z with x = -2, y = 5, z = -4, run backward() "
                    "and print every node's value and gradient.")
    parser.parse_args(argv)
    f = slide_example()
    f.backward()
    print("f = (x + y) * z")
    for node in topological_order(f):
        print(f"  {node.label:>2} = {node.data:7.3f}   ∂f/∂{node.label} = {node.grad:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
