"""The distributions: the sdist holds what its own tests need and they pass from the unpacked
sdist; the wheel built from that sdist carries the package, its metadata and the console
script; `twine check` accepts both."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds the sdist and the wheel

ROOT = Path(__file__).resolve().parent.parent
NAME = "microgrid-autodiff"

# Copied into a scratch directory before building, so the build never writes into the
# checkout (setuptools leaves build/ and *.egg-info next to pyproject.toml).
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "site", ".cache",
                                "*.egg-info",
                                "__pycache__", "*.pyc", ".*_cache", ".hypothesis",
                                ".ipynb_checkpoints")


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel): the sdist built from a copy of the checkout, the wheel from the sdist
    (what `python -m build` does), without build isolation so no download is needed."""
    for module in ("build", "setuptools", "twine"):
        _require(module)
    from importlib.metadata import version

    if int(version("setuptools").split(".")[0]) < 77:  # SPDX license metadata
        message = "setuptools >= 77 is needed to build without isolation (pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORE)
    generated = source / "notebooks" / "microgrid-output"  # as notebook 07 run in JupyterLab
    generated.mkdir(exist_ok=True)
    (generated / "moons_run.html").write_text("<!DOCTYPE html>", encoding="utf-8")
    out = work / "out"
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                           str(out), str(source)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


def test_twine_accepts_the_sdist_and_the_wheel(dists: tuple[Path, Path]) -> None:
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dists)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_wheel_carries_the_package_metadata_and_console_script(
        dists: tuple[Path, Path]) -> None:
    _, wheel = dists
    assert wheel.name == "microgrid_autodiff-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = "microgrid_autodiff-0.1.0.dist-info"
        metadata = Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
    assert {"microgrid/__init__.py", "microgrid/__main__.py", "microgrid/py.typed",
            f"{info}/licenses/LICENSE"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "docs/"))]
    assert "microgrid/micrograd/demo.py" not in names  # the demo's workload: benchmarks/
    assert metadata["Name"] == NAME
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier")
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the SPDX field says it
    extras = metadata.get_all("Provides-Extra")
    assert {"render", "notebook", "fast", "bench", "dev"} <= set(extras)
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("jupyterlab") and 'extra == "notebook"' in r for r in requires)
    assert f'{NAME}[fast,notebook]; extra == "dev"' in requires  # setuptools sorts extras
    assert "[console_scripts]\nmicrogrid = microgrid.__main__:main" in entry_points


def test_the_sdist_runs_its_own_tests(dists: tuple[Path, Path], tmp_path: Path) -> None:
    sdist, _ = dists
    with tarfile.open(sdist) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(tmp_path, filter="data")
        else:  # pragma: no cover - Python without the extraction filters
            tf.extractall(tmp_path)
    (tree,) = tmp_path.iterdir()
    for needed in ("README.md", "LICENSE", "pyproject.toml", "mkdocs.yml",
                   "docs/worked-example.md", "tests/test_engine.py", "tests/test_notebooks.py",
                   "benchmarks/bench.py", "benchmarks/micrograd_demo.py",
                   "microgrid/py.typed", "web/package-lock.json", "docs/lab/worker.js"):
        assert (tree / needed).is_file(), needed
    shipped = sorted(p.name for p in (tree / "notebooks").glob("*.ipynb"))
    assert shipped == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(shipped) == 8
    assert not list(tree.rglob("__pycache__"))
    assert not list(tree.rglob("microgrid-output"))  # what the notebooks generate stays out
    assert not (tree / "web" / "node_modules").exists()  # nothing third-party

    env = {**os.environ, "PYTHONPATH": str(tree)}
    where = subprocess.run([sys.executable, "-c", "import microgrid; print(microgrid.__file__)"],
                           cwd=tree, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).parent == tree / "microgrid"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "tests/test_engine.py", "tests/test_readme.py"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout.splitlines()[-1]
    assert "failed" not in done.stdout.splitlines()[-1]
