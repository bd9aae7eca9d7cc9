"""``python -m microgrid`` (or ``microgrid``): the f = (x + y)·z slide step by step, its
diagram, a small net; ``microgrid export``: a backprop walk-through as one HTML page.

The demo:

1. Builds f = (x + y)·z with x = −2, y = 5, z = −4 and prints the forward and backward
   steps (the stepper).
2. Writes the diagram to ``microgrid-output/slide.svg`` under the current directory (the
   folder is made when missing; git ignores it), or to ``--out``: a file (``.svg``, ``.png``,
   ``.gv`` or ``.dot``) or an existing directory. ``--out`` is checked before anything runs;
   a bad one is one line on stderr and exit status 2.
3. Trains a small MLP on two moons with a progress bar and reports its accuracy
   (``--epochs``; ``--no-train`` skips it).

``microgrid export [PATH] [--example slide|neuron|worked]`` writes the walk-through of one
of the lecture notes' examples (:func:`microgrid.viz.export_html`), by default to
``microgrid-output/<example>.html``.

Where stdout cannot encode the math symbols (∂, ·, ×, →), they are printed in ASCII
(``d``, ``*``, ``*``, ``->``). A stdout closed early (``microgrid | head -1``) ends the
command quietly with status 141, as a tool stopped by SIGPIPE ends.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .engine import Value
from .stepper import backward_steps, forward_steps
from .viz.examples import EXAMPLES, slide_example

DISTRIBUTION = "microgrid-autodiff"
OUTPUT_FOLDER = Path("microgrid-output")
"""Where the demo, ``microgrid export`` and the notebooks write what they make, relative to
the current directory (made when missing; the repository's .gitignore ignores it)."""
DEFAULT_NAME = "slide.svg"
CLOSED_PIPE = 128 + 13
"""The exit status when stdout is closed early: a shell's status for a tool that SIGPIPE
stopped (``yes | head -1`` under ``set -o pipefail``)."""
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
        epilog=f"'{prog} export' writes the slide's backprop walk-through as one HTML page "
               f"that opens in any browser ({OUTPUT_FOLDER / 'slide.html'}; see "
               f"'{prog} export --help').")
    parser.add_argument("--out", default=None, metavar="PATH",
                        help=f"where to write the diagram: a file ending in {', '.join(SUFFIXES)}"
                             f" or an existing directory (default: "
                             f"{OUTPUT_FOLDER / DEFAULT_NAME}, the folder made when missing)")
    parser.add_argument("--epochs", type=int, default=100, metavar="N",
                        help="training epochs for the two-moons MLP (default: 100)")
    parser.add_argument("--no-train", action="store_true",
                        help="skip training the MLP")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data and the initial weights (default: 0)")
    parser.add_argument("--version", action="version", version=f"microgrid {version()}")
    return parser


def _export_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{prog} export",
        description="Write a self-contained HTML page that steps through the forward pass "
                    "and backprop of an example, node by node.")
    parser.add_argument("path", nargs="?", type=Path, default=None, metavar="PATH",
                        help=f"the HTML file to write (default: "
                             f"{OUTPUT_FOLDER / '<example>.html'}, the folder made when "
                             "missing)")
    parser.add_argument("--example", choices=sorted(EXAMPLES), default="slide",
                        help="which example (default: slide, f = (x + y)·z)")
    return parser


def parse(words: Sequence[str], prog: str = "microgrid") -> argparse.Namespace:
    """The command line's arguments; ``command`` is ``"export"`` when the first word is
    ``export``, else ``"demo"``. A bad argument exits with status 2 (argparse)."""
    words = list(words)
    if words[:1] == ["export"]:
        args = _export_parser(prog).parse_args(words[1:])
        args.command = "export"
    else:
        args = _parser(prog).parse_args(words)
        args.command = "demo"
    return args


