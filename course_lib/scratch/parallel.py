"""Split a batch over CPU cores, as PyTorch's CPU kernels do (standard library only).

PyTorch runs a batched operation such as attention on all its intra-op threads: its CPU
kernels cut the batch × heads into chunks and hand one chunk to each core (``at::parallel_for``).
NumPy does not: a ufunc such as ``np.exp`` runs on one core, and a batched ``matmul`` of many
small matrices calls BLAS once per matrix, each call too small for BLAS to use a second thread.
Both release Python's GIL while they compute, though, so plain Python threads do run them side
by side. :func:`split_batch` does that: it cuts ``range(n)`` into contiguous chunks and runs
``fn(chunk)`` on each, one chunk per thread. Each item of the batch sees exactly the same
arithmetic as in one serial call, so the result is identical bit for bit.

How many threads: the course's CPU thread count, which ``course_lib.setup(threads=...)`` sets
for PyTorch and for the scratch code alike (:func:`set_threads`; default ``$COURSE_THREADS``,
else the usable cores, at most 8), and at most one chunk per item and per
``MIN_WORK_PER_THREAD`` elements of work. Usage::

    out = np.empty_like(x)
    def part(sl):                       # sl: a slice of the leading axis
        np.exp(x[sl], out=out[sl])
    split_batch(part, len(x), work=x.size)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from course_lib.scratch.validate import check_int

__all__ = ["THREADS_ENV", "default_threads", "get_threads", "set_threads", "use_threads",
           "split_batch"]

THREADS_ENV = "COURSE_THREADS"          # number of CPU threads (PyTorch and the scratch code)

#: Below this many elements of work a chunk is not worth a thread. The attention forward pass
#: costs about 7 ns per score, so 32,768 scores are some 0.2 ms of arithmetic, against about
#: 50 µs to wake a waiting thread, hand it a chunk and collect it (2-core CI machine).
MIN_WORK_PER_THREAD = 32_768

_state = threading.local()              # .inside: True in a worker (no nested splitting)
_pool: tuple[int, int, ThreadPoolExecutor] | None = None   # (pid, workers, executor)
_threads: int | None = None             # set_threads(); None: default_threads()


def default_threads() -> int:
    """CPU threads: ``$COURSE_THREADS`` if set, else the usable cores (at most 8)."""
    env = os.environ.get(THREADS_ENV)
    if env:
        try:
            return check_int(int(env), "setup", THREADS_ENV, low=1)
        except ValueError:
            raise ValueError(f"setup: {THREADS_ENV} must be a positive integer, "
                             f"got {env!r}") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def set_threads(n: int | None) -> int | None:
    """Let :func:`split_batch` use ``n`` threads (>= 1; None: back to :func:`default_threads`).
    Returns the previous setting (an int, or None for the default), to restore it later."""
    global _threads
    before = _threads
    _threads = None if n is None else check_int(n, "set_threads", "n", low=1)
    return before


@contextmanager
def use_threads(n: int | None) -> Iterator[None]:
    """``with use_threads(n):`` :func:`set_threads` ``(n)`` inside the block, and the previous
    setting back after it (also when the block raises)."""
    before = set_threads(n)
    try:
        yield
    finally:
        set_threads(before)


def get_threads() -> int:
    """The number of threads :func:`split_batch` uses (:func:`set_threads` or the default)."""
    return default_threads() if _threads is None else _threads


def _executor(workers: int) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads, made once per process (a forked child makes its own)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid() or _pool[1] < workers:
        if _pool is not None and _pool[0] == os.getpid():
            _pool[2].shutdown(wait=False)                   # replaced by a larger pool
        _pool = (os.getpid(), workers,
                 ThreadPoolExecutor(workers, thread_name_prefix="course_lib.split_batch",
                                    initializer=setattr, initargs=(_state, "inside", True)))
    return _pool[2]


def split_batch(fn: Callable[[slice], object], n: int, work: int,
                threads: int | None = None) -> None:
    """Call ``fn(slice(a, b))`` on contiguous chunks that cover ``range(n)``, in parallel.

    ``fn`` must write its results into arrays made beforehand (nothing is returned), and its
    chunks must not depend on each other. The calling thread runs the first chunk itself; an
    exception in any chunk is raised here after all chunks have finished.

    Args:
        fn: the work on one chunk of the leading (batch) axis.
        n: the batch size, >= 0.
        work: the number of elements the whole call touches (e.g. the size of the scores), >= 0:
            small jobs run serially, as one ``fn(slice(0, n))``.
        threads: at most this many threads, >= 1; default :func:`get_threads`.
    """
    where = "split_batch"
    n = check_int(n, where, "n", low=0)
    work = check_int(work, where, "work", low=0)
    threads = get_threads() if threads is None else check_int(threads, where, "threads", low=1)
    k = min(threads, n, work // MIN_WORK_PER_THREAD)
    if k <= 1 or getattr(_state, "inside", False):
        if n:
            fn(slice(0, n))
        return
    cuts = [i * n // k for i in range(k + 1)]
    pool = _executor(k - 1)
    futures = [pool.submit(fn, slice(cuts[i], cuts[i + 1])) for i in range(1, k)]
    try:
        fn(slice(cuts[0], cuts[1]))
    finally:
        errors = [f.exception() for f in futures]           # waits for every chunk
    for e in errors:
        if e is not None:
            raise e
