"""The docs site works offline: no page loads anything from another host, and in a real
browser a notebook page's formulas are typeset and its explorer widget is drawn from the
files the site serves itself (MathJax, require.js and the widget renderer, copied from the
npm packages web/package-lock.json pins by docs/hooks/offline.py).

The site is the one built once per test session (``docs_site`` in conftest.py, notebook 01
executed). Headless Chromium loads its pages from a plain static file server on 127.0.0.1;
every request is recorded and any to another host is stopped and fails the test. Skipped
locally when npm, Chromium or Playwright is missing (naming it); under CI a missing piece
fails. The browser part has a fixed budget: ``BUDGET`` seconds, or
``MICROGRID_BROWSER_BUDGET`` from the environment for slow machines.
"""

from __future__ import annotations

import html.parser
import logging
import os
import re
import time
import urllib.parse
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from browser import (
    LOCAL_HOSTS,
    Requests,
    browser_page,
    missing_browser,
    require,
    static_server,
    until,
)
from hooks import hook

ROOT = Path(__file__).resolve().parent.parent
BUDGET = float(os.environ.get("MICROGRID_BROWSER_BUDGET", "60"))  # seconds, the browser part
NOTEBOOK = "notebooks/01_chain_rule/"  # executed in the test build: formulas and the explorer
FETCHING = {  # tag -> the attributes whose address the browser fetches (links <a> are not)
    "script": ["src"], "link": ["href"], "img": ["src", "srcset"], "iframe": ["src"],
    "source": ["src", "srcset"], "audio": ["src"], "video": ["src", "poster"],
    "track": ["src"], "embed": ["src"], "object": ["data"], "input": ["src"],
}
# an absolute address of a script or style sheet written in a script or a style
SCRIPT_URL = re.compile(r"""["'(]\s*(https?://[^"')\s]+\.(?:m?js|css)(?:\?[^"')\s]*)?)""")
CSS_URL = re.compile(r"""(?:url\(|@import)\s*["']?(https?://[^"')\s]+)""")


def _other_host(url: str) -> bool:
    parts = urllib.parse.urlsplit(url.strip())  # "//host/x.js" is another host too
    return (parts.scheme in ("", "http", "https") and bool(parts.netloc)
            and parts.hostname not in LOCAL_HOSTS)


