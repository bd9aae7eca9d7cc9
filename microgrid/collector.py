"""The cyclic garbage collector and microgrid graphs: :func:`gc_paused`.

A microgrid graph holds no reference cycles (nodes keep their operands, never a closure
that points back at themselves), so reference counting alone frees a graph the moment it
goes out of scope. Python's cyclic collector adds nothing for such graphs: it only
traverses live nodes again and again, which on large graphs is about half of a training
step. This module relies on that no-cycles rule of the engine and imports nothing of ours.

The collector's switch is process-wide, so the pauses of all threads are counted together
under one lock: checking the switch and flipping it is one step that no other thread's
block can split.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Iterator

__all__ = ["gc_paused"]

_lock = threading.Lock()
_active = 0  # gc_paused() blocks running now, in every thread together
_restore = False  # switch the collector on when the last of them ends
_mine = threading.local()  # .depth: the blocks running in this thread


def _enter() -> None:
    global _active, _restore
    with _lock:
        if _active == 0:
            _restore = gc.isenabled()
        elif gc.isenabled():  # someone called gc.enable() while paused: it holds after
            _restore = True
        _active += 1
        _mine.depth = getattr(_mine, "depth", 0) + 1
        gc.disable()


def _exit() -> None:
    global _active, _restore
    with _lock:
        _active -= 1
        _mine.depth = getattr(_mine, "depth", 1) - 1
        if gc.isenabled():  # someone called gc.enable() while paused: it holds after
            _restore = True
        if _active == 0:
            if _restore:
                gc.enable()
        else:
            gc.disable()


def _after_fork_in_child() -> None:
    """Only the forking thread lives on in a child process: the other threads' blocks
    never end there, so count this thread's alone (and switch the collector back on if
    none of them is running and it was on)."""
    global _lock, _active
    _lock = threading.Lock()
    _active = getattr(_mine, "depth", 0)
    if _active == 0 and _restore:
        gc.enable()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block.

    Safe for microgrid graphs: nodes hold no reference cycles, so reference counting alone
    frees a graph the moment it goes out of scope; the collector would only traverse live
    nodes again and again (on large graphs, about half of a training step). Cyclic garbage
    made by other code meanwhile (in any thread) waits for the first collection after it.

    The collector's switch is process-wide, so blocks nest and overlap across threads:
    the collector is off while at least one block runs, anywhere. When the last running
    block ends, it is switched back on if it was on when the first of them began, or if
    ``gc.enable()`` was called while they ran; otherwise it stays off. So a
    ``gc.disable()`` made before the blocks holds after them, while one made inside a
    block is undone at the end if the collector was on before (call it after the block).
    In a process forked while blocks run, only the forking thread's blocks go on: the rule
    applies to them (with none, the collector is switched back on at once if it was on).
    """
    _enter()
    try:
        yield
    finally:
        _exit()
