"""Blocks recorded while a graph is built: call paths, named parts, module blocks, and the
recording state across nesting, exceptions, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest

import microgrid
from microgrid import Block, Value, block, block_of, blocks, recording, topological_order
from microgrid.losses import mse
from microgrid.nn import MLP, Module


def rmsnorm(xs: list[Value]) -> list[Value]:
    ms = xs[0] * xs[0]
    for x in xs[1:]:
        ms = ms + x * x
    scale = (ms * (1.0 / len(xs)) + 1e-5) ** -0.5
    return [x * scale for x in xs]


def linear(xs: list[Value], w: list[list[Value]]) -> list[Value]:
    return [sum((wi * xi for wi, xi in zip(row, xs)), Value(0.0)) for row in w]


def tiny_gpt(xs: list[Value], w: list[list[Value]]) -> list[Value]:
    h = rmsnorm(xs)
    with block("head 2"):
        h = linear(h, w)
    return h


def titles(roots: Any) -> Counter[str | None]:
    return Counter(b.title if (b := block_of(n)) is not None else None
                   for n in topological_order(roots))


def leaves() -> tuple[list[Value], list[list[Value]]]:
    xs = [Value(1.0, "x0"), Value(-2.0, "x1")]
    w = [[Value(0.5, "w00"), Value(0.1, "w01")], [Value(-0.2, "w10"), Value(0.3, "w11")]]
    return xs, w


def test_a_node_remembers_the_path_of_user_calls_that_made_it() -> None:
    xs, w = leaves()
    with blocks():
        out = tiny_gpt(xs, w)
        total = out[0] + out[1]
    b = block_of(out[0])
    assert isinstance(b, Block)
    assert b.title == "gpt › head 2 › linear".replace("gpt", "tiny_gpt")
    assert b.path == ("tiny_gpt", "head 2", "linear") and b.kind == "call"
    assert b.parent is not None and b.parent.kind == "named" and b.parent.name == "head 2"
    assert b.parent.parent is not None and b.parent.parent.title == "tiny_gpt"
    # made in the with statement's own frame, and the leaves made before it: outside
    assert block_of(total) is None and block_of(xs[0]) is None
    # rmsnorm: 2 squares, 1 sum, (·1/2) and its constant, +1e-5 and its constant, ** and
    # its constant, 2 scaled outputs = 11 nodes; linear: per row Value(0.0), 2 products,
    # 2 sums = 5, two rows = 10 (the sum's start value was made inside linear too)
    assert titles(total) == Counter({"tiny_gpt › rmsnorm": 11,
                                     "tiny_gpt › head 2 › linear": 10, None: 7})


def test_every_node_of_one_call_shares_one_block_and_two_calls_get_two() -> None:
    xs, _ = leaves()
    with blocks():
        a = rmsnorm(xs)
        b = rmsnorm(xs)
    made_a = {block_of(n) for n in topological_order(a) if n not in xs}
    made_b = {block_of(n) for n in topological_order(b) if n not in xs}
    assert len(made_a) == 1 and len(made_b) == 1
    (ba,), (bb,) = made_a, made_b
    assert ba is not bb and ba.path == bb.path == ("rmsnorm",)


def test_comprehension_frames_are_not_blocks_and_methods_keep_their_class() -> None:
    class Net:
        def forward(self, xs: list[Value]) -> list[Value]:
            return [helper(x) for x in xs]

    def helper(x: Value) -> Value:
        return x.tanh()

    xs, _ = leaves()
    with blocks():
        out = Net().forward(xs)
    assert {block_of(o).title for o in out} == {"Net.forward › helper"}  # type: ignore[union-attr]


def test_frames_outside_the_with_statement_are_not_part_of_the_path() -> None:
    def outer() -> Value:
        with blocks():
            return inner()

    def inner() -> Value:
        return Value(2.0) * 3.0

    out = outer()
    assert block_of(out).path == ("inner",)  # type: ignore[union-attr]


def test_a_named_block_records_outside_blocks_too_and_a_loop_body_can_be_named() -> None:
    xs, _ = leaves()
    outs = []
    for h in range(2):
        with block(f"head {h}") as b:
            outs.append(xs[0] * xs[1] + h)
        assert isinstance(b, Block) and b.title == f"head {h}"
    assert [block_of(o).title for o in outs] == ["head 0", "head 1"]  # type: ignore[union-attr]
    assert block_of(outs[0] + outs[1]) is None
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        block("")


def test_microgrid_modules_and_losses_record_their_own_blocks_owned_by_the_module() -> None:
    model = MLP(2, [3, 1], seed=1)
    with blocks():
        loss = mse([model([0.5, -1.0])], [1.0])
    assert block_of(loss).title == "mse" and block_of(loss).kind == "module"  # type: ignore
    out = loss.parents[0].parents[0]  # (pred − t)² ← pred − t ← pred
    while block_of(out) is not None and block_of(out).kind == "module" \
            and block_of(out).name == "mse":  # type: ignore[union-attr]
        out = out.parents[0]
    b = block_of(out)
    assert b is not None and b.title == "MLP › L1 › N0"
    assert b.owner is model.layers[1].neurons[0]
    assert b.parent is not None and b.parent.owner is model.layers[1]
    assert b.parent.parent is not None and b.parent.parent.owner is model
    made = Counter(block_of(n).title if block_of(n) else None  # type: ignore[union-attr]
                   for n in topological_order(loss) if not n.is_leaf or n.is_constant)
    # a hidden neuron: per number input its constant, w·x and +, then tanh; the output
    # neuron: per Value input w·x and +, and its linear activation makes no node
    assert made["MLP › L0 › N0"] == made["MLP › L0 › N2"] == 2 * 3 + 1
    assert made["MLP › L1 › N0"] == 3 * 2
    # mse: the constant target, −, ** and its constant 2 (one prediction: no mean)
    assert made["mse"] == 4 and made[None] == 0
    assert sum(made.values()) + len(model.parameters()) == len(topological_order(loss))
    # the parameters were placed in their neuron's block when the model was built
    assert block_of(model.layers[0].neurons[2].b).title == "MLP › L0 › N2"  # type: ignore


def test_module_blocks_are_recorded_only_while_recording() -> None:
    model = MLP(2, [2, 1], seed=1)
    loss = mse([model([0.5, -1.0])], [1.0])
    params = set(model.parameters())
    assert all(block_of(n) is None for n in topological_order(loss) if n not in params)
    assert recording.ACTIVE[0] == 0


def test_each_parameter_remembers_the_neuron_that_holds_it_and_a_shared_one_its_first() -> None:
    from microgrid.nn import Layer, Neuron

    shared = Value(0.5, "shared bias")
    model = MLP.from_weights([[[1.0, 2.0], [3.0, 4.0]]], [[shared, shared]])
    n0, n1 = model.layers[0].neurons
    for neuron, path in ((n0, ("MLP", "L0", "N0")), (n1, ("MLP", "L0", "N1"))):
        for w in neuron.w:
            b = block_of(w)
            assert b is not None and b.path == path and b.owner is neuron
            assert b.parent is not None and b.parent.owner is model.layers[0]
    assert block_of(shared).owner is n0  # type: ignore[union-attr]
    lone = Neuron(2, seed=0)
    assert block_of(lone.w[1]).title == "Neuron"  # type: ignore[union-attr]
    layer = Layer(2, 2, seed=0, label="enc")
    assert block_of(layer.neurons[1].b).title == "enc › N1"  # type: ignore[union-attr]
    # a parameter of another model keeps its owner
    again = MLP.from_weights([[n0.w]], [[n0.b]])
    assert block_of(again.parameters()[0]).owner is n0  # type: ignore[union-attr]


def test_recording_changes_no_number() -> None:
    def run(record: bool) -> tuple[float, list[float]]:
        model = MLP(3, [4, 1], seed=3)
        if record:
            with blocks():
                loss = mse([model([0.3, -0.7, 1.1])], [0.25])
        else:
            loss = mse([model([0.3, -0.7, 1.1])], [0.25])
        loss.backward()
        return loss.data, [p.grad for p in model.parameters()]

    data, grads = run(True)
    assert (data, grads) == run(False)
    # and the gradient is the loss's derivative (central differences on one weight)
    model = MLP(3, [4, 1], seed=3)
    p = model.parameters()[1]
    h = 1e-6
    p.data += h
    up = mse([model([0.3, -0.7, 1.1])], [0.25]).data
    p.data -= 2 * h
    down = mse([model([0.3, -0.7, 1.1])], [0.25]).data
    assert grads[1] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_nested_blocks_continue_the_outer_recording_and_restore_on_exit() -> None:
    x = Value(1.5)

    def inner_step() -> Value:
        with blocks():  # nested: continues the outer recording
            assert recording.ACTIVE[0] == 2
            return x.exp()

    def step() -> tuple[Value, Value]:
        a = inner_step()
        return a, x * 2.0

    with blocks():
        a, b = step()
        assert recording.ACTIVE[0] == 1  # the inner one closed, the outer one still open
        c = x + 1.0
    assert block_of(a).path == ("step", "inner_step")  # type: ignore[union-attr]
    assert block_of(b).path == ("step",)  # type: ignore[union-attr]
    assert block_of(c) is None
    assert recording.ACTIVE[0] == 0 and block_of(x * 3.0) is None


def test_an_exception_inside_blocks_or_block_restores_the_state() -> None:
    x = Value(2.0)

    def failing() -> None:
        with block("part"):
            x.log()
            raise RuntimeError("inside")

    with blocks():
        with pytest.raises(RuntimeError, match="inside"):
            failing()
        after = x * 2.0  # back in the with statement's frame: outside any block
        assert recording.ACTIVE[0] == 1
    assert block_of(after) is None
    with pytest.raises(ValueError, match="boom"), blocks():
        raise ValueError("boom")
    assert recording.ACTIVE[0] == 0 and block_of(x * 2.0) is None
    assert recording.current() is None


def test_a_recording_cannot_be_opened_twice() -> None:
    rec = blocks()
    with rec, pytest.raises(RuntimeError, match="already open"):
        rec.__enter__()
    assert recording.ACTIVE[0] == 0


def test_threads_record_apart_and_a_node_keeps_its_block_in_any_thread() -> None:
    made: dict[str, Any] = {}
    ready, go = threading.Event(), threading.Event()

    def recorder() -> None:
        def work() -> Value:
            ready.set()
            go.wait(5)
            return Value(1.0) * 2.0

        with blocks():
            made["recorded"] = work()

    t = threading.Thread(target=recorder)
    t.start()
    assert ready.wait(5)
    plain = Value(3.0) * 4.0  # made here while the other thread records: no block
    go.set()
    t.join(5)
    assert block_of(plain) is None
    b = block_of(made["recorded"])  # read in this thread: the block recorded over there
    assert b is not None and b.path == ("work",)
    assert recording.ACTIVE[0] == 0


def test_a_new_thread_inside_blocks_starts_with_recording_off() -> None:
    made: list[Value] = []
    with blocks():
        t = threading.Thread(target=lambda: made.append(Value(1.0) + 1.0))
        t.start()
        t.join(5)
    assert block_of(made[0]) is None


def test_asyncio_tasks_keep_their_own_recording() -> None:
    async def part(name: str) -> Value:
        with block(name):
            await asyncio.sleep(0)
            return Value(1.0) * 2.0

    async def main() -> list[Value]:
        return list(await asyncio.gather(part("a"), part("b")))

    a, b = asyncio.run(main())
    assert (block_of(a).title, block_of(b).title) == ("a", "b")  # type: ignore[union-attr]


def test_a_hand_written_module_gets_call_blocks_without_any_change() -> None:
    class Head(Module):
        def __init__(self) -> None:
            self.w = [Value(0.5), Value(-0.25)]

        def __call__(self, xs: list[Value]) -> Value:
            return self.w[0] * xs[0] + self.w[1] * xs[1]

    head = Head()
    with blocks():
        out = head([Value(1.0), Value(2.0)])
    assert block_of(out).title == "Head.__call__"  # type: ignore[union-attr]


def test_a_deep_program_past_the_frame_cache_limit_still_gets_exact_paths(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recording, "_CACHE_LIMIT", 2)

    def leaf(v: Value) -> Value:
        return v + 1.0

    def mid(v: Value) -> Value:
        return leaf(v) * 2.0

    with blocks():
        outs = [mid(Value(float(i))) for i in range(10)]
    for o in outs:
        assert block_of(o).path == ("mid",)  # type: ignore[union-attr]
        assert block_of(o.parents[0]).path == ("mid", "leaf")  # type: ignore[union-attr]


def test_recording_is_exported_from_the_package() -> None:
    assert microgrid.blocks is blocks and microgrid.block is block
    assert microgrid.block_of is block_of and microgrid.Block is Block


def test_fused_sums_constants_and_leaves_made_in_a_call_are_in_its_block() -> None:
    from microgrid import wsum

    w = [Value(0.5), Value(-1.5)]

    def unit(x: list[float]) -> Value:
        start = Value(0.25)  # a leaf made here
        return wsum(w, x, start) * 2  # a fused sum with constant inputs, and a constant 2

    with blocks():
        out = unit([1.0, 3.0])
    made = [n for n in topological_order(out) if n not in w]
    assert len(made) == 6  # the leaf, two constant inputs, the wsum, the constant 2, the *
    assert {block_of(n).title for n in made} == {"unit"}  # type: ignore[union-attr]
    assert all(block_of(p) is None for p in w)
    assert out.data == 2 * (0.5 * 1.0 - 1.5 * 3.0 + 0.25)
