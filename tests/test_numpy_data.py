"""numpy and scikit-learn style data: arrays, numpy scalars and sklearn's keyword names
give the same numbers as Python lists; np.int64 labels are class labels; numpy is never
imported by microgrid itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from microgrid import Value
from microgrid.data import make_blobs, make_circles, make_moons, make_spirals, make_xor
from microgrid.losses import binary_cross_entropy, cross_entropy, hinge_loss, mse
from microgrid.nn import MLP
from microgrid.train import accuracy, fit, predict


def test_importing_and_training_never_import_numpy() -> None:
    code = ("import sys; import microgrid; from microgrid.train import fit; "
            "from microgrid.nn import MLP; from microgrid.data import make_moons; "
            "X, y = make_moons(20); fit(MLP(2, [3, 1]), X, y, epochs=1, progress=False, "
            "compiled=True); assert 'numpy' not in sys.modules, 'numpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fit_on_numpy_arrays_equals_fit_on_lists() -> None:
    X, y = make_moons(40, noise=0.1, seed=2)
    runs = []
    for data in ((X, y), (np.array(X), np.array(y, dtype=np.int64)),
                 ([np.array(x) for x in X], [np.int64(c) for c in y])):
        model = MLP(2, [4, 1], seed=0)
        h = fit(model, *data, loss="bce", epochs=3, batch_size=8, progress=False)
        runs.append((h.loss, h.accuracy, model.state_dict()))
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0][1]) == 3  # np.int64 labels are class labels: accuracy is measured


def test_numpy_float_targets_are_regression_targets() -> None:
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([1.0, 3.0, 0.0])
    model = MLP.from_weights([[[2.0]]], [[0.5]], output_activation="linear")
    h = fit(model, X, y, loss="mse", lr=1e-9, epochs=1, progress=False)
    assert h.accuracy == []
    assert h.loss[0] == pytest.approx(((0.5 - 1) ** 2 + (2.5 - 3) ** 2 + (4.5 - 0) ** 2) / 3,
                                      rel=1e-12)


def test_models_predict_and_accuracy_take_numpy() -> None:
    model = MLP(2, [3, 2], seed=1)
    x = [0.25, -1.5]
    expected = [v.data for v in model(x)]
    assert [v.data for v in model(np.array(x))] == expected
    assert [v.data for v in model([np.float64(0.25), np.float32(-1.5)])] == expected
    assert [v.data for v in model((np.int64(1), 2))] == [v.data for v in model([1, 2])]
    X = np.array([[0.25, -1.5], [1.0, 1.0], [-2.0, 0.5]])
    labels = predict(model, X.tolist())
    assert predict(model, X) == labels
    assert accuracy(model, X, np.array(labels)) == 1.0


def test_losses_take_numpy_arrays_and_scalars() -> None:
    p = [Value(0.2), Value(0.9)]
    assert mse(p, np.array([0.0, 1.0])).data == mse(p, [0.0, 1.0]).data
    assert binary_cross_entropy(p, np.array([0, 1])).data == binary_cross_entropy(
        p, [0, 1]).data
    assert hinge_loss(np.array([0.5, -2.0]), np.array([1, -1])).data == hinge_loss(
        [0.5, -2.0], [1, -1]).data
    assert cross_entropy(np.array([1.0, 2.0, 0.5]), np.int64(1)).data == cross_entropy(
        [1.0, 2.0, 0.5], 1).data


@pytest.mark.parametrize("make", [make_moons, make_circles, make_xor, make_spirals, make_blobs])
def test_data_helpers_take_scikit_learns_names(make: object) -> None:
    ours = make(60, noise=0.2, seed=4)  # type: ignore[operator]
    theirs = make(n_samples=60, noise=0.2, random_state=4)  # type: ignore[operator]
    assert ours == theirs
    assert make(n_samples=60, noise=0.2, random_state=5) != ours  # type: ignore[operator]
    with pytest.raises(TypeError, match="n or n_samples, not both"):
        make(60, n_samples=60)  # type: ignore[operator]
    with pytest.raises(TypeError, match="seed or random_state, not both"):
        make(seed=1, random_state=1)  # type: ignore[operator]
    with pytest.raises(TypeError, match="random_state must be an int or None"):
        make(random_state=np.random.RandomState(0))  # type: ignore[operator]
    with pytest.raises(ValueError, match="n must be at most"):
        make(n_samples=10**12)  # type: ignore[operator]


def test_make_blobs_takes_cluster_std() -> None:
    assert make_blobs(30, noise=0.7, seed=1) == make_blobs(n_samples=30, cluster_std=0.7,
                                                           random_state=1)
    with pytest.raises(TypeError, match="noise or cluster_std, not both"):
        make_blobs(noise=0.1, cluster_std=0.1)
    X, y = make_blobs(4, centers=np.array([[0.0, 0.0], [5.0, 5.0]]), noise=0.0)
    assert sorted(zip(map(tuple, X), y)) == [((0.0, 0.0), 0), ((0.0, 0.0), 0),
                                             ((5.0, 5.0), 1), ((5.0, 5.0), 1)]


def test_bool_labels_are_refused() -> None:
    with pytest.raises(TypeError, match=r"fit: y\[0\] is a bool"):
        fit(MLP(2, [1]), [[0.0, 1.0]], np.array([True]), progress=False)
