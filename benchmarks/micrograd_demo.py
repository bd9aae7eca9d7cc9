"""micrograd's ``demo.ipynb``: its data and its training step, the workload of
``compat_demo.py`` and of the compatibility tests (``tests/test_micrograd_compat.py`` loads
this file by its path). It is not part of the installed package.

numpy is imported only when ``moons`` is called (it is not a dependency of microgrid).
"""

from __future__ import annotations

from typing import Any

__all__ = ["demo_step", "moons"]


def moons(n: int = 100, noise: float = 0.1, seed: int = 1337) -> tuple[Any, Any]:
    """micrograd's demo data: ``np.random.seed(1337); make_moons(n_samples=100, noise=0.1)``.

    scikit-learn's two-moons recipe written out with numpy's legacy generator (outer half
    circle, then inner one, shuffled, then Gaussian noise), so no scikit-learn is needed; it
    gives scikit-learn 1.9's arrays bit for bit. Labels are ±1 numpy ints, as the demo makes
    them (``y*2 - 1``).
    """
    import numpy as np

    rs = np.random.RandomState(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([np.append(np.cos(t_out), 1 - np.cos(t_in)),
                   np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n)
    rs.shuffle(order)
    X, y = X[order], y[order]
    X += rs.normal(scale=noise, size=X.shape)
    return X, y * 2 - 1


def demo_step(V: Any, model: Any, X: Any, y: Any, k: int) -> tuple[float, float]:
    """One step of micrograd's demo.ipynb: SVM max-margin loss with L2 (α = 1e-4), zero_grad,
    backward, SGD with learning rate 1 − 0.9·k/100. Returns (loss, accuracy)."""
    inputs = [list(map(V, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    hits = [(yi > 0) == (si.data > 0) for yi, si in zip(y, scores)]
    model.zero_grad()
    total.backward()
    lr = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= lr * p.grad
    return float(total.data), float(sum(hits) / len(hits))
