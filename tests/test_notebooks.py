"""The teaching notebooks run top to bottom, teach the right numbers, and are committed
clean.

The notebooks read as lessons: they print and plot, with few ``assert`` lines. The checks
live here. Each notebook is executed once (nbclient); a cell appended to the in-memory copy
evaluates, in the notebook's own kernel, the expressions registered for it with
:func:`teaches` and prints them as JSON; the check function then asserts on those values.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ALL_NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
LIVE = "07_live_training"  # executed and checked by tests/test_live.py (the live view)
NOTEBOOKS = [p for p in ALL_NOTEBOOKS if p.stem != LIVE]
CELL_TIMEOUT = 120  # seconds for one cell
NOTEBOOK_BUDGET = 150  # seconds for a whole notebook
MAX_ASSERTS = 2  # a lesson, not a test file
MARK = "microgrid-notebook-values:"
OUTPUT_FOLDER = "microgrid-output"  # what a notebook generates goes there (git ignores it)
QUICK = {"MICROGRID_NOTEBOOK_QUICK": "1"}  # notebook 08 trains a smaller model, for fewer steps

Values = dict[str, Any]
CHECKS: dict[str, tuple[dict[str, str], Callable[[Values], None]]] = {}


def teaches(stem: str, **reads: str) -> Callable[[Callable[[Values], None]], Any]:
    """Register the check of notebook ``stem``: ``reads`` names expressions evaluated after
    its last cell; the check gets their values (through JSON: tuples become lists)."""
    def register(check: Callable[[Values], None]) -> Callable[[Values], None]:
        CHECKS[stem] = (reads, check)
        return check
    return register


def _reading_cell(reads: dict[str, str]) -> str:
    lines = ["import json as _json",
             "def _plain(o):",
             "    if hasattr(o, 'tolist'):",
             "        return o.tolist()",
             "    raise TypeError(f'cannot send {type(o).__name__} to the test')",
             "_values = {}"]
    lines += [f"_values[{name!r}] = {expr}" for name, expr in reads.items()]
    lines.append(f"print({MARK!r} + _json.dumps(_values, default=_plain))")
    return "\n".join(lines)


@dataclass
class Run:
    nb: Any  # the executed notebook, without the reading cell
    values: Values
    seconds: float
    written: list[str]  # the files it left in its working directory, relative to it


@functools.cache
def executed(path: Path) -> Run:
    """Run the notebook once (figures on the Agg backend) and read its values."""
    nb = nbformat.read(path, as_version=4)
    reads = CHECKS[path.stem][0]
    nb.cells.append(nbformat.v4.new_code_cell(_reading_cell(reads)))
    settings = {"MPLBACKEND": "Agg", **QUICK}  # the kernel inherits them
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        with tempfile.TemporaryDirectory() as cwd:
            client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                    resources={"metadata": {"path": cwd}})
            start = time.perf_counter()
            client.execute()  # raises CellExecutionError, with the failing cell, on any error
            seconds = time.perf_counter() - start
            written = sorted(p.relative_to(cwd).as_posix() for p in Path(cwd).rglob("*")
                             if p.is_file())
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
    reading = nb.cells.pop()
    text = "".join(o.get("text", "") for o in reading.outputs if o.output_type == "stream")
    (line,) = [ln for ln in text.splitlines() if ln.startswith(MARK)]
    return Run(nb, json.loads(line[len(MARK):]), seconds, written)


def close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


# ---------------------------------------------------------------- 01 the chain rule

@teaches("01_chain_rule",
         forward="(q.data, f.data)",
         steps="[(s.node.label, s.upstream, [(c.parent.label, c.local, c.contribution) "
               "for c in s.contributions]) for s in steps]",
         node_by_node="{node.label: g for node, g in grads.items()}",
         after_backward="{node.label: node.grad for node in grads}",
         numeric="numeric",
         app="(app.phase, app.step.node.label, app.text())")
def _chain_rule(v: Values) -> None:
    assert v["forward"] == [3.0, -12.0]
    assert v["steps"] == [["f", 1.0, [["q", -4.0, -4.0], ["z", 3.0, 3.0]]],   # ∂f/∂q = z, ∂f/∂z = q
                          ["q", -4.0, [["x", 1.0, -4.0], ["y", 1.0, -4.0]]]]  # a sum passes -4 on
    assert v["node_by_node"] == {"f": 1.0, "q": -4.0, "x": -4.0, "y": -4.0, "z": 3.0}  # the slide
    assert v["after_backward"] == v["node_by_node"]
    assert all(close(n, g, 1e-6) for n, g in zip(v["numeric"], [-4.0, -4.0, 3.0]))
    phase, node, text = v["app"]
    assert phase == "backward" and node == "q" and "∂f/∂x: 0 → -4" in text


# ---------------------------------------------------------------- 02 one neuron

def _sigmoid(n: float) -> float:
    return 1 / (1 + math.exp(-n))


ACTIVATIONS = {  # label in the plot: (φ, φ') in closed form
    "sigmoid": (_sigmoid, lambda n: _sigmoid(n) * (1 - _sigmoid(n))),
    "tanh": (math.tanh, lambda n: 1 - math.tanh(n) ** 2),
    "ReLU": (lambda n: max(0.0, n), lambda n: 1.0 if n > 0 else 0.0),
    "softplus": (lambda n: math.log1p(math.exp(n)), _sigmoid),
    "leaky ReLU (α = 0.1)": (lambda n: n if n > 0 else 0.1 * n,
                             lambda n: 1.0 if n > 0 else 0.1),
}
CURVES = ("{l.get_label(): [l.get_xdata().tolist(), l.get_ydata().tolist()] "
          "for l in {ax}.lines if not l.get_label().startswith('_')}")


@teaches("02_one_neuron",
         values=CURVES.replace("{ax}", "top"),
         slopes=CURVES.replace("{ax}", "bottom"),
         tanh_example="(out.data, u.grad)",
         neuron="(n.data, o.data)",
         through_tanh="(steps[0].node.label, to_n.local)",
         grads="{p.label: grads[p] for p in (w0, w1, b, x0, x1)}",
         after_backward="[(node.grad, g) for node, g in grads.items()]",
         fused="(of.data, o.data, [p.grad for p in fused.parameters()], "
               "[p.grad for p in neuron.parameters()])",
         sigmoid="(os_.data, sig.b.grad, sig.w[0].grad)",
         app="app.phase")
def _one_neuron(v: Values) -> None:
    assert list(v["values"]) == list(v["slopes"]) == list(ACTIVATIONS)
    for name, (phi, dphi) in ACTIVATIONS.items():
        grid, values = v["values"][name]
        same_grid, slopes = v["slopes"][name]
        assert grid == same_grid and len(grid) == 401 and (grid[0], grid[-1]) == (-4.0, 4.0)
        assert all(close(y, phi(n), 1e-12) for n, y in zip(grid, values)), name
        assert all(close(s, dphi(n), 1e-12) for n, s in zip(grid, slopes)), name
    slopes = {name: s for name, (_, s) in v["slopes"].items()}
    assert max(slopes["sigmoid"]) == 0.25              # σ'(0) = 1/4
    assert max(slopes["tanh"]) == 1.0                  # tanh'(0) = 1
    assert slopes["tanh"][0] < 0.002                   # saturated at n = -4
    assert set(slopes["ReLU"]) == {0.0, 1.0}
    assert set(slopes["leaky ReLU (α = 0.1)"]) == {0.1, 1.0}
    out, grad = v["tanh_example"]
    assert out == math.tanh(0.5) and close(grad, 1 - math.tanh(0.5) ** 2, 1e-15)

    n, o = v["neuron"]
    assert close(n, 0.8813735870195432, 1e-12) and close(o, 1 / math.sqrt(2), 1e-12)
    node, local = v["through_tanh"]
    assert node == "o" and close(local, 1 - o ** 2, 1e-15) and close(local, 0.5, 1e-12)
    g = v["grads"]
    assert close(g["N0.w0"], 2.0 * 0.5, 1e-12)   # ∂o/∂w0 = x0 · tanh'(n)
    assert close(g["x0"], -3.0 * 0.5, 1e-12)     # ∂o/∂x0 = w0 · tanh'(n)
    assert g["N0.w1"] == 0.0                     # x1 = 0: w1 gets no gradient
    assert close(g["x1"], 1.0 * 0.5, 1e-12) and close(g["N0.b"], 0.5, 1e-12)
    assert all(a == b for a, b in v["after_backward"])  # backward() = the stepper
    fused_out, out, fused_grads, grads = v["fused"]
    assert fused_out == out and fused_grads == grads
    s, b_grad, w0_grad = v["sigmoid"]
    local = s * (1 - s)
    assert close(b_grad, local, 1e-15) and local <= 0.25
    assert close(w0_grad, 2.0 * local, 1e-15)
    assert v["app"] == "backward"


# ---------------------------------------------------------------- 03 the worked example

NOTES = 5e-9  # the notes round to about nine digits


@teaches("03_worked_example",
         labels="[p.label for p in net.parameters()]",
         forward="{node.label: node.data for node in "
                 "(net_h1, out_h1, out_h2, net_o1, out_o1, out_o2, E_o1, E_o2, E)}",
         factors="(dE_dout_o1, dout_dnet_o1, dnet_dw5)",
         hidden="(net_o1.grad, out_h1.grad, dout_dnet_h1, arriving)",
         gradients="gradients",
         first_update="first_update",
         biases="(b1.data, b2.data)",
         after_one="after_one",
         history="(len(history.loss), history.loss[0], history.loss[1], history.loss[-1])",
         final="(final.data, o1.data, o2.data)",
         fused="(fE.data, E_again.data, [a.grad for a in fw], [b.grad for b in w_again])")
def _worked_example(v: Values) -> None:
    assert v["labels"] == ["w1", "w2", "b1", "w3", "w4", "w5", "w6", "b2", "w7", "w8"]
    notes = {"net_h1": 0.3775, "out_h1": 0.593269992, "out_h2": 0.596884378,
             "net_o1": 1.105905967, "out_o1": 0.75136507, "out_o2": 0.772928465,
             "E_o1": 0.274811083, "E_o2": 0.023560026, "E_total": 0.298371109}
    assert {k: close(v["forward"][k], x, NOTES) for k, x in notes.items()} == dict.fromkeys(
        notes, True), v["forward"]
    d_out, d_net, d_w5 = v["factors"]
    assert close(d_out, 0.74136507, NOTES) and close(d_net, 0.186815602, NOTES)
    assert close(d_w5, 0.593269992, NOTES) and close(d_out * d_net * d_w5, 0.082167041, NOTES)
    delta_o1, d_out_h1, d_net_h1, arriving = v["hidden"]
    assert close(delta_o1, 0.138498562, NOTES)
    assert close(arriving["w5"], 0.055399425, NOTES)    # ∂E_o1/∂out_h1 = δ_o1 · w5
    assert close(arriving["w7"], -0.019049119, NOTES)   # ∂E_o2/∂out_h1 = δ_o2 · w7
    assert close(d_out_h1, 0.036350306, NOTES) and close(d_net_h1, 0.241300709, NOTES)
    assert close(v["gradients"]["w5"], 0.082167041, NOTES)
    assert close(v["gradients"]["w1"], 0.000438568, NOTES)
    expected = {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
                "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121}
    assert list(v["first_update"]) == list(expected)
    assert all(close(v["first_update"][k], x, 6e-9) for k, x in expected.items())
    assert v["biases"] == [0.35, 0.60]
    assert close(v["after_one"], 0.291027774, 5e-10)  # the notes: 0.291027924, see notebook
    count, first, second, last = v["history"]
    assert count == 10_000 and first == v["forward"]["E_total"] and second == v["after_one"]
    assert close(last, 0.0000351085, 1e-10)  # the notes' figure: after 9,999 updates
    final, o1, o2 = v["final"]
    assert close(final, 0.0000351019, 5e-11)
    assert close(o1, 0.015913620, 5e-10) and close(o2, 0.984064274, 5e-10)
    fused_error, error, fused_grads, grads = v["fused"]
    assert fused_error == error and all(close(a, b, 1e-15) for a, b in zip(fused_grads, grads))


# ---------------------------------------------------------------- 04 the matrix form

@teaches("04_matrix_form",
         hadamard="(hadamard([1, 2], [3, 4]), (np.array([1, 2]) * np.array([3, 4])).tolist())",
         cost="(cost.data, float(C))",
         worst="worst",
         deltas="([[node.grad for node in layer] for layer in net_nodes], "
                "[d.tolist() for d in delta])",
         mean="([e.tolist() for e in engine_D], [d.tolist() for d in D])",
         mazur="(float(gW2[0, 0]), float(gW1[0, 0]), vb1.grad, float(delta1.sum()), "
               "vb2.grad, float(delta2.sum()), grads['L1.N0.w0'].grad)")
def _matrix_form(v: Values) -> None:
    assert v["hadamard"] == [[3, 8], [3, 8]]
    cost, numpy_cost = v["cost"]
    assert close(cost, numpy_cost, 1e-15)
    assert 0.0 <= v["worst"] < 1e-15  # BP3 and BP4 = backprop, every parameter
    engine, bp = v["deltas"]
    assert [len(d) for d in engine] == [4, 3, 2] == [len(d) for d in bp]
    assert all(close(a, b, 1e-15) for e, d in zip(engine, bp) for a, b in zip(e, d))  # δ = ∂C/∂net
    engine_D, D = v["mean"]
    flat = [(a, b) for e, d in zip(engine_D, D) for re, rd in zip(e, d) for a, b in zip(re, rd)]
    assert len(flat) == 3 * 4 + 4 * 3 + 3 * 2 and all(close(a, b, 1e-15) for a, b in flat)
    w5, w1, b1_grad, delta1, b2_grad, delta2, engine_w5 = v["mazur"]
    assert close(w5, 0.082167041, NOTES) and close(w1, 0.000438568, NOTES)
    assert close(b1_grad, delta1, 1e-15) and close(b2_grad, delta2, 1e-15)  # shared biases
    assert close(engine_w5, w5, 1e-15)


# ---------------------------------------------------------------- 05 training

@teaches("05_training",
         data="(len(X), sorted(set(y)))",
         trained="(acc, history.loss, history.accuracy)",
         regions="[sorted(set(im.norm(im.get_array()).ravel().tolist())) "
                 "for im in (before.images[-1], after.images[-1])]",  # the shaded classes
         runs="{name: run.loss for name, run in runs.items()}",
         symmetric="[[[w.data for w in n.w] + [n.b.data] for n in layer.neurons] "
                   "for layer in symmetric.layers[:2]]",
         distinct="len({tuple(w.data for w in n.w) for n in model.layers[0].neurons})",
         results="results",
         zero_grads="[p.grad for p in zero.layers[0].parameters()]")
def _training(v: Values) -> None:
    assert v["data"] == [100, [0, 1]]
    acc, loss, accuracy = v["trained"]
    assert acc >= 0.97 and len(loss) == len(accuracy) == 100
    assert loss[-1] < loss[0] / 10
    assert v["regions"][1] == [0, 1]  # the trained boundary splits the plane
    runs = v["runs"]
    assert len({c[0] for c in runs.values()}) == 1      # the same start
    assert all(c[-1] < c[0] for c in runs.values())     # every optimizer makes progress
    gd = runs.pop("GD (lr 0.1)")
    assert len(runs) == 4 and all(c[-1] < gd[-1] / 2 for c in runs.values())  # leave GD behind
    for layer in v["symmetric"]:
        assert len(layer) == 8 and all(u == layer[0] for u in layer)  # identical copies, exactly
    assert v["distinct"] == 8                  # the random start gives 8 different units
    results = v["results"]
    assert results["random (Xavier)"] == acc
    assert results["random (Xavier)"] > results["symmetric (all 0.5)"] + 0.05
    assert v["zero_grads"] == [0.0] * 24       # a zero start: no hidden gradient at all


# ---------------------------------------------------------------- 06 checking, second order

@teaches("06_checking_second_order",
         slopes="(slope_forward, slope_central, min(central_err))",
         passed="passed",
         finite_difference="(numeric, a.grad, wrong_grad(x0, y0))",
         message="message",
         hessian="(H, [d.data for d in first], numeric_H)",
         quadratic="(x.data, y.data, list(grad(quadratic(x, y), [x, y])))",
         rosenbrock="(newton_f, newton_path, gd_f, gd_path[-1])",
         plotted="{l.get_label().split(':')[0]: [float(l.get_xdata()[-1]), "
                 "float(l.get_ydata()[-1])] for l in paths.lines}")
def _second_order(v: Values) -> None:
    forward, central, best = v["slopes"]
    assert close(forward, 1, 0.1) and close(central, 2, 0.1)  # error ∝ h, ∝ h²
    assert best < 1e-9
    assert v["passed"] == [True, True, True]
    numeric, backprop, wrong = v["finite_difference"]
    assert close(numeric, backprop, 1e-8) and abs(numeric - wrong) > 0.1
    assert "finite difference 0.5" in v["message"]  # ReLU at its kink
    H, gradient, numeric_H = v["hessian"]
    assert H == [[4.0, -1.0], [-1.0, 12.0]]
    assert gradient == [2 * 1 * 2 - 3 * 2, 1 + 3 * 4 - 3 * 1]
    assert all(close(numeric_H[i][j], H[i][j], 1e-6) for i in range(2) for j in range(2))
    x, y, g = v["quadratic"]
    assert close(x, 1.5, 1e-12) and close(y, -2.5, 1e-12)  # one Newton step: the minimum
    assert all(abs(d) < 1e-12 for d in g)
    newton_f, newton_path, gd_f, gd_end = v["rosenbrock"]
    assert len(newton_f) == 9 and len(gd_f) == 2001
    assert newton_f[7] < 1e-12 and max(abs(c - 1) for c in newton_path[7]) < 1e-8
    assert gd_f[-1] > 1e-3             # still far down the valley
    assert newton_f[2] > newton_f[0]   # Newton's second step goes uphill first
    plotted = v["plotted"]              # the plot ran the same optimizers to the same ends
    assert plotted["gradient descent (lr 1e-3)"] == gd_end
    assert plotted["Newton"] == newton_path[-1]
    assert plotted["minimum"] == [1.0, 1.0]


# ---------------------------------------------------------------- 08 a tiny GPT

def _block_picture(source: str) -> tuple[dict[str, str], dict[tuple[str, str], int]]:
    """A block view's DOT source read back: the title of each record item (a block, a
    matrix, a value) and, between titled items, the scalar edges each edge stands for."""
    titles = dict(re.findall(r'^\s*(\w+) \[label="\{ ([^|}]+?) [|}]', source, flags=re.M))
    edges = {(titles[a], titles[b]): int(n.replace(",", ""))
             for a, b, n in re.findall(r'^\s*(\w+) -> (\w+) \[label="×([\d,]+)"', source,
                                       flags=re.M) if a in titles and b in titles}
    return titles, edges


@teaches("08_tiny_gpt",
         settings="(QUICK, DIM, HEADS, CONTEXT, STEPS)",
         data="(NAMES, itos, VOCAB)",
         shapes="{name: [len(m), *{len(row) for row in m}] for name, m in state_dict.items()}",
         parameters="(len(params), len({id(p) for p in params}))",
         first="(first_loss, math.log(VOCAB))",
         checked="checked",
         training="(start, end, losses)",
         plotted="[[float(y) for y in l.get_ydata()] for l in ax.lines]",
         live="(view.frame.head, view.frame.numbers, [p.data for p in params])",
         samples="samples",
         recorded="(loss.data, encode('emma'))",
         pictures="(top.source, opened.source)",
         stepped="(names[start], names, [s.upstream == s.node.grad for s in inside], "
                 "{s.node for s in inside} <= set(head_1.piece.part.members()), "
                 "len(head_1.piece.part.members()))",
         grads="{name: [[p.grad for p in row] for row in m] for name, m in state_dict.items()}",
         report="([r.as_dict() for r in report.rows], [b.as_dict() for b in report.blocks])")
def _tiny_gpt(v: Values) -> None:
    quick, dim, heads, context, steps = v["settings"]
    assert quick and (dim, heads, steps) == (8, 2, 20)  # the suite runs the small model
    names, itos, vocab = v["data"]
    assert len(names) == len(set(names)) >= 60 and all(n.isalpha() and n.islower() for n in names)
    assert itos == [".", *sorted(set("".join(names)))] and vocab == len(itos)
    assert max(map(len, names)) < context  # every name fits, with its end token
    assert v["shapes"] == {"wte": [vocab, dim], "wpe": [context, dim], "attn_wq": [dim, dim],
                           "attn_wk": [dim, dim], "attn_wv": [dim, dim], "attn_wo": [dim, dim],
                           "mlp_fc1": [4 * dim, dim], "mlp_fc2": [dim, 4 * dim],
                           "lm_head": [vocab, dim]}
    count = 2 * vocab * dim + context * dim + 12 * dim * dim
    assert v["parameters"] == [count, count]  # every parameter once, none shared
    first, uniform = v["first"]
    assert close(first, uniform, 0.2)  # small random weights: about a uniform guess
    # backward() against the slope of the forward pass alone, one entry of every matrix
    checked = v["checked"]
    assert [label.split("[")[0] for label, _, _ in checked] == list(v["shapes"])
    for label, backward, slope in checked:
        assert abs(backward) > 1e-4, f"{label} gets no gradient: the check would be empty"
        assert close(backward, slope, 1e-7 + 1e-5 * abs(slope)), (label, backward, slope)
    start, end, losses = v["training"]
    assert len(losses) == steps and close(losses[0], first, 0.5)
    assert end < start and end < uniform  # training beat the start and the uniform guess
    curve, smooth, line = v["plotted"]
    assert curve == losses and line == [uniform, uniform]
    assert all(close(m, sum(losses[max(0, k - 19):k + 1]) / min(k + 1, 20), 1e-12)
               for k, m in enumerate(smooth))  # the mean of the last 20 steps
    samples = v["samples"]
    assert len(samples) == 12
    assert all(isinstance(s, str) and len(s) <= context and set(s) <= set(itos[1:])
               for s in samples)
    # the live view's last frame: the run's last loss, the parameters as training left them
    head, numbers, data = v["live"]
    assert head.endswith(" · done") and numbers["step"] == steps - 1
    assert numbers["loss"] == losses[-1]
    assert [d for _, d, _ in numbers["parameters"]] == data
    assert numbers["parameters"][0][0] == "wte[0][0]" and numbers["text"] is not None
    # the recorded step's gradient report, against the gradients themselves
    _, tokens = v["recorded"]
    rows, blocks = v["report"]
    assert [r["name"] for r in rows] == list(v["shapes"])
    for r in rows:
        grads = v["grads"][r["name"]]
        flat = [g for row in grads for g in row]
        assert close(r["norm"], math.sqrt(math.fsum(g * g for g in flat)), 1e-12 * r["norm"])
        assert r["largest"] == max(map(abs, flat)) and r["zeros"] == flat.count(0.0)
        assert r["rows_with_grad"] == [i for i, row in enumerate(grads) if any(row)]
    embeddings = {r["name"]: r["rows_with_grad"] for r in rows[:2]}
    assert embeddings == {"wte": sorted(set(tokens[:-1])),          # the tokens read
                          "wpe": list(range(len(tokens) - 1))}      # the positions used
    positions = [f"position {k}" for k in range(len(tokens) - 1)]
    assert [b["title"] for b in blocks] == positions
    # the step as blocks: one box per position, the matrices as items, the cache between
    top, opened = v["pictures"]
    titles, edges = _block_picture(top)
    assert {t for t in titles.values() if t.startswith("position")} == set(positions)
    assert {f"{name} {r}×{c}" for name, (r, c) in v["shapes"].items()} <= set(titles.values())
    for k, later in enumerate(positions):
        for earlier in positions[:k]:  # a key and a value vector to every later position
            assert edges[(earlier, later)] == 2 * dim, (earlier, later)
    # the last position's attention opened: its heads, each reading its slice of the cache
    titles, edges = _block_picture(opened)
    size = dim // heads
    for h in range(heads):
        for earlier in positions[:-1]:
            assert edges[(earlier, f"head {h}")] == 2 * size
        # its size outputs, each read by every one of attn_wo's dim rows
        assert edges[(f"head {h}", "linear #3 · attn_wo")] == size * dim
    # stepping the backward pass by blocks: attn_wo first, then the heads; head 1 descended
    first_step, names, upstream_is_grad, inside_head, members = v["stepped"]
    assert first_step == "linear #3 · attn_wo"
    assert "head 1" in names and "head 0" not in names  # head 0 is opened: scalar steps
    assert upstream_is_grad and all(upstream_is_grad)  # each step's ∂L/∂n is backward()'s
    assert inside_head and 0 < len(upstream_is_grad) <= members


# ---------------------------------------------------------------- the tests

def test_the_seven_notebooks_are_there_and_each_has_its_checks() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_", "08_"]
    assert sorted(CHECKS) == [p.stem for p in NOTEBOOKS]
    assert [p.stem for p in ALL_NOTEBOOKS] == sorted([*CHECKS, LIVE])  # no notebook unchecked


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_and_reads_as_a_lesson(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), \
        "clear the outputs before committing"
    asserts = sum(line.lstrip().startswith("assert ") for c in code
                  for line in c.source.splitlines())
    assert asserts <= MAX_ASSERTS, f"{path.name} has {asserts} asserts: move them to the tests"
    text = "".join(c.source for c in nb.cells).lower()
    assert "the seeds" not in text and "seed 001" not in text


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    run = executed(path)
    assert run.seconds < NOTEBOOK_BUDGET, f"{path.name} took {run.seconds:.0f} s"
    errors = [o for c in run.nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    if os.environ.get("CI"):  # in CI a renderer is installed: diagrams must come out as SVG
        svgs = [o for c in run.nb.cells if c.cell_type == "code" for o in c.outputs
                if "image/svg+xml" in o.get("data", {})]
        if "draw_dot" in "".join(c.source for c in run.nb.cells):
            assert svgs, f"{path.name} drew no diagram"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_writes_files_only_into_the_output_folder(path: Path) -> None:
    written = executed(path).written
    assert [f for f in written if not f.startswith(f"{OUTPUT_FOLDER}/")] == []


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_teaches_the_right_numbers(path: Path) -> None:
    reads, check = CHECKS[path.stem]
    values = executed(path).values
    assert sorted(values) == sorted(reads)
    check(values)
