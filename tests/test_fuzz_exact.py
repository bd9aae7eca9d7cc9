"""Fuzz: random expression graphs at every magnitude, derivatives against an exact reference.

Hypothesis draws small programs: 1–3 inputs, then 1–9 steps (half of the programs only 1–2,
so that every op meets every magnitude often), each applying one op (add, sub, mul, div,
pow with a ``Value`` exponent, powc, neg, exp, log, tanh, sigmoid, relu, softplus,
leaky_relu, abs, wsum, sqrt, sin, cos) to earlier nodes (fan-out: any node may be used again) or to
constants. Inputs and constants range over every float magnitude, 5e-324 to 1.8e308, both
signs, signed zeros, subnormals, and the edges of the ops' domains (exp near 709.78, σ near
±37, pow at base 0, log near 0, kinks at 0).

**The reference.** The engine differentiates the *float program it ran*: each node holds a
rounded value, and its local derivatives are evaluated at its operands' rounded values. The
reference does the same in exact arithmetic (mpmath, 80 digits, unbounded exponent): every
node's value is the engine's float, the op's local first and second partials are evaluated
exactly at those floats, and forward-mode jets (gradient vector and Hessian matrix per node)
carry them to the output. Separately, every node's float value is checked against the op
applied exactly to its operands (a few ulps; for wsum, ε·Σ|terms|). Together: every forward
step is correctly rounded and every derivative is the exact derivative of that computation.
Kinks use the engine's documented one-sided conventions (relu'(0) = 0, leaky'(0) = slope,
abs'(0) = 0, no second derivative at a kink).

**The property.** Each first derivative (``backward()``, ``grad()``, and the values of
``grad(create_graph=True)``) and each second derivative (``hessian()``) is either

* a finite float within ``bound`` of the exact value, or
* a named error: ``OverflowError``, ``ValueError`` or ``ZeroDivisionError`` whose message
  begins with the op's name (``"pow: ..."``), or with ``backward:``/``grad:`` and names the
  node's op;

and ``backward()`` never leaves inf or nan in any ``.grad``. A forward refusal must be
justified (the exact result overflows, or is undefined, or divides by zero).

**The bound.** A relative error of the result is meaningless under cancellation (the
exact gradient of ``x·y − x·y`` is 0), so the bound is absolute, from the classic
a-priori analysis of a sum of products: a derivative is Σ over paths of a product of local
derivatives; each factor carries ≤ K ulps, each product and sum one rounding, so

    |engine − exact| ≤ K·N·ε·Σ_paths |∏ local|  +  underflow term,

with N the number of nodes of the graph, ε = 2⁻⁵³ and K = 8; ``Σ_paths |∏ local|`` is the
same jet evaluated with absolute values (for second derivatives, N² and the absolute Hessian
jet, whose op partials count each term of the exact formula separately, e.g.
∂²aᵇ/∂a∂b = aᵇ⁻¹ + b·aᵇ⁻¹·ln a). Gradual underflow adds an absolute error of at most 2⁻¹⁰⁷⁴
per operation, which later factors can amplify: a gradient that underflows at node v is
multiplied by |∂v/∂x|, a local derivative of v that underflows (it is subnormal) by the
upstream |∂out/∂v| and its operand's |∂p/∂x|, so the underflow term is
K·2⁻¹⁰⁷⁴·Σ_v (1 + |∂out/∂v|)·(1 + |∂v/∂x| + Σ_operands p |∂p/∂x|), in absolute path sums.

Where the exact derivative does not exist (a truly infinite local derivative, pow at base 0
with exponent < 1) the engine must raise — except where the infinity is multiplied by an
exact zero (a zero upstream or a locally constant operand); then the engine's documented
rule "a zero contributes exactly zero" is the reference (counted as ``indeterminate``).

Nothing is forgiven as a limitation of float arithmetic. In the reverse pass over the graph
of first derivatives (for ``hessian``), a product of local derivatives can underflow and
later local derivatives magnify what it lost (it vanished while the term it cancels
survived; or an upstream of 3e-601 meets a⁻² = 2e565): ``grad`` then reruns the pass from
a scaled seed, or refuses the point with a named error (FOUND holds such graphs).

CI runs a fixed, derandomized budget (300 first-order graphs, 100 second-order);
``pytest --fuzz N`` runs N fresh random graphs per test and prints what it counted.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import pytest
from graphs import ONE_OPERAND_OPS, OP_NAMES
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from microgrid import Value, grad, hessian, topological_order, wsum

CTX = mpmath.MPContext()
CTX.dps = 80
mpf = CTX.mpf
INF = CTX.inf
NAN = CTX.nan
EPS = 2.0 ** -53  # unit roundoff
TINY = 2.0 ** -1074  # the smallest subnormal
MAX = sys.float_info.max
K = 8  # ulps allowed per local derivative and per elementary step

STATS: Counter[str] = Counter()

UNARY = ONE_OPERAND_OPS  # the table's, so a new op is fuzzed (and needs exact_local)
BINARY = ("add", "sub", "mul", "div")
NAMED = re.compile(r"^(" + "|".join(OP_NAMES) + r"): ")
NAMED_NODE = re.compile(r"^(backward|grad): .*\b(a|an) (" + "|".join(OP_NAMES)
                        + r") node|^(backward|grad): .*\ba leaf\b")


# ---------------------------------------------------------------------------------------
# Programs
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class C:
    """A constant operand (a plain float in the program)."""
    x: float


Ref = int | C  # an int k is the k-th most recent node (0 = the last one)


@dataclass(frozen=True)
class Step:
    op: str
    args: tuple[Ref, ...]
    param: float = 0.0  # powc exponent, leaky_relu slope

    def __repr__(self) -> str:
        p = f", {self.param!r}" if self.op in ("powc", "leaky_relu") else ""
        return f"{self.op}{self.args}{p}"


EDGES = (0.0, 5e-324, 1e-320, 2.2250738585072014e-308, 1e-310, 1e-300, 1e-200, 1.5e-154,
         1e-20, 1e-8, 0.1, 0.5, 1.0, 2.0, 3.0, 20.0, 36.5, 40.0, 709.0, 709.78, 710.0,
         745.0, 800.0, 1e20, 1e154, 1e200, 1e300, 1.7976931348623157e308)
EXPONENTS = (0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1 / 3, 0.3, 4.0,
             10.0, -3.0, 0.25, 100.0, 1e-3, 1.0000001)
SLOPES = (0.01, 0.2, 0.0, 1.0, -0.5, 2.0)


def numbers() -> st.SearchStrategy[float]:
    """Floats over the whole range: domain edges, every binary exponent, ordinary sizes."""
    sign = st.sampled_from((1.0, -1.0))
    edges = st.builds(lambda s, v: s * v, sign, st.sampled_from(EDGES))
    spread = st.builds(lambda s, m, e: s * m * 2.0 ** e, sign,
                       st.floats(1.0, 2.0, exclude_max=True), st.integers(-1074, 1023))
    subnormal = st.builds(lambda s, m: s * m * 2.0 ** -1074, sign, st.integers(1, 2 ** 52))
    small = st.builds(lambda s, m, e: s * m * 10.0 ** e, sign, st.floats(1.0, 10.0),
                      st.integers(-30, -1))
    return st.one_of(edges, spread, subnormal, small, st.floats(-8.0, 8.0),
                     st.floats(allow_nan=False, allow_infinity=False))


def steps() -> st.SearchStrategy[Step]:
    node = st.integers(0, 5)
    const = numbers().map(C)
    operand = st.one_of(node, node, const)
    unary = st.builds(lambda op, a: Step(op, (a,)), st.sampled_from(UNARY), node)
    binary = st.builds(lambda op, a, b: Step(op, (a, b) if isinstance(a, int) or
                                             isinstance(b, int) else (0, b)),
                       st.sampled_from(BINARY), operand, operand)
    power = st.builds(lambda a, b: Step("pow", (a, b)), operand, node)
    powc = st.builds(lambda a, c: Step("powc", (a,), c), node,
                     st.one_of(st.sampled_from(EXPONENTS), st.floats(-4.0, 4.0)))
    leaky = st.builds(lambda a, s: Step("leaky_relu", (a,), s), node, st.sampled_from(SLOPES))
    dot = st.integers(1, 3).flatmap(
        lambda n: st.lists(operand, min_size=2 * n + 1, max_size=2 * n + 1)
        .map(lambda xs: Step("wsum", tuple(xs))))
    return st.one_of(unary, binary, power, powc, leaky, dot)


@dataclass(frozen=True)
class Program:
    inputs: tuple[float, ...]
    steps: tuple[Step, ...]


def programs(max_steps: int = 9, rescaled: bool = False) -> st.SearchStrategy[Program]:
    """Half of them one or two ops on one or two inputs (every op at every magnitude, often),
    half larger graphs with fan-out; with ``rescaled``, a third are :func:`rescaling`."""
    def sized(inputs: int, most: int) -> st.SearchStrategy[Program]:
        return st.builds(Program, st.lists(numbers(), min_size=1, max_size=inputs).map(tuple),
                         st.lists(steps(), min_size=1, max_size=most).map(tuple))
    if rescaled:
        return st.one_of(sized(2, 2), sized(3, max_steps), rescaling(max_steps))
    return st.one_of(sized(2, 2), sized(3, max_steps))


def rescaling(max_steps: int) -> st.SearchStrategy[Program]:
    """Scaled up, then down: products and quotients by constants ±10ᵉ, first e > 0 (the
    values climb towards the top of the float range), then e < 0, with a few other ops and
    fan-out among them. In the reverse pass the gradient at the top is the product of the
    later factors, which can fall below the float range although the earlier local
    derivatives bring it back (x / 1e-300 · 1e-300 · 1e-30 has ∂/∂x = 1e-30, the upstream
    of x / 1e-300 is 1e-330)."""
    sign = st.sampled_from((1.0, -1.0))

    def by(e: int, s: float, divide: bool) -> Step:  # × 10ᵉ, as a product or a quotient
        if divide and abs(e) <= 308:
            return Step("div", (0, C(s * 10.0 ** -e)))
        return Step("mul", (0, C(s * 10.0 ** e)))

    def scales(low: int, high: int) -> st.SearchStrategy[list[Step]]:
        return st.lists(st.builds(by, st.integers(low, high), sign, st.booleans()),
                        min_size=1, max_size=3)

    other = st.one_of(
        st.builds(lambda op, k: Step(op, (0, k)), st.sampled_from(("add", "sub", "mul")),
                  st.integers(1, 4)),
        st.builds(lambda op: Step(op, (0,)), st.sampled_from(("relu", "neg", "tanh", "log"))))
    chain = st.builds(lambda up, down, extra, at: tuple((up + down)[:at] + extra
                                                        + (up + down)[at:])[:max_steps],
                      scales(20, 308), scales(-320, -20), st.lists(other, max_size=2),
                      st.integers(0, 6))
    return st.builds(Program, st.lists(st.one_of(st.floats(-8.0, 8.0), numbers()),
                                       min_size=1, max_size=2).map(tuple), chain)


# ---------------------------------------------------------------------------------------
# The exact local derivatives of each op (mpmath, at the engine's float operands)
# ---------------------------------------------------------------------------------------

class Undefined(Exception):
    """The exact op has no real value here (kind: 'domain' or 'zero')."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Local:
    value: Any
    d1: list[Any]  # ∂out/∂operand i
    d2: list[list[Any]]  # ∂²out/∂i∂j
    d2mag: list[list[Any]]  # Σ|terms| of the exact formula of ∂²out/∂i∂j


