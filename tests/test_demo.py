"""``python -m microgrid``: the slide's steps, the diagram file, a trained MLP."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from microgrid.__main__ import main
from microgrid.viz import render as rendering


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "microgrid", *args], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.slow
def test_the_demo_prints_the_steps_writes_the_svg_and_trains(tmp_path: Path) -> None:
    out = tmp_path / "slide.svg"
    done = run("--out", str(out), "--epochs", "60")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "[2] q = x + y = -2 + 5 = 3" in text
    assert "[4] f = q · z = 3 · (-4) = -12" in text
    assert "x: local ∂q/∂x = 1   contribution -4 × 1 = -4   ∂f/∂x: 0 → -4" in text
    assert "So f = -12, ∂f/∂x = -4, ∂f/∂y = -4, ∂f/∂z = 3." in text
    if rendering.find_renderer("svg") is not None:
        assert f"Diagram written to {out}" in text
        svg = ET.parse(out).getroot()
        texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
        assert {"data -12", "grad -4", "∂q/∂x = 1"} <= texts
    accuracy = float(text.split("Training accuracy: ")[1].split("%")[0])
    assert accuracy >= 90.0
    assert "fit: 100%" in done.stderr  # the progress bar


@pytest.mark.slow
def test_no_train_and_help() -> None:
    done = run("--no-train", "--out", str(Path("/nonexistent-dir") / "x.gv"))
    assert done.returncode == 2  # an unwritable path is an error, not silence
    assert done.stderr.strip().splitlines() == [
        "python -m microgrid: error: --out '/nonexistent-dir/x.gv': "
        "the directory '/nonexistent-dir' does not exist"]
    helped = run("--help")
    assert helped.returncode == 0
    for option in ("--out", "--epochs", "--no-train", "--seed", "--version"):
        assert option in helped.stdout


def test_no_train_skips_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-train", "--out", str(tmp_path / "f.gv")]) == 0
    out = capsys.readouterr().out
    assert "Training" not in out
    assert (tmp_path / "f.gv").read_text().startswith("digraph microgrid")


def test_without_a_renderer_the_demo_writes_the_dot_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(rendering, "available_renderers", lambda: [])
    assert main(["--no-train", "--out", str(tmp_path / "f.svg")]) == 0
    out = capsys.readouterr().out
    assert "No Graphviz renderer" in out and "[render]'" in out
    assert not (tmp_path / "f.svg").exists()
    assert "{ f | data -12 | grad 1 }" in (tmp_path / "f.gv").read_text()
