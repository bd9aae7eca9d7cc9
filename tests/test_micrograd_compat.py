"""microgrid.micrograd side by side with micrograd 0.1.0: same numbers, same networks.

micrograd runs next to the compat package on the same inputs; forward values must be
bit-identical. Gradients are compared to a few units in the last place: micrograd keeps a
node's operands in a ``set``, whose iteration order follows memory addresses, so the order in
which it sums a node's incoming gradients — and with it the last bit — changes from one run of
the same expression to the next. mpmath (50 digits) is the independent oracle for every
derivative.
"""

from __future__ import annotations

import math
import operator
import os
import random
import re
from collections.abc import Callable
from typing import Any

import bench_modules
import mpmath
import numpy as np
import pytest

from microgrid.micrograd import MLP, Layer, Module, Neuron, Value
from microgrid.micrograd import engine as compat_engine

_demo = bench_modules.load("micrograd_demo")  # micrograd's demo.ipynb: its data and step
demo_step, moons = _demo.demo_step, _demo.moons

try:
    import micrograd.engine as mg_engine
    import micrograd.nn as mg_nn
except ImportError:  # pragma: no cover - micrograd is a dev dependency
    if os.environ.get("CI"):
        raise
    mg_engine = mg_nn = None

needs_micrograd = pytest.mark.skipif(
    mg_engine is None, reason="micrograd 0.1.0 is not installed (pip install micrograd==0.1.0)")

REL = 1e-12  # gradients: a few units in the last place (see the module docstring)


def close(x: float, y: float, rel: float = REL, scale: float = 0.0) -> bool:
    """x ≈ y to ``rel`` relative, or to ``rel · scale`` absolute: a sum that cancels to about
    zero keeps only rounding noise of the size of its terms (``scale``)."""
    return math.isclose(x, y, rel_tol=rel, abs_tol=max(rel * scale, 1e-300))


# ----------------------------------------------------------------------------------
# The expressions of micrograd's README and test/test_engine.py, for any Value class.
# ----------------------------------------------------------------------------------

def readme_expression(V: Any) -> dict[str, Any]:
    """micrograd's README example: the named intermediate nodes, after backward()."""
    a, b = V(-4.0), V(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g}


def sanity_expression(V: Any) -> dict[str, Any]:
    """The sanity-check case of micrograd's test_engine.py."""
    x = V(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return {"x": x, "z": z, "q": q, "h": h, "y": y}


def mp_relu(x: Any) -> Any:
    return x if x > 0 else mpmath.mpf(0)


def readme_mp(a: Any, b: Any) -> Any:
    c = a + b
    d = a * b + b ** 3
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + mp_relu(b + a))
    d = d + (3 * d + mp_relu(b - a))
    f = (c - d) ** 2
    return f / 2 + 10 / f


def sanity_mp(x: Any) -> Any:
    z = 2 * x + 2 + x
    q = mp_relu(z) + z * x
    return mp_relu(z * z) + q + q * x


EXPRESSIONS = [readme_expression, sanity_expression]


@needs_micrograd
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_every_named_node_has_micrograds_data_and_grad(
        expression: Callable[[Any], dict[str, Any]]) -> None:
    ours, theirs = expression(Value), expression(mg_engine.Value)
    scale = max(abs(node.grad) for node in ours.values())
    for name, node in ours.items():
        assert node.data == theirs[name].data, name  # forward: bit-identical
        assert close(node.grad, theirs[name].grad, scale=scale), (name, node.grad)


@needs_micrograd
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_the_whole_graph_matches_micrograds_node_for_node(
        expression: Callable[[Any], dict[str, Any]]) -> None:
    """Walk both graphs through ``_prev`` as micrograd's trace_graph notebook does and compare
    every node: op string, number of operands, data and grad."""

    def trace(root: Any) -> list[tuple[str, int, float, float]]:
        seen, stack, rows = set(), [root], []
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            rows.append((node._op, len(node._prev), node.data, node.grad))
            stack.extend(node._prev)
        return sorted(rows, key=lambda r: (r[0], r[1], r[2], r[3]))

    ours = trace(list(expression(Value).values())[-1])
    theirs = trace(list(expression(mg_engine.Value).values())[-1])
    assert len(ours) == len(theirs)
    scale = max(abs(row[3]) for row in ours)
    for o, t in zip(ours, theirs):
        assert o[:3] == t[:3], (o, t)
        assert close(o[3], t[3], scale=scale), (o, t)


