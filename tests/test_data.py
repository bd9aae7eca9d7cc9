"""Datasets: shapes, labels, geometry without noise, seeding, helpers and bad input."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from microgrid.data import (
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    one_hot,
    to_pm1,
)

GENERATORS: list[tuple[str, Callable[..., tuple[list[list[float]], list[int]]]]] = [
    ("moons", make_moons), ("circles", make_circles), ("xor", make_xor),
    ("spirals", make_spirals), ("blobs", make_blobs)]


@pytest.mark.parametrize(("name", "make"), GENERATORS, ids=[g[0] for g in GENERATORS])
def test_shapes_and_labels(name: str, make: Any) -> None:
    X, y = make(n=101, noise=0.1, seed=3)
    assert len(X) == len(y) == 101
    assert all(isinstance(p, list) and len(p) == 2 for p in X)
    assert all(type(c) is float for p in X for c in p)
    assert all(type(label) is int for label in y)
    assert set(y) == {0, 1}
    assert abs(y.count(0) - y.count(1)) <= 1


@pytest.mark.parametrize(("name", "make"), GENERATORS, ids=[g[0] for g in GENERATORS])
def test_same_seed_same_data_and_no_global_state(name: str, make: Any) -> None:
    state = random.getstate()
    first = make(n=40, noise=0.2, seed=7)
    assert random.getstate() == state
    assert make(n=40, noise=0.2, seed=7) == first
    assert make(n=40, noise=0.2, seed=8) != first


def test_moons_without_noise_lie_on_their_half_circles() -> None:
    X, y = make_moons(n=50, noise=0.0)
    for (a, b), label in zip(X, y):
        if label == 0:
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:
            assert math.hypot(a - 1, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_moons_noise_is_gaussian_with_the_given_spread() -> None:
    clean, _ = make_moons(n=2000, noise=0.0, seed=1)
    noisy, _ = make_moons(n=2000, noise=0.1, seed=1)
    # the same draws and the same shuffle whatever the noise, so the points pair up
    diffs = [n[k] - c[k] for c, n in zip(clean, noisy) for k in (0, 1)]
    mean = sum(diffs) / len(diffs)
    std = math.sqrt(sum((d - mean) ** 2 for d in diffs) / len(diffs))
    assert abs(mean) < 0.01 and std == pytest.approx(0.1, rel=0.05)


def test_circles_radii() -> None:
    X, y = make_circles(n=60, noise=0.0, factor=0.3)
    for p, label in zip(X, y):
        assert math.hypot(*p) == pytest.approx(1.0 if label == 0 else 0.3)


def test_xor_defaults_to_the_truth_table() -> None:
    assert make_xor() == ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    X, y = make_xor(n=8, noise=0.05, seed=1)
    assert y == [0, 1, 1, 0] * 2
    for (a, b), label in zip(X, y):
        assert (round(a) != round(b)) == bool(label)


def test_spirals_have_one_arm_per_class() -> None:
    X, y = make_spirals(n=90, classes=3, noise=0.0)
    assert sorted(set(y)) == [0, 1, 2] and [y.count(k) for k in range(3)] == [30, 30, 30]
    assert all(math.hypot(*p) <= 1.0 + 1e-12 for p in X)


def test_blobs_gather_around_their_centres() -> None:
    X, y = make_blobs(n=300, centers=[[0.0, 0.0, 5.0], [3.0, 3.0, -5.0]], noise=0.2, seed=0)
    assert len(X[0]) == 3
    for k, centre in enumerate([[0.0, 0.0, 5.0], [3.0, 3.0, -5.0]]):
        pts = [p for p, label in zip(X, y) if label == k]
        for d in range(3):
            assert sum(p[d] for p in pts) / len(pts) == pytest.approx(centre[d], abs=0.1)
    X, y = make_blobs(n=30, centers=3, noise=0.0)
    for p, label in zip(X, y):
        angle = 2 * math.pi * label / 3
        assert p == pytest.approx([2 * math.cos(angle), 2 * math.sin(angle)])


def test_label_helpers() -> None:
    assert to_pm1([0, 1, 1, 0]) == [-1, 1, 1, -1]
    assert one_hot([2, 0], 3) == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match=r"y\[1\] = 2; labels must be 0 or 1"):
        to_pm1([0, 2])
    with pytest.raises(ValueError, match=r"y\[0\] = 3; labels must be ints in 0..2"):
        one_hot([3], 3)


@pytest.mark.parametrize(("name", "make"), GENERATORS, ids=[g[0] for g in GENERATORS])
def test_bad_arguments_are_named(name: str, make: Any) -> None:
    with pytest.raises(ValueError, match="n must be at least"):
        make(n=0)
    with pytest.raises(TypeError, match="n must be an int"):
        make(n=10.0)
    with pytest.raises(TypeError, match="n must be an int"):
        make(n=True)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        make(n=10, noise=-0.1)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        make(n=10, noise=math.nan)


def test_bad_shape_arguments() -> None:
    with pytest.raises(ValueError, match="factor must be between 0 and 1"):
        make_circles(factor=1.5)
    with pytest.raises(ValueError, match=r"classes.*at least 2"):
        make_spirals(classes=1)
    with pytest.raises(ValueError, match="centers must be a non-empty list"):
        make_blobs(centers=[[0.0, 0.0], [1.0]])
    with pytest.raises(TypeError, match="centers must be an int or a list"):
        make_blobs(centers=True)
