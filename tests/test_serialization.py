"""JSON save/load: exact round trips, shared parameters, loading into a model, and clear
errors for malformed or mismatched files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgrid import Value
from microgrid.nn import MLP
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
    with pytest.raises(TypeError, match="expected an MLP"):
        to_json([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a str"):
        from_json(b"{}")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="into must be an MLP"):
        from_json(to_json(MLP(1, [1])), into="model")  # type: ignore[arg-type]
