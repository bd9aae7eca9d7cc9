"""A small scalar GPT written with microgrid Values the way a learner writes one: plain
functions over a ``state_dict`` of matrices (nested lists of ``Value``), a key/value cache
read by later positions, one layer of multi-head attention, an MLP and the output head.

The benchmarks time it (``blocks_cost.py``, ``block_view.py``) and the tests draw, step and
report on its training step (loaded by path: ``benchmarks/`` is not part of the package).
``state_dict(m)`` is what ``params=`` takes.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from microgrid import Value


def gpt_model(vocab: int = 27, dim: int = 16, heads: int = 4, context: int = 8,
              seed: int = 0) -> dict[str, Any]:
    """The state_dict (name → matrix as nested lists of Values) and ``heads``."""
    rng = random.Random(seed)

    def matrix(rows: int, cols: int) -> list[list[Any]]:
        return [[Value(rng.gauss(0.0, 0.08)) for _ in range(cols)] for _ in range(rows)]

    return {"wte": matrix(vocab, dim), "wpe": matrix(context, dim),
            "wq": matrix(dim, dim), "wk": matrix(dim, dim), "wv": matrix(dim, dim),
            "wo": matrix(dim, dim), "fc1": matrix(4 * dim, dim), "fc2": matrix(dim, 4 * dim),
            "head": matrix(vocab, dim), "heads": heads}


def linear(x: list[Any], w: list[list[Any]]) -> list[Any]:
    return [sum((wi * xi for wi, xi in zip(row[1:], x[1:])), row[0] * x[0]) for row in w]


def rmsnorm(x: list[Any]) -> list[Any]:
    ms = sum((xi * xi for xi in x[1:]), x[0] * x[0]) * (1.0 / len(x))
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(logits: list[Any]) -> list[Any]:
    top = max(v.data for v in logits)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps[1:], exps[0])
    return [e / total for e in exps]


def attention(q: list[Any], keys: list[list[Any]], values: list[list[Any]],
              heads: int) -> list[Any]:
    size = len(q) // heads
    out: list[Any] = []
    for h in range(heads):
        s = slice(h * size, (h + 1) * size)
        scores = [sum((a * b for a, b in zip(q[s][1:], k[s][1:])), q[s][0] * k[s][0])
                  * (1.0 / math.sqrt(size)) for k in keys]
        weights = softmax(scores)
        out.extend(sum((wt * v[s][j] for wt, v in zip(weights[1:], values[1:])),
                       weights[0] * values[0][s][j]) for j in range(size))
    return out


def gpt(token: int, pos: int, m: dict[str, Any], keys: list[Any], values: list[Any]) -> Any:
    x = [t + p for t, p in zip(m["wte"][token], m["wpe"][pos])]
    x = rmsnorm(x)
    h = rmsnorm(x)
    keys.append(linear(h, m["wk"]))
    values.append(linear(h, m["wv"]))
    a = linear(attention(linear(h, m["wq"]), keys, values, m["heads"]), m["wo"])
    x = [xi + ai for xi, ai in zip(x, a)]
    h = [v.relu() for v in linear(rmsnorm(x), m["fc1"])]
    x = [xi + hi for xi, hi in zip(x, linear(h, m["fc2"]))]
    return linear(rmsnorm(x), m["head"])


def gpt_step(m: dict[str, Any], tokens: list[int]) -> Any:
    keys: list[Any] = []
    values: list[Any] = []
    losses = []
    for pos, (tok, nxt) in enumerate(itertools.pairwise(tokens)):
        probs = softmax(gpt(tok, pos, m, keys, values))
        losses.append(-probs[nxt].log())
    loss = sum(losses[1:], losses[0]) * (1.0 / len(losses))
    loss.backward()
    return loss


def state_dict(m: dict[str, Any]) -> dict[str, Any]:
    """The model's matrices by name (what ``params=`` takes), without its settings."""
    return {k: v for k, v in m.items() if k != "heads"}


def tokens_of(positions: int, vocab: int = 27) -> list[int]:
    """A fixed token sequence giving ``positions`` training positions."""
    return [(7 * i + 3) % vocab for i in range(positions + 1)]
