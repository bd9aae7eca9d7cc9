"""The command line: where the diagram goes (the output folder, or `--out` checked first),
`export`, `--version`, ASCII stdout, a stdout closed early."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import microgrid
from microgrid.__main__ import (
    CLOSED_PIPE,
    DEFAULT_NAME,
    OUTPUT_FOLDER,
    UsageError,
    main,
    output_path,
)
from microgrid.stepper import backward_steps, forward_steps
from microgrid.viz import render as rendering
from microgrid.viz.examples import neuron_example, slide_example

ROOT = Path(__file__).resolve().parent.parent
needs_renderer = pytest.mark.skipif(
    rendering.find_renderer("svg") is None and not os.environ.get("CI"),
    reason="no Graphviz renderer installed (CI installs one)")


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the checkout first on the path."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [environment.get("PYTHONPATH")])])
    environment.update(env or {})
    return environment


def run(*args: str, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "microgrid", *args], capture_output=True,
                          text=True, timeout=120, check=False, cwd=cwd, env=environment(env),
                          encoding="utf-8")


def written(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder``, as POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_by_default_the_diagram_goes_into_the_output_folder(tmp_path: Path) -> None:
    done = run("--no-train", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    if rendering.find_renderer("svg") is not None:
        assert files_under(tmp_path) == ["microgrid-output/slide.svg"]
        assert "Diagram written to microgrid-output/slide.svg" in done.stdout.replace(os.sep, "/")
        svg = (tmp_path / OUTPUT_FOLDER / DEFAULT_NAME).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<")
    else:
        assert files_under(tmp_path) == ["microgrid-output/slide.gv"]


@pytest.mark.slow
@needs_renderer
def test_the_demo_and_export_write_only_into_the_output_folder_git_ignores(
        tmp_path: Path) -> None:
    """The demo with training, then the export, run in a scratch directory as a contributor
    runs them in the checkout or in notebooks/: every file they make is in the folder the
    checkout's .gitignore ignores at any depth, so `git status` stays clean."""
    assert run("--epochs", "2", cwd=tmp_path).returncode == 0
    assert run("export", cwd=tmp_path).returncode == 0
    made = files_under(tmp_path)
    assert "microgrid-output/slide.html" in made and len(made) == 2, made
    assert all(name.startswith(f"{OUTPUT_FOLDER.as_posix()}/") for name in made), made
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert f"{OUTPUT_FOLDER.as_posix()}/" in ignored  # a folder of that name, at any depth
    if (ROOT / ".git").exists() and shutil.which("git"):  # and git agrees, for each file
        for name in [*made, f"notebooks/{made[0]}"]:
            checked = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index",
                                      "-q", name], check=False)
            assert checked.returncode == 0, f"git does not ignore {name}"


@pytest.mark.slow
def test_an_output_folder_in_the_way_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "microgrid-output").write_text("a file of the user's", encoding="utf-8")
    done = run(cwd=tmp_path)  # training is on: it must not start
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "python -m microgrid: error: 'microgrid-output' is in the way: it is not a directory; "
        "give --out to write elsewhere"]
    assert (tmp_path / "microgrid-output").read_text(encoding="utf-8") == "a file of the user's"
    done = run("export", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "python -m microgrid export: error: 'microgrid-output' is in the way: it is not a "
        "directory; give PATH to write elsewhere"]


