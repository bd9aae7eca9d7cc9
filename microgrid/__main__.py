"""``python -m microgrid``: the f = (x + y)·z slide step by step, its diagram, a small net.

1. Builds f = (x + y)·z with x = −2, y = 5, z = −4 and prints the forward and backward
   steps (the stepper).
2. Writes the diagram to an SVG file and prints its path (``--out``).
3. Trains a small MLP on two moons with a progress bar and reports its accuracy
   (``--epochs``; ``--no-train`` skips it).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .engine import Value
from .stepper import backward_steps, forward_steps


def slide_example() -> Value:
    """f = (x + y)·z with x = −2, y = 5, z = −4 (q = x + y)."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def _parser() -> argparse.ArgumentParser:
    default_out = Path(tempfile.gettempdir()) / "microgrid-slide.svg"
    parser = argparse.ArgumentParser(
        prog="python -m microgrid",
        description="Backprop on the f = (x + y)·z slide (x = -2, y = 5, z = -4), node by "
                    "node; its diagram as SVG; then a small MLP trained on two moons.")
    parser.add_argument("--out", type=Path, default=default_out, metavar="PATH",
                        help=f"where to write the diagram (.svg, .png or .gv; default: "
                             f"{default_out})")
    parser.add_argument("--epochs", type=int, default=100, metavar="N",
                        help="training epochs for the two-moons MLP (default: 100)")
    parser.add_argument("--no-train", action="store_true",
                        help="skip training the MLP")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data and the initial weights (default: 0)")
    return parser


def _slide(out: Path) -> None:
    f = slide_example()
    print("f = (x + y)·z with x = -2, y = 5, z = -4\n")
    print("Forward pass:")
    for fstep in forward_steps(f):
        print(f"  {fstep}")
    print("\nBackward pass (upstream gradient × local derivative = contribution):")
    for bstep in backward_steps(f):
        print("  " + str(bstep).replace("\n", "\n  "))
    f.backward()
    (_, z), (x, y) = f.parents, f.parents[0].parents
    print(f"\nSo f = {f.data:g}, ∂f/∂x = {x.grad:g}, ∂f/∂y = {y.grad:g}, ∂f/∂z = {z.grad:g}.")

    from .render import RendererNotFoundError
    from .viz import draw_dot

    diagram = draw_dot(f, show_local=True, show_contribution=True,
                       title="f = (x + y)·z")
    try:
        path = diagram.write(out)
    except RendererNotFoundError as e:
        source = diagram.write(out.with_suffix(".gv"))
        print(f"\nNo diagram image: {e}\nThe DOT source is in {source}")
    else:
        print(f"\nDiagram written to {path}")


def _train(epochs: int, seed: int) -> float:
    from .data import make_moons
    from .nn import MLP
    from .optim import Adam
    from .train import accuracy, fit

    X, y = make_moons(100, noise=0.1, seed=seed)
    model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=seed, fused=True)
    print(f"\nTraining {model} on 100 two-moons points (hinge loss, Adam):")
    fit(model, X, y, loss="hinge", optimizer=Adam(model.parameters(), lr=0.05),
        epochs=epochs, seed=seed, progress=True)
    acc = accuracy(model, X, y)
    print(f"Training accuracy: {acc:.1%}")
    return acc


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.epochs < 1:
        _parser().error("--epochs must be at least 1")
    _slide(args.out)
    if not args.no_train:
        _train(args.epochs, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
