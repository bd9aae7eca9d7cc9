"""Random programs replayed compiled and run eagerly: same numbers, or the same error.

Each program is a list of instructions over every op of the table, with no domain
protection and operands from 1e-300 to 1e300, so many programs raise somewhere (a log of a
negative number, an overflow, a division by zero, an infinite local derivative) — often
where a later relu, tanh or sigmoid would hide it. A compiled step is traced at one point
(where eager mode succeeds) and called at a second point; eager mode runs the same program
there. Either both give the loss and gradients — bit-identical on the python backend, to
rounding on numpy — or both raise, with the same exception type.

The budget is small by default (fixed examples); ``pytest --fuzz N`` runs N random ones.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from graphs import EXTREMES, ORDINARY, RAW_BINARY, RAW_UNARY, Instruction, instructions, run_program
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_compile import error_scales

from microgrid import Value, compile_step, wsum
from microgrid.compile import trace

BACKENDS = ["python", "numpy"]

# every op of the table with no domain protection (tests/graphs.py), and a few of its own
UNARY = {**RAW_UNARY, "rdiv": lambda a: 1.0 / a, "rpow": lambda a: 2.0 ** a,
         "huge": lambda a: a * 1e200, "tiny": lambda a: a * 1e-200}
BINARY = {**RAW_BINARY, "wsum": lambda a, b: wsum([a, b], [b, a], a)}

instruction = instructions([*UNARY, *BINARY])
magnitude = st.one_of(ORDINARY, st.sampled_from(EXTREMES))
point = st.lists(magnitude, min_size=4, max_size=4)


def build(program: Sequence[Instruction], leaves: Sequence[Value]) -> Value:
    """Run the instructions (each reads two earlier nodes), then add up every node made."""
    made = run_program(program, leaves, UNARY, BINARY)
    out = made[0]
    for n in made[1:]:
        out = out + n
    return out


def eager(program: Sequence[tuple[str, int, int]], at: Sequence[float]) -> Any:
    """(loss, gradients of the two parameters), or the type of the error raised."""
    ps = [Value(v) for v in at[:2]]
    try:
        loss = build(program, [*ps, *(Value(x) for x in at[2:])])
        loss.backward()
    except Exception as e:
        return type(e)
    return loss.data, [p.grad for p in ps]


def compiled(program: Sequence[tuple[str, int, int]], backend: str,
             traced_at: Sequence[float], at: Sequence[float]) -> Any:
    ps = [Value(v) for v in traced_at[:2]]
    step = compile_step(lambda xs: build(program, [*ps, *xs]), ps, backend=backend)
    step(list(traced_at[2:]))
    for p, v in zip(ps, at[:2]):
        p.data, p.grad = v, 0.0
    try:
        loss = step(list(at[2:]))
    except Exception as e:
        return type(e)
    return loss, [p.grad for p in ps]


def scales(program: Sequence[tuple[str, int, int]], at: Sequence[float]
           ) -> tuple[float, list[float]] | None:
    """First-order rounding-error scales of the loss and gradients (see test_compile), or
    None where they cannot be computed (a rule raises at a node eager mode skipped)."""
    ps = [Value(v) for v in at[:2]]
    xs = [Value(x) for x in at[2:]]
    tape = trace(build(program, [*ps, *xs]), ps, xs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss, grads = error_scales(tape, at[:2], at[2:])
    except (ArithmeticError, ValueError):
        return None

    def sane(x: float) -> float:  # a scale that overflowed bounds nothing
        return x if math.isfinite(x) else math.inf

    return sane(loss), [sane(g) for g in grads]


def check(backend: str, program: list[tuple[str, int, int]], first: list[float],
          second: list[float]) -> bool:
    """Whether the case counted (the program runs eagerly at the traced point)."""
    if isinstance(eager(program, first), type):
        return False
    want = eager(program, second)
    got = compiled(program, backend, first, second)
    if isinstance(want, type) or isinstance(got, type):
        assert got == want, (program, second, got, want)
    elif backend == "python":
        assert got == want, (program, second)
    else:
        (loss, grads), (loss0, grads0) = got, want
        found = scales(program, second)
        if found is not None:   # sums are reassociated: agreement to the error scale
            lscale, gscales = found
            assert abs(loss - loss0) <= 1e-12 * max(lscale, abs(loss0)), (program, second)
            for g, g0, sc in zip(grads, grads0, gscales):
                assert abs(g - g0) <= 1e-12 * max(sc, abs(g0)) + 1e-300, (program, second)
    return True


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_programs_compiled_equal_eager_errors_included(
        backend: str, fuzz_examples: Callable[[int], tuple[int, bool]]) -> None:
    if backend == "numpy":
        pytest.importorskip("numpy")
    examples, randomized = fuzz_examples(150)
    counted = [0, 0]

    @settings(max_examples=examples, deadline=None, derandomize=not randomized,
              database=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(program=st.lists(instruction, min_size=1, max_size=10), first=point, second=point)
    def run(program: list[tuple[str, int, int]], first: list[float],
            second: list[float]) -> None:
        counted[0] += 1
        counted[1] += check(backend, program, first, second)

    run()
    print(f"{backend}: {counted[0]} programs, {counted[1]} run where traced")
    assert counted[1] >= counted[0] // 4   # most programs run where they were traced


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("program, first, second, error", [
    ([("log", 2, 0), ("relu", 4, 0), ("mul", 5, 0)], [1.0, 1.0, 2.0, 0.0],
     [1.0, 1.0, -0.5, 0.0], ValueError),            # relu hides a log of a negative
    ([("huge", 2, 0), ("tanh", 4, 0)], [1.0, 1.0, 1e-250, 0.0],
     [1.0, 1.0, 1e150, 0.0], OverflowError),         # an overflow before a tanh
    ([("div", 0, 2)], [1.0, 1.0, 2.0, 0.0], [1.0, 1.0, 0.0, 0.0], ZeroDivisionError),
    ([("half_power", 2, 0), ("mul", 4, 0)], [1.0, 1.0, 4.0, 0.0], [1.0, 1.0, 0.0, 0.0],
     OverflowError),                                 # ∂√x/∂x is infinite at 0
    ([("sqrt", 2, 0), ("mul", 4, 0)], [1.0, 1.0, 4.0, 0.0], [1.0, 1.0, 0.0, 0.0],
     OverflowError),                                 # the same with x.sqrt()
    ([("sqrt", 2, 0)], [1.0, 1.0, 4.0, 0.0], [1.0, 1.0, -1.0, 0.0], ValueError),  # √−1
])
def test_known_errors_are_the_same_compiled(backend: str, program: list[tuple[str, int, int]],
                                            first: list[float], second: list[float],
                                            error: type[Exception]) -> None:
    if backend == "numpy":
        pytest.importorskip("numpy")
    assert eager(program, second) is error
    assert compiled(program, backend, first, second) is error
    assert not math.isnan(eager(program, first)[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_square_root_at_zero_behind_a_zero_upstream_is_refused_as_in_eager_mode(
        backend: str) -> None:
    # d/dp (√(p·x))² = x, but the chain rule meets 2√0 · ∞: refused, never 0
    if backend == "numpy":
        pytest.importorskip("numpy")
    p = Value(1.0)
    step = compile_step(lambda xs: (p * xs[0]).sqrt() ** 2, [p], backend=backend)
    assert step([4.0]) == pytest.approx(4.0) and p.grad == pytest.approx(4.0)
    with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
        ((p * Value(0.0)).sqrt() ** 2).backward()
    p.grad = 0.0
    with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
        step([0.0])
