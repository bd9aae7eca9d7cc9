"""The backends by name: a :class:`~.tape.Tape` in, a replay function out."""

from __future__ import annotations

from collections.abc import Callable

from .python_backend import PythonReplay
from .tape import Tape

__all__ = ["BACKENDS", "Replay", "replayer"]

Replay = Callable[..., tuple[list[float], list[float]]]
"""``(wrt_values, input_values, wrt_grads) -> (output values, wrt_grads + ∂loss/∂wrt)``;
``wrt_grads`` may be omitted (zeros); ``input_values`` may be a 1-D float64 numpy array."""

BACKENDS = ("python", "numpy")


def replayer(tape: Tape, backend: str = "python") -> Replay:
    """A function ``(wrt_values, input_values[, wrt_grads]) -> (output values, gradients)``.

    Raises :class:`~.tape.NotFinite` when any value or gradient is not finite (eager mode
    would raise there), :class:`~.tape.GuardFailed` when a guard comes out differently; use
    :class:`~.step.CompiledStep` for the handling of changed graphs.
    """
    if backend == "python":
        return PythonReplay(tape)
    if backend == "numpy":
        from .numpy_backend import NumpyReplay  # numpy is imported only here

        return NumpyReplay(tape)
    raise ValueError(f"compile: unknown backend {backend!r}; choose 'python' or 'numpy'")
