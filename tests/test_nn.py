"""Neuron, Layer, MLP: forward values, gradients, initialization, labels and bad input."""

from __future__ import annotations

import math
import random

import pytest

from microgrid import Value, gradcheck, topological_order
from microgrid.nn import ACTIVATIONS, MLP, Layer, Module, Neuron

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear"]


def reference_activation(name: str, z: float) -> float:
    return {"sigmoid": lambda: 1 / (1 + math.exp(-z)), "tanh": lambda: math.tanh(z),
            "relu": lambda: max(0.0, z), "leaky_relu": lambda: z if z > 0 else 0.01 * z,
            "softplus": lambda: math.log1p(math.exp(z)), "linear": lambda: z}[name]()


@pytest.mark.parametrize("act", ACTS)
def test_neuron_computes_act_of_weighted_sum(act: str) -> None:
    n = Neuron(3, act, weights=[0.5, -1.0, 2.0], bias=0.25)
    for x in ([1.0, 2.0, 3.0], [-1.0, 0.5, -0.75]):
        z = 0.25 + 0.5 * x[0] - 1.0 * x[1] + 2.0 * x[2]
        out = n(x)
        assert isinstance(out, Value)
        assert out.data == pytest.approx(reference_activation(act, z), rel=1e-12)


def test_activation_table_lists_the_six_names() -> None:
    assert sorted(ACTIVATIONS) == sorted(ACTS)


def test_one_output_is_a_bare_value_and_several_are_a_list() -> None:
    layer = Layer(2, 1, seed=0)
    out = layer([1.0, 2.0])
    n = layer.neurons[0]
    assert isinstance(out, Value)
    assert out.data == math.tanh(n.b.data + n.w[0].data * 1.0 + n.w[1].data * 2.0)
    assert isinstance(Layer(2, 2, seed=0)([1.0, 2.0]), list)
    model = MLP(2, [1], seed=0)
    assert isinstance(model([1.0, 2.0]), Value)
    y = model([1.0, 2.0])
    loss = (y - 1.0) ** 2  # micrograd style: no [0]
    loss.backward()
    assert model.parameters()[0].grad == pytest.approx(2 * (y.data - 1.0), rel=1e-15)  # x0 = 1


def test_a_hidden_layer_of_one_neuron_feeds_the_next_layer() -> None:
    model = MLP(2, [1, 1], seed=0)
    out = model([1.0, 2.0])
    assert isinstance(out, Value)
    h, o = model.layers[0].neurons[0], model.layers[1].neurons[0]
    hidden = math.tanh(h.b.data + h.w[0].data + 2.0 * h.w[1].data)
    assert out.data == o.b.data + o.w[0].data * hidden
    wide = MLP(2, [1, 3], seed=0)([0.5, -0.5])
    assert isinstance(wide, list) and len(wide) == 3


def test_mlp_output_sizes_and_parameter_count() -> None:
    model = MLP(3, [4, 4, 2], seed=1)
    assert len(model([1, 2, 3])) == 2
    assert len(model.parameters()) == (3 + 1) * 4 + (4 + 1) * 4 + (4 + 1) * 2
    assert model.sizes == [4, 4, 2]
    assert model.activations == ["tanh", "tanh", "linear"]
    assert model.output_activation == "linear"


def test_inputs_may_be_numbers_or_values_and_gradients_reach_input_values() -> None:
    model = MLP(2, [3, 1], seed=0)
    x = [Value(0.5, "x0"), 2]
    out = model(x)
    out.backward()
    assert x[0].grad != 0.0
    assert model([0.5, 2.0]).data == out.data


def test_mlp_matches_a_hand_written_forward_pass() -> None:
    model = MLP(2, [3, 2], activation="tanh", output_activation="sigmoid", seed=7)
    x = [0.3, -1.2]
    h = [math.tanh(n.b.data + sum(w.data * xi for w, xi in zip(n.w, x)))
         for n in model.layers[0].neurons]
    o = [1 / (1 + math.exp(-(n.b.data + sum(w.data * hi for w, hi in zip(n.w, h)))))
         for n in model.layers[1].neurons]
    assert [v.data for v in model(x)] == pytest.approx(o, rel=1e-14)


