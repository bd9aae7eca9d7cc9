"""Stepping block by block (microgrid.block_steps): the forward and backward passes piece by
piece, what each piece sends back checked against backward() and finite differences, and
descending into one piece's scalar steps."""

from __future__ import annotations

import math
import random

import bench_modules
import pytest

import microgrid
from microgrid import Value, backward_steps, forward_steps, grads_after, topological_order
from microgrid.block_steps import BlockBackwardStep, BlockSteps, block_steps
from microgrid.nn import MLP
from microgrid.parts import View, partition


@pytest.fixture(scope="module")
def gpt() -> tuple[Value, dict]:
    return bench_modules.gpt_step(2, dim=8, heads=2, context=4, vocab=11)


def layer(xs: list[Value], rows: list[list[Value]]) -> list[Value]:
    return [sum((w * x for w, x in zip(row, xs)), Value(0.0)).tanh() for row in rows]


def small(seed: int = 3) -> tuple[Value, dict[str, list[list[Value]]]]:
    """A two-layer net on one example, its layers and its loss recorded as blocks."""
    rng = random.Random(seed)
    sd = {"w1": [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)],
          "w2": [[Value(rng.uniform(-1, 1)) for _ in range(4)] for _ in range(2)]}
    xs = [Value(v, f"x{i}") for i, v in enumerate([0.5, -1.5, 2.0])]
    with microgrid.blocks():
        h = layer(xs, sd["w1"])
        h = [*h, h[0] * h[1]]  # a value outside any block, read by the next layer
        y = layer(h[:4], sd["w2"])
        loss = (y[0] - 1.0) ** 2 + (y[1] + 0.5) ** 2 + h[4]
    return loss, sd


def replay(piece_values: list[Value], inputs: dict[Value, float]) -> dict[Value, float]:
    """The data of a piece's values recomputed from its inputs' (changed) data with the op
    table's forward functions: the piece as a function of its inputs."""
    data = dict(inputs)
    for v in piece_values:
        if v.parents:
            data[v] = v.op.forward(*[data.get(p, p.data) for p in v.parents])
        else:
            data.setdefault(v, v.data)
    return data


def test_the_gradient_arriving_at_a_parameter_is_exactly_what_backward_gives(gpt) -> None:
    loss, sd = gpt
    steps = block_steps(loss, params=sd, depth=1)
    matrices = [s for s in steps.backward if s.piece.kind == "matrix"]
    assert {s.piece.title for s in matrices} >= {"wte 11×8", "wq 8×8", "head 11×8"}
    checked = 0
    for s in matrices:
        for flow in s.arriving:
            assert flow.number == flow.value.grad, flow.name
            checked += 1
        assert s.sends == ()
    assert checked == sum(len(m.outputs) for m in steps.view.pieces if m.kind == "matrix")


def test_what_the_pieces_send_back_adds_up_to_the_gradients_of_backward(gpt) -> None:
    loss, sd = gpt
    for depth in (0, 1, 2):
        steps = block_steps(loss, params=sd, depth=depth)
        total: dict[Value, float] = {loss: 1.0}
        for s in steps.backward:
            for flow in s.sends:
                total[flow.value] = total.get(flow.value, 0.0) + flow.number
        inside = {p for s in backward_steps(loss) for c in s.contributions
                  for p in [c.parent]
                  if steps.view.piece_of[p] == steps.view.piece_of[s.node]}
        crossing = [v for v in total if v not in inside]
        assert len(crossing) > 20
        for v in crossing:  # everything v receives crosses into its piece
            assert total[v] == pytest.approx(v.grad, rel=1e-12, abs=1e-15)
        arriving = {f.value: f.number for s in steps.backward for f in s.arriving}
        for v in crossing:
            assert arriving[v] == v.grad


