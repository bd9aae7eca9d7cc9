"""The house's rules, read from the source with ``ast`` (nothing of microgrid is imported):

1. no import cycle among microgrid's modules, imports inside functions included (those under
   ``if TYPE_CHECKING:`` aside);
2. no module uses another module's private name (one leading underscore, not a dunder):
   ``from .graph import _post_order``, ``live._svg_only`` on an imported module;
3. the engine floor (the op table, the rules' namespaces, the traversal, the chain rule,
   the recording of blocks as nodes are made, ``Value``, ``grad``) imports only the engine
   floor and the shared helpers below every room (``_labels``, which imports nothing of
   microgrid): nothing of the learning, seeing (``viz``), speed (``compile``) or compat
   (``micrograd``) wings.

A module named with a leading underscore (``_validate``) is the package's own helper: using
it is not using a private name; its private names are private like any other's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "microgrid"

FLOOR = ("microgrid.ops", "microgrid.namespaces", "microgrid.graph", "microgrid.chain",
         "microgrid.recording", "microgrid.engine", "microgrid.autodiff")
"""The engine floor: these modules (and their submodules) import only each other and the
shared helpers."""

SHARED = ("microgrid._labels",)
"""Helpers under every room, the engine floor's too: they import nothing of microgrid."""

def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass
class Imports:
    """What one module imports: modules (edges, with the line) and names from modules."""

    module: str
    edges: dict[str, int] = field(default_factory=dict)
    names: list[tuple[str, str, int]] = field(default_factory=list)  # (module, name, line)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> module it is

    def edge(self, target: str, line: int) -> None:
        if target != self.module:
            self.edges.setdefault(target, line)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree``, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _base(module: str, level: int, target: str | None) -> str:
    """The absolute module a ``from`` import names (``from ..ops import X`` in
    ``microgrid.compile.tape`` is ``microgrid.ops``)."""
    if level == 0:
        return target or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{target}" if target else package


def imports_of(module: str) -> Imports:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), str(MODULES[module]))
    found = Imports(module)
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    found.edge(alias.name, node.lineno)
                    if alias.asname:
                        found.aliases[alias.asname] = alias.name
                    else:  # import microgrid.viz.live binds microgrid
                        top = alias.name.partition(".")[0]
                        found.aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, node.level, node.module)
            if base not in MODULES:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:  # from . import ops: the submodule
                    found.edge(sub, node.lineno)
                    found.aliases[alias.asname or alias.name] = sub
                else:
                    found.edge(base, node.lineno)
                    found.names.append((base, alias.name, node.lineno))
    for node in _nodes(tree):  # live._svg_only, microgrid.graph._x: a name of a module
        if isinstance(node, ast.Attribute):
            target = _module_named(node.value, found.aliases)
            if target is not None:
                found.names.append((target, node.attr, node.lineno))
    return found