def test_labels_say_where_parameters_live() -> None:
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:3] == ["L0.N0.w0", "L0.N0.w1", "L0.N0.b"]
    assert "L0.N1.w0" in names and "L0.N1.b" in names and names[-1] == "L1.N0.b"
    for name, p in model.named_parameters():
        assert p.label == name
    assert [p.label for p in Neuron(2, seed=0).parameters()] == ["w0", "w1", "b"]
    assert [p.label for p in Layer(1, 2, seed=0).parameters()] == ["N0.w0", "N0.b",
                                                                    "N1.w0", "N1.b"]


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_fused_and_unfused_give_identical_values_and_gradients(act: str, seed: int) -> None:
    def run(fused: bool) -> tuple[list[float], list[float], list[float], int]:
        model = MLP(3, [4, 3, 2], activation=act, output_activation="tanh", seed=seed,
                    init="xavier", bias_init="uniform", fused=fused)
        x = [Value(v) for v in (0.7, -1.3, 2.1)]
        out = model(x)
        loss = out[0] * out[0] + out[1]
        loss.backward()
        return ([o.data for o in out], [p.grad for p in model.parameters()],
                [v.grad for v in x], len(topological_order(loss)))
    unfused, fused = run(False), run(True)
    assert fused[:3] == unfused[:3]  # bit for bit
    assert fused[3] < unfused[3]     # and far fewer nodes


def test_fused_flag_can_be_switched() -> None:
    model = MLP(2, [3, 1], seed=0)
    assert model.fused is False
    before = model([0.1, 0.2]).data
    model.fused = True
    assert all(n.fused for layer in model.layers for n in layer.neurons)
    out = model([0.1, 0.2])
    assert out.data == before
    assert any(node.op.name == "wsum" for node in topological_order(out))


def test_gradients_agree_with_finite_differences() -> None:
    shapes = [[(0.3, -0.7), (1.1, 0.4)], [(0.8, -0.5)]]
    flat = [w for layer in shapes for neuron in layer for w in neuron] + [0.1, -0.2, 0.05]

    def f(*ps: Value) -> Value:
        w = list(ps)
        model = MLP.from_weights([[w[0:2], w[2:4]], [w[4:6]]], [[w[6], w[7]], [w[8]]],
                                 activation="tanh", output_activation="sigmoid")
        return model([0.5, -1.5])

    assert gradcheck(f, flat, second_order=True)


def test_seeded_initialization_is_reproducible() -> None:
    a = [p.data for p in MLP(2, [4, 1], seed=3).parameters()]
    b = [p.data for p in MLP(2, [4, 1], seed=3).parameters()]
    c = [p.data for p in MLP(2, [4, 1], seed=4).parameters()]
    assert a == b and a != c
    assert [p.data for p in MLP(2, [4, 1]).parameters()] == [
        p.data for p in MLP(2, [4, 1], seed=0).parameters()]
    assert [p.data for p in Neuron(3, seed=5).parameters()] == [
        p.data for p in Neuron(3, rng=random.Random(5)).parameters()]


def test_initialization_does_not_touch_the_global_random_state() -> None:
    state = random.getstate()
    MLP(2, [8, 8, 1], seed=0, bias_init="uniform")
    assert random.getstate() == state


@pytest.mark.parametrize(("init", "bound"), [
    ("uniform", 0.12), ("xavier", math.sqrt(6 / (5 + 7))), ("he", math.sqrt(6 / 5))])
def test_initialization_bounds(init: str, bound: float) -> None:
    layer = Layer(5, 7, init=init, seed=0, bias_init="uniform")
    ws = [w.data for n in layer.neurons for w in n.w]
    bs = [n.b.data for n in layer.neurons]
    assert all(-bound <= v <= bound for v in ws + bs)
    assert max(abs(v) for v in ws) > 0.6 * bound  # spread over the interval
    assert all(b == 0.0 for b in (n.b.data for n in Layer(5, 7, init=init).neurons))


def test_uniform_epsilon_sets_the_interval() -> None:
    ws = [p.data for p in MLP(2, [16, 16], epsilon=1.0, seed=0).parameters()]
    assert max(ws) <= 1.0 and min(ws) >= -1.0 and max(abs(w) for w in ws) > 0.9
    assert all(p.data == 0.0 for p in MLP(2, [3], epsilon=0.0).parameters())


def test_from_weights_uses_given_values_and_shares_them() -> None:
    b = Value(0.5, "shared")
    w = [Value(0.1), Value(0.2, "mine")]
    model = MLP.from_weights([[w, [0.3, 0.4]]], [[b, b]], activation="tanh",
                             output_activation="linear")
    ps = model.parameters()
    assert ps.count(b) == 1 and len(ps) == 5
    assert model.layers[0].neurons[0].w[0] is w[0]
    assert w[0].label == "L0.N0.w0" and w[1].label == "mine"  # unlabelled Values get labels
    out = model([1.0, 1.0])
    (out[0] + out[1]).backward()
    assert b.grad == 2.0  # one contribution through each neuron