@pytest.mark.slow
def test_an_existing_directory_as_out_gets_the_default_name(tmp_path: Path) -> None:
    (tmp_path / "pictures").mkdir()
    done = run("--no-train", "--out", "pictures", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert written(tmp_path) == ["pictures"]
    assert written(tmp_path / "pictures") in ([DEFAULT_NAME], ["slide.gv"])


@pytest.mark.parametrize(("out", "message"), [
    ("missing-dir/slide.svg", "--out 'missing-dir/slide.svg': the directory 'missing-dir' "
                              "does not exist"),
    ("slide.txt", "--out 'slide.txt': cannot tell the format; the name must end in .svg, .png, "
                  ".gv, .dot (or be an existing directory)"),
    ("missing-dir/", "--out 'missing-dir/': no such directory"),
    ("", "--out is empty; give a file (.svg, .png, .gv, .dot) or a directory"),
])
@pytest.mark.slow
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
    assert output_path(None) == Path("microgrid-output") / "slide.svg"
    assert output_path(str(tmp_path)) == tmp_path / DEFAULT_NAME
    assert output_path(str(tmp_path / "f.PNG")) == tmp_path / "f.PNG"
    assert output_path(str(tmp_path / "f.dot")) == tmp_path / "f.dot"


@pytest.mark.slow
def test_a_bad_epochs_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run("--epochs", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "python -m microgrid: error: --epochs must be at least 1, got 0"]
    assert written(tmp_path) == []


@pytest.mark.slow
def test_version_names_the_installed_distribution_or_the_package() -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        expected = version("microgrid-autodiff")
    except PackageNotFoundError:
        expected = microgrid.__version__
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"microgrid {expected}"


@pytest.mark.slow
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


@pytest.mark.slow
def test_utf8_stdout_keeps_the_math_symbols(tmp_path: Path) -> None:
    done = run("--no-train", cwd=tmp_path, env={"PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert "So f = -12, ∂f/∂x = -4, ∂f/∂y = -4, ∂f/∂z = 3." in done.stdout


@pytest.mark.slow
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


def step_text(step: object) -> str:
    """A step's text as the page's JSON data holds it (its number dropped: the page numbers
    the steps across both passes)."""
    text = str(step).split("] ", 1)[1]
    return json.dumps(text, ensure_ascii=False)[1:-1]


@needs_renderer
def test_export_writes_the_slide_walk_through_as_one_html_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "slide.html"
    assert main(["export", str(target)]) == 0
    assert capsys.readouterr().out == f"Walk-through written to {target}\n"
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<script src=" not in html and "http://" not in html.replace("http://www.w3.org", "")
    for step in [*forward_steps(slide_example()), *backward_steps(slide_example())]:
        assert step_text(step) in html  # the stepper's words for every step, ∂f/∂x: 0 → -4
    assert main(["export", str(tmp_path / "missing" / "x.html")]) == 1
    assert capsys.readouterr().err.startswith(
        "python -m microgrid export: error: export_html: cannot write path")
    with pytest.raises(SystemExit) as stop:
        main(["export", str(tmp_path / "x.html"), "--example", "nope"])
    assert stop.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.slow
@needs_renderer
def test_export_without_a_path_writes_into_the_output_folder(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-W", "error", "-m", "microgrid", "export",
                           "--example", "neuron"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120, env=environment(), check=False, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    assert done.stdout.replace(os.sep, "/") == (
        "Walk-through written to microgrid-output/neuron.html\n")
    assert files_under(tmp_path) == ["microgrid-output/neuron.html"]
    page = (tmp_path / "microgrid-output" / "neuron.html").read_text(encoding="utf-8")
    o = neuron_example()
    assert abs(o.data - 2 ** -0.5) < 1e-12  # the neuron of the lecture notes: o = 1/√2
    assert step_text(forward_steps(o)[-1]) in page


@pytest.mark.slow
def test_a_stdout_closed_before_the_first_line_ends_quietly_with_status_141(
        tmp_path: Path) -> None:
    """The reader goes away before the demo prints anything: the command ends at its first
    write, with the status of a tool stopped by SIGPIPE and nothing on stderr (training
    included: its first write comes before the first step)."""
    for args in (["--no-train", "--out", str(tmp_path / "f.gv")], ["--epochs", "1"],
                 ["export", str(tmp_path / "slide.html")]):
        with subprocess.Popen([sys.executable, "-m", "microgrid", *args], cwd=tmp_path,
                              env=environment(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()  # our end of the pipe: the command's writes find no reader
            err = proc.stderr.read().decode("utf-8", "replace")
            status = proc.wait(timeout=120)
        assert (status, err) == (CLOSED_PIPE, "") and CLOSED_PIPE == 141, args
    assert (tmp_path / "slide.html").read_text(encoding="utf-8").endswith("</html>\n")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("head") is None or shutil.which("bash") is None,
                    reason="needs a POSIX shell with head")
def test_piping_the_demo_into_head_prints_one_line_and_no_error(tmp_path: Path) -> None:
    """`microgrid --no-train | head -1`, as the issue ran it: one line out, nothing on stderr,
    and the demo's status either 0 (it had written everything before head left) or 141."""
    command = (f"set -o pipefail; {sys.executable} -m microgrid --no-train | head -1; "
               "echo \"status ${PIPESTATUS[0]}\"")
    for _ in range(3):
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=environment(),
                              capture_output=True, text=True, timeout=120, check=False,
                              encoding="utf-8")
        first, status = done.stdout.splitlines()
        assert first == "f = (x + y)·z with x = -2, y = 5, z = -4"
        assert status in ("status 0", "status 141") and done.stderr == ""
