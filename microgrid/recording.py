"""Recording blocks: which part of the program made each node, while the graph is built.

``with microgrid.blocks():`` tags every node made inside it with the :class:`Block` of the
user's own function calls that made it: a node made in ``rmsnorm`` called from ``gpt`` is in
the block ``gpt › rmsnorm``. Nothing in the user's code changes. Frames of microgrid's own
package are skipped, and so are frames outside the ``with`` statement's frame; comprehension
frames (``<listcomp>``, ``<genexpr>``) are not blocks of their own. ``with
microgrid.block("head 2"):`` names a part explicitly (a loop body, say); the calls made inside
it nest below it. microgrid's own modules (``Neuron``, ``Layer``, ``MLP``) and losses record a
block of kind ``"module"`` named for what they are (``"L0"``, ``"N1"``, ``"mse"``), owned
by the module, while recording is on; only then, since opening a block for every module
call with recording off made the demo training step about 1.7× slower (without recording, a
diagram reads the model itself). :func:`block_of` gives a node's block; a node made outside
any block (in the ``with`` statement's own frame, or with recording off) has none, and is
shown as such.

One :class:`Block` stands for one call (two calls of ``rmsnorm`` are two blocks with the
same ``path``), and every node made by that call refers to the same object.

Rules:

* Recording is a context variable: each thread records on its own (a new thread starts with
  recording off), and so does each asyncio task (which starts with a copy of the context it
  was created in). A node keeps its block whichever thread later reads it.
* ``blocks()`` inside an active recording continues that recording: paths stay relative to
  the outermost ``with``. Leaving any ``blocks()`` or ``block()``, by an exception too,
  restores the recording state that was in force when it was entered.
* A frame's block is found once and cached (its callers are fixed while it lives), so a
  loop making many nodes in one function pays little. A generator's frame keeps the
  block of the call that first ran it.
* With recording off the engine pays one check of a module-level counter per node (it is
  non-zero only while some thread records); only then is the context variable read.

This module imports nothing of microgrid's; the engine imports it.
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import CodeType, FrameType, TracebackType
from typing import Any, TypeVar

__all__ = ["Block", "block", "block_of", "blocks"]

_F = TypeVar("_F", bound=Callable[..., Any])

ACTIVE = [0]
"""How many ``blocks()`` recordings are open, over all threads (the engine's one check)."""
_active_lock = threading.Lock()

_PACKAGE = __name__.rpartition(".")[0] or __name__
_COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})
_CACHE_LIMIT = 4096  # frames remembered per section before the cache is cleared
_getframe = sys._getframe
_made = itertools.count()


class Block:
    """A part of the program that made nodes: one call of a function, one ``block("name")``
    section, or one call of a microgrid module.

    ``name`` (``"rmsnorm"``), ``parent`` (the enclosing block or None), ``kind``
    (``"call"``, ``"named"`` or ``"module"``), ``owner`` (the ``Module`` for a module
    block, else None), ``path`` (the names from the outermost block down) and ``title``
    (``"gpt › rmsnorm"``), ``seq`` (blocks are numbered in the order they were opened, so
    sibling calls sort in call order).
    """

    __slots__ = ("kind", "name", "owner", "parent", "path", "seq", "title")

    def __init__(self, name: str, parent: Block | None = None, kind: str = "named",
                 owner: Any = None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"block: name must be a non-empty str, got {name!r}")
        self.name = name
        self.parent = parent
        self.kind = kind
        self.owner = owner
        self.path: tuple[str, ...] = (*parent.path, name) if parent is not None else (name,)
        self.title = " › ".join(self.path)
        self.seq = next(_made)  # blocks are numbered as they are opened: call order

    @property
    def depth(self) -> int:
        """How many blocks enclose this one (0 for an outermost block)."""
        return len(self.path) - 1

    def ancestors(self) -> list[Block]:
        """This block and the blocks enclosing it, innermost first."""
        out: list[Block] = []
        b: Block | None = self
        while b is not None:
            out.append(b)
            b = b.parent
        return out

    def __repr__(self) -> str:
        return f"Block({self.title!r}, kind={self.kind!r})"


class _Section:
    """One open ``blocks()`` (``block`` None), ``block()`` or module call: the frame it
    was entered in, its block, and the block of each frame below it seen so far."""

    __slots__ = ("block", "cache", "frame")

    def __init__(self, frame: FrameType, blk: Block | None) -> None:
        self.frame = frame
        self.block = blk
        self.cache: dict[FrameType, Block | None] = {}
        self.reset_cache()

    def reset_cache(self) -> None:
        self.cache.clear()
        self.cache[self.frame] = self.block


_section: ContextVar[_Section | None] = ContextVar("microgrid_blocks", default=None)
_USER, _SKIPPED, _ENGINE = 0, 1, 2  # what a frame is to a call path
_kinds: dict[int, tuple[CodeType, int]] = {}  # id(code) → (code, kind); by id: a code
# object hashes its whole contents, which made every recorded node several times slower
_MISS = object()


def _kind(code: CodeType, frame: FrameType) -> int:
    """A user call (a block), a frame skipped but worth caching (microgrid's own modules
    and comprehensions, which live while they make many nodes), or one of the engine's
    (a fresh frame for every node: skipped and not cached)."""
    known = _kinds.get(id(code))
    if known is not None and known[0] is code:
        return known[1]
    module = frame.f_globals.get("__name__", "")
    if not isinstance(module, str):
        module = ""
    if module == _PACKAGE + ".engine":
        kind = _ENGINE
    elif module == _PACKAGE or module.startswith(_PACKAGE + ".") or \
            code.co_name in _COMPREHENSIONS:
        kind = _SKIPPED
    else:
        kind = _USER
    _kinds[id(code)] = (code, kind)
    return kind


