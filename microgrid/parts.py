"""The parts of a computation graph: the blocks recorded while it was built, as a tree, and
views of it cut at a chosen depth.

:func:`partition` reads, for every value below the roots, the block that made it
(:func:`microgrid.recording.block_of`) and builds a tree of :class:`Part` s: the whole graph
at the root, one part per recorded block below it (one per call: two calls of ``rmsnorm``
are two parts, titled ``rmsnorm #0`` and ``rmsnorm #1``), each holding the values made
directly in it (``own``) and its sub-parts (``children``). Parameters are not in parts:
they are grouped into the model's matrices (:func:`microgrid.structure.matrices`: ``wte
27×16``). A part whose values read the parameters of exactly one matrix is titled with it
(``linear · wq``).

:meth:`Parts.cut` gives a :class:`View`: the graph as a list of :class:`Piece` s, each a
closed part (drawn as one box), one value, or one matrix, with the scalar edges between
pieces counted. Every value of the graph is in exactly one piece (constants too): the
pieces' ``values`` add up to the graph's. :meth:`Parts.deepest` picks the deepest uniform
depth whose view has at most a given number of pieces; ``expand=`` opens chosen blocks down
to single values.

The diagrams, the stepper by blocks and the gradient report read the same view.
Imports only the engine's floor (graph, recording) and :mod:`microgrid.structure`.
"""

from __future__ import annotations

import difflib
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .engine import Value
from .graph import topological_order
from .recording import Block, block_of
from .structure import Matrix, Params, graph_parameters, matrices

__all__ = ["Part", "Parts", "Piece", "UnknownBlockError", "View", "grad_norm", "l2_norm",
           "partition"]


_RUNNING = frozenset({"add", "mul"})
"""Operations a running sum or product is made of (``s = s + t``)."""


class UnknownBlockError(ValueError):
    """An ``expand=`` name that matches no block of the graph."""


@dataclass(eq=False)
class Part:
    """One recorded block of a graph (or the whole graph, at the root).

    ``block`` the :class:`~microgrid.recording.Block` (None at the root), ``title`` as
    shown (``"rmsnorm #1"``, ``"linear · wq"``), ``path`` the titles from the top down,
    ``own`` the values made directly in it (evaluation order), ``children`` its sub-parts
    (in call order), ``values`` how many values it holds in all."""

    block: Block | None
    title: str
    parent: Part | None
    path: tuple[str, ...] = ()
    own: list[Value] = field(default_factory=list)
    children: list[Part] = field(default_factory=list)
    values: int = 0
    first: int = 0  # position of its first value in evaluation order
    reads: set[int] = field(default_factory=set)  # indices of the matrices its values read

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def name(self) -> str:
        return " › ".join(self.path) if self.path else "graph"

    def walk(self) -> Iterable[Part]:
        """This part and every part below it, parents before children."""
        stack = [self]
        while stack:
            p = stack.pop()
            yield p
            stack.extend(reversed(p.children))

    def ancestors(self) -> list[Part]:
        """The parts enclosing this one, innermost first (the root last)."""
        out: list[Part] = []
        q = self.parent
        while q is not None:
            out.append(q)
            q = q.parent
        return out

    def members(self) -> list[Value]:
        """Every value in this part and its sub-parts."""
        return [v for p in self.walk() for v in p.own]

    def __repr__(self) -> str:
        return f"Part({self.name!r}, values={self.values})"


@dataclass(eq=False)
class Piece:
    """One thing a view shows: a closed ``part``, one ``value``, one ``matrix`` or a
    ``run`` of values (:meth:`Parts.runs`).

    ``values`` how many of the graph's values it stands for, ``inputs`` the values outside it
    that it reads, ``outputs`` its values read outside it (or a root), in evaluation order."""

    kind: str  # "part", "value", "matrix" or "run" (see Parts.runs)
    title: str
    part: Part | None = None  # the closed part; for a run, the open part it is made in
    value: Value | None = None
    matrix: Matrix | None = None
    values: int = 1
    inputs: list[Value] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)
    own: list[Value] = field(default_factory=list)  # a run's values, a matrix's read

    def grad_norm(self) -> float:
        """The size of the gradient leaving this piece in the backward pass, after
        ``backward()``: ‖∂L/∂x‖₂ over its inputs for a part or a run (0.0 for a part
        without inputs); for a matrix over the entries the graph reads (an entry it does not
        read gets no gradient from it, whatever its ``.grad`` holds), for a run of leaves
        over its values, and \\|∂L/∂v\\| for one value."""
        if self.kind == "matrix" or (self.kind == "run" and not self.inputs):
            xs: Sequence[Value] = self.own
        elif self.kind == "value" and self.value is not None:
            xs = [self.value]
        else:
            xs = self.inputs
        return grad_norm(xs)

    def __repr__(self) -> str:
        return f"Piece({self.kind}, {self.title!r}, values={self.values})"