def test_from_weights_defaults_biases_to_zero_and_infers_sizes() -> None:
    model = MLP.from_weights([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[1.0, 1.0, 1.0]]])
    assert model.nin == 2 and model.sizes == [3, 1]
    assert [n.b.data for n in model.layers[0].neurons] == [0.0, 0.0, 0.0]
    assert model([1.0, 0.0]).data == pytest.approx(
        math.tanh(1) + math.tanh(3) + math.tanh(5))


def test_zero_grad_resets_parameter_gradients() -> None:
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_per_layer_activations() -> None:
    model = MLP(2, [3, 3, 1], activation=["relu", "sigmoid"], output_activation="tanh")
    assert model.activations == ["relu", "sigmoid", "tanh"]
    assert [layer.activation for layer in model.layers] == ["relu", "sigmoid", "tanh"]
    with pytest.raises(ValueError, match="2 hidden layers"):
        MLP(2, [3, 3, 1], activation=["relu"])


def test_module_base_class() -> None:
    m = Module()
    assert m.parameters() == [] and m.named_parameters() == []
    m.zero_grad()


def test_reprs() -> None:
    assert repr(MLP(2, [16, 16, 1])) == (
        "MLP(2, [16, 16, 1], activation='tanh', output_activation='linear')")
    assert repr(Layer(2, 3, "relu")) == "Layer(2, 3, activation='relu')"
    assert repr(Neuron(2, "sigmoid")) == "Neuron(2, activation='sigmoid')"


# -- bad input -------------------------------------------------------------------------


def test_wrong_number_of_inputs_is_named() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Layer expects 2 inputs, got 1"):
        Layer(2, 2)([1.0])
    with pytest.raises(ValueError, match="Neuron expects 3 inputs, got 2"):
        Neuron(3)([1.0, 2.0])


@pytest.mark.parametrize("bad", [1.0, Value(1.0), "ab", None])
def test_input_must_be_a_list(bad: object) -> None:
    with pytest.raises(TypeError, match="expects a list of 2 inputs"):
        MLP(2, [1])(bad)  # type: ignore[arg-type]


def test_non_numeric_input_is_refused() -> None:
    with pytest.raises(TypeError):
        MLP(2, [1])([1.0, "x"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        MLP(2, [1], fused=True)([1.0, None])  # type: ignore[list-item]


def test_unknown_activation_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'softmax'.*'tanh'"):
        MLP(2, [3, 1], activation="softmax")
    with pytest.raises(ValueError, match="unknown output_activation 'Sigmoid'"):
        MLP(2, [3, 1], output_activation="Sigmoid")
    with pytest.raises(ValueError, match="unknown activation"):
        Neuron(2, "gelu")
    with pytest.raises(TypeError, match="activation must be a str"):
        Neuron(2, None)  # type: ignore[arg-type]


def test_unknown_init_is_named() -> None:
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        MLP(2, [1], init="glorot")
    with pytest.raises(ValueError, match="unknown bias_init 'random'"):
        MLP(2, [1], bias_init="random")
    with pytest.raises(ValueError, match="epsilon"):
        MLP(2, [1], epsilon=-0.1)


@pytest.mark.parametrize(("args", "error", "match"), [
    ((0, [1]), ValueError, "nin must be at least 1"),
    ((2.0, [1]), TypeError, "nin must be an int"),
    ((2, []), TypeError, "sizes must be a non-empty list"),
    ((2, 3), TypeError, "sizes must be a non-empty list"),
    ((2, [3, 0]), ValueError, r"sizes\[1\] must be at least 1"),
    ((2, [True]), TypeError, r"sizes\[0\] must be an int"),
])
def test_bad_shapes(args: tuple[object, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        MLP(*args)  # type: ignore[arg-type]


def test_from_weights_checks_shapes() -> None:
    with pytest.raises(ValueError, match=r"Neuron L1\.N0: 3 weights given for 2 inputs"):
        MLP.from_weights([[[1.0], [2.0]], [[1.0, 2.0, 3.0]]])
    with pytest.raises(ValueError, match="Layer L0: 1 biases given for 2 neurons"):
        MLP.from_weights([[[1.0], [2.0]]], [[0.0]])
    with pytest.raises(ValueError, match="non-empty"):
        MLP.from_weights([])
    with pytest.raises(ValueError, match="must be finite"):
        MLP.from_weights([[[math.nan]]])
    with pytest.raises(TypeError, match="weight 0"):
        MLP.from_weights([[["0.5"]]])  # type: ignore[list-item]
