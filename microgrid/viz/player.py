"""One HTML file that plays backprop step by step, or a recorded training run.

``export_html(path, f)`` writes a walk-through of the graph below ``f``: the forward pass,
then backprop, one node per step, with the stepper's text for each step
(:mod:`microgrid.stepper`, exactly as the notebook explorer shows it) and the diagram of the
state after it (:func:`~microgrid.viz.draw_dot`: the current node highlighted in red, the
values or gradients known so far, the contribution upstream × local on the edges).

A graph too large to draw value by value (above ``max_nodes``), built inside
``microgrid.blocks()``, is walked block by block on its block view, as the explorer steps it
(:mod:`microgrid.block_steps`): one training step of a 41,000-value scalar GPT gives 68
steps in a 0.11 MB page that a browser opens in about a second. ``open="gpt #1"`` (or a
list, or ``True``: every block) writes the scalar steps of those blocks as pages of their
own beside ``path`` (``step-block9.html``), linked from the block's steps and back; so the
main page stays small however large its blocks are, and a block's page costs only what its
own steps cost.

``export_html(path, view)`` with a :class:`~microgrid.viz.LiveView` made with
``record=True`` writes the frames of its training dashboard instead.

The page is self-contained: the pictures are inline SVG, the styles and the script inline,
nothing is fetched from the network, so it opens from disk in any modern browser (for a
course page or a slide). Its size grows with the graph plus the steps, not with their
product: the walk-through's graph is laid out once and each step stores only the texts and
highlights that change (:mod:`microgrid.viz.walkthrough`; a 192-value graph, 305 steps:
0.5 MB, about a second), and a training run stores its first frame whole and each later
one as the pieces that changed (:func:`changes`).

Controls: first / back / play / next / last buttons, a slider, the list of steps, and the
keys ← → Home End and space.

From the command line: ``microgrid export`` (or ``python -m microgrid export``; ``--example
slide``, ``neuron`` or ``worked``) writes one of the three examples of the lecture notes
(:mod:`microgrid.viz.examples`).
"""

from __future__ import annotations

import difflib
import html
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..block_steps import BlockBackwardStep, BlockForwardStep
from ..engine import Value
from ..parts import UnknownBlockError
from ..stepper import NumberFormat
from .draw import DiagramTooLargeError
from .explorer import OPENABLE, Explorer
from .frame import Frame, Recording
from .page import natural_size
from .safe_text import clean, page_text
from .walkthrough import (
    MARK_STYLES,
    WalkThrough,
    marks_css,
    step_frames,
    walk_explorer,
    walk_through,
)

