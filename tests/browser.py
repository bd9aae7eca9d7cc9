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


class Requests:
    """Every request pages make, to tell which went to another host than ``origins``."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def record(self, page: Any) -> Any:
        """Record ``page``'s requests from now on; returns the page."""
        page.on("request", lambda request: self.urls.append(request.url))
        return page

    def elsewhere(self, *origins: str) -> list[str]:
        """The requests to none of ``origins`` (``http://127.0.0.1:PORT``), nor ``data:``
        or ``about:`` URLs (which fetch nothing)."""
        ours = tuple(origin.rstrip("/") + "/" for origin in origins)
        return [url for url in self.urls
                if not url.startswith(ours) and not url.startswith(("data:", "about:"))]
