"""A real browser runs notebook 01 in JupyterLab and clicks through the explorer.

Headless Chromium (Debian's ``chromium``, driven by Playwright for Python; Playwright's own
browser download is never used) against a JupyterLab server on 127.0.0.1 that the test
starts on a free port in a temporary folder holding a copy of notebook 01. The test runs
every cell, then checks that the explorer's picture fits the output area, that its
buttons stay in place, and that clicking them changes the step text.

Skipped locally when Chromium, JupyterLab or Playwright is missing; under CI (``CI`` set)
a missing piece fails instead. The whole run, server start included, has a fixed budget:
``BUDGET`` seconds, or ``MICROGRID_BROWSER_BUDGET`` from the environment for slow machines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import browser_page, free_port, missing_browser, require, until

pytestmark = pytest.mark.slow  # a browser and JupyterLab

ROOT = Path(__file__).resolve().parent.parent
BUDGET = float(os.environ.get("MICROGRID_BROWSER_BUDGET", "85"))  # seconds, all of it


def _missing() -> list[str]:
    missing = missing_browser()
    for module, how in [("jupyterlab", "pip install jupyterlab"),
                        ("ipywidgets", "pip install ipywidgets")]:
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{module} ({how})")
    return missing


KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _notebook(folder: Path) -> str:
    """Copy notebook 01 into ``folder``; if it has no explorer, write a small one that has."""
    source = sorted((ROOT / "notebooks").glob("01_*.ipynb"))
    if source and "explore(" in source[0].read_text(encoding="utf-8"):
        nb = json.loads(source[0].read_text(encoding="utf-8"))
        nb.setdefault("metadata", {})["kernelspec"] = KERNELSPEC  # no kernel dialog
        (folder / source[0].name).write_text(json.dumps(nb), encoding="utf-8")
        return source[0].name
    cells = ["from microgrid import Value, explore\n"
             "x, y, z = Value(-2.0, 'x'), Value(5.0, 'y'), Value(-4.0, 'z')\n"
             "q = x + y\nq.label = 'q'\nf = q * z\nf.label = 'f'",
             "explore(f)"]
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": KERNELSPEC},
          "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [],
                     "execution_count": None, "id": f"c{i}"} for i, c in enumerate(cells)]}
    (folder / "explorer.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return "explorer.ipynb"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str, float]]:
    """A JupyterLab server on 127.0.0.1 (no token) serving a copy of notebook 01."""
    require(_missing(), "the browser test")
    deadline = time.monotonic() + BUDGET
    root = tmp_path / "root"
    root.mkdir()
    name = _notebook(root)
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--IdentityProvider.token=",
         "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError("JupyterLab did not start:\n" + (
                        tmp_path / "lab.log").read_text(errors="replace")) from None
                time.sleep(0.3)
        yield url, name, deadline
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen[bytes]) -> None:
    """End the server we started and the kernel it started (its process group)."""
    for sig, wait in [(signal.SIGTERM, 10), (signal.SIGKILL, 5)]:
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def _box(page: Any, selector: str) -> dict[str, float]:
    """The element's box on the page, in CSS pixels."""
    box: dict[str, float] | None = page.evaluate(
        "s => { const e = document.querySelector(s); if (!e) return null;"
        " const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; }", selector)
    assert box is not None, f"{selector} is not on the page"
    return box


EXPLORER = ".microgrid-explorer"
STATUS = ("() => { const d = document.querySelector('.jp-Dialog .jp-mod-accept');"
          " if (d) d.click();"  # a kernel chooser, should one be asked for
          " const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
          " const s = w && w.sessionContext && w.sessionContext.session;"
          " return !!(s && s.kernel && s.kernel.status === 'idle'); }")