__all__ = ["Player", "changes", "export_html", "page", "picture_at", "player_page",
           "walkthrough_frames"]

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:16px 20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px 0}
.sub{color:#666;margin:0 0 10px 0;font-size:13px}
nav{display:flex;flex-wrap:wrap;align-items:center;gap:6px;position:sticky;top:0;
background:#fff;padding:6px 0;z-index:1;border-bottom:1px solid #eee}
nav button{font-size:14px;padding:4px 10px;border:1px solid #999;border-radius:4px;
background:#f6f6f6;cursor:pointer}
nav button:disabled{opacity:.4;cursor:default}
nav input[type=range]{flex:1;min-width:160px}
#counter{font-variant-numeric:tabular-nums;min-width:70px;text-align:right}
#caption{font-weight:bold;margin:10px 0 4px 0}
#caption:empty{display:none}
#open{display:inline-block;margin:0 0 6px 0;font-size:14px}
#open[hidden]{display:none}
#text{background:#f7f7f7;border-left:4px solid #c0392b;padding:8px 10px;margin:0 0 10px 0;
font-size:14px;line-height:1.45;white-space:pre-wrap;overflow-x:auto}
#text:empty{display:none}
#picture{overflow:auto}
#picture>svg{max-width:100%;height:auto}
#outline{font-family:Menlo,Consolas,monospace;font-size:12px;color:#444;columns:2 360px;
column-gap:24px;margin-top:14px;padding-left:0;list-style-position:inside}
#outline li{cursor:pointer;padding:1px 2px 1px 3.6em;text-indent:-3.6em;break-inside:avoid;
overflow-wrap:anywhere}
#outline li.current{background:#fde2df;color:#000}
"""

_JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mg-data").textContent);
  var frames = data.frames, board = data.board;
  function $(id) { return document.getElementById(id); }
  var picture = $("picture"), text = $("text"), caption = $("caption");
  var slider = $("slider"), counter = $("counter"), outline = $("outline");
  var pos = 0, timer = null, items = [];
  frames.forEach(function (f, i) {
    var li = document.createElement("li");
    li.textContent = f.outline;
    li.title = f.caption;
    li.addEventListener("click", function () { stop(); show(i); });
    outline.appendChild(li);
    items.push(li);
  });
  // one layout: every step's texts (its changes applied in turn) and its highlights
  var slots = [], states = [], undo = [];
  if (board) {
    var now = [];
    for (var s = 0; s < board.slots; s++) { slots.push($("mg-s" + s)); now.push(""); }
    frames.forEach(function (f) {
      f.set.forEach(function (c) { now[c[0]] = c[1]; });
      states.push(now.slice());
    });
  }
  function paint(k) {
    var texts = states[k];
    slots.forEach(function (el, s) {
      if (el && el.textContent !== texts[s]) { el.textContent = texts[s]; }
    });
    for (var u = undo.length - 1; u >= 0; u--) {
      var r = undo[u];
      if (r[2] === null) { r[0].removeAttribute(r[1]); } else { r[0].setAttribute(r[1], r[2]); }
    }
    undo = [];
    frames[k].marks.forEach(function (m) {
      var g = $(m[0]), styles = board.styles[m[1]];
      if (!g) { return; }
      Array.prototype.forEach.call(g.children, function (el) {
        var tag = el.tagName.toLowerCase();
        var want = styles[tag] || (tag !== "text" && tag !== "title" ? styles.shape : null);
        if (!want) { return; }
        Object.keys(want).forEach(function (a) {
          undo.push([el, a, el.getAttribute(a)]);
          el.setAttribute(a, want[a]);
        });
      });
    });
  }
  var built = null, builtAt = -1;  // the segments of the picture last built, and which
  function whole(k) {  // a picture: the first one, and the changes since
    if (built === null || k < builtAt) {
      built = frames[0].whole.map(function (p) { return p.slice(); });
      builtAt = 0;
    }
    for (var m = builtAt + 1; m <= k; m++) {
      var before = built;  // each segment of it is taken at most once: changed in place
      built = frames[m].delta.map(function (d) {
        if (d[0] === null) { return d[1].slice(); }
        var p = before[d[0]];
        d[1].forEach(function (c) { p[c[0]] = c[1]; });
        return p;
      });
    }
    builtAt = k;
    return built.map(function (p) { return p.join(""); }).join("");
  }
  function show(i) {
    pos = Math.max(0, Math.min(frames.length - 1, i));
    var f = frames[pos];
    if (board) { paint(pos); } else { picture.innerHTML = whole(pos); }
    text.textContent = f.text;
    caption.textContent = f.caption;
    var opener = $("open");
    if (f.link) {
      opener.setAttribute("href", f.link);
      opener.textContent = f.linktext;
      opener.hidden = false;
    } else { opener.hidden = true; }
    slider.value = String(pos);
    counter.textContent = (pos + 1) + " / " + frames.length;
    $("first").disabled = $("prev").disabled = pos === 0;
    $("next").disabled = $("last").disabled = pos === frames.length - 1;
    items.forEach(function (li, k) { li.className = k === pos ? "current" : ""; });
    document.body.setAttribute("data-position", String(pos));
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    $("play").textContent = "play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (pos === frames.length - 1) { show(0); }
    $("play").textContent = "pause";
    timer = setInterval(function () {
      if (pos >= frames.length - 1) { stop(); } else { show(pos + 1); }
    }, data.interval);
  }
  $("first").addEventListener("click", function () { stop(); show(0); });
  $("prev").addEventListener("click", function () { stop(); show(pos - 1); });
  $("next").addEventListener("click", function () { stop(); show(pos + 1); });
  $("last").addEventListener("click", function () { stop(); show(frames.length - 1); });
  $("play").addEventListener("click", play);
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (e) {
    if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var to = {ArrowRight: pos + 1, ArrowLeft: pos - 1, Home: 0, End: frames.length - 1}[e.key];
    if (to !== undefined) { e.preventDefault(); stop(); show(to); }
    else if (e.key === " ") { e.preventDefault(); play(); }
  });
  show(parseInt(location.hash.slice(1), 10) || 0);  // page.html#12 opens at step 12
})();
"""