def output_path(out: str | None) -> Path:
    """Where the diagram goes, checked before any work: raises :class:`UsageError`.

    ``None`` means ``microgrid-output/slide.svg`` under the current directory (the folder is
    made when the diagram is written); an existing directory gets ``slide.svg`` inside it;
    any other path must end in a known suffix and lie in an existing, writable directory.
    """
    if out is None:
        return _in_output_folder(DEFAULT_NAME, "--out")
    path = Path(out)
    if out.strip() == "":
        raise UsageError("--out is empty; give a file (.svg, .png, .gv, .dot) or a directory")
    if path.is_dir():
        path = path / DEFAULT_NAME
    elif out.endswith(("/", os.sep)):
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


def _in_output_folder(name: str, option: str) -> Path:
    """``OUTPUT_FOLDER / name``, refused with :class:`UsageError` when the folder cannot be
    made or written (``option`` names the argument that would choose another place)."""
    folder, path = OUTPUT_FOLDER, OUTPUT_FOLDER / name
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{str(folder)!r} is in the way: it is not a directory; give "
                         f"{option} to write elsewhere")
    where = folder if folder.is_dir() else Path(".")
    if not os.access(where, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {str(path)!r}: the directory {str(where)!r} is not "
                         f"writable; give {option} to write elsewhere")
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


def _slide(say: Printer) -> Value:
    """Print the slide's forward and backward steps; returns f, back-propagated."""
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
    return f


def _diagram(f: Value, out: Path) -> str:
    """Write the slide's diagram to ``out`` (its DOT source, when no renderer is installed);
    returns what to tell the user. Raises ``OSError`` when it cannot be written."""
    from .viz import draw_dot
    from .viz.render import RendererNotFoundError

    diagram = draw_dot(f, show_local=True, show_contribution=True,
                       title="f = (x + y)·z")
    out.parent.mkdir(exist_ok=True)  # the output folder, when it is the default
    try:
        path = diagram.write(out)
    except RendererNotFoundError as e:
        source = diagram.write(out.with_suffix(".gv"))
        return f"\nNo diagram image: {e}\nThe DOT source is in {source}"
    return f"\nDiagram written to {path}"


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


def _export(args: argparse.Namespace, prog: str) -> int:
    """Write the chosen example's walk-through; 0 written, 1 it could not be written."""
    from .viz.player import export_html

    build, title = EXAMPLES[args.example]
    try:
        path = args.path
        if path is None:
            path = _in_output_folder(f"{args.example}.html", "PATH")
            path.parent.mkdir(exist_ok=True)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    try:
        written = export_html(path, build(), title=f"Backprop step by step: {title}",
                              hide_constants=args.example == "worked")
    except (OSError, ValueError, RuntimeError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    print(f"Walk-through written to {written}")
    return 0


def _demo(args: argparse.Namespace, prog: str) -> int:
    try:
        if args.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
        out = output_path(args.out)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    say = _printer()
    f = _slide(say)
    try:
        message = _diagram(f, out)
    except OSError as e:
        print(f"{prog}: error: cannot write the diagram: {e}", file=sys.stderr)
        return 1
    say(message)
    if not args.no_train:
        _train(args.epochs, args.seed, say)
    return 0


def _quiet_stdout() -> None:
    """Point stdout's file descriptor at the null device, so that the interpreter's last
    flush of a closed pipe raises nothing (the Python documentation's advice on SIGPIPE)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file: nothing left to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo or ``export``; returns the exit status (0 done, 1 the file could not be
    written, 2 a bad argument, 141 stdout was closed early)."""
    prog = _prog()
    try:
        try:
            args = parse(sys.argv[1:] if argv is None else argv, prog)
            return (_export(args, f"{prog} export") if args.command == "export"
                    else _demo(args, prog))
        finally:
            sys.stdout.flush()  # a closed pipe shows here at the latest, not at exit
    except BrokenPipeError:  # `microgrid | head -1`: the reader has all it wanted
        _quiet_stdout()
        return CLOSED_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
