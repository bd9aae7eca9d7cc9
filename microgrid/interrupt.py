"""Ctrl-C during training: stop after the step in progress, never in the middle of one.

:func:`stop_requested` is a context manager giving a flag (``flag[0]``) that the first
SIGINT (Ctrl-C, the Jupyter kernel's interrupt) sets instead of raising: a loop checks it
after each step, so parameters are never left half updated. A second SIGINT raises
``KeyboardInterrupt`` at once. Signals reach only the main thread, so elsewhere the flag
simply stays False. The previous handler is restored on exit.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["stop_requested"]


@contextlib.contextmanager
def stop_requested() -> Iterator[list[bool]]:
    """While the block runs, SIGINT sets ``flag[0] = True`` (a second one raises)."""
    flag = [False]
    previous = (signal.getsignal(signal.SIGINT)
                if threading.current_thread() is threading.main_thread() else None)
    if previous is None:
        yield flag
        return

    def ask_to_stop(signum: int, frame: Any) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    signal.signal(signal.SIGINT, ask_to_stop)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