def test_what_a_block_sends_back_matches_finite_differences_of_the_block() -> None:
    loss, _ = small()
    loss.backward()
    steps = block_steps(loss, depth=0)
    parts = [s for s in steps.backward if s.piece.kind == "part"]
    assert [s.piece.title for s in parts] == ["layer #1", "layer #0"]
    order = topological_order(loss)
    h = 1e-6
    for s in parts:
        members = [v for v in order if steps.view.piece_of[v] == s.at]
        upstream = {f.value: f.number for f in s.arriving}
        assert s.sends
        for flow in s.sends:
            x = flow.value

            def f(dx: float, x: Value = x, members: list[Value] = members,
                  upstream: dict[Value, float] = upstream) -> float:
                data = replay(members, {x: x.data + dx})
                return math.fsum(g * data[o] for o, g in upstream.items())

            fd = (f(h) - f(-h)) / (2 * h)
            assert flow.number == pytest.approx(fd, rel=1e-6, abs=1e-9), flow.name


def test_the_gradient_arriving_at_an_input_matches_finite_differences_of_the_loss() -> None:
    loss, sd = small()
    steps = block_steps(loss, params=sd, depth=0)
    leaves = [f for s in steps.backward if s.piece.kind in ("matrix", "value")
              and not s.piece.inputs for f in s.arriving]
    assert {f.name for f in leaves} >= {"x0", "x2", "w1[3][2]", "w2[1][0]"}
    order = topological_order(loss)
    h = 1e-6
    for flow in leaves:
        def f(dx: float, x: Value = flow.value) -> float:
            return replay(order, {x: x.data + dx})[loss]
        assert flow.number == pytest.approx((f(h) - f(-h)) / (2 * h), rel=1e-6, abs=1e-9)


def test_descending_gives_exactly_the_scalar_steps_of_the_blocks_values(gpt) -> None:
    loss, sd = gpt
    steps = block_steps(loss, params=sd, depth=1)
    full_forward = forward_steps(loss, params=sd)
    full_backward = backward_steps(loss, params=sd)
    seen_forward = [s for b in steps.forward for s in steps.descend(b)]
    seen_backward = [s for b in steps.backward for s in steps.descend(b)]
    assert sorted(s.index for s in seen_forward) == list(range(len(full_forward)))
    assert sorted(s.index for s in seen_backward) == list(range(len(full_backward)))
    for b in steps.forward + steps.backward:
        inner = steps.descend(b)
        assert [s.index for s in inner] == sorted(s.index for s in inner)
        if b.piece.kind == "part":
            members = {v for v in b.piece.part.members() if not v.is_constant}
            if isinstance(b, BlockBackwardStep):
                members = {v for v in members if v.parents}
            assert {s.node for s in inner} == members
    block = next(b for b in steps.backward if b.piece.title == "gpt #0")
    inner = steps.descend(block)
    assert [str(s) for s in inner] == [str(full_backward[s.index]) for s in inner]
    assert grads_after(full_backward)[sd["wq"][0][0]] == sd["wq"][0][0].grad


def test_descending_into_a_matrix_or_one_value_gives_their_own_steps(gpt) -> None:
    loss, sd = gpt
    steps = block_steps(loss, params=sd, depth=1)
    wq = next(b for b in steps.forward if b.piece.title == "wq 8×8")
    inner = steps.descend(wq)
    assert [s.name for s in inner] == [f.name for f in wq.outputs]
    assert all(str(s).endswith("(leaf)") for s in inner)
    assert steps.descend(next(b for b in steps.backward if b.piece is wq.piece)) == []
    one = next(b for b in steps.forward if b.piece.kind == "value")
    assert [s.node for s in steps.descend(one)] == [one.piece.value]
    with pytest.raises(TypeError, match="descend: step"):
        steps.descend(forward_steps(loss)[0])  # type: ignore[arg-type]


