"""Argument checks shared by the learning modules (nn, losses, optim, data, train,
serialization): each returns the cleaned value or raises with a message naming the argument.

numpy is never imported here. Arrays and numpy scalars are recognised by the module their
type comes from (``type(x).__module__ == "numpy"``) and turned into Python lists and numbers
with their own ``tolist()`` / ``item()``, so numpy stays optional.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "choice",
    "count",
    "flag",
    "is_numpy",
    "plain",
    "real",
    "rows",
    "seed",
    "sequence",
    "targets",
]


def is_numpy(x: object) -> bool:
    """Whether ``x`` is a numpy array or numpy scalar (without importing numpy)."""
    return type(x).__module__ == "numpy"


def plain(x: Any) -> Any:
    """numpy data as Python data: an array as nested lists, a numpy scalar as int/float/bool;
    anything else unchanged."""
    if is_numpy(x):
        return x.tolist() if hasattr(x, "shape") and x.shape != () else x.item()
    return x


def _kind(x: object) -> str:
    return f"{type(x).__name__}: {x!r}" if len(repr(x)) < 60 else type(x).__name__


def count(n: object, name: str, *, least: int = 1, most: int | None = None) -> int:
    """An int (numpy ints too, never a bool) with ``least <= n`` (and ``n <= most``)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_kind(n)}")
    value = int(n)
    if value < least:
        raise ValueError(f"{name} must be at least {least}, got {value}")
    if most is not None and value > most:
        raise ValueError(f"{name} must be at most {most}, got {value}")
    return value


def real(x: object, name: str, *, low: float = -math.inf, high: float = math.inf,
         low_ok: bool = True, high_ok: bool = True) -> float:
    """A finite real number (numpy floats and ints too, never a bool) in the interval from
    ``low`` to ``high`` (ends included when ``low_ok`` / ``high_ok``)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_kind(x)}")
    try:
        value = float(x)
    except OverflowError:
        value = math.inf
    above = value >= low if low_ok else value > low
    below = value <= high if high_ok else value < high
    if not (math.isfinite(value) and above and below):
        lo = "[" if low_ok and math.isfinite(low) else "("
        hi = "]" if high_ok and math.isfinite(high) else ")"
        raise ValueError(f"{name} must be in {lo}{low:g}, {high:g}{hi} (finite), "
                         f"got {value!r}")
    return value


def choice(value: object, choices: Iterable[str], name: str) -> str:
    """One of the strings ``choices``."""
    options = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {options}; got {_kind(value)}")
    if value not in choices:
        who, _, arg = name.rpartition(": ")
        raise ValueError(f"{who + ': ' if who else ''}unknown {arg} {value!r}; "
                         f"choose one of {options}")
    return value


def flag(x: object, name: str) -> bool:
    """True or False (numpy bools too); a string such as ``'no'`` is refused."""
    if type(x).__name__ == "bool_" and is_numpy(x):
        return bool(x)
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be True or False, got {_kind(x)}")
    return x


def seed(x: object, name: str = "seed") -> int | None:
    """None or an int (numpy ints too), as ``random.Random`` takes it."""
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an int or None, got {_kind(x)}")
    return int(x)


def sequence(x: object, name: str) -> Sequence[Any]:
    """A list or tuple (a numpy array becomes a list); strings and bare numbers refused."""
    x = plain(x)
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"{name} must be a list, tuple or numpy array, got {_kind(x)}")
    return x


def rows(X: object, name: str = "X") -> list[Any]:
    """A dataset's inputs as a list of rows (numpy arrays and numpy rows become lists)."""
    xs = sequence(X, name)
    return [plain(r) for r in xs]


def targets(y: object, name: str = "y") -> list[Any]:
    """Targets as Python data: numpy ints become ``int`` (class labels), numpy floats
    ``float``, numpy arrays lists; a bool label is refused (it would pass for an int)."""
    ys = [plain(t) for t in sequence(y, name)]
    for i, t in enumerate(ys):
        if isinstance(t, bool):
            raise TypeError(f"{name}[{i}] is a bool; use 0/1 class labels or float targets")
        if isinstance(t, list):
            ys[i] = [plain(v) for v in t]
    return ys
