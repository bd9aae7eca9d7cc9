"""The docs build's hooks (``docs/hooks/*.py``) as modules, loaded as MkDocs loads them:
with their folder on ``sys.path`` while they load, so a hook can import its siblings
(``npm.py``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HOOKS = Path(__file__).resolve().parent.parent / "docs" / "hooks"


def hook(name: str) -> ModuleType:
    """A fresh module of ``docs/hooks/<name>.py``."""
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", HOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = sys.path.copy()
    sys.path.insert(0, str(HOOKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module
