"""Build the Lab: microgrid running in the page, from files this site serves itself.

Used two ways:

* as an MkDocs hook (listed in ``mkdocs.yml``): after the site is built, the Lab's bundle
  is put into ``<site>/lab/`` beside the Lab page (``docs/lab.md``; its scripts are the
  files of ``docs/lab/``, which MkDocs copies);
* as a command, ``python docs/hooks/lab.py --out DIR``: the Lab alone, a folder of static
  files (``index.html``, the scripts, the bundle) that any plain file server can serve;
  ``--serve PORT`` then serves it on 127.0.0.1 (:func:`serve`, Python's static server with
  the JavaScript and WebAssembly types set, which module scripts need).

The bundle, all of it from the project's own pinned sources (nothing third-party is
committed to git):

* ``vendor/``: the Python interpreter compiled to WebAssembly (the npm package
  ``pyodide``) and Graphviz compiled to WebAssembly (``@viz-js/viz``), at the versions
  ``web/package-lock.json`` pins, installed by ``npm ci`` in ``web/`` (skipped while
  ``web/node_modules`` was installed from the same lock file);
* ``wheels/``: microgrid's own wheel built from this checkout, and the pure-Python wheels
  of its dependencies (``graphviz``, ``tqdm``) at the versions installed here, from PyPI;
* ``manifest.json``: the wheels and vendor files with their sizes, and what is missing.

Without npm or a network the rest of the site still builds: what was left out is said at
INFO level (``mkdocs build --strict`` fails on warnings) or on stderr, and the manifest
records it, so the Lab page shows a plain message instead of a broken interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import http.server
import importlib.metadata
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import npm  # docs/hooks/npm.py: this file's folder is on the path (as a hook, as a script)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
PAGE = ROOT / "docs" / "lab"  # the Lab's own scripts (MkDocs copies them as site files)
CACHE = WEB / ".cache"        # wheels kept between builds (gitignored)
VENDOR = {  # npm package -> the files of it the page loads, and where they go
    "pyodide": ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                "pyodide-lock.json"],
    "@viz-js/viz": ["dist/viz.js"],
}
INTERPRETER = "pyodide"
DEPENDENCIES = ("graphviz", "tqdm")  # microgrid's own dependencies, pure Python wheels

log = logging.getLogger("mkdocs.hooks.lab")


def _sha256(paths: list[Path], base: Path = ROOT) -> str:
    """One digest of the files' names (from ``base``) and contents."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(args: list[str], cwd: Path) -> tuple[bool, str]:
    """Run ``args``; (succeeded, the last lines it wrote)."""
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False,
                              timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
    return done.returncode == 0, tail


def npm_packages(say: Any) -> Path | None:
    """``web/node_modules`` as ``web/package-lock.json`` pins it (npm.py installs it), or
    None (said why)."""
    modules, why = npm.node_modules(f"{package}/{name}" for package, names in VENDOR.items()
                                    for name in names)
    if modules is None:
        say("the Lab's interpreter and Graphviz were left out, so the Lab page shows a "
            f"message instead: {why}")
    return modules