def l2_norm(xs: Iterable[float]) -> float:
    """‖x‖₂ = √(Σ xᵢ²), correctly rounded: the squares are summed exactly (as integers) and
    the root rounded once, so no square underflows to 0 (a gradient of 1e-200 has norm
    1e-200, not 0) and none overflows; nan when any xᵢ is nan, else inf when any is
    infinite or the norm exceeds the largest float."""
    ints: list[tuple[int, int]] = []  # x = n / 2**k
    infinite = False
    for x in xs:
        if math.isnan(x):
            return math.nan
        if math.isinf(x):
            infinite = True
        elif x:
            n, d = float(x).as_integer_ratio()
            ints.append((n, d.bit_length() - 1))
    if infinite:
        return math.inf
    if not ints:
        return 0.0
    top = max(k for _, k in ints)
    total = sum(n * n << 2 * (top - k) for n, k in ints)  # Σ x² = total / 4**top
    extra = max(0, 58 - total.bit_length() // 2)  # r below has at least 57 bits
    scaled = total << 2 * extra
    r = math.isqrt(scaled)  # ⌊√total · 2**extra⌋
    if r * r != scaled:
        r |= 1  # a sticky bit below the rounding position: the root is not exact
    try:
        return r / (1 << (top + extra))  # int / int rounds correctly (subnormals too)
    except OverflowError:
        return math.inf


def grad_norm(values: Iterable[Value]) -> float:
    """‖∂L/∂v‖₂ over ``values`` (their ``.grad``), correctly rounded (:func:`l2_norm`)."""
    return l2_norm(v.grad for v in values)


@dataclass
class View:
    """The graph at one cut: ``pieces`` in evaluation order (each after the pieces it
    reads, when the pieces allow it), ``edges`` (source piece, target piece) → how many
    scalar edges run between them, ``piece_of`` each value → its piece's index."""

    pieces: list[Piece]
    edges: dict[tuple[int, int], int]
    piece_of: dict[Value, int]
    values: int
    opened: frozenset[Part] = frozenset()


def _titles(siblings: list[Part], matrices_: Sequence[Matrix]) -> None:
    """Number repeated calls among siblings (``gpt #0``, ``gpt #1``) and add the one matrix
    a part reads (``linear · wq``)."""
    count: dict[str, int] = {}
    for p in siblings:
        count[p.title] = count.get(p.title, 0) + 1
    seen: dict[str, int] = {}
    for p in siblings:
        base = p.title
        if count[base] > 1:
            p.title = f"{base} #{seen.get(base, 0)}"
            seen[base] = seen.get(base, 0) + 1
        if len(p.reads) == 1:
            p.title += " · " + matrices_[next(iter(p.reads))].name


class Parts:
    """The parts of the graph below ``roots`` (see :func:`partition`)."""

    def __init__(self, roots: Sequence[Value], order: list[Value],
                 names: Mapping[Value, str], matrices_: list[Matrix]) -> None:
        self.roots = list(roots)
        self.order = order
        self.names = dict(names)
        self.matrices = matrices_
        self.matrix_of: dict[Value, int] = {v: k for k, m in enumerate(matrices_)
                                            for v in m.entries}
        self.position = {v: i for i, v in enumerate(order)}
        self.root = Part(None, "graph", None)
        self.part_of: dict[Value, Part] = {}
        self._matrices_read: int | None = None
        self._build()

    def _build(self) -> None:
        parts: dict[Block, Part] = {}
        matrix_of = self.matrix_of

        def part(b: Block | None) -> Part:
            if b is None:
                return self.root
            found = parts.get(b)
            if found is None:
                up = part(b.parent)
                found = parts[b] = Part(b, b.name, up)
                up.children.append(found)
            return found

        for i, v in enumerate(self.order):
            if v in matrix_of:
                continue
            b = block_of(v)
            if b is not None and b.kind == "module" and v.is_leaf and b.owner is not None:
                b = None  # a parameter the model did not name: outside the model's blocks
            p = part(b)
            p.own.append(v)
            read = {matrix_of[q] for q in v.parents if q in matrix_of}
            q: Part | None = p
            while q is not None:
                if not q.values:
                    q.first = i
                q.values += 1
                q.reads |= read
                q = q.parent
            self.part_of[v] = p
        for p in self.root.walk():
            p.children.sort(key=lambda c: c.block.seq if c.block is not None else 0)
            _titles(p.children, self.matrices)
            for c in p.children:
                c.path = (*p.path, c.title)

    @property
    def values(self) -> int:
        """Every value of the graph: in parts, and the matrices' entries the graph reads."""
        return len(self.order)

    def parts(self) -> list[Part]:
        """Every recorded part (the root excluded), parents before children."""
        return [p for p in self.root.walk() if p is not self.root]

    def find(self, name: str) -> list[Part]:
        """The parts a name means: its full name (``"gpt #0 › rmsnorm #1"``), its title
        (``"rmsnorm #1"``) or the block's own name (``"rmsnorm"``: every call of it)."""
        out = [p for p in self.parts() if name in (p.name, p.title)]
        if not out:
            out = [p for p in self.parts() if p.block is not None and p.block.name == name]
        return out

    def named(self, names: str | Iterable[str]) -> list[Part]:
        """The parts ``names`` mean (each as :meth:`find` reads it), in the order named;
        a name that matches no part raises :class:`UnknownBlockError` naming the closest."""
        if isinstance(names, str):
            names = [names]
        out: dict[Part, None] = {}
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"expand: block names must be strings, got {name!r}")
            found = self.find(name)
            if not found:
                known = sorted({t for p in self.parts() for t in (p.name, p.title)})
                close = difflib.get_close_matches(name, known, n=5, cutoff=0.4)
                hint = (f"; the closest are {', '.join(map(repr, close))}" if close
                        else f"; the graph has {len(known)} block names"
                        + (f", e.g. {', '.join(map(repr, known[:5]))}" if known else
                           " (none: build it inside `with microgrid.blocks():`)"))
                raise UnknownBlockError(f"expand: no block is named {name!r}{hint}")
            out.update(dict.fromkeys(found))
        return list(out)

    def _expanded(self, expand: Iterable[str]) -> set[Part]:
        opened: set[Part] = set()
        for p in self.named(expand):
            opened.update(p.walk())
            opened.update(p.ancestors())
        return opened

    def cut(self, depth: int = 1, expand: Iterable[str] = ()) -> View:
        """The view with every part down to ``depth`` open (``depth=0``: only the whole
        graph is open, its outermost blocks are closed boxes; ``depth=1``: those are open
        too, and so on) and the parts named in ``expand`` (and all below them) open down to
        single values."""
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"depth must be a non-negative int, got {depth!r}")
        opened = {p for p in self.root.walk() if p.depth <= depth} | self._expanded(expand)
        return self.view(opened)

    def deepest(self, max_pieces: int, expand: Iterable[str] = ()) -> View:
        """The view at the deepest depth with at most ``max_pieces`` pieces (depth 0 when
        even that has more)."""
        expand = list([expand] if isinstance(expand, str) else expand)
        return self.cut(self.fitting_depth(max_pieces, expand), expand)

    def fitting_depth(self, max_pieces: int, expand: Iterable[str] = ()) -> int:
        """The depth :meth:`deepest` cuts at (counted with :meth:`size`, no view built)."""
        extra = self._expanded(expand)
        height = max((p.depth for p in self.root.walk()), default=0)
        best = 0
        for d in range(1, height + 1):
            if self.size({p for p in self.root.walk() if p.depth <= d} | extra) > max_pieces:
                break
            best = d
        return best

    def size(self, opened: Iterable[Part]) -> int:
        """How many pieces :meth:`view` of ``opened`` has, counted on the tree alone: the
        matrices the graph reads, the values of the open parts, and each closed part
        directly inside an open one."""
        chosen = set(opened)
        for p in list(chosen):
            chosen.update(p.ancestors())
        chosen.add(self.root)
        if self._matrices_read is None:
            self._matrices_read = len({self.matrix_of[v] for v in self.order
                                       if v in self.matrix_of})
        return self._matrices_read + sum(
            len(p.own) + sum(1 for c in p.children if c not in chosen) for p in chosen)

    def view(self, opened: Iterable[Part]) -> View:
        """The view with the parts ``opened`` open (and the parts enclosing them, and the
        whole graph): a value is in the outermost closed part around it, or is a piece of
        its own when every part around it is open. :meth:`cut` and :meth:`deepest` choose
        ``opened`` by depth; a diagram opening one block a level at a time gives its own."""
        chosen = set(opened)
        for p in list(chosen):
            chosen.update(p.ancestors())
        chosen.add(self.root)
        return self._view(frozenset(chosen))

    def _view(self, opened: frozenset[Part]) -> View:
        pieces: list[Piece] = []
        piece_of: dict[Value, int] = {}
        used = sorted({self.matrix_of[v] for v in self.order if v in self.matrix_of})
        for k in used:
            m = self.matrices[k]
            index = len(pieces)
            present = [v for v in m.entries if v in self.position]
            pieces.append(Piece("matrix", m.title, matrix=m, values=len(present), own=present))
            for v in present:
                piece_of[v] = index

        def closed(v: Value) -> Part | None:
            p: Part | None = self.part_of[v]
            top = None
            while p is not None and p not in opened:
                top = p
                p = p.parent
            return top

        part_piece: dict[Part, int] = {}
        for v in self.order:
            if v in piece_of:
                continue
            box = closed(v)
            if box is None:
                piece_of[v] = len(pieces)
                pieces.append(self._value_piece(v))
            else:
                if box not in part_piece:
                    part_piece[box] = len(pieces)
                    pieces.append(Piece("part", box.title, part=box, values=box.values))
                piece_of[v] = part_piece[box]
        return self._finish(pieces, piece_of, opened)

    def _value_piece(self, v: Value) -> Piece:
        return Piece("value", self.names.get(v) or v.label or "", value=v)

    def _finish(self, pieces: list[Piece], piece_of: dict[Value, int],
                opened: frozenset[Part]) -> View:
        """The view of ``pieces`` (each value in ``piece_of[value]``): the scalar edges
        between pieces counted, each piece's inputs and outputs, the pieces in order."""
        edges: dict[tuple[int, int], int] = {}
        inputs: list[dict[Value, None]] = [{} for _ in pieces]
        outputs: list[dict[Value, None]] = [{} for _ in pieces]
        for v in self.order:
            target = piece_of[v]
            for q in v.parents:
                source = piece_of[q]
                if source != target:
                    edges[source, target] = edges.get((source, target), 0) + 1
                    inputs[target][q] = None
                    outputs[source][q] = None
        for r in self.roots:
            outputs[piece_of[r]][r] = None
        for k, piece in enumerate(pieces):
            piece.inputs = sorted(inputs[k], key=self.position.__getitem__)
            piece.outputs = sorted(outputs[k], key=self.position.__getitem__)
        order = _piece_order(pieces, edges, self.position, piece_of)
        renumber = {old: new for new, old in enumerate(order)}
        return View([pieces[k] for k in order],
                    {(renumber[a], renumber[b]): n for (a, b), n in edges.items()},
                    {v: renumber[k] for v, k in piece_of.items()}, len(self.order), opened)

    def runs(self, view: View, keep: Iterable[Part] = ()) -> View:
        """``view`` with its single values read as runs, the way a reader of tensor code
        sees them: in one open part, the values of one operation on the same pieces (the
        products ``w·x`` of one matrix–vector product, the 16 sums ``x + a`` of a residual)
        are one piece of kind ``"run"``; a running sum or product (``s + t`` where only
        ``s`` is in a run of ``+`` and nothing else reads ``s``) continues that run when
        its other operand comes from earlier pieces (a constant operand, as in ``p - 1.0``,
        starts a run of its own); the loose inputs of a part are one run; a constant read
        only by one run is in it. A value alone stays a value, and so does every value
        made in a part of ``keep``; closed parts and matrices stay as they are. Counts add
        up as in any view."""
        kept = set(keep)
        pieces: list[Piece] = []
        piece_of: dict[Value, int] = {}
        level: dict[int, int] = {}
        runs: dict[int, list[Value]] = {}  # new piece index → its values, for runs
        run_op: dict[int, tuple[Part | None, str]] = {}
        keyed: dict[tuple[object, ...], int] = {}
        carried = {k: len(pieces) + n for n, k in enumerate(
            k for k, p in enumerate(view.pieces) if p.kind != "value")}
        pieces = [replace(view.pieces[k]) for k in carried]
        constants: list[Value] = []
        readers: dict[Value, int] = dict.fromkeys(self.order, 0)
        for v in self.order:
            for q in v.parents:
                readers[q] += 1
        for v in self.order:
            k = view.piece_of[v]
            if k in carried:
                unit = piece_of[v] = carried[k]
                level[unit] = max(level.get(unit, 0), 1 + max(
                    (level[piece_of[q]] for q in v.parents
                     if q in piece_of and piece_of[q] != unit), default=-1))
                continue
            if v.is_constant:
                constants.append(v)
                continue
            home = self.part_of.get(v)
            op = v.op.name if v.parents else "leaf"
            sources = [piece_of[q] for q in v.parents if q in piece_of]
            if home in kept:
                unit = piece_of[v] = len(pieces)
                pieces.append(self._value_piece(v))
                level[unit] = 1 + max((level[s] for s in sources), default=-1)
                continue
            unit = -1
            if op in _RUNNING and len(sources) == len(v.parents) == 2:
                running = [s for s, q in zip(sources, v.parents)
                           if s in runs and run_op[s] == (home, op) and readers[q] == 1]
                if len(running) == 1 and sources.count(running[0]) == 1:
                    r = running[0]
                    if all(level[s] < level[r] for s in sources if s != r):
                        unit = r
            if unit < 0:
                fixed = getattr(v.op, "const_operands", ())  # the exponent of x ** 2
                key = (id(home), op, frozenset(sources),
                       tuple(v.parents[i].data for i in fixed if i < len(v.parents)))
                unit = keyed.get(key, -1)
                if unit < 0:
                    unit = keyed[key] = len(pieces)
                    pieces.append(Piece("run", "", part=home))
                    runs[unit], run_op[unit] = [], (home, op)
                    level[unit] = 0
            runs[unit].append(v)
            piece_of[v] = unit
            level[unit] = max(level[unit], 1 + max((level[s] for s in sources if s != unit),
                                                   default=-1))
        read_by: dict[Value, set[int]] = {c: set() for c in constants}
        for v in self.order:
            for q in v.parents:
                if q in read_by and v in piece_of:
                    read_by[q].add(piece_of[v])
        for c in constants:
            read = read_by[c]
            r = next(iter(read)) if len(read) == 1 else -1
            if r in runs and len(runs[r]) > 1 and run_op[r][0] is self.part_of.get(c):
                runs[r].append(c)
                piece_of[c] = r
            else:
                piece_of[c] = len(pieces)
                pieces.append(self._value_piece(c))
        for unit, members in runs.items():
            if len(members) > 1:
                ops = [m for m in members if not m.is_constant]
                what = "inputs" if not ops[0].parents else ops[0].op.symbol
                pieces[unit] = replace(pieces[unit], title=f"{what} ×{len(ops)}",
                                       values=len(members), own=members)
            else:
                pieces[unit] = self._value_piece(members[0])
        return self._finish(pieces, piece_of, view.opened)