def _module_named(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The module an expression such as ``live`` or ``microgrid.viz.live`` names, if any."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    dotted = ".".join([aliases[node.id], *reversed(parts)])
    return dotted if dotted in MODULES else None


IMPORTS = {m: imports_of(m) for m in MODULES}


def cycles() -> list[list[str]]:
    """One cycle per strongly connected component of the import graph (Tarjan, iterative),
    each as a path ``[m₀, m₁, …, m₀]``."""
    graph = {m: sorted(IMPORTS[m].edges) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_cycle_in(set(c), graph) for c in components]


def _cycle_in(component: set[str], graph: dict[str, list[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for m in frontier:
            for t in graph[m]:
                if t == start:
                    path = [m]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if t in component and t not in previous:
                    previous[t] = m
                    following.append(t)
        frontier = following
    raise AssertionError(f"no cycle found in {sorted(component)}")


def _explain(path: list[str]) -> str:
    return " -> ".join(
        f"{a} (line {IMPORTS[a].edges[b]})" for a, b in pairwise(path)) + f" -> {path[-1]}"


def private_uses() -> list[tuple[str, str, int]]:
    """(user, "module.name", line) for every private name used outside its module."""
    found = []
    for m, imports in IMPORTS.items():
        for target, name, line in imports.names:
            if is_private(name) and f"{target}.{name}" not in MODULES:
                found.append((m, f"{target}.{name}", line))
    return found


def on_floor(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FLOOR)


def test_the_package_has_no_import_cycle_counting_imports_inside_functions() -> None:
    found = cycles()
    assert not found, "import cycles:\n" + "\n".join(map(_explain, found))


def test_no_module_uses_another_modules_private_name() -> None:
    found = private_uses()
    assert not found, "private names used outside their module:\n" + "\n".join(
        f"{m} line {line}: {name}" for m, name, line in found)


def test_the_engine_floor_imports_nothing_of_the_wings_above_it() -> None:
    up = [(m, t, line) for m in MODULES if on_floor(m)
          for t, line in IMPORTS[m].edges.items()
          if not on_floor(t) and t not in SHARED]
    assert not up, "the engine floor imports a wing above it:\n" + "\n".join(
        f"{m} line {line} imports {t}" for m, t, line in up)


def test_the_shared_helpers_import_nothing_of_microgrid() -> None:
    assert {m: sorted(IMPORTS[m].edges) for m in SHARED} == {m: [] for m in SHARED}


def test_every_floor_module_exists_so_the_layering_check_sees_it() -> None:
    missing = [f for f in (*FLOOR, *SHARED) if f not in MODULES]
    assert not missing, missing


# -- the checker itself, on small made-up sources ----------------------------------------

def _check(tmp_path: Path, source: str, module: str = "microgrid.viz.live") -> Imports:
    """What the checker reads in ``source``, taken as the text of ``module``."""
    saved = MODULES[module]
    probe = tmp_path / "live.py"
    probe.write_text(source, encoding="utf-8")
    try:
        MODULES[module] = probe
        return imports_of(module)
    finally:
        MODULES[module] = saved


def test_the_checker_sees_imports_in_functions_but_not_under_type_checking(
        tmp_path: Path) -> None:
    found = _check(tmp_path,
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .player import Player\n"
        "else:\n    import microgrid.ops\n"
        "def f():\n    from ..graph import topological_order\n    from . import player\n")
    assert set(found.edges) == {"microgrid.ops", "microgrid.graph", "microgrid.viz.player"}
    assert found.aliases == {"player": "microgrid.viz.player", "microgrid": "microgrid"}


def test_the_checker_sees_private_names_imported_or_read_from_a_module(
        tmp_path: Path) -> None:
    found = _check(tmp_path, "from ..graph import _private, __all__\nfrom . import player as p\n"
                   "import microgrid.ops\np._svg_only()\np.__name__\nnot_a_module._x\n"
                   "microgrid.ops._TINY\n")
    privates = sorted((t, n) for t, n, _ in found.names if is_private(n))
    assert privates == [("microgrid.graph", "_private"), ("microgrid.ops", "_TINY"),
                        ("microgrid.viz.player", "_svg_only")]


def test_the_checker_finds_a_cycle_and_prints_it() -> None:
    IMPORTS["microgrid.graph"].edges["microgrid.engine"] = 1
    try:
        (path,) = [p for p in cycles() if {"microgrid.engine", "microgrid.graph"} <= set(p)]
        assert path[0] == path[-1]
        assert all(b in IMPORTS[a].edges for a, b in pairwise(path))
        assert "microgrid.graph (line 1) -> microgrid.engine" in _explain(path)
    finally:
        del IMPORTS["microgrid.graph"].edges["microgrid.engine"]


def test_the_old_forwarding_modules_explorer_and_render_are_gone() -> None:
    # they only forwarded to microgrid.viz and were never documented; the wing has one door
    assert "microgrid.explorer" not in MODULES and "microgrid.render" not in MODULES
    assert {"microgrid.viz.explorer", "microgrid.viz.render"} <= set(MODULES)
