"""Shared pytest options and fixtures.

``docs_site``: the documentation site, built once per test session (only the first
notebook executed) for the tests of its pages, in files and in a browser.

Property-based tests (Hypothesis) run the same fixed set of examples on every run, with or
without ``CI`` set: the ``microgrid`` settings profile below is derandomized (examples come
from a hash of each test, not from a fresh random seed) and keeps no example database, so
nothing drawn once is replayed forever. ``pytest --fuzz N`` runs every property test with N
fresh random examples instead.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]  # tests/test_property_settings.py runs pytest on small files

settings.register_profile("microgrid", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.load_profile("microgrid")  # before the test modules are imported: they inherit it


# -- property-based fuzz budget ---------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz", type=int, default=0, metavar="N",
        help="run every property-based test with N fresh random examples (a longer, "
             "randomized run) instead of its fixed, derandomized examples")


def _fuzz(config: pytest.Config) -> int:
    return int(config.getoption("--fuzz"))


def pytest_configure(config: pytest.Config) -> None:
    n = _fuzz(config)
    if n < 0:
        raise pytest.UsageError(f"--fuzz takes a number of examples >= 1, got {n}")
    if n:
        settings.register_profile("microgrid-fuzz", settings.get_profile("microgrid"),
                                  max_examples=n, derandomize=False, database=None)
        settings.load_profile("microgrid-fuzz")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--fuzz N``, a property test's own ``@settings(max_examples=...)`` and
    ``derandomize=True`` give way to N fresh random examples."""
    n = _fuzz(config)
    if not n:
        return
    for item in items:
        fn = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        if not getattr(fn, "is_hypothesis_test", False):
            continue
        # Hypothesis keeps a test's settings here (its own pytest plugin rewrites it too);
        # if a release moves it, say so rather than run the small budget silently
        own = getattr(fn, "_hypothesis_internal_use_settings", None)
        if not isinstance(own, settings):
            raise pytest.UsageError(f"--fuzz cannot reach the settings of {item.nodeid}")
        fn._hypothesis_internal_use_settings = settings(
            own, max_examples=n, derandomize=False, database=None)


@pytest.fixture
def fuzz_examples(request: pytest.FixtureRequest) -> Callable[[int], tuple[int, bool]]:
    """``fuzz_examples(n)`` -> (number of examples, randomized?): ``n`` and a fixed,
    derandomized run by default; the ``--fuzz N`` value and a fresh random run with it
    (for property tests that build their ``@given`` function inside the test)."""
    longer = _fuzz(request.config)

    def budget(n: int) -> tuple[int, bool]:
        return (longer, True) if longer > 0 else (n, False)

    return budget


# -- the documentation site, built once -------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` into a temporary folder, executing only notebook 01 (the
    others are rendered as committed); the build's output is kept beside it, in
    ``build.log``."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_jupyter"):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            message = f"{module} is not installed (pip install -e '.[dev]')"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    out = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get(
               "PYTHONPATH")])]),
           "MICROGRID_DOCS_EXECUTE": "01_*",     # execute the first notebook only
           "MKDOCS_JUPYTER_CACHE": "false",      # really execute it, write no cache
           "MPLBACKEND": "Agg",
           "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    (out.parent / "build.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return out
