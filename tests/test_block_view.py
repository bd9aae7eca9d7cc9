"""The block view (draw_dot on a graph too large to draw value by value): the recorded blocks
as nested clusters, matrices as one item, runs of one operation; every count on the drawing
adds up to the graph."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from typing import Any

import bench_modules
import pytest
from test_viz import need_dot, svg_texts

import microgrid
from microgrid import Value, backward_steps, draw_dot, topological_order
from microgrid.parts import UnknownBlockError
from microgrid.viz import DiagramTooLargeError
from microgrid.viz.dot import Style, emit
from microgrid.viz.marks import Marks, marks_at
from microgrid.viz.picture import SUMMARY_ROLES, Picture, describe

SIZES: dict[str, Any] = {"dim": 8, "heads": 2, "context": 4, "vocab": 11}


@pytest.fixture(scope="module")
def gpt() -> tuple[Value, dict]:
    """One training step of the benchmarks' scalar GPT over 4 positions (8,713 values)."""
    return bench_modules.gpt_step(4, **SIZES)


def every_edge(root: Value) -> int:
    return sum(len(v.parents) for v in topological_order(root))


def assert_counts_add_up(pic: Picture, root: Value) -> None:
    """Every value is in exactly one item; the drawn edges and the edges inside items are
    every scalar edge of the graph."""
    order = topological_order(root)
    assert sum(item.members for item in pic.items) == len(order) == pic.values
    assert set(pic.where) == set(order)
    held = Counter(pic.where.values())
    assert all(held[item.ident] == item.members for item in pic.items)
    inside = sum(1 for v in order for q in v.parents if pic.where[q] == pic.where[v])
    assert sum(pic.edge_counts.values()) + inside == every_edge(root)
    for item in pic.items:  # each item's inputs are the items its edges come from
        sources = {src for src, dst in pic.edge_counts if dst == item.ident}
        assert {src for _, src in item.inputs} == sources


def blocks_of(pic: Picture) -> list[str]:
    return [item.name for item in pic.items if item.role == "block"]


def test_the_gpt_step_is_drawn_as_one_block_per_position_with_counts_that_add_up(gpt) -> None:
    loss, sd = gpt
    pic = describe(loss, params=sd)
    assert pic.collapsed and len(pic.items) <= 200
    assert_counts_add_up(pic, loss)
    assert [b for b in blocks_of(pic) if b.startswith("gpt")] == [f"gpt #{k}" for k in range(4)]
    matrices = {item.name: item for item in pic.items if item.role == "matrix"}
    assert set(matrices) == {"wte 11×8", "wpe 4×8", "wq 8×8", "wk 8×8", "wv 8×8", "wo 8×8",
                             "fc1 32×8", "fc2 8×32", "head 11×8"}
    # the linear layers read every weight: each matrix but the embeddings is read whole
    assert [matrices[f"{m} 8×8"].members for m in ("wq", "wk", "wv", "wo")] == [64] * 4
    assert matrices["head 11×8"].members == 88 and matrices["wpe 4×8"].members == 32
    # the one box: the training step; the positions and their softmax inside it
    assert [box.title for box in pic.boxes.values()] == ["gpt_step"]
    ident = {item.name: item.ident for item in pic.items}
    for j in range(4):  # later positions read the key/value cache of every earlier one
        for k in range(4):
            edge = (ident[f"gpt #{k}"], ident[f"gpt #{j}"])
            assert (edge in pic.edge_counts) == (k < j), (k, j)
    # position 1 reads position 0's keys and values once per head entry: 2 × 8 (k, v)
    assert pic.edge_counts[ident["gpt #0"], ident["gpt #1"]] == 2 * 8
    assert pic.note is not None and "expand='gpt_step › gpt #" in pic.note
    assert "‖grad out‖: the size (2-norm) of the gradient a block sends back" in pic.note


def test_the_block_view_draws_each_block_with_its_counts_and_gradient_size(gpt) -> None:
    loss, sd = gpt
    src = draw_dot(loss, params=sd).source
    pic = describe(loss, params=sd)
    first = next(item for item in pic.items if item.name == "gpt #0")
    assert first.piece is not None
    norm = math.sqrt(math.fsum(x.grad ** 2 for x in first.piece.inputs))
    line = (f'label="{{ gpt #0 | {first.members:,} values · {len(first.piece.inputs):,} in · '
            f'{len(first.piece.outputs):,} out | ‖grad out‖ {format(norm, ".4g")} }}"')
    assert line in src
    wte = [v for row in sd["wte"] for v in row]
    read = [v for v in wte if v in pic.where]
    wte_norm = format(math.sqrt(math.fsum(v.grad ** 2 for v in read)), ".4g")
    assert (f'label="{{ wte 11×8 | {len(read)} of 88 entries read | ‖grad‖ {wte_norm} }}"'
            in src)
    # the edge from a matrix to a position says how many scalar edges it stands for
    ident = {item.name: item.ident for item in pic.items}
    n = pic.edge_counts[ident["head 11×8"], ident["gpt #0"]]
    assert n == 88 and f'{ident["head 11×8"]} -> {ident["gpt #0"]} [label="×88"' in src


