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
from dataclasses import dataclass, field

from .engine import Value
from .graph import topological_order
from .recording import Block, block_of
from .structure import Matrix, Params, matrices, owning_models, parameter_names

__all__ = ["Part", "Parts", "Piece", "UnknownBlockError", "View", "grad_norm", "l2_norm",
           "partition"]


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

    def members(self) -> list[Value]:
        """Every value in this part and its sub-parts."""
        return [v for p in self.walk() for v in p.own]

    def __repr__(self) -> str:
        return f"Part({self.name!r}, values={self.values})"


@dataclass(eq=False)
class Piece:
    """One thing a view shows: a closed ``part``, one ``value`` or one ``matrix``.

    ``values`` how many of the graph's values it stands for, ``inputs`` the values outside it
    that it reads, ``outputs`` its values read outside it (or a root), in evaluation order."""

    kind: str  # "part", "value" or "matrix"
    title: str
    part: Part | None = None
    value: Value | None = None
    matrix: Matrix | None = None
    values: int = 1
    inputs: list[Value] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)

    def grad_norm(self) -> float:
        """The size of the gradient leaving this piece in the backward pass, after
        ``backward()``: ‖∂L/∂x‖₂ over its inputs for a part (0.0 without inputs), over its
        entries for a matrix, and \\|∂L/∂v\\| for one value."""
        if self.kind == "matrix" and self.matrix is not None:
            xs: Sequence[Value] = self.matrix.entries
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

    def _expanded(self, expand: Iterable[str]) -> set[Part]:
        if isinstance(expand, str):
            expand = [expand]
        opened: set[Part] = set()
        for name in expand:
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
            for p in found:
                opened.update(p.walk())
                q = p.parent
                while q is not None:
                    opened.add(q)
                    q = q.parent
        return opened

    def cut(self, depth: int = 1, expand: Iterable[str] = ()) -> View:
        """The view with every part down to ``depth`` open (``depth=0``: only the whole
        graph is open, its outermost blocks are closed boxes; ``depth=1``: those are open
        too, and so on) and the parts named in ``expand`` (and all below them) open down to
        single values."""
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"depth must be a non-negative int, got {depth!r}")
        opened = {p for p in self.root.walk() if p.depth <= depth} | self._expanded(expand)
        opened.add(self.root)
        return self._view(frozenset(opened))

    def deepest(self, max_pieces: int, expand: Iterable[str] = ()) -> View:
        """The view at the deepest depth with at most ``max_pieces`` pieces (depth 0 when
        even that has more)."""
        expand = list([expand] if isinstance(expand, str) else expand)
        best = self.cut(0, expand)
        height = max((p.depth for p in self.root.walk()), default=0)
        for d in range(1, height + 1):
            view = self.cut(d, expand)
            if len(view.pieces) > max_pieces:
                break
            best = view
        return best

    def _view(self, opened: frozenset[Part]) -> View:
        pieces: list[Piece] = []
        piece_of: dict[Value, int] = {}
        used = sorted({self.matrix_of[v] for v in self.order if v in self.matrix_of})
        for k in used:
            m = self.matrices[k]
            index = len(pieces)
            present = [v for v in m.entries if v in self.position]
            pieces.append(Piece("matrix", m.title, matrix=m, values=len(present)))
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
                pieces.append(Piece("value", self.names.get(v) or v.label or "", value=v))
            else:
                if box not in part_piece:
                    part_piece[box] = len(pieces)
                    pieces.append(Piece("part", box.title, part=box, values=box.values))
                piece_of[v] = part_piece[box]
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


def partition(roots: Value | Iterable[Value], params: Params = None) -> Parts:
    """The :class:`Parts` of the graph below ``roots``: its recorded blocks as a tree and its
    parameters as matrices (named by ``params`` — a model, a ``state_dict`` of matrices, a
    mapping or a list, see :func:`microgrid.structure.parameter_names` — or, by default, by
    the :mod:`microgrid.nn` networks the graph's parameters remember)."""
    root_list = [roots] if isinstance(roots, Value) else list(roots)
    if not root_list or not all(isinstance(r, Value) for r in root_list):
        raise TypeError("partition: roots must be a Value or an iterable of Values")
    order: list[Value] = topological_order(root_list)
    if params is None:
        models = owning_models(order)
        names = {p: n for m in models for p, n in parameter_names(m).items()}
        mats = [m for model in models for m in matrices(model)]
    else:
        names = parameter_names(params)
        mats = matrices(params)
    return Parts(root_list, order, names, mats)

