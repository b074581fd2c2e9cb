"""What runs inside a training worker process: the only place a custom training imports torch.

The server (`regviz.live`) starts workers through a `ProcessPoolExecutor` with the
spawn context; `start` is the pool's initializer. It lowers the process's priority
and its thread count so that the page keeps a core, and keeps the queue on which a
job reports and the shared array through which the server cancels one.

A job (`run_job`) puts events on that queue: `Started` (the device, the pid and
the points it trains on), `Step` (a recorded epoch's losses) and `Snapshot` (the
prediction on `SNAPSHOT_GRID` and the weights' counts, at least every few records).
It returns an outcome: `Finished` (the `RunView`), `Diverged`, `Cancelled` or
`Failed`. Events and outcomes hold numpy arrays and plain values only, so the
server never unpickles a torch object; this module imports torch only inside
functions that run in the worker.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from regviz.config import RunConfig
from regviz.views import SNAPSHOT_EPOCHS, RunView

#: A live snapshot goes out at least this often (seconds) and at least every this many records.
SNAPSHOT_SECONDS = 0.25
SNAPSHOT_RECORDS = 5
#: At most this many of a run's training points travel to the page for its scatter: the
#: live chart redraws every second while the run learns, and 8,000 circles would cost the
#: reader's browser (and, on a small server, the cores the training runs on) far more than
#: the picture gains.
POINTS = 300


@dataclass(frozen=True)
class Started:
    job: int
    device: str
    device_name: str
    pid: int
    n_train: int
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Step:
    job: int
    epoch: int
    epochs: int
    fraction: float
    train_loss: float | None
    val_loss: float | None
    seconds: float


@dataclass(frozen=True)
class Snapshot:
    job: int
    epoch: int
    prediction: np.ndarray
    weight_counts: np.ndarray


@dataclass(frozen=True)
class Finished:
    view: RunView
    device: str
    device_name: str


@dataclass(frozen=True)
class Diverged:
    epoch: int


@dataclass(frozen=True)
class Cancelled:
    pass


@dataclass(frozen=True)
class Failed:
    message: str


Outcome = Finished | Diverged | Cancelled | Failed


class JobCancelled(Exception):
    """Raised inside the progress callback once the server asked the job to stop."""


# Set by `start` in each worker process.
_events: Any = None
_cancel: Any = None
_threads = 1
_device: tuple[str, str] | None = None


def start(events: Any, cancel: Any, nice: int, threads: int) -> None:
    """The pool's initializer: keep the queue and the flags, step aside for the page."""
    global _events, _cancel, _threads
    _events, _cancel, _threads = events, cancel, max(1, threads)
    if nice and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(nice)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # read by torch when it loads
        os.environ[name] = str(_threads)


def _torch() -> Any:
    """Import torch with this worker's thread count (once)."""
    import torch

    if torch.get_num_threads() != _threads:
        torch.set_num_threads(_threads)
        with contextlib.suppress(RuntimeError):  # allowed only before inter-op work starts
            torch.set_num_interop_threads(1)
    return torch


def device() -> tuple[str, str]:
    """(torch device string, reader-facing name) of this worker."""
    global _device
    if _device is None:
        _torch()
        from regviz.train import choose_device, describe_device

        chosen = choose_device()
        _device = (str(chosen), describe_device(chosen))
    return _device


def warm() -> tuple[str, str, int]:
    """Load torch, the trainer and the data set so that the first job starts at once.

    Returns the device, its reader-facing name and this worker's pid.
    """
    from regviz.analysis import describe_run  # noqa: F401  (imports what describing a run needs)
    from regviz.data import make_dataset

    make_dataset()
    return (*device(), os.getpid())


class Reporter:
    """A job's line back to the server: events out, the cancel flag in."""

    def __init__(self, job: int, slot: int):
        self.job, self.slot = job, slot
        #: (device, name) as the job announced them; the result repeats them, because
        #: events and the result travel separately and the result may arrive first.
        self.device: tuple[str, str] | None = None

    @property
    def cancelled(self) -> bool:
        return _cancel is not None and _cancel[self.slot] == self.job

    def check(self) -> None:
        if self.cancelled:
            raise JobCancelled

    def send(self, event: object) -> None:
        if _events is not None:
            _events.put(event)

    def started(self, device: str, device_name: str, n_train: int, points: tuple) -> None:
        self.device = (device, device_name)
        self.send(Started(self.job, device, device_name, os.getpid(), n_train, *points))

    def step(self, epoch: int, epochs: int, fraction: float, losses: tuple, seconds: float):
        train, val = losses if losses else (None, None)
        self.send(Step(self.job, epoch, epochs, fraction, train, val, seconds))

    def snapshot(self, epoch: int, prediction: np.ndarray, weight_counts: np.ndarray) -> None:
        self.send(Snapshot(self.job, epoch, prediction, weight_counts))