def test_a_block_sends_back_the_gradient_finite_differences_give() -> None:
    """‖grad out‖ of a block reading only leaves, against central differences of the loss."""
    w = [[Value(0.3), Value(-0.7)], [Value(1.1), Value(0.4)]]
    xs = [Value(0.5), Value(-1.5)]

    def project(x: list[Value]) -> list[Value]:
        return [(row[0] * x[0] + row[1] * x[1]).tanh() for row in w]

    def loss_of() -> Value:
        with microgrid.blocks():
            h = project(xs)
        return (h[0] * h[1] + h[0]) ** 2

    loss = loss_of()
    loss.backward()
    pic = describe(loss, params={"w": w}, depth=0)
    (block,) = [item for item in pic.items if item.role == "block"]
    assert block.piece is not None and set(block.piece.inputs) == {*xs, *w[0], *w[1]}
    eps, slopes = 1e-6, []
    for leaf in block.piece.inputs:
        x0 = leaf.data
        leaf.data = x0 + eps
        up = loss_of().data
        leaf.data = x0 - eps
        down = loss_of().data
        leaf.data = x0
        slopes.append((up - down) / (2 * eps))
    assert block.piece.grad_norm() == pytest.approx(math.hypot(*slopes), rel=1e-7)
    (matrix,) = [item for item in pic.items if item.role == "matrix"]
    assert matrix.piece is not None
    of_w = [s for leaf, s in zip(block.piece.inputs, slopes) if leaf not in xs]
    assert matrix.piece.grad_norm() == pytest.approx(math.hypot(*of_w), rel=1e-7)


def test_before_backward_no_gradient_size_is_claimed_and_a_step_shows_what_is_known() -> None:
    w = [[Value(0.3), Value(-0.7)], [Value(1.1), Value(0.4)]]
    with microgrid.blocks():
        with microgrid.block("layer"):
            h = [(row[0] * 0.5 + row[1] * -1.5).tanh() for row in w]
        loss = h[0] * h[1]
    pic = describe(loss, params={"w": w}, depth=0)
    (block,) = [item for item in pic.items if item.role == "block"]
    assert "| ‖grad" not in emit(pic, Marks(), Style()).source  # no backward() yet
    steps = backward_steps(loss)
    early = emit(pic, marks_at(steps, 0, ".4g"), Style()).source  # only ∂L/∂L known
    assert "‖grad out‖ ?" in early and "‖grad‖ ?" in early
    done = emit(pic, marks_at(steps, len(steps) - 1, ".4g"), Style()).source
    loss.backward()
    assert block.piece is not None
    assert f"‖grad out‖ {format(block.piece.grad_norm(), '.4g')}" in done
    # the stepper marks a block through the value it stands at: the block is highlighted
    inside = next(v for v, ident in pic.where.items() if ident == block.ident)
    marked = emit(pic, Marks(current=inside), Style()).source
    assert re.search(rf"\b{block.ident} \[[^\]]*color=red", marked)


def test_expand_opens_one_small_block_down_to_single_values_and_nothing_else(gpt) -> None:
    loss, sd = gpt
    name = "gpt_step › gpt #2 › attention"
    pic = describe(loss, params=sd, expand=name, max_nodes=300)
    assert_counts_add_up(pic, loss)
    assert pic.parts is not None
    (attention,) = pic.parts.find(name)
    inside = set(attention.members())
    items = {item.ident: item for item in pic.items}
    for v in inside:  # every value of attention is drawn on its own
        assert items[pic.where[v]].role not in SUMMARY_ROLES
    single = [item for item in pic.items if item.role not in SUMMARY_ROLES
              and item.node not in inside]
    assert all(pic.parts.part_of[item.node].depth <= 2 for item in single)  # loss, gpt #2 own
    assert {"gpt #0", "gpt #1", "gpt #3"} <= set(blocks_of(pic))  # the others stay closed
    titles = {box.title for box in pic.boxes.values()}
    assert {"gpt_step", "gpt #2", "attention"} <= titles
    assert any(t.startswith("softmax") for t in titles)  # attention's own blocks, opened