def walkthrough_frames(root: Value, *, fmt: NumberFormat = ".4g",
                       **draw_options: Any) -> WalkThrough:
    """The player's frames for ``root``: one per forward step, then one per backward step,
    over one layout of the graph (:mod:`microgrid.viz.walkthrough`).

    Each frame has ``caption`` (``"step 5 of 7 · backward"``), ``text`` (the stepper's text
    of the step, as the notebook explorer shows it), ``outline`` (its first line),
    ``phase`` and ``node`` (the step's node name); ``svg_at(k)`` is step ``k``'s picture.
    """
    return walk_through(root, fmt=fmt, **draw_options)


_CUT = re.compile(r'("[^"]*"|>)')


def _segments(picture: str) -> list[list[str]]:
    """``picture`` cut after each ``>`` and around each quoted string (an attribute's value:
    a colour, a number) into pieces, grouped into segments that each begin with an ``<svg``
    (one per chart, one for the graph)."""
    segments: list[list[str]] = [[]]
    for piece in _CUT.split(picture):
        if "<svg" in piece:
            segments.append([])
        segments[-1].append(piece)
    return segments


def changes(pictures: Sequence[str]) -> list[dict[str, Any]]:
    """``pictures`` (HTML), each stored as what differs from the one before.

    The first is stored whole, cut into segments of pieces (``{"whole": segments}``, see
    :func:`_segments`). Each later one as ``{"delta": [[j, changed], ...]}``, one entry per
    segment: the segment ``j`` of the picture before with the pieces ``changed``
    (``[[index, piece], ...]``), or ``[None, pieces]`` for a segment stored whole. A segment
    is matched to the one at its place, or at its place counted from the end (when a chart
    appears), with as many pieces. Consecutive frames of a training run differ in numbers,
    colours and curves, hardly in structure, so a frame costs a few kilobytes instead of
    the whole dashboard.
    """
    out: list[dict[str, Any]] = []
    before: list[list[str]] | None = None
    for picture in pictures:
        segments = _segments(picture)
        if before is None:
            out.append({"whole": segments})
            before = segments
            continue
        shift = len(segments) - len(before)
        delta: list[list[Any]] = []
        used: set[int] = set()
        for k, now in enumerate(segments):
            best: tuple[int, list[list[Any]]] | None = None
            for j in dict.fromkeys((k, k - shift)):
                if 0 <= j < len(before) and j not in used and len(before[j]) == len(now):
                    changed = [[i, p] for i, (p, q) in enumerate(zip(now, before[j]))
                               if p != q]
                    if best is None or len(changed) < len(best[1]):
                        best = (j, changed)
            if best is None:
                delta.append([None, now])
            else:
                used.add(best[0])
                delta.append([best[0], best[1]])
        out.append({"delta": delta})
        before = segments
    return out