def own_wheel(say: Any) -> Path | None:
    """microgrid's wheel, built from this checkout (kept while its files are unchanged)."""
    sources = sorted(p for p in (ROOT / "microgrid").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    sources += [ROOT / name for name in ("pyproject.toml", "README.md", "LICENSE",
                                         "MANIFEST.in") if (ROOT / name).is_file()]
    folder = CACHE / "wheels" / f"microgrid-{_sha256(sources)[:16]}"
    found = sorted(folder.glob("microgrid_autodiff-*.whl"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory() as tmp:
        ok, tail = _run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                         "--no-build-isolation", "-q", "-w", tmp, str(ROOT)], ROOT)
        built = sorted(Path(tmp).glob("microgrid_autodiff-*.whl"))
        if not ok or not built:
            say(f"the Lab was left out: microgrid's wheel could not be built:\n{tail}")
            return None
        for old in (CACHE / "wheels").glob("microgrid-*"):
            shutil.rmtree(old, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(built[0], folder))


def dependency_wheel(name: str, say: Any) -> Path | None:
    """The pure-Python wheel of ``name`` at the version installed here, from PyPI (kept)."""
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        say(f"the Lab was left out: {name} is not installed here, so its version is unknown")
        return None
    folder = CACHE / "wheels" / f"{name}-{version}"
    found = sorted(folder.glob("*-py3-none-any.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    ok, tail = _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                     "--only-binary", ":all:", "-d", str(folder), f"{name}=={version}"], ROOT)
    found = sorted(folder.glob("*-py3-none-any.whl"))
    if not ok or not found:
        say(f"the Lab was left out: the wheel of {name} {version} could not be downloaded "
            f"(no network?):\n{tail}")
        return None
    return found[0]


def build(out: Path, say: Any, standalone: bool = False) -> dict[str, Any]:
    """Put the bundle into ``out`` (the Lab's folder) and return its manifest.

    ``standalone``: also copy the page's own files and write ``index.html`` (what MkDocs
    does itself for the site). ``say(text)`` reports what was left out.
    """
    out.mkdir(parents=True, exist_ok=True)
    if standalone:
        for path in sorted(PAGE.iterdir()):
            if path.is_file():
                shutil.copy2(path, out / path.name)
        shutil.copy2(PAGE / "standalone.html", out / "index.html")
    missing: list[str] = []

    def left_out(text: str) -> None:
        missing.append(text)
        say(text)

    vendor: dict[str, int] = {}
    modules = npm_packages(left_out)
    if modules is not None:
        (out / "vendor").mkdir(exist_ok=True)
        for package, names in VENDOR.items():
            for name in names:
                target = out / "vendor" / Path(name).name
                shutil.copy2(modules / package / name, target)
                vendor[target.name] = target.stat().st_size
    wheels: dict[str, int] = {}
    found = [own_wheel(left_out)] + [dependency_wheel(n, left_out) for n in DEPENDENCIES]
    if all(found):
        (out / "wheels").mkdir(exist_ok=True)
        for wheel in found:
            assert wheel is not None
            target = Path(shutil.copy2(wheel, out / "wheels" / wheel.name))
            wheels[target.name] = target.stat().st_size
    manifest = {"complete": not missing, "missing": missing, "vendor": vendor,
                "wheels": wheels}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def sizes(manifest: dict[str, Any]) -> str:
    """The bundle's size in one line: the interpreter dominates it, our own part is small."""
    mb = 1e6
    interpreter = sum(v for k, v in manifest["vendor"].items() if k.startswith("py"))
    graphviz = sum(v for k, v in manifest["vendor"].items() if not k.startswith("py"))
    own = sum(v for k, v in manifest["wheels"].items() if k.startswith("microgrid"))
    deps = sum(manifest["wheels"].values()) - own
    page = sum(p.stat().st_size for p in PAGE.iterdir() if p.is_file())
    total = interpreter + graphviz + own + deps + page
    return (f"the Lab's bundle is {total / mb:.1f} MB: the interpreter {interpreter / mb:.1f} "
            f"MB, Graphviz {graphviz / mb:.1f} MB, microgrid's wheel {own / 1e3:.0f} kB, "
            f"graphviz and tqdm {deps / 1e3:.0f} kB, the page's scripts {page / 1e3:.0f} kB")


# -- serving it ---------------------------------------------------------------------------
class Handler(http.server.SimpleHTTPRequestHandler):
    """Python's static file server, quiet, with the types module scripts need whatever the
    machine's MIME table says."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
        ".json": "application/json", ".whl": "application/zip"}

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (``port`` 0: a free one) in a thread; yields its URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# -- the MkDocs hook ---------------------------------------------------------------------
def on_post_build(config: Any) -> None:
    manifest = build(Path(config["site_dir"]) / "lab", log.info)
    if manifest["complete"]:
        log.info(sizes(manifest))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Lab alone into a folder of "
                                                 "static files.")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write")
    parser.add_argument("--serve", type=int, metavar="PORT", default=None,
                        help="then serve it on http://127.0.0.1:PORT/ until Ctrl+C")
    args = parser.parse_args(argv)
    manifest = build(args.out, lambda text: print(text, file=sys.stderr), standalone=True)
    if not manifest["complete"]:
        return 1
    print(f"{args.out}: {sizes(manifest)}")
    if args.serve is not None:
        with serve(args.out, args.serve) as url:
            print(f"serving the Lab at {url} (Ctrl+C stops)")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
