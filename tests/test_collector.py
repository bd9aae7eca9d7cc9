"""gc_paused(): nested and overlapping pauses, in one thread and across threads, leave the
cyclic collector as the documented rule says, and a user's own gc.enable()/gc.disable()."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import microgrid
from microgrid import collector
from microgrid.nn import MLP
from microgrid.train import fit


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    """Each test starts with the collector on and leaves it on, whatever happens."""
    gc.enable()
    yield
    gc.enable()


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Threads switch every microsecond, so races inside gc_paused() show up."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _in_threads(n: int, work: Callable[[], Any]) -> None:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_nested_pauses_switch_the_collector_back_on_only_when_the_outermost_ends() -> None:
    with microgrid.gc_paused():
        assert not gc.isenabled()
        with microgrid.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), microgrid.gc_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_the_user_disabled_before_the_pause_stays_disabled() -> None:
    gc.disable()
    with microgrid.gc_paused(), microgrid.gc_paused():
        pass
    assert not gc.isenabled()


def test_gc_enable_called_inside_a_pause_holds_after_it() -> None:
    gc.disable()
    with microgrid.gc_paused():
        with microgrid.gc_paused():
            gc.enable()           # the user wants the collector on from now on
        assert not gc.isenabled()  # paused again while the outer block runs
    assert gc.isenabled()


def test_gc_disable_called_inside_a_pause_is_undone_when_the_pause_ends() -> None:
    with microgrid.gc_paused():
        gc.disable()  # cannot be told from the pause itself: the documented rule undoes it
    assert gc.isenabled()
    with microgrid.gc_paused():
        pass
    gc.disable()      # made after the block, it holds
    assert not gc.isenabled()


@pytest.mark.parametrize("first_out", ["A", "B"])
def test_overlapping_pauses_in_two_threads_end_with_the_collector_on_in_every_order(
        first_out: str) -> None:
    # A begins, B begins, then either may end first.
    b_in, a_out, b_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def a() -> None:
        with microgrid.gc_paused():
            assert b_in.wait(5)
            if first_out == "B":
                assert b_out.wait(5)
                seen.append(gc.isenabled())  # B ended, A still pauses
        a_out.set()

    def b() -> None:
        with microgrid.gc_paused():
            b_in.set()
            if first_out == "A":
                assert a_out.wait(5)
                seen.append(gc.isenabled())  # A ended, B still pauses
        b_out.set()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    ta.join()
    tb.join()
    assert seen == [False]  # the pause held while one block still ran
    assert gc.isenabled()


def test_a_pause_that_checks_the_collector_while_another_ends_does_not_leave_it_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The race of issue 21: B reads "disabled" inside A's block, A ends and switches the
    # collector on, then B switches it off and never on again. B's read is held open
    # here (up to 0.2 s) so that A's end falls exactly into it, if anything lets it.
    b_reading, a_done = threading.Event(), threading.Event()
    b_thread: list[threading.Thread] = []

    class SlowRead:
        def __getattr__(self, name: str) -> Any:
            return getattr(gc, name)

        def isenabled(self) -> bool:
            state = gc.isenabled()
            if threading.current_thread() is b_thread[0] and not b_reading.is_set():
                b_reading.set()
                a_done.wait(0.2)
            return state

    def a() -> None:
        with microgrid.gc_paused():
            b_thread[0].start()
            assert b_reading.wait(5)
        a_done.set()

    def b() -> None:
        with microgrid.gc_paused():
            pass

    b_thread.append(threading.Thread(target=b))
    monkeypatch.setattr(collector, "gc", SlowRead())
    ta = threading.Thread(target=a)
    ta.start()
    ta.join()
    b_thread[0].join()
    assert gc.isenabled()


def test_many_threads_pausing_at_once_keep_the_pause_and_end_with_the_collector_on(
        fast_switching: None) -> None:
    leaks: list[int] = []  # blocks that found the collector on while they ran

    def work() -> None:
        for _ in range(2000):
            with microgrid.gc_paused():
                if gc.isenabled():
                    leaks.append(1)

    for _ in range(8):
        _in_threads(4, work)
        assert gc.isenabled()
    assert leaks == []


def test_many_threads_pausing_a_disabled_collector_leave_it_disabled(
        fast_switching: None) -> None:
    gc.disable()

    def work() -> None:
        for _ in range(2000):
            with microgrid.gc_paused():
                pass

    _in_threads(4, work)
    assert not gc.isenabled()


def test_two_fits_in_two_threads_leave_the_collector_on(fast_switching: None) -> None:
    results: list[float] = []

    def work() -> None:
        h = fit(MLP(1, [1], seed=0), [[1.0]], [0.5], epochs=300, progress=False)
        results.append(h.loss[-1])

    for _ in range(3):
        _in_threads(2, work)
        assert gc.isenabled()
    alone = fit(MLP(1, [1], seed=0), [[1.0]], [0.5], epochs=300, progress=False).loss[-1]
    assert results == [alone] * 6  # threads get the numbers of a run alone


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_process_forked_while_another_thread_pauses_gets_its_collector_back() -> None:
    inside, done = threading.Event(), threading.Event()

    def pausing() -> None:
        with microgrid.gc_paused():
            inside.set()
            assert done.wait(10)

    t = threading.Thread(target=pausing)
    t.start()
    assert inside.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: the pausing thread does not exist here
        code = 0
        try:
            code |= 0 if gc.isenabled() else 1
            with microgrid.gc_paused():
                code |= 2 if gc.isenabled() else 0
            code |= 0 if gc.isenabled() else 4
        finally:
            os._exit(code)
    done.set()
    t.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert gc.isenabled()
