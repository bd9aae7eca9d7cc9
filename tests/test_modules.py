"""PyTorch-style modules: registration by attribute, dotted names, the cached parameter
list and when it is refreshed, structure_version, state_dict / load_state_dict."""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import pytest

from microgrid import Value
from microgrid.nn import MLP, Layer, Module, Neuron
from microgrid.optim import SGD


class Lin(Module):
    """y = b + Σ wᵢxᵢ, written by hand as a user would."""

    def __init__(self, nin: int, start: float = 0.0) -> None:
        self.w = [Value(start + 0.1 * i) for i in range(nin)]
        self.b = Value(start - 0.5)

    def __call__(self, x: list[Any]) -> Value:
        out = self.b
        for wi, xi in zip(self.w, x):
            out = out + wi * xi
        return out


class Net(Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = [Lin(2, 1.0), Lin(2, 2.0)]
        self.head = {"out": Lin(2, 3.0)}
        self.pair = (Value(7.0), Value(8.0))
        self.scale = Value(1.5)
        self._last = Value(99.0)  # private: never a parameter

    def __call__(self, x: list[Any]) -> Value:
        h = [layer(x).tanh() for layer in self.layers]
        out: Value = self.head["out"](h) * self.scale
        self._last = out
        return out


NET_NAMES = ["layers.0.w.0", "layers.0.w.1", "layers.0.b", "layers.1.w.0", "layers.1.w.1",
             "layers.1.b", "head.out.w.0", "head.out.w.1", "head.out.b", "pair.0", "pair.1",
             "scale"]


def test_attributes_are_registered_in_assignment_order_with_dotted_names() -> None:
    net = Net()
    assert [name for name, _ in net.named_parameters()] == NET_NAMES
    assert net.parameters()[0] is net.layers[0].w[0]
    assert net.parameters()[-1] is net.scale
    assert all(p is not net._last for p in net.parameters())


def test_super_init_is_optional_and_a_module_without_parameters_has_none() -> None:
    class NoSuper(Module):
        def __init__(self) -> None:
            self.w = Value(2.0)

    assert NoSuper().state_dict() == {"w": 2.0}
    assert Module().parameters() == []


def test_a_shared_parameter_is_listed_once_under_its_first_name() -> None:
    class Tied(Module):
        def __init__(self) -> None:
            self.a = Lin(2)
            self.b = Lin(2)
            self.b.w[1] = self.a.w[0]

    t = Tied()
    names = [n for n, _ in t.named_parameters()]
    assert names == ["a.w.0", "a.w.1", "a.b", "b.w.0", "b.b"]
    (t.a([1.0, 0.0]) + t.b([0.0, 1.0])).backward()
    assert t.a.w[0].grad == 2.0  # both uses reach the one Value


def test_builtins_keep_their_labels_as_names() -> None:
    model = MLP(2, [2, 1], seed=0)
    assert list(model.state_dict()) == [
        "L0.N0.w0", "L0.N0.w1", "L0.N0.b", "L0.N1.w0", "L0.N1.w1", "L0.N1.b",
        "L1.N0.w0", "L1.N0.w1", "L1.N0.b"]

    class Wrapper(Module):
        def __init__(self) -> None:
            self.mlp = MLP(1, [1], seed=0)
            self.extra = Value(0.25)

    assert list(Wrapper().state_dict()) == ["mlp.L0.N0.w0", "mlp.L0.N0.b", "extra"]
    assert list(Neuron(2, seed=0).state_dict()) == ["w0", "w1", "b"]
    assert list(Layer(1, 2, seed=0).state_dict()) == ["N0.w0", "N0.b", "N1.w0", "N1.b"]


def test_the_parameter_list_is_cached_and_a_copy() -> None:
    net = Net()
    first = net.parameters()
    first.clear()  # changing the returned list changes nothing inside
    assert len(net.parameters()) == len(NET_NAMES)
    version = net.structure_version
    for p in net.parameters():
        p.data += 1.0  # training changes numbers, not structure
        p.grad = 3.0
    assert net.structure_version == version
    net.zero_grad()
    assert all(p.grad == 0.0 for p in net.parameters())


@pytest.mark.parametrize("edit", [
    "assign", "replace_item", "append", "dict_set", "delete", "sub_attribute", "extend"])
def test_every_change_refreshes_the_cache_and_the_version(edit: str) -> None:
    net = Net()
    before, version = net.parameters(), net.structure_version
    new = Value(42.0)
    if edit == "assign":
        net.scale = new
    elif edit == "replace_item":
        net.layers[1].w[0] = new
    elif edit == "append":
        net.layers.append(Lin(1, 5.0))
        new = net.layers[-1].w[0]
    elif edit == "dict_set":
        net.head["other"] = Lin(1, 5.0)
        new = net.head["other"].w[0]
    elif edit == "delete":
        del net.scale
        new = net.pair[0]
    elif edit == "sub_attribute":
        net.head["out"].b = new
    else:
        net.layers[0].w.extend([new])
    after = net.parameters()
    assert net.structure_version != version
    assert any(p is new for p in after)
    assert after != before


def test_builtin_switches_change_the_version() -> None:
    model = MLP(2, [3, 1], seed=0)
    seen = {model.structure_version}
    model.layers[0].activation = "relu"
    seen.add(model.structure_version)
    model.fused = True
    seen.add(model.structure_version)
    model.layers[1].neurons[0].b = Value(1.0)
    seen.add(model.structure_version)
    assert len(seen) == 4
    assert model.activations == ["relu", "linear"]
    assert model([1.0, 2.0]).data == pytest.approx(1.0 + sum(
        w.data * max(0.0, n.b.data + n.w[0].data + 2 * n.w[1].data)
        for w, n in zip(model.layers[1].neurons[0].w, model.layers[0].neurons)), rel=1e-15)


def test_a_module_holding_its_parent_does_not_loop() -> None:
    net = Net()
    net.layers[0].owner = net  # a back reference: registered once, no endless walk
    assert [n for n, _ in net.named_parameters()] == NET_NAMES


def test_state_dict_round_trip_and_strictness() -> None:
    a, b = Net(), Net()
    for i, p in enumerate(a.parameters()):
        p.data = 0.5 * i - 1.0
    state = a.state_dict()
    assert list(state) == NET_NAMES and state["scale"] == 0.5 * 11 - 1.0
    assert b.load_state_dict(state) == ([], [])
    assert b.state_dict() == state
    assert b([0.3, -0.2]).data == a([0.3, -0.2]).data
    del state["scale"]
    state["bogus"] = 1.0
    with pytest.raises(ValueError, match=r"missing 'scale'; unexpected 'bogus'.*strict=False"):
        b.load_state_dict(state)
    result = b.load_state_dict(state, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["bogus"]


@pytest.mark.parametrize(("bad", "error", "match"), [
    (math.nan, ValueError, "finite"), (math.inf, ValueError, "finite"),
    ([1.0], TypeError, "must be a number"), ("1.0", TypeError, "must be a number"),
    (True, TypeError, "must be a number"), (None, TypeError, "must be a number")])
def test_load_state_dict_refuses_bad_values_and_changes_nothing(bad: Any, error: type,
                                                                match: str) -> None:
    net = Net()
    before = net.state_dict()
    state = {name: 9.0 for name in before}
    state["scale"] = bad
    with pytest.raises(error, match=rf"Net.load_state_dict: state_dict\['scale'\] .*{match}"):
        net.load_state_dict(state)
    assert net.state_dict() == before  # all or nothing
    with pytest.raises(TypeError, match="must be a dict"):
        net.load_state_dict([("scale", 1.0)])  # type: ignore[arg-type]


def test_a_micrograd_style_parameters_override_still_works() -> None:
    class Old(Module):
        def __init__(self) -> None:
            self.ws = [Value(1.0), Value(2.0)]

        def parameters(self) -> list[Value]:
            return self.ws[::-1]

    old = Old()
    assert old.state_dict() == {"0": 2.0, "1": 1.0}
    old.ws[0].grad = 5.0
    old.zero_grad()
    assert old.ws[0].grad == 0.0


def test_copies_and_pickles_are_independent_modules() -> None:
    model = MLP(2, [3, 1], seed=0)
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert twin.state_dict() == model.state_dict()
        assert all(p is not q for p, q in zip(twin.parameters(), model.parameters()))
        version = twin.structure_version
        twin.layers[0].activation = "relu"  # the copy's own cache and version follow
        assert twin.structure_version != version
        assert model.activations == ["tanh", "linear"]
        twin.layers.append(Layer(1, 1, seed=0))
        assert len(twin.parameters()) == len(model.parameters()) + 2


def test_an_optimizer_takes_a_module_and_names_one_without_parameters() -> None:
    net = Net()
    opt = SGD(net, lr=0.1)  # type: ignore[arg-type]
    assert opt.params == net.parameters()

    class Hollow(Module):
        def __init__(self) -> None:
            self._w = Value(1.0)

    with pytest.raises(ValueError, match="Hollow has no parameters: assign Values or Modules"):
        SGD(Hollow(), lr=0.1)  # type: ignore[arg-type]
