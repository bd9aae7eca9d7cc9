"""Where the gradient goes: after ``backward()``, how large the gradient is per parameter
matrix and per block of the graph.

``gradient_report(state_dict)`` (or a model, or a list of parameters: anything
:func:`microgrid.structure.matrices` reads) gives, for every matrix (``wte 27×16``, an
MLP's ``L0.w`` and ``L0.b``), the L2 norm of its gradient, its largest ``|grad|`` and where
(``wte[3][7]``), how many entries have a gradient of exactly 0, and which rows received
gradient. Given the graph's root (``root=loss``, built inside ``microgrid.blocks()``), it
also gives per block of :func:`microgrid.parts.partition`'s view at ``depth`` (by default
the first depth with more than one block) the gradient leaving the block backwards
(:meth:`~microgrid.parts.Piece.grad_norm`: the norm over the block's inputs) and its
largest entry. Values made outside any block, and the matrices, are not block rows.

The report is a table (``print(report)``, or shown by Jupyter), its numbers are data
(``report.rows``, ``report.blocks``: dataclasses), and ``report.plot()`` draws them
(matplotlib, imported only there).

**Exact numbers.** A norm is √(Σ g²) rounded once (:func:`microgrid.parts.l2_norm`: the
squares summed as integers), so a gradient of 1e-200 is not reported as 0; largest and
zero counts read the ``.grad`` floats as they are.

**Rows.** For every matrix of two or more dimensions (a row runs along the last index)
the report names the rows with any nonzero gradient (``rows_with_grad``). That is how an
embedding shows: a matrix read one row at a time (``wte[token]``) receives gradient only
in the rows of the tokens the step used ("3, 10, 17 of 27"). Given ``root``,
``rows_read`` names the rows with an entry in the graph at all: a row read but with zero
gradient is a vanishing gradient (a dead ReLU's row of weights), a row never read is
simply unused. No matrix is singled out as an embedding by its name or shape: the rows
say it.

**Before backward().** Every gradient is 0: the report is still made (such a graph exists:
a loss that does not depend on the parameters), and its ``note`` says that no gradient
reached any matrix and that ``backward()`` may not have run yet.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..engine import Value
from ..parts import Parts, Piece, View, grad_norm, partition
from ..structure import Matrix, Params, matrices

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BlockGradient", "GradientReport", "MatrixGradient", "gradient_report",
           "matrix_gradients", "rows_text", "watched_matrices"]


@dataclass(frozen=True)
class MatrixGradient:
    """The gradient of one parameter matrix: ``norm`` = ‖∂L/∂W‖₂ over its entries,
    ``largest`` = max |∂L/∂Wᵢⱼ| at the entry named ``largest_at`` (its first occurrence;
    ``""`` when every entry's gradient is 0), ``zeros`` entries whose gradient is exactly 0,
    ``rows_with_grad`` the rows with a nonzero gradient and ``rows_read`` the rows with an
    entry in the graph (None without the graph's root)."""

    name: str
    title: str
    shape: tuple[int, ...]
    size: int
    norm: float
    largest: float
    largest_at: str
    zeros: int
    rows: int
    rows_with_grad: tuple[int, ...]
    rows_read: tuple[int, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BlockGradient:
    """The gradient leaving one block backwards: ``norm`` = ‖∂L/∂x‖₂ over the values it
    reads from outside (its ``inputs``, as :meth:`~microgrid.parts.Piece.grad_norm`),
    ``largest`` = max |∂L/∂x| over them, at the input named ``largest_at`` (a parameter's
    name, a label, or the piece it comes from)."""

    title: str
    name: str
    values: int
    inputs: int
    norm: float
    largest: float
    largest_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _largest(values: Sequence[Value], names: Sequence[str]) -> tuple[float, str]:
    best, at = 0.0, ""
    for v, name in zip(values, names):
        g = abs(v.grad)
        if g > best or (g != g and best == best):  # nan is the largest: it is wrong
            best, at = g, name
    return best, at


def watched_matrices(params: Params) -> list[Matrix]:
    """The matrices of ``params`` (:func:`microgrid.structure.matrices`), with the lone
    parameters that have no name (a plain list of unlabelled ``Value``s) gathered into one
    vector ``parameters`` (entries ``parameters[0]``, …) instead of one nameless row each."""
    mats = matrices(params)
    loose = [m for m in mats if not m.shape and not m.name]
    if len(loose) < 2:
        return mats
    entries = tuple(m.entries[0] for m in loose)
    vector = Matrix("parameters", (len(entries),), entries,
                    tuple(f"parameters[{i}]" for i in range(len(entries))))
    gathered = {id(m) for m in loose}
    kept = [m for m in mats if id(m) not in gathered]
    return [vector, *kept] if mats[0] is loose[0] else [*kept, vector]


def matrix_gradients(mats: Iterable[Matrix], read: Iterable[Value] | None = None
                     ) -> list[MatrixGradient]:
    """One :class:`MatrixGradient` per matrix, read from its entries' ``.grad`` now;
    ``read``: the values of the graph (for ``rows_read``)."""
    present = None if read is None else set(read)
    out = []
    for m in mats:
        grid = m.rows() if len(m.shape) >= 2 else [list(m.entries)]
        largest, at = _largest(m.entries, m.names)
        out.append(MatrixGradient(
            m.name, m.title, m.shape, m.size, grad_norm(m.entries), largest, at,
            sum(1 for v in m.entries if v.grad == 0.0), len(grid),
            tuple(i for i, row in enumerate(grid) if any(v.grad != 0.0 for v in row)),
            None if present is None else
            tuple(i for i, row in enumerate(grid) if any(v in present for v in row))))
    return out


def rows_text(rows: Sequence[int], total: int, most: int = 8) -> str:
    """``"all 27"``, ``"none of 27"``, ``"3, 10, 17 of 27"``, ``"all but 23 of 32"``,
    ``"12 of 40: 0, 1, …"`` (at most ``most`` rows listed)."""
    if len(rows) == total:
        return f"all {total}"
    if not rows:
        return f"none of {total}"
    if len(rows) > most and total - len(rows) <= most:
        missing = sorted(set(range(total)) - set(rows))
        return f"all but {', '.join(map(str, missing))} of {total}"
    if len(rows) > most:
        return f"{len(rows)} of {total}: " + ", ".join(map(str, rows[:most])) + ", …"
    return f"{', '.join(map(str, rows))} of {total}"


def _num(x: float) -> str:
    return f"{x:.4g}"


class GradientReport:
    """Where the gradient goes (see :func:`gradient_report`): ``rows`` one
    :class:`MatrixGradient` per matrix, ``blocks`` one :class:`BlockGradient` per block of
    the view at ``depth`` (empty without a root), ``note`` what the numbers cannot show (no
    gradient reached any matrix; no block was recorded), or ``""``."""

    def __init__(self, rows: list[MatrixGradient], blocks: list[BlockGradient],
                 depth: int | None) -> None:
        self.rows = rows
        self.blocks = blocks
        self.depth = depth
        self.parameters = sum(r.size for r in rows)
        notes = []
        if not any(r.largest for r in rows):
            notes.append("No gradient reached any matrix: every .grad is 0 (has backward() "
                         "run? a loss that does not depend on these parameters gives this "
                         "too).")
        if depth is not None and not blocks:
            notes.append(f"No block at depth {depth}: build the graph inside `with "
                         f"microgrid.blocks():` to see the gradient per block (or choose "
                         f"a smaller depth).")
        self.note = " ".join(notes)

    def __getitem__(self, name: str) -> MatrixGradient:
        """The row of a matrix by its name (``"wte"``) or title (``"wte 27×16"``)."""
        for r in self.rows:
            if name in (r.name, r.title):
                return r
        raise KeyError(f"gradient report: no matrix is named {name!r}; the matrices are "
                       f"{', '.join(r.name for r in self.rows)}")

    def __repr__(self) -> str:
        return (f"GradientReport({len(self.rows)} matrices, {self.parameters} parameters, "
                f"{len(self.blocks)} blocks)")

    def tables(self) -> list[tuple[list[str], list[list[str]]]]:
        """The report as text tables: ``(header, rows)`` for the matrices, then the blocks."""
        head = ["matrix", "‖grad‖", "largest |grad|", "at", "zero grads", "rows with grad"]
        if any(r.rows_read is not None for r in self.rows):
            head.append("rows read")
        body = []
        for r in self.rows:
            cells = [r.title, _num(r.norm), _num(r.largest), r.largest_at or "—",
                     f"{r.zeros} of {r.size}",
                     rows_text(r.rows_with_grad, r.rows) if len(r.shape) >= 2 else "—"]
            if r.rows_read is not None:
                cells.append(rows_text(r.rows_read, r.rows) if len(r.shape) >= 2 else "—")
            body.append(cells)
        out = [(head, body)]
        if self.blocks:
            out.append((["block" if self.depth is None else f"block (depth {self.depth})",
                         "values", "inputs", "‖grad‖ leaving", "largest |grad|", "at"],
                        [[b.title, str(b.values), str(b.inputs), _num(b.norm),
                          _num(b.largest), b.largest_at or "—"] for b in self.blocks]))
        return out

    def __str__(self) -> str:
        lines = [f"Where the gradient goes: {len(self.rows)} matrices, "
                 f"{self.parameters} parameters"]
        if self.note:
            lines.append(self.note)
        for head, body in self.tables():
            widths = [max(len(row[k]) for row in [head, *body]) for k in range(len(head))]
            numeric = [k for k in range(len(head))
                       if body and all(_is_number(row[k]) for row in body)]
            lines.append("")
            for row in [head, *body]:
                cells = [c.rjust(w) if k in numeric else c.ljust(w)
                         for k, (c, w) in enumerate(zip(row, widths))]
                lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        out = [f"<div><b>Where the gradient goes</b>: {len(self.rows)} matrices, "
               f"{self.parameters} parameters</div>"]
        if self.note:
            out.append(f"<div>{html.escape(self.note)}</div>")
        for head, body in self.tables():
            out.append('<table style="border-collapse:collapse;margin:4px 0">')
            out.append("<tr>" + "".join(
                f'<th style="text-align:left;padding:1px 8px">{html.escape(h)}</th>'
                for h in head) + "</tr>")
            for row in body:
                out.append("<tr>" + "".join(
                    f'<td style="text-align:{"right" if _is_number(c) else "left"};'
                    f'padding:1px 8px;font-family:monospace">{html.escape(c)}</td>'
                    for c in row) + "</tr>")
            out.append("</table>")
        return "".join(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """The norm per matrix as bars on a log scale (a matrix with no gradient marked 0)
        and, beside them, a strip of rows for each matrix where some rows received no
        gradient (:func:`microgrid.plot.gradients`)."""
        from ..plot import gradients

        return gradients(self, ax)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _input_name(x: Value, names: dict[Value, str], pieces: Sequence[Piece],
                piece_of: dict[Value, int]) -> str:
    name = names.get(x) or x.label
    return name if name else f"from {pieces[piece_of[x]].title}"


def _first_branching(parts: Parts, expand: Iterable[str]) -> tuple[int, View]:
    """The first depth whose view holds more than one block (single wrappers, such as
    the one function a whole step runs in, are opened), or the deepest holding any."""
    expand = list(expand)
    height = max((p.depth for p in parts.root.walk()), default=0)
    best = (0, parts.cut(0, expand))
    for d in range(height):
        view = parts.cut(d, expand)
        count = sum(1 for p in view.pieces if p.kind == "part")
        if count == 0:
            break
        best = (d, view)
        if count > 1:
            break
    return best


def gradient_report(params: Params = None, root: Value | Sequence[Value] | None = None, *,
                    depth: int | None = None, expand: Iterable[str] = ()) -> GradientReport:
    """Where the gradient goes after ``backward()``: per parameter matrix of ``params``
    (a ``state_dict`` of nested lists, a model, a mapping or a list of ``Value``s) and,
    given the graph's ``root`` (recorded inside ``microgrid.blocks()``), per block of its
    view at ``depth`` (:meth:`microgrid.parts.Parts.cut`; ``expand=`` opens named blocks).
    ``depth=None``: the first depth with more than one block (a step wrapped in one
    function shows the blocks inside it). ``params=None`` takes the matrices of the
    :mod:`microgrid.nn` networks the graph's parameters remember."""
    if isinstance(params, Value) and root is None:
        raise TypeError("gradient_report: params is one Value; pass the parameters first "
                        "and the graph's root as root= (gradient_report(state_dict, "
                        "root=loss))")
    if root is None:
        if params is None:
            raise TypeError("gradient_report: give params (a state_dict, a model or a list "
                            "of parameters), root (the graph's loss), or both")
        return GradientReport(matrix_gradients(watched_matrices(params)), [], None)
    if isinstance(root, Value):
        roots: list[Value] = [root]
    elif isinstance(root, (list, tuple)) and root and all(isinstance(r, Value) for r in root):
        roots = list(root)
    else:
        raise TypeError(f"gradient_report: root must be a Value (the loss) or a list of "
                        f"Values, got {type(root).__name__}")
    parts = partition(roots, params)
    if depth is None:
        depth, view = _first_branching(parts, expand)
    else:
        view = parts.cut(depth, expand)
    blocks = []
    for p in view.pieces:
        if p.kind != "part" or p.part is None:
            continue
        largest, at = _largest(p.inputs, [_input_name(x, parts.names, view.pieces,
                                                      view.piece_of) for x in p.inputs])
        blocks.append(BlockGradient(p.title, p.part.name, p.values, len(p.inputs),
                                    p.grad_norm(), largest, at))
    mats = parts.matrices if params is None else watched_matrices(params)
    return GradientReport(matrix_gradients(mats, parts.order), blocks, depth)
