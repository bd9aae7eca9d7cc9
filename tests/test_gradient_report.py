"""Where the gradient goes (microgrid.gradient_report): per matrix and per block, the
gradient's norm, largest entry, zeros and rows, against finite differences of the loss and
norms computed independently (decimal square roots); on the scalar GPT's step, the rows of
the embeddings that received gradient are the tokens and positions the step used."""

from __future__ import annotations

import math
import random
import re
from decimal import Decimal, localcontext

import bench_modules
import matplotlib
import pytest

import microgrid
from microgrid import Value
from microgrid.nn import MLP
from microgrid.parts import UnknownBlockError, l2_norm, partition
from microgrid.viz.gradients import rows_text

matplotlib.use("Agg")

TOKENS = [2, 0, 2, 3]  # the embedding rows the hand-made graph reads


def decimal_norm(xs: list[float]) -> float:
    """√(Σ x²) to 60 digits, then rounded to a float: an oracle independent of l2_norm."""
    with localcontext() as ctx:
        ctx.prec = 60
        return float(sum((Decimal(x) ** 2 for x in xs), Decimal(0)).sqrt())


def hand_model() -> dict[str, list[list[Value]]]:
    rng = random.Random(4)
    return {"emb": [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(5)],
            "w": [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(2)],
            "b": [Value(0.1), Value(-0.2)]}


def hand_loss(sd: dict[str, list]) -> Value:
    """An embedding read by rows, a linear map with a bias and a ReLU, a squared loss."""
    total = Value(0.0)
    for t in TOKENS:
        x = sd["emb"][t]
        h = [sum((wi * xi for wi, xi in zip(row, x)), b).relu()
             for row, b in zip(sd["w"], sd["b"])]
        total = total + (h[0] - 0.5) ** 2 + h[1] * h[1]
    return total


def finite_differences(sd: dict[str, list]) -> dict[str, list[float]]:
    """∂loss/∂entry by central differences, per matrix (row-major)."""
    out = {}
    eps = 1e-6
    for name, m in sd.items():
        entries = [v for row in m for v in row] if isinstance(m[0], list) else list(m)
        grads = []
        for v in entries:
            keep = v.data
            v.data = keep + eps
            up = hand_loss(sd).data
            v.data = keep - eps
            down = hand_loss(sd).data
            v.data = keep
            grads.append((up - down) / (2 * eps))
        out[name] = grads
    return out


def test_the_report_on_a_hand_made_graph_matches_finite_differences_and_decimal_norms() -> None:
    sd = hand_model()
    with microgrid.blocks():
        loss = hand_loss(sd)
    loss.backward()
    fd = finite_differences(sd)
    report = microgrid.gradient_report(sd, root=loss, depth=0)
    assert [r.title for r in report.rows] == ["emb 5×3", "w 2×3", "b 2"]
    (block,) = report.blocks  # the whole of hand_loss: it reads the parameters
    read = [v for t in sorted(set(TOKENS)) for v in sd["emb"][t]] + [
        v for row in sd["w"] for v in row] + sd["b"]
    assert block.title == "hand_loss" and block.inputs == len(read)
    assert block.norm == decimal_norm([v.grad for v in read])
    assert block.norm == pytest.approx(math.sqrt(sum(g * g for gs in fd.values() for g in gs)),
                                       rel=1e-6)
    for row in report.rows:
        grads = fd[row.name]
        exact = [v.grad for v in partition(loss, sd).matrices[
            [r.name for r in report.rows].index(row.name)].entries]
        assert exact == pytest.approx(grads, rel=1e-6, abs=1e-8)  # backward agrees with FD
        assert row.norm == pytest.approx(math.sqrt(sum(g * g for g in grads)), rel=1e-6)
        assert row.norm == decimal_norm(exact)  # and is exactly rounded
        k = max(range(len(exact)), key=lambda i: abs(exact[i]))
        assert row.largest == abs(exact[k]) == pytest.approx(abs(grads[k]), rel=1e-6)
        assert row.zeros == sum(g == 0.0 for g in grads) == sum(g == 0.0 for g in exact)
        assert row.size == len(grads)
    emb = report["emb"]
    assert emb.rows_read == (0, 2, 3) and emb.rows == 5  # the tokens
    # row 3's token meets two dead ReLUs: read, yet no gradient (finite differences agree)
    moved = tuple(i for i in range(5) if any(fd["emb"][3 * i:3 * i + 3]))
    assert emb.rows_with_grad == moved == (0, 2)
    assert emb.zeros == 3 * 3  # rows 1 and 4 are never read, row 3 gets none
    assert emb.largest_at == f"emb[{emb.largest_at[4]}][{emb.largest_at[7]}]"
    i, j = int(emb.largest_at[4]), int(emb.largest_at[7])
    assert abs(sd["emb"][i][j].grad) == emb.largest
    assert "0, 2 of 5" in str(report) and "0, 2, 3 of 5" in str(report)
    assert rows_text(list(range(31)), 32) == "all but 31 of 32"
    assert rows_text(list(range(0, 24, 2)), 40) == "12 of 40: 0, 2, 4, 6, 8, 10, 12, 14, …"
    assert report["b 2"] is report["b"] and report.note == ""
    with pytest.raises(KeyError, match="no matrix is named 'wx'; the matrices are emb, w, b"):
        report["wx"]


