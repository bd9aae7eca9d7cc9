"""The parts of a graph (microgrid.parts): the recorded blocks as a tree, cut at a depth,
with every value in exactly one piece and the scalar edges between pieces counted."""

from __future__ import annotations

from collections import Counter

import bench_modules
import pytest

import microgrid
from microgrid import Value, topological_order
from microgrid.losses import mse
from microgrid.nn import MLP
from microgrid.parts import UnknownBlockError, partition


@pytest.fixture(scope="module")
def gpt() -> tuple[Value, dict]:
    return bench_modules.gpt_step(3, dim=8, heads=2, context=4, vocab=11)


def every_edge(root: Value) -> int:
    return sum(len(v.parents) for v in topological_order(root))


def test_every_value_is_in_exactly_one_piece_at_every_depth(gpt) -> None:
    loss, sd = gpt
    parts = partition(loss, sd)
    order = topological_order(loss)
    assert parts.values == len(order)
    for depth in range(5):
        view = parts.cut(depth)
        assert sum(p.values for p in view.pieces) == len(order)
        assert set(view.piece_of) == set(order)
        counted = Counter(view.piece_of.values())
        assert all(counted[k] == p.values for k, p in enumerate(view.pieces))
        inside = sum(1 for v in order for q in v.parents
                     if view.piece_of[q] == view.piece_of[v])
        assert sum(view.edges.values()) + inside == every_edge(loss)


def test_repeated_calls_are_numbered_and_a_part_reading_one_matrix_is_titled_with_it(gpt) -> None:
    loss, sd = gpt
    view = partition(loss, sd).cut(1)
    titles = [p.title for p in view.pieces if p.kind == "part"]
    assert titles[:2] == ["gpt #0", "softmax #0"]
    assert [t for t in titles if t.startswith("gpt")] == ["gpt #0", "gpt #1", "gpt #2"]
    inner = partition(loss, sd).cut(2)
    names = {p.part.name for p in inner.pieces if p.kind == "part"}
    assert "gpt_step › gpt #1 › linear #0 · wk" in names
    matrices = {p.title for p in view.pieces if p.kind == "matrix"}
    assert {"wte 11×8", "wq 8×8", "fc1 32×8", "head 11×8"} <= matrices


def test_later_positions_read_the_key_value_cache_of_earlier_ones(gpt) -> None:
    loss, sd = gpt
    view = partition(loss, sd).cut(1)
    index = {p.title: k for k, p in enumerate(view.pieces)}
    # position 1 reads position 0's keys and values: 2 heads × 4 entries × (k, v) per read
    assert view.edges[index["gpt #0"], index["gpt #1"]] > 0
    assert view.edges[index["gpt #0"], index["gpt #2"]] > 0
    assert (index["gpt #1"], index["gpt #0"]) not in view.edges
    assert index["gpt #0"] < index["gpt #1"] < index["gpt #2"]


def test_a_piece_knows_its_inputs_outputs_and_the_gradient_leaving_it(gpt) -> None:
    loss, sd = gpt
    view = partition(loss, sd).cut(1)
    first = next(p for p in view.pieces if p.title == "gpt #0")
    assert all(view.piece_of[x] != view.piece_of[first.outputs[0]] for x in first.inputs)
    wte = next(p for p in view.pieces if p.title.startswith("wte"))
    assert wte.grad_norm() == pytest.approx(sum(v.grad ** 2 for row in sd["wte"] for v in row)
                                            ** 0.5, rel=1e-12)
    assert first.grad_norm() > 0.0


def test_deepest_picks_the_deepest_view_that_fits(gpt) -> None:
    loss, sd = gpt
    parts = partition(loss, sd)
    sizes = [len(parts.cut(d).pieces) for d in range(4)]
    assert sizes == sorted(sizes)
    fit = next(d for d in range(3, -1, -1) if sizes[d] <= 60)
    assert len(parts.deepest(60).pieces) == sizes[fit]


def test_expand_opens_a_block_down_to_single_values_and_names_the_closest_on_a_miss(gpt) -> None:
    loss, sd = gpt
    parts = partition(loss, sd)
    view = parts.cut(1, expand=["gpt_step › gpt #2 › attention"])
    opened = [p for p in parts.find("gpt_step › gpt #2 › attention")]
    assert len(opened) == 1
    inside = opened[0].members()
    assert all(view.pieces[view.piece_of[v]].kind in ("value", "matrix") for v in inside)
    assert sum(p.values for p in view.pieces) == parts.values
    with pytest.raises(UnknownBlockError, match="'attention'"):
        parts.cut(1, expand=["attnetion"])
    with pytest.raises(TypeError, match="expand"):
        parts.cut(1, expand=[3])
    with pytest.raises(ValueError, match="depth"):
        parts.cut(-1)


def test_a_graph_without_blocks_is_values_and_matrices() -> None:
    model = MLP(2, [3, 1], seed=0)
    loss = mse([model([1.0, 2.0])], [0.5])
    parts = partition(loss, model)
    view = parts.cut(3)
    kinds = Counter(p.kind for p in view.pieces)
    assert kinds["part"] == 0 and kinds["matrix"] == 4  # L0.w, L0.b, L1.w, L1.b
    assert sum(p.values for p in view.pieces) == len(topological_order(loss))
    with pytest.raises(UnknownBlockError, match=r"microgrid\.blocks"):
        parts.cut(0, expand=["L0"])


def test_microgrid_modules_record_their_own_blocks() -> None:
    model = MLP(2, [3, 1], seed=0)
    with microgrid.blocks():
        loss = mse([model([1.0, 2.0])], [0.5])
    parts = partition(loss)
    assert [p.title for p in parts.cut(0).pieces if p.kind == "part"] == ["MLP", "mse"]
    assert [p.title for p in parts.cut(1).pieces if p.kind == "part"] == ["L0", "L1"]
    assert [p.part.name for p in parts.cut(2).pieces if p.kind == "part"] == [
        "MLP › L0 › N0", "MLP › L0 › N1", "MLP › L0 › N2", "MLP › L1 › N0"]
    for depth in range(4):
        assert sum(p.values for p in parts.cut(depth).pieces) == len(topological_order(loss))