class _Fetches(html.parser.HTMLParser):
    """The addresses of another host a page would fetch: in the fetching attributes of its
    tags, in style attributes, and written in its scripts and style sheets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in FETCHING.get(tag, []):
                urls = [u.split()[0] for u in value.split(",") if u.strip()] if (
                    name == "srcset") else [value]
                self.found += [f"<{tag} {name}={u}>" for u in urls if _other_host(u)]
            if name == "style":
                self.found += [f"<{tag} style> {u}" for u in CSS_URL.findall(value)
                               if _other_host(u)]
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "script":
            self.found += [f"<script> {u}" for u in SCRIPT_URL.findall(data) if _other_host(u)]
        elif self._inside == "style":
            self.found += [f"<style> {u}" for u in CSS_URL.findall(data) if _other_host(u)]


def fetches_from_other_hosts(page: str) -> list[str]:
    parser = _Fetches()
    parser.feed(page)
    return parser.found


def _offline_ready(site: Path) -> None:
    """Skip (locally) or fail (under CI) when the build left the site's own copies out,
    naming why (the build says so at INFO level)."""
    if (site / "assets" / "vendor" / "mathjax" / "MathJax.js").is_file():
        return
    log = (site.parent / "build.log").read_text(encoding="utf-8")
    said = re.search(r"the site is not offline-safe.*?because (.*)", log)
    require([said.group(1) if said else "the build to copy assets/vendor/ (it did not)"],
            "the offline docs site")


def test_the_offline_check_finds_each_kind_of_fetch_from_another_host() -> None:
    page = """<html><head>
      <script src="https://cdn.example.org/a.js"></script>
      <link rel="stylesheet" href="//fonts.example.com/x.css">
      <link rel="preconnect" href="https://fonts.example.net">
      <style>@import url("https://css.example.org/b.css");</style>
      <script>var s = 'https://cdn.example.org/c/embed-amd.js'; import("https://e.example/m.mjs")
      </script></head><body>
      <img src="http://img.example.org/p.png" srcset="local.png 1x, https://i.example/p2.png 2x">
      <div style="background: url(https://bg.example.org/q.png)"></div>
      <a href="https://github.com/karpathy/micrograd">a link is not a fetch</a>
      <script src="../../assets/vendor/requirejs/require.js"></script>
      <img src="http://127.0.0.1:8000/local.png"><svg xmlns="http://www.w3.org/2000/svg"></svg>
      </body></html>"""
    found = fetches_from_other_hosts(page)
    for host in ["cdn.example.org/a.js", "fonts.example.com", "fonts.example.net",
                 "css.example.org", "cdn.example.org/c/embed-amd.js", "e.example/m.mjs",
                 "img.example.org", "i.example/p2.png", "bg.example.org"]:
        assert any(host in f for f in found), (host, found)
    assert not any(x in " ".join(found) for x in ["github.com", "127.0.0.1", "w3.org",
                                                   "assets/vendor"]), found
    assert len(found) == 9, found


@pytest.mark.slow  # the docs build
def test_no_built_page_fetches_anything_from_another_host(docs_site: Path) -> None:
    _offline_ready(docs_site)
    pages = sorted(docs_site.rglob("*.html"))
    assert len(pages) > 20  # the home page, the notebooks, the API reference, ...
    found = {p.relative_to(docs_site).as_posix(): f for p in pages
             if (f := fetches_from_other_hosts(p.read_text(encoding="utf-8")))}
    assert found == {}
    notebook = (docs_site / NOTEBOOK / "index.html").read_text(encoding="utf-8")
    for local in ["../../assets/vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
                  "../../assets/vendor/requirejs/require.js",
                  "../../assets/vendor/html-manager/embed-amd.js"]:
        assert local in notebook
        assert (docs_site / NOTEBOOK / local.split("?")[0]).resolve().is_file(), local


# the formulas: MathJax 2's CommonHTML output for every TeX script it found, and no raw $…$
# left in the notebook's text
MATH = """() => {
  const tex = document.querySelectorAll('script[type^="math/tex"]').length;
  const typeset = document.querySelectorAll('.MathJax_CHTML').length;
  const text = [...document.querySelectorAll('.jp-RenderedMarkdown')]
    .map(e => e.innerText).join('\\n');
  const raw = text.match(/\\$[^$\\s][^$]*\\$/g) || [];
  return tex > 0 && typeset === tex && raw.length === 0 ? {tex, typeset} : null;
}"""
RAW_MATH = """() => ([...document.querySelectorAll('.jp-RenderedMarkdown')]
  .map(e => e.innerText).join('\\n').match(/\\$[^$\\s][^$]*\\$/g) || []).slice(0, 5)"""
EXPLORER = """() => {
  const app = document.querySelector('.microgrid-explorer');
  if (!app) return null;
  const buttons = [...app.querySelectorAll('button')].map(b => b.innerText.trim());
  const picture = app.querySelector('.microgrid-diagram svg');
  return picture && buttons.length >= 4 ? {buttons,
    counter: app.querySelector('.microgrid-explorer-counter').innerText} : null;
}"""


@pytest.mark.slow  # the docs build and a browser
def test_a_notebook_page_typesets_its_formulas_and_draws_the_explorer_offline(
        docs_site: Path, tmp_path: Path) -> None:
    _offline_ready(docs_site)
    require(missing_browser(), "the offline docs browser test")
    deadline = time.monotonic() + BUDGET
    requests = Requests()
    with static_server(docs_site) as url, browser_page(requests) as page:
        try:
            page.goto(f"{url}/{NOTEBOOK}", wait_until="load")
            try:
                math = until(page, MATH, None, deadline, "the formulas to be typeset")
            except AssertionError:
                raise AssertionError(f"raw TeX left: {page.evaluate(RAW_MATH)}") from None
            assert math["tex"] >= 10  # notebook 01's formulas, inline and displayed
            explorer = until(page, EXPLORER, None, deadline, "the explorer widget")
            assert explorer["buttons"][:4] == ["First", "Back", "Next", "Last"], explorer
            assert re.search(r"step \d+ of \d+", explorer["counter"]), explorer
            page.goto(f"{url}/", wait_until="load")  # the home page: material's own assets
            until(page, "() => !!document.querySelector('.md-search__input')", None,
                  deadline, "the home page")
            page.fill(".md-search__input", "backward")  # the search worker and its index
            until(page, "() => document.querySelectorAll('.md-search-result__item').length",
                  None, deadline, "search results")
        except AssertionError:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
    assert requests.other_hosts == []
    assert requests.failed == [], requests.failed
    assert any("/assets/vendor/mathjax/" in u for u in requests.local)
    assert any(u.endswith("/assets/vendor/html-manager/embed-amd.js") for u in requests.local)


# -- without npm or a network -------------------------------------------------------------
@pytest.fixture
def hooks() -> tuple[ModuleType, ModuleType]:
    """docs/hooks/npm.py and docs/hooks/offline.py, which uses it."""
    offline = hook("offline")
    return offline.npm, offline


PAGE = ('<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js">'
        "</script></body>")


def test_without_npm_the_installer_says_so_and_installs_nothing(
        hooks: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    npm, _ = hooks
    (tmp_path / "package-lock.json").write_text("{}")
    monkeypatch.setattr(npm, "WEB", tmp_path)
    monkeypatch.setattr(npm, "MODULES", tmp_path / "node_modules")
    monkeypatch.setattr(npm, "STAMP", tmp_path / "node_modules" / "stamp")
    monkeypatch.setattr(npm.shutil, "which", lambda name: None)
    assert npm.node_modules(["mathjax/MathJax.js"]) == (
        None, "npm is not installed (apt-get install nodejs npm)")
    assert not (tmp_path / "node_modules").exists()


def test_without_the_files_the_pages_keep_their_addresses_and_the_build_says_why_at_info(
        hooks: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    npm, offline = hooks
    monkeypatch.setattr(npm, "node_modules", lambda needed: (None, "npm is not installed"))
    config = {"site_dir": str(tmp_path)}
    with caplog.at_level(logging.DEBUG, logger="mkdocs"):
        assert offline.on_config(config) is config
        page = SimpleNamespace(url="notebooks/01_chain_rule/")
        assert offline.on_post_page(PAGE, page, config) == PAGE
        offline.on_post_build(config)
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    # INFO, never a WARNING: `mkdocs build --strict` fails on warnings
    assert said == [(logging.INFO, "the site is not offline-safe: its notebook pages load "
                     "MathJax, require.js and the widget renderer from CDNs, because npm is "
                     "not installed")]
    assert list(tmp_path.iterdir()) == []  # nothing copied


@pytest.mark.slow  # it imports nbconvert (seconds), whose template writes the addresses
def test_with_the_files_a_page_addresses_them_relative_to_itself(
        hooks: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    npm, offline = hooks
    monkeypatch.setattr(npm, "node_modules", lambda needed: (tmp_path, ""))
    mathjax = "https://cdn.example.org/mathjax/2.7.7/MathJax.js?config=TeX-AMS_CHTML-full"
    jupyter = SimpleNamespace(config={"custom_mathjax_url": mathjax})
    config = SimpleNamespace(plugins={"mkdocs-jupyter": jupyter})
    offline.on_config(config)
    page = (f'<script src="{mathjax}"></script>' + PAGE.replace("</body>", "") +
            "<script>var src = 'https://unpkg.com/@jupyter-widgets/html-manager@*/dist/"
            "embed-amd.js';</script></body>")
    for url, up in [("notebooks/01_chain_rule/", "../../"), ("", "")]:
        out = offline.on_post_page(page, SimpleNamespace(url=url), config)
        assert fetches_from_other_hosts(out) == []
        assert f'src="{up}assets/vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full"' in out
        assert f'src="{up}assets/vendor/requirejs/require.js"' in out
        assert f"'{up}assets/vendor/html-manager/embed-amd.js'" in out
        # a widget module the renderer lacks is looked for beside it, not on a CDN
        assert out.endswith(f'<script data-jupyter-widgets-cdn="{up}assets/vendor/'
                            'html-manager/" data-jupyter-widgets-cdn-only></script>\n</body>')