def test_l2_norm_is_correctly_rounded_and_keeps_tiny_and_huge_gradients() -> None:
    rng = random.Random(7)
    for _ in range(500):
        scale = 2.0 ** rng.choice([0, 40, -40, -500, 500, -1060, 1000])
        xs = [rng.gauss(0.0, 1.0) * scale for _ in range(rng.randint(1, 30))]
        assert l2_norm(xs) == decimal_norm(xs)
    assert l2_norm([1e-200, 0.0]) == 1e-200  # √(fsum(g·g)) gives 0 here: g·g underflows
    assert l2_norm([3 * 2.0 ** 600, 4 * 2.0 ** 600]) == 5 * 2.0 ** 600  # g·g overflows
    assert l2_norm([1e308, 1e308]) == 1e308 * math.sqrt(2)
    assert l2_norm([1.7e308] * 4) == math.inf and l2_norm([]) == 0.0
    assert math.isnan(l2_norm([1.0, math.inf, math.nan])) and l2_norm([-math.inf]) == math.inf
    x = Value(1e-200)
    (x * 1.0).backward()
    tiny = microgrid.gradient_report([x])
    assert tiny.rows[0].norm == 1.0 and tiny.note == ""


@pytest.fixture(scope="module")
def gpt() -> tuple[Value, dict, list[int]]:
    loss, sd = bench_modules.gpt_step(4, dim=16, heads=2, context=8, vocab=27)
    return loss, sd, bench_modules.load("scalar_gpt").tokens_of(4, 27)


def test_on_the_gpt_step_the_embedding_rows_are_the_tokens_and_positions_used(gpt) -> None:
    loss, sd, tokens = gpt
    report = microgrid.gradient_report(sd, root=loss)
    inputs = tokens[:-1]  # the last token is only a target
    wte, wpe, head = report["wte"], report["wpe"], report["head"]
    assert wte.title == "wte 27×16" and wpe.title == "wpe 8×16"
    assert wte.rows_with_grad == wte.rows_read == tuple(sorted(set(inputs)))
    assert wpe.rows_with_grad == wpe.rows_read == (0, 1, 2, 3)
    assert head.rows_with_grad == tuple(range(27))  # the softmax reads every logit
    assert wte.zeros == (27 - len(set(inputs))) * 16
    for row in report.rows:  # each number against the state_dict itself
        entries = [v for r in sd[row.name] for v in r]
        assert row.norm == decimal_norm([v.grad for v in entries])
        assert row.largest == max(abs(v.grad) for v in entries)
        assert row.zeros == sum(v.grad == 0.0 for v in entries)
    # per block: the view's own pieces and their grad_norm
    view = partition(loss, sd).cut(1)
    parts = [p for p in view.pieces if p.kind == "part"]
    assert [b.title for b in report.blocks] == [p.title for p in parts]
    assert [b.title for b in report.blocks][:2] == ["gpt #0", "softmax #0"]
    for b, p in zip(report.blocks, parts):
        assert b.norm == p.grad_norm() == decimal_norm([x.grad for x in p.inputs])
        assert b.values == p.values and b.inputs == len(p.inputs)
        assert b.largest == max(abs(x.grad) for x in p.inputs)
    # by default, the one function the step runs in (gpt_step) is opened: depth 1
    assert report.depth == 1 and microgrid.gradient_report(sd, root=loss, depth=0).blocks[
        0].title == "gpt_step"
    deeper = microgrid.gradient_report(sd, root=loss, depth=2)
    assert len(deeper.blocks) > len(report.blocks) and deeper.depth == 2


def test_the_table_is_aligned_and_names_the_matrices(gpt) -> None:
    loss, sd, _ = gpt
    report = microgrid.gradient_report(sd, root=loss)
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == f"Where the gradient goes: 9 matrices, {report.parameters} parameters"
    assert report.parameters == sum(len(r) for m in sd.values() for r in m)
    tables = "\n".join(lines[2:]).split("\n\n")
    assert len(tables) == 2
    for table in tables:  # cells are separated by two spaces or more
        spans = [[m.span() for m in re.finditer(r"\S+(?: \S+)*", line)]
                 for line in table.splitlines()]
        assert len({len(s) for s in spans}) == 1 and len(spans[0]) >= 6
        for k in range(len(spans[0])):  # each column left- or right-aligned, all its cells
            starts, ends = {s[k][0] for s in spans}, {s[k][1] for s in spans}
            assert len(starts) == 1 or len(ends) == 1, (table, k)
    wte_line = next(line for line in lines if line.startswith("wte 27×16"))
    assert f"{report['wte'].norm:.4g}" in wte_line and report["wte"].largest_at in wte_line
    markup = report._repr_html_()
    assert markup.count("<table") == 2 and "wte 27×16" in markup and "gpt #0" in markup
    assert report.rows[0].as_dict()["title"] == "wte 27×16"