def _zero(n: int) -> list[list[Any]]:
    return [[mpf(0)] * n for _ in range(n)]


def _is_int(b: Any) -> bool:
    return bool(b == CTX.floor(b))


def mpow(a: Any, b: Any) -> Any:
    """aᵇ exactly, real values only."""
    if a == 0:
        if b > 0:
            return mpf(0)
        if b == 0:
            return mpf(1)
        raise Undefined("zero")
    if a > 0:
        return CTX.power(a, b)
    if not _is_int(b):
        raise Undefined("domain")
    m = CTX.exp(b * CTX.log(-a))
    odd = abs(b) < 2 ** 53 and int(b) % 2 == 1
    return -m if odd else m


def dpow(a: Any, c: Any, k: int) -> Any:
    """∂ᵏ(aᶜ)/∂aᵏ = c(c−1)…(c−k+1)·a^(c−k); at a = 0 it is 0, the coefficient, or ∞."""
    coef = mpf(1)
    for i in range(k):
        coef *= c - i
    if coef == 0:
        return mpf(0)
    e = c - k
    if a == 0:
        return mpf(0) if e > 0 else coef if e == 0 else INF
    return coef * mpow(a, e)


def sig(a: Any) -> Any:
    return 1 / (1 + CTX.exp(-a))


