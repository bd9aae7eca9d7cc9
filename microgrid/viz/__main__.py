"""``python -m microgrid.viz PATH [--example slide|neuron|worked]``: write a backprop
walk-through as one self-contained HTML page (see :mod:`microgrid.viz.player`)."""

from .player import main

if __name__ == "__main__":
    raise SystemExit(main())