def test_readme_numbers_and_mpmath_derivatives() -> None:
    out = readme_expression(Value)
    # the output micrograd's README prints
    assert f"{out['g'].data:.4f}" == "24.7041"
    assert f"{out['a'].grad:.4f}" == "138.8338"
    assert f"{out['b'].grad:.4f}" == "645.5773"
    with mpmath.workdps(50):
        a0, b0 = mpmath.mpf(-4), mpmath.mpf(2)
        assert close(out["g"].data, float(readme_mp(a0, b0)), 1e-15)
        da = mpmath.diff(lambda a: readme_mp(a, b0), a0)
        db = mpmath.diff(lambda b: readme_mp(a0, b), b0)
    assert close(out["a"].grad, float(da), 1e-13)
    assert close(out["b"].grad, float(db), 1e-13)


def test_sanity_case_against_mpmath() -> None:
    out = sanity_expression(Value)
    with mpmath.workdps(50):
        x0 = mpmath.mpf(-4)
        assert out["y"].data == float(sanity_mp(x0))
        dx = mpmath.diff(sanity_mp, x0)
    assert close(out["x"].grad, float(dx), 1e-13)
    assert out["x"].grad == 46.0


@needs_micrograd
def test_op_strings_and_operand_sets_are_micrograds() -> None:
    for V in (Value, mg_engine.Value):
        x = V(3.0)
        nodes = {"leaf": x, "add": x + 1, "mul": x * x, "pow": x ** 2, "powf": x ** -1.5,
                 "pow2f": x ** 2.0, "neg": -x, "sub": x - 2, "rsub": 5 - x, "div": x / 4,
                 "vdiv": x / (x + 1), "rdiv": 2 / x, "relu": x.relu()}
        if V is Value:
            ours = nodes
        else:
            theirs = nodes
    for name, node in ours.items():
        assert node._op == theirs[name]._op, name
        assert len(node._prev) == len(theirs[name]._prev), name
        assert sorted(p.data for p in node._prev) == sorted(p.data for p in theirs[name]._prev)
        assert node.data == theirs[name].data, name
    assert (ours["pow"]._op, ours["pow2f"]._op, ours["powf"]._op) == ("**2", "**2.0", "**-1.5")


@needs_micrograd
def test_repr_is_micrograds_format() -> None:
    ours, theirs = Value(2.5), mg_engine.Value(2.5)
    ours.grad = theirs.grad = -0.75
    assert repr(ours) == repr(theirs) == "Value(data=2.5, grad=-0.75)"
    assert repr(Value(0)) == "Value(data=0.0, grad=0.0)"  # ints are kept as floats (docs)
    assert repr(Value(0.1 + 0.2, label="s")) == "Value(data=0.30000000000000004, grad=0.0)"


@needs_micrograd
def test_repr_after_the_lectures_backward_is_micrograds_text() -> None:
    def lecture(V: Any) -> list[Any]:
        a, b, c, f = V(2.0), V(-3.0), V(10.0), V(-2.0)
        e = a * b
        d = e + c
        L = d * f
        return [a, b, c, f, e, d, L]
    ours, theirs = lecture(Value), lecture(mg_engine.Value)
    ours[-1].backward()
    theirs[-1].backward()
    assert [repr(v) for v in ours[:-1]] == [repr(v) for v in theirs[:-1]]
    assert repr(ours[1]) == "Value(data=-3.0, grad=-4.0)"
    assert repr(ours[-1]) == "Value(data=-8.0, grad=1.0)"  # micrograd's int 1 is 1.0 here


# ----------------------------------------------------------------------------------
# Networks: same seed, same network; the demo's training loop.
# ----------------------------------------------------------------------------------