def exact_local(op: str, xs: Sequence[float], param: float) -> Local:
    """The op's exact value and local partials at the float operands ``xs``."""
    v = [mpf(x) for x in xs]
    n = len(v)
    z2 = _zero(n)
    if op == "add":
        return Local(v[0] + v[1], [mpf(1), mpf(1)], z2, z2)
    if op == "sub":
        return Local(v[0] - v[1], [mpf(1), mpf(-1)], z2, z2)
    if op == "mul":
        h = [[mpf(0), mpf(1)], [mpf(1), mpf(0)]]
        return Local(v[0] * v[1], [v[1], v[0]], h, h)
    if op == "neg":
        return Local(-v[0], [mpf(-1)], z2, z2)
    if op == "div":
        a, b = v
        if b == 0:
            raise Undefined("zero")
        h = [[mpf(0), -1 / b ** 2], [-1 / b ** 2, 2 * a / b ** 3]]
        return Local(a / b, [1 / b, -a / b ** 2], h, [[abs(e) for e in r] for r in h])
    if op in ("pow", "powc"):
        a = v[0]
        b = v[1] if op == "pow" else mpf(param)
        out = mpow(a, b)
        fa, faa = dpow(a, b, 1), dpow(a, b, 2)
        if op == "powc":
            return Local(out, [fa], [[faa]], [[abs(faa)]])
        if a > 0:
            la = CTX.log(a)
            p1 = mpow(a, b - 1)
            fb, fab, fbb = out * la, p1 * (1 + b * la), out * la * la
            mab = abs(p1) + abs(b * p1 * la)
        elif a == 0 and b > 0:
            fb = fbb = mpf(0)
            fab = mab = mpf(0) if b > 1 else INF
        else:  # a < 0 (integer b) or 0 ** 0: no derivative in b
            fb = fab = fbb = mab = NAN
        h = [[faa, fab], [fab, fbb]]
        return Local(out, [fa, fb], h, [[abs(faa), mab], [mab, abs(fbb)]])
    a = v[0]
    if op == "exp":
        e = CTX.exp(a)
        return Local(e, [e], [[e]], [[e]])
    if op == "log":
        if a <= 0:
            raise Undefined("domain")
        return Local(CTX.log(a), [1 / a], [[-1 / a ** 2]], [[1 / a ** 2]])
    if op == "tanh":
        s2 = CTX.sech(a) ** 2
        t2 = -2 * CTX.tanh(a) * s2
        return Local(CTX.tanh(a), [s2], [[t2]], [[abs(t2)]])
    if op in ("sigmoid", "softplus"):
        d1 = sig(a) * sig(-a)
        d2 = -d1 * CTX.tanh(a / 2)
        if op == "sigmoid":
            return Local(sig(a), [d1], [[d2]], [[abs(d2)]])
        sp = a + CTX.log1p(CTX.exp(-a)) if a > 0 else CTX.log1p(CTX.exp(a))
        return Local(sp, [sig(a)], [[d1]], [[d1]])
    if op == "sqrt":  # a^½: infinite derivatives at 0, as powc with c = ½
        if a < 0:
            raise Undefined("domain")
        d1, d2 = dpow(a, mpf(0.5), 1), dpow(a, mpf(0.5), 2)
        return Local(CTX.sqrt(a), [d1], [[d2]], [[abs(d2)]])
    if op == "sin":
        s_, c_ = CTX.sin(a), CTX.cos(a)
        return Local(s_, [c_], [[-s_]], [[abs(s_)]])
    if op == "cos":
        s_, c_ = CTX.sin(a), CTX.cos(a)
        return Local(c_, [-s_], [[-c_]], [[abs(c_)]])
    if op == "relu":
        return Local(a if a > 0 else mpf(0), [mpf(1 if a > 0 else 0)], z2, z2)
    if op == "leaky_relu":
        s = mpf(param)
        return Local(a if a > 0 else s * a, [mpf(1) if a > 0 else s], z2, z2)
    if op == "abs":
        return Local(abs(a), [mpf(CTX.sign(a))], z2, z2)
    if op == "wsum":
        k = (n - 1) // 2
        ws, xs_, b = v[:k], v[k:2 * k], v[-1]
        h = _zero(n)
        for i in range(k):
            h[i][k + i] = h[k + i][i] = mpf(1)
        return Local(CTX.fsum(w * x for w, x in zip(ws, xs_)) + b,
                     [*xs_, *ws, mpf(1)], h, h)
    raise AssertionError(op)