def _name(code: CodeType) -> str:
    """A call's name: its qualified name without the enclosing function (``GPT.forward``,
    ``helper`` for a function defined inside another)."""
    name: str = getattr(code, "co_qualname", code.co_name)
    return name.rpartition(".<locals>.")[2]


def _block_at(section: _Section, frame: FrameType | None) -> Block | None:
    """The block of a node made in ``frame``: the section's block, then one block per user
    call from the section's frame down to ``frame``. Each frame's block is cached (a
    frame's callers are fixed while it lives, and the cache keeps it alive)."""
    cache = section.cache
    chain: list[tuple[FrameType, bool]] = []  # frames not yet cached, innermost first
    parent: Block | None = section.block
    f = frame
    while f is not None:
        hit = cache.get(f, _MISS)
        if hit is not _MISS:
            parent = hit  # type: ignore[assignment]
            break
        kind = _kind(f.f_code, f)
        if kind != _ENGINE:
            chain.append((f, kind == _USER))
        f = f.f_back
    else:  # the section's frame is not among the callers (another task's frames)
        return section.block
    if len(cache) > _CACHE_LIMIT:
        section.reset_cache()
    for f, is_call in reversed(chain):
        if is_call:
            parent = Block(_name(f.f_code), parent, "call")
        cache[f] = parent
    return parent


def current() -> Block | None:
    """The block a node made now belongs to (None: outside any block, or not recording).

    Called by the engine's node constructors: the frame two levels up is the code that
    asked for the node (the engine's own frames are skipped on the way up)."""
    section = _section.get()
    if section is None:
        return None
    frame = _getframe(2)
    found = section.cache.get(frame, _MISS)
    if found is not _MISS:
        return found  # type: ignore[return-value]
    return _block_at(section, frame)


def block_of(node: Any) -> Block | None:
    """The :class:`Block` that made ``node`` (None: made outside any block)."""
    try:
        b: Block | None = node._block
    except AttributeError:  # made with recording off: the slot was never set
        return None
    return b


def place(node: Any, blk: Block | None) -> None:
    """Record that ``node`` belongs to ``blk`` (a module placing the parameters it made)."""
    node._block = blk


def _start() -> None:
    with _active_lock:
        ACTIVE[0] += 1


def _stop() -> None:
    with _active_lock:
        ACTIVE[0] -= 1


class _Recording:
    """What ``blocks`` and ``block`` share: leaving restores the recording state in force
    when they were entered (by an exception too)."""

    __slots__ = ("_token",)

    def __init__(self) -> None:
        self._token: Token[_Section | None] | None = None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        token, self._token = self._token, None
        if token is not None:
            _section.reset(token)
            _stop()


class blocks(_Recording):
    """Record, for every node made inside the ``with``, the block of the user's function
    calls that made it (see :mod:`microgrid.recording`).

    Inside a recording already open in this context it continues that one. The state in
    force before entering is restored on leaving, by an exception too.
    """

    __slots__ = ()

    def __enter__(self) -> blocks:
        if self._token is not None:
            raise RuntimeError("blocks(): this recording is already open; make a new one")
        outer = _section.get()
        section = outer if outer is not None else _Section(_getframe(1), None)
        _start()
        self._token = _section.set(section)
        return self


class block(_Recording):
    """Name a part explicitly: nodes made inside belong to a block ``name`` nested in the
    current call path (``gpt › head 2``), and calls made inside nest below it.

    Outside ``blocks()`` it records too (from the frame it is entered in); leaving it
    restores the state in force before, by an exception too.
    """

    __slots__ = ("_kind", "_name", "_owner", "block")

    def __init__(self, name: str, *, _kind: str = "named", _owner: Any = None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"block: name must be a non-empty str, got {name!r}")
        super().__init__()
        self._name, self._kind, self._owner = name, _kind, _owner
        self.block: Block | None = None

    def __enter__(self) -> Block:
        if self._token is not None:
            raise RuntimeError(f"block({self._name!r}) is already open; make a new one")
        frame = _getframe(1)
        outer = _section.get()
        parent = _block_at(outer, frame) if outer is not None else None
        self.block = Block(self._name, parent, self._kind, self._owner)
        _start()
        self._token = _section.set(_Section(frame, self.block))
        return self.block


def recorded(name: Callable[[Any], str]) -> Callable[[_F], _F]:
    """A method of a microgrid module that, while recording is on, runs in a module block
    named ``name(self)`` owned by the module (one :class:`Block` per call)."""
    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            if ACTIVE[0] and _section.get() is not None:
                with block(name(self), _kind="module", _owner=self):
                    return method(self, *args, **kwargs)
            return method(self, *args, **kwargs)
        return run  # type: ignore[return-value]
    return wrap


def recorded_function(fn: _F) -> _F:
    """A microgrid function (a loss) that, while recording is on, runs in a module block
    named for it (``"mse"``)."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if ACTIVE[0] and _section.get() is not None:
            with block(fn.__name__, _kind="module"):
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    return run  # type: ignore[return-value]
