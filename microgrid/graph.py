"""The one traversal: a deterministic, iterative topological order of a computation graph.

A node stores its operands in two slots, ``_a`` and ``_b`` (``None`` when absent; for an op
with many operands ``_a`` holds a tuple and ``_b`` is ``None``). :func:`topological_order`
lists every node reachable from the roots so that each node comes after all of its
operands — a depth-first post-order, operands visited in their stored order, exactly the
order the classic recursive version gives, but with an explicit stack, so a graph a
million nodes deep needs no recursion.

Visited nodes are marked in their ``_mark`` slot with a token unique to one traversal
instead of being kept in a set: this keeps the memory of a traversal to one list entry
per node. Traversals hold :data:`traversal_lock` (a process-wide re-entrant lock), so two
threads never mark the same nodes at once; ``backward()`` holds it for its whole run.

This module is on the ground floor: it imports nothing of microgrid.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, TypeVar

__all__ = ["operands", "post_order", "topological_order", "traversal_lock"]

traversal_lock = threading.RLock()
"""Held while a graph's nodes are marked (and by ``backward()`` while it writes ``grad``)."""

N = TypeVar("N")


def operands(node: Any) -> tuple[Any, ...]:
    """The operands of ``node`` in order (``()`` for a leaf)."""
    a = node._a
    if a is None:
        return ()
    if type(a) is tuple:
        return a
    b = node._b
    return (a,) if b is None else (a, b)


def topological_order(roots: N | Iterable[N]) -> list[N]:
    """Every node reachable from ``roots``, each after all of its operands.

    ``roots`` is one node or an iterable of nodes. The order is deterministic: a
    depth-first post-order that visits operands left to right.
    """
    if hasattr(roots, "_a"):
        stack: list[Any] = [roots]
    else:
        stack = list(roots)  # type: ignore[arg-type]
        stack.reverse()
    with traversal_lock:
        return post_order(stack)


def post_order(stack: list[Any], leaves: list[Any] | None = None) -> list[Any]:
    """The traversal itself: iterative depth-first post-order from the nodes on ``stack``
    (the last is visited first; the list is consumed). Hold :data:`traversal_lock`.

    :func:`topological_order` is the usual door; ``backward()`` calls this directly with a
    ``leaves`` list: then each interior node's ``grad`` is reset to 0.0 as it is listed and
    the leaves are also collected into ``leaves``: one pass over the graph instead of three.
    """
    entered = object()
    done = object()
    order: list[Any] = []
    append = order.append
    push = stack.append
    pop = stack.pop
    reset = leaves is not None
    while stack:
        node = stack[-1]
        mark = node._mark
        if mark is done:
            pop()
            continue
        if mark is entered:
            pop()
            node._mark = done
            append(node)
            if reset:
                node._grad = 0.0
            continue
        a = node._a
        if a is None:  # a leaf: listed at once
            pop()
            node._mark = done
            append(node)
            if reset:
                leaves.append(node)  # type: ignore[union-attr]
            continue
        node._mark = entered
        b = node._b
        if b is not None:
            if b._mark is not done:
                push(b)
            if a._mark is not done:
                push(a)
        elif type(a) is tuple:
            for p in reversed(a):
                if p._mark is not done:
                    push(p)
        elif a._mark is not done:
            push(a)
    return order