def forward_tolerance(op: str, xs: Sequence[float], exact: Any) -> float:
    """How far the engine's float value of one op may be from the exact one."""
    if op == "wsum":
        k = (len(xs) - 1) // 2
        terms = sum(abs(mpf(w) * mpf(x)) for w, x in zip(xs[:k], xs[k:2 * k])) + abs(xs[-1])
        return float(2 * len(xs) * EPS * terms) + len(xs) * TINY
    return 4 * math.ulp(min(float(abs(exact)), MAX))


# ---------------------------------------------------------------------------------------
# Jets: value, gradient and Hessian over the inputs, exact / zero-convention / absolute
# ---------------------------------------------------------------------------------------

def zmul(a: Any, b: Any) -> Any:
    """a·b with an exact zero annihilating anything (the engine's "zero contributes zero")."""
    return mpf(0) if a == 0 or b == 0 else a * b


@dataclass
class Jet:
    g: list[Any]  # exact ∂v/∂x (mpmath: inf/nan where it does not exist)
    gc: list[Any]  # the same with 0·∞ = 0
    ga: list[Any]  # Σ over paths of |∏ local|
    H: list[list[Any]]
    Hc: list[list[Any]]
    Ha: list[list[Any]]
    parents: list[tuple[int, Any, Any]] = field(default_factory=list)  # (p, ∂v/∂p, |∂v/∂p|)

    @staticmethod
    def leaf(i: int, n: int) -> Jet:
        e = [mpf(1 if j == i else 0) for j in range(n)]
        return Jet(e, list(e), list(e), _zero(n), _zero(n), _zero(n))


