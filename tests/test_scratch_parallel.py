"""course_lib.scratch.parallel: split_batch covers the batch once in contiguous chunks, runs them
on as many threads as allowed (and serially for small jobs, inside a worker, or with one
thread), raises a chunk's exception, survives a fork, and checks its inputs."""

import multiprocessing
import threading

import numpy as np
import pytest

from course_lib.scratch import parallel
from course_lib.scratch.parallel import (
    MIN_WORK_PER_THREAD,
    default_threads,
    get_threads,
    set_threads,
    split_batch,
    use_threads,
)

BIG = 100 * MIN_WORK_PER_THREAD          # enough work for any number of threads used here


def _record(n, work, threads, together=1):
    """The chunks split_batch hands out, in order of their start, with the thread of each.
    With ``together`` > 1, each chunk waits until that many run at the same time."""
    seen, lock = [], threading.Lock()
    barrier = threading.Barrier(together, timeout=30) if together > 1 else None

    def fn(sl):
        with lock:
            seen.append((sl.start, sl.stop, threading.get_ident()))
        if barrier:
            barrier.wait()                  # BrokenBarrierError unless they run side by side

    split_batch(fn, n, work, threads)
    return sorted(seen)


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 33])
def test_chunks_cover_the_batch_once_contiguously_and_run_side_by_side(n, threads):
    expected = min(threads, n)
    chunks = _record(n, BIG, threads, together=expected)
    assert len(chunks) == expected
    if n:
        assert chunks[0][0] == 0 and chunks[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
        sizes = [stop - start for start, stop, _ in chunks]
        assert max(sizes) - min(sizes) <= 1                   # balanced
    idents = {ident for *_, ident in chunks}
    assert len(idents) == expected                            # all at once: one thread each
    if n:
        assert threading.get_ident() in idents                # the caller runs a chunk too


def test_small_jobs_run_serially_on_the_calling_thread():
    for work in (0, MIN_WORK_PER_THREAD, 2 * MIN_WORK_PER_THREAD - 1):
        assert _record(10, work, 4) == [(0, 10, threading.get_ident())]
    assert len(_record(10, 3 * MIN_WORK_PER_THREAD, 4)) == 3   # at most one chunk per unit


def test_the_default_thread_count_comes_from_set_threads(monkeypatch):
    before = set_threads(3)
    try:
        assert get_threads() == 3
        assert len(_record(8, BIG, None)) == 3
        assert set_threads(None) == 3
        monkeypatch.setenv("COURSE_THREADS", "2")
        assert get_threads() == default_threads() == 2
        assert len(_record(8, BIG, None)) == 2
    finally:
        set_threads(before)


def test_use_threads_restores_the_setting_even_when_the_block_raises():
    before = get_threads()
    with use_threads(5):
        assert get_threads() == 5
        with pytest.raises(KeyError), use_threads(1):
            assert get_threads() == 1
            raise KeyError
        assert get_threads() == 5
    assert get_threads() == before


def test_a_split_inside_a_worker_runs_serially():
    x = np.arange(40.0).reshape(8, 5)
    out = np.zeros_like(x)
    inner_chunks = []

    def inner(sl):
        def cell(sl2):
            inner_chunks.append(sl2)
            out[sl][sl2] = x[sl][sl2] ** 2
        split_batch(cell, sl.stop - sl.start, BIG, threads=4)

    split_batch(inner, 8, BIG, threads=2)
    np.testing.assert_array_equal(out, x ** 2)
    assert len(inner_chunks) == 4 + 1       # the caller's chunk splits in 4, the worker's not


@pytest.mark.parametrize("bad", [0, 2])
def test_an_exception_in_any_chunk_is_raised_after_every_chunk_finished(bad):
    done = []

    def fn(sl):
        if sl.start == bad:
            raise ArithmeticError(f"chunk {sl.start}")
        done.append(sl.start)

    with pytest.raises(ArithmeticError, match=f"chunk {bad}"):
        split_batch(fn, 4, BIG, threads=2)
    assert done == [2 - bad]


def _child(queue):
    x = np.arange(12.0)
    out = np.zeros_like(x)
    split_batch(lambda sl: np.negative(x[sl], out=out[sl]), 12, BIG, threads=2)
    queue.put(out.tolist())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="no fork on this platform (Windows)")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_makes_its_own_threads():
    """A DataLoader's workers are forked on Linux: the child must not wait on the parent's
    threads, which it does not have."""
    _record(4, BIG, 2)                                        # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0, "the forked child hung or failed in split_batch"
    assert queue.get(timeout=5) == (-np.arange(12.0)).tolist()
    assert parallel._pool[0] != child.pid


@pytest.mark.parametrize("call, match", [
    (lambda: split_batch(print, -1, 0), "n must be"),
    (lambda: split_batch(print, 2.5, 0), "n must be"),
    (lambda: split_batch(print, 2, -5), "work must be"),
    (lambda: split_batch(print, 2, 0, threads=0), "threads must be"),
    (lambda: set_threads(0), "n must be"),
    (lambda: set_threads("2"), "n must be"),
])
def test_bad_inputs_give_clear_errors(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