Job = Callable[[RunConfig, Reporter], RunView]


def run_job(job: Job, job_id: int, slot: int, config: RunConfig) -> Outcome:
    """Run `job` for `config` and say how it ended; this is what the pool calls."""
    report = Reporter(job_id, slot)
    try:
        report.check()  # cancelled while it waited for this worker
        view = job(config, report)
    except JobCancelled:
        return Cancelled()
    except MemoryError:
        return Failed("the training ran out of memory")
    except Exception as error:
        train = sys.modules.get("regviz.train")
        if train is not None and isinstance(error, train.TrainingDiverged):
            return Diverged(error.epoch)
        return Failed(f"{type(error).__name__}: {error}")
    name = report.device or (device() if "torch" in sys.modules else ("cpu", "CPU"))
    return Finished(view, *name)


def snapshot_epochs(epochs: int) -> tuple[int, ...]:
    """The stored runs' snapshot epochs that fit in `epochs`, and the last epoch."""
    return tuple(sorted({e for e in SNAPSHOT_EPOCHS if e <= epochs} | {epochs}))


def training_points(dataset: Any, n_train: int, limit: int = POINTS) -> tuple[np.ndarray, ...]:
    """Up to `limit` of the points a run on `n_train` points sees (a fixed subsample)."""
    x, y = dataset.training_points(n_train)
    index = np.arange(x.size)
    if x.size > limit:
        index = np.sort(np.random.default_rng(0).choice(x.size, limit, replace=False))
    return np.asarray(x[index], dtype=np.float32), np.asarray(y[index], dtype=np.float32)


class _Live:
    """Sends a snapshot of the model from inside `fit`'s progress callback, now and then."""

    def __init__(self, report: Reporter):
        from regviz.layout import weight_mask
        from regviz.views import SNAPSHOT_GRID

        self.report = report
        self.grid = np.asarray(SNAPSHOT_GRID, dtype=np.float32).reshape(-1, 1)
        self.weights = weight_mask()
        self.sent_at = -np.inf
        self.records = 0

    def __call__(self, epoch: int, last: bool, parameters: Callable[[], np.ndarray]) -> None:
        self.records += 1
        now = time.perf_counter()
        due = now - self.sent_at >= SNAPSHOT_SECONDS or self.records >= SNAPSHOT_RECORDS
        if not (epoch == 0 or last or due):
            return
        torch = _torch()
        from regviz.density import value_counts
        from regviz.model import vector_to_model

        vector = parameters()[0]
        with torch.no_grad():
            model = vector_to_model(vector).eval()
            prediction = model(torch.from_numpy(self.grid)).numpy().reshape(-1)
        self.report.snapshot(
            epoch, prediction.astype(np.float32), value_counts(vector[self.weights])
        )
        self.sent_at, self.records = now, 0


def train_view(config: RunConfig, report: Reporter, dataset: Any = None) -> RunView:
    """The real job: train `config` with live events, and describe the run for the page."""
    _torch()
    from regviz.analysis import describe_run
    from regviz.data import make_dataset
    from regviz.train import fit

    dataset = dataset or make_dataset()
    device_string, device_name = device()
    points = training_points(dataset, config.n_train)
    report.started(device_string, device_name, config.n_train, points)
    live = _Live(report)
    began = time.perf_counter()

    def progress(event: Any) -> None:
        report.check()
        losses = (event.train_loss[0], event.val_loss[0]) if event.train_loss else ()
        seconds = time.perf_counter() - began
        report.step(event.epoch, event.epochs, event.fraction, losses, seconds)
        if event.parameters is not None:
            live(event.epoch, event.epoch == event.epochs, event.parameters)

    run = fit(
        config,
        progress=progress,
        device=device_string,
        dataset=dataset,
        snapshots=snapshot_epochs(config.epochs),
    )
    report.check()
    return describe_run(run, dataset)
