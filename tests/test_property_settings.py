"""Property-based tests draw the same examples on every run; ``--fuzz N`` draws N fresh ones.

Each check runs pytest with this suite's conftest on two small property tests, one with
its own ``@settings(max_examples=5, derandomize=True)``, one with none, both writing the
examples they were given to a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

CONFTEST = Path(__file__).with_name("conftest.py").read_text(encoding="utf-8")

PROPERTY_TESTS = """
from hypothesis import given, settings, strategies as st

def record(name, x):
    with open(name, "a") as f:
        f.write(repr(x) + "\\n")

@settings(max_examples=5, derandomize=True)
@given(st.integers())
def test_with_its_own_settings(x):
    record("own.txt", x)

@given(st.floats(allow_nan=False))
def test_with_the_default_settings(x):
    record("default.txt", x)
"""


def drawn(pytester: pytest.Pytester, *args: str,
          subprocess: bool = False) -> tuple[list[str], list[str]]:
    for name in ("own.txt", "default.txt"):
        (pytester.path / name).unlink(missing_ok=True)
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = run("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=2)
    return tuple(  # type: ignore[return-value]
        (pytester.path / name).read_text().splitlines() for name in ("own.txt", "default.txt"))


@pytest.fixture
def project(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_props=PROPERTY_TESTS)
    outer = settings.default
    yield pytester
    # an in-process run loads its profiles into this process: give ours back
    settings.register_profile("outer", outer)
    settings.load_profile("outer")


@pytest.mark.slow  # runs pytest twice in fresh processes
def test_property_tests_draw_the_same_examples_on_every_run_and_keep_no_database(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # each run in a fresh process, as a user runs the suite (Hypothesis also draws the
    # constants of the modules a process has loaded, so in-process runs could differ)
    monkeypatch.delenv("CI", raising=False)
    first = drawn(project, subprocess=True)
    monkeypatch.setenv("CI", "true")  # Hypothesis's own CI profile must not change them
    assert drawn(project, subprocess=True) == first
    assert len(first[0]) >= 5 and len(first[1]) >= 100
    assert not (project.path / ".hypothesis" / "examples").exists()


@pytest.mark.slow  # runs pytest three times
def test_the_fuzz_flag_gives_every_property_test_n_fresh_random_examples(
        project: pytest.Pytester) -> None:
    fixed = drawn(project)
    one = drawn(project, "--fuzz", "37")
    two = drawn(project, "--fuzz", "37")
    for a, b, c in zip(fixed, one, two):
        assert 37 <= len(b) <= 40 and 37 <= len(c) <= 40  # (a failing example reruns)
        assert b != c and b != a
    assert not (project.path / ".hypothesis" / "examples").exists()
