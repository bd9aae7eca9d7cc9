"""Lecture-style code on the core ``microgrid.Value``, unchanged.

The sequence a learner types in the well-known micrograd lecture: a labelled expression, a
neuron with tanh, the chain rule applied by hand with ``_backward()`` node by node in reverse
topological order (the sort written by hand over ``_prev``), then ``Neuron``/``Layer``/``MLP``
classes and a few steps of gradient descent. Gradients are checked against ``backward()`` and
against mpmath (50 digits).
"""

from __future__ import annotations

import math
import random
from typing import Any

import mpmath
import pytest

from microgrid import Value, draw_dot


def build_topo(root: Value) -> list[Value]:
    """The lecture's topological sort, by hand over ``_prev`` (recursive: small graphs)."""
    topo: list[Value] = []
    visited: set[Value] = set()

    def visit(v: Value) -> None:
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                visit(child)
            topo.append(v)

    visit(root)
    return topo


def manual_backward(root: Value) -> None:
    root.grad = 1.0
    for node in reversed(build_topo(root)):
        node._backward()


def neuron_expression() -> dict[str, Value]:
    """The lecture's two-input neuron: o = tanh(x1·w1 + x2·w2 + b), with labels."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "x1w1": x1w1, "x2w2": x2w2,
            "x1w1x2w2": x1w1x2w2, "n": n, "o": o}


def mp_neuron(x1: Any, x2: Any, w1: Any, w2: Any, b: Any) -> Any:
    return mpmath.tanh(x1 * w1 + x2 * w2 + b)


def test_the_micrograd_dialect_on_the_core_value() -> None:
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    assert (a._op, e._op, d._op, L._op) == ("", "*", "+", "*")
    assert (e._prev, d._prev, L._prev, a._prev) == ({a, b}, {e, c}, {d, f}, set())
    assert (a + a)._prev == {a}
    assert L.item() == L.data == -8.0 and isinstance(L.item(), float)
    assert f"{L:.4f}" == "-8.0000" and f"{e:+.1f}" == "-6.0"
    neg = abs(Value(-2.5))
    assert neg.data == 2.5
    neg.backward()
    assert neg.parents[0].grad == -1.0  # d|x|/dx = sign(x)
    # draw_dot works on these graphs and shows the labels and ops
    L.backward()
    source = draw_dot(L).source
    for text in ("a", "b", "c", "d", "e", "f", "L", "data -8", "grad 4"):
        assert text in source, text


def test_by_hand_chain_rule_one_node_at_a_time() -> None:
    v = neuron_expression()
    o = v["o"]
    assert f"{o.data:.4f}" == "0.7071"
    o.grad = 1.0
    # the lecture's manual cells: one _backward() per node, outermost first
    for name in ("o", "n", "b", "x1w1x2w2", "x2w2", "x1w1"):
        v[name]._backward()
    manual = {k: node.grad for k, node in v.items()}
    with mpmath.workdps(50):
        point = [mpmath.mpf(v[k].data) for k in ("x1", "x2", "w1", "w2", "b")]
        for i, k in enumerate(("x1", "x2", "w1", "w2", "b")):
            def f(t: Any, i: int = i) -> Any:
                args = list(point)
                args[i] = t
                return mp_neuron(*args)
            assert math.isclose(manual[k], float(mpmath.diff(f, point[i])), rel_tol=1e-12,
                                abs_tol=1e-15), k
    assert math.isclose(manual["x1"], -1.5, rel_tol=1e-12)
    assert math.isclose(manual["w1"], 1.0, rel_tol=1e-12) and manual["w2"] == 0.0
    # the same graph through backward(): identical numbers
    for node in v.values():
        node.grad = 0.0
    o.backward()
    assert {k: node.grad for k, node in v.items()} == manual


def test_hand_written_topological_sort_and_backward_agree() -> None:
    v = neuron_expression()
    manual_backward(v["o"])
    manual = {k: node.grad for k, node in v.items()}
    for node in v.values():
        node.grad = 0.0
    v["o"].backward()
    assert {k: node.grad for k, node in v.items()} == manual


def test_tanh_written_with_exp_and_division_gives_the_same_gradients() -> None:
    v = neuron_expression()
    e = (2 * v["n"]).exp()
    o = (e - 1) / (e + 1)
    o.backward()
    w = neuron_expression()
    w["o"].backward()
    assert math.isclose(o.data, w["o"].data, rel_tol=1e-15)
    for k in ("x1", "x2", "w1", "w2", "b"):
        assert math.isclose(v[k].grad, w[k].grad, rel_tol=1e-12, abs_tol=1e-15), k


class Neuron:
    def __init__(self, nin: int) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x: list[Any]) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class Layer:
    def __init__(self, nin: int, nout: int) -> None:
        self.neurons = [Neuron(nin) for _ in range(nout)]

    def __call__(self, x: list[Any]) -> Any:
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP:
    def __init__(self, nin: int, nouts: list[int]) -> None:
        sz = [nin, *nouts]
        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]


XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def lecture_loss(n: MLP) -> Value:
    ypred = [n(x) for x in XS]
    return sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred))  # type: ignore[return-value]


def test_lecture_mlp_manual_backward_equals_backward() -> None:
    random.seed(42)
    n = MLP(3, [4, 4, 1])
    loss = lecture_loss(n)
    manual_backward(loss)
    manual = [p.grad for p in n.parameters()]
    for p in n.parameters():
        p.grad = 0.0
    lecture_loss(n).backward()
    auto = [p.grad for p in n.parameters()]
    # the hand-written sort walks _prev (a set), so sums may add up in another order:
    # equal to rounding, relative to the size of the gradients
    scale = max(map(abs, auto))
    for g_manual, g_auto in zip(manual, auto):
        assert math.isclose(g_manual, g_auto, rel_tol=1e-12, abs_tol=1e-12 * scale)
    # and both are the derivative: central differences on a few parameters
    params = n.parameters()
    for i in (0, 7, len(params) - 1):
        x0, h = params[i].data, 1e-6
        params[i].data = x0 + h
        up = lecture_loss(n).data
        params[i].data = x0 - h
        down = lecture_loss(n).data
        params[i].data = x0
        assert math.isclose(auto[i], (up - down) / (2 * h), rel_tol=1e-6, abs_tol=1e-8)


def test_lecture_training_loop_lowers_the_loss() -> None:
    random.seed(42)
    n = MLP(3, [4, 4, 1])
    losses = []
    for _ in range(20):
        loss = lecture_loss(n)
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]
    preds = [n(x) for x in XS]
    assert all(isinstance(p, Value) for p in preds)
    assert [math.copysign(1.0, p.data) for p in preds] == YS
    assert draw_dot(preds[0], max_nodes=500).source.count("->") > 0


def test_backward_step_pushes_once_and_a_leaf_pushes_nothing() -> None:
    a = Value(3.0)
    a.grad = 5.0
    a._backward()  # a leaf: nothing to push into
    assert a.grad == 5.0
    a.grad = 0.0
    b = a + a  # the lecture's fan-out lesson: both uses count
    b.grad = 1.0
    b._backward()
    assert a.grad == 2.0
    c = a * a
    c.grad = 0.5
    c._backward()
    assert a.grad == 2.0 + 2 * 0.5 * 3.0


def test_trace_graph_notebook_runs_on_the_core_value() -> None:
    """micrograd's trace_graph notebook, unchanged but for the import: walk ``_prev``, name
    op nodes by ``str(id(n)) + n._op``, draw records with graphviz."""
    import graphviz

    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    nodes: set[Value] = set()
    edges: set[tuple[Value, Value]] = set()
    stack = [y]
    while stack:
        v = stack.pop()
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                stack.append(child)
    dot = graphviz.Digraph(graph_attr={"rankdir": "LR"})
    for n in nodes:
        dot.node(str(id(n)), label=f"{{ data {n.data:.4f} | grad {n.grad:.4f} }}",
                 shape="record")
        if n._op:
            dot.node(str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    assert len(nodes) == 6 and len(edges) == 5  # x, 2, x·2, 1, x·2 + 1, relu
    assert sorted(n._op for n in nodes) == ["", "", "", "*", "+", "ReLU"]
    assert sorted(n.data for n in nodes) == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert x.grad == 2.0 and "grad 2.0000" in dot.source
    # numbers written into the expression are constants: they receive no gradient here
    assert all(n.grad == 0.0 for n in nodes if n.is_constant)


def test_the_lecture_expression_reads_left_to_right_one_row_per_record() -> None:
    from test_render import lecture_expression
    from test_viz import need_dot, svg_texts_at

    L = lecture_expression()
    diagram = draw_dot(L)
    assert "rankdir=LR" in diagram.source
    need_dot()
    at = svg_texts_at(diagram.svg(renderer="dot"))
    for name, data, grad in [("a", "data 2", "grad 6"), ("L", "data -8", "grad 1")]:
        (x0, y0), (x1, y1), (x2, y2) = at[name], at[data], at[grad]
        assert y0 == y1 == y2 and x0 < x1 < x2  # label | data | grad in one row
    assert at["a"][0] < at["e"][0] < at["d"][0] < at["L"][0]  # a → e → d → L, left to right


def micrograd_lecture_loss() -> tuple[Any, Any, list[Any]]:
    """The lecture's loss on micrograd's own MLP (the micrograd-compatible package)."""
    from microgrid.micrograd.nn import MLP as MicrogradMLP

    random.seed(1)
    n = MicrogradMLP(3, [4, 4, 1])
    ypred = [n(x) for x in XS]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred))
    loss.backward()
    return n, loss, ypred


def test_the_lecture_mlp_from_the_micrograd_package_draws_its_neurons_from_the_model() -> None:
    import re

    from microgrid.viz import DiagramTooLargeError

    n, loss, ypred = micrograd_lecture_loss()
    with pytest.raises(DiagramTooLargeError, match=r"398 values.*params=model"):
        draw_dot(loss)  # the labels say nothing; the refusal says what to pass
    d = draw_dot(loss, params=n)
    boxes = re.findall(r'label="\{ (L\d\.N\d) \| data ([^ ]+) \| grad ([^ ]+) \}"', d.source)
    assert sorted({name for name, *_ in boxes}) == [
        *(f"L0.N{j}" for j in range(4)), *(f"L1.N{j}" for j in range(4)), "L2.N0"]
    assert len(boxes) == 36
    # the output neuron's boxes show the predictions and dloss/dpred = 2 (pred - y)
    out = sorted((data, grad) for name, data, grad in boxes if name == "L2.N0")
    assert out == sorted((format(p.data, ".4g"), format(2 * (p.data - y), ".4g"))
                         for p, y in zip(ypred, YS))
    # one example drawn in full: weights and biases blue, the inputs yellow
    one = draw_dot(ypred[0], params=n)
    params = {id(p) for p in n.parameters()}
    colours = dict(re.findall(r'label="\{ ([\w.]+) \| data [^"]*" fillcolor=(\w+)', one.source))
    assert colours["L0.N0.w0"] == colours["L2.N0.b"] == "lightblue"
    leaves = [v for v in loss_leaves(ypred[0]) if id(v) not in params]
    assert leaves and all(v.label == "" for v in leaves)
    inputs = re.findall(r'label="\{ v\d+ \| data [^"]*" fillcolor=(\w+)', one.source)
    assert inputs.count("lightyellow") == len(leaves) == 12  # 4 neurons x 3 inputs
    assert "lightblue" not in inputs


def loss_leaves(root: Any) -> list[Any]:
    from microgrid.graph import topological_order

    return [v for v in topological_order([root]) if v.is_leaf and not v.is_constant]


def test_the_lectures_own_mlp_class_names_its_parameters_too() -> None:
    random.seed(3)
    n = MLP(3, [4, 4, 1])
    loss = lecture_loss(n)
    loss.backward()
    d = draw_dot(loss, params=n)
    assert d.note is not None and "(36 boxes)" in d.note
