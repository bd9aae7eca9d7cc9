"""The cyclic garbage collector and microgrid graphs: :func:`gc_paused`.

A microgrid graph holds no reference cycles (nodes keep their operands, never a closure
that points back at themselves), so reference counting alone frees a graph the moment it
goes out of scope. Python's cyclic collector adds nothing for such graphs: it only
traverses live nodes again and again, which on large graphs is about half of a training
step. This module relies on that no-cycles rule of the engine and imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block, then restore its state.

    Safe for microgrid graphs: nodes hold no reference cycles, so reference counting alone
    frees a graph the moment it goes out of scope; the collector would only traverse live
    nodes again and again (on large graphs, about half of a training step). Cyclic garbage
    made by other code inside the block waits for the next collection after it. The
    collector's state is process-wide: the block leaves it as it found it (disabled stays
    disabled), and a block in another thread may end the pause early, which only costs time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
