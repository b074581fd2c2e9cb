"""A custom training as the server sees it: its state, what it has reported, what a reader sees.

A `Job` is mutable and guarded by the service's lock; a reader gets a frozen
`JobStatus` copy to draw from. Readers hold a `Ticket`: several tickets may point
at one job (readers who asked for the same setting share its training).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from regviz import worker
from regviz.config import RunConfig
from regviz.views import RunView

QUEUED = "queued"  # waiting for a free slot
STARTING = "starting"  # handed to a worker process, no word from it yet
RUNNING = "running"
DONE = "done"
DIVERGED = "diverged"
FAILED = "failed"
CANCELLED = "cancelled"
ACTIVE = (QUEUED, STARTING, RUNNING)

#: Seconds per training step (one minibatch) before any run on that kind of device was timed.
DEFAULT_STEP_SECONDS = {"cpu": 2.5e-4, "cuda": 1.5e-4, "mps": 4e-4}
#: What a reader is told when the worker process died under their training.
WORKER_DIED = (
    "the training process stopped unexpectedly (it may have run out of memory or been "
    "killed); nothing was kept, and the next training starts a fresh process"
)


def training_steps(config: RunConfig) -> int:
    """Minibatch updates in a run: the unit both the estimate and its calibration count."""
    return config.epochs * -(-config.n_train // config.batch_size)


class ServiceBusy(RuntimeError):
    """Too many readers are already waiting; try again shortly."""


@dataclass(frozen=True)
class Estimate:
    device: str
    seconds: float


@dataclass(frozen=True)
class JobStatus:
    """One look at a job, taken under the service's lock; safe to keep and draw from."""

    state: str
    config: RunConfig
    position: int = 0  # while queued: 1 = next to start
    running: int = 0  # trainings running on the server
    device: str | None = None
    device_name: str | None = None
    epoch: int = 0
    epochs: int = 0
    fraction: float = 0.0
    seconds_left: float | None = None
    elapsed: float = 0.0  # seconds since the reader's job was submitted
    history_epochs: tuple[int, ...] = ()
    train_loss: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()
    first_snapshot: worker.Snapshot | None = None
    snapshot: worker.Snapshot | None = None
    points: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    view: RunView | None = field(default=None, repr=False)
    message: str | None = None
    pid: int | None = None
    readers: int = 0
    from_cache: bool = False

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class TrainingFailed(RuntimeError):
    """`TrainingService.train` ended without a result; `status` says how."""

    def __init__(self, status: JobStatus):
        self.status = status
        super().__init__(status.message or status.state)


class Job:
    """One training, queued, running or ended; every method runs under the service's lock."""

    def __init__(self, job_id: int, config: RunConfig, now: float):
        self.id, self.config, self.created = job_id, config, now
        self.state = QUEUED
        self.readers: dict[int, float] = {}
        self.slot: int | None = None
        self.pool: object | None = None
        self.cancel_requested = False
        self.device: str | None = None
        self.device_name: str | None = None
        self.pid: int | None = None
        self.epoch, self.epochs, self.fraction = 0, int(config.epochs), 0.0
        self.train_seconds = 0.0
        self.running_since: float | None = None
        self.history_epochs: list[int] = []
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []
        self.first_snapshot: worker.Snapshot | None = None
        self.snapshot: worker.Snapshot | None = None
        self.points: tuple[np.ndarray, np.ndarray] | None = None
        self.view: RunView | None = None
        self.message: str | None = None
        self.ended: float | None = None
        self.from_cache = False

    @classmethod
    def cached(cls, config: RunConfig, view: RunView, device_name: str | None, now: float) -> Job:
        job = cls(0, config, now)
        job.state, job.view, job.device_name = DONE, view, device_name
        job.ended, job.from_cache, job.fraction = now, True, 1.0
        return job

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def apply(self, event: object, now: float) -> None:
        """Take in what the worker reported (late events of a finished run still count)."""
        if not (self.active or self.state == DONE):
            return
        if isinstance(event, worker.Started):
            if self.active:
                self.state, self.running_since = RUNNING, now
            self.device, self.device_name, self.pid = event.device, event.device_name, event.pid
            self.points = (event.x, event.y)
        elif isinstance(event, worker.Step):
            self.epoch, self.epochs, self.fraction = event.epoch, event.epochs, event.fraction
            self.train_seconds = event.seconds
            if event.train_loss is not None and event.val_loss is not None:
                self.history_epochs.append(event.epoch)
                self.train_loss.append(event.train_loss)
                self.val_loss.append(event.val_loss)
        elif isinstance(event, worker.Snapshot):
            if self.first_snapshot is None:
                self.first_snapshot = event
            self.snapshot = event

    def seconds_left(self, now: float, per_step: float) -> float:
        """Until the job ends: from its own pace once it has one, else at `per_step` a step.

        The pace is measured on the server's clock, so that the estimate grows while a
        starved worker sends nothing.
        """
        if self.state == RUNNING and self.fraction >= 0.02 and self.running_since is not None:
            return (now - self.running_since) * (1 - self.fraction) / self.fraction
        return training_steps(self.config) * per_step * (1 - self.fraction)

    def end(
        self, state: str, now: float, view: RunView | None = None, message: str | None = None
    ) -> None:
        self.state, self.view, self.message, self.ended = state, view, message, now
        if state == DONE:
            self.fraction = 1.0

    def status(
        self, now: float, position: int = 0, running: int = 0, seconds_left: float | None = None
    ) -> JobStatus:
        return JobStatus(
            state=self.state,
            config=self.config,
            position=position,
            running=running,
            device=self.device,
            device_name=self.device_name,
            epoch=self.epoch,
            epochs=self.epochs,
            fraction=self.fraction,
            seconds_left=seconds_left,
            elapsed=(self.ended or now) - self.created,
            history_epochs=tuple(self.history_epochs),
            train_loss=tuple(self.train_loss),
            val_loss=tuple(self.val_loss),
            first_snapshot=self.first_snapshot,
            snapshot=self.snapshot,
            points=self.points,
            view=self.view,
            message=self.message,
            pid=self.pid,
            readers=len(self.readers),
            from_cache=self.from_cache,
        )


_READERS = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Ticket:
    """A reader's hold on a job: poll it, cancel it (which only detaches if others share it)."""

    job: Job
    reader: int = field(default_factory=lambda: next(_READERS))

    @property
    def config(self) -> RunConfig:
        return self.job.config


#: Ended jobs whose late progress events are still applied.
ENDED_KEPT = 32


def keep_last(table: OrderedDict, key: object, value: object, size: int) -> None:
    """Put `key` last in `table` and drop the oldest entries beyond `size`."""
    table[key] = value
    table.move_to_end(key)
    while len(table) > size:
        table.popitem(last=False)
