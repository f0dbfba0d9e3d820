"""Spreading many independent checks over every CPU.

:func:`run_all` applies one function to a list of items on ``workers`` CPUs:
``workers - 1`` worker processes and this process, all taking chunks from
one queue (this process needs no pickling for its own chunks and leaves no
CPU idle; it takes chunks from the far end, so the two never contend).

Items never travel as bytes when it can be helped: while this process has no
other thread, workers are forked after the items exist and only chunk
bounds go out; results come back pickled as they are (dataclasses). With
another thread alive (a progress bar drawing), fork is unsafe: the workers
come from a forkserver and receive their chunks pickled.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNKS_PER_WORKER = 32


class _Shared:
    """What forked workers inherit (set before the first worker starts)."""

    check: Callable[[Any], Any] | None = None
    items: Sequence[Any] = ()


def _init_worker(check: Callable[[Any], Any] | None) -> None:
    # short-lived, acyclic objects only: reference counting frees them
    gc.disable()
    if check is not None:
        _Shared.check = check


def _run_range(start: int, stop: int) -> list[Any]:
    check = _Shared.check
    assert check is not None
    return [check(item) for item in _Shared.items[start:stop]]


def _run_items(items: list[Any]) -> list[Any]:
    check = _Shared.check
    assert check is not None
    return [check(item) for item in items]


def start_method() -> str | None:
    """fork (cheap: workers inherit the items and the loaded modules) while
    this process has no other thread; otherwise forkserver."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    if "forkserver" in methods:
        return "forkserver"
    return None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Run(Generic[T, R]):
    def __init__(
        self,
        items: Sequence[T],
        check: Callable[[T], R],
        workers: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.items = items
        self.check = check
        self.n_procs = max(1, workers - 1)
        self.workers = workers
        size = max(1, -(-len(items) // max(workers * CHUNKS_PER_WORKER, 1)))
        self.bounds = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
        self.pending = deque(range(len(self.bounds)))
        self.results: dict[int, list[R]] = {}
        self.futures: dict[Future[list[R]], int] = {}
        self.done = 0
        self.progress = progress

    def submit(self, pool: ProcessPoolExecutor, forked: bool) -> None:
        # two chunks queued per worker, one near the end (less tail)
        limit = 2 * self.n_procs if len(self.pending) > 4 * self.workers else self.n_procs
        while self.pending and len(self.futures) < limit:
            i = self.pending.popleft()
            start, stop = self.bounds[i]
            if forked:
                fut = pool.submit(_run_range, start, stop)
            else:
                fut = pool.submit(_run_items, list(self.items[start:stop]))
            self.futures[fut] = i

    def harvest(self, finished: set[Future[list[R]]]) -> None:
        for fut in finished:
            i = self.futures.pop(fut)
            self.results[i] = fut.result()
            self.count(i)

    def count(self, i: int) -> None:
        start, stop = self.bounds[i]
        self.done += stop - start
        if self.progress:
            self.progress(self.done)

    def local(self) -> None:
        i = self.pending.pop()  # from the far end: no contention
        start, stop = self.bounds[i]
        self.results[i] = [self.check(item) for item in self.items[start:stop]]
        self.count(i)

    def ordered(self) -> list[R]:
        return [r for i in range(len(self.bounds)) for r in self.results[i]]


def run_all(
    items: Sequence[T],
    check: Callable[[T], R],
    *,
    workers: int,
    progress: Callable[[int], None] | None = None,
    background: Callable[[], None] | None = None,
) -> list[R]:
    """``[check(x) for x in items]`` on ``workers`` CPUs, in order.

    ``check`` must be picklable (a module-level function or a
    ``functools.partial`` of one) and so must the items and results.
    ``background`` runs in this process once the workers have their first
    chunks; ``progress(done)`` after every chunk."""
    run = _Run(items, check, workers, progress)
    method = start_method()
    forked = method == "fork"
    if forked:
        _Shared.check, _Shared.items = check, items
    mp = multiprocessing.get_context(method)
    try:
        with ProcessPoolExecutor(
            max_workers=run.n_procs,
            mp_context=mp,
            initializer=_init_worker,
            initargs=(None if forked else check,),
        ) as pool:
            try:
                run.submit(pool, forked)
                if background is not None:
                    background()
                while run.pending or run.futures:
                    run.harvest({f for f in run.futures if f.done()})
                    run.submit(pool, forked)
                    if run.pending:
                        run.local()
                    elif run.futures:
                        finished, _ = wait(run.futures, return_when=FIRST_COMPLETED)
                        run.harvest(finished)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        _Shared.check, _Shared.items = None, ()
    return run.ordered()
