"""Argument checks shared by the learning modules (nn, losses, optim, data, train,
serialization): each returns the cleaned value or raises with a message naming the argument.

numpy is never imported here. Arrays and numpy scalars are recognised by the module their
type comes from (``type(x).__module__ == "numpy"``) and turned into Python lists and numbers
with their own ``tolist()`` / ``item()``, so numpy stays optional.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

__all__ = [
    "choice",
    "count",
    "flag",
    "is_numpy",
    "path",
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
        if math.isinf(low) and math.isinf(high):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
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


def _number(v: Any, name: str) -> None:
    """A finite real number (an int or a float; numpy scalars are Python numbers by now)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_kind(v)}")
    if isinstance(v, float) and v - v != 0.0:  # nan and ±inf
        raise ValueError(f"{name} must be a finite number, got {v!r}")


def _shape(x: Any, name: str) -> Any:
    """The shape of a row of finite real numbers: None for a number, a tuple of the items'
    shapes for a list or tuple; the first item that is not a finite number is named."""
    if isinstance(x, (list, tuple)):
        if x and all(type(v) is float for v in x):  # the common row: floats, checked at once
            total = sum(x)
            if total - total == 0.0:
                return (None,) * len(x)
        return tuple(_shape(v, f"{name}[{j}]") for j, v in enumerate(x))
    _number(x, name)
    return None


_ROW, _NUMBER = {list, tuple}, {float, int}


def _plain_table(xs: list[Any]) -> bool:
    """Whether ``xs`` is plainly a table of finite numbers: numbers, or flat lists (tuples)
    of numbers of one length, their sum finite. A quick pass that names nothing; when it
    says no, the rows are walked one by one to name the first bad item (100,000 rows of 2
    floats: 0.05 s here, 0.6 s walked one by one)."""
    items: Any = xs
    if type(xs[0]) in _ROW:
        if not set(map(type, xs)) <= _ROW or len(set(map(len, xs))) != 1:
            return False
        items = list(chain.from_iterable(xs))
    if not set(map(type, items)) <= _NUMBER:
        return False
    total = sum(items, 0.0)
    return total - total == 0.0


def _describe(shape: Any) -> str:
    if shape is None:
        return "a number"
    many = "s" if len(shape) != 1 else ""
    if all(s is None for s in shape):
        return f"{len(shape)} number{many}"
    return f"a nested list of {len(shape)} item{many}"


def rows(X: object, name: str = "X", *, numbers: bool = False) -> list[Any]:
    """A dataset's inputs as a list of rows (numpy arrays and numpy rows become lists).

    With ``numbers=True`` every row must hold finite real numbers (ints or floats, never a
    bool) and have the shape of the first row, as a table does; the first row that does not
    is named by its index (``X[9][0] must be a finite number, got nan``)."""
    xs = [plain(r) for r in sequence(X, name)]
    if numbers and xs and not _plain_table(xs):
        first = _shape(xs[0], f"{name}[0]")
        arg = name.rpartition(": ")[2]
        for i in range(1, len(xs)):
            shape = _shape(xs[i], f"{name}[{i}]")
            if shape != first:
                raise ValueError(f"{name}[{i}] has {_describe(shape)} where {arg}[0] has "
                                 f"{_describe(first)}: every row must have the same shape")
    return xs


def targets(y: object, name: str = "y") -> list[Any]:
    """Targets as Python data: numpy ints become ``int`` (class labels), numpy floats
    ``float``, numpy arrays lists; a bool label is refused (it would pass for an int), and so
    is a number that is not finite (``y[9] must be a finite number, got nan``)."""
    ys = [plain(t) for t in sequence(y, name)]
    for i, t in enumerate(ys):
        if isinstance(t, bool):
            raise TypeError(f"{name}[{i}] is a bool; use 0/1 class labels or float targets")
        if isinstance(t, list):
            t = ys[i] = [plain(v) for v in t]
        if isinstance(t, (list, tuple)):
            for j, v in enumerate(t):
                if isinstance(v, float):
                    _number(v, f"{name}[{i}][{j}]")
        elif isinstance(t, float):
            _number(t, f"{name}[{i}]")
    return ys


def path(p: object, name: str) -> str:
    """A file path (str or ``os.PathLike``) as a non-empty str."""
    if not isinstance(p, (str, os.PathLike)):
        raise TypeError(f"{name}: path must be a str or a path, got {type(p).__name__}")
    text = os.fspath(p)
    if not isinstance(text, str) or not text or "\0" in text:
        raise ValueError(f"{name}: path must be a non-empty str path, got {text!r}")
    return text
