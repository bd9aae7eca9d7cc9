"""MkDocs hook: the teaching notebooks (``notebooks/*.ipynb`` at the top of the repository)
become pages ``notebooks/<name>/`` of the site, executed and rendered by mkdocs-jupyter.

``MICROGRID_DOCS_EXECUTE`` (optional, comma-separated globs such as ``01_*``) executes only
the notebooks whose file name matches; the others are rendered as committed. Unset, every
notebook is executed.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def on_config(config: Any) -> Any:
    selected = os.environ.get("MICROGRID_DOCS_EXECUTE", "").strip()
    if selected:
        patterns = [p.strip() for p in selected.split(",") if p.strip()]
        skipped = [f"*/notebooks/{path.name}" for path in sorted(NOTEBOOKS.glob("*.ipynb"))
                   if not any(fnmatch.fnmatch(path.name, p) for p in patterns)]
        jupyter = config.plugins["mkdocs-jupyter"]
        jupyter.config["execute_ignore"] = [*jupyter.config["execute_ignore"], *skipped]
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which picks up the .ipynb files
def on_files(files: Files, config: Any) -> Files:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(File(path.relative_to(ROOT).as_posix(), src_dir=str(ROOT),
                          dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files