def test_expanding_a_big_block_opens_one_level_and_says_how_to_see_each_value(gpt) -> None:
    loss, sd = gpt
    pic = describe(loss, params=sd, expand="gpt_step › gpt #2")
    assert_counts_add_up(pic, loss)
    inner = blocks_of(pic)
    for wanted in ("rmsnorm #0", "linear #2 · wq", "linear #0 · wk", "linear #1 · wv",
                   "attention", "linear #3 · wo", "linear #4 · fc1", "linear #5 · fc2",
                   "linear #6 · head"):
        assert wanted in inner
    runs = [item.name for item in pic.items if item.role == "run"]
    assert "ReLU ×32" in runs and runs.count("+ ×8") >= 3  # x = t + p, and two residuals
    assert pic.note is not None
    m = re.search(r"gpt_step › gpt #2 holds (\d+) values, too many to draw one by one within "
                  r"max_nodes=200: it is opened one level.*pass max_nodes=(\d+) to see each",
                  pic.note)
    assert m is not None
    full = describe(loss, params=sd, expand="gpt_step › gpt #2", max_nodes=int(m[2]))
    assert full.parts is not None
    (opened,) = full.parts.find("gpt_step › gpt #2")
    assert len(opened.members()) == int(m[1])
    shown = {item.ident: item for item in full.items}
    assert all(shown[full.where[v]].role not in SUMMARY_ROLES for v in opened.members())
    with pytest.raises(DiagramTooLargeError, match=r"max_nodes=12\b.*Expand a block inside"):
        describe(loss, params=sd, expand="gpt_step › gpt #2", max_nodes=12)