def test_an_mlp_gives_layer_matrices_and_a_dead_neuron_shows_as_a_row_read_without_gradient(
        ) -> None:
    model = MLP(2, [3, 1], activation="relu", seed=0)
    for j, neuron in enumerate(model.layers[0].neurons):  # neuron 1's ReLU is 0 at (.5, .5)
        sign = -1.0 if j == 1 else 1.0
        for p in neuron.w:
            p.data = sign * (abs(p.data) + 0.1)
        neuron.b.data = sign
    for p in model.layers[1].neurons[0].w:
        p.data = abs(p.data) + 0.1
    with microgrid.blocks():
        loss = (model([0.5, 0.5]) - 1.0) ** 2
    loss.backward()
    report = microgrid.gradient_report(model, root=loss)
    assert [r.title for r in report.rows] == ["L0.w 3×2", "L0.b 3", "L1.w 1×3", "L1.b 1"]
    w = report["L0.w"]
    assert w.rows_read == (0, 1, 2) and w.rows_with_grad == (0, 2)
    assert "0, 2 of 3" in str(report)
    assert report["L1.w"].zeros == 1  # the dead neuron's output is 0
    same = microgrid.gradient_report(root=loss)  # the model the parameters remember
    assert [r.norm for r in same.rows] == [r.norm for r in report.rows]


def test_before_backward_the_report_says_no_gradient_arrived() -> None:
    sd = hand_model()
    with microgrid.blocks():
        loss = hand_loss(sd)
    report = microgrid.gradient_report(sd, root=loss, depth=0)
    assert all(r.norm == 0.0 and r.zeros == r.size and r.largest_at == "" for r in report.rows)
    assert report.note.startswith("No gradient reached any matrix") and report.note in str(report)
    assert "has backward() run?" in report._repr_html_()
    assert [b.title for b in report.blocks] == ["hand_loss"] and report.blocks[0].norm == 0.0


def test_a_graph_built_without_blocks_gets_matrices_and_a_note_on_recording() -> None:
    sd = hand_model()
    loss = hand_loss(sd)  # not inside microgrid.blocks()
    loss.backward()
    report = microgrid.gradient_report(sd, root=loss)
    assert report.blocks == [] and report["w"].norm > 0
    assert report.note.startswith("No block at depth 0: build the graph inside `with "
                                  "microgrid.blocks():`")
    assert microgrid.gradient_report(sd).note == ""  # no root: no blocks asked for


def test_bad_params_and_roots_are_refused_by_name() -> None:
    sd = hand_model()
    loss = hand_loss(sd)
    with pytest.raises(TypeError, match=r"params: w\[0\]\[1\] must be a Value .* got float: 2.0"):
        microgrid.gradient_report({"w": [[Value(1.0), 2.0], [Value(1.0), [3.0]]]})
    with pytest.raises(ValueError, match="the same Value is named both 'b' and 'c'"):
        microgrid.gradient_report({"b": sd["b"][0], "c": sd["b"][0]}, root=loss)
    with pytest.raises(TypeError, match="params is one Value; pass the parameters first"):
        microgrid.gradient_report(loss)
    with pytest.raises(TypeError, match=r"give params .*, root .*, or both"):
        microgrid.gradient_report()
    with pytest.raises(TypeError, match="root must be a Value"):
        microgrid.gradient_report(sd, root=[1.0])
    with pytest.raises(UnknownBlockError):
        microgrid.gradient_report(sd, root=loss, expand=["nowhere"])


def test_the_plot_draws_a_log_bar_per_matrix_marks_zero_and_strips_the_rows(gpt) -> None:
    _, sd, _ = gpt
    unused = [[Value(0.5)] * 1 for _ in range(3)]  # a matrix the loss never reads
    report = microgrid.gradient_report({**sd, "unused": unused})
    ax = report.plot()
    assert ax.get_xscale() == "log"
    bars = ax.patches
    assert len(bars) == 9  # the unused matrix has no bar ...
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "unused 3×1"
    assert any("0 (no gradient)" in t.get_text() for t in ax.texts)  # ... but a 0
    for bar, row in zip(bars, report.rows):
        assert bar.get_x() + bar.get_width() == pytest.approx(row.norm, rel=1e-12)
    (strip,) = ax.child_axes
    partial = [r for r in report.rows if len(r.rows_with_grad) < r.rows]
    assert {r.name for r in partial} >= {"wte", "wpe", "unused"}
    dark = [p for p in strip.patches if p.get_facecolor()[:3] != (0.9019607843137255,) * 3]
    assert len(dark) == sum(len(r.rows_with_grad) for r in partial)
    with pytest.raises(TypeError, match="gradients: report must be a GradientReport"):
        microgrid.plot.gradients(sd)
