"""What the browser tests share: Debian's Chromium driven by Playwright, and waiting on a page.

Playwright's own browser download is never used: the tests launch the system ``chromium``
(CI installs it with apt-get). Locally a test skips when a piece is missing and says which;
under CI (``CI`` set) it fails instead (:func:`require`).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium() -> str | None:
    """The system Chromium's executable, or None."""
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def missing_browser() -> list[str]:
    """What is missing to drive a browser: Chromium, Playwright (with how to install it)."""
    missing = []
    if chromium() is None:
        missing.append("chromium (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright)")
    return missing


def require(missing: list[str], what: str = "the browser test") -> None:
    """Skip (locally) or fail (under CI) when anything is ``missing``."""
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{what} needs {', '.join(missing)} under CI")
        pytest.skip(f"{what} needs {', '.join(missing)}")


def until(page: Any, script: str, arg: Any, deadline: float, what: str) -> Any:
    """Poll ``script(arg)`` in the page (or frame) until it returns something truthy."""
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} (time budget spent)")
        time.sleep(0.1)
