"""Op rules read on symbols: each op's ``forward`` and ``local`` run once on :class:`Sym`.

No rule is written twice: running an op-table rule on symbols records its arithmetic as an
expression; branches (``a if a > 0.0 else 0.0``) are explored both ways and become a
conditional evaluated on every replay, so relu's derivative is never baked in. A rule that
needs a real number (``math.exp``, a validity check that raises) gives ``None``: the
backends then call it per replay, its checks included. :func:`render` writes an expression
as source text in a backend's :class:`Dialect`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import ops
from ..ops import Op

__all__ = ["PY", "Dialect", "Sym", "explore", "forward_rule", "local_rule", "render"]


class _Untraceable(Exception):
    """The rule needed a real number (``float()``, ``math.*``): call it per replay."""


_CMP = {"<", "<=", ">", ">=", "==", "!="}


class Sym:
    """A symbolic number: arithmetic on it builds an expression tree instead of a value.

    ``kind`` is ``"var"`` (args: operand position), an operator (``"+" "-" "*" "/" "**"``,
    ``"neg"``), a comparison (``"<"`` …), ``"where"`` (condition, if-true, if-false) or
    ``"call"`` (name of a function of ``ops.FLOAT_FNS``, argument). Leaves that are plain
    numbers stay Python floats. Truth-testing a comparison asks the active path explorer.
    """

    __slots__ = ("args", "kind")

    def __init__(self, kind: str, *args: Any) -> None:
        self.kind = kind
        self.args = args

    def __add__(self, o: Any) -> Sym:
        return Sym("+", self, o)

    def __radd__(self, o: Any) -> Sym:
        return Sym("+", o, self)

    def __sub__(self, o: Any) -> Sym:
        return Sym("-", self, o)

    def __rsub__(self, o: Any) -> Sym:
        return Sym("-", o, self)

    def __mul__(self, o: Any) -> Sym:
        return Sym("*", self, o)

    def __rmul__(self, o: Any) -> Sym:
        return Sym("*", o, self)

    def __truediv__(self, o: Any) -> Sym:
        return Sym("/", self, o)

    def __rtruediv__(self, o: Any) -> Sym:
        return Sym("/", o, self)

    def __pow__(self, o: Any) -> Sym:
        return Sym("**", self, o)

    def __rpow__(self, o: Any) -> Sym:
        return Sym("**", o, self)

    def __neg__(self) -> Sym:
        return Sym("neg", self)

    def __pos__(self) -> Sym:
        return self

    def __lt__(self, o: Any) -> Sym:
        return Sym("<", self, o)

    def __le__(self, o: Any) -> Sym:
        return Sym("<=", self, o)

    def __gt__(self, o: Any) -> Sym:
        return Sym(">", self, o)

    def __ge__(self, o: Any) -> Sym:
        return Sym(">=", self, o)

    def __eq__(self, o: Any) -> Sym:  # type: ignore[override]
        return Sym("==", self, o)

    def __ne__(self, o: Any) -> Sym:  # type: ignore[override]
        return Sym("!=", self, o)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        explorer = _Paths.current
        if explorer is None:
            raise _Untraceable("a symbol was truth-tested outside path exploration")
        return explorer.decide(self if self.kind in _CMP else Sym("!=", self, 0.0))

    def __float__(self) -> float:
        raise _Untraceable("float() of a symbol")

    def __index__(self) -> int:
        raise _Untraceable("a symbol used as an int")

    def __repr__(self) -> str:
        return render(self, [f"x{i}" for i in range(64)], PY)


class _SymFns:
    """The derivative rules' namespace ``F`` on symbols: ``F.log(x)`` → a call node."""

    def __getattr__(self, name: str) -> Callable[[Any], Sym]:
        if not hasattr(ops.FLOAT_FNS, name):
            raise AttributeError(name)
        return lambda x: Sym("call", name, x)


_SYM_FNS = _SymFns()


class _Paths:
    """Drives one run of a rule along a fixed prefix of branch decisions (then True)."""

    current: _Paths | None = None

    def __init__(self, prefix: list[bool]) -> None:
        self.prefix = prefix
        self.conds: list[Sym] = []

    def decide(self, cond: Sym) -> bool:
        k = len(self.conds)
        self.conds.append(cond)
        return self.prefix[k] if k < len(self.prefix) else True