def picture_at(frames: Sequence[dict[str, Any]], k: int) -> str:
    """Frame ``k``'s picture from frames stored by :func:`changes`, built as the page's
    script builds it (for checking a page without a browser)."""
    segments = [list(p) for p in frames[0]["whole"]]
    for frame in frames[1:k + 1]:
        before, segments = segments, []
        for j, change in frame["delta"]:
            if j is None:
                segments.append(list(change))
                continue
            piece = before[j]  # each segment of the picture before is taken at most once
            for i, p in change:
                piece[i] = p
            segments.append(piece)
    return "".join("".join(p) for p in segments)


def page(frames: Sequence[dict[str, Any]], pictures: Sequence[str] = (), *, title: str,
         subtitle: str = "", interval_ms: int = 1000,
         board: WalkThrough | None = None, back: tuple[str, str] | None = None) -> str:
    """The HTML page playing ``frames`` (dicts with ``caption``, ``text``, ``outline``, and
    optionally ``link`` and ``linktext``: a page the step opens): with ``board`` (a
    walk-through laid out once), its picture changed step by step; else frame ``k`` shows
    ``pictures[k]`` (stored as :func:`changes`). ``back``: (address, text) of a link under
    the subtitle."""
    if not frames:
        raise ValueError("export_html: nothing to show (no frames)")
    if board is not None and board.svg is None:  # laid out step by step: its pictures
        pictures = [board.svg_at(k) for k in range(len(frames))]
        board = None
    payload: dict[str, Any] = {"interval": interval_ms, "board": None}
    noscript = ""
    if board is not None:
        payload["frames"] = list(frames)
        payload["board"] = {"slots": board.slots, "styles": MARK_STYLES}
        picture = board.svg_at(0, marked=False)
        noscript = f"<noscript><style>{marks_css(frames[0]['marks'])}</style></noscript>\n"
    else:
        if len(pictures) != len(frames):
            raise ValueError(f"export_html: {len(frames)} frames but {len(pictures)} "
                             "pictures")
        payload["frames"] = [{**{k: v for k, v in f.items() if k != "parts"}, **c}
                             for f, c in zip(frames, changes(pictures))]
        picture = pictures[0]
    data = clean(json.dumps(payload, ensure_ascii=False)).replace("<", "\\u003c")
    first = frames[0]
    back_link = "" if back is None else (
        f'<p class="sub"><a id="back" href="{html.escape(back[0])}">{page_text(back[1])}</a>'
        "</p>\n")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{page_text(title)}</title>\n<style>{_CSS}</style>\n{noscript}</head>\n"
        "<body>\n"
        f"<h1>{page_text(title)}</h1>\n"
        f'<p class="sub">{page_text(subtitle)}</p>\n'
        f"{back_link}"
        '<nav aria-label="steps">'
        '<button id="first" title="first (Home)">« first</button>'
        '<button id="prev" title="back (←)">◀ back</button>'
        '<button id="play" title="play / pause (space)">play</button>'
        '<button id="next" title="next (→)">next ▶</button>'
        '<button id="last" title="last (End)">last »</button>'
        f'<input id="slider" type="range" min="0" max="{len(frames) - 1}" value="0" '
        'step="1" aria-label="step">'
        f'<span id="counter">1 / {len(frames)}</span></nav>\n'
        f'<div id="caption">{page_text(first["caption"])}</div>\n'
        '<a id="open" hidden></a>\n'
        f'<pre id="text">{page_text(first["text"])}</pre>\n'
        f'<main id="picture">{picture}</main>\n'
        '<ol id="outline" start="1"></ol>\n'
        "<noscript><p>The step controls need JavaScript; the first step is shown."
        "</p></noscript>\n"
        f'<script type="application/json" id="mg-data">{data}</script>\n'
        f"<script>{_JS}</script>\n</body>\n</html>\n")