def test_an_unknown_expand_name_is_refused_naming_the_closest_blocks(gpt) -> None:
    loss, sd = gpt
    with pytest.raises(UnknownBlockError, match=r"no block is named 'atention'.*'attention'"):
        draw_dot(loss, params=sd, expand="atention")
    with pytest.raises(UnknownBlockError, match=r"'gpt #3'"):
        draw_dot(loss, params=sd, expand=["gpt #1", "gpt #33"])
    with pytest.raises(TypeError, match="expand"):
        draw_dot(loss, params=sd, expand=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        draw_dot(loss, params=sd, depth=-1)
    small = Value(2.0) * 3.0  # no blocks at all: the error says how to record them
    with pytest.raises(UnknownBlockError, match=r"microgrid\.blocks"):
        draw_dot(small, expand="gpt")


def test_depth_forces_a_depth_reading_values_as_runs_when_they_are_too_many(gpt) -> None:
    loss, sd = gpt
    top = describe(loss, params=sd, depth=0)
    assert blocks_of(top) == ["gpt_step"] and not top.boxes
    assert_counts_add_up(top, loss)
    two = describe(loss, params=sd, depth=2)
    assert_counts_add_up(two, loss)
    assert blocks_of(two).count("attention") == 4 and len(two.items) <= 200
    assert any(item.role == "run" for item in two.items)
    assert two.note is not None and "drawn as one run" in two.note
    assert Counter(box.title for box in two.boxes.values())["gpt #1"] == 1
    with pytest.raises(DiagramTooLargeError, match=r"depth 4.*max_nodes=20"):
        describe(loss, params=sd, depth=4, max_nodes=20)


def test_params_that_hold_no_values_or_one_value_twice_are_refused(gpt) -> None:
    loss, sd = gpt
    with pytest.raises(TypeError, match=r"params: wte\[0\]\[1\] must be a Value"):
        draw_dot(loss, params={**sd, "wte": [[sd["wte"][0][0], 0.5]]})
    with pytest.raises(ValueError, match=r"named both 'wq\[0\]\[0\]' and 'again\[0\]'"):
        draw_dot(loss, params={**sd, "again": [sd["wq"][0][0]]})


def test_a_graph_recorded_in_another_thread_draws_the_same(gpt) -> None:
    loss, sd = gpt
    built: dict[str, Any] = {}

    def build() -> None:
        built["step"] = bench_modules.gpt_step(4, **SIZES)

    worker = threading.Thread(target=build)
    worker.start()
    worker.join()
    there, there_sd = built["step"]
    assert draw_dot(there, params=there_sd).source == draw_dot(loss, params=sd).source
    opened = "gpt_step › gpt #1"
    assert (draw_dot(there, params=there_sd, expand=opened).source
            == draw_dot(loss, params=sd, expand=opened).source)


def test_without_blocks_a_state_dict_model_is_drawn_by_its_matrices_and_runs() -> None:
    loss, sd = bench_modules.gpt_step(3, recorded=False, **SIZES)
    pic = describe(loss, params=sd)
    assert_counts_add_up(pic, loss)
    assert not blocks_of(pic) and len(pic.items) <= 200
    runs = [item for item in pic.items if item.role == "run"]
    assert "+ ×24" in {item.name for item in runs}  # x = t + p at the 3 positions
    relu = [item.members for item in runs if item.name.startswith("ReLU")]
    assert sum(relu) == 3 * 32 and len(relu) == 2  # position 0 attends to itself alone
    assert pic.note is not None and "with microgrid.blocks():" in pic.note
    # without the names of its parameters nothing tells the matrices apart: refused, saying
    # what to pass
    with pytest.raises(DiagramTooLargeError, match=r"params=model.*microgrid\.blocks"):
        describe(loss)


def test_a_run_groups_one_operation_on_the_same_pieces_and_a_running_sum() -> None:
    w = [[Value(0.1 * (i + j)) for j in range(4)] for i in range(3)]
    x = [Value(float(j)) for j in range(4)]
    out = [sum((wi * xi for wi, xi in zip(row[1:], x[1:])), row[0] * x[0]) for row in w]
    total = sum((o.relu() for o in out[1:]), out[0].relu()) - 1.0
    pic = describe(total, params={"w": w}, max_nodes=10)
    assert_counts_add_up(pic, total)
    names = [item.name for item in pic.items]
    assert {"w 3×4", "inputs ×4", "* ×12", "+ ×9", "ReLU ×3", "+ ×2"} <= set(names)
    # the last subtraction of a constant starts no run: it is drawn as a value, with its 1.0
    last = next(item for item in pic.items if item.node is total)
    assert last.role == "output" and last.members == 1 and last.op is not None


def test_block_titles_are_drawn_as_plain_safe_text() -> None:
    need_dot()
    w = [[Value(0.5), Value(-0.25)]]
    with microgrid.blocks():
        with microgrid.block('evil\x1b[31m <b>"x"</b> | {y} \\N'):
            h = (w[0][0] * 2.0 + w[0][1]).tanh()
        loss = h * h
    d = draw_dot(loss, params={"w": w}, depth=0)
    assert "\x1b" not in d.source and "\\\\N" in d.source  # no escape is read from data
    assert d.note is not None and "changed" in d.note.lower()
    texts = " ".join(svg_texts(d.svg(renderer="dot")))
    assert '<b>"x"</b>' in texts and "| {y}" in texts


def test_the_gpt_top_view_renders_through_dot_with_its_blocks_readable(gpt) -> None:
    need_dot()
    loss, sd = gpt
    svg = draw_dot(loss, params=sd).svg(renderer="dot")
    texts = svg_texts(svg)
    for k in range(4):
        assert f"gpt #{k}" in texts
    assert "wte 11×8" in texts and "gpt_step" in texts and "×88" in texts
    width = float(re.search(r'<svg width="(\d+)pt"', svg)[1])  # type: ignore[index]
    assert width < 1600  # fits a wide notebook column at a readable scale


def test_hidden_constants_are_written_into_their_op_and_counted_as_left_out(gpt) -> None:
    loss, sd = gpt
    pic = describe(loss, params=sd, hide_constants=True)
    order = topological_order(loss)
    shown = describe(loss, params=sd)
    left_out = [v for v in order if v not in pic.where]
    assert left_out and all(v.is_constant for v in left_out)
    assert {shown.where[v][0] for v in left_out} == {"n"}  # only constants drawn alone
    assert sum(item.members for item in pic.items) + len(left_out) == len(order)
    assert pic.values == len(order) - len(left_out)
    assert any(item.op is not None and item.op.startswith("* 0.25") for item in pic.items)


def test_the_size_of_a_view_is_counted_on_the_tree_without_building_it(gpt) -> None:
    loss, sd = gpt
    pic = describe(loss, params=sd)
    parts = pic.parts
    assert parts is not None
    every = parts.parts()
    for k in range(0, len(every), 7):  # opened sets of every shape: by depth, and scattered
        opened = {p for p in every if p.depth <= k % 4} | set(every[k::11])
        assert parts.size(opened) == len(parts.view(opened).pieces)


def test_a_block_left_by_an_exception_keeps_what_it_made_and_the_rest_draws_outside() -> None:
    w = [[Value(0.5), Value(-0.25)]]
    made: list[Value] = []

    def failing() -> None:
        with microgrid.block("half"):
            made.append((w[0][0] * 3.0).tanh())
            raise RuntimeError("stopped")

    with microgrid.blocks():
        with pytest.raises(RuntimeError, match="stopped"):
            failing()
        loss = made[0] * w[0][1] + 1.0
    pic = describe(loss, params={"w": w}, depth=0)
    assert_counts_add_up(pic, loss)
    (call,) = [item for item in pic.items if item.role == "block"]
    assert call.name == "failing · w" and call.members == 3  # the product, its 3.0, the tanh
    assert pic.items[-1].node is loss and pic.items[-1].group is None
    opened = describe(loss, params={"w": w}, depth=0, expand="half")
    assert [box.title for box in opened.boxes.values()] == ["failing · w", "half · w"]
    assert_counts_add_up(opened, loss)


def test_products_reading_a_run_of_products_are_runs_of_their_own_matrix() -> None:
    a = [[Value(0.1 * (i + j)) for j in range(3)] for i in range(2)]
    b = [[Value(0.2 * (i - j)) for j in range(3)] for i in range(2)]
    s = Value(1.5, "s")
    x = [Value(float(j)) * s for j in range(3)]  # a run of products, read by both matrices
    out = [sum((wi * xi for wi, xi in zip(row[1:], x[1:])), row[0] * x[0])
           for w in (a, b) for row in w]
    total = sum(out[1:], out[0])
    pic = describe(total, params={"a": a, "b": b}, max_nodes=12)
    assert_counts_add_up(pic, total)
    runs = {item.name: item for item in pic.items if item.role == "run"}
    assert runs["* ×3"].members == 3  # x alone: w·x does not continue it as a running product
    products = [item for item in pic.items if item.name == "* ×6"]
    assert len(products) == 2
    assert [{pic.by_ident[src].name for _, src in item.inputs} for item in products] == [
        {"a 2×3", "* ×3"}, {"b 2×3", "* ×3"}]


def test_a_function_name_expands_every_call_of_it(gpt) -> None:
    loss, sd = gpt
    pic = describe(loss, params=sd, expand="attention")
    assert_counts_add_up(pic, loss)
    assert Counter(box.title for box in pic.boxes.values())["attention"] == 4
    assert pic.note is not None and "the 4 blocks expand='attention' names hold" in pic.note
    with pytest.raises(DiagramTooLargeError, match=r"the 16 blocks expand='rmsnorm' names .*"
                                                    r"Expand fewer blocks"):
        describe(loss, params=sd, expand="rmsnorm")


def test_many_loose_inputs_around_closed_blocks_are_one_item() -> None:
    w = [[Value(0.1 * (i - j)) for j in range(4)] for i in range(3)]

    def model(x: list[Value]) -> Value:
        return sum((sum((wi * xi for wi, xi in zip(row, x)), Value(0.0)).tanh() for row in w),
                   Value(0.0))

    with microgrid.blocks():
        outs = [model([Value((i + j) / 4) for j in range(4)]) for i in range(10)]
        loss = sum(((o - 1.0) ** 2 for o in outs), Value(0.0))
    pic = describe(loss, params={"w": w}, max_nodes=120)
    assert_counts_add_up(pic, loss)
    assert blocks_of(pic) == [f"model #{k} · w" for k in range(10)]
    (inputs,) = [item for item in pic.items if item.name.startswith("inputs")]
    assert inputs.role == "run" and inputs.members == 41  # 10 × 4, and the sum's start


def test_a_chain_too_long_even_as_runs_is_refused_with_fixes_that_work() -> None:
    a = [Value(0.1 * k, f"a{k}") for k in range(30)]
    t = Value(0.5, "x")
    for ak in a:
        t = (t * ak).tanh()
    with pytest.raises(DiagramTooLargeError) as refused:
        describe(t, params=a, max_nodes=10)
    message = str(refused.value)
    assert "read by its parameters and runs of values" in message
    assert "with microgrid.blocks():" in message and "draw_dot(part)" in message
    n = int(re.search(r"pass max_nodes=(\d+)\.$", message)[1])  # type: ignore[index]
    assert n == len(topological_order(t))  # a chain of different weights: nothing repeats
    full = describe(t, params=a, max_nodes=n)  # the suggested call draws every value
    assert not full.collapsed and len(full.items) == n
