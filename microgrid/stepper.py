"""Step through a computation node by node: the forward pass, then backprop.

:func:`forward_steps` lists the graph in evaluation order (the topological order), each
node with its formula filled in with its operands' names and values::

    q = x + y = -2 + 5 = 3

:func:`backward_steps` lists the chain rule in reverse topological order. At each node
``out`` with upstream gradient ∂L/∂out, every operand ``p`` receives

    contribution = ∂L/∂out · ∂out/∂p        (upstream × local)
    ∂L/∂p       += contribution,

with the local derivative ∂out/∂p taken from the op table (``op.local``). Replaying every
step from zero gives exactly the numbers of one ``backward()`` call (:func:`grads_after`).

Steps are plain dataclasses; ``str(step)`` reads like a line of a worked example. The
stepper only reads the graph: it never writes ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import ldexp

from . import chain
from .engine import Value
from .graph import topological_order
from .structure import Params, parameter_names

__all__ = [
    "BackwardStep",
    "Contribution",
    "ForwardStep",
    "NumberFormat",
    "backward_steps",
    "format_number",
    "forward_step",
    "forward_steps",
    "grads_after",
    "node_names",
]

NumberFormat = str | Callable[[float], str]
"""A format spec for :func:`format` (``".4g"``: 4 significant digits) or a function."""


def format_number(x: float, fmt: NumberFormat = ".4g") -> str:
    """``x`` written with ``fmt`` (a format spec or a function); −0 is written 0."""
    text = fmt(x) if callable(fmt) else format(x, fmt)
    if text.startswith("-") and text[1:].strip("0.") == "":
        text = text[1:]  # "-0", "-0.000" → "0", "0.000"
    return text


def node_names(nodes: Iterable[Value], fmt: NumberFormat = ".4g",
               params: Params = None) -> dict[Value, str]:
    """A short name for every node: its name in ``params`` (a model or a ``state_dict`` of
    matrices, :func:`~microgrid.structure.parameter_names`: ``wte[3][7]``), its label, a
    constant's number, else ``v1``, ``v2``, …

    Unlabelled nodes are numbered in the order given (use a topological order), skipping
    names that a parameter or a label already uses.
    """
    nodes = list(nodes)
    given: dict[Value, str] = {}
    if params is not None:
        given = {p: name for p, name in parameter_names(params).items() if name}
    taken = {n.label for n in nodes if n.label} | set(given.values())
    names: dict[Value, str] = {}
    k = 0
    for n in nodes:
        if n in given:
            names[n] = given[n]
        elif n.label:
            names[n] = n.label
        elif n.is_constant:
            names[n] = format_number(n.data, fmt)
        else:
            k += 1
            while f"v{k}" in taken:
                k += 1
            names[n] = f"v{k}"
    return names


def _paren(text: str) -> str:
    """A negative number in parentheses, to stand as an operand: ``3 · (-4)``."""
    return f"({text})" if text.startswith("-") else text


def _operand(text: str, formula: str, slot: str) -> str:
    """:func:`_paren`, unless the formula already wraps the slot: ``exp(-2)``."""
    at = formula.find(slot)
    wrapped = at > 0 and formula[at - 1] == "(" and formula[at + len(slot):].startswith(")")
    leading = at == 0 and "**" not in formula  # "-2 + 5", but "(-2) ** 2"
    return text if wrapped or leading else _paren(text)


def fill_formula(node: Value, operands: Sequence[str]) -> str:
    """The right-hand side of ``node``'s op with ``operands`` (names or numbers) filled in.

    ``fill_formula(x + y, ["x", "y"]) == "x + y"``; a fused weighted sum spells out its
    terms: ``w0·x0 + w1·x1 + b``.
    """
    op = node.op
    if op.arity == -1:  # wsum: w₁..wₙ, x₁..xₙ, b
        n = (len(operands) - 1) // 2
        terms = [f"{_paren(w)}·{_paren(x)}" for w, x in zip(operands[:n], operands[n:2 * n])]
        return " + ".join([*terms, _paren(operands[-1])])
    slots = [_operand(t, op.formula, f"{{{i}}}") for i, t in enumerate(operands)]
    return op.formula.format(*slots)


@dataclass(frozen=True)
class ForwardStep:
    """One node of the forward pass: ``name = formula = expression = value``."""

    index: int
    node: Value
    name: str
    formula: str  # with operand names: "x + y" ("" for a leaf)
    expression: str  # with operand values: "-2 + 5" ("" for a leaf)
    value: float
    fmt: NumberFormat = field(default=".4g", repr=False, compare=False)

    def __str__(self) -> str:
        value = format_number(self.value, self.fmt)
        if not self.formula:
            return f"[{self.index}] {self.name} = {value}   (leaf)"
        return f"[{self.index}] {self.name} = {self.formula} = {self.expression} = {value}"


@dataclass(frozen=True)
class Contribution:
    """What one operand ``parent`` receives at a backward step.

    ``contribution = upstream × local`` and ``grad_after = grad_before + contribution``.
    ``constant`` marks the fixed second operand of a ``const_operand`` op (the exponent of
    ``x ** 3``): its local derivative is 0 by definition.
    """

    parent: Value
    name: str
    local: float
    contribution: float
    grad_before: float
    grad_after: float
    constant: bool = False


@dataclass(frozen=True)
class BackwardStep:
    """One node of backprop: its upstream gradient ∂L/∂node and what each operand receives."""

    index: int
    node: Value
    name: str
    root_name: str
    formula: str  # "x + y" ("" for a leaf root)
    upstream: float
    contributions: tuple[Contribution, ...]
    fmt: NumberFormat = field(default=".4g", repr=False, compare=False)

    def __str__(self) -> str:
        f = self.fmt
        L, n = self.root_name, self.name
        head = f"{n} = {self.formula}" if self.formula else n
        lines = [f"[{self.index}] {head}    ∂{L}/∂{n} = {format_number(self.upstream, f)}"
                 + ("   (the seed)" if self.index == 0 else "")]
        for c in self.contributions:
            if c.constant or c.parent.is_constant:
                continue  # constants need no gradient
            lines.append(
                f"    {c.name}: local ∂{n}/∂{c.name} = {format_number(c.local, f)}"
                f"   contribution {format_number(self.upstream, f)} × "
                f"{_paren(format_number(c.local, f))} = "
                f"{format_number(c.contribution, f)}"
                f"   ∂{L}/∂{c.name}: {format_number(c.grad_before, f)} → "
                f"{format_number(c.grad_after, f)}")
        return "\n".join(lines)


def forward_steps(root: Value, fmt: NumberFormat = ".4g", *,
                  params: Params = None) -> list[ForwardStep]:
    """Every node below ``root`` in evaluation order, with its formula and value.

    Constants are not steps of their own: they appear as numbers in the formulas.
    ``params`` (a model, or a ``state_dict`` of nested lists of ``Value``s) names the
    parameters: ``wte[3][7]`` (:func:`node_names`).
    """
    order = topological_order(root)
    names = node_names(order, fmt, params)
    steps: list[ForwardStep] = []
    for node in order:
        if not node.is_constant:
            steps.append(forward_step(len(steps), node, names, fmt))
    return steps


def forward_step(index: int, node: Value, names: Mapping[Value, str],
                 fmt: NumberFormat = ".4g") -> ForwardStep:
    """The forward step ``index`` that computes ``node`` (its operands named by ``names``)."""
    parents = node.parents
    formula = expression = ""
    if parents:
        formula = fill_formula(node, [names[p] for p in parents])
        expression = fill_formula(node, [format_number(p.data, fmt) for p in parents])
    return ForwardStep(index, node, names[node], formula, expression, node.data, fmt)


def backward_steps(root: Value, gradient: float = 1.0, fmt: NumberFormat = ".4g", *,
                   params: Params = None) -> list[BackwardStep]:
    """Backprop from ``root``, one step per node with operands, in reverse topological order.

    Step 0 is the root, seeded with ∂L/∂L = ``gradient``. Every gradient starts at zero (as
    the first ``backward()`` call on a fresh graph); no ``.grad`` is written. Where a product
    of local derivatives would underflow and a later one magnify what it lost, the steps are
    computed from the seed times 2ˢ and every number shown is scaled back by 2⁻ˢ, as
    ``backward()`` does (:func:`microgrid.chain.seed_exponent`), so the last step's
    gradients are ``backward()``'s. ``params`` names the parameters, as in
    :func:`forward_steps`.
    """
    order = topological_order(root)
    names = node_names(order, fmt, params)
    scale = chain.seed_exponent(order, root, float(gradient), "backward_steps")

    def shown(x: float) -> float:  # a number of the scaled pass, as the user's pass has it
        return ldexp(x, -scale) if scale else x

    grads: dict[Value, float] = {root: 0.0}
    grads[root] += ldexp(float(gradient), scale)
    steps: list[BackwardStep] = []
    for node in reversed(order):
        parents = node.parents
        if not parents and node is not root:
            continue
        upstream = grads.get(node, 0.0)
        contributions = []
        if parents:
            received = {i: (d, c) for i, _, d, c in chain.contributions(node, upstream)}
            if not received and upstream == 0.0:  # nothing flows: show the local rules
                received = {i: (d, 0.0) for i, _, d, _ in _quietly(node)}
            const = node.op.const_operands
            for i, p in enumerate(parents):
                before = grads.get(p, 0.0)
                if i in received:
                    d, c = received[i]
                    grads[p] = after = before + c
                    contributions.append(Contribution(p, names[p], d, shown(c), shown(before),
                                                      shown(after)))
                else:
                    grads[p] = before
                    if p.is_constant or i in const:
                        contributions.append(
                            Contribution(p, names[p], 0.0, 0.0, shown(before), shown(before),
                                         True))
        formula = fill_formula(node, [names[p] for p in parents]) if parents else ""
        steps.append(BackwardStep(len(steps), node, names[node], names[root], formula,
                                  shown(upstream), tuple(contributions), fmt))
    return steps


def _quietly(node: Value) -> list[chain.Contribution]:
    """The local derivatives of ``node`` for display (none where a rule cannot be evaluated)."""
    try:
        return chain.contributions(node, 1.0)
    except (ArithmeticError, ValueError):
        return []


def grads_after(steps: Sequence[BackwardStep], upto: int | None = None) -> dict[Value, float]:
    """The gradients known after ``steps[0..upto]`` (all steps when ``upto`` is None).

    The root holds its seed from step 0 on; a node missing from the result has received
    nothing yet. After all steps this equals what one ``backward()`` call computes.
    """
    if not steps:
        return {}
    last = len(steps) - 1 if upto is None else upto
    first = steps[0]
    grads = {first.node: first.upstream}
    for step in steps[:last + 1]:
        for c in step.contributions:
            grads[c.parent] = c.grad_after
    return grads
