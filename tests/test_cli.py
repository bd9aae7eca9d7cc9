"""The command line: where the diagram goes, `--out` checked first, `--version`, ASCII stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import microgrid
from microgrid import render as rendering
from microgrid.__main__ import DEFAULT_NAME, UsageError, output_path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [environment.get("PYTHONPATH")])])
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "microgrid", *args], capture_output=True,
                          text=True, timeout=120, check=False, cwd=cwd, env=environment,
                          encoding="utf-8")


def written(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_by_default_the_diagram_goes_into_the_current_directory(tmp_path: Path) -> None:
    done = run("--no-train", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    if rendering.find_renderer("svg") is not None:
        assert written(tmp_path) == [DEFAULT_NAME]
        assert f"Diagram written to {DEFAULT_NAME}" in done.stdout
        assert (tmp_path / DEFAULT_NAME).read_text(encoding="utf-8").lstrip().startswith("<")
    else:
        assert written(tmp_path) == ["microgrid-slide.gv"]


def test_an_existing_directory_as_out_gets_the_default_name(tmp_path: Path) -> None:
    (tmp_path / "pictures").mkdir()
    done = run("--no-train", "--out", "pictures", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert written(tmp_path / "pictures") in ([DEFAULT_NAME], ["microgrid-slide.gv"])


@pytest.mark.parametrize(("out", "message"), [
    ("missing-dir/slide.svg", "--out 'missing-dir/slide.svg': the directory 'missing-dir' "
                              "does not exist"),
    ("slide.txt", "--out 'slide.txt': cannot tell the format; the name must end in .svg, .png, "
                  ".gv, .dot (or be an existing directory)"),
    ("missing-dir/", "--out 'missing-dir/': no such directory"),
    ("", "--out is empty; give a file (.svg, .png, .gv, .dot) or a directory"),
])
def test_a_bad_out_is_one_line_exit_2_before_any_work(
        tmp_path: Path, out: str, message: str) -> None:
    done = run("--out", out, cwd=tmp_path)  # training is on: it must not start
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"python -m microgrid: error: {message}"]
    assert done.stdout == ""  # nothing ran: no steps printed, no training
    assert written(tmp_path) == []


def test_out_that_is_a_directory_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.svg").mkdir()
    (tmp_path / "x.svg" / DEFAULT_NAME).mkdir()
    with pytest.raises(UsageError, match="exists and cannot be overwritten"):
        output_path(str(tmp_path / "x.svg"))


def test_output_path_resolves_names(tmp_path: Path) -> None:
    assert output_path(None) == Path(DEFAULT_NAME)
    assert output_path(str(tmp_path)) == tmp_path / DEFAULT_NAME
    assert output_path(str(tmp_path / "f.PNG")) == tmp_path / "f.PNG"
    assert output_path(str(tmp_path / "f.dot")) == tmp_path / "f.dot"


def test_a_bad_epochs_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run("--epochs", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "python -m microgrid: error: --epochs must be at least 1, got 0"]
    assert written(tmp_path) == []


def test_version_names_the_installed_distribution_or_the_package() -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        expected = version("microgrid-autodiff")
    except PackageNotFoundError:
        expected = microgrid.__version__
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"microgrid {expected}"


def test_stdout_that_cannot_encode_the_symbols_gets_ascii(tmp_path: Path) -> None:
    done = run("--epochs", "2", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "UnicodeEncodeError" not in done.stderr and "Traceback" not in done.stderr
    text = done.stdout
    assert text.isascii()
    assert "[4] f = q * z = 3 * (-4) = -12" in text
    assert "x: local dq/dx = 1   contribution -4 * 1 = -4   df/dx: 0 -> -4" in text
    assert "So f = -12, df/dx = -4, df/dy = -4, df/dz = 3." in text
    assert "Training accuracy: " in text
    assert done.stderr.isascii()  # the progress bar falls back to ASCII too
    assert "fit: 100%" in done.stderr


def test_utf8_stdout_keeps_the_math_symbols(tmp_path: Path) -> None:
    done = run("--no-train", cwd=tmp_path, env={"PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert "So f = -12, ∂f/∂x = -4, ∂f/∂y = -4, ∂f/∂z = 3." in done.stdout


def test_the_console_script_runs_the_same_demo(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / ("microgrid.exe" if os.name == "nt" else "microgrid")
    if not script.exists():  # installed by `pip install -e '.[dev]'`, as CI does
        message = f"no console script at {script} (pip install -e .)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run([str(script), "--no-train", "--out", "nowhere/f.svg"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "microgrid: error: --out 'nowhere/f.svg': the directory 'nowhere' does not exist"]
    done = subprocess.run([str(script), "--no-train"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    assert "So f = -12, ∂f/∂x = -4, ∂f/∂y = -4, ∂f/∂z = 3." in done.stdout


def test_export_writes_the_slide_walk_through_as_one_html_file(tmp_path: Path) -> None:
    from microgrid.__main__ import main
    from microgrid.stepper import backward_steps
    from microgrid.viz.player import slide_example

    target = tmp_path / "slide.html"
    assert main(["export", str(target)]) == 0
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<script src=" not in html and "http://" not in html.replace("http://www.w3.org", "")
    # the stepper's numbers for the slide are in the page: ∂f/∂x = -4, ∂f/∂z = 3
    assert len(backward_steps(slide_example())) == 2 and "-12" in html
    assert main(["export", str(tmp_path / "missing" / "x.html")]) == 1