def combine(loc: Local, operands: list[tuple[int, Jet] | None], n: int) -> Jet:
    """Forward-mode chain rule: v' = Σ fᵢ·pᵢ', v'' = Σ fᵢ·pᵢ'' + Σ fᵢⱼ·pᵢ'⊗pⱼ'."""
    jet = Jet([mpf(0)] * n, [mpf(0)] * n, [mpf(0)] * n, _zero(n), _zero(n), _zero(n))
    live = [(i, o) for i, o in enumerate(operands) if o is not None]  # constants: no jet
    for i, (idx, p) in live:
        f = loc.d1[i]
        fa = abs(f)
        jet.parents.append((idx, f, fa))
        for x in range(n):
            jet.g[x] += f * p.g[x]
            jet.gc[x] += zmul(f, p.gc[x])
            jet.ga[x] += zmul(fa, p.ga[x])
            for y in range(n):
                jet.H[x][y] += f * p.H[x][y]
                jet.Hc[x][y] += zmul(f, p.Hc[x][y])
                jet.Ha[x][y] += zmul(fa, p.Ha[x][y])
    for i, (_, p) in live:
        for j, (_, q) in live:
            f2, m2 = loc.d2[i][j], loc.d2mag[i][j]
            for x in range(n):
                for y in range(n):
                    jet.H[x][y] += f2 * p.g[x] * q.g[y]
                    jet.Hc[x][y] += zmul(zmul(f2, p.gc[x]), q.gc[y])
                    jet.Ha[x][y] += zmul(zmul(m2, p.ga[x]), q.ga[y])
    return jet


# ---------------------------------------------------------------------------------------
# Building the engine graph and the reference side by side
# ---------------------------------------------------------------------------------------

def fail(msg: str) -> None:
    STATS["mismatches"] += 1
    pytest.fail(msg)


def require_named(err: BaseException, context: str) -> None:
    """A refusal must be a documented error type whose message names the op."""
    if not isinstance(err, (OverflowError, ValueError, ZeroDivisionError)):
        fail(f"{context}: raw {type(err).__name__}: {err}")
    msg = str(err)
    if not (NAMED.match(msg) or NAMED_NODE.match(msg)):
        fail(f"{context}: {type(err).__name__} names no op: {msg!r}")
    STATS["named errors"] += 1


def apply(op: str, xs: list[Any], param: float) -> Value:
    a = xs[0]
    if op == "add":
        return a + xs[1]  # type: ignore[no-any-return]
    if op == "sub":
        return a - xs[1]  # type: ignore[no-any-return]
    if op == "mul":
        return a * xs[1]  # type: ignore[no-any-return]
    if op == "div":
        return a / xs[1]  # type: ignore[no-any-return]
    if op == "pow":
        return a ** xs[1]  # type: ignore[no-any-return]
    if op == "powc":
        return a ** param  # type: ignore[no-any-return]
    if op == "neg":
        return -a  # type: ignore[no-any-return]
    if op == "abs":
        return abs(a)  # type: ignore[no-any-return]
    if op == "leaky_relu":
        return a.leaky_relu(param)  # type: ignore[no-any-return]
    if op == "wsum":
        k = (len(xs) - 1) // 2
        return wsum(xs[:k], xs[k:2 * k], xs[-1])
    return getattr(a, op)()  # type: ignore[no-any-return]


@dataclass
class Built:
    inputs: list[Value]
    nodes: list[Value]
    jets: list[Jet]

    @property
    def out(self) -> Value:
        return self.nodes[-1]


def build(program: Program) -> Built:
    """Run the program on the engine; check each forward value; carry the exact jets."""
    n = len(program.inputs)
    inputs = [Value(x, f"x{i}") for i, x in enumerate(program.inputs)]
    nodes: list[Value] = list(inputs)
    jets = [Jet.leaf(i, n) for i in range(n)]
    for step in program.steps:
        xs: list[Any] = []
        operands: list[tuple[int, Jet] | None] = []
        for r in step.args:
            if isinstance(r, C):
                xs.append(r.x)
                operands.append(None)
            else:
                idx = len(nodes) - 1 - r % len(nodes)
                xs.append(nodes[idx])
                operands.append((idx, jets[idx]))
        floats = [x.data if isinstance(x, Value) else float(x) for x in xs]
        try:
            loc: Local | None = exact_local(step.op, floats, step.param)
            why = ""
        except Undefined as u:
            loc, why = None, u.kind
        try:
            node = apply(step.op, xs, step.param)
        except Exception as err:
            require_named(err, f"forward {step!r} at {floats}")
            if loc is not None:  # refused: only an overflowing exact result justifies it
                if not (isinstance(err, OverflowError) and abs(loc.value) > MAX * (1 - 4 * EPS)):
                    if step.op == "wsum" and isinstance(err, OverflowError):
                        STATS["forward refusals (wsum partial sum overflows)"] += 1
                    else:
                        fail(f"forward {step!r} at {floats} refused a representable "
                             f"{mpmath.nstr(loc.value, 17)}: {err}")
            elif why == "zero" and not isinstance(err, ZeroDivisionError):
                fail(f"forward {step!r} at {floats}: expected ZeroDivisionError, got {err!r}")
            elif why == "domain" and not isinstance(err, ValueError):
                fail(f"forward {step!r} at {floats}: expected ValueError, got {err!r}")
            STATS["forward errors"] += 1
            continue
        if loc is None:
            fail(f"forward {step!r} at {floats} gave {node.data!r}; the exact op is undefined")
            return Built(inputs, nodes, jets)  # pragma: no cover
        if abs(loc.value) > MAX * (1 + 4 * EPS):
            fail(f"forward {step!r} at {floats} gave {node.data!r}; exact "
                 f"{mpmath.nstr(loc.value, 17)} overflows")
        tol = forward_tolerance(step.op, floats, loc.value)
        if not abs(mpf(node.data) - loc.value) <= tol:
            fail(f"forward {step!r} at {floats}: engine {node.data!r}, exact "
                 f"{mpmath.nstr(loc.value, 20)}, tolerance {tol:.3g}")
        STATS["nodes"] += 1
        nodes.append(node)
        jets.append(combine(loc, operands, n))
    return Built(inputs, nodes, jets)


