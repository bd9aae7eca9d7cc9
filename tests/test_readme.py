"""The README's Python examples run as written, and the quick start prints the slide's numbers."""

from __future__ import annotations

import contextlib
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
PICTURE = README.parent / "docs" / "images" / "slide.svg"  # the quick start's picture


def run(block: str, scope: dict[str, object] | None = None) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {"__name__": "readme"} if scope is None
             else scope)
    return out.getvalue()


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 2


CONTINUES = "# continues the example above"


def runnable(i: int) -> str:
    """Block ``i`` as it runs: a block that starts with :data:`CONTINUES` runs after the
    block before it (and that one's own predecessors), in one scope."""
    block = BLOCKS[i]
    return runnable(i - 1) + "\n" + block if block.startswith(CONTINUES) else block


@pytest.mark.parametrize("i", range(len(BLOCKS)), ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(i: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # any file an example writes lands in a scratch folder
    run(runnable(i))
    written = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert [f for f in written if not f.startswith("microgrid-output/")] == []  # git ignores it


def test_the_gradient_report_prints_the_table_the_readme_shows(tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    i = next(k for k, b in enumerate(BLOCKS) if "print(report)" in b)
    shown = BLOCKS[i].split("print(report)\n", 1)[1]
    expected = [line[2:] if line.startswith("# ") else line[1:] for line in shown.splitlines()]
    printed = run(runnable(i)).splitlines()
    assert printed[0] == "(1, 3)"
    assert [line.rstrip() for line in printed[1:]] == expected


def test_quick_start_prints_the_slide() -> None:
    quick_start = next(b for b in BLOCKS if "f = q * z" in b)
    assert run(quick_start).splitlines() == ["-12.0", "-4.0 -4.0 3.0"]


def test_the_quick_start_names_every_node_its_picture_shows() -> None:
    """The picture under the quick start shows x, y, z, q and f by name and a title; the
    quick start's code labels those nodes, and the draw_dot call its prose gives sets that
    title."""
    from microgrid import Value, draw_dot, topological_order

    quick_start = next(b for b in BLOCKS if "f = q * z" in b)
    scope: dict[str, object] = {"__name__": "readme"}
    run(quick_start, scope)
    f = scope["f"]
    assert isinstance(f, Value)
    labels = [node.label for node in topological_order(f)]
    assert sorted(labels) == ["f", "q", "x", "y", "z"]
    call = re.search(r"`(draw_dot\(f, [^`]*\))` draws it", TEXT)
    assert call, "the quick start's prose gives the draw_dot call of its picture"
    diagram = eval(call.group(1), {"draw_dot": draw_dot, "f": f})
    title = re.search(r'title="([^"]+)"', call.group(1))
    assert title and title.group(1) in diagram.source
    svg = ET.parse(PICTURE).getroot()
    shown = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert set(labels) <= shown and title.group(1) in shown
