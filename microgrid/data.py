"""Small 2-D classification datasets, generated in pure Python from a seed.

Every generator returns ``(X, y)``: ``X`` a list of points (each a list of floats) and ``y``
a list of ``int`` class labels. **Label convention:** classes are numbered ``0 .. k−1`` (two
classes: 0 and 1). The hinge loss wants −1/+1; :func:`to_pm1` converts (0 → −1, 1 → +1),
and :func:`one_hot` turns labels into target vectors.

The same ``seed`` always gives the same data (``random.Random(seed)``; nothing global is
touched). ``noise`` is the standard deviation of Gaussian noise added to each coordinate
(for :func:`make_spirals`, to the angle; for :func:`make_blobs`, the spread of each blob).

scikit-learn's keyword names work too: ``n_samples`` for ``n``, ``random_state`` for
``seed`` (an int or None), and ``cluster_std`` for :func:`make_blobs`' ``noise``; giving
both spellings of one argument is an error.

This module imports nothing of microgrid but its argument checks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from . import _validate as check

__all__ = [
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "one_hot",
    "to_pm1",
]

Dataset = tuple[list[list[float]], list[int]]


MAX_SAMPLES = 10_000_000
"""The most points a generator makes (each is a Python list; more would exhaust memory)."""


def _check_n(n: object, name: str, least: int = 1, what: str = "n") -> int:
    return check.count(n, f"{name}: {what}", least=least, most=MAX_SAMPLES)


def _check_noise(noise: object, name: str, what: str = "noise") -> float:
    try:
        return check.real(noise, f"{name}: {what}", low=0.0)
    except ValueError:
        raise ValueError(f"{name}: {what} must be a finite number >= 0, got {noise!r}") from None


def _alias(ours: Any, theirs: Any, default: Any, names: str, name: str) -> Any:
    """One argument given under our name or scikit-learn's (not both)."""
    if theirs is not None:
        if ours is not None:
            raise TypeError(f"{name}: give {names.replace('/', ' or ')}, not both")
        return theirs
    return default if ours is None else ours


def _args(name: str, n: Any, n_samples: Any, seed: Any, random_state: Any,
          default_n: int, least: int) -> tuple[int, random.Random]:
    n = _check_n(_alias(n, n_samples, default_n, "n/n_samples", name), name, least)
    if random_state is not None and not isinstance(random_state, int):
        raise TypeError(f"{name}: random_state must be an int or None (a numpy RandomState "
                        f"is not supported), got {type(random_state).__name__}")
    chosen = _alias(seed, random_state, 0, "seed/random_state", name)
    return n, random.Random(check.seed(chosen, f"{name}: seed"))


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    """n evenly spaced numbers from start to stop (stop excluded when endpoint is False)."""
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1 if endpoint else n)
    return [start + i * step for i in range(n)]


def _shuffled(X: list[list[float]], y: list[int], rng: random.Random) -> Dataset:
    order = list(range(len(y)))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def _jitter(points: list[list[float]], noise: float, rng: random.Random) -> list[list[float]]:
    """Each coordinate plus noise·N(0, 1); the draws are made even for noise = 0, so the
    shuffle that follows is the same whatever the noise."""
    return [[c + noise * rng.gauss(0.0, 1.0) for c in p] for p in points]


def make_moons(n: int | None = None, noise: float = 0.1, seed: int | None = None, *,
               n_samples: int | None = None, random_state: int | None = None) -> Dataset:
    """Two interleaving half circles: class 0 on (cos t, sin t), class 1 on
    (1 − cos t, ½ − sin t), t ∈ [0, π]; n // 2 points in class 0, the rest in class 1
    (n = 100 and seed = 0 by default)."""
    n, rng = _args("make_moons", n, n_samples, seed, random_state, 100, 2)
    noise = _check_noise(noise, "make_moons")
    n0 = n // 2
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n0)]
    inner = [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, n - n0)]
    X = _jitter(outer + inner, noise, rng)
    return _shuffled(X, [0] * n0 + [1] * (n - n0), rng)


