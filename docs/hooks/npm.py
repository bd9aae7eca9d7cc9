"""The npm packages the docs site serves itself, installed once per lock file.

``web/package.json`` names them and ``web/package-lock.json`` pins them (versions and
integrity hashes); ``npm ci`` in ``web/`` installs exactly that into ``web/node_modules``
(gitignored). The hooks that copy files out of it share this one installer: it runs
``npm ci`` only when the lock file changed since the last install or a file a hook needs
is missing, and it never raises. Without npm or a network it says why, and the hook leaves
its part out (said at INFO level: ``mkdocs build --strict`` fails on warnings).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
MODULES = WEB / "node_modules"
STAMP = MODULES / ".microgrid-lock-sha256"  # the lock file node_modules was installed from


def _lock_hash() -> str:
    return hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()


def node_modules(needed: Iterable[str]) -> tuple[Path | None, str]:
    """(``web/node_modules``, "") once every path of ``needed`` (relative to it) is there
    as the lock file pins it; (None, why not) when npm is missing or ``npm ci`` failed."""
    needed = list(needed)
    wanted = _lock_hash()
    if (STAMP.is_file() and STAMP.read_text().strip() == wanted
            and all((MODULES / path).exists() for path in needed)):
        return MODULES, ""
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed (apt-get install nodejs npm)"
    try:
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                              cwd=WEB, capture_output=True, text=True, timeout=600,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"`npm ci` in web/ did not finish: {e}"
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        return None, f"`npm ci` in web/ failed (no network?):\n{tail}"
    missing = [path for path in needed if not (MODULES / path).exists()]
    if missing:
        return None, f"web/node_modules lacks {', '.join(missing)} after `npm ci`"
    STAMP.write_text(wanted + "\n")
    return MODULES, ""