def bounds(b: Built) -> tuple[list[Any], list[list[Any]], int]:
    """The absolute error bounds of the output's first and second derivatives."""
    n = len(b.inputs)
    size = len(topological_order(b.out))
    up = [mpf(0)] * len(b.nodes)  # Σ|∂out/∂v| over paths (reverse, absolute)
    up[-1] = mpf(1)
    for v in range(len(b.nodes) - 1, -1, -1):
        for p, _, fa in b.jets[v].parents:
            if CTX.isfinite(fa):  # an infinite local meets only a zero (else no reference)
                up[p] += zmul(fa, up[v])
    reach = [v for v in range(len(b.nodes)) if up[v] != 0]
    jet = b.jets[-1]

    # A path sum that is not finite went through an infinite local derivative; if the exact
    # derivative exists at all, an exact zero annihilated that path, and so does the engine.
    def fin(e: Any) -> Any:
        return e if CTX.isfinite(e) else mpf(0)

    def below(v: int, x: int) -> Any:  # |∂v/∂x| + Σ over v's operands p of |∂p/∂x|
        return fin(b.jets[v].ga[x]) + sum(fin(b.jets[p].ga[x]) for p, _, _ in b.jets[v].parents)

    def below2(v: int, x: int, y: int) -> Any:
        return fin(b.jets[v].Ha[x][y]) + sum(fin(b.jets[p].Ha[x][y])
                                             for p, _, _ in b.jets[v].parents)

    first, second = [], []
    for x in range(n):
        under = K * TINY * sum((1 + up[v]) * (1 + below(v, x)) for v in reach)
        first.append(K * size * EPS * fin(jet.ga[x]) + under)
        row = []
        for y in range(n):
            under2 = K * size * TINY * sum(
                (1 + up[v]) * ((1 + below(v, x)) * (1 + below(v, y)) + below2(v, x, y))
                for v in reach)
            row.append(2 * K * size * size * EPS * fin(jet.Ha[x][y]) + under2)
        second.append(row)
    return first, second, size


def adjoints(b: Built) -> tuple[list[Any], list[Any], list[Any]]:
    """∂out/∂v for every node v, exact and with 0·∞ = 0, by reverse accumulation of the
    exact local derivatives, and the bound each float gradient must meet: rounding,
    K·N·ε·Σ_paths|∏ local|, plus what underflow may cost, K·2⁻¹⁰⁷⁴·Σ_u (1 + |∂out/∂u|·
    (1 + |∂u/∂v| + Σ_operands p |∂p/∂v|)) over the nodes u the output reaches: a local
    derivative that is subnormal is off by up to its ulp, 2⁻¹⁰⁷⁴, which the upstream and
    the operands' path sums scale. A product that underflows in the reverse pass is not
    forgiven beyond that: ``grad()`` and ``backward()`` rerun from a scaled seed where later
    local derivatives would magnify what it lost (path sums here: absolute, finite locals).
    """
    count = len(b.nodes)
    reached = {id(v) for v in topological_order(b.out)}
    paths: list[dict[int, Any]] = []  # paths[u][v] = Σ over paths from u down to v of |∏|
    for u, jet in enumerate(b.jets):
        row = {u: mpf(1)}
        for p, _, fa in jet.parents:
            if CTX.isfinite(fa):  # an infinite local meets only a zero (else no reference)
                for v, s in paths[p].items():
                    row[v] = row.get(v, mpf(0)) + zmul(fa, s)
        paths.append(row)
    up = paths[-1]
    size = len(reached)
    adj, adjc = [mpf(0)] * count, [mpf(0)] * count
    adj[-1] = adjc[-1] = mpf(1)
    for v in range(count - 1, -1, -1):
        if id(b.nodes[v]) in reached:
            for p, f, _ in b.jets[v].parents:
                adj[p] += adj[v] * f
                adjc[p] += zmul(adjc[v], f)

    def below(u: int, v: int) -> Any:
        return paths[u].get(v, mpf(0)) + sum(paths[p].get(v, mpf(0))
                                             for p, _, _ in b.jets[u].parents)

    reach = [u for u, s in up.items() if s != 0]
    bound = [K * size * EPS * up.get(v, mpf(0))
             + K * TINY * sum(1 + up[u] * (1 + below(u, v)) for u in reach)
             for v in range(count)]
    return adj, adjc, bound


