"""``microgrid.explorer`` is :mod:`microgrid.viz.explorer` (the explorer), kept at its old path."""

import sys

from .viz import explorer as _impl
from .viz.explorer import Explorer, explore, in_notebook

__all__ = ["Explorer", "explore", "in_notebook"]

sys.modules[__name__] = _impl  # one module object: monkeypatching either path patches both
