"""JSON save/load: exact round trips, shared parameters, loading into a model, and clear
errors for malformed or mismatched files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgrid import Value
from microgrid.nn import MLP, Module
from microgrid.serialization import from_json, load, save, to_json

AWKWARD = [0.1 + 0.2, 1e-310, -0.0, 5e-324, 1.7976931348623157e308, math.pi, -1 / 3, 2.0**-1074,
           123456789.123456789, 1e22]


def params(model: MLP) -> list[tuple[str, str]]:
    return [(p.label, repr(p.data)) for p in model.parameters()]


def test_round_trip_is_exact() -> None:
    model = MLP(3, [5, 4, 2], activation=["relu", "sigmoid"], output_activation="tanh",
                init="xavier", bias_init="uniform", seed=11, fused=True)
    for p, v in zip(model.parameters(), AWKWARD):
        p.data = v
    copy = from_json(to_json(model))
    assert params(copy) == params(model)  # repr equality: every bit, the sign of −0.0 too
    assert copy.sizes == model.sizes and copy.activations == model.activations
    assert copy.fused is True and copy.nin == 3
    x = [0.3, -0.2, 1.5]
    assert [o.data for o in copy(x)] == [o.data for o in model(x)]
    assert to_json(copy) == to_json(model)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=4, max_size=4))
def test_any_finite_float_round_trips(values: list[float]) -> None:
    model = MLP(1, [1, 1], seed=0)
    for p, v in zip(model.parameters(), values):
        p.data = v
    assert params(from_json(to_json(model))) == params(model)


def test_the_file_is_plain_readable_json(tmp_path: Path) -> None:
    model = MLP(2, [2, 1], seed=0)
    path = tmp_path / "model.json"
    save(model, path)
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["format"] == "microgrid.MLP" and doc["version"] == 1
    assert doc["layers"][0] == {"activation": "tanh", "neurons": [{"w": [0, 1], "b": 2},
                                                                  {"w": [3, 4], "b": 5}]}
    assert doc["parameters"][0]["label"] == "L0.N0.w0"
    # a line for the header, each layer, each neuron and each parameter
    assert len(text.splitlines()) == 2 + (1 + 2) + (1 + 1) + 1 + len(model.parameters())
    assert params(load(path)) == params(model)


def test_shared_parameters_stay_shared() -> None:
    b1 = Value(0.35, "b1")
    model = MLP.from_weights([[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45]]], [[b1, b1], [0.6]],
                             activation="sigmoid", output_activation="sigmoid")
    copy = from_json(to_json(model))
    hidden = copy.layers[0].neurons
    assert hidden[0].b is hidden[1].b
    assert hidden[0].b.label == "b1"
    assert len(copy.parameters()) == 8


def test_load_into_an_existing_model(tmp_path: Path) -> None:
    trained = MLP(2, [3, 1], seed=1)
    fresh = MLP(2, [3, 1], seed=2)
    path = tmp_path / "m.json"
    save(trained, path)
    same = load(path, into=fresh)
    assert same is fresh
    assert [p.data for p in fresh.parameters()] == [p.data for p in trained.parameters()]


@pytest.mark.parametrize(("other", "match"), [
    (MLP(2, [4, 1]), r"layer sizes \[3, 1\].*sizes \[4, 1\]"),
    (MLP(3, [3, 1]), "the file has 2 inputs.*the model has 3 inputs"),
    (MLP(2, [3, 1], activation="relu"), r"activations \['tanh', 'linear'\]"),
])
def test_loading_into_a_mismatched_model_is_refused(other: MLP, match: str) -> None:
    text = to_json(MLP(2, [3, 1], seed=1))
    before = [p.data for p in other.parameters()]
    with pytest.raises(ValueError, match="does not match the model"):
        from_json(text, into=other)
    with pytest.raises(ValueError, match=match):
        from_json(text, into=other)
    assert [p.data for p in other.parameters()] == before


def test_different_sharing_is_a_mismatch() -> None:
    b = Value(0.0)
    shared = MLP.from_weights([[[1.0], [2.0]]], [[b, b]])
    separate = MLP.from_weights([[[1.0], [2.0]]])
    with pytest.raises(ValueError, match="shared differently"):
        from_json(to_json(shared), into=separate)


# -- malformed files -------------------------------------------------------------------


def good() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(to_json(MLP(2, [2, 1], seed=0)))
    return doc


def edited(**changes: Any) -> str:
    doc = good()
    for path, value in changes.items():
        *keys, last = path.split("__")
        target: Any = doc
        for k in keys:
            target = target[int(k)] if k.isdigit() else target[k]
        if value is KeyError:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return json.dumps(doc)


MALFORMED = [
    ("not json", "{nope", "malformed JSON"),
    ("a list", "[1, 2]", "the file must be a JSON object"),
    ("wrong format", edited(format="pickle"), "format is 'pickle'"),
    ("no format", edited(format=KeyError), "has no 'format'"),
    ("future version", edited(version=2), "version 2 is not supported"),
    ("nin zero", edited(nin=0), "nin must be at least 1"),
    ("nin text", edited(nin="2"), "nin has the wrong type"),
    ("nin bool", edited(nin=True), "nin has the wrong type"),
    ("fused number", edited(fused=1), "fused has the wrong type"),
    ("no layers", edited(layers=[]), "there are no layers"),
    ("layer not object", edited(layers__0="dense"), r"layers\[0\] must be a JSON object"),
    ("unknown activation", edited(layers__0__activation="swish"), "'swish' is unknown"),
    ("empty layer", edited(layers__0__neurons=[]), r"layers\[0\] has no neurons"),
    ("too many weights", edited(layers__0__neurons__0__w=[0, 1, 1]), "has 3 weights but"),
    ("bad index", edited(layers__1__neurons__0__b=99), "refers to parameter 99"),
    ("negative index", edited(layers__1__neurons__0__b=-1), "refers to parameter -1"),
    ("float index", edited(layers__0__neurons__0__w=[0.0, 1]), "refers to parameter 0.0"),
    ("bool index", edited(layers__0__neurons__0__w=[True, 1]), "refers to parameter True"),
    ("unused parameter", edited(layers__1__neurons__0__b=0), r"parameters\[8\] is not used"),
    ("data text", edited(parameters__0__data="0.5"), "data has the wrong type"),
    ("data null", edited(parameters__0__data=None), "data has the wrong type"),
    ("no label", edited(parameters__0__label=KeyError), "has no 'label'"),
    ("huge int", edited(parameters__0__data=10**400), "not a finite float"),
]


@pytest.mark.parametrize(("name", "text", "match"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_raise_a_clear_value_error(name: str, text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        from_json(text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(constant: str) -> None:
    text = to_json(MLP(1, [1], seed=0)).replace('"data": 0.0', f'"data": {constant}')
    assert constant in text
    with pytest.raises(ValueError, match="not a finite"):
        from_json(text)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "microgrid.MLP"', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: malformed JSON"):
        load(path)


def test_only_mlps_are_saved() -> None:
    with pytest.raises(TypeError, match=r"expected an MLP or another microgrid\.nn\.Module"):
        to_json([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a str"):
        from_json(b"{}")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="into must be an MLP"):
        from_json(to_json(MLP(1, [1])), into="model")  # type: ignore[arg-type]


# -- any module's state ----------------------------------------------------------------------


class Pair(Module):
    def __init__(self) -> None:
        self.inner = MLP(1, [2, 1], seed=3)
        self.scale = Value(0.75)

    def __call__(self, x: Any) -> Value:
        out: Value = self.inner(x) * self.scale
        return out


def test_any_module_saves_and_loads_its_state(tmp_path: Path) -> None:
    a = Pair()
    a.scale.data = 1 / 3
    save(a, tmp_path / "pair.json")
    doc = json.loads((tmp_path / "pair.json").read_text(encoding="utf-8"))
    assert doc["format"] == "microgrid.state" and doc["module"] == "Pair"
    b = Pair()
    assert load(tmp_path / "pair.json", into=b) is b
    assert b.state_dict() == a.state_dict()
    assert b([0.5]).data == a([0.5]).data
    with pytest.raises(ValueError, match=r"pair\.json: the file holds the parameters of a "
                                         r"Pair.*into=Pair\(\.\.\.\)"):
        load(tmp_path / "pair.json")
    with pytest.raises(ValueError, match=r"pair\.json: .*missing 'extra'"):
        class Bigger(Pair):
            def __init__(self) -> None:
                super().__init__()
                self.extra = Value(1.0)
        load(tmp_path / "pair.json", into=Bigger())


def test_an_mlp_subclass_with_extra_parameters_saves_them_all(tmp_path: Path) -> None:
    class Scaled(MLP):
        def __init__(self) -> None:
            super().__init__(1, [1], seed=0)
            self.gain = Value(3.0)

    save(Scaled(), tmp_path / "s.json")
    b = Scaled()
    b.gain.data = 0.0
    load(tmp_path / "s.json", into=b)
    assert b.gain.data == 3.0


class Gained(MLP):
    """An MLP with one parameter of its own, outside its layers."""

    def __init__(self) -> None:
        super().__init__(2, [3, 1], seed=5)
        self.gain = Value(7.0)

    def __call__(self, x: Any) -> Any:
        return super().__call__(x) * self.gain


def snapshot(model: Module) -> list[Any]:
    """Everything a load could change: each parameter (the same object), its name, every
    bit of its value, its gradient and label, and the structure version."""
    return [model.structure_version] + [(name, p, repr(p.data), repr(p.grad), p.label)
                                        for name, p in model.named_parameters()]


def test_an_mlp_file_loaded_into_a_subclass_with_more_parameters_is_refused(
        tmp_path: Path) -> None:
    save(MLP(2, [3, 1], seed=1), tmp_path / "plain.json")
    target = Gained()
    before = snapshot(target)
    with pytest.raises(ValueError, match=r"plain\.json: model file does not match the model: "
                                         r"the file holds an MLP's layers, but the Gained "
                                         r"also has 'gain', which the file does not have"):
        load(tmp_path / "plain.json", into=target)
    assert snapshot(target) == before and target.gain.data == 7.0
    save(target, tmp_path / "gained.json")  # saved as its state: every parameter by name
    other = Gained()
    other.gain.data = 0.5
    load(tmp_path / "gained.json", into=other)
    assert other.state_dict() == target.state_dict()
    assert other([0.5, -1.0]).data == target([0.5, -1.0]).data
    plain = MLP(2, [3, 1], seed=1)
    before = snapshot(plain)
    with pytest.raises(ValueError, match=r"gained\.json: .*unexpected 'gain'"):
        load(tmp_path / "gained.json", into=plain)  # the other way round: one too many
    assert snapshot(plain) == before


def _state(**parameters: Any) -> str:
    return json.dumps({"format": "microgrid.state", "version": 1, "module": "Gained",
                       "parameters": parameters})


def _refusals() -> list[tuple[str, Any, type, str]]:
    """(case, file text or a function making it, error, message) for every way a load
    into a Gained model is refused."""
    names = list(Gained().state_dict())
    full = dict.fromkeys(names, 0.25)
    dup = _state(**full)[:-2] + ', "gain": 9.0}}'
    return [
        ("plain MLP file, extra parameter", to_json(MLP(2, [3, 1], seed=1)), ValueError,
         "also has 'gain'"),
        ("other layer sizes", to_json(MLP(2, [4, 1], seed=1)), ValueError,
         "does not match the model"),
        ("state missing a name", _state(**{k: v for k, v in full.items() if k != "gain"}),
         ValueError, "missing 'gain'"),
        ("state with an unknown name", _state(**full, bogus=1.0), ValueError,
         "unexpected 'bogus'"),
        ("state with a text value", _state(**{**full, "gain": "1"}), ValueError,
         r"parameters\['gain'\] is not a number"),
        ("state with a huge value", _state(**{**full, "gain": 10**400}), ValueError,
         "not a finite float"),
        ("a name written twice", dup, ValueError, "the key 'gain' appears twice"),
        ("state of nothing", _state(), ValueError, "missing"),
        ("malformed JSON", "{", ValueError, "malformed JSON"),
        ("an MLP file into a plain module", None, TypeError, "into must be an MLP"),
    ]


REFUSALS = _refusals()


@pytest.mark.parametrize(("case", "text", "error", "match"), REFUSALS,
                         ids=[r[0] for r in REFUSALS])
def test_a_refused_load_leaves_the_model_exactly_as_it_was(
        tmp_path: Path, case: str, text: str | None, error: type, match: str) -> None:
    target: Module = Gained()
    if text is None:
        target, text = Pair(), to_json(MLP(1, [1], seed=0))
    for p in target.parameters():
        p.grad = 0.125  # grads, values and labels must all stay
    before = snapshot(target)
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=match):
        load(path, into=target)
    assert snapshot(target) == before


def test_a_repeated_key_anywhere_in_a_model_file_is_refused() -> None:
    text = to_json(MLP(1, [1], seed=0)).replace('"data": 0.0', '"data": 0.0, "data": 5.0', 1)
    assert text.count('"data"') == 3
    with pytest.raises(ValueError, match="the key 'data' appears twice in one JSON object"):
        from_json(text)


class Keyed(Module):
    """Parameters in dicts keyed by text, one of them nested: four parameters, four names."""

    def __init__(self, a: float, b: float, c: float, d: float) -> None:
        self.p = {"1": Value(a), "one": Value(b)}
        self.q = {"x_y": Value(c), "x": {"y": Value(d)}}

    def __call__(self) -> Value:
        out: Value = (self.p["1"] * self.p["one"] + self.q["x_y"]) * self.q["x"]["y"]
        return out


def test_every_parameter_in_nested_dicts_survives_a_save_and_a_strict_load(
        tmp_path: Path) -> None:
    model = Keyed(2.0, 3.0, 4.0, 10.0)
    assert model().data == 100.0
    assert list(model.state_dict()) == ["p.1", "p.one", "q.x_y", "q.x.y"]
    save(model, tmp_path / "keyed.json")
    fresh = Keyed(0.0, 0.0, 0.0, 0.0)
    load(tmp_path / "keyed.json", into=fresh)
    assert fresh().data == 100.0
    assert fresh.state_dict() == model.state_dict()


def test_a_model_whose_names_clash_is_not_saved_and_the_old_file_stays(
        tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save(Keyed(2.0, 3.0, 4.0, 10.0), path)
    before = path.read_bytes()
    clash = Keyed(1.0, 1.0, 1.0, 1.0)
    clash.__dict__["p"] = {1: Value(6.0), "1": Value(8.0)}  # around the assignment check
    with pytest.raises(TypeError, match=r"Keyed: the key 1 of self\.p is an int.*"
                                        r"self\.p\['1'\] would share one name"):
        save(clash, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


# -- saving never loses the previous file ------------------------------------------------------


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.json"
    good = MLP(2, [2, 1], seed=0)
    save(good, path)
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save(MLP(2, [2, 1], seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]  # no temp file left
    assert load(path).state_dict() == good.state_dict()


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "model.json"
    link.symlink_to(victim)
    save(MLP(1, [1], seed=0), link)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink()
    assert load(link).nin == 1


def test_save_keeps_the_mode_of_an_existing_file_and_refuses_a_directory(
        tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    save(MLP(1, [1], seed=0), path)
    assert path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save(MLP(1, [1], seed=0), tmp_path)


# -- loading refuses what is not a model file ------------------------------------------------


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero (POSIX)")
def test_dev_zero_is_refused_without_reading_it() -> None:
    with pytest.raises(ValueError, match="/dev/zero: not a regular file"):
        load("/dev/zero")


def test_an_oversized_file_is_refused_by_its_size(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import microgrid.serialization as ser

    path = tmp_path / "big.json"
    save(MLP(2, [2, 1], seed=0), path)
    monkeypatch.setattr(ser, "MAX_FILE_BYTES", 100)
    with pytest.raises(ValueError, match=r"big\.json: \d+ bytes, more than a model file may"):
        load(path)


def test_deep_nesting_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ValueError, match=r"deep\.json: .*nested too deeply"):
        load(path)


def test_non_utf8_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"format": "caf\xe9"}')
    with pytest.raises(ValueError, match=r"latin\.json: not a UTF-8 text file \(byte 15"):
        load(path)


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"cannot read .*nowhere\.json"):
        load(tmp_path / "nowhere.json")
    with pytest.raises(TypeError, match="path must be a str or a path"):
        load(3)  # type: ignore[call-overload]


def test_a_label_assigned_after_construction_that_no_file_can_hold_is_refused_by_save_naming_it(
        tmp_path: Path) -> None:
    model = MLP(2, [1], seed=0)
    target = tmp_path / "m.json"
    save(model, target)
    before = target.read_bytes()
    model.parameters()[1].label = "w\ud800"  # Value() refuses it; an assignment is not checked
    with pytest.raises(ValueError, match=r"parameters\[1\]\.label .* lone surrogate U\+D800"):
        save(model, target)
    assert target.read_bytes() == before  # the previous file is untouched