def test_block_steps_read_like_the_pieces_they_show(gpt) -> None:
    loss, sd = gpt
    steps = block_steps(loss, params=sd, depth=1)
    first = next(b for b in steps.forward if b.piece.title == "gpt #0")
    text = str(first)
    assert text.startswith(f"[{first.index}] gpt #0 · {first.piece.values:,} values")
    assert f"in:  {len(first.inputs):,} values from " in text
    assert "wte 11×8 (8)" in text and "wte[3][0] = " in text
    back = next(b for b in steps.backward if b.piece.title == "gpt #0")
    text = str(back)
    assert f"arriving at its {len(back.arriving)} outputs" in text
    assert f"sent back to its {len(back.sends)} inputs" in text
    to_wq = [f for f in back.sends if f.name.startswith("wq[")]
    assert len(to_wq) > 40 and f"wq 8×8 ({len(to_wq)}, ‖·‖ " in text
    wq = next(b for b in steps.backward if b.piece.title == "wq 8×8")
    assert "∂" in str(wq) and "wq[0][0] = " in str(wq)
    assert "Backward pass, block by block" in steps.transcript()


def test_a_graph_without_blocks_is_stepped_by_values_and_matrices() -> None:
    model = MLP(2, [3, 1], seed=0)
    x = [Value(1.0, "x0"), Value(-2.0, "x1")]
    out = model(x)
    loss = ((out if isinstance(out, Value) else out[0]) - 1.0) ** 2
    loss.backward()
    steps = block_steps(loss, params=model, depth=3)
    kinds = {b.piece.kind for b in steps.forward}
    assert kinds == {"matrix", "value"}
    assert {b.piece.title for b in steps.forward if b.piece.kind == "matrix"} == {
        "L0.w 3×2", "L0.b 3", "L1.w 1×3", "L1.b 1"}
    values = [b for b in steps.forward if b.piece.kind == "value"]
    scalar = forward_steps(loss, params=model)
    by_node = {s.node: s for s in scalar}
    for b in values:  # each value's step reads as its scalar step
        assert str(b).partition("] ")[2] == str(by_node[b.piece.value]).partition("] ")[2]
    inputs = {b.piece.value for b in values if not b.piece.value.parents}
    assert {v.label for v in inputs} == {"x0", "x1"}
    for b in steps.backward:
        for flow in b.arriving:
            if not flow.value.parents:
                assert flow.number == flow.value.grad


def test_params_name_a_state_dicts_parameters_in_every_step(gpt) -> None:
    loss, sd = gpt
    names = {s.name for s in forward_steps(loss, params=sd)}
    assert {"wte[3][0]", "wq[1][2]", "head[10][0]"} <= names
    back = backward_steps(loss, params=sd)
    assert any(c.name == "wq[0][0]" for s in back for c in s.contributions)
    plain = {s.name for s in forward_steps(loss)}
    assert "wte[3][0]" not in plain
    model = MLP(2, [1], seed=0)
    y = model([Value(1.0), Value(2.0)])
    y = y if isinstance(y, Value) else y[0]
    assert {"L0.N0.w0", "L0.N0.b"} <= {s.name for s in forward_steps(y, params=model)}
    with pytest.raises(TypeError, match=r"params: w\[0\] must be a Value"):
        forward_steps(y, params={"w": [1.0]})
    with pytest.raises(ValueError, match="named both 'a' and 'b'"):
        backward_steps(y, params={"a": model.parameters()[0], "b": model.parameters()[0]})


def test_a_view_of_another_graph_or_no_view_is_refused(gpt) -> None:
    loss, sd = gpt
    other, _ = small()
    with pytest.raises(ValueError, match="view is not a view of this graph"):
        block_steps(loss, partition(other).cut(1))
    with pytest.raises(TypeError, match=r"view must be a parts\.View"):
        BlockSteps(loss, "gpt")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="root must be a Value"):
        BlockSteps([loss], partition(loss).cut(1))  # type: ignore[arg-type]
    assert isinstance(block_steps(loss, params=sd).view, View)


def test_steps_through_an_underflowed_product_arrive_with_the_gradients_of_backward() -> None:
    x = Value(3.0, "x")
    with microgrid.blocks():
        with microgrid.block("tiny"):
            y = (x / 1e-300) * 1e-300
        root = y * 1e-30
    root.backward()
    steps = block_steps(root, depth=0)
    x_step = next(b for b in steps.backward if b.piece.value is x)
    assert x_step.arriving[0].number == x.grad == 1e-30
    tiny = next(b for b in steps.backward if b.piece.title == "tiny")
    assert tiny.sends[0].number == 1e-30
