"""The numpy replay backend: a traced tape run as a few array operations per layer.

A training step's tape is wide: the same op applied to thousands of independent operands
(every wᵢⱼ·xⱼ of a layer, for every example of the batch). This backend plans the tape once:

1. **Sums.** A chain of ``+`` nodes whose inner links are used only once,
   ``((b + p₁) + p₂) + … + pₖ``, becomes one sum of k + 1 terms. This reads the op table:
   ``add``'s local derivatives are the constants (1, 1), so every term of a merged sum
   receives the sum's gradient unchanged (and the terms commute).
2. **Levels.** A node's depth is 1 + the largest depth of its operands (leaves: 0). Nodes
   of one depth never depend on each other, so the nodes of one depth and one op (sums:
   one number of terms) form a group, run as one array operation.
3. **Slots and views.** Values live in one flat array ``V`` (gradients in ``G``):
   parameters, inputs and constants first, then each group's outputs contiguously. Where
   a group's operands sit in ``V`` in a regular pattern — a range, a range repeated, a grid
   — the operand is a strided *view* of ``V``, made once; otherwise it is gathered
   (``take``) on every replay.
4. **Contractions.** A group of products whose outputs feed one block of a sum and nothing
   else, Σₖ aₖ·bₖ, runs as one ``matmul`` over the views of a and b (products never stored).

Every op is read from its op-table declarations, never from its name: ``kind`` says which
nodes are sums (merged into chains), products (fused into matmuls) and dot products
(``wsum``: a layer of them is one matmul plus the bias); ``const_operands`` which operands
never receive a gradient.

Forward, per group: the op's forward on the operand arrays (:func:`.numpy_fns.forward`).
A value outside the op's domain comes out as inf or nan; the replay refuses any non-finite
value or gradient, even one a later relu would hide, and the compiled step then re-runs
eagerly so the op raises its own error.

Backward, per group in reverse: each of the op's ``partials`` rules, called on the arrays
with the numpy namespace ``F`` (:data:`microgrid.namespaces.arrays.NUMPY_FNS`), times the
group's gradient (exactly 0 where that gradient is 0, as in eager mode), added into the
operands' gradients: through the operand's view of ``G`` (summing first over the axes along
which the view repeats one slot), or with ``bincount`` when the targets have no regular
pattern.
A product's local derivatives (b, a) are what the contraction's two matmuls apply.

The results agree with eager mode to rounding: sums are reassociated (pairwise, by BLAS,
grouped by level) where ``backward()`` adds one term at a time. A replay object reuses its
arrays, so it replays in one thread at a time (a lock sees to it).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from ..namespaces.arrays import NUMPY_FNS
from ..ops import CONST, Op
from .numpy_fns import forward
from .tape import GuardFailed, NotFinite, Tape

__all__ = ["NumpyReplay"]

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]
Dims = list[tuple[int, int]]  # (length, stride) per axis, outermost first

# ----------------------------------------------------------------------------------
# Regular index patterns as strided views.
# ----------------------------------------------------------------------------------

def _affine(idx: Index) -> tuple[int, Dims] | None:
    """``idx`` as base + Σ_d i_d·stride_d over a grid (strides ≥ 0), or None."""
    cur = idx.astype(np.int64)
    dims: Dims = []
    while cur.size > 1:
        d = int(cur[1] - cur[0])
        if d < 0:
            return None
        breaks = np.flatnonzero(np.diff(cur) != d)
        run = cur.size if breaks.size == 0 else int(breaks[0]) + 1
        if cur.size % run:
            return None
        rows = cur.reshape(-1, run)
        if not np.array_equal(rows - rows[:, :1],
                              np.broadcast_to(np.arange(run) * d, rows.shape)):
            return None
        dims.append((run, d))
        cur = rows[:, 0]
    dims.reverse()
    return int(cur[0]), dims


def _common(shapes: list[list[int]], n: int) -> list[int] | None:
    """The coarsest shape (outer first) refining every given factorization of n."""
    work = [list(s) for s in shapes if s]
    if not work:
        return [n]
    out: list[int] = []
    while any(work):
        if not all(work):
            return None
        inner = min(s[-1] for s in work)
        for s in work:
            if s[-1] % inner:
                return None
            s[-1] //= inner
            if s[-1] == 1:
                s.pop()
        out.append(inner)
    out.reverse()
    return out


def _refine(dims: Dims, lengths: list[int]) -> Dims:
    """``dims`` split into the given axis lengths (which must refine them)."""
    out: Dims = []
    work = list(dims)
    for length in reversed(lengths):
        if length == 1:
            out.append((1, 0))
            continue
        size, stride = work.pop()
        while size == 1:
            size, stride = work.pop()
        if size != length:
            work.append((size // length, stride * length))
        out.append((length, stride))
    out.reverse()
    return out


def _fit(idx: Index, lengths: list[int]) -> tuple[int, Dims] | None:
    """``idx`` as a regular pattern with exactly the axes ``lengths``, or None."""
    found = _affine(idx)
    if found is None:
        return None
    base, dims = found
    if _common([[n for n, _ in dims], lengths], idx.size) != lengths:
        return None
    return base, _refine(dims, lengths)


def _view(buf: Array, base: int, dims: Dims) -> Array:
    view: Array = as_strided(buf[base:], shape=tuple(n for n, _ in dims),
                             strides=tuple(s * buf.itemsize for _, s in dims), writeable=True)
    return view


def _injective(base: int, dims: Dims) -> bool:
    """No two positions of the pattern share a slot (so ``view += c`` loses nothing)."""
    g = np.full((), base, dtype=np.int64)
    for n, s in dims:
        g = g[..., None] + np.arange(n) * s
    return bool(np.unique(g).size == g.size)


# ----------------------------------------------------------------------------------
# Operands.
# ----------------------------------------------------------------------------------

@dataclass
class _Operand:
    """Where one operand (or one block of a sum's terms) of a group lives in ``V``/``G``.

    Either a view (contributions are summed over ``reduce`` — the axes along which the view
    repeats one slot — and added through ``gview``), or flat indices ``take`` (gathered;
    contributions added with ``bincount`` over ``unique``/``inverse``).
    """

    shape: tuple[int, ...]
    vview: Array | None = None
    gview: Array | None = None
    reduce: tuple[int, ...] = ()
    take: Index | None = None
    unique: Index | None = None
    inverse: Index | None = None

    def value(self, V: Array) -> Array:
        if self.vview is not None:
            return self.vview
        assert self.take is not None
        return V[self.take].reshape(self.shape)

    def add(self, G: Array, c: Array) -> None:
        """G[targets] += c, each repeated target receiving every contribution."""
        if self.gview is not None:
            if self.reduce:
                if c.shape != self.shape:
                    c = np.broadcast_to(c, self.shape)
                c = np.add.reduce(c, axis=self.reduce)
            self.gview += c
            return
        assert self.unique is not None
        flat = np.broadcast_to(c, self.shape).ravel()
        if self.inverse is None:
            G[self.unique] += flat
        else:
            G[self.unique] += np.bincount(self.inverse, weights=flat,
                                          minlength=self.unique.size)

    def sum_value(self, V: Array) -> Array:
        total: Array = self.value(V).sum(axis=-1)
        return total

    def sum_backward(self, G: Array, grad: Array) -> None:
        self.add(G, grad[..., None])


def _plan_operand(idx: Index, lengths: list[int], V: Array, G: Array,
                  backward: bool) -> _Operand:
    """An operand with flat indices ``idx`` laid out on the axes ``lengths``."""
    op = _Operand(tuple(lengths))
    found = _fit(idx, lengths)
    if found is not None:
        base, dims = found
        op.vview = _view(V, base, dims)
        if backward:
            keep = [(n, s) for n, s in dims if s != 0 or n == 1]
            if _injective(base, keep):
                op.gview = _view(G, base, keep)
                op.reduce = tuple(a for a, (n, s) in enumerate(dims) if s == 0 and n > 1)
    if op.vview is None or (backward and op.gview is None):
        op.take = idx.astype(np.intp)
    if backward and op.gview is None:
        unique, inverse = np.unique(idx, return_inverse=True)
        if unique.size == idx.size:
            op.unique = op.take
        else:
            op.unique = unique.astype(np.intp)
            op.inverse = inverse.astype(np.intp).ravel()
    return op


@dataclass
class _Contraction:
    """A block of a sum, Σₖ aₖ·bₖ, whose products feed nothing else: one batched matmul.

    The row axes split into those a and b both vary along (batch), those only a varies
    along (rows of the matmul) and those only b varies along (its columns); k is contracted.
    """

    a: Array                      # view of V: (batch…, a-only…, k)
    b: Array                      # view of V: (batch…, b-only…, k)
    ga: Array | None              # the same views of G, when a (b) needs a gradient
    gb: Array | None
    sizes: tuple[int, int, int, int]   # batch, a-only, b-only, k (products of lengths)
    to_rows: tuple[int, ...]      # transposes (batch…, a…, b…) into the group's row order
    from_rows: tuple[int, ...]    # and back
    lens: tuple[int, ...]         # (batch…, a…, b…) lengths
    rows: tuple[int, ...]         # the group's row shape
    squeezed: tuple[int, ...]     # the row shape without axes of length 1

    def _mats(self) -> tuple[Array, Array]:
        nb, na, nbb, k = self.sizes
        return self.a.reshape(nb, na, k), self.b.reshape(nb, nbb, k)

    def sum_value(self, V: Array) -> Array:
        am, bm = self._mats()
        res = np.matmul(am, bm.transpose(0, 2, 1))
        out: Array = res.reshape(self.lens).transpose(self.to_rows).reshape(self.rows)
        return out

    def sum_backward(self, G: Array, grad: Array) -> None:
        nb, na, nbb, _ = self.sizes
        gm = grad.reshape(self.squeezed).transpose(self.from_rows).reshape(nb, na, nbb)
        am, bm = self._mats()
        if self.ga is not None:   # ∂(a·b)/∂a = b
            self.ga += np.matmul(gm, bm).reshape(self.ga.shape)
        if self.gb is not None:   # ∂(a·b)/∂b = a
            self.gb += np.matmul(gm.transpose(0, 2, 1), am).reshape(self.gb.shape)


@dataclass
class _Products:
    """A block Σₖ aₖ·bₖ whose operands fit no matmul: elementwise products, then a sum."""

    V: Array
    a: _Operand                   # both laid out as (rows…, k)
    b: _Operand
    want_a: bool
    want_b: bool

    def sum_value(self, V: Array) -> Array:
        total: Array = (self.a.value(V) * self.b.value(V)).sum(axis=-1)
        return total

    def sum_backward(self, G: Array, grad: Array) -> None:
        g = grad[..., None]
        av, bv = self.a.value(self.V), self.b.value(self.V)
        if self.want_a:          # ∂(a·b)/∂a = b
            self.a.add(G, g * bv)
        if self.want_b:          # ∂(a·b)/∂b = a
            self.b.add(G, g * av)


def _plan_contraction(acols: Index, bcols: Index, rows: list[int], k: int, V: Array,
                      G: Array, want_a: bool, want_b: bool) -> _Contraction | None:
    lengths = [*rows, k]
    fa, fb = _fit(acols, lengths), _fit(bcols, lengths)
    if fa is None or fb is None:
        return None
    (base_a, dims_a), (base_b, dims_b) = fa, fb
    if dims_a[-1][1] == 0 or dims_b[-1][1] == 0:
        return None
    batch: list[int] = []
    only_a: list[int] = []
    only_b: list[int] = []
    for t, n in enumerate(rows):
        if n == 1:
            continue
        za, zb = dims_a[t][1] == 0, dims_b[t][1] == 0
        if za and zb:
            return None
        (only_b if za else only_a if zb else batch).append(t)
    da = [dims_a[t] for t in batch + only_a] + [dims_a[-1]]
    db = [dims_b[t] for t in batch + only_b] + [dims_b[-1]]
    for want, base, d in ((want_a, base_a, da), (want_b, base_b, db)):
        if want and not _injective(base, d):
            return None
    kept = [t for t, n in enumerate(rows) if n > 1]
    cat = batch + only_a + only_b
    return _Contraction(
        a=_view(V, base_a, da), b=_view(V, base_b, db),
        ga=_view(G, base_a, da) if want_a else None,
        gb=_view(G, base_b, db) if want_b else None,
        sizes=(math.prod(rows[t] for t in batch), math.prod(rows[t] for t in only_a),
               math.prod(rows[t] for t in only_b), k),
        to_rows=tuple(cat.index(t) for t in kept),
        from_rows=tuple(kept.index(t) for t in cat),
        lens=tuple(rows[t] for t in cat), rows=tuple(rows),
        squeezed=tuple(rows[t] for t in kept))


# ----------------------------------------------------------------------------------
# Planning.
# ----------------------------------------------------------------------------------

@dataclass
class _Group:
    """Nodes of one op (or sums of one width) at one depth: outputs in ``V[start:stop]``."""

    start: int
    stop: int
    rows: tuple[int, ...]
    operands: list[Any]                       # _Operand (sums: also _Contraction)
    out: Array
    grad: Array
    is_sum: bool = False
    op: Op | None = None                      # the op of an elementwise group
    forward: Callable[..., Any] | None = None
    positions: list[int] = field(default_factory=list)  # operands that receive gradient


def _merge_sums(tape: Tape) -> tuple[dict[int, list[int]], list[bool]]:
    """Chains of ``+`` whose inner links are used once, as sums: (terms, absorbed)."""
    n = len(tape)
    uses = tape.read_counts()
    terms: dict[int, list[int]] = {}
    absorbed = [False] * n
    for i in range(n):
        if tape.ops[i].kind == "sum":   # out = a + b: every term gets the sum's gradient
            merged: list[int] = []
            for j in tape.args[i]:
                if j in terms and uses[j] == 1:
                    part = terms.pop(j)
                    absorbed[j] = True
                    if merged:
                        merged.extend(part)
                    else:
                        merged = part
                else:
                    merged.append(j)
            terms[i] = merged
    return terms, absorbed


def _row_shape(idxs: list[Index], n: int) -> list[int]:
    """A row shape for a group that refines its regular operands' patterns."""
    shapes = []
    for idx in idxs:
        found = _affine(idx)
        if found is not None:
            shapes.append([m for m, _ in found[1]] or [1])
    shape = _common(shapes, n)
    while shape is None and shapes:
        shapes.pop()
        shape = _common(shapes, n)
    return shape if shape is not None else [n]


def _blocks(cols: Index) -> list[tuple[int, int]]:
    """Runs of consecutive term columns whose slots advance by one step per column."""
    out = []
    a = 0
    k = cols.shape[1]
    while a < k:
        b = a + 1
        if b < k:
            step = cols[:, b] - cols[:, a]
            if np.all(step == step[0]):
                while b < k and np.array_equal(cols[:, b] - cols[:, b - 1], step):
                    b += 1
        out.append((a, b))
        a = b
    return out


class NumpyReplay:
    """``replay(wrt_values, input_values) -> (outputs, grads)`` with numpy arrays;
    ``input_values`` is a list of floats or a 1-D float64 array (assigned as it is)."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self._lock = threading.Lock()
        n = len(tape)
        terms, absorbed = _merge_sums(tape)
        nodes = [i for i in range(n) if not absorbed[i]]
        operands = {i: terms[i] if i in terms else list(tape.args[i]) for i in nodes}
        self._terms = terms
        depth = [0] * n
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i in nodes:
            if tape.ops[i].arity != 0:
                depth[i] = 1 + max(depth[j] for j in operands[i])
                kind: Any = "+" if i in terms else tape.ops[i]
                groups.setdefault((depth[i], kind, len(operands[i])), []).append(i)
        # slots: wrt, inputs, constants, then each group contiguously
        slot = [-1] * n
        order: list[int] = []
        for i in [*tape.wrt, *tape.inputs, *(i for i in nodes if tape.ops[i].arity == 0)]:
            if i >= 0 and slot[i] < 0:
                slot[i] = len(order)
                order.append(i)
        keys = sorted(groups, key=lambda k: (k[0], groups[k][0]))
        for key in keys:
            for i in groups[key]:
                slot[i] = len(order)
                order.append(i)
        self.V = np.array([tape.data[i] for i in order], dtype=np.float64)
        self.G = np.zeros(len(order))
        # which nodes carry gradient (on the merged graph)
        leads = [op.arity == 0 and op is not CONST for op in tape.ops]  # as tape.needs_grad
        for i in nodes:
            leads[i] = leads[i] or any(leads[j] for j in operands[i])
        live = [False] * n
        live[tape.outputs[0]] = True
        for i in reversed(nodes):
            if live[i]:
                for j in operands[i]:
                    live[j] = True
        self._slot, self._order, self._operands = slot, order, operands
        self._leads = [leads[i] and live[i] for i in range(n)]
        self._uses = tape.read_counts(operands)
        self._products = {slot[groups[k][0]]: k for k in keys
                          if isinstance(k[1], Op) and k[1].kind == "product" and k[2] == 2}
        self._groups = groups
        planned: dict[tuple[Any, ...], _Group] = {}
        self._fused: set[tuple[Any, ...]] = set()
        for key in reversed(keys):  # sums before the products they may absorb
            if key not in self._fused:
                planned[key] = self._plan(key)
        self.groups = [planned[k] for k in keys if k in planned]
        self.root = slot[tape.outputs[0]]
        self.out_slots = np.array([slot[i] for i in tape.outputs], dtype=np.intp)
        self.wrt = _Args([slot[i] if i >= 0 else -1 for i in tape.wrt])
        self.inputs = _Args([slot[i] if i >= 0 else -1 for i in tape.inputs])
        self.guards = [(slot[gd.node], gd.cmp,
                        slot[gd.other] if isinstance(gd.other, int) else gd.other,
                        gd.expected) for gd in tape.guards]
        # Keep only arrays: long-lived per-node Python lists would lengthen every full
        # pass of the cyclic collector, for the whole process.
        del self.tape, self._slot, self._order, self._operands, self._leads, self._uses
        del self._groups, self._products, self._terms

    def _wants(self, slots: Index) -> bool:
        return any(self._leads[self._order[s]] for s in np.unique(slots))

    def _cols(self, members: list[int]) -> Index:
        return np.array([[self._slot[j] for j in self._operands[i]] for i in members],
                        dtype=np.intp)

    def _plan(self, key: tuple[Any, ...]) -> _Group:
        members = self._groups[key]
        _, kind, width = key
        cols = self._cols(members)
        start, stop = self._slot[members[0]], self._slot[members[-1]] + 1
        need = any(self._leads[i] for i in members)
        V, G = self.V, self.G
        if kind == "+":
            cols = cols[:, np.argsort(cols[0], kind="stable")]  # a sum's terms commute
            blocks = _blocks(cols)
            rows = _row_shape([cols[:, a] for a, _ in blocks], len(members))
            parts: list[Any] = []
            for a, b in blocks:
                flat = cols[:, a:b].ravel()
                part = self._contraction(flat, rows, b - a, need) if b - a > 1 else None
                parts.append(part or _plan_operand(flat, [*rows, b - a], V, G,
                                                   need and self._wants(flat)))
            g = _Group(start, stop, tuple(rows), parts, V[start:stop].reshape(rows),
                       G[start:stop].reshape(rows), is_sum=True)
            g.positions = [p for p, part in enumerate(parts) if need and (
                isinstance(part, _Contraction) or part.gview is not None
                or part.unique is not None)]
            return g
        op = self.tape.ops[members[0]]
        if op.kind == "dot":
            return self._plan_wsum(members, cols, start, stop, need)
        rows = _row_shape([cols[:, p] for p in range(width)], len(members))
        wanted = [need and p not in op.const_operands and self._wants(cols[:, p])
                  for p in range(width)]
        parts = [_plan_operand(cols[:, p], rows, V, G, wanted[p]) for p in range(width)]
        g = _Group(start, stop, tuple(rows), parts, V[start:stop].reshape(rows),
                   G[start:stop].reshape(rows), op=op, forward=forward(op, width))
        g.positions = [p for p in range(width) if wanted[p]]
        return g

    def _plan_wsum(self, members: list[int], cols: Index, start: int, stop: int,
                   need: bool) -> _Group:
        """A layer of fused neurons Σₖ wₖ·xₖ + b: one matmul (or products and a sum) + b."""
        n = (cols.shape[1] - 1) // 2
        wcols, xcols, bias = cols[:, :n], cols[:, n:2 * n], cols[:, 2 * n]
        V, G = self.V, self.G
        rows = _row_shape([wcols[:, 0], xcols[:, 0], bias], len(members))
        want_w = need and self._wants(wcols)
        want_x = need and self._wants(xcols)
        wflat, xflat = wcols.ravel(), xcols.ravel()
        products: Any = _plan_contraction(wflat, xflat, rows, n, V, G, want_w, want_x)
        if products is None:
            products = _Products(V, _plan_operand(wflat, [*rows, n], V, G, want_w),
                                 _plan_operand(xflat, [*rows, n], V, G, want_x),
                                 want_w, want_x)
        b = _plan_operand(bias, [*rows, 1], V, G, need and self._wants(bias))
        g = _Group(start, stop, tuple(rows), [products, b], V[start:stop].reshape(rows),
                   G[start:stop].reshape(rows), is_sum=True)
        g.positions = [p for p, part in enumerate(g.operands) if need and (
            not isinstance(part, _Operand) or part.gview is not None
            or part.unique is not None)]
        return g

    def _contraction(self, flat: Index, rows: list[int], k: int,
                     need: bool) -> _Contraction | None:
        """Fuse the product group that fills exactly this block of a sum, if there is one."""
        first = int(flat[0])
        key = self._products.get(first)
        if key is None or key in self._fused:
            return None
        members = self._groups[key]
        if len(members) != flat.size or not np.array_equal(
                flat, np.arange(first, first + flat.size)):
            return None
        if any(self._uses[i] != 1 for i in members):
            return None
        pcols = self._cols(members)
        want_a = need and self._wants(pcols[:, 0])
        want_b = need and self._wants(pcols[:, 1])
        c = _plan_contraction(pcols[:, 0], pcols[:, 1], rows, k, self.V, self.G,
                              want_a, want_b)
        if c is not None:
            self._fused.add(key)
        return c

    def __call__(self, wrt_values: Sequence[float], input_values: Sequence[float] | Array,
                 wrt_grads: Sequence[float] | None = None) -> tuple[list[float], list[float]]:
        with self._lock, np.errstate(all="ignore"):
            V, G = self.V, self.G
            self.wrt.put(V, wrt_values)
            self.inputs.put(V, input_values)
            for g in self.groups:
                if g.is_sum:
                    parts = g.operands
                    total = parts[0].sum_value(V)
                    for part in parts[1:]:
                        total = total + part.sum_value(V)
                    g.out[...] = total
                else:
                    g.out[...] = g.forward(*[p.value(V) for p in g.operands])  # type: ignore[misc]
            if not np.isfinite(V).all():
                raise NotFinite("a value of the replay is not finite")
            for k, (a, cmp, b, expected) in enumerate(self.guards):
                if _COMPARE[cmp](V[a], V[b] if isinstance(b, int) else b) != expected:
                    raise GuardFailed(k)
            G.fill(0.0)
            G[self.root] = 1.0
            for g in reversed(self.groups):
                if not g.positions:
                    continue
                grad = g.grad
                if g.is_sum:
                    for p in g.positions:
                        g.operands[p].sum_backward(G, grad)
                    continue
                op = g.op
                assert op is not None
                xs = [p.value(V) for p in g.operands]
                xs.append(g.out)
                every = op.vector_rule(NUMPY_FNS, *xs) if op.vector_rule is not None else None
                zero = grad == 0.0
                for p in g.positions:
                    d = every[p] if every is not None else op.partials[p](NUMPY_FNS, *xs)
                    # a zero upstream gradient contributes exactly zero (never 0 × ∞) ...
                    g.operands[p].add(G, np.where(zero, 0.0, grad * d))
                    # ... but a rule with no value there may still be an error in eager
                    # mode (a power at a base ≤ 0): let eager mode decide
                    if not np.isfinite(d).all() and not np.isfinite(
                            np.where(zero, d, 0.0)).all():
                        raise NotFinite("a local derivative behind a zero gradient")
            if not np.isfinite(G).all():
                raise NotFinite("a gradient of the replay is not finite")
            return V[self.out_slots].tolist(), self.wrt.take(G, wrt_grads)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b), "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b),
    "!=": lambda a, b: bool(a != b)}


class _Args:
    """Where the replay's arguments go in ``V`` (and their gradients come from in ``G``)."""

    def __init__(self, slots: list[int]) -> None:
        arr = np.array(slots, dtype=np.intp)
        self.n = arr.size
        self.present = np.flatnonzero(arr >= 0).astype(np.intp)
        self.slots = arr[self.present]
        self.whole: slice | None = None
        if self.present.size == self.n and self.n and (
                self.n == 1 or bool(np.all(np.diff(arr) == 1))):
            self.whole = slice(int(arr[0]), int(arr[0]) + self.n)

    def put(self, V: Array, values: Sequence[float] | Array) -> None:
        if len(values) != self.n:
            raise ValueError(f"replay: expected {self.n} values, got {len(values)}")
        if self.whole is not None:
            V[self.whole] = values
        elif self.slots.size:
            V[self.slots] = np.asarray(values, dtype=np.float64)[self.present]

    def take(self, G: Array, start: Sequence[float] | None = None) -> list[float]:
        """The arguments' gradients, added to ``start`` (their earlier ``grad``) if given."""
        if self.whole is not None:
            got = G[self.whole]
            if start is not None:
                got = np.asarray(start, dtype=np.float64) + got
            grads: list[float] = got.tolist()
            return grads
        out = np.zeros(self.n) if start is None else np.array(start, dtype=np.float64)
        out[self.present] += G[self.slots]
        grads = out.tolist()
        return grads
