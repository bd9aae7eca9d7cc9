"""What the browser tests share: Debian's Chromium driven by Playwright for Python (its own
browser download is never used), a plain static file server on 127.0.0.1, a record of every
request a page makes, and polling a page under a fixed time budget.

A missing piece (Chromium, Playwright, ...) skips the test locally and fails it under CI
(``CI`` set): :func:`require`.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hooks import hook

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def chromium() -> str | None:
    """The system Chromium's executable, or None."""
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def missing_browser() -> list[str]:
    """What the browser needs that is not installed, each with how to install it."""
    missing = []
    if chromium() is None:
        missing.append("chromium (apt-get install chromium)")
    try:
        __import__("playwright")
    except ImportError:
        missing.append("playwright (pip install playwright)")
    return missing


def require(missing: list[str], what: str = "the browser test") -> None:
    """Skip (locally) or fail (under CI) naming what is missing, if anything is."""
    if missing:
        message = f"{what} needs {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} under CI")
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def until(page: Any, script: str, arg: Any, deadline: float, what: str) -> Any:
    """Poll ``script(arg)`` in the page (or frame) until it returns something truthy."""
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} (time budget spent)")
        time.sleep(0.1)


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """A plain static file server of ``folder`` on 127.0.0.1 (a free port): the Lab's
    builder's own (``python docs/hooks/lab.py --serve``). Its base URL, no trailing slash."""
    with hook("lab").serve(folder) as url:
        yield url.rstrip("/")


@dataclass
class Requests:
    """Every request the pages of a browser context made: local ones, those to another host
    (stopped before they leave the machine), and local ones that failed or were answered
    with an error status."""

    local: list[str] = field(default_factory=list)
    other_hosts: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def watch(self, context: Any) -> None:
        def route(route: Any) -> None:
            url = route.request.url
            host = urllib.parse.urlsplit(url).hostname
            if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                self.local.append(url)
                route.continue_()
            else:
                self.other_hosts.append(url)
                route.abort()

        def answered(response: Any) -> None:
            if response.status >= 400:
                self.failed.append(f"{response.status} {response.url}")

        def failed(request: Any) -> None:  # not the ones stopped, nor those cut short
            # by leaving the page before the answer came (net::ERR_ABORTED)
            if request.url not in self.other_hosts and request.failure != "net::ERR_ABORTED":
                self.failed.append(f"{request.failure} {request.url}")

        context.route("**/*", route)
        context.on("response", answered)
        context.on("requestfailed", failed)


@contextmanager
def browser_page(requests: Requests | None = None, width: int = 1280,
                 height: int = 900) -> Iterator[Any]:
    """A page of headless Chromium; ``requests``, if given, records every request its pages
    make (service workers blocked, so none escapes the record)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS,
                                    timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": width, "height": height},
                                          service_workers="block")
            if requests is not None:
                requests.watch(context)
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()