def check(what: str, got: float, exact: Any, conv: Any, bound: Any) -> None:
    """``got`` is within ``bound`` of the exact derivative (see the module docstring)."""
    STATS["derivatives checked"] += 1
    if not math.isfinite(got):
        fail(f"{what}: engine returned {got!r} without an error")
    if CTX.isfinite(exact):
        ref = exact
    elif CTX.isfinite(conv):
        ref = conv
        STATS["indeterminate 0·∞ (zero contributes zero)"] += 1
    else:
        fail(f"{what}: engine {got!r}, but the exact derivative is {exact} (does not exist)")
    if not abs(mpf(got) - ref) <= bound:
        fail(f"{what}: engine {got!r}, exact {mpmath.nstr(ref, 20)}, "
             f"|error| {mpmath.nstr(abs(mpf(got) - ref), 3)} > bound {mpmath.nstr(bound, 3)}")


def refused(what: str, err: BaseException, exact: Sequence[Any]) -> None:
    require_named(err, what)
    if all(CTX.isfinite(e) and abs(e) <= MAX for e in exact):
        STATS[f"refusals with a representable exact result ({what})"] += 1


def check_first_order(program: Program) -> None:
    b = build(program)
    STATS["graphs"] += 1
    if len(b.nodes) == len(b.inputs):
        return
    adj, adjc, bound = adjoints(b)
    jet = b.jets[-1]
    desc = f"{program!r}"
    try:
        gs = grad(b.out, b.inputs)
    except Exception as err:
        refused("grad", err, jet.g)
        grad_error: Exception | None = err
    else:
        grad_error = None
        for x, g in enumerate(gs):
            check(f"grad ∂/∂x{x} of {desc}", g, jet.g[x], jet.gc[x], bound[x])
    order = topological_order(b.out)
    try:
        b.out.backward()
    except Exception as err:
        refused("backward", err, jet.g)
        # refused: no inf or nan left in any .grad, the inputs' as they were (0)
        for node in order:
            if not math.isfinite(node.grad) or (node in b.inputs and node.grad != 0.0):
                fail(f"backward refused ({err}) but left {node!r}: {desc}")
        if grad_error is None:  # backward() answers for every node, grad() for the inputs
            STATS["backward refused where grad answered (an interior node's gradient)"] += 1
        return
    for node in order:
        if not math.isfinite(node.grad):
            fail(f"backward left {node.grad!r} in a .grad of {node!r}: {desc}")
    if grad_error is not None:
        STATS["grad refused where backward answered"] += 1
    for x, v in enumerate(b.inputs):
        check(f"backward ∂/∂x{x} of {desc}", v.grad, jet.g[x], jet.gc[x], bound[x])
    reached = set(order)
    for i in range(len(b.inputs), len(b.nodes)):  # every interior node, as the leaves
        if b.nodes[i] in reached:
            check(f"backward ∂/∂(node {i}, {b.nodes[i].op.name}) of {desc}", b.nodes[i].grad,
                  adj[i], adjc[i], bound[i])


def check_second_order(program: Program) -> None:
    b = build(program)
    STATS["graphs (second order)"] += 1
    if len(b.nodes) == len(b.inputs):
        return
    first, second, _ = bounds(b)
    jet = b.jets[-1]
    n = len(b.inputs)
    desc = f"{program!r}"
    try:
        gs = grad(b.out, b.inputs, create_graph=True)
    except Exception as err:
        refused("grad(create_graph=True)", err, jet.g)
        return  # hessian() starts with the same call
    for x, g in enumerate(gs):
        check(f"grad(create_graph) ∂/∂x{x} of {desc}", g.data, jet.g[x], jet.gc[x], first[x])
    try:
        h = hessian(b.out, b.inputs)
    except Exception as err:
        refused("hessian", err, [e for row in jet.H for e in row])
    else:
        for x in range(n):
            for y in range(n):
                check(f"hessian ∂²/∂x{x}∂x{y} of {desc}", h[x][y], jet.H[x][y],
                      jet.Hc[x][y], second[x][y])


