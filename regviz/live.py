"""Custom trainings for a server with many readers: a bounded queue and a bounded cache.

The page holds one `TrainingService` per server process (via `st.cache_resource`).
Only `max_concurrent` trainings run at once; a reader beyond that waits, and is
told so through `on_wait`. A result enters the cache only when training finished
and stayed finite, so a diverged run, or one abandoned when the reader closed the
tab (Streamlit raises inside the progress callback), never becomes a result.
No Streamlit import here: the page passes plain callbacks.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from regviz.config import RunConfig
from regviz.data import N_TRAIN
from regviz.views import RunView

#: Seconds per training step (one minibatch of one model) before any run has been timed.
DEFAULT_STEP_SECONDS = {"cpu": 2.5e-4, "cuda": 1.5e-4, "mps": 4e-4}


def _lowest_priority_for_this_thread() -> None:
    """On Linux a thread has its own nice value: let readers' requests and browsers go first.

    The warm-up thread only imports and builds arrays; torch's worker threads are
    created later by the training thread and keep the normal priority.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def training_steps(config: RunConfig) -> int:
    """Minibatch updates in a run: the unit both the estimate and its calibration count."""
    return config.epochs * -(-N_TRAIN // config.batch_size)


class ServiceBusy(RuntimeError):
    """Too many readers are already waiting; try again shortly."""


@dataclass(frozen=True)
class Estimate:
    device: str
    seconds: float


class TrainingService:
    """Thread-safe: every Streamlit session runs in its own thread of one process."""

    def __init__(self, max_concurrent: int = 1, max_waiting: int = 8, cache_size: int = 32):
        if max_concurrent < 1 or max_waiting < 0 or cache_size < 1:
            raise ValueError(
                "max_concurrent and cache_size must be at least 1, max_waiting at least 0"
            )
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self.cache_size = cache_size
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._cache: OrderedDict[RunConfig, RunView] = OrderedDict()
        self._in_flight: dict[RunConfig, threading.Event] = {}
        self._waiting = 0
        self._running = 0
        self._step_seconds: dict[str, float] = {}
        self._warm = threading.Event()
        self._warming = False

    # --- first feedback -----------------------------------------------------
    def warm_up(self, delay: float = 0.0) -> None:
        """Import torch and build the data set in the background, once per process.

        The first custom training otherwise spends ~2.5 s importing torch and
        scikit-learn before its first progress event. The page calls this once it has
        sent everything, with a delay, so that the import does not compete for the CPU
        with the first reader's browser while it draws the charts.
        """
        with self._lock:
            if self._warming:
                return
            self._warming = True

        def load() -> None:
            _lowest_priority_for_this_thread()
            time.sleep(delay)
            try:
                from regviz.data import make_dataset
                from regviz.train import choose_device

                make_dataset()
                choose_device()
            finally:
                self._warm.set()

        threading.Thread(target=load, name="regviz-warm-up", daemon=True).start()

    @property
    def is_warm(self) -> bool:
        return self._warm.is_set()

    # --- cache ------------------------------------------------------------
    def cached(self, config: RunConfig) -> RunView | None:
        with self._lock:
            view = self._cache.get(config)
            if view is not None:
                self._cache.move_to_end(config)
            return view

    def _store(self, config: RunConfig, view: RunView) -> None:
        with self._lock:
            self._cache[config] = view
            self._cache.move_to_end(config)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def cache_keys(self) -> list[RunConfig]:
        with self._lock:
            return list(self._cache)

    # --- queue ------------------------------------------------------------
    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def running(self) -> int:
        return self._running

    def estimate(self, config: RunConfig, device: str) -> Estimate:
        """Rough wall time: the number of steps times the last measured time per step."""
        kind = device.split(":")[0]
        per_step = self._step_seconds.get(kind, DEFAULT_STEP_SECONDS.get(kind, 2.5e-4))
        return Estimate(device, training_steps(config) * per_step)

    def train(
        self,
        config: RunConfig,
        progress: Callable | None = None,
        on_wait: Callable[[int], None] | None = None,
        device: str | None = None,
    ) -> RunView:
        """Train `config` (or return its cached view), waiting for a free slot first.

        A reader who asks for a config that another reader is already training waits
        for that result instead of training it twice. Raises `ServiceBusy` when the
        queue is full and `TrainingDiverged` when the run diverged; neither leaves
        anything in the cache, and neither does an exception raised by `progress` or
        `on_wait`.
        """
        while True:
            view = self.cached(config)
            if view is not None:
                return view
            with self._lock:
                in_flight = self._in_flight.get(config)
                if in_flight is None:
                    in_flight = self._in_flight[config] = threading.Event()
                    break
            while not in_flight.wait(timeout=0.25):  # someone else is training it
                if on_wait is not None:
                    on_wait(self._waiting)
            # Loop: their result is in the cache now, or they failed and we try ourselves.
        try:
            return self._queue_and_train(config, progress, on_wait, device)
        finally:
            with self._lock:
                del self._in_flight[config]
            in_flight.set()

    def _queue_and_train(
        self,
        config: RunConfig,
        progress: Callable | None,
        on_wait: Callable[[int], None] | None,
        device: str | None,
    ) -> RunView:
        with self._lock:
            if self._waiting >= self.max_waiting and self._running >= self.max_concurrent:
                raise ServiceBusy(
                    f"{self._waiting} trainings are already waiting; please try again in a minute"
                )
            self._waiting += 1
        acquired = False
        try:
            while not self._slots.acquire(timeout=0.25):
                if on_wait is not None:
                    on_wait(self._waiting)
            acquired = True
        finally:
            with self._lock:
                self._waiting -= 1
                if acquired:
                    self._running += 1
        try:
            view = self._train_now(config, progress, device)
            self._store(config, view)
            return view
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()

    def _train_now(
        self, config: RunConfig, progress: Callable | None, device: str | None
    ) -> RunView:
        from regviz.analysis import describe_run
        from regviz.train import fit

        started = time.perf_counter()
        run = fit(config, progress=progress, device=device)
        kind = run.device.split(":")[0]
        self._step_seconds[kind] = (time.perf_counter() - started) / training_steps(config)
        return describe_run(run)
