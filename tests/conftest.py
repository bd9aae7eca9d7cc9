"""Shared pytest options and fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest


# -- property-based fuzz budget ---------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz", type=int, default=0, metavar="N",
        help="run each property-based fuzz test with N random examples (a longer, randomized "
             "run) instead of its small fixed CI budget")


@pytest.fixture
def fuzz_examples(request: pytest.FixtureRequest) -> Callable[[int], tuple[int, bool]]:
    """``fuzz_examples(n)`` -> (number of examples, randomized?): ``n`` and a fixed,
    derandomized run by default; the ``--fuzz N`` value and a fresh random run with it."""
    longer: int = request.config.getoption("--fuzz")

    def budget(n: int) -> tuple[int, bool]:
        return (longer, True) if longer > 0 else (n, False)

    return budget
