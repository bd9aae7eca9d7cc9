"""The README's op table is the op table: generated from microgrid.ops, never edited by hand."""

from __future__ import annotations

import re
from pathlib import Path

from microgrid import ops

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_op_table_is_generated_from_the_op_table() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- op-table:[^>]*-->\n(.*?)\n<!-- /op-table -->", text, re.S)
    assert block is not None, "README.md lost its op-table markers"
    assert block.group(1) == ops.markdown_table()


def test_every_differentiable_op_is_documented_with_its_derivative() -> None:
    table = ops.markdown_table()
    for op in ops.OPS.values():
        if op.arity != 0:
            assert op.spelling, f"{op.name} has no spelling for the documentation"
            assert op.derivative.replace("|", "\\|") in table
