"""``python -m microgrid`` (or ``microgrid``): the f = (x + y)·z slide step by step, its
diagram, a small net.

1. Builds f = (x + y)·z with x = −2, y = 5, z = −4 and prints the forward and backward
   steps (the stepper).
2. Writes the diagram into the current directory (``microgrid-slide.svg``), or to ``--out``:
   a file (``.svg``, ``.png``, ``.gv`` or ``.dot``) or an existing directory. ``--out`` is
   checked before anything runs; a bad one is one line on stderr and exit status 2.
3. Trains a small MLP on two moons with a progress bar and reports its accuracy
   (``--epochs``; ``--no-train`` skips it).

Where stdout cannot encode the math symbols (∂, ·, ×, →), they are printed in ASCII
(``d``, ``*``, ``*``, ``->``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .stepper import backward_steps, forward_steps
from .viz.player import slide_example

DISTRIBUTION = "microgrid-autodiff"
DEFAULT_NAME = "microgrid-slide.svg"
SUFFIXES = (".svg", ".png", ".gv", ".dot")

# The demo's non-ASCII symbols and their plain-text spellings.
ASCII = str.maketrans({"∂": "d", "·": "*", "×": "*", "→": "->", "−": "-"})


class UsageError(Exception):
    """A bad command-line argument, reported as one line on stderr with exit status 2."""


def version() -> str:
    """The installed distribution's version, or the package's own when it is not installed."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        from . import __version__

        return __version__


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Backprop on the f = (x + y)*z slide (x = -2, y = 5, z = -4), node by "
                    "node; its diagram as SVG; then a small MLP trained on two moons.",
        epilog=f"'{prog} export slide.html' writes the slide's backprop walk-through as one "
               "HTML file that opens in any browser (--example neuron|worked for the others).")
    parser.add_argument("--out", default=None, metavar="PATH",
                        help=f"where to write the diagram: a file ending in {', '.join(SUFFIXES)}"
                             f" or an existing directory (default: {DEFAULT_NAME} in the "
                             f"current directory)")
    parser.add_argument("--epochs", type=int, default=100, metavar="N",
                        help="training epochs for the two-moons MLP (default: 100)")
    parser.add_argument("--no-train", action="store_true",
                        help="skip training the MLP")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data and the initial weights (default: 0)")
    parser.add_argument("--version", action="version", version=f"microgrid {version()}")
    return parser


def output_path(out: str | None) -> Path:
    """Where the diagram goes, checked before any work: raises :class:`UsageError`.

    ``None`` means ``microgrid-slide.svg`` in the current directory; an existing directory
    gets that name inside it; any other path must end in a known suffix and lie in an
    existing, writable directory.
    """
    path = Path(out) if out is not None else Path(DEFAULT_NAME)
    if out is not None and out.strip() == "":
        raise UsageError("--out is empty; give a file (.svg, .png, .gv, .dot) or a directory")
    if path.is_dir():
        path = path / DEFAULT_NAME
    elif out is not None and out.endswith(("/", os.sep)):
        raise UsageError(f"--out {out!r}: no such directory")
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"--out {str(path)!r}: cannot tell the format; the name must end in "
                         f"{', '.join(SUFFIXES)} (or be an existing directory)")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"--out {str(path)!r}: the directory {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--out {str(path)!r}: the directory {str(folder)!r} is not writable")
    if path.exists() and not (path.is_file() and os.access(path, os.W_OK)):
        raise UsageError(f"--out {str(path)!r}: exists and cannot be overwritten")
    return path


class Printer:
    """Prints text to stdout, in ASCII spellings when ``ascii_only``."""

    def __init__(self, ascii_only: bool) -> None:
        self.ascii_only = ascii_only

    def __call__(self, text: str = "") -> None:
        if self.ascii_only:
            text = text.translate(ASCII)
            text = text.encode("ascii", "backslashreplace").decode("ascii")
        print(text)


def _printer() -> Printer:
    """``print``, or a print that spells the math symbols in ASCII when stdout cannot encode
    them (a Windows console or a redirect in a legacy code page, ``PYTHONIOENCODING=ascii``)."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "∂·×→−".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return Printer(ascii_only=True)
    return Printer(ascii_only=False)


def _slide(out: Path, say: Printer) -> None:
    f = slide_example()
    say("f = (x + y)·z with x = -2, y = 5, z = -4\n")
    say("Forward pass:")
    for fstep in forward_steps(f):
        say(f"  {fstep}")
    say("\nBackward pass (upstream gradient × local derivative = contribution):")
    for bstep in backward_steps(f):
        say("  " + str(bstep).replace("\n", "\n  "))
    f.backward()
    (_, z), (x, y) = f.parents, f.parents[0].parents
    say(f"\nSo f = {f.data:g}, ∂f/∂x = {x.grad:g}, ∂f/∂y = {y.grad:g}, ∂f/∂z = {z.grad:g}.")

    from .render import RendererNotFoundError
    from .viz import draw_dot

    diagram = draw_dot(f, show_local=True, show_contribution=True,
                       title="f = (x + y)·z")
    try:
        path = diagram.write(out)
    except RendererNotFoundError as e:
        source = diagram.write(out.with_suffix(".gv"))
        say(f"\nNo diagram image: {e}\nThe DOT source is in {source}")
    else:
        say(f"\nDiagram written to {path}")


def _train(epochs: int, seed: int, say: Printer) -> float:
    from .data import make_moons
    from .nn import MLP
    from .optim import Adam
    from .train import accuracy, fit

    X, y = make_moons(100, noise=0.1, seed=seed)
    model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=seed, fused=True)
    say(f"\nTraining {model} on 100 two-moons points (hinge loss, Adam):")
    sys.stdout.flush()
    fit(model, X, y, loss="hinge", optimizer=Adam(model.parameters(), lr=0.05),
        epochs=epochs, seed=seed, progress=True)
    acc = accuracy(model, X, y)
    say(f"Training accuracy: {acc:.1%}")
    return acc


def _prog() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m microgrid" if name in ("", "__main__.py", "-c") else "microgrid"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit status (0 done, 1 the diagram could not be written,
    2 a bad argument)."""
    prog = _prog()
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["export"]:  # the backprop walk-through as one HTML file
        from .viz.player import main as export_main
        return export_main(words[1:], prog=f"{prog} export")
    args = _parser(prog).parse_args(words)
    try:
        if args.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
        out = output_path(args.out)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    say = _printer()
    try:
        _slide(out, say)
    except OSError as e:
        print(f"{prog}: error: cannot write the diagram: {e}", file=sys.stderr)
        return 1
    if not args.no_train:
        _train(args.epochs, args.seed, say)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