@needs_micrograd
@pytest.mark.parametrize("nin, nouts", [(2, [16, 16, 1]), (3, [4, 4, 1]), (5, [3, 2])])
def test_same_seed_gives_the_same_network(nin: int, nouts: list[int]) -> None:
    random.seed(1337)
    theirs = mg_nn.MLP(nin, nouts)
    after_theirs = random.random()
    random.seed(1337)
    ours = MLP(nin, nouts)
    assert random.random() == after_theirs  # the same number of draws
    assert repr(ours) == repr(theirs)
    assert [str(layer) for layer in ours.layers] == [str(layer) for layer in theirs.layers]
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert len(ours.parameters()) == sum((a + 1) * b for a, b in zip([nin, *nouts], nouts))
    x = [0.5, -1.25, 2.0, 0.75, -0.1][:nin]
    out_ours, out_theirs = ours(x), theirs(x)
    if isinstance(out_theirs, list):
        assert [v.data for v in out_ours] == [v.data for v in out_theirs]  # type: ignore[union-attr]
    else:
        assert isinstance(out_ours, Value) and out_ours.data == out_theirs.data


@needs_micrograd
def test_neuron_and_layer_reprs_signatures_and_defaults() -> None:
    random.seed(7)
    n_theirs, l_theirs = mg_nn.Neuron(3), mg_nn.Layer(2, 3, nonlin=False)
    random.seed(7)
    n_ours, l_ours = Neuron(3), Layer(2, 3, nonlin=False)
    assert (repr(n_ours), repr(l_ours)) == (repr(n_theirs), repr(l_theirs))
    assert repr(n_ours) == "ReLUNeuron(3)"
    assert repr(l_ours) == "Layer of [LinearNeuron(2), LinearNeuron(2), LinearNeuron(2)]"
    assert n_ours.b.data == 0.0 and n_ours.nonlin is True
    assert [w.data for w in n_ours.w] == [w.data for w in n_theirs.w]
    assert Module().parameters() == []
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)  # one neuron: a bare Value


@pytest.mark.slow
@needs_micrograd
def test_demo_training_loop_gives_micrograds_losses_and_accuracies() -> None:
    X, y = moons()
    X, y = X[:25], y[:25]  # a quarter of the demo's points keeps the test short
    random.seed(1337)
    theirs = mg_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    for k in range(3):
        loss_t, acc_t = demo_step(mg_engine.Value, theirs, X, y, k)
        loss_o, acc_o = demo_step(Value, ours, X, y, k)
        if k == 0:  # the first loss is a forward pass from identical weights
            assert loss_o == loss_t
        assert close(loss_o, loss_t, 1e-12) and acc_o == acc_t
        for p, q in zip(ours.parameters(), theirs.parameters()):
            assert close(p.data, q.data, 1e-12, scale=1.0)  # weights are of order 1
    assert 0.0 < loss_o < 10.0 and 0.5 <= acc_o <= 1.0


@pytest.mark.slow
def test_the_demo_notebook_prints_its_published_lines() -> None:
    """The first lines micrograd's demo.ipynb prints (its saved output), with only the
    imports changed: the data, the network and the loop are the notebook's."""
    published = [(0.8958441028683222, "50.0"), (1.7235905336972022, "81.0"),
                 (0.7429006313851131, "77.0")]
    X, y = moons()
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    for k, (loss, acc) in enumerate(published):
        got_loss, got_acc = demo_step(Value, model, X, y, k)
        if k == 0:  # a forward pass: the very same digits
            assert f"step {k} loss {got_loss}, accuracy {got_acc * 100}%" == \
                f"step 0 loss {loss}, accuracy {acc}%"
        assert close(got_loss, loss, 1e-14) and f"{got_acc * 100}" == acc


def test_demo_step_gradients_match_finite_differences() -> None:
    """The demo loss's gradient for a few parameters, against central differences in mpmath
    precision of the same loss evaluated on floats (the relu kinks are far from every point)."""
    X, y = moons(n=12, seed=3)
    random.seed(5)
    model = MLP(2, [4, 4, 1])

    def loss_at() -> Value:
        scores = [model(list(map(Value, row))) for row in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(X))
        return data_loss + 1e-4 * sum(p * p for p in model.parameters())  # type: ignore

    total = loss_at()
    model.zero_grad()
    total.backward()
    params = model.parameters()
    for i in (0, 5, 13, len(params) - 1):
        p, h, x0 = params[i], 1e-6, params[i].data
        p.data = x0 + h
        up = loss_at().data
        p.data = x0 - h
        down = loss_at().data
        p.data = x0
        assert math.isclose(p.grad, (up - down) / (2 * h), rel_tol=1e-6, abs_tol=1e-9), i


