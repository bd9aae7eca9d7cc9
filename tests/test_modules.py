"""PyTorch-style modules: registration by attribute, dotted names, the cached parameter
list and when it is refreshed, structure_version, state_dict / load_state_dict."""

from __future__ import annotations

import copy
import enum
import math
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- names are unique: every parameter has its own state_dict entry (issue 21, item 2) -----


class Holder(Module):
    """A module whose attributes are given from outside."""

    def __init__(self, **attrs: Any) -> None:
        for name, value in attrs.items():
            setattr(self, name, value)


def test_an_int_key_beside_its_str_twin_is_refused_naming_both_keys() -> None:
    h = Holder()
    with pytest.raises(TypeError, match=r"Holder: the key 1 of self\.p is an int, but "
                                        r"parameter names are text: it and self\.p\['1'\] "
                                        r"would share one name"):
        h.p = {1: Value(6.0), "1": Value(8.0)}
    assert not hasattr(h, "p") and h.parameters() == []  # refused: nothing registered
    with pytest.raises(TypeError, match=r"the key 1 of self\.p is an int.*use the str key "
                                        r"'1' \(or a list\)"):
        h.p = {1: Value(6.0)}
    with pytest.raises(TypeError, match=r"the key \(0, 1\) of self\.p\[0\] is a tuple"):
        h.p = [{(0, 1): [Value(1.0)]}]


def test_a_dotted_key_that_reads_as_a_nested_one_is_refused_naming_both() -> None:
    h = Holder(keep=Value(1.0))
    version = h.structure_version
    with pytest.raises(ValueError, match=r"Holder: the key 'x\.y' of self\.q contains '\.', "
                                         r"which joins the parts of a parameter name \(it "
                                         r"would also name self\.q\['x'\]\['y'\]\)"):
        h.q = {"x.y": Value(6.0), "x": {"y": Value(8.0)}}
    with pytest.raises(ValueError, match=r"the key '' of self\.q\['a'\] is empty"):
        h.q = {"a": {"": Value(1.0)}}
    with pytest.raises(ValueError, match=r"the attribute name 'x\.y' contains '\.'.*"
                                         r"self\.x\.y"):
        setattr(h, "x.y", Value(6.0))
    assert h.state_dict() == {"keep": 1.0} and h.structure_version == version


def test_a_str_enum_key_is_named_by_its_text_not_by_its_dotted_str() -> None:
    class Part(str, enum.Enum):
        HEAD = "head"

    assert str(Part.HEAD) == "Part.HEAD"  # a name built from this would read as two parts
    h = Holder(p={Part.HEAD: Value(2.0)})
    assert h.state_dict() == {"p.head": 2.0}
    assert h.load_state_dict({"p.head": 5.0}) == ([], []) and h.p[Part.HEAD].data == 5.0


def test_keys_that_name_no_parameter_are_free() -> None:
    h = Holder(cfg={1: "one", 0.5: [2.0], "a.b": {"c": None}}, w={"x": Value(2.0)})
    setattr(h, "dotted.name", 3.0)  # no parameter in it: never part of a name
    assert h.state_dict() == {"w.x": 2.0}


@pytest.mark.parametrize("edit", [
    "d[1] = Value(2.0)", "d.update({'a.b': Value(2.0)})", "d |= {'': [Value(2.0)]}",
    "d.setdefault(2, Value(2.0))", "d.update(x={3: Value(2.0)})",
    "d['inner'][4] = Value(2.0)"])
def test_adding_a_key_that_cannot_name_a_parameter_is_refused_and_changes_nothing(
        edit: str) -> None:
    h = Holder(d={"ok": Value(1.0), "inner": {"y": Value(3.0)}})
    before, version = dict(h.d), h.structure_version
    with pytest.raises((TypeError, ValueError), match=r"Holder: the key .* of self\.d"):
        exec(edit, {"Value": Value}, {"d": h.d})
    assert h.d == before and h.d["inner"] == {"y": h.d["inner"]["y"]}
    assert h.structure_version == version
    assert h.state_dict() == {"d.ok": 1.0, "d.inner.y": 3.0}