def _check_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, refused early (before any drawing) when it cannot be written."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"export_html: path must be a file name (str or Path), "
                        f"got {type(path).__name__}")
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"export_html: path must end in .html or .htm, got {str(path)!r}")
    folder = target.parent
    try:
        if target.is_dir():
            raise IsADirectoryError(f"export_html: path {str(path)!r} is a folder; "
                                    "give a file name ending in .html")
        if not folder.is_dir():
            raise FileNotFoundError(f"export_html: cannot write path {str(path)!r}: the "
                                    f"folder {str(folder)!r} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"export_html: cannot write path {str(path)!r}: "
                                  f"permission denied in {str(folder)!r}")
    except NotADirectoryError as e:
        raise NotADirectoryError(f"export_html: cannot write path {str(path)!r}: "
                                 f"{e.strerror or e}") from e
    return target


def _write(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all (:func:`~microgrid._files.
    write_atomically`: a temporary file, then a rename; an existing page keeps its mode)."""
    target = _check_path(path)
    try:
        write_atomically(str(target), text, "export_html")
    except OSError as e:
        if (e.strerror or "").startswith("export_html:"):
            raise
        raise type(e)(e.errno, f"export_html: cannot write path {str(path)!r}: "
                               f"{e.strerror or e}") from e
    return target


def _recorded(source: object, who: str) -> list[Frame]:
    """The frames of a training run: those of a recording (any object with ``frames``, such
    as a :class:`~microgrid.viz.LiveView` made with ``record=True``) or a list of frames."""
    frames = source if isinstance(source, Sequence) else getattr(source, "frames", None)
    if isinstance(frames, Sequence) and all(isinstance(f, Frame) for f in frames):
        if frames:
            return list(frames)
        if frames is not source:
            raise ValueError(f"{who}: source is a {type(source).__name__} that "
                             "recorded no frames; create it with LiveView(record=True) and "
                             "train with it first")
    raise TypeError(f"{who}: source must be a Value, a LiveView or a list of its "
                    f"frames, got {type(source).__name__}")


def _openable(explorer: Explorer, names: str | Iterable[str] | bool) -> list[int]:
    """The block steps ``names`` mean (``True``: every block of the cut), as indices of
    the explorer's forward steps."""
    if names is False or names == ():
        return []
    if explorer.blocks is None:
        raise ValueError("export_html: open: this graph is walked value by value; only a "
                         "graph walked block by block has blocks to open")
    steps = explorer.blocks.forward
    blocks = [k for k, s in enumerate(steps) if s.piece.kind in OPENABLE]
    if names is True:
        return blocks

    def called(k: int) -> set[str]:
        part = steps[k].piece.part
        found = {steps[k].piece.title}
        if part is not None:
            found.add(part.name)
            if part.block is not None:
                found.add(part.block.name)
        return found

    out: list[int] = []
    for name in [names] if isinstance(names, str) else list(names):
        found = [k for k in blocks if name in called(k)]
        if not found:
            titles = [steps[k].piece.title for k in blocks]
            close = difflib.get_close_matches(str(name), titles, n=5, cutoff=0.4)
            hint = (f"the closest are {', '.join(map(repr, close))}" if close else
                    f"its blocks are {', '.join(map(repr, titles[:8]))}"
                    + (", …" if len(titles) > 8 else ""))
            raise UnknownBlockError(f"export_html: open: no block of the walk-through is "
                                    f"named {name!r}; {hint}")
        out += [k for k in found if k not in out]
    return out


def _board(explorer: Explorer) -> tuple[list[dict[str, Any]], WalkThrough | None]:
    """The frames of what the explorer shows and their picture laid out, or, when the
    picture cannot be drawn (a block too large), the frames alone: its steps as text."""
    try:
        board = walk_explorer(explorer)
    except DiagramTooLargeError:
        return step_frames(explorer), None
    return board.frames, board


def _explorer(root: Value, fmt: NumberFormat, who: str,
              draw_options: dict[str, Any]) -> Explorer:
    try:
        return Explorer(root, fmt=fmt, **draw_options)
    except DiagramTooLargeError as e:  # pragma: no cover - the explorer draws later
        raise DiagramTooLargeError(f"{who}: source: {e}") from e


def _open_pages(path: Path, explorer: Explorer, names: str | Iterable[str] | bool
                ) -> dict[int, tuple[str, str]]:
    """Write the page of scalar steps of each block ``names`` means beside ``path``:
    piece index → (its file name, the link's text)."""
    links: dict[int, tuple[str, str]] = {}
    for k in _openable(explorer, names):
        step = explorer.forward[k]
        explorer.position = k
        explorer.open()
        try:
            frames, board = _board(explorer)
            n_forward = len(explorer.forward)
        finally:
            explorer.close()
        target = path.with_name(f"{path.stem}-block{step.at}{path.suffix}")
        subtitle = (f"The scalar steps of {step.piece.title} ({step.piece.values:,} "
                    f"values), numbered as in the whole graph: its forward pass "
                    f"({n_forward} steps), then its backprop ({len(frames) - n_forward} "
                    "steps). Keys: ← → Home End, space plays.")
        _write(target, _page(frames, board, title=f"Inside {step.piece.title}",
                             subtitle=subtitle, interval_ms=1200,
                             back=(f"{path.name}#{k}", "back to the block steps")))
        links[step.at] = (target.name, f"open {step.piece.title}: its scalar steps ↗")
    return links


def _graph_page(explorer: Explorer, title: str | None, who: str,
                links: dict[int, tuple[str, str]]) -> tuple[str, int]:
    """The page walking the explorer's steps (value by value, or block by block with
    ``links`` to the pages of opened blocks), and how many steps it plays."""
    try:
        if explorer.blocks is not None:
            frames, board = _board(explorer)
        else:  # value by value: a picture too large to draw is refused
            board = walk_explorer(explorer)
            frames = board.frames
    except DiagramTooLargeError as e:
        raise DiagramTooLargeError(f"{who}: source: {e}") from e
    if explorer.blocks is not None:
        steps: list[BlockForwardStep | BlockBackwardStep] = [*explorer.blocks.forward,
                                                             *explorer.blocks.backward]
        for frame, block in zip(frames, steps):
            if block.at in links:
                frame["link"], frame["linktext"] = links[block.at]
    n_forward = len(explorer.forward)
    name = explorer.forward[n_forward - 1].name  # the last forward step holds the root
    what = "blocks" if explorer.blocks is not None else "steps"
    subtitle = (f"The forward pass ({n_forward} {what}), then backprop "
                f"({len(frames) - n_forward} {what}): at each node, upstream gradient × "
                f"local derivative = the contribution each operand receives. "
                f"Keys: ← → Home End, space plays.")
    return _page(frames, board, title=title or f"Backprop step by step: {name}",
                 subtitle=subtitle, interval_ms=1200), len(frames)


def _page(frames: list[dict[str, Any]], board: WalkThrough | None, **options: Any) -> str:
    if board is None:
        return page(frames, [""] * len(frames), **options)
    return page(frames, board=board, **options)


def player_page(source: Value | Recording | Sequence[Frame], *, title: str | None = None,
                fmt: NumberFormat = ".4g", who: str = "Player",
                **draw_options: Any) -> str:
    """The self-contained HTML page that plays ``source`` (as :func:`export_html` writes
    it); ``who`` names the caller in error messages."""
    return _page_and_steps(source, title, fmt, who, draw_options)[0]


def _page_and_steps(source: Value | Recording | Sequence[Frame], title: str | None,
                    fmt: NumberFormat, who: str,
                    draw_options: dict[str, Any]) -> tuple[str, int]:
    """:func:`player_page`'s page, and how many steps it plays."""
    if isinstance(source, Value):
        return _graph_page(_explorer(source, fmt, who, draw_options), title, who, {})
    if draw_options:
        raise TypeError(f"{who}: {', '.join(draw_options)} apply to a graph, "
                        "not to a training run")
    recorded = _recorded(source, who)
    tframes = [{"caption": "", "text": "", "outline": f.head} for f in recorded]
    subtitle = (f"{len(recorded)} frames of the training dashboard, from step "
                f"{recorded[0].step} to step {recorded[-1].step}. Keys: ← → Home End, "
                f"space plays.")
    return page(tframes, [f.html() for f in recorded], title=title or "Training run",
                subtitle=subtitle, interval_ms=400), len(recorded)


class Player:
    """The player of ``source`` shown in place, in a notebook or the Lab page: ``Player(f)``.

    The same page :func:`export_html` writes (same arguments), shown in an ``<iframe>``
    sandboxed with scripts allowed, so its buttons work and its script cannot reach the
    page around it. ``html`` is the page itself. ``height`` is the frame's in CSS pixels
    (default: room for the picture at its natural size and the list of steps, at most 1000).
    """

    def __init__(self, source: Value | Recording | Sequence[Frame], *,
                 title: str | None = None, fmt: NumberFormat = ".4g",
                 height: int | None = None, **draw_options: Any) -> None:
        if height is not None and (isinstance(height, bool) or not isinstance(height, int)
                                   or height < 100):
            raise ValueError(f"Player: height must be a whole number of pixels, at least "
                             f"100, got {height!r}")
        self.html, steps = _page_and_steps(source, title, fmt, "Player", draw_options)
        if height is None:
            size = natural_size(self.html)  # the picture's, in points (4/3 pixel each)
            picture = size[1] * 4 / 3 if size is not None else 400
            height = min(1000, round(230 + picture + 18 * ((steps + 1) // 2)))
        self.height = height

    def __repr__(self) -> str:
        return f"<Player: {len(self.html) / 1000:.0f} kB of HTML>"

    def _repr_html_(self) -> str:
        srcdoc = html.escape(self.html, quote=True)
        return (f'<iframe sandbox="allow-scripts" srcdoc="{srcdoc}" title="player" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ddd">'
                "</iframe>")


def export_html(path: str | os.PathLike[str], source: Value | Recording | Sequence[Frame], *,
                title: str | None = None, fmt: NumberFormat = ".4g",
                open: str | Iterable[str] | bool = (), **draw_options: Any) -> Path:
    """Write a self-contained HTML player to ``path`` (``.html``) and return its path.

    ``source``: a ``Value`` — a walk-through of its forward pass and backprop (``fmt`` and
    ``draw_options`` such as ``hide_constants=True``, ``group="neuron"``, ``params=`` or
    ``max_nodes`` go to :func:`~microgrid.viz.draw_dot`); or a
    :class:`~microgrid.viz.LiveView` made with ``record=True`` (or its ``frames``) — the
    frames of a training run. :class:`Player` shows the same page in a notebook or the Lab
    page.

    A graph above ``max_nodes`` built inside ``microgrid.blocks()`` is walked block by
    block, as the explorer steps it (``depth=``, ``expand=`` choose the cut). ``open``
    names blocks of that cut (``"gpt #1"``; ``True``: every block) whose scalar steps get
    a page of their own beside ``path`` (``step-block7.html``), linked from the block's
    steps and linking back: the main page stays small however large the blocks are.

    Raises ``DiagramTooLargeError`` for a graph with more than ``max_nodes`` values that
    cannot be drawn, ``RendererNotFoundError`` without a Graphviz renderer, and an
    ``OSError`` naming ``path`` when it cannot be written; the file is written whole or not
    at all, even when interrupted, and a page written over keeps its permission bits
    (:func:`~microgrid._files.write_atomically`, as :func:`~microgrid.serialization.save`).
    """
    _check_path(path)
    if isinstance(source, Value):
        target = Path(path)
        explorer = _explorer(source, fmt, "export_html", draw_options)
        links = _open_pages(target, explorer, open)
        return _write(path, _graph_page(explorer, title, "export_html", links)[0])
    if open not in ((), False):
        raise TypeError("export_html: open applies to a graph, not to a training run")
    return _write(path, player_page(source, title=title, fmt=fmt, who="export_html",
                                    **draw_options))
