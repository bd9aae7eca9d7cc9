"""Modules of ``benchmarks/`` (not part of the package) loaded by their path, so a test and
a benchmark run the same workload: micrograd's demo, the small scalar GPT."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str) -> Any:
    """The module ``benchmarks/<name>.py``."""
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gpt_step(positions: int = 3, *, recorded: bool = True, **sizes: Any) -> tuple[Any, Any]:
    """One training step of ``benchmarks/scalar_gpt.py`` (``positions`` positions, its
    backward done), recorded inside ``microgrid.blocks()`` unless ``recorded=False``:
    returns (loss, state_dict)."""
    import microgrid

    gpt = load("scalar_gpt")
    m = gpt.gpt_model(**sizes)
    tokens = gpt.tokens_of(positions, sizes.get("vocab", 27))
    if recorded:
        with microgrid.blocks():
            loss = gpt.gpt_step(m, tokens)
    else:
        loss = gpt.gpt_step(m, tokens)
    return loss, gpt.state_dict(m)