# ----------------------------------------------------------------------------------
# What microgrid adds under micrograd's API.
# ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_chain_100000_deep_back_propagates() -> None:
    x = Value(0.5)
    v = x
    for _ in range(50_000):  # 100,000 nodes deep
        v = v * 1.00001 + 0.25
    v.backward()
    assert math.isclose(x.grad, 1.00001 ** 50_000, rel_tol=1e-9)


def test_one_neuron_hidden_layer_feeds_the_next_layer() -> None:
    random.seed(3)
    model = MLP(2, [1, 3, 1])
    x = [0.7, -0.4]
    out = model(x)
    assert isinstance(out, Value)
    (h_neuron,), layer2, (o_neuron,) = (layer.neurons for layer in model.layers)
    h = max(0.0, h_neuron.b.data + sum(w.data * xi for w, xi in zip(h_neuron.w, x)))
    hidden = [max(0.0, n.b.data + n.w[0].data * h) for n in layer2]
    expected = o_neuron.b.data + sum(w.data * z for w, z in zip(o_neuron.w, hidden))
    assert math.isclose(out.data, expected, rel_tol=1e-15)
    if mg_engine is not None:  # micrograd itself cannot run this network
        random.seed(3)
        with pytest.raises(TypeError):
            mg_nn.MLP(2, [1, 3, 1])(x)