def _where(cond: Sym, t: Any, f: Any) -> Any:
    if isinstance(t, tuple) and isinstance(f, tuple) and len(t) == len(f):
        return tuple(_where(cond, a, b) for a, b in zip(t, f))
    if t is f or (type(t) in (int, float) and type(f) in (int, float) and t == f):
        return t
    return Sym("where", cond, t, f)


def explore(fn: Callable[..., Any], args: Sequence[Any], limit: int = 16) -> Any:
    """``fn(*args)`` on symbols along every branch: one expression with ``where`` nodes.

    Raises ``_Untraceable`` (or whatever ``fn`` raises) if some path cannot be traced.
    """
    runs = 0

    def build(prefix: list[bool]) -> Any:
        nonlocal runs
        runs += 1
        if runs > limit:
            raise _Untraceable(f"more than {limit} paths")
        paths = _Paths(prefix)
        outer, _Paths.current = _Paths.current, paths
        try:
            result = fn(*args)
        finally:
            _Paths.current = outer
        if len(paths.conds) <= len(prefix):
            return result
        cond = paths.conds[len(prefix)]
        return _where(cond, build([*prefix, True]), build([*prefix, False]))

    return build([])


def _is_expr(x: Any) -> bool:
    return isinstance(x, Sym) or (type(x) in (int, float) and math.isfinite(x))


_rule_cache: dict[tuple[Any, ...], Any] = {}


def forward_rule(op: Op, nargs: int, const: float | None = None) -> Sym | float | None:
    """``op.forward`` on symbols ``x0 … x(n−1)``, or None if it must be called per replay.

    ``const`` is the value of a ``const_operand`` op's fixed operand, folded in. n-ary ops
    are always called: builtins such as ``sum`` may round differently on symbols.
    """
    key = ("f", op, nargs, const)
    if key not in _rule_cache:
        rule: Any = None
        if op.forward is not None and op.arity >= 0:
            xs: list[Any] = [Sym("var", i) for i in range(nargs)]
            if const is not None:
                xs[1] = const
            try:
                rule = explore(op.forward, xs)
            except Exception:
                rule = None
            if not _is_expr(rule):
                rule = None
        _rule_cache[key] = rule
    return _rule_cache[key]  # type: ignore[no-any-return]


def local_rule(op: Op, nargs: int, const: float | None = None) -> tuple[Any, ...] | None:
    """``op.local`` on symbols ``x0 … x(n−1)`` and ``out`` = ``x(n)``; None if untraceable."""
    key = ("l", op, nargs, const)
    if key not in _rule_cache:
        rule: Any = None
        local = op.local
        if local is not None:
            xs: list[Any] = [Sym("var", i) for i in range(nargs + 1)]
            if const is not None:
                xs[1] = const
            try:
                rule = explore(lambda *a: local(_SYM_FNS, *a), xs)
            except Exception:
                rule = None
            if not (isinstance(rule, tuple) and len(rule) == nargs
                    and all(_is_expr(d) for d in rule)):
                rule = None
        _rule_cache[key] = rule
    return _rule_cache[key]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Dialect:
    """How expressions are written: conditionals and the ``F`` functions."""

    where: str      # format with {c}, {t}, {f}
    call: str       # format with {name}, {x}


PY = Dialect("({t} if {c} else {f})", "_F_{name}({x})")


def render(e: Any, names: Sequence[str], dialect: Dialect) -> str:
    """Source text of expression ``e``; ``names[i]`` is what variable ``i`` is called."""
    if not isinstance(e, Sym):
        x = float(e)
        return f"({x!r})" if x < 0.0 or (x == 0.0 and math.copysign(1.0, x) < 0.0) else repr(x)
    k, a = e.kind, e.args
    if k == "var":
        name: str = names[a[0]]
        return name
    if k == "neg":
        return f"(-{render(a[0], names, dialect)})"
    if k == "where":
        return dialect.where.format(c=render(a[0], names, dialect),
                                    t=render(a[1], names, dialect),
                                    f=render(a[2], names, dialect))
    if k == "call":
        return dialect.call.format(name=a[0], x=render(a[1], names, dialect))
    return f"({render(a[0], names, dialect)} {k} {render(a[1], names, dialect)})"

