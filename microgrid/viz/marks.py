"""What a diagram marks on its picture: the current step, the values and gradients known.

:class:`Marks` is the state after one step of the stepper: which values are known (the
forward pass), which gradients (backprop), which node is current and what flows along
its edges. The same :class:`~microgrid.viz.picture.Picture` is drawn with different
marks at every step of the explorer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..block_steps import BlockBackwardStep, BlockForwardStep, BlockSteps
from ..engine import Value
from ..stepper import BackwardStep, ForwardStep, NumberFormat, format_number, grads_after

__all__ = ["Marks", "block_marks", "marks_at"]


@dataclass
class Marks:
    """The state drawn: known data (None: all), gradients (None: read ``.grad``), the
    current node, the contributions on its edges (operand slot → text), grads shown?"""

    known: set[Value] | None = None
    grads: Mapping[Value, float] | None = None
    current: Value | None = None
    flows: dict[int, str] = field(default_factory=dict)
    grads_shown: bool = True


def paren(text: str) -> str:
    """A negative number in parentheses, to stand as a factor: ``1 × (-4)``."""
    return f"({text})" if text.startswith("-") else text


def marks_at(steps: Sequence[ForwardStep] | Sequence[BackwardStep] | None, at: int | None,
             fmt: NumberFormat) -> Marks:
    """The state after ``steps[at]`` (default: the last step; no steps: the graph as is)."""
    if steps is None:
        return Marks()
    if not steps:
        return Marks()
    k = len(steps) - 1 if at is None else at
    if isinstance(k, bool) or not isinstance(k, int) or not -1 <= k < len(steps):
        raise IndexError(f"at={at!r} is outside the {len(steps)} steps")
    if isinstance(steps[0], ForwardStep):
        known = {s.node for s in steps[:k + 1]}
        current = steps[k].node if k >= 0 else None
        return Marks(known=known, grads={}, current=current, grads_shown=False)
    bsteps: Sequence[BackwardStep] = steps  # type: ignore[assignment]
    marks = Marks(grads=grads_after(bsteps, k) if k >= 0 else {})
    if k >= 0:
        step = bsteps[k]
        marks.current = step.node
        for i, c in enumerate(step.contributions):
            if not c.constant:
                marks.flows[i] = (f"{format_number(step.upstream, fmt)} × "
                                  f"{paren(format_number(c.local, fmt))} = "
                                  f"{format_number(c.contribution, fmt)}")
    return marks


def block_marks(steps: BlockSteps, step: BlockForwardStep | BlockBackwardStep) -> Marks:
    """The state after a block step: forward, the data of every piece stepped so far;
    backward, every gradient complete so far (:meth:`~microgrid.block_steps.BlockSteps.
    grads_after`); the current piece marked by a value in it (the value leaving it)."""
    piece = step.piece
    values = steps.values_of(step.at)
    current = piece.outputs[-1] if piece.outputs else (values[-1] if values else None)
    if isinstance(step, BlockForwardStep):
        return Marks(known=steps.known_after(step), grads={}, current=current,
                     grads_shown=False)
    return Marks(grads=steps.grads_after(step), current=current)