def make_circles(n: int | None = None, noise: float = 0.05, factor: float = 0.5,
                 seed: int | None = None, *, n_samples: int | None = None,
                 random_state: int | None = None) -> Dataset:
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (< 1)."""
    n, rng = _args("make_circles", n, n_samples, seed, random_state, 100, 2)
    noise = _check_noise(noise, "make_circles")
    check.real(factor, "make_circles: factor")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor must be between 0 and 1, got {factor!r}")
    factor = float(factor)
    n0 = n // 2
    outer = [[math.cos(t), math.sin(t)]
             for t in _linspace(0.0, 2 * math.pi, n0, endpoint=False)]
    inner = [[factor * math.cos(t), factor * math.sin(t)]
             for t in _linspace(0.0, 2 * math.pi, n - n0, endpoint=False)]
    X = _jitter(outer + inner, noise, rng)
    return _shuffled(X, [0] * n0 + [1] * (n - n0), rng)


_XOR = (([0.0, 0.0], 0), ([0.0, 1.0], 1), ([1.0, 0.0], 1), ([1.0, 1.0], 0))


def make_xor(n: int | None = None, noise: float = 0.0, seed: int | None = None, *,
             n_samples: int | None = None, random_state: int | None = None) -> Dataset:
    """XOR: the corners (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0, cycled to n points, plus noise.

    The defaults (n = 4, no noise) give the four-row truth table itself, in that order.
    """
    n, rng = _args("make_xor", n, n_samples, seed, random_state, 4, 1)
    noise = _check_noise(noise, "make_xor")
    X = _jitter([list(_XOR[i % 4][0]) for i in range(n)], noise, rng)
    return X, [_XOR[i % 4][1] for i in range(n)]


def make_spirals(n: int | None = None, classes: int = 2, noise: float = 0.2,
                 seed: int | None = None, *, n_samples: int | None = None,
                 random_state: int | None = None) -> Dataset:
    """Interleaved spiral arms, one per class: arm k has radius r ∈ [0, 1] and angle
    4k + 4r plus noise, giving the point (r·sin θ, r·cos θ)."""
    n, rng = _args("make_spirals", n, n_samples, seed, random_state, 100, 2)
    classes = _check_n(classes, "make_spirals", 2, "classes")
    if classes > n:
        raise ValueError(f"make_spirals: classes ({classes}) must be at most n ({n})")
    noise = _check_noise(noise, "make_spirals")
    X: list[list[float]] = []
    y: list[int] = []
    for k in range(classes):
        m = n // classes + (1 if k < n % classes else 0)
        for r in _linspace(0.0, 1.0, m):
            theta = 4.0 * k + 4.0 * r + noise * rng.gauss(0.0, 1.0)
            X.append([r * math.sin(theta), r * math.cos(theta)])
            y.append(k)
    return _shuffled(X, y, rng)


def make_blobs(n: int | None = None, centers: int | Sequence[Sequence[float]] = 2,
               noise: float | None = None, seed: int | None = None, *,
               n_samples: int | None = None, random_state: int | None = None,
               cluster_std: float | None = None) -> Dataset:
    """Gaussian blobs, class k around centre k with standard deviation ``noise`` (0.5 by
    default; scikit-learn calls it ``cluster_std``).

    ``centers`` is a number of blobs (centres evenly spaced on a circle of radius 2) or a
    list of centre points (any dimension).
    """
    n, rng = _args("make_blobs", n, n_samples, seed, random_state, 100, 1)
    noise = _check_noise(_alias(noise, cluster_std, 0.5, "noise/cluster_std", "make_blobs"),
                         "make_blobs")
    centers = check.plain(centers)
    if isinstance(centers, bool):
        raise TypeError("make_blobs: centers must be an int or a list of points, got a bool")
    if isinstance(centers, int):
        centers = _check_n(centers, "make_blobs", 1, "centers")
        points = [[2.0 * math.cos(2 * math.pi * k / centers),
                   2.0 * math.sin(2 * math.pi * k / centers)] for k in range(centers)]
    else:
        rows = check.rows(centers, "make_blobs: centers")
        points = [[check.real(c, f"make_blobs: centers[{i}]") for c in check.sequence(
            p, f"make_blobs: centers[{i}]")] for i, p in enumerate(rows)]
        if not points or len({len(p) for p in points}) != 1 or not points[0]:
            raise ValueError("make_blobs: centers must be a non-empty list of points "
                             "of one dimension")
    k = len(points)
    y = [i % k for i in range(n)]
    X = _jitter([list(points[label]) for label in y], noise, rng)
    return _shuffled(X, y, rng)


def to_pm1(y: Sequence[int]) -> list[int]:
    """Labels 0/1 as −1/+1 (for the hinge loss)."""
    out = []
    for i, label in enumerate(check.targets(y, "to_pm1: y")):
        if label not in (0, 1) or isinstance(label, bool):
            raise ValueError(f"to_pm1: y[{i}] = {label!r}; labels must be 0 or 1")
        out.append(2 * label - 1)
    return out


def one_hot(y: Sequence[int], k: int) -> list[list[float]]:
    """Label j of k classes as the vector with 1.0 at position j and 0.0 elsewhere."""
    k = check.count(k, "one_hot: k")
    out = []
    for i, label in enumerate(check.targets(y, "one_hot: y")):
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < k:
            raise ValueError(f"one_hot: y[{i}] = {label!r}; labels must be ints in 0..{k - 1}")
        out.append([1.0 if j == label else 0.0 for j in range(k)])
    return out