def test_notebook_01_runs_in_jupyterlab_and_the_explorer_fits_and_steps(
        lab: tuple[str, str, float], tmp_path: Path) -> None:
    url, name, deadline = lab
    with browser_page() as page:
        try:
            page.goto(f"{url}/lab/tree/{name}", wait_until="domcontentloaded")
            until(page, STATUS, None, deadline, "the kernel")
            time.sleep(1)  # let the notebook panel settle after the kernel connects
            page.evaluate("() => { window.jupyterapp.commands.execute("
                          "'notebook:run-all-cells'); return true; }")  # no waiting on it
            until(page, "s => !!document.querySelector(s)",
                  f"{EXPLORER} .microgrid-diagram svg", deadline, "the explorer's picture")
            until(page, STATUS, None, deadline, "the cells to finish")
            errors = page.evaluate(
                "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                ".filter(e => e.getAttribute('data-mime-type') ==="
                " 'application/vnd.jupyter.stderr' || e.querySelector('.jp-RenderedText"
                "[data-mime-type=\"application/vnd.jupyter.error\"]'))"
                ".map(e => e.innerText)")
            assert not errors, errors
            _check_fit(page)
            _click_through(page, deadline)
        except AssertionError:
            page.screenshot(path=str(tmp_path / "failure.png"))  # to see what went wrong
            raise


def _check_fit(page: Any) -> None:
    """The picture is no wider than the output area, below the controls, not scrolling."""
    output = page.evaluate(
        "s => { const e = document.querySelector(s).closest('.jp-OutputArea-output');"
        " const r = e.getBoundingClientRect(); return {x: r.x, width: r.width}; }", EXPLORER)
    picture = _box(page, f"{EXPLORER} .microgrid-diagram svg")
    controls = _box(page, f"{EXPLORER} .microgrid-explorer-controls")
    assert picture["width"] <= output["width"] + 1, (picture, output)
    assert output["x"] - 1 <= picture["x"] <= output["x"] + output["width"]
    assert controls["width"] <= output["width"] + 1, (controls, output)
    assert controls["y"] + controls["height"] <= picture["y"] + 1  # above the picture
    overflow = page.evaluate(
        "s => { const b = document.querySelector(s); return b.scrollWidth - b.clientWidth; }",
        f"{EXPLORER} .microgrid-diagram")
    assert overflow <= 1  # the slide needs no sideways scrolling
    widths = page.evaluate(
        "() => [...document.querySelectorAll('.jp-OutputArea-output .microgrid-diagram')]"
        ".map(b => [b.getBoundingClientRect().width, b.scrollWidth - b.clientWidth,"
        " b.closest('.jp-OutputArea-output').getBoundingClientRect().width])")
    assert len(widths) >= 2  # the draw_dot outputs, and the explorer's picture
    for width, scroll, area in widths:
        assert width <= area + 1 and scroll <= 1, (width, scroll, area)


def _click_through(page: Any, deadline: float) -> None:
    """Each button moves the explorer: its counter and its step text change."""
    counter = f"{EXPLORER} .microgrid-explorer-counter"
    step = f"{EXPLORER} .widget-html pre"
    texts = "([c, s]) => [document.querySelector(c).innerText, document.querySelector(s).innerText]"
    before = page.evaluate(texts, [counter, step])
    def controls_offset() -> float:  # where the buttons sit in the app (the page scrolls)
        return (_box(page, f"{EXPLORER} .microgrid-explorer-controls")["y"]
                - _box(page, EXPLORER)["y"])

    offset = controls_offset()
    for label, expected in [("First", "step 1 of"), ("Next", "step 2 of"),
                            ("Last", "· backward"), ("Back", "· backward")]:
        page.locator(EXPLORER).get_by_role("button", name=label, exact=True).click()
        # the counter and the step text are two widgets, updated one after the other
        after = until(
            page, f"([c, s, old, oldText]) => {{ const now = ({texts})([c, s]);"
            " return now[0] !== old && now[1] !== oldText ? now : null; }",
            [counter, step, before[0], before[1]], deadline,
            f"the step and its text to change after {label}")
        assert expected in after[0], (label, after)
        assert after[1] != before[1], (label, after)
        assert controls_offset() == offset  # the buttons stay at the top of the app
        before = after