def _piece_order(pieces: Sequence[Piece], edges: Mapping[tuple[int, int], int],
                 position: Mapping[Value, int], piece_of: Mapping[Value, int]) -> list[int]:
    """The pieces in evaluation order: each after the pieces it reads (Kahn's algorithm,
    ties by first value); a cycle between closed parts (a part whose values are not made in
    one stretch, such as a generator's) keeps the remaining pieces in first-value order."""
    first = [len(position)] * len(pieces)
    for v, k in piece_of.items():
        first[k] = min(first[k], position[v])
    indegree = [0] * len(pieces)
    after: list[list[int]] = [[] for _ in pieces]
    for a, b in edges:
        indegree[b] += 1
        after[a].append(b)
    ready = [(first[k], k) for k in range(len(pieces)) if indegree[k] == 0]
    heapq.heapify(ready)
    out: list[int] = []
    placed = [False] * len(pieces)
    while len(out) < len(pieces):
        if not ready:  # a cycle: take the earliest piece not yet placed
            k = min((k for k in range(len(pieces)) if not placed[k]), key=first.__getitem__)
            indegree[k] = 0
            heapq.heappush(ready, (first[k], k))
        _, k = heapq.heappop(ready)
        if placed[k]:
            continue
        placed[k] = True
        out.append(k)
        for b in after[k]:
            indegree[b] -= 1
            if indegree[b] == 0 and not placed[b]:
                heapq.heappush(ready, (first[b], b))
    return out


def partition(roots: Value | Iterable[Value], params: Params = None, *,
              order: list[Value] | None = None) -> Parts:
    """The :class:`Parts` of the graph below ``roots``: its recorded blocks as a tree and its
    parameters as matrices (named by ``params`` — a model, a ``state_dict`` of matrices, a
    mapping or a list, see :func:`microgrid.structure.parameter_names` — or, by default, by
    the :mod:`microgrid.nn` networks the graph's parameters remember). ``order``: the
    graph's topological order, when the caller has walked it already."""
    root_list = [roots] if isinstance(roots, Value) else list(roots)
    if not root_list or not all(isinstance(r, Value) for r in root_list):
        raise TypeError("partition: roots must be a Value or an iterable of Values")
    if order is None:
        order = topological_order(root_list)
    names, models = graph_parameters(order, params)
    mats = matrices(params) if params is not None else [m for model in models
                                                         for m in matrices(model)]
    return Parts(root_list, order, names, mats)