def test_a_bad_key_that_gains_a_parameter_later_is_refused_when_the_names_are_read() -> None:
    h = Holder(d={1: []})   # no parameter under the key 1 yet: accepted
    h.d[1].append(Value(2.0))
    with pytest.raises(TypeError, match=r"Holder: the key 1 of self\.d is an int"):
        h.named_parameters()
    with pytest.raises(TypeError, match=r"the key 1 of self\.d is an int"):
        h.state_dict()
    sneaky = Holder()
    sneaky.__dict__["p"] = {1: Value(6.0), "1": Value(8.0)}  # around __setattr__
    outer = Holder(inner=sneaky)
    with pytest.raises(TypeError, match=r"Holder: the key 1 of self\.inner\.p is an int.*"
                                        r"self\.inner\.p\['1'\]"):
        outer.state_dict()


def test_a_naming_pattern_that_makes_two_parameters_share_a_name_is_refused() -> None:
    class Gained(Neuron):
        def __init__(self) -> None:
            super().__init__(2, seed=0)
            self.w0 = Value(9.0)  # the name the pattern gives self.w[0]

    with pytest.raises(ValueError, match=r"Gained: two parameters would have the name 'w0' "
                                         r"\(self\.w\[0\] and self\.w0\), so a saved state "
                                         r"would keep only one"):
        Gained().state_dict()

    class Wide(MLP):
        def __init__(self) -> None:
            super().__init__(1, [1], seed=0)
            self.extra = {"L0": Neuron(1, seed=0)}   # names 'extra.L0...', no clash
    assert len(Wide().state_dict()) == len(Wide().parameters()) == 4


# Random nested containers: either refused (by the rule, computed here independently) or
# named one entry per parameter, each at its path, and restored exactly by a load.
KEYS = st.sampled_from(["a", "b", "1", "a.b", "", 1, 0, True, 0.5, ("a",)])
LEAVES = st.one_of(st.floats(-4, 4).map(Value), st.just(3.0), st.just("text"), st.none())


def _containers(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(leaves, max_size=3), st.tuples(leaves, leaves),
                     st.dictionaries(KEYS, leaves, max_size=3))


STRUCTURES = st.dictionaries(st.sampled_from(["p", "q", "r.s"]),
                             st.recursive(LEAVES, _containers, max_leaves=8), max_size=3)


def _expected(value: Any, path: tuple[Any, ...]) -> tuple[list[tuple[str, Value]], bool]:
    """(name, Value) pairs in order, and whether some part of a parameter's path is bad."""
    if isinstance(value, Value):
        bad = any(not isinstance(k, str) or not k or "." in k for k in path)
        return [(".".join(str(k) for k in path), value)], bad
    pairs = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, (list, tuple)) else ())
    out, bad = [], False
    for k, v in pairs:
        sub, sub_bad = _expected(v, (*path, str(k) if isinstance(value, (list, tuple)) else k))
        out += sub
        bad = bad or sub_bad
    return out, bad


def test_random_nested_containers_name_every_parameter_once_or_are_refused(
        fuzz_examples: Any) -> None:
    n, randomized = fuzz_examples(100)

    @settings(max_examples=n, derandomize=not randomized, deadline=None, database=None)
    @given(STRUCTURES)
    def check(attrs: dict[str, Any]) -> None:
        expected, bad = [], False
        for attr, value in attrs.items():
            sub, sub_bad = _expected(value, (attr,))
            expected += sub
            bad = bad or sub_bad
        if bad:
            with pytest.raises((TypeError, ValueError), match=r"Holder: the (key|attribute)"):
                Holder(**attrs)
            return
        h = Holder(**attrs)
        assert h.named_parameters() == expected
        state = h.state_dict()
        assert len(state) == len(h.parameters()) == len(expected)
        numbers = [p.data for _, p in expected]
        for p in h.parameters():
            p.data += 1.0
        assert h.load_state_dict(state) == ([], [])
        assert [p.data for _, p in expected] == numbers

    check()
