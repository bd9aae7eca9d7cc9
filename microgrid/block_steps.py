"""Step through a large computation block by block: the forward pass, then backprop.

A graph built inside ``with microgrid.blocks():`` is cut into pieces
(:meth:`microgrid.parts.Parts.cut`): closed blocks, single values and parameter matrices.
:func:`block_steps` walks them.

* **Forward**, in evaluation order: each piece with what flows in (the values it reads
  from other pieces, with their data) and what flows out (its values read by other pieces,
  or the root).
* **Backward**, in reverse: each piece with the gradient arriving at its outputs from the
  pieces that read them (∂L/∂L = 1 at the root), and what it sends back to each input
  ``x``: the sum of the scalar contributions ∂L/∂y · ∂y/∂x over its values ``y`` that read
  ``x`` — the vector–Jacobian product of the piece, Jᵀ·ḡ.

Those contributions are the scalar stepper's (:func:`microgrid.stepper.backward_steps`: the
op table's local derivatives through :mod:`microgrid.chain`, with its scaled seed where
products underflow), summed per piece in the order the scalar steps visit them. A value
that receives nothing from inside its own piece (a parameter, an input, a matrix entry)
arrives with exactly the gradient ``backward()`` gives it.

:meth:`BlockSteps.descend` opens one piece: the scalar steps of its values, the very steps
(same objects, same numbers) the full scalar stepping lists, in its order. A matrix has
the leaf steps of its entries forward and no backward steps (its entries have no
operands; their gradients are in the matrix's block step); a single value has its own
step. A graph with no recorded blocks is stepped by single values and matrices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .engine import Value
from .graph import topological_order
from .parts import Piece, View, partition
from .stepper import (
    BackwardStep,
    ForwardStep,
    NumberFormat,
    backward_steps,
    format_number,
    forward_step,
    forward_steps,
    grads_after,
    node_names,
)
from .structure import Params

__all__ = ["BlockBackwardStep", "BlockForwardStep", "BlockSteps", "Flow", "block_steps"]

SHOWN = 4
"""How many of a piece's inputs or outputs a step's text lists by name."""


@dataclass(frozen=True)
class Flow:
    """One value crossing the edge of a piece: its ``name`` and ``number`` (its data in the
    forward pass, a gradient in the backward pass)."""

    value: Value
    name: str
    number: float


@dataclass(frozen=True)
class Group:
    """The flows of one step to or from one other piece: its ``title``, how many, their
    2-norm."""

    title: str
    count: int
    norm: float


def _norm(flows: Iterable[Flow]) -> float:
    return math.sqrt(math.fsum(f.number * f.number for f in flows))


def _listing(flows: Sequence[Flow], fmt: NumberFormat, prefix: str = "",
             joiner: str = " = ") -> str:
    """The first :data:`SHOWN` flows by name, ``… and 12 more``."""
    shown = [f"{prefix}{f.name}{joiner}{format_number(f.number, fmt)}" for f in flows[:SHOWN]]
    rest = len(flows) - SHOWN
    return ", ".join(shown) + (f", … and {rest:,} more" if rest > 0 else "")


def _groups(groups: Sequence[Group], fmt: NumberFormat, norms: bool) -> str:
    return ", ".join(f"{g.title} ({g.count:,}" + (f", ‖·‖ {format_number(g.norm, fmt)}"
                                                    if norms else "") + ")"
                     for g in groups)


def _values(n: int, what: str = "value", many: str = "") -> str:
    return f"{n:,} " + (what if n == 1 else many or what + "s")


def _head(index: int, piece: Piece) -> str:
    if piece.kind == "matrix":
        return f"[{index}] {piece.title} · {_values(piece.values, 'entry', 'entries')}"
    return f"[{index}] {piece.title} · {_values(piece.values)}"


@dataclass(frozen=True)
class BlockForwardStep:
    """One piece of the forward pass: what flows in (``inputs``, from the pieces
    ``sources``) and what flows out (``outputs``). ``at`` is the piece's index in the view;
    a single value's step also holds its scalar step (``scalar``)."""

    index: int
    piece: Piece
    at: int
    inputs: tuple[Flow, ...]
    outputs: tuple[Flow, ...]
    sources: tuple[Group, ...]
    scalar: ForwardStep | None = None
    fmt: NumberFormat = field(default=".4g", repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.piece.title

    def __str__(self) -> str:
        if self.scalar is not None:
            return f"[{self.index}] " + str(self.scalar).partition("] ")[2]
        lines = [_head(self.index, self.piece)]
        if self.inputs:
            lines.append(f"    in:  {_values(len(self.inputs))} from "
                         f"{_groups(self.sources, self.fmt, False)}")
            lines.append(f"         {_listing(self.inputs, self.fmt)}")
        lines.append(f"    out: {_values(len(self.outputs))}: "
                     f"{_listing(self.outputs, self.fmt)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class BlockBackwardStep:
    """One piece of backprop: the gradient ``arriving`` at its outputs from the pieces that
    read them (the seed at the root), and what it ``sends`` back to each input (the sum of
    its values' scalar contributions to it; ``targets`` groups them by piece)."""

    index: int
    piece: Piece
    at: int
    root_name: str
    arriving: tuple[Flow, ...]
    sends: tuple[Flow, ...]
    targets: tuple[Group, ...]
    scalar: BackwardStep | None = None
    fmt: NumberFormat = field(default=".4g", repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.piece.title

    def __str__(self) -> str:
        f, L = self.fmt, self.root_name
        if self.scalar is not None:
            return self._scalar_text()
        lines = [_head(self.index, self.piece) + ("   (holds the root: the seed)"
                                                  if self.index == 0 else "")]
        grads = _listing(self.arriving, f, f"∂{L}/∂")
        lines.append(f"    arriving at its {_values(len(self.arriving), 'output')} "
                     f"(‖·‖ {format_number(_norm(self.arriving), f)}): {grads}")
        if self.sends:
            lines.append(f"    sent back to its {_values(len(self.sends), 'input')} "
                         f"(‖·‖ {format_number(_norm(self.sends), f)}): "
                         f"{_groups(self.targets, f, True)}")
            lines.append(f"         {_listing(self.sends, f, f'∂{L}/∂', ' += ')}")
        return "\n".join(lines)

    def _scalar_text(self) -> str:
        step = self.scalar
        assert step is not None
        f, L, n = self.fmt, self.root_name, step.name
        g = self.arriving[0].number if self.arriving else 0.0
        head = f"{n} = {step.formula}" if step.formula else n
        lines = [f"[{self.index}] {head}    ∂{L}/∂{n} = {format_number(g, f)}"
                 + ("   (the seed)" if self.index == 0 else "")]
        for c in step.contributions:
            if c.constant or c.parent.is_constant:
                continue
            lines.append(f"    {c.name}: ∂{L}/∂{n} × ∂{n}/∂{c.name} = {format_number(g, f)} × "
                         f"{_paren(format_number(c.local, f))} = "
                         f"{format_number(c.contribution, f)}")
        return "\n".join(lines)


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


class BlockSteps:
    """The block steps of ``root`` at one cut (see :func:`block_steps`): ``forward`` and
    ``backward`` (computed when first read), and :meth:`descend`."""

    def __init__(self, root: Value, view: View, *, params: Params = None,
                 gradient: float = 1.0, fmt: NumberFormat = ".4g") -> None:
        if not isinstance(root, Value):
            raise TypeError(f"block_steps: root must be a Value, got {type(root).__name__}")
        if not isinstance(view, View):
            raise TypeError(f"block_steps: view must be a parts.View (Parts.cut or "
                            f"Parts.deepest), got {type(view).__name__}")
        order = topological_order(root)
        if view.values != len(order) or any(v not in view.piece_of for v in order):
            raise ValueError("block_steps: view is not a view of this graph: cut the parts "
                             "of the same root (microgrid.parts.partition(root).cut(...))")
        self.root = root
        self.view = view
        self.params = params
        self.gradient = float(gradient)
        self.fmt = fmt
        self.names = node_names(order, fmt, params)
        self.forward = self._forward()
        self._backward: list[BlockBackwardStep] | None = None
        self._scalar_forward: list[ForwardStep] | None = None
        self._scalar_backward: list[BackwardStep] | None = None
        self._members: list[list[Value]] | None = None
        self._final: dict[Value, float] | None = None
        self._ready: dict[Value, int] | None = None

    def __repr__(self) -> str:
        return (f"BlockSteps({len(self.view.pieces)} pieces, {len(self.forward)} forward "
                f"steps)")

    # -- the scalar steps, computed once, when needed ------------------------------------
    @property
    def scalar_forward(self) -> list[ForwardStep]:
        """The forward steps of every value (:func:`~microgrid.stepper.forward_steps`)."""
        if self._scalar_forward is None:
            self._scalar_forward = forward_steps(self.root, self.fmt, params=self.params)
        return self._scalar_forward

    @property
    def scalar_backward(self) -> list[BackwardStep]:
        """The backward steps of every value (:func:`~microgrid.stepper.backward_steps`)."""
        if self._scalar_backward is None:
            self._scalar_backward = backward_steps(self.root, self.gradient, self.fmt,
                                                   params=self.params)
        return self._scalar_backward

    @property
    def backward(self) -> list[BlockBackwardStep]:
        """The backward block steps, in reverse evaluation order of the pieces."""
        if self._backward is None:
            self._backward = self._backward_steps()
        return self._backward

    # -- building ----------------------------------------------------------------------
    def _stepped(self) -> list[int]:
        """The pieces that are steps: all but single constants (numbers in formulas)."""
        return [k for k, p in enumerate(self.view.pieces)
                if not (p.kind == "value" and p.value is not None and p.value.is_constant)]

    def _grouped(self, values: Iterable[Flow], norms: bool) -> tuple[Group, ...]:
        by: dict[int, list[Flow]] = {}
        for flow in values:
            by.setdefault(self.view.piece_of[flow.value], []).append(flow)
        return tuple(Group(self.view.pieces[k].title or self.names[fs[0].value], len(fs),
                           _norm(fs) if norms else 0.0) for k, fs in by.items())

    def _forward(self) -> list[BlockForwardStep]:
        names, fmt = self.names, self.fmt
        steps: list[BlockForwardStep] = []
        for k in self._stepped():
            piece = self.view.pieces[k]
            inputs = tuple(Flow(x, names[x], x.data) for x in piece.inputs)
            outputs = tuple(Flow(x, names[x], x.data) for x in piece.outputs)
            scalar = (forward_step(len(steps), piece.value, names, fmt)
                      if piece.kind == "value" and piece.value is not None else None)
            steps.append(BlockForwardStep(len(steps), piece, k, inputs, outputs,
                                          self._grouped(inputs, False), scalar, fmt))
        return steps

    def _backward_steps(self) -> list[BlockBackwardStep]:
        view, names = self.view, self.names
        scalar = self.scalar_backward
        piece_of = view.piece_of
        sent: dict[int, dict[Value, float]] = {}
        outside: dict[Value, float] = {}
        inside: set[Value] = set()
        step_of: dict[Value, BackwardStep] = {}
        for step in scalar:
            k = piece_of[step.node]
            step_of[step.node] = step
            for c in step.contributions:
                if c.constant or c.parent.is_constant:
                    continue
                if piece_of[c.parent] == k:
                    inside.add(c.parent)
                    continue
                to = sent.setdefault(k, {})
                to[c.parent] = to.get(c.parent, 0.0) + c.contribution
                outside[c.parent] = outside.get(c.parent, 0.0) + c.contribution
        final = self.gradients()
        if scalar:
            outside[self.root] = outside.get(self.root, 0.0) + scalar[0].upstream

        def arriving(x: Value) -> float:
            # what backward() gives, when nothing inside the piece adds to it
            return final.get(x, 0.0) if x not in inside else outside.get(x, 0.0)

        L = names[self.root]
        steps: list[BlockBackwardStep] = []
        for k in reversed(self._stepped()):
            piece = view.pieces[k]
            ins = [x for x in piece.inputs if not x.is_constant]
            arrived = tuple(Flow(x, names[x], arriving(x)) for x in piece.outputs)
            to = sent.get(k, {})
            sends = tuple(Flow(x, names[x], to.get(x, 0.0)) for x in ins)
            one = step_of.get(piece.value) if (piece.kind == "value"
                                               and piece.value is not None) else None
            steps.append(BlockBackwardStep(len(steps), piece, k, L, arrived, sends,
                                           self._grouped(sends, True), one, self.fmt))
        return steps

    # -- what a diagram marks -----------------------------------------------------------
    def values_of(self, at: int) -> list[Value]:
        """The values of piece ``at`` of the view (evaluation order)."""
        if self._members is None:
            self._members = [[] for _ in self.view.pieces]
            for v in topological_order(self.root):
                self._members[self.view.piece_of[v]].append(v)
        return self._members[at]

    def gradients(self) -> dict[Value, float]:
        """Every value's gradient after the whole backward pass (``backward()``'s)."""
        if self._final is None:
            self._final = grads_after(self.scalar_backward)
        return self._final

    def known_after(self, step: BlockForwardStep) -> set[Value]:
        """The values computed once the forward pass has reached the end of ``step``: those
        of its piece and of every piece stepped before it."""
        done = {s.at for s in self.forward[:step.index + 1]}
        return {v for k in done for v in self.values_of(k)}

    def grads_after(self, step: BlockBackwardStep) -> dict[Value, float]:
        """The gradients complete once backprop has reached the end of ``step``: a value's
        gradient is complete when its own piece and every piece reading it are stepped
        (each with its value, ``backward()``'s)."""
        if self._ready is None:
            when = {s.at: s.index for s in self.backward}
            ready: dict[Value, int] = {}
            for k, piece in enumerate(self.view.pieces):
                for v in self.values_of(k):
                    if not v.is_constant:
                        ready[v] = when.get(k, -1)
                for x in piece.inputs:
                    if x in ready or not x.is_constant:
                        ready[x] = max(ready.get(x, -1), when.get(k, -1))
            self._ready = ready
        final = self.gradients()
        return {v: final.get(v, 0.0) for v, i in self._ready.items() if i <= step.index}

    # -- descending ----------------------------------------------------------------------
    def descend(self, step: BlockForwardStep | BlockBackwardStep
                ) -> list[ForwardStep] | list[BackwardStep]:
        """The scalar steps of the values inside ``step``'s piece, in the order (and with
        the numbers) of the full scalar stepping: forward steps for a forward block step,
        backward steps for a backward one. A matrix gives its entries' leaf steps forward
        and none backward; a single value gives its own step (none backward for a leaf)."""
        if isinstance(step, BlockForwardStep):
            return [s for s in self.scalar_forward if self.view.piece_of[s.node] == step.at]
        if isinstance(step, BlockBackwardStep):
            return [s for s in self.scalar_backward if self.view.piece_of[s.node] == step.at]
        raise TypeError(f"descend: step must be a block step of these steps, got "
                        f"{type(step).__name__}")

    def transcript(self) -> str:
        """Every block step, forward then backward, as text."""
        lines = ["Forward pass, block by block (evaluation order):"]
        lines += [str(s) for s in self.forward]
        lines.append("Backward pass, block by block (reverse order):")
        lines += [str(s) for s in self.backward]
        return "\n".join(lines)


def block_steps(root: Value, view: View | None = None, *, params: Params = None,
                depth: int = 1, expand: Iterable[str] = (), gradient: float = 1.0,
                fmt: NumberFormat = ".4g") -> BlockSteps:
    """The forward and backward steps of ``root`` piece by piece, at ``view`` (a cut of
    :func:`microgrid.parts.partition` of the same root) or, by default, at the cut
    ``depth`` with the blocks named in ``expand`` open. ``params`` (a model or a
    ``state_dict`` of nested lists of ``Value``s) names the parameters (``wte[3][7]``) and
    groups them into matrices; ``gradient`` is the seed ∂L/∂L."""
    if view is None:
        view = partition(root, params).cut(depth, expand)
    return BlockSteps(root, view, params=params, gradient=gradient, fmt=fmt)