def _p(inputs: tuple[float, ...], *steps: Step) -> Program:
    return Program(inputs, steps)


FOUND = [
    # graphs that failed on the engine before the fixes they are named after, always run
    _p((1e-300,), Step("powc", (0,), 1 / 3)),  # c − 1 rounded: 300 ulps
    _p((0.99, -4.144002147142305), Step("pow", (C(6.319786e-318), 1))),  # aᵇ·ln a, aᵇ tiny
    _p((1e-320, 0.9695), Step("pow", (1, 0))),
    _p((3e-320, 3.14159e-5), Step("div", (1, 0))),  # −(a/b)/b with a/b subnormal
    _p((0.9,), Step("powc", (0,), 6760.0)),  # c·a^(c−1) with a^(c−1) subnormal
    _p((1e-20,), Step("tanh", (0,))),  # tanh'' cancelled to 0
    _p((1e-310,), Step("sigmoid", (0,))),  # σ'' cancelled to 0
    _p((-1.2367729243600703e-06,), Step("sigmoid", (0,))),
    _p((0.0,), Step("exp", (0,)), Step("pow", (C(-1024.0), 0)), Step("exp", (0,))),
    _p((0.0,), Step("powc", (0,), 1 / 3), Step("powc", (0,), 2.0)),  # (x^⅓)² at 0
    _p((0.0,), Step("sqrt", (0,)), Step("powc", (0,), 2.0)),  # (√x)² at 0: 0·∞, refused
    _p((5e-324, 1e308), Step("sqrt", (1,)), Step("sin", (0,)), Step("cos", (2,))),
    # hessian: x·b = 3e-601 underflows, then meets ∂x^(b−1)/∂x ≈ −x⁻² = −2e565 (refused)
    _p((2.16184337872617e-283, 1.36902e-318), Step("pow", (1, 0)), Step("mul", (0, 2))),
    # hessian: a product underflowed to 0 in the second reverse pass, and the term it
    # should have cancelled survived (twice the truth) or a huge local derivative lost it
    _p((1.4290953288892287e-44,), Step("pow", (0, 0)), Step("pow", (C(6.1517e-319), 0))),
    _p((1.650929747285566e-85,), Step("powc", (0,), 1.650929747285566e-85),
       Step("wsum", (C(1e-310), 0, C(5.2885e-320)))),
    _p((2.5e-323,), Step("powc", (0,), 2.940359660114419)),  # |a|^((c−1)/2) subnormal
    _p((1e-320,), Step("cos", (0,)), Step("div", (1, 0))),  # lost behind dquotient's 2⁻⁶⁰⁰
    _p((5e-324, 0.0), Step("neg", (0,)), Step("log", (2,)), Step("mul", (0, C(5e-324))),
       Step("div", (0, 1))),  # grad() refuses log' = 2e323 behind a vanished upstream
    _p((7.332074404926353e-18, -3.490878438472554e+200, -8.241788946766778e-12),
       Step("powc", (2,), 3.706309312203815e-172), Step("sigmoid", (2,)),
       Step("leaky_relu", (2,), 0.01), Step("div", (C(-709.0), 1)),
       Step("powc", (2,), 3.706309312203815e-172)),
    _p((1.7976931348623157e308, 0.0, 1.0), Step("wsum", (0, 2, 0)), Step("log", (0,)),
       Step("exp", (0,))),  # gradients near the float maximum
    # backward(): the upstream 1e-30·1e-300 of x/1e-300 underflowed to 0, and its local
    # derivative 1e300 would have brought it back: x.grad was 0 where it is 1e-30
    _p((3.0,), Step("div", (0, C(1e-300))), Step("mul", (0, C(1e-300))),
       Step("mul", (0, C(1e-30)))),
]


def run(check_fn: Callable[[Program], None], examples: tuple[int, bool],
        max_steps: int, rescaled: bool = False) -> None:
    n, randomized = examples
    STATS.clear()

    def prop(program: Program) -> None:
        check_fn(program)

    for found in FOUND:
        prop = example(found)(prop)
    prop = given(programs(max_steps, rescaled))(prop)
    prop = settings(max_examples=n, derandomize=not randomized, deadline=None,
                    database=None, suppress_health_check=[
                        HealthCheck.too_slow, HealthCheck.data_too_large])(prop)

    try:
        prop()
    finally:
        print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items())))


def test_first_derivatives_match_the_exact_reference_or_raise_a_named_error(
        fuzz_examples: Callable[[int], tuple[int, bool]]) -> None:
    run(check_first_order, fuzz_examples(300), 9, rescaled=True)


def test_second_derivatives_match_the_exact_reference_or_raise_a_named_error(
        fuzz_examples: Callable[[int], tuple[int, bool]]) -> None:
    run(check_second_order, fuzz_examples(100), 6)
