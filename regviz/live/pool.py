"""One generation of worker processes: a process pool, its event queue and its cancel flags.

The pool is `concurrent.futures.ProcessPoolExecutor` with the spawn context (a
fresh interpreter: no copy of the server's threads or of its memory), started on
the first job, its processes created on demand. `regviz.worker.start` runs in each
process first and keeps the `multiprocessing` queue that carries events back and
the shared array of cancel flags (one per slot: the id of the job to stop).

A generation ends when the service retires it (idle for a while) or when a worker
dies: the executor then fails every job it held with `BrokenProcessPool` and
cannot be used again, and the next job starts a new generation. Each generation
has its own queue, because a process killed while writing may leave a queue's
lock held.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from regviz import worker

#: How long the event listener blocks before it looks at the jobs anyway (seconds).
TICK = 0.5
_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _plain_main() -> Iterator[None]:
    """Spawn children from a `__main__` that has nothing to re-run.

    A spawned child first re-imports the parent's `__main__` from its file. Under
    Streamlit that is the page script (Streamlit installs it as `__main__` for every
    run), so each worker would run the whole page before its first job. For the few
    milliseconds in which the pool starts a process, `__main__` is a bare module; it
    is put back unless a page run installed its own meanwhile.
    """
    with _MAIN_LOCK:
        original = sys.modules.get("__main__")
        stand_in = types.ModuleType("__main__")
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            if sys.modules.get("__main__") is stand_in and original is not None:
                sys.modules["__main__"] = original


def worker_threads() -> int:
    """Torch threads per worker: every core but one, which stays with the page."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


class WorkerPool:
    """Processes, the queue they report on and the flags that stop a job."""

    def __init__(
        self,
        size: int,
        on_event: Callable[[object], None],
        on_tick: Callable[[], None],
        *,
        nice: int,
        threads: int,
    ):
        context = multiprocessing.get_context("spawn")
        self.size = size
        self.events = context.Queue()
        self.cancel = context.Array("q", size, lock=False)
        self.executor = ProcessPoolExecutor(
            max_workers=size,
            mp_context=context,
            initializer=worker.start,
            initargs=(self.events, self.cancel, nice, threads),
        )
        self.closed = False
        self.broken = False
        self.warming: Future | None = None
        self._listener = threading.Thread(
            target=self._listen, args=(on_event, on_tick), name="regviz-worker-events", daemon=True
        )
        self._listener.start()

    @property
    def usable(self) -> bool:
        return not (self.closed or self.broken)

    def submit(self, fn: Callable, *args: object) -> Future:
        """Queue `fn(*args)`; a process is spawned here when all existing ones are busy."""
        with _plain_main():
            return self.executor.submit(fn, *args)

    def stop(self, slot: int, job_id: int) -> None:
        """Ask the job in `slot` to stop at its next progress event."""
        self.cancel[slot] = job_id

    def clear(self, slot: int) -> None:
        self.cancel[slot] = 0

    def close(self, wait: bool = False) -> None:
        """Let the processes exit once their current job (if any) returns."""
        self.closed = True
        self.executor.shutdown(wait=wait, cancel_futures=True)

    def _listen(self, on_event: Callable[[object], None], on_tick: Callable[[], None]) -> None:
        while self.usable:
            try:
                event = self.events.get(timeout=TICK)
            except queue.Empty:
                on_tick()
                continue
            except (OSError, EOFError, ValueError):  # the queue was closed or damaged
                break
            on_event(event)
        with contextlib.suppress(OSError, ValueError):
            self.events.close()
