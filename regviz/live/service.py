"""The training service: a bounded queue in front of worker processes, and a bounded cache.

One `TrainingService` per server process (the page keeps it with
`st.cache_resource`). A reader `submit`s a config and gets a `Ticket` back at once;
the page then `poll`s it for a `JobStatus` to draw and may `cancel` it.

* At most `max_concurrent` trainings run at once, each in a worker process; at
  most `max_waiting` more wait for a slot, beyond that `submit` raises `ServiceBusy`.
* Readers who ask for a setting that is queued or training share that job.
  Cancelling detaches one reader; the job stops when no reader is left. So does a
  job whose readers stopped polling for `abandon_seconds` (they closed the tab).
* A result enters the cache (least recently used out first) only when training
  finished and stayed finite: never a diverged, cancelled or failed run.
* A worker that dies fails its job with a message; the next job gets a fresh
  process. Workers left idle for `idle_seconds` exit, and the server's memory
  falls back to what reading the page needs. The server never imports torch.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool

from regviz import worker
from regviz.config import RunConfig
from regviz.live.jobs import (
    CANCELLED,
    DEFAULT_STEP_SECONDS,
    DIVERGED,
    DONE,
    ENDED_KEPT,
    FAILED,
    QUEUED,
    STARTING,
    WORKER_DIED,
    Estimate,
    Job,
    JobStatus,
    ServiceBusy,
    Ticket,
    TrainingFailed,
    keep_last,
    training_steps,
)
from regviz.live.pool import WorkerPool, worker_threads
from regviz.views import RunView


class TrainingService:
    """Thread-safe: every Streamlit session runs in its own thread of the server process."""

    def __init__(
        self,
        max_concurrent: int = 1,
        max_waiting: int = 8,
        cache_size: int = 32,
        *,
        idle_seconds: float = 120.0,
        abandon_seconds: float = 120.0,
        nice: int = 10,
        threads: int | None = None,
        job: worker.Job | None = None,
    ):
        if max_concurrent < 1 or max_waiting < 0 or cache_size < 1:
            raise ValueError(
                "max_concurrent and cache_size must be at least 1, max_waiting at least 0"
            )
        self.max_concurrent, self.max_waiting, self.cache_size = (
            max_concurrent,
            max_waiting,
            cache_size,
        )
        self.idle_seconds, self.abandon_seconds = idle_seconds, abandon_seconds
        self.nice, self.threads = nice, threads or worker_threads()
        #: What a worker runs for a config (module-level, so that it pickles by name).
        self.job: worker.Job = job or worker.train_view
        self._lock = threading.RLock()
        self._cache: OrderedDict[RunConfig, tuple[RunView, str | None]] = OrderedDict()
        self._joinable: dict[RunConfig, Job] = {}
        self._pending: deque[Job] = deque()
        self._slots: list[Job | None] = [None] * max_concurrent
        self._jobs: dict[int, Job] = {}
        #: Jobs that ended lately: their last progress events may arrive after the result.
        self._recent: OrderedDict[int, Job] = OrderedDict()
        self._next_id = 1
        self._pool: WorkerPool | None = None
        self._idle_timer: threading.Timer | None = None
        self._swept = 0.0
        self._step_seconds: dict[str, float] = {}
        self._device: tuple[str, str] | None = None
        self._points: dict[int, tuple] = {}
        self.worker_pids: set[int] = set()

    # --- what a reader does ---------------------------------------------------
    def submit(self, config: RunConfig) -> Ticket:
        """Queue `config` (or join the job already training it, or take it from the cache)."""
        now = time.monotonic()
        with self._lock:
            if config in self._cache:
                self._cache.move_to_end(config)
                view, device_name = self._cache[config]
                return Ticket(Job.cached(config, view, device_name, now))
            job = self._joinable.get(config)
            if job is None:
                if len(self._pending) >= self.max_waiting and None not in self._slots:
                    raise ServiceBusy(
                        f"{len(self._pending)} trainings are already waiting; "
                        "please try again in a minute"
                    )
                job = Job(self._next_id, config, now)
                self._next_id += 1
                self._joinable[config] = job
                self._jobs[job.id] = job
                self._pending.append(job)
                self._cancel_idle_timer()
            ticket = Ticket(job)
            job.readers[ticket.reader] = now
            self._dispatch()
            return ticket

    def poll(self, ticket: Ticket) -> JobStatus:
        """Where the reader's job stands; polling also says the reader is still there."""
        now = time.monotonic()
        with self._lock:
            job = ticket.job
            if job.active and ticket.reader in job.readers:
                job.readers[ticket.reader] = now
            return self._status(job, now)

    def cancel(self, ticket: Ticket) -> None:
        """Detach this reader; stop the job (queued or running) if nobody else follows it."""
        with self._lock:
            job = ticket.job
            job.readers.pop(ticket.reader, None)
            if job.active and not job.readers:
                self._stop(job, "cancelled; nothing was kept")

    def wait(self, ticket: Ticket, timeout: float | None = None, every: float = 0.05) -> JobStatus:
        """Poll until the job ends (or `timeout` seconds pass) and return its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        status = self.poll(ticket)
        while status.active and (deadline is None or time.monotonic() < deadline):
            time.sleep(every)
            status = self.poll(ticket)
        return status

    def train(self, config: RunConfig, timeout: float | None = None) -> RunView:
        """Submit and wait: the view, or `TrainingFailed` (`ServiceBusy` when the queue is full)."""
        ticket = self.submit(config)
        status = self.wait(ticket, timeout)
        if status.state != DONE or status.view is None:
            self.cancel(ticket)
            raise TrainingFailed(status)
        return status.view

    def warm_up(self) -> None:
        """Start a worker and import torch there (at low priority): the first job need not wait."""
        with self._lock:
            pool = self._usable_pool()
            if pool.warming is None:
                pool.warming = pool.submit(worker.warm)
                pool.warming.add_done_callback(lambda future: self._warmed(pool, future))

    # --- what the page shows ----------------------------------------------------
    def cached(self, config: RunConfig) -> RunView | None:
        with self._lock:
            entry = self._cache.get(config)
            if entry is None:
                return None
            self._cache.move_to_end(config)
            return entry[0]

    def cache_keys(self) -> list[RunConfig]:
        with self._lock:
            return list(self._cache)

    def training_points(self, n_train: int) -> tuple | None:
        """(x, y) of the points a run on `n_train` points saw, as its worker reported them."""
        with self._lock:
            return self._points.get(n_train)

    @property
    def device(self) -> tuple[str, str] | None:
        """(device, reader-facing name) of the workers, once one has said."""
        return self._device

    @property
    def waiting(self) -> int:
        return len(self._pending)

    @property
    def running(self) -> int:
        return sum(job is not None for job in self._slots)

    @property
    def has_workers(self) -> bool:
        with self._lock:
            return self._pool is not None and self._pool.usable

    def estimate(self, config: RunConfig) -> Estimate:
        """Rough wall time: the number of steps times the last measured time per step."""
        device = self._device[1] if self._device else "this server"
        return Estimate(device, training_steps(config) * self._per_step())

    def close(self, wait: bool = True) -> None:
        """Stop every job and let the workers exit (tests, and a server that shuts down)."""
        with self._lock:
            for job in [*self._pending, *(j for j in self._slots if j is not None)]:
                if job.active:
                    self._stop(job, "the server is shutting down")
            self._cancel_idle_timer()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(wait=wait)

    # --- inside: queue, slots, pools --------------------------------------------
    def _usable_pool(self) -> WorkerPool:
        if self._pool is None or not self._pool.usable:
            self._pool = WorkerPool(
                self.max_concurrent,
                self._on_event,
                self._sweep,
                nice=self.nice,
                threads=self.threads,
            )
        return self._pool

    def _dispatch(self) -> None:
        """Hand queued jobs to free slots (under the lock)."""
        self._sweep(force=True)
        while self._pending and None in self._slots:
            job = self._pending.popleft()
            slot = self._slots.index(None)
            for attempt in (1, 2):
                pool = self._usable_pool()
                pool.clear(slot)
                try:
                    future = pool.submit(worker.run_job, self.job, job.id, slot, job.config)
                    break
                except (BrokenProcessPool, RuntimeError):  # broke or closed meanwhile
                    pool.broken = True
                    if attempt == 2:
                        raise
            job.state, job.slot, job.pool = STARTING, slot, pool
            self._slots[slot] = job
            pool.warming = pool.warming or future  # a job warms the worker up as well
            future.add_done_callback(lambda done, job=job, pool=pool: self._ended(job, pool, done))

    def _stop(self, job: Job, message: str) -> None:
        """End a job nobody wants any more (under the lock); a running one stops in its worker."""
        if self._joinable.get(job.config) is job:
            del self._joinable[job.config]
        if job.state == QUEUED:
            self._pending.remove(job)
            self._jobs.pop(job.id, None)
        elif job.slot is not None and isinstance(job.pool, WorkerPool):
            job.cancel_requested = True
            job.pool.stop(job.slot, job.id)
        job.end(CANCELLED, time.monotonic(), message=message)
        self._schedule_idle_timer()

    def _ended(self, job: Job, pool: WorkerPool, future: Future) -> None:
        """A worker returned (or died): free the slot, keep a good result, start the next job."""
        try:
            outcome = future.result()
        except BrokenProcessPool:
            pool.broken = True
            outcome = worker.Failed(WORKER_DIED)
        except CancelledError:
            outcome = worker.Cancelled()
        except BaseException as error:  # the result could not come back
            outcome = worker.Failed(f"{type(error).__name__}: {error}")
        now = time.monotonic()
        with self._lock:
            if job.slot is not None and self._slots[job.slot] is job:
                self._slots[job.slot] = None
                if pool.usable:
                    pool.clear(job.slot)
            self._jobs.pop(job.id, None)
            keep_last(self._recent, job.id, job, ENDED_KEPT)
            if self._joinable.get(job.config) is job:
                del self._joinable[job.config]
            self._conclude(job, outcome, now)
            self._dispatch()
            self._schedule_idle_timer()

    def _conclude(self, job: Job, outcome: worker.Outcome, now: float) -> None:
        if isinstance(outcome, worker.Finished):
            self._device = (outcome.device, outcome.device_name)
            if job.train_seconds > 0:
                kind = outcome.device.split(":")[0]
                self._step_seconds[kind] = job.train_seconds / training_steps(job.config)
            if job.cancel_requested:
                return  # the reader had already left; a cancelled run is never a result
            job.device_name = job.device_name or outcome.device_name
            self._store(job.config, outcome.view, job.device_name)
            job.end(DONE, now, view=outcome.view)
        elif not job.active:
            return  # cancelled already: the reader was told
        elif isinstance(outcome, worker.Diverged):
            job.epoch = outcome.epoch
            job.end(DIVERGED, now, message=f"diverged at epoch {outcome.epoch}")
        elif isinstance(outcome, worker.Cancelled):
            job.end(CANCELLED, now, message="cancelled; nothing was kept")
        else:
            job.end(FAILED, now, message=outcome.message)

    def _store(self, config: RunConfig, view: RunView, device_name: str | None) -> None:
        keep_last(self._cache, config, (view, device_name), self.cache_size)

    def _on_event(self, event: object) -> None:
        with self._lock:
            if isinstance(event, worker.Started):
                self._device = (event.device, event.device_name)
                self._points[event.n_train] = (event.x, event.y)
                self.worker_pids.add(event.pid)
            job_id = getattr(event, "job", 0)
            job = self._jobs.get(job_id) or self._recent.get(job_id)
            if job is not None:
                job.apply(event, time.monotonic())
        self._sweep()

    def _sweep(self, force: bool = False) -> None:
        """Stop jobs whose readers all stopped polling (they closed the tab)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._swept < 1.0:
                return
            self._swept = now
            for job in [*self._pending, *(j for j in self._slots if j is not None)]:
                if not job.active:
                    continue
                for reader, seen in list(job.readers.items()):
                    if now - seen > self.abandon_seconds:
                        del job.readers[reader]
                if not job.readers:
                    self._stop(job, "stopped: nobody was following it any more")

    def _warmed(self, pool: WorkerPool, future: Future) -> None:
        if not future.cancelled() and future.exception() is None:
            device, name, pid = future.result()
            with self._lock:
                self._device = (device, name)
                self.worker_pids.add(pid)
        with self._lock:
            self._schedule_idle_timer()

    # --- idle workers exit --------------------------------------------------------
    def _idle(self) -> bool:
        return not self._pending and all(job is None for job in self._slots)

    def _schedule_idle_timer(self) -> None:
        if self._pool is None or not self._idle():
            return
        self._cancel_idle_timer()
        timer = threading.Timer(self.idle_seconds, self._retire, args=(self._pool,))
        timer.daemon = True
        self._idle_timer = timer
        timer.start()

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _retire(self, pool: WorkerPool) -> None:
        with self._lock:
            if pool is not self._pool or not self._idle():
                return
            warming = pool.warming is not None and not pool.warming.done()
            if warming:
                return  # `_warmed` (or the job's end) schedules the timer again
            self._pool = None
            self._idle_timer = None
        pool.close(wait=True)

    # --- estimates ----------------------------------------------------------------
    def _per_step(self, kind: str | None = None) -> float:
        kind = kind or (self._device[0].split(":")[0] if self._device else "cpu")
        return self._step_seconds.get(kind, DEFAULT_STEP_SECONDS.get(kind, 2.5e-4))

    def _left(self, job: Job, now: float) -> float:
        return job.seconds_left(
            now, self._per_step(job.device.split(":")[0] if job.device else None)
        )

    def _status(self, job: Job, now: float) -> JobStatus:
        running = self.running
        if job.state == QUEUED and job in self._pending:
            position = self._pending.index(job) + 1
            ahead = [self._left(j, now) for j in self._slots if j is not None]
            ahead += [self._left(j, now) for j in list(self._pending)[: position - 1]]
            left = sum(ahead) / self.max_concurrent + self._left(job, now)
            return job.status(now, position, running, left)
        left = self._left(job, now) if job.active else None
        return job.status(now, 0, running, left)