def test_a_node_of_your_own_with_its_own_backward() -> None:
    """The lecture's way to add an op: Value(data, (operands,), 'op') and a _backward closure."""

    def tanh(self: Any) -> Any:
        t = math.tanh(self.data)
        out = type(self)(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    results = []
    classes = [Value] if mg_engine is None else [Value, mg_engine.Value]
    for V in classes:
        x, w = V(0.3), V(-1.7)
        inner = x * w + 0.5
        t = tanh(inner)
        o = t * x
        o.backward()
        results.append((o.data, x.grad, w.grad))
        assert (t._op, t._prev) == ("tanh", {inner})
    ours = results[0]
    with mpmath.workdps(50):
        def f(x: Any, w: Any) -> Any:
            return mpmath.tanh(x * w + mpmath.mpf("0.5")) * x
        x0, w0 = mpmath.mpf(0.3), mpmath.mpf(-1.7)
        dx = mpmath.diff(lambda x: f(x, w0), x0)
        dw = mpmath.diff(lambda w: f(x0, w), w0)
    # x·w + 0.5 cancels (−0.51 + 0.5): the float result keeps rounding noise of the size of
    # its terms (0.51), so the bound is relative to them, not to the tiny result
    assert close(ours[0], float(f(x0, w0)), 1e-15, scale=0.51)
    assert close(ours[1], float(dx), 1e-14) and close(ours[2], float(dw), 1e-14)
    if len(results) == 2:
        assert ours[0] == results[1][0]
        assert close(ours[1], results[1][1]) and close(ours[2], results[1][2])


def test_second_backward_accumulates_leaves_and_never_doubles_interior_nodes() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    out = c + a
    out.backward()
    out.backward()
    assert (a.grad, b.grad) == (2 * (-3.0 + 1.0), 2 * 2.0)  # leaves accumulate
    assert c.grad == 1.0  # interior nodes hold the latest backward only


def test_zero_grad_and_parameter_order() -> None:
    random.seed(0)
    model = MLP(3, [2, 1])
    out = model([1.0, 2.0, 3.0])
    assert isinstance(out, Value)
    (out * out).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    n0 = model.layers[0].neurons[0]
    assert model.parameters()[:4] == [*n0.w, n0.b]


@pytest.mark.parametrize("make, error, words", [
    (lambda: Value(float("nan")), ValueError, "finite"),
    (lambda: Value("1.0"), TypeError, "real number"),
    (lambda: Value(True), TypeError, "bool"),
    (lambda: Value(1.0) / 0, ZeroDivisionError, "div"),
    (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, "0.0"),
    (lambda: Value(1.0) / "2", TypeError, "divisor"),
    (lambda: Value(1.0) - True, TypeError, "sub"),
    (lambda: Value(1.0) + None, TypeError, "real number"),
    (lambda: Value(1e200) * 1e200, OverflowError, "mul"),
    (lambda: Value(-8.0) ** 0.5, ValueError, "negative base"),
    (lambda: Value(1.0, (2.0,), "+"), TypeError, "_children"),
    (lambda: Neuron(3)([1.0, 2.0]), ValueError, "2 entries"),
    (lambda: Neuron(0), ValueError, "nin"),
    (lambda: Layer(2, 2.5), TypeError, "nout"),
    (lambda: MLP(2, []), ValueError, "at least one"),
    (lambda: MLP(2, 16), TypeError, "nouts"),
])
def test_bad_input_is_a_clear_error(make: Callable[[], Any], error: type[Exception],
                                    words: str) -> None:
    with pytest.raises(error, match=words):
        make()


def test_numbers_of_other_types_and_numpy_divisors() -> None:
    x = Value(3.0)
    assert (x / np.int64(4)).data == 3.0 * 4.0 ** -1
    assert (x / np.float64(4.0)).data == 3.0 * np.float64(4.0) ** -1
    assert (x * np.int64(2)).data == 6.0
    assert compat_engine.Value is Value


def test_own_nodes_are_drawn_with_their_op_and_differentiated_by_grad_on_numbers() -> None:
    import microgrid
    from microgrid import draw_dot

    x = Value(0.5, label="x")
    out = Value(x.data ** 3, (x,), "cube")

    def _backward() -> None:
        x.grad += 3 * x.data ** 2 * out.grad
    out._backward = _backward
    y = out * 2
    y.backward()
    assert x.grad == 6 * 0.5 ** 2 and out._op == "cube" and out._prev == {x}
    assert "op [label=cube " in draw_dot(y).source
    assert list(microgrid.grad(y, [x])) == [6 * 0.5 ** 2] and x.grad == 6 * 0.5 ** 2  # kept
    h = 1e-6
    assert microgrid.grad(y, [x])[0] == pytest.approx(
        (2 * (0.5 + h) ** 3 - 2 * (0.5 - h) ** 3) / (2 * h), rel=1e-9)  # finite differences
    with pytest.raises(TypeError, match="_backward"):
        microgrid.grad(y, [x], create_graph=True)  # its rule exists on numbers only


def test_an_own_node_changes_nothing_for_other_graphs() -> None:
    class Node(Value):  # no __slots__: its op nodes take any attribute, _backward too
        pass

    def product_grads() -> tuple[float, float]:
        a, b = Node(2.0), Node(3.0)
        out = a * b
        out._backward = lambda: None  # an op node's rule is the op table's, always
        out.backward()
        return a.grad, b.grad

    before = product_grads()
    own = Value(1.0, (Value(2.0),), "mine")  # a node of your own, somewhere else
    assert product_grads() == before == (3.0, 2.0) and own._op == "mine"


def test_core_values_mix_in_and_labels_are_kept() -> None:
    import microgrid

    core = microgrid.Value(2.0, label="core")
    x = Value(3.0, label="x")
    y = core * x + x
    y.backward()
    assert isinstance(y, Value) and x.label == "x"
    assert (y.data, x.grad, core.grad) == (9.0, 3.0, 3.0)


def test_an_iterator_input_reaches_every_neuron() -> None:
    random.seed(11)
    layer = Layer(2, 3)
    from_list = layer([0.5, -2.0])
    from_iterator = layer(Value(v) for v in (0.5, -2.0))
    assert [v.data for v in from_iterator] == [v.data for v in from_list]  # type: ignore[union-attr]


def test_a_non_finite_gradient_from_an_own_node_is_an_error() -> None:
    x = Value(2.0)
    out = Value(x.data, (x,), "spike")

    def _backward() -> None:
        x.grad += math.inf * out.grad
    out._backward = _backward
    with pytest.raises(ValueError, match=r"Value\(data=2.0, grad=0.0\): grad must be finite"):
        (out * 3).backward()  # refused where the own node's _backward assigns it
    assert x.grad == 0.0


def test_op_nodes_have_fixed_slots_and_own_nodes_take_attributes() -> None:
    x = Value(1.0)
    y = x * 2
    with pytest.raises(AttributeError):
        y.note = "no"  # type: ignore[attr-defined]
    own = Value(3.0, [x], "id")
    own.note = "yes"  # type: ignore[attr-defined]
    assert isinstance(own, Value) and own._prev == {x} and own.note == "yes"  # type: ignore
    assert type(own * 2) is type(own)  # ops keep the operand's class, as the engine does


def trace_graph_labels(root: Any) -> list[str]:
    """What micrograd's trace_graph notebook draws for ``root``: a record per node
    (``data %.4f | grad %.4f``), an op node per ``_op``, an edge per operand — built with
    graphviz from ``_prev`` and ``_op`` alone, then the labels and the edge count."""
    import graphviz

    dot = graphviz.Digraph(graph_attr={"rankdir": "LR"})
    seen: set[Any] = set()
    stack, edges = [root], 0
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        dot.node(str(id(node)), label=f"{{ data {node.data:.4f} | grad {node.grad:.4f} }}",
                 shape="record")
        if node._op:
            dot.node(str(id(node)) + node._op, label=node._op)
            dot.edge(str(id(node)) + node._op, str(id(node)))
        for child in node._prev:
            dot.edge(str(id(child)), str(id(node)) + node._op)
            edges += 1
            stack.append(child)
    labels = [m.group(2) or m.group(3) for line in dot.body
              if (m := re.search(r'label=("([^"]*)"|([^\s\]]+))', line))]
    return [*sorted(labels), f"{edges} edges"]


def trace_graph_examples(V: Any, nn: Any) -> list[list[str]]:
    """The notebook's two examples: (x·2 + 1).relu() and a 2-input neuron after seed 1337."""
    x = V(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    random.seed(1337)
    neuron = nn.Neuron(2)
    out = neuron([V(1.0), V(-2.0)])
    out.backward()
    return [trace_graph_labels(y), trace_graph_labels(out)]


@needs_micrograd
def test_trace_graph_notebook_draws_the_same_pictures() -> None:
    from microgrid.micrograd import nn as compat_nn

    ours = trace_graph_examples(Value, compat_nn)
    theirs = trace_graph_examples(mg_engine.Value, mg_nn)
    assert ours == theirs
    assert ours[0][:3] == ["*", "+", "ReLU"] and ours[0][-1] == "5 edges"
    assert "{ data 1.0000 | grad 2.0000 }" in ours[0]  # x: d/dx relu(2x + 1) = 2
    assert ours[1][-1] == "9 edges"  # two products, two sums, one ReLU


@needs_micrograd
@pytest.mark.parametrize("use", [float, int, round, math.exp, math.log, math.tanh,
                                 operator.index, math.floor],
                         ids=["float", "int", "round", "math.exp", "math.log", "math.tanh",
                              "operator.index", "math.floor"])
def test_a_value_used_as_a_plain_number_is_a_type_error_as_in_micrograd(
        use: Callable[[Any], object]) -> None:
    with pytest.raises(TypeError):
        use(mg_engine.Value(1.0))  # micrograd has no __float__, __int__ or __round__
    x = Value(1.0, label="x")
    with pytest.raises(TypeError, match=r"Value 'x' is not an? (float|integer).*x\.data"):
        use(x)


def test_math_exp_of_a_value_cannot_lose_its_gradient() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        math.exp(x) * x  # type: ignore[call-overload]
    y = x.exp() * x
    y.backward()
    assert close(x.grad, 2 * math.e, 1e-15)  # d/dx x·eˣ = (1 + x)·eˣ = 2e at x = 1


def test_the_lectures_manual_update_refuses_a_non_finite_number_naming_the_parameter() -> None:
    w = Value(0.5, label="w")
    with pytest.raises(ValueError, match=r"Value 'w': grad must be finite, got nan"):
        w.grad = math.nan
    w.grad = 1e308
    with pytest.raises(ValueError, match=r"Value 'w': data must be finite, got -inf"):
        w.data -= 1e10 * w.grad  # p.data -= lr * p.grad, diverging
    assert (w.data, w.grad) == (0.5, 1e308)
    with pytest.raises(TypeError, match=r"Value 'w': data must be a real number.*str"):
        w.data = "3"
